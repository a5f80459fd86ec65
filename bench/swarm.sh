#!/bin/sh
# swarm.sh - swarm-run against its peers, in one run:
#   noop plugin, 1M points, 2 workers: cold (chunk writes included) and
#     fully cached, points/s (swarm-memo, the Python original, measured on
#     this machine: ~400k/s cold, ~4.5M/s cached: the issue's figures);
#   2,000 trivial commands: swarm-run --cmd vs GNU parallel vs xargs -P2;
#   4 identical concurrent runs on one cache against one run: wall time
#     ratio and chunks executed (claims: each chunk once);
#   --coproc with a trivial Python co-process, points/s;
#   montecarlo_pi on 1 and 2 workers: the speed-up;
#   --stream on 1M and 10M points: peak RSS;
#   results mode on 10M points in three chunk shapes: peak RSS (<= 64 MiB).
# Writes bench records to bench/results/swarm.jsonl.
set -eu
out=${top_builddir:-.}/bench/results
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
P=${top_builddir:-.}/plugins/exec/.libs
rec="$out/swarm.jsonl"
: > "$rec"

now() { date +%s.%N; }
seconds() { s=$(now); sh -c "$1" > /dev/null 2>&1; e=$(now); echo "$e - $s" | bc -l; }
rate() { echo "$1 / $2" | bc -l; }
record() { printf '%s\n' "$1" >> "$rec"; }

grid="--split x=0..999 --split y=0..999 --memo-chunk x=10 --memo-chunk y=1000 --exec-chunk 1000 --workers 2"
cold=$(seconds "swarm-run $grid --exec $P/noop.so --cache $work/c1")
hot=$(seconds "swarm-run $grid --exec $P/noop.so --cache $work/c1")
printf 'noop, 1M points, 2 workers: cold %.3fs = %.0f points/s (%.1fx swarm-memo 400k/s); cached %.3fs = %.0f points/s (%.1fx swarm-memo 4.5M/s)\n' \
	"$cold" "$(rate 1000000 "$cold")" "$(echo "1000000 / $cold / 400000" | bc -l)" \
	"$hot" "$(rate 1000000 "$hot")" "$(echo "1000000 / $hot / 4500000" | bc -l)"
record "$(printf '{"type":"bench","name":"swarm.noop.cold","n":1000000,"seconds":%.4f,"points_per_second":%.0f,"ratio":%.2f,"peer":"swarm-memo 400k/s (reference)"}' \
	"$cold" "$(rate 1000000 "$cold")" "$(echo "1000000 / $cold / 400000" | bc -l)")"
record "$(printf '{"type":"bench","name":"swarm.noop.cached","n":1000000,"seconds":%.4f,"points_per_second":%.0f,"ratio":%.2f,"peer":"swarm-memo 4.5M/s (reference)"}' \
	"$hot" "$(rate 1000000 "$hot")" "$(echo "1000000 / $hot / 4500000" | bc -l)")"

# the default batch (--exec-chunk auto) against the explicit one above
auto=$(seconds "swarm-run ${grid%--exec-chunk*}--workers 2 --exec $P/noop.so --cache $work/ca")
printf 'noop, 1M points, default --exec-chunk auto: %.3fs = %.2fx the speed of --exec-chunk 1000 (target >= 0.9x)\n' \
	"$auto" "$(echo "$cold / $auto" | bc -l)"
record "$(printf '{"type":"bench","name":"swarm.noop.auto","n":1000000,"seconds":%.4f,"points_per_second":%.0f,"ratio":%.2f,"peer":"--exec-chunk 1000, same run"}' \
	"$auto" "$(rate 1000000 "$auto")" "$(echo "$cold / $auto" | bc -l)")"

