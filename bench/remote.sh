#!/bin/sh
# remote.sh - swarm-run with a remote chunk tier: fetch or compute, chunk
# by chunk, as coren's verdict says, against "always fetch" (--fetch
# always) and "always compute" (no tier), on a tier throttled to 2 MB/s
# (nginx limit_rate on loopback). Three workloads of burn chunks (burn
# does the flops its cost says and returns a result of the bytes it says):
#   cheap:     16 chunks of 1e5 flops with 300 kB results (slow to fetch)
#   expensive:  8 chunks of 1e9 flops (~1 s here) with 1 kB results
#   mixed:     both sweeps, one after the other
# The tier holds every chunk; each timed run starts from an empty local
# cache. rk-bench times the runs (3 each). Writes bench/results/remote.jsonl
# (rk-bench records) and remote.md.
set -eu
out=${top_builddir:-.}/bench/results
src=${top_srcdir:-.}
P=${top_builddir:-.}/plugins/exec/.libs
if ! command -v nginx >/dev/null; then
	echo "remote.sh: nginx is not installed: skipped"
	exit 0
fi
mkdir -p "$out"
work=$(mktemp -d)
mkdir "$work/ng"
trap '"$src/tests/remote/nginx.sh" stop "$work/ng"; rm -rf "$work"' EXIT
url=$("$src/tests/remote/nginx.sh" start "$work/ng" 2000000)
coren-probe > "$work/cap.json" # this machine, for the verdicts

cheap="--split c=1..16 --split flops=100000 --split bytes=300000"
costly="--split c=17..24 --split flops=1000000000 --split bytes=1000"
opts="--memo-chunk c=1 --memo-chunk flops=1 --memo-chunk bytes=1 --exec $P/burn.so --workers 2 --no-progress --cache $work/c"
# signing on: the tier's chunks are signed, runs check the signatures
swarm-run --generate-key bench --secret-key "$work/bench.sec" > "$work/bench.pub"
tier="--remote $url --cap $work/cap.json --trusted-key $work/bench.pub"

# cmd HOW SWEEP...: one swarm-run per sweep, chained
cmd() {
	how=$1
	shift
	c=""
	for s in "$@"; do
		case $how in
		verdict) c="$c${c:+ && }swarm-run $s $opts $tier" ;;
		fetch) c="$c${c:+ && }swarm-run $s $opts $tier --fetch always" ;;
		compute) c="$c${c:+ && }swarm-run $s $opts" ;;
		esac
	done
	echo "$c > /dev/null"
}

bench() { # bench NAME SWEEP...
	name=$1
	shift
	rk-bench --runs 3 --warmup 0 --prepare "rm -rf $work/c" --format jsonl \
		-n "remote.$name.verdict" --cmd "$(cmd verdict "$@")" \
		-n "remote.$name.fetch" --cmd "$(cmd fetch "$@")" \
		-n "remote.$name.compute" --cmd "$(cmd compute "$@")"
}

for s in "$cheap" "$costly"; do # the tier gets every chunk
	swarm-run $s $opts --cache "$work/pub" $tier --publish --secret-key "$work/bench.sec" > /dev/null
done
{
	bench cheap "$cheap"
	bench expensive "$costly"
	bench mixed "$cheap" "$costly"
} > "$out/remote.jsonl"
rk-bench --analyze --format markdown "$out/remote.jsonl" > "$out/remote.md"
jq -sr 'map(select(.type == "bench") | {key: .workload, value: .mean}) |
	from_entries as $m |
	("cheap", "expensive", "mixed") as $w |
	"remote tier (2 MB/s), \($w): verdict \($m["remote.\($w).verdict"] * 100 | round / 100)s, always fetch \($m["remote.\($w).fetch"] * 100 | round / 100)s (\($m["remote.\($w).fetch"] / $m["remote.\($w).verdict"] * 10 | round / 10)x), always compute \($m["remote.\($w).compute"] * 100 | round / 100)s (\($m["remote.\($w).compute"] / $m["remote.\($w).verdict"] * 10 | round / 10)x)"' \
	"$out/remote.jsonl"
