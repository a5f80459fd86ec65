#!/bin/bash
# run.sh OUT - every GPU check of the device kit, from the kit's folder,
# on a machine where nothing was installed (a bare CUDA image): it uses
# only what the kit holds, plus bash and coreutils. Writes OUT/summary.jsonl
# (one record per check: check, status pass|fail|skip, reason, seconds)
# and each check's log to OUT/CHECK.log; exit 1 when a check failed.
#
# The checks: the GPU tests of rk-cuda.bats (BATS, TAP); test_rkgpu (the
# ring protocol and a terminate racing a stream, TAP); compute-sanitizer
# memcheck and racecheck on test_rkgpu; coren-probe --refresh with the
# GPU in its cap record, and coren-verdict --gpu 0 on a cost; bench/gpu.sh
# (round trips, sustained rate, triad: records in OUT/rkgpu.jsonl). Where
# there is no GPU (or, for the sanitizer, no compute-sanitizer), the checks
# that need one say "skip" with the reason, and the rest run in the CUDA
# backend's emulation: that is how tests/device-kit.bats proves the kit
# complete on a machine without a GPU. Each check has a time limit: 360 s
# in all, so one call of the device tool (600 s) leaves room to rerun.
set -u
kit=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: run.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export PATH="$kit/bin:$kit/bats/bin:$PATH"
export LD_LIBRARY_PATH="$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export COREN_RK_PLUGINS="$kit/plugins/backend:$kit/plugins/kernel"
export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
export COREN_BUILT_CUDA=yes BATS_LIB_PATH="$kit/bats/libs"
export top_srcdir="$kit" top_builddir="$kit"
export XDG_CACHE_HOME="$work/cache" HOME="${HOME:-$work}" LC_ALL=C.UTF-8
: > "$out/summary.jsonl"
failed=0

# a library the image lacks (or too old a C library) says so first
if ! rk-launch --version > "$out/loader.log" 2>&1; then
	echo "the kit's programs do not start here:" >&2
	cat "$out/loader.log" >&2
	LD_DEBUG=libs rk-launch --version >> "$out/loader.log" 2>&1 || true
	exit 1
fi
for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do
	[ -d "$d" ] && PATH="$PATH:$d"
done
gpu=$(rk-launch --list --json 2>/dev/null |
	jq -r 'select(.name=="cuda" and .kind=="backend") | .unavailable // "yes"')
[ -n "$gpu" ] || gpu="the cuda backend plugin did not load"
echo "GPU: $gpu" | tee "$out/gpu.log"
nvidia-smi >> "$out/gpu.log" 2>&1 || true

# record CHECK STATUS REASON SECONDS
record() {
	jq -cn --arg c "$1" --arg s "$2" --arg r "$3" --argjson t "$4" \
		'{type: "check", check: $c, status: $s, reason: $r, seconds: $t}' >> "$out/summary.jsonl"
	printf '%-22s %-5s %s\n' "$1" "$2" "$3"
	[ "$2" != fail ] || failed=1
}

# check NAME LIMIT CMD...: runs CMD (time-limited) with its log in OUT
check() {
	local name=$1 limit=$2 t0 rc
	shift 2
	t0=$(date +%s.%N)
	timeout -k 5 "$limit" "$@" > "$out/$name.log" 2>&1
	rc=$?
	t=$(echo "$(date +%s.%N) $t0" | awk '{ printf "%.2f", $1 - $2 }')
	if [ $rc -eq 0 ]; then
		record "$name" pass "" "$t"
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		record "$name" fail "over its limit of ${limit}s" "$t"
	elif [ $rc -eq 77 ]; then
		record "$name" skip "$(tail -n 1 "$out/$name.log")" "$t"
	else
		record "$name" fail "exit $rc (see $name.log)" "$t"
	fi
}

skip() { record "$1" skip "$2" 0; }

# TAP: a skipped test is reported with its reason in the log
# limits: 360 s in all, the device tool's 600 s per call leaves a rerun
check rk-cuda 100 bats --tap "$kit/tests/rk-cuda.bats"
check test_rkgpu 40 test_rkgpu
if [ "$gpu" != yes ]; then
	skip memcheck "no usable GPU: $gpu"
	skip racecheck "no usable GPU: $gpu"
elif ! command -v compute-sanitizer > /dev/null; then
	skip memcheck "compute-sanitizer is not on the PATH"
	skip racecheck "compute-sanitizer is not on the PATH"
else
	check memcheck 50 compute-sanitizer --tool memcheck --error-exitcode 1 test_rkgpu
	check racecheck 50 compute-sanitizer --tool racecheck --error-exitcode 1 test_rkgpu
fi
if [ "$gpu" = yes ]; then
	check probe 40 sh -c 'coren-probe --refresh --json > "$1/cap.jsonl" &&
		jq -e ".gpus | length > 0" "$1/cap.jsonl"' sh "$out"
	check verdict 10 sh -c "coren-cost 'matmul(8000,8000,8000,512MB)' |
		coren-verdict --gpu 0 --cap \"\$1/cap.jsonl\" --json" sh "$out"
else
	skip probe "no usable GPU: $gpu"
	skip verdict "no usable GPU: $gpu"
fi
if [ "$gpu" = yes ]; then
	check bench-gpu 70 env top_builddir="$work" COREN_BUILT_CUDA=yes sh "$kit/bench/gpu.sh"
	[ ! -f "$work/bench/results/rkgpu.jsonl" ] ||
		cp "$work/bench/results/rkgpu.jsonl" "$out/rkgpu.jsonl"
else # the same code on a host thread: the kit's bench is whole
	skip bench-gpu "no usable GPU: $gpu"
	check bench-emulated 70 rkgpubench --emulate --trips 200 --stream 20000
fi
exit $failed