# slow points still spread over the workers with the default batch
slow=$(seconds "swarm-run --split x=1..8 --memo-chunk x=4 --workers 2 --cache $work/cs --cmd sleep 0.5")
printf '8 points of 0.5 s on 2 workers, default batch: %.2fs (ideal 2.00 s: %.1f%% over)\n' \
	"$slow" "$(echo "($slow / 2 - 1) * 100" | bc -l)"
record "$(printf '{"type":"bench","name":"swarm.slow.auto","n":8,"seconds":%.4f,"ratio":%.3f,"peer":"ideal 2 s"}' \
	"$slow" "$(echo "$slow / 2" | bc -l)")"

# 4 identical runs at once on one cache (chunks claimed, each computed
# once) against one run alone: CPU-bound points, 100 chunks
cc="--split x=1..100 --memo-chunk x=1 --param flops=20000000 --exec $P/burn.so --workers 2"
solo=$(seconds "swarm-run $cc --cache $work/cc1")
s=$(now)
for k in 1 2 3 4; do
	swarm-run $cc --cache "$work/cc4" > "$work/cc4.$k" 2> /dev/null &
done
wait
four=$(echo "$(now) - $s" | bc -l)
executed=0
for k in 1 2 3 4; do
	executed=$((executed + $(grep '"type":"diag"' "$work/cc4.$k" | sed 's/.*"chunks_executed":\([0-9]*\).*/\1/')))
done
printf '4 concurrent runs of 100 chunks on one cache: %.2fs vs one run %.2fs (%.2fx, target ~1x); chunks executed %d of 100 (%.2fx, target <= 1.05x)\n' \
	"$four" "$solo" "$(echo "$four / $solo" | bc -l)" "$executed" "$(echo "$executed / 100" | bc -l)"
record "$(printf '{"type":"bench","name":"swarm.concurrent","n":4,"chunks_total":100,"chunks_executed":%d,"seconds":%.4f,"seconds_1":%.4f,"ratio":%.2f,"chunks_ratio":%.2f,"peer":"one run alone"}' \
	"$executed" "$four" "$solo" "$(echo "$four / $solo" | bc -l)" "$(echo "$executed / 100" | bc -l)")"

N=2000
ours=$(seconds "swarm-run --split x=1..$N --memo-chunk x=100 --workers 2 --cache $work/c2 --cmd true '{x}'")
xa=$(seconds "seq $N | xargs -P2 -n1 true")
if command -v parallel > /dev/null; then
	par=$(seconds "seq $N | parallel -j2 true {}")
else
	par=0
fi
printf '%d commands: swarm-run --cmd %.2fs (%.2f ms/job), xargs -P2 %.2fs (%.2fx), GNU parallel %.2fs (%.2fx)\n' \
	"$N" "$ours" "$(echo "$ours * 1000 / $N" | bc -l)" "$xa" "$(echo "$xa / $ours" | bc -l)" \
	"$par" "$(echo "$par / $ours" | bc -l)"
record "$(printf '{"type":"bench","name":"swarm.cmd","n":%d,"seconds":%.4f,"xargs_seconds":%.4f,"parallel_seconds":%.4f,"ratio_xargs":%.2f,"ratio_parallel":%.2f}' \
	"$N" "$ours" "$xa" "$par" "$(echo "$xa / $ours" | bc -l)" "$(echo "$par / $ours" | bc -l)")"

if command -v python3 > /dev/null; then
	M=200000
	cat > "$work/co.py" <<'PY'
import json, sys
for line in sys.stdin:
    sys.stdout.write('{"type":"result","seq":%d,"value":1}\n' % json.loads(line)["seq"])
    sys.stdout.flush()
PY
	co=$(seconds "swarm-run --split x=1..$M --memo-chunk x=10000 --exec-chunk 1000 --workers 2 --cache $work/c3 --coproc python3 $work/co.py")
	printf -- '--coproc (python), %d points: %.2fs = %.0f points/s\n' "$M" "$co" "$(rate $M "$co")"
	record "$(printf '{"type":"bench","name":"swarm.coproc","n":%d,"seconds":%.4f,"points_per_second":%.0f}' "$M" "$co" "$(rate $M "$co")")"
