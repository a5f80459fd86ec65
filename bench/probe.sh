#!/bin/sh
# probe.sh - coren-probe against likwid-bench, in one run, as ratios.
#
# Peak FLOP/s: likwid-bench peakflops_avx512_fma (or peakflops_avx_fma)
# on all cores and on one, working set in L1 (pure FMA peak), against
# coren-probe's FMA loop. Bandwidth: the best of likwid-bench's stream
# triads (plain, AVX-512, non-temporal variants) on the same total array
# size coren uses, against coren-probe's triad; best of RUNS each, since
# bandwidth is noisy on a shared machine. Also the time of a full probe and
# of a cached one. Writes bench records to bench/results/probe.jsonl.
set -eu
RUNS=${RUNS:-3}
out=${top_builddir:-.}/bench/results
mkdir -p "$out"
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
export COREN_CACHE_DIR="$cache"
: > "$out/probe.jsonl"
cores=$(nproc)

# awk does the arithmetic: jq writes large numbers as 2.2e+11
max() { awk 'BEGIN { m = 0 } { if ($1 + 0 > m) m = $1 + 0 } END { printf "%.6g\n", m }'; }
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
seconds() { s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); calc "$e - $s"; }

record() { # name ours peer unit
	ratio=$(calc "$2 / $3")
	printf '{"type":"bench","name":"%s","tool":"coren-probe","peer":"likwid-bench","value":%.6g,"peer_value":%.6g,"unit":"%s","ratio":%.3f}\n' \
		"$1" "$2" "$3" "$4" "$ratio" >> "$out/probe.jsonl"
	printf '%-22s coren %8.2f   likwid %8.2f   %-8s ratio %5.3f\n' "$1" \
		"$(calc "$2 / 1e9")" "$(calc "$3 / 1e9")" "G$4" "$ratio"
}

# coren: best of RUNS full probes, timing the first one
full=""
for r in $(seq "$RUNS"); do
	t=$(seconds coren-probe --refresh --json)
	[ -n "$full" ] || full=$t
	coren-probe --json >> "$cache/runs.jsonl"
done
# a cached probe: the mean of 50, the loop's own cost being negligible
s=$(date +%s.%N)
for i in $(seq 50); do coren-probe --json > /dev/null; done
e=$(date +%s.%N)
cached=$(calc "($e - $s) / 50")
c_flops=$(jq -r .flops "$cache/runs.jsonl" | max)
c_core=$(jq -r .flops_core "$cache/runs.jsonl" | max)
c_bw=$(jq -r .mem_bw "$cache/runs.jsonl" | max)
triad_mib=$(( $(coren-probe --json | jq -r '.ram_avail') / 8 / 1048576 ))
arr=$(getconf LEVEL3_CACHE_SIZE 2>/dev/null || echo 0)
arr=$(( arr > 67108864 ? arr : 67108864 ))
arr=$(( arr < 536870912 ? arr : 536870912 ))
[ $((arr / 1048576)) -lt "$triad_mib" ] || arr=$((triad_mib * 1048576))
total_mb=$(( 3 * arr / 1048576 ))
printf 'full probe %.2fs, cached probe %.1fms (targets: <= 3 s, <= 10 ms)\n' "$full" "$(calc "$cached * 1000")"
printf '{"type":"bench","name":"probe.full_seconds","tool":"coren-probe","value":%.4f,"unit":"s"}\n{"type":"bench","name":"probe.cached_seconds","tool":"coren-probe","value":%.5f,"unit":"s"}\n' \
	"$full" "$cached" >> "$out/probe.jsonl"

if ! command -v likwid-bench > /dev/null; then
	echo "likwid-bench not installed (apt-get install likwid): no peer figures"
	exit 0
fi
kernel=peakflops_avx512_fma
likwid-bench -a | grep -q "^$kernel " || kernel=peakflops_avx_fma
lw() { # test workgroup -> figure in units/s
	likwid-bench -t "$1" -W "$2" 2>/dev/null | awk -v k="$3" '$1 == k {print $2 * 1e6}'
}
l_flops=$(for r in $(seq "$RUNS"); do lw $kernel "N:$((32 * cores))kB:$cores" MFlops/s:; done | max)
l_core=$(for r in $(seq "$RUNS"); do lw $kernel "S0:32kB:1" MFlops/s:; done | max)
l_bw=$(for t in stream stream_avx512 stream_avx512_fma stream_mem_avx512 stream_mem_avx_fma stream_mem_avx; do
	likwid-bench -a | grep -q "^$t " || continue
	for r in $(seq "$RUNS"); do lw "$t" "N:${total_mb}MB:$cores" MByte/s:; done
done | max)
record flops.all_cores "$c_flops" "$l_flops" FLOP/s
record flops.one_core "$c_core" "$l_core" FLOP/s
record triad.bandwidth "$c_bw" "$l_bw" B/s
echo "records: $out/probe.jsonl"
