#!/usr/bin/env bats
# The device kit (tests/device/make-kit.sh, `make device-kit`): everything
# the GPU checks need on a bare CUDA machine, in one folder. Proved
# complete here, from a copy outside the build tree with a cleared
# environment: every check that can run without a GPU runs (in the CUDA
# backend's emulation), the others skip and say why.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	[[ $COREN_BUILT_CUDA == yes ]] ||
		skip "the CUDA backend is not built (configure found no nvcc, or --without-cuda)"
	sh "$top_srcdir/tests/device/make-kit.sh" "$top_srcdir" "$top_builddir" kit > make.log
}

@test "the kit is one folder well under the device tool's 64 MiB, with nothing missing" {
	[ "$(du -sk kit | cut -f1)" -lt $((48 * 1024)) ]
	for f in kit/bin/* kit/plugins/*/*.so; do
		run env LD_LIBRARY_PATH=kit/lib ldd "$f"
		refute_output --partial "not found"
	done
	# the kit's libcoren, not the build tree's
	run env LD_LIBRARY_PATH="$PWD/kit/lib" ldd kit/bin/rk-launch
	assert_output --partial "$PWD/kit/lib/libcoren.so.0"
	[ -x kit/run.sh ] && [ -x kit/bats/bin/bats ] && [ -d kit/bats/libs/bats-assert ]
}

@test "run from a copy with a cleared environment: emulation passes, GPU checks skip with the reason" {
	mv kit elsewhere
	run env -i PATH=/usr/bin:/bin HOME="$BATS_TEST_TMPDIR" bash elsewhere/run.sh out
	echo "$output"
	assert_success
	for c in rk-cuda test_rkgpu bench-emulated; do
		assert_equal "$(jq -r "select(.check == \"$c\") | .status" out/summary.jsonl)" pass
	done
	if jq -e 'select(.check == "probe") | .status == "skip"' out/summary.jsonl > /dev/null; then
		for c in memcheck racecheck probe verdict bench-gpu; do
			jq -e "select(.check == \"$c\") | .status == \"skip\" and (.reason | startswith(\"no usable GPU\"))" out/summary.jsonl
		done
	fi
	# the GPU tests ran in emulation, and say which ones needed a GPU
	grep -q '^ok .*# skip no usable GPU' out/rk-cuda.log || grep -q '^ok ' out/rk-cuda.log
	[ "$(jq -s 'map(.seconds) | add' out/summary.jsonl | cut -d. -f1)" -lt 360 ]
}
