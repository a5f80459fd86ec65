#!/bin/sh
# records.sh - record I/O throughput, coren against jq, in one run.
#
# 1M cost records (~130 MB) are read, validated and written back by recio
# (lib/core/record.c): re-serialised (checking one u64 field), and passed
# through byte for byte (--raw, what a filter does with types it does not
# consume). The peer for both is `jq -c .`, which also parses every line and
# prints it compactly. Best of RUNS wall times. Writes bench records to
# bench/results/records.jsonl (rk-bench --analyze reads them) and a summary.
set -eu
N=${N:-1000000}
RUNS=${RUNS:-3}
out=${top_builddir:-.}/bench/results
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"type\":\"cost\",\"name\":\"job-%d\",\"flops\":%d,\"mem_bytes\":%d,\"peak_mem\":%d,\"result_bytes\":%d,\"t\":%.6f}\n",
		i, i * 7919, i * 104729, i * 31, i % 1000, i / 7.0 }' > "$work/in.jsonl"
bytes=$(wc -c < "$work/in.jsonl")

# best wall time of RUNS runs of a shell command
best() {
	b=""
	for r in $(seq "$RUNS"); do
		s=$(date +%s.%N)
		sh -c "$1" > /dev/null
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}

record() { # name ours peer ours_s peer_s
	ratio=$(echo "$5 / $4" | bc -l)
	printf '{"type":"bench","name":"%s","tool":"%s","peer":"%s","n":%s,"bytes":%s,"runs":%s,"seconds":%.4f,"peer_seconds":%.4f,"ratio":%.2f}\n' \
		"$1" "$2" "$3" "$N" "$bytes" "$RUNS" "$4" "$5" "$ratio" >> "$out/records.jsonl"
	printf '%-26s %-22s %8.3fs   %-10s %8.3fs   %6.2fx  %6.1f MB/s\n' \
		"$1" "$2" "$4" "$3" "$5" "$ratio" "$(echo "$bytes / $4 / 1000000" | bc -l)"
}

: > "$out/records.jsonl"
printf '%-26s %-22s %9s   %-10s %9s   %7s  %s\n' bench coren time peer time ratio throughput
if command -v jq > /dev/null; then
	ours=$(best "recio --json --u64 flops $work/in.jsonl")
	peer=$(best "jq -c . $work/in.jsonl")
	record records.reserialize "recio --u64 flops" "jq -c ." "$ours" "$peer"
else
	echo "jq not installed: records.reserialize skipped"
fi
	ours=$(best "recio --json --raw $work/in.jsonl")
	record records.passthrough "recio --raw" "jq -c ." "$ours" "$peer"
echo "records: $out/records.jsonl"
