#!/bin/sh
# verdict.sh - the pricing pipeline against jq computing the same formulas.
#
# N cost expressions go through `coren-cost | coren-verdict --cap` and,
# for the peer, through jq programs doing the same work: one turns
# expressions' numbers into cost records (sort: 10 n L(n), ...), one turns
# cost records into verdicts with the DESIGN §4 formulas. Records/s and the
# ratio. Writes bench records to bench/results/verdict.jsonl.
set -eu
N=${N:-1000000}
out=${top_builddir:-.}/bench/results
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo '{"type":"cap","flops":1e11,"mem_bw":4e10,"ram_avail":16000000000,"disk_write_bw":1e9,"net_bw":1.25e8,"net_latency":0.01}' > "$work/cap.jsonl"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "sort(%d, 64, %d)\n", i, i * 64 }' > "$work/exprs"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "%d\n", i }' > "$work/ns"

seconds() { s=$(date +%s.%N); sh -c "$1" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }

ours=$(seconds "coren-cost < $work/exprs | coren-verdict --cap $work/cap.jsonl")
cost_only=$(seconds "coren-cost < $work/exprs > $work/costs.jsonl")
verdict_only=$(seconds "coren-verdict --cap $work/cap.jsonl $work/costs.jsonl")
peer=$(seconds "jq -c '. as \$n | (if \$n <= 1 then 0 else ((\$n - 1) | log2 | floor) + 1 end) as \$l
  | {type: \"cost\", name: \"sort(\(\$n),64,\(\$n * 64))\", flops: (10 * \$n * \$l), mem_bytes: (\$n * 64 * \$l), peak_mem: (2 * \$n * 64), result_bytes: (\$n * 64)}' $work/ns |
  jq -c --slurpfile cap $work/cap.jsonl '\$cap[0] as \$c
  | ([.flops / \$c.flops, .mem_bytes / \$c.mem_bw] | max) as \$tc
  | (\$c.net_latency + .result_bytes / \$c.net_bw) as \$tf
  | {type: \"verdict\", name, score: (\$tc - \$tf), action: (if \$tc - \$tf > 0 then \"fetch\" else \"compute\" end),
     bottleneck: (if \$tc - \$tf > 0 then \"network\" elif .flops / \$c.flops >= .mem_bytes / \$c.mem_bw then \"compute\" else \"memory\" end),
     t_compute: \$tc, t_fetch: \$tf, t_store: (.result_bytes / \$c.disk_write_bw),
     cost: {flops, mem_bytes, peak_mem, result_bytes}}'")
rate() { echo "$N / $1" | bc -l; }
printf 'coren-cost | coren-verdict  %7.2fs  %9.0f records/s  (coren-cost alone %.0f/s, coren-verdict alone %.0f/s)\n' \
	"$ours" "$(rate "$ours")" "$(rate "$cost_only")" "$(rate "$verdict_only")"
printf 'jq | jq (same formulas)       %7.2fs  %9.0f records/s\n' "$peer" "$(rate "$peer")"
printf 'ratio %.2fx (targets: >= 1M records/s, >= 10x jq)\n' "$(echo "$peer / $ours" | bc -l)"
printf '{"type":"bench","name":"verdict.pipeline","tool":"coren-cost | coren-verdict","peer":"jq | jq","n":%s,"seconds":%.4f,"peer_seconds":%.4f,"records_per_second":%.0f,"ratio":%.2f}\n' \
	"$N" "$ours" "$peer" "$(rate "$ours")" "$(echo "$peer / $ours" | bc -l)" > "$out/verdict.jsonl"
echo "records: $out/verdict.jsonl"
