#!/usr/bin/env bats
# swarm-run: chunked memoization and parallel execution over a grid.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
	cat > exp.yaml <<-'EOF'
	params: {alpha: 0.4}
	split:
	  strat: [aaa, bb]
	  s: [1, 2, 3, 4]
	memo_chunk: {strat: 1, s: 3}
	exec_chunk: 2
	cache: cache
	EOF
}

diag() { # the diag record's fields, as "k=v ..."
	grep '"type":"diag"' "$1" | jq -r '"cached=\(.chunks_cached) executed=\(.chunks_executed) total=\(.chunks_total) points=\(.points_executed) failed=\(.points_failed)"'
}

results() { grep -v '"type":"diag"' "$1"; }

nchunks() { find "${1:-cache}" -name '*.zst' | wc -l; }

# Exact accounting in output file $1: results + errors + points_unrun =
# points_total, and errors = points_failed.
exact() {
	local res err
	res=$(grep -c '"type":"result"' "$1" || true)
	err=$(grep -c '"type":"error"' "$1" || true)
	assert_equal "$(jq -r 'select(.type=="diag") | "\(.points_total) \(.points_failed)"' "$1")" \
		"$((res + err + $(jq -r 'select(.type=="diag") | .points_unrun' "$1"))) $err"
}

@test "the issue's example: 4 chunks, then 4 cached, then only s=5 runs" {
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --workers 2
	echo "$output" > run1
	assert_equal "$(diag run1)" "cached=0 executed=4 total=4 points=8 failed=0"
	assert_equal "$(results run1 | wc -l)" 8
	assert_equal "$(nchunks)" 4
	exact run1

	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --workers 2
	echo "$output" > run2
	assert_equal "$(diag run2)" "cached=4 executed=0 total=4 points=0 failed=0"
	assert_equal "$(results run2)" "$(results run1)"
	exact run2
	assert_equal "$(jq -c 'select(.type=="diag") | [.points_unrun, .interrupted]' run2)" '[0,false]'

	sed -i 's/s: \[1, 2, 3, 4\]/s: [1, 2, 3, 4, 5]/' exp.yaml
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --workers 2
	echo "$output" > run3
	assert_equal "$(diag run3)" "cached=2 executed=2 total=4 points=2 failed=0"
	assert_equal "$(jq -r 'select(.type=="diag") | .points_reused' run3)" 2
	exact run3

	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --cache cold --workers 2
	echo "$output" > cold.out
	assert_equal "$(results run3)" "$(results cold.out)"
}

@test "results come in grid order, last axis fastest" {
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so"
	assert_equal "$(results <(echo "$output") | jq -c '[.point.s, .point.strat]' | tr -d '\n')" \
		'[1,"aaa"][1,"bb"][2,"aaa"][2,"bb"][3,"aaa"][3,"bb"][4,"aaa"][4,"bb"]'
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --axis-order strat,s --cache c2
	assert_equal "$(results <(echo "$output") | jq -c '[.point.strat, .point.s]' | head -5 | tr -d '\n')" \
		'["aaa",1]["aaa",2]["aaa",3]["aaa",4]["bb",1]'
}

@test "grid order with a mix of cached and missing chunks is a cold run's" {
	args=(--split x=1..7 --split y=0..4 --memo-chunk x=2 --memo-chunk y=2 --exec "$P/rosenbrock.so" --param b=10)
	run -0 swarm-run "${args[@]}" --cache cold
	results <(echo "$output") > cold.jsonl
	swarm-run "${args[@]}" --cache mixed > /dev/null
	# drop every other chunk, then run again
	find mixed -name '*.zst' | sort | awk 'NR % 2' | xargs rm
	run -0 swarm-run "${args[@]}" --cache mixed
	echo "$output" > mixed.out
	[ "$(jq -r 'select(.type=="diag") | .chunks_cached' mixed.out)" -gt 0 ]
	[ "$(jq -r 'select(.type=="diag") | .chunks_executed' mixed.out)" -gt 0 ]
	assert_equal "$(results mixed.out)" "$(cat cold.jsonl)"
	assert_equal "$(wc -l < cold.jsonl)" 35
	# the values are the function's: rosenbrock(1, 1) = 0 with a = 1
	assert_equal "$(grep -F '"point":{"x":1,"y":1}' cold.jsonl)" '{"type":"result","point":{"x":1,"y":1},"value":0.0}'
}

