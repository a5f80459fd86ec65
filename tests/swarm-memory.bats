#!/usr/bin/env bats
# swarm-run: bounded memory in results mode. A slab (the chunks sharing a
# bin of the first axis) can be the whole grid: its results wait in an
# unlinked spill file ($TMPDIR), never all in memory, and come out in grid
# order as if they had been held. COREN_SPILL_AFTER=0 spills every chunk
# of a slab of more than one, so small grids test the spill path.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
}

results() { grep -v '"type":"diag"' "$1"; }

# Exact accounting in output file $1: results + errors + points_unrun =
# points_total, and errors = points_failed.
exact() {
	local res err
	res=$(grep -c '"type":"result"' "$1" || true)
	err=$(grep -c '"type":"error"' "$1" || true)
	assert_equal "$(jq -r 'select(.type=="diag") | "\(.points_total) \(.points_failed)"' "$1")" \
		"$((res + err + $(jq -r 'select(.type=="diag") | .points_unrun' "$1"))) $err"
}

# Peak RSS (KiB) of swarm-run "$@", its records in file out.
peak_kib() {
	/usr/bin/time -o rss -f %M swarm-run "$@" > out
	tail -n 1 rss
}

@test "2M points in one slab: cold and warm under 64 MiB, the output of a slab of one chunk" {
	[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed"
	grid=(--split x=0..199 --split y=0..9999 --exec "$P/noop.so" --workers 2)
	# the first axis in one bin: one slab of 100 chunks, 2M points,
	# ~110 MB of records (it took 220 MB cold, 140 MB warm)
	cold=$(peak_kib "${grid[@]}" --memo-chunk x=200 --memo-chunk y=100 --cache c1)
	assert_equal "$(jq -c 'select(.type=="diag") | [.chunks_executed, .points_executed]' out)" '[100,2000000]'
	results out | sha256sum > cold.sum
	warm=$(peak_kib "${grid[@]}" --memo-chunk x=200 --memo-chunk y=100 --cache c1)
	assert_equal "$(jq -c 'select(.type=="diag") | .chunks_cached' out)" 100
	results out | sha256sum > warm.sum
	echo "peak RSS: cold $cold KiB, warm $warm KiB"
	[ "$cold" -lt 65536 ]
	[ "$warm" -lt 65536 ]
	# a slab of one chunk (a row each) holds nothing back
	run -0 swarm-run "${grid[@]}" --memo-chunk x=1 --memo-chunk y=10000 --cache c2
	echo "$output" > rows
	assert_equal "$(cat cold.sum)" "$(results rows | sha256sum)"
	assert_equal "$(cat warm.sum)" "$(results rows | sha256sum)"
}

@test "spilled chunks come out in grid order, cold, warm and mixed, across chunk shapes" {
	grid=(--split x=1..7 --split y=1..11 --split z=1..3 --exec "$P/noop.so" --workers 2 --exec-chunk 3)
	run -0 swarm-run "${grid[@]}" --memo-chunk x=1 --memo-chunk y=11 --memo-chunk z=3 --cache rows
	results <(echo "$output") > want
	export COREN_SPILL_AFTER=0
	for shape in "x=7 y=2 z=2" "x=3 y=4 z=1" "x=7 y=1 z=1"; do
		set -- $shape
		chunk=(--memo-chunk "$1" --memo-chunk "$2" --memo-chunk "$3")
		run -0 swarm-run "${grid[@]}" "${chunk[@]}" --cache "c-$1-$2"
		assert_equal "$(results <(echo "$output"))" "$(cat want)"
		# some chunks gone: cached and computed ones interleave
		find "c-$1-$2" -name '*.zst' | sort | sed -n '1~3p' | xargs rm -f
		run -0 swarm-run "${grid[@]}" "${chunk[@]}" --cache "c-$1-$2"
		assert_equal "$(results <(echo "$output"))" "$(cat want)"
		run -0 swarm-run "${grid[@]}" "${chunk[@]}" --cache "c-$1-$2"
		assert_equal "$(results <(echo "$output"))" "$(cat want)"
	done
}

@test "spilled, --keep-going with failures: the records of a run that spills nothing" {
	grid=(--split x=1..6 --split y=1..5 --memo-chunk x=6 --memo-chunk y=2 --param fail=3 --exec "$P/fail.so" --keep-going --workers 2 --exec-chunk 2)
	run -4 --separate-stderr swarm-run "${grid[@]}" --cache c1
	echo "$output" > held
	COREN_SPILL_AFTER=0 run -4 --separate-stderr swarm-run "${grid[@]}" --cache c2
	echo "$output" > spilled
	assert_equal "$(results spilled)" "$(results held)"
	assert_equal "$(grep -c '"type":"error"' spilled)" 5
	exact spilled
}

@test "spilled, SIGINT mid-run: exit 130, every point a result, an error or not run, in grid order" {
	COREN_SPILL_AFTER=0 swarm-run --split x=1..4 --split y=1..10 --memo-chunk x=4 --memo-chunk y=2 --exec-chunk 1 --workers 2 --cache cache --cmd sh -c 'sleep 0.05; echo $SWARM_V_y' > out 2> err &
	pid=$!
	sleep 0.6
	kill -INT $pid
	status=0
	wait $pid || status=$?
	assert_equal "$status" 130
	assert_equal "$(jq -c 'select(.type=="diag") | .interrupted' out)" true
	exact out
	[ "$(jq -r 'select(.type=="diag") | .points_unrun' out)" -gt 0 ]
	[ "$(grep -c '"type":"result"' out)" -gt 0 ]
	assert_equal "$(results out | jq -r '"\(.point.x) \(.point.y)"')" "$(results out | jq -r '"\(.point.x) \(.point.y)"' | sort -n -k1,1 -k2,2)"
	# every result printed is its point's
	assert_equal "$(results out | jq -r 'select(.value != .point.y)')" ""
}

@test "no spill file can be made: a warning, and the results all the same" {
	grid=(--split x=1..4 --split y=1..6 --memo-chunk x=4 --memo-chunk y=2 --exec "$P/noop.so")
	run -0 swarm-run "${grid[@]}" --cache c1
	results <(echo "$output") > want
	TMPDIR="$BATS_TEST_TMPDIR/missing" COREN_SPILL_AFTER=0 run -0 --separate-stderr swarm-run "${grid[@]}" --cache c2
	assert_equal "$(results <(echo "$output"))" "$(cat want)"
	[[ "$stderr" == *"cannot spill results to a temporary file in '$BATS_TEST_TMPDIR/missing'"*"keeping them in memory"* ]]
}

@test "an axis of more than 65536 values is served from the plan's texts: exact, and linear" {
	# y has 70001 values, integers, negative ones too: swarm-run frees the
	# experiment's list once the plan is made (coren_memo_plan_compact)
	run -0 timeout 60 swarm-run --split x=1..2 --split y=-35000..35000 --memo-chunk x=1 \
		--memo-chunk y=5000 --exec "$P/noop.so" --cache c --no-progress
	echo "$output" | grep -v '"type":"diag"' > got
	awk 'BEGIN { for (x = 1; x <= 2; x++) for (y = -35000; y <= 35000; y++)
		printf "{\"type\":\"result\",\"point\":{\"x\":%d,\"y\":%d},\"value\":null}\n", x, y }' > want
	cmp got want
	# decimals too (parsed from their canonical text)
	run -0 timeout 60 swarm-run --split x=1..1 --split y=0..0.7..0.00001 --memo-chunk x=1 \
		--memo-chunk y=10000 --exec "$P/noop.so" --cache c --no-progress
	assert_equal "$(echo "$output" | grep -c '"type":"result"')" 70001
	echo "$output" | sed -n '3p;70001p' | jq -c .point.y | tr '\n' ' ' | grep -qx '2e-05 0.7 '
}

