#!/usr/bin/env bats
# make bench-check: the instruction counts of the hot paths against
# bench/baselines (rk-bench --callgrind). Instruction counts do not depend
# on the machine's load, so this gate runs in CI; timings never do.

load test_helper

@test "make bench-check: the hot paths cost no more than 10% over bench/baselines" {
	grep -q 'fsanitize=address' "$top_builddir/Makefile" &&
		skip "a sanitizer build counts its own checks"
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	run -0 --separate-stderr $MAKE -s -C "$top_builddir" bench-check
	# every hot path was compared, none regressed
	for w in record verdict chunk spsc hlc envelope; do
		assert_line --regexp "^\| $w \| .* \| (unchanged|improved) \|$"
	done
}

@test "bench-check fails on a regression it is shown" {
	grep -q 'fsanitize=address' "$top_builddir/Makefile" &&
		skip "a sanitizer build counts its own checks"
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	cd "$BATS_TEST_TMPDIR"
	jq -c 'select(.workload == "envelope") | .samples = [.mean / 2] | .mean = .mean / 2' \
		"$top_srcdir/bench/baselines/instructions.jsonl" > half.jsonl
	run -2 --separate-stderr $MAKE -s -C "$top_builddir" bench-check BENCH_HOT=envelope BENCH_BASELINE="$PWD/half.jsonl"
	assert_line --regexp '^\| envelope \| 64 \| instructions \| .* \| \+100\.0% \| 0 \| 0\.0% \| regression \|$'
}