@test "--cmd passes hostile values as single arguments, never through a shell" {
	printf '%s\n' 'split:' '  x: ["a b", "q\"uo'"'"'te", "$(touch pwned)", "l1\nl2", "*"]' \
		'memo_chunk: {x: 2}' 'cache: cache' > hostile.yaml
	run -0 swarm-run -c hostile.yaml --workers 2 --cmd printf '<%s>' '{x}'
	echo "$output" > out
	assert_file_not_exists pwned
	assert_equal "$(results out | jq -r '.value')" "$(printf '%s\n' '<a b>' '<q"uo'"'"'te>' '<$(touch pwned)>' '<l1' 'l2>' '<*>')"
	# and in the environment
	run -0 swarm-run -c hostile.yaml --cache c2 --cmd sh -c 'printf "%s" "$SWARM_V_x"'
	assert_equal "$(results <(echo "$output") | jq -r '.point.x == .value' | sort -u)" true
	run -0 swarm-run -c hostile.yaml --cache c3 --cmd sh -c 'printf "%s" "$SWARM_POINT"'
	assert_equal "$(results <(echo "$output") | jq -c '.point == .value' | sort -u)" true
}

@test "--cmd: JSON output is JSON, other output a string; a failing command is an error" {
	run -0 swarm-run --split x=1,2 --memo-chunk x=1 --cache c --cmd echo '{{"n":{x}}}'
	assert_line --index 0 '{"type":"result","point":{"x":1},"value":{"n":1}}'
	run -4 --separate-stderr swarm-run --split x=1,2 --memo-chunk x=1 --cache c2 --keep-going --cmd sh -c 'test "$SWARM_V_x" = 1 && echo one'
	assert_line --index 0 '{"type":"result","point":{"x":1},"value":"one"}'
	assert_line --index 1 '{"type":"error","point":{"x":2},"reason":"exited with status 1"}'
	run -2 swarm-run --split x=1 --memo-chunk x=1 --cache c3 --cmd echo '{nope}'
	assert_output --partial "'{nope}' is not an axis or param"
}

@test "--coproc answers hostile values in one process per worker" {
	printf '%s\n' 'split:' '  x: ["a b", "q\"uote", "$(touch pwned)", "l1\nl2", 7]' \
		'memo_chunk: {x: 2}' 'exec_chunk: 3' 'cache: cache' > hostile.yaml
	run -0 swarm-run -c hostile.yaml --workers 2 --coproc jq -c --unbuffered '{type: "result", seq, value: [.point.x, env.SWARM_PARAMS]}'
	echo "$output" > out
	assert_file_not_exists pwned
	assert_equal "$(results out | jq -c '.value[0] == .point.x' | sort -u)" true
	assert_equal "$(results out | jq -r '.value[1]' | sort -u)" '{}'
	assert_equal "$(results out | wc -l)" 5
}

@test "a failing point: exit 4, an error record, its chunk not written" {
	run -4 --separate-stderr swarm-run --split x=1..6 --memo-chunk x=2 --param fail=3 --cache cache --exec "$P/fail.so" --workers 1
	assert_line '{"type":"error","point":{"x":3},"reason":"failing on demand at this point"}'
	refute_line --partial '"point":{"x":5}'
	[[ "$stderr" == *"1 of 6 points failed"* ]]
	[ "$(nchunks)" -le 2 ]
	run -4 --separate-stderr swarm-run --split x=1..6 --memo-chunk x=2 --param fail=3 --cache cache --exec "$P/fail.so" --keep-going
	echo "$output" > out
	# the failed chunk is not written: 1 chunk executed (5, 6), 4 points ran
	assert_equal "$(diag out)" "cached=1 executed=1 total=3 points=4 failed=1"
	assert_equal "$(jq -c 'select(.type=="diag") | [.points_unrun, .interrupted]' out)" '[0,false]'
	exact out
	assert_equal "$(results out | jq -c '.value // .reason' | tr '\n' ' ')" '1 2 "failing on demand at this point" 4 5 6 '
	assert_equal "$(nchunks)" 2
}