@test "a range of 1M values is never listed: --plan of 10M points under 24 MiB, results of 1M under 40 MiB whatever the chunk shape" {
	[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed"
	# ranges are made on demand (lib/memo/range.c); listed, y=0..999999
	# alone took ~50 MiB, --plan 63 MiB, these results 48-54 MiB
	plan=$(peak_kib --split x=0..9 --split y=0..999999 --memo-chunk x=10 --memo-chunk y=10000 --exec "$P/noop.so" --cache c --plan)
	assert_equal "$(grep -c '"type":"chunk"' out)" 100
	echo "--plan, 10M points: $plan KiB"
	[ "$plan" -lt 24576 ]
	grid=(--split x=0..1 --split y=0..499999 --exec "$P/noop.so" --workers 2 --no-progress)
	# rows (slabs of 100 chunks), the first axis in one bin (one slab of
	# 50 chunks of 20k points), small chunks (one slab of 500)
	for shape in "x=1 y=5000" "x=2 y=10000" "x=2 y=1000"; do
		set -- $shape
		kib=$(peak_kib "${grid[@]}" --memo-chunk "$1" --memo-chunk "$2" --cache "c-$1-$2")
		echo "results, 1M points, $shape: $kib KiB"
		assert_equal "$(jq -c 'select(.type=="diag") | .points_executed' out)" 1000000
		assert_equal "$(sed -n '1p;500002p;1000000p' out)" '{"type":"result","point":{"x":0,"y":0},"value":null}
{"type":"result","point":{"x":1,"y":1},"value":null}
{"type":"result","point":{"x":1,"y":499999},"value":null}'
		[ "$kib" -lt 40960 ]
	done
}
