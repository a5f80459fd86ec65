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
# (rk-bench records) and remote.md. Signing is on: the tier's chunks are
# signed and every fetch checks the signature. The verdict prices a chunk
# from what the function's points measured here (calib/, kept across the
# timed runs), and the mixed workload runs again with the probe's peak
# read at half and at twice its value (the knife edge).
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
	# an empty cache of chunks, but the function's measured cost kept
	# (calib/): this node has run the function before
	rk-bench --runs 3 --warmup 0 --prepare "rm -rf $work/c/?? $work/c/index" --format jsonl \
		-n "remote.$name.verdict" --cmd "$(cmd verdict "$@")" \
		-n "remote.$name.fetch" --cmd "$(cmd fetch "$@")" \
		-n "remote.$name.compute" --cmd "$(cmd compute "$@")"
}

# the knife edge: the same mixed verdict run with the probe's peak read
# at half and at twice what it is
knife() {
	for k in 0.5 2; do
		jq -c ".flops *= $k | .flops_core *= $k" "$work/cap.json" > "$work/cap$k.json"
	done
	rk-bench --runs 3 --warmup 0 --prepare "rm -rf $work/c/?? $work/c/index" --format jsonl \
		-n "remote.mixed.verdict.peak0.5" --cmd "$(cmd verdict "$cheap" "$costly" | sed "s|$work/cap.json|$work/cap0.5.json|g")" \
		-n "remote.mixed.verdict.peak2" --cmd "$(cmd verdict "$cheap" "$costly" | sed "s|$work/cap.json|$work/cap2.json|g")"
}

for s in "$cheap" "$costly"; do # the tier gets every chunk
	swarm-run $s $opts --cache "$work/pub" $tier --publish --secret-key "$work/bench.sec" > /dev/null
done
# signature checks on the fetch path: 16 chunks of 1 MB results from a
# directory tier (no network throttle), trusted keys against
# --trust-unsigned (same decoding, hashing and line checks, no signature)
big="--split c=1..16 --split flops=1 --split bytes=1000000"
mkdir "$work/dir"
swarm-run $big $opts --cache "$work/bigpub" --remote "$work/dir" --publish \
	--secret-key "$work/bench.sec" --trusted-key "$work/bench.pub" > /dev/null
verify_bench() {
	rk-bench --runs 10 --warmup 1 --prepare "rm -rf $work/v" --format jsonl \
		-n "remote.fetch1mb.signed" --cmd "swarm-run $big $opts --cache $work/v --remote $work/dir --fetch always --trusted-key $work/bench.pub > /dev/null" \
		-n "remote.fetch1mb.unsigned" --cmd "swarm-run $big $opts --cache $work/v --remote $work/dir --fetch always --trust-unsigned > /dev/null"
}

mkdir -p "$work/c"
cp -r "$work/pub/calib" "$work/c/" # what publishing measured
{
	bench cheap "$cheap"
	bench expensive "$costly"
	bench mixed "$cheap" "$costly"
	knife
	verify_bench
} > "$out/remote.jsonl"
rk-bench --analyze --format markdown "$out/remote.jsonl" > "$out/remote.md"
jq -sr 'map(select(.type == "bench") | {key: .workload, value: .mean}) |
	from_entries as $m |
	("cheap", "expensive", "mixed") as $w |
	"remote tier (2 MB/s), \($w): verdict \($m["remote.\($w).verdict"] * 100 | round / 100)s, always fetch \($m["remote.\($w).fetch"] * 100 | round / 100)s (\($m["remote.\($w).fetch"] / $m["remote.\($w).verdict"] * 10 | round / 10)x), always compute \($m["remote.\($w).compute"] * 100 | round / 100)s (\($m["remote.\($w).compute"] / $m["remote.\($w).verdict"] * 10 | round / 10)x)"' \
	"$out/remote.jsonl"
jq -sr 'map(select(.type == "bench") | {key: .workload, value: .mean}) |
	from_entries as $m |
	"knife edge, mixed: verdict with the peak read at 0.5x \($m["remote.mixed.verdict.peak0.5"] * 100 | round / 100)s, at 2x \($m["remote.mixed.verdict.peak2"] * 100 | round / 100)s (always fetch \($m["remote.mixed.fetch"] * 100 | round / 100)s, always compute \($m["remote.mixed.compute"] * 100 | round / 100)s)"' \
	"$out/remote.jsonl"
jq -sr 'map(select(.type == "bench") | {key: .workload, value: .mean}) |
	from_entries as $m |
	"16 chunks of 1 MB fetched from a directory tier: signatures checked \($m["remote.fetch1mb.signed"] * 1000 | round)ms, unchecked \($m["remote.fetch1mb.unsigned"] * 1000 | round)ms: \(($m["remote.fetch1mb.signed"] / $m["remote.fetch1mb.unsigned"] - 1) * 1000 | round / 10)% (target <= 5%)"' \
	"$out/remote.jsonl"