@test "--isolate: a crashing plugin loses only its exec chunk" {
	run -4 --separate-stderr swarm-run --split x=1..8 --memo-chunk x=4 --exec-chunk 2 --param crash=6 --cache cache --exec "$P/fail.so" --isolate --keep-going --workers 2
	echo "$output" > out
	# killed by signal 11, or (under ASan) exited with its status
	assert_line --partial '"point":{"x":6},"reason":"the co-process ended: '
	assert_line --partial '"point":{"x":5},"reason":"the co-process ended: '
	assert_equal "$(results out | jq -c 'select(.type=="result") | .value' | tr '\n' ' ')" '1 2 3 4 7 8 '
	assert_equal "$(nchunks)" 1
}

@test "kill -9 at random moments, then a re-run: the output of a clean run" {
	args=(--split x=1..80 --memo-chunk x=3 --param sleep_ms=15 --exec "$P/fail.so" --workers 2)
	swarm-run "${args[@]}" --cache clean > clean.out
	for delay in 0.05 0.13 0.21 0.08 0.3; do
		swarm-run "${args[@]}" --cache cache > /dev/null 2>&1 &
		sleep "$delay"
		kill -9 $! 2> /dev/null || true
		wait $! 2> /dev/null || true
	done
	run -0 swarm-run "${args[@]}" --cache cache
	echo "$output" > rerun.out
	assert_equal "$(results rerun.out)" "$(results clean.out)"
	run -0 swarm-run --verify --cache cache
}

@test "a flipped byte is detected, reported and recomputed" {
	swarm-run -c exp.yaml --exec "$P/noop.so" > first.out
	f=$(find cache -name '*.zst' | sort | head -n 1)
	size=$(stat -c %s "$f")
	printf '\x55' | dd of="$f" bs=1 seek=$((size - 6)) conv=notrunc status=none
	run -1 swarm-run --verify --cache cache
	assert_line --partial "\"status\":\"corrupt\""
	assert_line --partial "$(basename "$f" .zst)"
	run -0 --separate-stderr swarm-run -c exp.yaml --exec "$P/noop.so"
	echo "$output" > second.out
	[[ "$stderr" == *"is damaged"*"computing it again"* ]]
	assert_equal "$(jq -r 'select(.type=="diag") | [.chunks_cached, .chunks_executed, .chunks_corrupt] | join(" ")' second.out)" "3 1 1"
	assert_equal "$(results second.out)" "$(results first.out)"
	run -0 swarm-run --verify --cache cache
	assert_output '{"type":"diag","chunks_checked":4,"chunks_damaged":0}'
}

@test "truncated and empty chunks are recomputed, never returned" {
	swarm-run -c exp.yaml --exec "$P/noop.so" > first.out
	files=($(find cache -name '*.zst' | sort))
	truncate -s 20 "${files[0]}"
	: > "${files[1]}"
	run -0 --separate-stderr swarm-run -c exp.yaml --exec "$P/noop.so"
	assert_equal "$(results <(echo "$output"))" "$(results first.out)"
}

@test "two concurrent runs on one cache: correct output, no damage" {
	args=(--split x=1..60 --memo-chunk x=4 --param sleep_ms=2 --exec "$P/fail.so" --workers 2 --cache cache)
	swarm-run "${args[@]}" > a.out &
	swarm-run "${args[@]}" > b.out &
	wait
	swarm-run "${args[@]}" --cache clean > clean.out
	assert_equal "$(results a.out)" "$(results clean.out)"
	assert_equal "$(results b.out)" "$(results clean.out)"
	run -0 swarm-run --verify --cache cache
	assert_output '{"type":"diag","chunks_checked":15,"chunks_damaged":0}'
	assert_equal "$(find cache -name '.*' -type f | wc -l)" 0
}

