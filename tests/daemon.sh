# daemon.sh - sourced by the test helpers that start servers
# (tests/slurm/cluster.sh, tests/remote/nginx.sh).

# stop_pidfile FILE: TERM the process FILE names, wait up to 5 s for it to
# go, then KILL it; FILE is removed. Nothing when FILE is missing or empty.
stop_pidfile() {
	[ -s "$1" ] || return 0
	_pid=$(cat "$1")
	kill "$_pid" 2>/dev/null || true
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -9 "$_pid" 2>/dev/null || true
	rm -f "$1"
}