fi

mc="--split seed=1..16 --memo-chunk seed=1 --param samples=20000000 --exec $P/montecarlo_pi.so"
one=$(seconds "swarm-run $mc --workers 1 --cache $work/c4")
two=$(seconds "swarm-run $mc --workers 2 --cache $work/c5")
printf 'montecarlo_pi, 16 points: 1 worker %.2fs, 2 workers %.2fs: speed-up %.2fx\n' "$one" "$two" "$(echo "$one / $two" | bc -l)"
record "$(printf '{"type":"bench","name":"swarm.speedup","seconds_1":%.4f,"seconds_2":%.4f,"ratio":%.2f}' "$one" "$two" "$(echo "$one / $two" | bc -l)")"

rss() { /usr/bin/time -f %M swarm-run "$@" 2>&1 > /dev/null | tail -n 1; }
if [ -x /usr/bin/time ]; then
	r1=$(rss --split x=0..0 --split y=0..999999 --memo-chunk x=1 --memo-chunk y=10000 --exec-chunk 1000 --workers 2 --exec $P/noop.so --cache $work/c6 --stream)
	r10=$(rss --split x=0..9 --split y=0..999999 --memo-chunk x=1 --memo-chunk y=10000 --exec-chunk 1000 --workers 2 --exec $P/noop.so --cache $work/c7 --stream)
	printf -- '--stream peak RSS: 1M points %d KiB, 10M points %d KiB\n' "$r1" "$r10"
	record "$(printf '{"type":"bench","name":"swarm.stream.rss","rss_kib_1m":%d,"rss_kib_10m":%d}' "$r1" "$r10")"
	# results mode (records on stdout, in grid order), 10M points, target
	# <= 64 MiB whatever the chunk shape: rows (slabs of 100 chunks of
	# 10k points), the first axis in one bin (one slab of 100 chunks of
	# 100k points, cold and cached), small chunks (one slab of 10,000
	# chunks of 1,000 points); --plan alone is the grid's own cost (its
	# axes are ranges: made on demand, never listed)
	g10="--split x=0..9 --split y=0..999999 --workers 2 --exec $P/noop.so"
	rp=$(rss $g10 --memo-chunk x=10 --memo-chunk y=10000 --cache $work/c8 --plan)
	rr=$(rss $g10 --memo-chunk x=1 --memo-chunk y=10000 --cache $work/c10)
	ts=$(now)
	ra=$(rss $g10 --memo-chunk x=10 --memo-chunk y=10000 --cache $work/c8)
	ta=$(echo "$(now) - $ts" | bc -l)
	rw=$(rss $g10 --memo-chunk x=10 --memo-chunk y=10000 --cache $work/c8)
	rc=$(rss $g10 --memo-chunk x=10 --memo-chunk y=100 --cache $work/c9)
	max=$rr
	for v in $ra $rw $rc; do
		if [ "$v" -gt "$max" ]; then max=$v; fi
	done
	printf 'results mode peak RSS, 10M points (target <= 65536 KiB, worst %d KiB): rows cold %d KiB; one slab of 100 chunks cold %d KiB (%.1fs), cached %d KiB; one slab of 10k chunks cold %d KiB (--plan alone %d KiB)\n' \
		"$max" "$rr" "$ra" "$ta" "$rw" "$rc" "$rp"
	record "$(printf '{"type":"bench","name":"swarm.results.rss","n":10000000,"rss_kib_max":%d,"rss_kib_rows_cold":%d,"rss_kib_slab_cold":%d,"seconds_slab_cold":%.3f,"rss_kib_slab_cached":%d,"rss_kib_10k_chunks_cold":%d,"rss_kib_plan":%d,"target_kib":65536}' "$max" "$rr" "$ra" "$ta" "$rw" "$rc" "$rp")"
fi
echo "records: $rec"