@test "zstdcat chunk | jq reads a chunk; its header is a skippable frame" {
	swarm-run -c exp.yaml --exec "$P/noop.so" > /dev/null
	f=$(find cache -name '*.zst' | sort | head -n 1)
	run -0 sh -c "zstdcat '$f' | jq -c .point"
	[ "${#lines[@]}" -ge 1 ]
	# the header: 8 bytes of frame, then JSON
	size=$(od -An -tu4 -j4 -N4 "$f" | tr -d ' ')
	run -0 sh -c "dd if='$f' bs=1 skip=8 count=$size status=none | jq -r '.format, .id, .version, .points'"
	assert_line --index 0 coren-chunk
	assert_line --index 1 "$(basename "$f" .zst)"
	assert_line --index 2 v1
}

@test "--plan prints chunk records with costs, and coren-verdict prices them" {
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --plan
	assert_equal "${#lines[@]}" 4
	assert_line --index 0 --partial '"chunk_key":{"s":[1,2,3],"strat":["aaa"]},"points":3,"cached":false'
	assert_line --index 0 --partial '"cost":{"flops":3,'
	echo '{"type":"cap","host":"t","flops":1e11,"mem_bw":4e10,"ram_avail":16000000000,"disk_write_bw":1e9,"net_bw":1.25e8,"net_latency":0.01}' > cap.jsonl
	run -0 sh -c "swarm-run -c exp.yaml --exec '$P/noop.so' --plan | coren-verdict --cap cap.jsonl | jq -r 'select(.type==\"verdict\") | .action'"
	assert_equal "${#lines[@]}" 4
	assert_line --index 0 compute
	[ ! -d cache ]
}

@test "--progress draws a bar on stderr (by default only on a terminal)" {
	run -0 --separate-stderr swarm-run -c exp.yaml --exec "$P/noop.so" --progress
	[[ "$stderr" == *"swarm-run ["*"4/4 chunks"* ]]
	run -0 --separate-stderr swarm-run -c exp.yaml --exec "$P/noop.so"
	assert_equal "$stderr" ""
}

@test "--stream writes the chunks, no results" {
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --stream
	assert_equal "${#lines[@]}" 1
	assert_line --index 0 --partial '"type":"diag","chunks_total":4'
	assert_equal "$(nchunks)" 4
}

@test "--gc removes what the experiment does not reach, and old chunks" {
	swarm-run -c exp.yaml --exec "$P/noop.so" > /dev/null
	swarm-run -c exp.yaml --exec "$P/noop.so" --exp-version v2 > /dev/null
	assert_equal "$(nchunks)" 8
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so" --gc
	assert_output --partial '"chunks_removed":4,"chunks_kept":4'
	run -0 swarm-run -c exp.yaml --exec "$P/noop.so"
	assert_line --partial '"chunks_cached":4'
	touch -d '3 days ago' $(find cache -name '*.zst' | head -n 2)
	run -0 swarm-run --cache cache --exec "$P/noop.so" --gc --max-age 2d
	assert_output --partial '"chunks_removed":2'
	run -2 swarm-run --cache cache --exec "$P/noop.so" --gc
	assert_output --partial 'needs an experiment'
	run -2 swarm-run --cache cache --gc --max-age 2d
	assert_output --partial 'no function'
}

@test "SIGTERM: finished chunks stay, no temporary files, exit 143" {
	swarm-run --split x=1..200 --memo-chunk x=2 --param sleep_ms=10 --exec "$P/fail.so" --workers 2 --cache cache > out 2> err &
	pid=$!
	sleep 0.6
	kill -TERM $pid
	status=0
	wait $pid || status=$?
	assert_equal "$status" 143
	[ "$(nchunks)" -gt 0 ]
	assert_equal "$(find cache -name '.*' -type f | wc -l)" 0
	run -0 swarm-run --verify --cache cache
}

