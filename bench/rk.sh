#!/bin/sh
# rk.sh - lib/rk and rk-launch, in one run:
#   SPSC queue, 64-byte messages in batches of 64, producer and consumer
#     threads (target >= 100M msg/s; RingKernel published 13.8M msg/s,
#     72 ns a message, on other hardware);
#   MPSC queue, two producers;
#   HLC tick (target <= 20 ns; RingKernel 30 ns);
#   envelope encode + decode, 64-byte payload (target <= 50 ns; RingKernel's
#     header round trip 48 ns);
#   rk-launch echo end to end, 1M messages: binary wire (target >= 5M msg/s)
#     and JSON wire (target >= 1M msg/s).
# Writes bench records to bench/results/rk.jsonl.
set -eu
out=${top_builddir:-.}/bench/results
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rec="$out/rk.jsonl"
export COREN_PLUGIN_PATH="${top_builddir:-.}/plugins/backend/.libs:${top_builddir:-.}/plugins/kernel/.libs"

rkmicro 1 > "$work/micro.jsonl"
cat "$work/micro.jsonl" > "$rec"
jq -r 'if .msgs_per_s then "\(.name): \(.msgs_per_s / 1e6 | floor)M msg/s, \(.ns_per_msg) ns/msg"
	else "\(.name): \(.ns_per_op) ns" end' "$work/micro.jsonl"

now() { date +%s.%N; }
N=1000000
rkenv gen $N 64 1 > "$work/in.bin"
awk -v n=$N 'BEGIN { for (i = 1; i <= n; i++) print "{\"type\":\"msg\",\"to\":\"e\",\"payload_b64\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}" }' > "$work/in.jsonl"
# Input from a file (in the page cache), answers to /dev/null: rk-launch
# alone is measured, not the disk. Best of 3 runs (this is a shared machine).
for wire in bin json; do
	best=
	for run in 1 2 3; do
		s=$(now)
		if [ $wire = bin ]; then
			rk-launch --wire bin --records /dev/null -k e=echo "$work/in.bin" > /dev/null
		else
			rk-launch -k e=echo "$work/in.jsonl" > /dev/null
		fi
		e=$(now)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
	done
	printf 'rk-launch echo, %s wire, %d messages of 64 bytes: %.3fs = %.0f msg/s (best of 3)\n' \
		"$wire" $N "$best" "$(echo "$N / $best" | bc -l)"
	printf '{"type":"bench","name":"rk.launch.echo.%s","n":%d,"payload_bytes":64,"seconds":%.4f,"msgs_per_s":%.0f}\n' \
		"$wire" $N "$best" "$(echo "$N / $best" | bc -l)" >> "$rec"
done
