#!/bin/sh
# gpu.sh - the CUDA backend on a GPU, in one run (tests/helpers/rkgpubench):
#   host -> persistent echo actor -> host round trip, 64-byte messages
#     (target: p50 <= 3 us on an H100/H200), against launch-per-message
#     (kernel launch + synchronize; target: the persistent actor >= 3x
#     faster at p50);
#   sustained messages/s through the persistent actor, batched;
#   device triad against device-to-device cudaMemcpy (target >= 85%).
# Writes bench records to bench/results/rkgpu.jsonl. Without nvcc or a GPU
# it says so and writes nothing.
set -eu
out=${top_builddir:-.}/bench/results
mkdir -p "$out"
rec="$out/rkgpu.jsonl"
# the build tree's plugins, unless a path is given (the device kit's)
export COREN_PLUGIN_PATH="${COREN_PLUGIN_PATH:-${top_builddir:-.}/plugins/backend/.libs:${top_builddir:-.}/plugins/kernel/.libs}"

if [ "${COREN_BUILT_CUDA:-no}" != yes ]; then
	echo "skipped: the CUDA backend is not built (configure found no nvcc, or --without-cuda)"
	exit 0
fi
st=0
rkgpubench > "$rec.tmp" || st=$?
if [ $st -eq 77 ]; then
	rm -f "$rec.tmp"
	echo "skipped: no usable GPU (see above)"
	exit 0
fi
[ $st -eq 0 ] || exit $st
mv "$rec.tmp" "$rec"
jq -r 'def us: . / 1000 | . * 100 | round / 100;
	if .name == "rk.gpu.roundtrip.persistent" then
		"\(.device): round trip through a persistent actor: p50 \(.p50_ns | us) us, p99 \(.p99_ns | us) us (target p50 <= 3 us: \(if .p50_ns <= 3000 then "met" else "MISSED" end))"
	elif .name == "rk.gpu.roundtrip.launch" then
		"launch-per-message round trip: p50 \(.p50_ns | us) us, p99 \(.p99_ns | us) us"
	elif .name == "rk.gpu.roundtrip.speedup" then
		"persistent vs launch-per-message at p50: \(.ratio)x (target >= 3x: \(if .ratio >= 3 then "met" else "MISSED" end))"
	elif .name == "rk.gpu.sustained" then
		"sustained: \(.msgs_per_s / 1e6 * 100 | round / 100)M msg/s (\(.n) messages, ring of \(.ring))"
	elif .name == "rk.gpu.triad" then
		"triad \(.triad_bw / 1e9 | round) GB/s vs d2d memcpy \(.memcpy_bw / 1e9 | round) GB/s: \(.ratio * 100 | round)% (target >= 85%: \(if .ratio >= 0.85 then "met" else "MISSED" end)); FP64 \(.flops / 1e12 * 10 | round / 10) TFLOP/s, FP32 \(.flops_fp32 / 1e12 * 10 | round / 10) TFLOP/s, h2d \(.h2d_bw / 1e9 | round) GB/s, d2h \(.d2h_bw / 1e9 | round) GB/s"
	else empty end' "$rec"