@test "bad experiments: position, message and exit 2; a bad plugin is exit 3" {
	printf 'split:\n  s: [1]\nmemo_chunks: {s: 1}\n' > bad.yaml
	run -2 swarm-run -c bad.yaml --exec "$P/noop.so"
	assert_output "swarm-run: error (at bad.yaml:3:1): unknown key 'memo_chunks'"
	printf 'split:\n  s: [1]\nmemo_chunk: {s: 0}\n' > bad.yaml
	run -2 swarm-run -c bad.yaml --exec "$P/noop.so"
	assert_output --partial "(at bad.yaml:3:17)"
	run -2 swarm-run --split s=1,2 --exec "$P/noop.so"
	assert_output --partial "no memo chunk size for axis 's'"
	run -2 swarm-run --split s=1,2 --memo-chunk s=1
	assert_output --partial "no function"
	run -2 swarm-run --split s=1 --memo-chunk s=1 --workers 0 --exec "$P/noop.so"
	assert_output --partial "--workers"
	run -3 swarm-run --split s=1 --memo-chunk s=1 --exec /nonexistent/plugin.so
	run -3 swarm-run --split s=1 --memo-chunk s=1 --exec "$COREN_TEST_PLUGINS/backend.so"
	run -2 swarm-run --plan --verify
	assert_output --partial "exclude each other"
}

@test "--help, --version, --exp-version V" {
	run -0 swarm-run --help
	assert_output --partial "usage: swarm-run"
	run -0 swarm-run --version
	assert_output --regexp '^swarm-run \(coren\) [0-9]'
	run -0 swarm-run --split x=1 --memo-chunk x=1 --exec "$P/noop.so" --plan --cache c --exp-version v9
	a=$(echo "$output" | jq -r .id)
	run -0 swarm-run --split x=1 --memo-chunk x=1 --exec "$P/noop.so" --plan --cache c
	[ "$a" != "$(echo "$output" | jq -r .id)" ]
}

@test "plugins: rosenbrock is 0 at its minimum, montecarlo_pi is seeded by the point" {
	run -0 swarm-run --split x=1 --split y=1,2 --memo-chunk x=1 --memo-chunk y=2 --exec "$P/rosenbrock.so" --cache c
	assert_line --index 0 '{"type":"result","point":{"x":1,"y":1},"value":0.0}'
	assert_line --index 1 '{"type":"result","point":{"x":1,"y":2},"value":100.0}'
	run -0 swarm-run --split seed=1,2 --memo-chunk seed=2 --param samples=200000 --exec "$P/montecarlo_pi.so" --cache c2
	a=$(echo "$output" | head -n 2)
	run -0 swarm-run --split seed=1,2 --memo-chunk seed=1 --param samples=200000 --exec "$P/montecarlo_pi.so" --cache c3 --workers 2
	assert_equal "$(echo "$output" | head -n 2)" "$a"
	assert_equal "$(echo "$a" | jq '.value > 3.1 and .value < 3.2' | sort -u)" true
}

@test "examples/sweep: make runs the sweep, a second make is all hits, jq tabulates it" {
	cp -R "$top_srcdir/examples/sweep" sweep
	chmod -R u+w sweep
	export COREN_PLUGIN_PATH="$P"
	unset MAKEFLAGS MFLAGS
	run -0 make -s -C sweep
	assert_output --partial "sweep: 12 chunks, 0 cached, 12 computed, 289 points run"
	run -0 make -s -C sweep
	assert_output --partial "sweep: 12 chunks, 12 cached, 0 computed, 0 points run"
	run -0 make -s -C sweep results.tsv minimum
	assert_line '{"x":1,"y":1,"f":0}'
	assert_equal "$(wc -l < sweep/results.tsv)" 289
	run -0 make -s -C sweep plot
}

@test "a grid with no axes is one point {}: computed once with the params, then cached" {
	run -0 swarm-run --exec "$P/noop.so" --cache cache
	echo "$output" > first.out
	assert_equal "$(results first.out)" '{"type":"result","point":{},"value":null}'
	assert_equal "$(diag first.out)" "cached=0 executed=1 total=1 points=1 failed=0"
	assert_equal "$(nchunks)" 1
	run -0 swarm-run --exec "$P/noop.so" --cache cache
	echo "$output" > second.out
	assert_equal "$(diag second.out)" "cached=1 executed=0 total=1 points=0 failed=0"
	assert_equal "$(results second.out)" "$(results first.out)"
	run -0 swarm-run --param a=7 --cache cache2 --cmd sh -c 'echo "$SWARM_PARAMS" | jq .a'
	assert_line --index 0 '{"type":"result","point":{},"value":7}'
	run -4 swarm-run --exec "$P/fail.so" --param a=1 --cache cache
	assert_line '{"type":"error","point":{},"reason":"the point has no '"'"'x'"'"'"}'
}

