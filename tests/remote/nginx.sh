#!/bin/sh
# nginx.sh - a WebDAV (GET/PUT) chunk tier on loopback, for the tests.
#
#   nginx.sh start DIR [RATE]   serve DIR/store on 127.0.0.1 (a free port),
#                               PUT allowed, at most RATE bytes/s per
#                               response (nginx limit_rate; default no
#                               limit); DIR/extra.conf, when present, is
#                               included in the server block. With
#                               DIR/tls.crt and DIR/tls.key it serves
#                               HTTPS with them. Prints the base URL.
#   nginx.sh stop DIR           stop the nginx started under DIR (by pid)
#
# Needs Debian's nginx. Config, temp files, logs and pid live in DIR.
set -eu

cmd=$1
dir=$(cd "$2" && pwd)

. "$(dirname "$0")/../daemon.sh"

if [ "$cmd" = stop ]; then
	stop_pidfile "$dir/nginx.pid"
	exit 0
fi

rate=${3:-0}
mkdir -p "$dir/store" "$dir/tmp"
ssl="" scheme=http
if [ -f "$dir/tls.crt" ] && [ -f "$dir/tls.key" ]; then
	ssl="ssl" scheme=https
fi
touch "$dir/extra.conf"
user=""
[ "$(id -u)" -ne 0 ] || user="user root;"
for try in 1 2 3 4 5 6 7 8 9 10; do
	port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
	cat >"$dir/nginx.conf" <<CONF
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 256; }
http {
	access_log $dir/access.log;
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	client_max_body_size 0;
	server {
		listen 127.0.0.1:$port $ssl;
		$( [ -z "$ssl" ] || printf 'ssl_certificate %s; ssl_certificate_key %s;' "$dir/tls.crt" "$dir/tls.key")
		root $dir/store;
		limit_rate $rate;
		include $dir/extra.conf;
		location / {
			dav_methods PUT;
			create_full_put_path on;
			dav_access user:rw group:r all:r;
		}
	}
}
CONF
	if nginx -c "$dir/nginx.conf" -e "$dir/error.log" 2>>"$dir/start.log"; then
		echo "$scheme://127.0.0.1:$port"
		exit 0
	fi
	grep -q 'Address already in use' "$dir/error.log" "$dir/start.log" ||
		break
done
echo "nginx.sh: nginx did not start; see $dir/error.log" >&2
cat "$dir/start.log" >&2 || true
exit 1