@test "a chunk whose line names another point, header correct, is recomputed, never printed" {
	run -0 swarm-run --exec "$P/fail.so" --split x=1..6 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache cache
	echo "$output" > first.out
	id=$(swarm-run --exec "$P/fail.so" --split x=1..6 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache cache --plan | jq -r 'select(.index==0) | .id')
	# line 2 of the first chunk now claims the point and value of line 3
	run -0 chunkedit cache "$id" '"point":{"x":1,"y":2},"value":1' '"point":{"x":2,"y":1},"value":2'
	run -0 sh -c "zstdcat cache/*/$id.zst | sed -n 2p"
	assert_output '{"type":"result","point":{"x":2,"y":1},"value":2}'
	run -0 --separate-stderr swarm-run --exec "$P/fail.so" --split x=1..6 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache cache
	echo "$output" > second.out
	[[ "$stderr" == *"is damaged (line 2 is not the result of its point)"* ]]
	assert_equal "$(jq -r 'select(.type=="diag") | [.chunks_cached, .chunks_executed, .chunks_corrupt] | join(" ")' second.out)" "1 1 1"
	assert_equal "$(results second.out)" "$(results first.out)"
	run -0 swarm-run --exec "$P/fail.so" --split x=1..6 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache cache
	assert_equal "$(results <(echo "$output"))" "$(results first.out)"
	assert_line --partial '"chunks_cached":2,'
}

@test "accounting: a failure without --keep-going counts what ran and what did not" {
	run -4 --separate-stderr swarm-run --split x=1..6 --memo-chunk x=2 --exec-chunk 1 --param fail=3 --cache cache --exec "$P/fail.so" --workers 1
	echo "$output" > out
	# x=1, 2 ran (one chunk written), x=3 failed, x=4..6 never ran
	assert_equal "$(jq -c 'select(.type=="diag") | [.points_executed, .chunks_executed, .points_failed, .points_unrun, .interrupted]' out)" '[3,1,1,3,false]'
	assert_equal "$(results out | jq -c '.value // .reason' | tr '\n' ' ')" '1 2 "failing on demand at this point" '
	exact out
	assert_equal "$(nchunks)" 1
}

@test "accounting: SIGINT with --cmd: exit 130, interrupted, exact counts, the chunks it counts are the ones kept" {
	swarm-run --split x=1..40 --memo-chunk x=2 --exec-chunk 1 --workers 2 --cache cache --cmd sh -c 'sleep 0.1; echo $SWARM_V_x' > out 2> err &
	pid=$!
	sleep 1
	kill -INT $pid
	status=0
	wait $pid || status=$?
	assert_equal "$status" 130
	assert_equal "$(jq -c 'select(.type=="diag") | .interrupted' out)" true
	exact out
	# every point printed ran, and no point was printed as failed by the stop
	assert_equal "$(jq -r 'select(.type=="diag") | "\(.points_executed) \(.points_failed)"' out)" "$(grep -c '"type":"result"' out) 0"
	[ "$(jq -r 'select(.type=="diag") | .points_unrun' out)" -gt 0 ]
	# the results are in grid order
	assert_equal "$(results out | jq -r .point.x)" "$(results out | jq -r .point.x | sort -n)"
	executed=$(jq -r 'select(.type=="diag") | .chunks_executed' out)
	assert_equal "$(nchunks)" "$executed"
	run -0 --separate-stderr swarm-run --split x=1..40 --memo-chunk x=2 --exec-chunk 1 --workers 4 --cache cache --cmd sh -c 'sleep 0.1; echo $SWARM_V_x'
	echo "$output" > again
	assert_equal "$(jq -c 'select(.type=="diag") | [.chunks_cached, .interrupted, .points_unrun]' again)" "[$executed,false,0]"
	exact again
}

@test "chunk headers: hlc is the run's hybrid logical clock, [physical µs, logical, node], one tick per chunk" {
	before=$(date +%s%6N)
	run -0 swarm-run --split x=1..6 --memo-chunk x=1 --exec "$P/noop.so" --workers 2 --cache cache
	after=$(date +%s%6N)
	find cache -name '*.zst' -exec grep -aoE '"hlc":\[[0-9]+,[0-9]+,[0-9]+\]' {} \; | sed 's/"hlc"://' > hlcs
	assert_equal "$(wc -l < hlcs)" 6
	assert_equal "$(sort -u hlcs | wc -l)" 6 # every tick is unique
	assert_equal "$(jq -r '.[2]' hlcs | sort -u | wc -l)" 1 # one clock, one node
	for p in $(jq -r '.[0]' hlcs); do
		[ "$p" -ge "$before" ] && [ "$p" -le "$after" ]
	done
}

# The segments a progress bar drew on stderr (split at \r and \n, the
# erase sequence dropped), each after the count of points done (files
# done.*) when it was read.
bar_segments() {
	tr '\n' '\r' | while IFS= read -r -d $'\r' l || [ -n "$l" ]; do
		l=${l//$'\033[K'/}
		[ -n "$l" ] && printf '%s %s\n' "$(ls done.* 2> /dev/null | wc -l)" "$l"
	done
}

@test "--progress: points and chunks drawn from the start, never ahead of the points done, the total only at the end" {
	swarm-run --split x=1..12 --memo-chunk x=2 --exec-chunk 1 --workers 2 --cache cache --progress \
		--cmd sh -c 'sleep 0.2; touch done.$SWARM_V_x; echo $SWARM_V_x' 2>&1 > out | bar_segments > bar
	cat bar
	# the first line: before any point is done
	assert_equal "$(head -1 bar | cut -d' ' -f2-)" 'swarm-run [........................]   0% 0/12 points 0/6 chunks 0/s'
	# the last: the total
	tail -1 bar | grep -q ' 100% 12/12 points 6/6 chunks '
	# points done shown during the run, between 0 and 12
	grep -qE ' ([1-9]|1[01])/12 points ' bar
	prev=0
	while read -r files rest; do
		k=$(grep -oE '[0-9]+/12 points' <<<"$rest" | cut -d/ -f1)
		pct=$(grep -oE '[0-9]+%' <<<"$rest" | tr -d %)
		[ "$k" -le "$files" ] || { echo "shows $k, $files done: $rest"; false; }
		[ "$k" -ge "$prev" ]
		assert_equal "$pct" $((k * 100 / 12))
		prev=$k
	done < bar
	assert_equal "$(results out | wc -l)" 12
}

@test "--progress with the records on the same terminal: the bar is erased before records are written" {
	command -v script > /dev/null || skip "no script(1) to make a terminal"
	script -qec "swarm-run --split x=1..12 --memo-chunk x=2 --exec-chunk 1 --workers 2 --cache cache --cmd sh -c 'sleep 0.1; echo \$SWARM_V_x'" /dev/null > ts < /dev/null
	# records and bar never on one line: each record is at the start of
	# a line or right after the bar's erase sequence
	tr '\n' '\r' < ts | tr '\r' '\n' > segs
	grep -q 'swarm-run \[' segs
	assert_equal "$(grep -c '{"type":"result"' segs)" 12
	assert_equal "$(grep '{"type"' segs | grep -c 'swarm-run \[')" 0
	assert_equal "$(grep '{"type":"result"' segs | grep -cvE $'^(\033\\[K)?\\{')" 0
	# with stdout not a terminal, the bar alone (no erasing for records)
	rm -r cache
	script -qec "swarm-run --split x=1..4 --memo-chunk x=2 --workers 2 --cache cache --cmd sh -c 'echo \$SWARM_V_x' > out" /dev/null > ts2 < /dev/null
	grep -q '4/4 points 2/2 chunks' ts2
	assert_equal "$(grep -c $'\r\033\\[K\r' ts2 || true)" 0
	assert_equal "$(results out | wc -l)" 4
}
