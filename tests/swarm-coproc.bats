#!/usr/bin/env bats
# swarm-run: the co-process protocol v2, --timeout, --retries, process
# groups, lazy start and the checks made before a --cmd/--coproc run.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	command -v python3 > /dev/null || skip "python3 is not installed"
	# A v2 co-process; CO_MODE makes it misbehave in one way.
	cat > co.py <<-'EOF'
	import json, os, sys
	mode = os.environ.get("CO_MODE", "ok")
	open("started.%d" % os.getpid(), "w").close()
	# noflush: block-buffered whatever PYTHONUNBUFFERED says
	out = open(1, "w", buffering=1 << 16, closefd=False)
	def say(rec):
	    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
	    if mode != "noflush":
	        out.flush()
	held = []
	for line in sys.stdin:
	    p = json.loads(line)
	    x = p["point"]["x"]
	    ans = {"type": "result", "seq": p["seq"], "value": x * 10}
	    if mode == "debug" and x == 3:
	        print("debug")
	    elif mode == "wrongpoint" and x == 2:
	        ans = {"type": "result", "point": {"x": 99}, "value": 20}
	    elif mode == "mismatch" and x == 2:
	        ans["point"] = {"x": 1}
	    elif mode == "bypoint":
	        del ans["seq"]
	        ans["point"] = p["point"]
	    elif mode == "both":
	        ans["point"] = p["point"]
	    elif mode == "twice" and x == 2:
	        say(ans)
	    elif mode == "novalue" and x == 2:
	        del ans["value"]
	    elif mode == "v1":
	        del ans["seq"]
	    elif mode == "failonce" and not os.path.exists("m.%d" % x):
	        open("m.%d" % x, "w").close()
	        ans = {"type": "error", "seq": p["seq"], "reason": "first try"}
	    if mode == "reverse":
	        held.append(ans)
	        if len(held) == 4:
	            for a in reversed(held):
	                say(a)
	            held = []
	    else:
	        say(ans)
	EOF
}

results() { grep -v '"type":"diag"' "$1"; }

nchunks() { find "${1:-cache}" -name '*.zst' | wc -l; }

# "x:value" or "x:!reason" per point, in grid order, on one line.
outcomes() { results "$1" | jq -r '"\(.point.x):\(.value // ("!" + .reason))"' | tr '\n' ' '; }

@test "a stray line is a protocol error for its batch, never a value for another point" {
	CO_MODE=debug run -4 --separate-stderr swarm-run --split x=1..6 --memo-chunk x=2 --exec-chunk 2 --workers 1 --keep-going --cache cache --coproc python3 co.py
	echo "$output" > out
	assert_equal "$(results out | jq -r 'select(.type == "result") | .value == .point.x * 10' | sort -u)" true
	assert_equal "$(results out | jq -r 'select(.type == "result") | .point.x' | tr '\n' ' ')" '1 2 5 6 '
	assert_line --index 2 '{"type":"error","point":{"x":3},"reason":"protocol error: not a JSON object (an answer is {\"type\":\"result\",\"seq\":S,\"value\":V}, coren-records(5)): '"'debug'"'"}'
	assert_line --index 3 --partial '"point":{"x":4},"reason":"protocol error: not a JSON object'
	assert_equal "$(nchunks)" 2
	# a run again computes only the failed chunk; the co-process is still wrong
	CO_MODE=debug run -4 --separate-stderr swarm-run --split x=1..6 --memo-chunk x=2 --exec-chunk 2 --cache cache --coproc python3 co.py
	assert_equal "$(nchunks)" 2
}

@test "an answer for another point, a second answer, a result without value: protocol errors" {
	for mode in wrongpoint mismatch twice novalue; do
		CO_MODE=$mode run -4 --separate-stderr swarm-run --split x=1..3 --memo-chunk x=1 --workers 1 --keep-going --cache "c.$mode" --coproc python3 co.py
		echo "$output" > "out.$mode"
		[ $mode = twice ] || refute_line --partial '"value":20'
	done
	assert_equal "$(outcomes out.wrongpoint)" "1:10 2:!protocol error: \"point\" is not an outstanding point: '{\"type\":\"result\",\"point\":{\"x\":99},\"value\":20}' 3:30 "
	assert_equal "$(outcomes out.mismatch)" "1:10 2:!protocol error: seq 2 and \"point\" name different points: '{\"type\":\"result\",\"seq\":2,\"value\":20,\"point\":{\"x\":1}}' 3:30 "
	assert_equal "$(outcomes out.novalue)" "1:10 2:!protocol error: a result without \"value\": '{\"type\":\"result\",\"seq\":2}' 3:30 "
	# the second answer is read with the next batch: the co-process is
	# killed then, and x=3's fails; nothing is cached for x=2 or x=3
	assert_equal "$(outcomes out.twice)" "1:10 2:20 3:!protocol error: seq 2 is not an outstanding point: '{\"type\":\"result\",\"seq\":2,\"value\":20}' "
}

@test "answers in any order are matched by seq, or by point" {
	CO_MODE=reverse run -0 swarm-run --split x=1..8 --memo-chunk x=8 --exec-chunk 4 --workers 1 --cache c1 --coproc python3 co.py
	echo "$output" > out
	assert_equal "$(outcomes out)" '1:10 2:20 3:30 4:40 5:50 6:60 7:70 8:80 '
	CO_MODE=bypoint run -0 swarm-run --split x=1..8 --memo-chunk x=8 --exec-chunk 4 --workers 2 --cache c2 --coproc python3 co.py
	assert_equal "$(outcomes <(echo "$output"))" '1:10 2:20 3:30 4:40 5:50 6:60 7:70 8:80 '
	CO_MODE=both run -0 swarm-run --split x=1..8 --memo-chunk x=8 --exec-chunk 4 --workers 2 --cache c3 --coproc python3 co.py
	assert_equal "$(outcomes <(echo "$output"))" '1:10 2:20 3:30 4:40 5:50 6:60 7:70 8:80 '
}

@test "numeric results records store each value as the full parser does (the fast path is exact)" {
	# answers in the batch form, values given as raw JSON text per x: -0,
	# a 19-digit integer, an underflowing real, spaces, exponents, the
	# least int64, 2^64 - 1; RS_TAIL adds a key the fast scan refuses, so
	# the same record goes through jansson
	cat > rs.py <<-'EOF'
	import os, re, sys
	raw = ["-0", "1234567890123456789", "1e-400", " 2.50 ", "1E2", "-9223372036854775808",
	       "18446744073709551615", "7", "-0.0", "0.1"]
	tail = os.environ.get("RS_TAIL", "")
	for line in sys.stdin:
	    seq = int(re.search(r'"seq":(\d+)', line).group(1))
	    xs = [int(x) for x in re.findall(r'"x":(\d+)', line)]
	    vals = ",".join(raw[x] for x in xs)
	    sys.stdout.write('{"type":"results","seq":%d,"values":[%s]%s}\n' % (seq, vals, tail))
	    if os.environ.get("RS_TWICE") and 3 in xs:
	        sys.stdout.write('{"type":"results","seq":%d,"values":[%s]}\n' % (seq, vals))
	    sys.stdout.flush()
	EOF
	run -0 swarm-run --split x=0..9 --memo-chunk x=10 --exec-chunk 4 --workers 1 --cache c1 --coproc python3 rs.py
	fast=$(results <(echo "$output"))
	RS_TAIL=',"x":{}' run -0 swarm-run --split x=0..9 --memo-chunk x=10 --exec-chunk 4 --workers 1 --cache c2 --coproc python3 rs.py
	assert_equal "$(results <(echo "$output"))" "$fast"
	# (as text: jq would round the long integers)
	assert_equal "$(echo "$fast" | sed 's/.*"value"://; s/}$//' | tr '\n' ' ')" '0 1234567890123456789 0.0 2.5 100.0 -9223372036854775808 18446744073709551615 7 -0.0 0.1 '
	# the chunk holds what was written (read back from the cache)
	RS_TAIL=garbage run -0 swarm-run --split x=0..9 --memo-chunk x=10 --exec-chunk 4 --workers 1 --cache c1 --coproc python3 rs.py
	assert_equal "$(results <(echo "$output"))" "$fast"
	# a results record again for seqs answered: read with the next batch,
	# the full path's error for it, never values for the next points
	RS_TWICE=1 run -4 --separate-stderr swarm-run --split x=0..9 --memo-chunk x=2 --exec-chunk 2 --workers 1 --keep-going --cache c3 --coproc python3 rs.py
	assert_line --index 4 --partial '"point":{"x":4},"reason":"protocol error: seq 3 is not an outstanding point: '"'"'{\"type\":\"results\",\"seq\":3,\"values\":[1e-400, 2.50 ]}'"'"
	assert_equal "$(results <(echo "$output") | grep -c '"value"')" 8
}

@test "a v1 co-process (answers without seq) is told what is missing" {
	CO_MODE=v1 run -4 --separate-stderr swarm-run --split x=1..2 --memo-chunk x=2 --exec-chunk 2 --cache cache --coproc python3 co.py
	assert_line --index 0 --partial '"reason":"protocol error: an answer without \"seq\" (protocol v2, coren-records(5)): '
	assert_equal "$(nchunks)" 0
}

@test "--timeout: a co-process that never flushes fails its points with reason timeout" {
	CO_MODE=noflush run -4 --separate-stderr timeout 60 swarm-run --split x=1..2 --memo-chunk x=2 --exec-chunk 2 --workers 1 --timeout 1 --cache cache --coproc python3 co.py
	echo "$output" > out
	assert_equal "$(outcomes out)" '1:!timeout 2:!timeout '
	# one co-process per point: x=2 was sent again to a new one
	assert_equal "$(ls started.* | wc -l)" 2
	# with time enough, the same points (here: a flushing co-process) pass
	run -0 timeout 60 swarm-run --split x=1..2 --memo-chunk x=2 --exec-chunk 2 --timeout 30s --cache cache --coproc python3 co.py
	assert_equal "$(outcomes <(echo "$output"))" '1:10 2:20 '
}

@test "--timeout with --cmd kills the command's whole process group" {
	run -4 --separate-stderr timeout 60 swarm-run --split x=1 --memo-chunk x=1 --timeout 0.5 --cache cache --cmd sh -c 'sleep 30 & echo $! > bg.pid; sleep 30'
	assert_output --partial '"point":{"x":1},"reason":"timeout"}'
	bg=$(cat bg.pid)
	for _ in $(seq 50); do # SIGKILL is sent; give it time to land
		kill -0 "$bg" 2> /dev/null && [[ "$(ps -o stat= -p "$bg")" != Z* ]] || break
		sleep 0.1
	done
	! kill -0 "$bg" 2> /dev/null || [[ "$(ps -o stat= -p "$bg")" == Z* ]]
	run -2 swarm-run --split x=1 --memo-chunk x=1 --timeout soon --cache cache --cmd true
	assert_output --partial "--timeout 'soon': expected a number"
	printf 'timeout: 2m\nretries: 3\n' > t.yaml
	run -0 swarm-run -c t.yaml --split x=1 --memo-chunk x=1 --cache c2 --cmd echo 1
	printf 'timeout: -1\n' > bad.yaml
	run -2 swarm-run -c bad.yaml --split x=1 --memo-chunk x=1 --cache c2 --cmd echo 1
	assert_output --partial "(at bad.yaml:1:10): timeout '-1': expected a non-negative number"
}

@test "--retries: a point that fails once passes with --retries 1, fails without" {
	cmd=(sh -c 'if [ -e m.$SWARM_V_x ]; then echo ok; else touch m.$SWARM_V_x; exit 3; fi')
	run -4 --separate-stderr swarm-run --split x=1..3 --memo-chunk x=3 --keep-going --cache c0 --cmd "${cmd[@]}"
	assert_equal "$(outcomes <(echo "$output"))" '1:!exited with status 3 2:!exited with status 3 3:!exited with status 3 '
	rm m.*
	run -0 swarm-run --split x=1..3 --memo-chunk x=3 --retries 1 --cache c1 --cmd "${cmd[@]}"
	assert_equal "$(outcomes <(echo "$output"))" '1:ok 2:ok 3:ok '
	# a co-process's error answers too, the co-process kept
	rm m.*
	CO_MODE=failonce run -4 --separate-stderr swarm-run --split x=1..3 --memo-chunk x=3 --exec-chunk 3 --keep-going --cache c2 --coproc python3 co.py
	assert_equal "$(outcomes <(echo "$output"))" '1:!first try 2:!first try 3:!first try '
	rm m.* started.*
	CO_MODE=failonce run -0 swarm-run --split x=1..3 --memo-chunk x=3 --exec-chunk 3 --workers 1 --retries 2 --cache c3 --coproc python3 co.py
	assert_equal "$(outcomes <(echo "$output"))" '1:10 2:20 3:30 '
	assert_equal "$(ls started.* | wc -l)" 1
	# and the last failure's reason stays
	run -4 --separate-stderr swarm-run --split x=1 --memo-chunk x=1 --retries 2 --cache c4 --cmd sh -c 'n=$(cat n 2>/dev/null || echo 0); echo $((n + 1)) > n; exit $((n + 1))'
	assert_equal "$(outcomes <(echo "$output"))" '1:!exited with status 3 '
}

@test "a run with nothing to compute starts no co-process and no command" {
	run -0 swarm-run --split x=1..4 --memo-chunk x=2 --workers 2 --cache cache --coproc python3 co.py
	[ "$(ls started.* | wc -l)" -ge 1 ]
	rm started.*
	run -0 swarm-run --split x=1..4 --memo-chunk x=2 --workers 2 --cache cache --coproc python3 co.py
	assert_equal "$(outcomes <(echo "$output"))" '1:10 2:20 3:30 4:40 '
	assert_equal "$(ls | grep -c '^started\.')" 0
	run -0 swarm-run --split x=1..2 --memo-chunk x=1 --cache c2 --cmd sh -c 'touch ran; echo 1'
	rm ran
	run -0 swarm-run --split x=1..2 --memo-chunk x=1 --cache c2 --cmd sh -c 'touch ran; echo 1'
	assert_file_not_exists ran
}

@test "a program that cannot run is a usage error before the run" {
	for f in --cmd --coproc; do
		run -2 --separate-stderr swarm-run --split x=1..2 --memo-chunk x=1 --cache "c$f" $f ./nope
		assert_equal "$stderr" "swarm-run: error: cannot run './nope': not found"
		assert_equal "$output" ""
		run -2 --separate-stderr swarm-run --split x=1..2 --memo-chunk x=1 --cache "c$f" $f no-such-program-here
		assert_equal "$stderr" "swarm-run: error: cannot run 'no-such-program-here': not found"
		run -2 --separate-stderr swarm-run --split x=1..2 --memo-chunk x=1 --cache "c$f" $f ./co.py
		assert_equal "$stderr" "swarm-run: error: cannot run './co.py': not executable"
		assert_equal "$(nchunks "c$f" 2> /dev/null)" 0
	done
	run -2 swarm-run --split x=1 --memo-chunk x=1 --timeout 1 --exec "$COREN_EXEC_PLUGINS/noop.so"
	assert_output --partial "--timeout goes with --cmd, --coproc or --isolate"
}

@test "a value with a NUL byte never reaches --cmd cut short" {
	# YAML refuses NUL with its position; a quoted JSON string with \u0000
	# on the command line is refused, not taken as its text; the check at
	# --cmd's start stays behind both (tests/unit/test_run.c)
	printf '%s\n' 'split:' '  x: ["ok", "a\0b"]' 'memo_chunk: {x: 1}' 'cache: cache' > nul.yaml
	run -2 --separate-stderr swarm-run -c nul.yaml --cmd echo '{x}'
	assert_equal "$stderr" "swarm-run: error (at nul.yaml:2:13): scalar contains a NUL byte"
	run -2 --separate-stderr swarm-run --split 'x="a\u0000b"' --memo-chunk x=1 --cache cache --cmd echo '{x}'
	[[ "$stderr" == *"is not a JSON string"* ]]
	run -2 --separate-stderr swarm-run --param 'p="a\u0000b"' --split x=1 --memo-chunk x=1 --cache cache --cmd echo '{p}'
	[[ "$stderr" == *"is not a JSON string"* ]]
	assert_equal "$(nchunks)" 0
}

@test "--isolate speaks v2: the plugin's values, each for its point" {
	P="$COREN_EXEC_PLUGINS"
	run -0 swarm-run --split x=1..9 --memo-chunk x=3 --exec-chunk 2 --workers 2 --cache c1 --exec "$P/fail.so" --isolate
	echo "$output" > isolated
	run -0 swarm-run --split x=1..9 --memo-chunk x=3 --exec-chunk 2 --workers 2 --cache c2 --exec "$P/fail.so"
	assert_equal "$(results isolated)" "$(results <(echo "$output"))"
	assert_equal "$(outcomes isolated)" '1:1 2:2 3:3 4:4 5:5 6:6 7:7 8:8 9:9 '
	run -0 --separate-stderr swarm-run --serve "$P/fail.so" <<< '{"type":"point","seq":7,"point":{"x":4}}'
	assert_output '{"type":"result","seq":7,"value":4}'
}

@test "a co-process that exits while what it started holds its stdout fails its points at once" {
	printf 'import sys\nsys.stdin.readline()\nsys.exit(3)\n' > die.py
	# the background sleep keeps the pipe open: no end of file comes
	run -4 --separate-stderr timeout 60 swarm-run --split x=1..2 --memo-chunk x=2 --exec-chunk 2 --workers 1 \
		--cache c --coproc sh -c 'echo $$ > group; sleep 300 & exec python3 die.py'
	assert_line --partial '"point":{"x":1},"reason":"the co-process ended: exited with status 3"'
	assert_line --partial '"point":{"x":2},"reason":"the co-process ended: exited with status 3"'
	# and what it left behind in its process group is gone (a zombie
	# waiting for init to reap it counts as gone)
	alive() { ps -eo pgid=,stat= | awk -v g="$(cat group)" '$1 == g && $2 !~ /^Z/' | grep -q .; }
	for _ in $(seq 50); do alive || break; sleep 0.1; done
	run alive
	assert_failure
}

@test "--retries takes a whole number only (a count: 1e3 and 1k are 1000)" {
	for n in 0x10 ' 2' 1.5 -1 '' 1000001 1KiB; do
		run -2 --separate-stderr swarm-run --split x=1 --memo-chunk x=1 --cache c --retries "$n" --cmd true
		[[ "$stderr" == *"--retries '$n': "* ]]
	done
	run -0 swarm-run --split x=1 --memo-chunk x=1 --cache c --retries 1k --plan --cmd true
}

# Waits until the files $@ exist (up to 10 s).
wait_files() {
	for _ in $(seq 100); do
		local all=1
		for f; do [ -s "$f" ] || all=0; done
		[ $all = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

# Whether pid $1 is gone (or a zombie), within 5 s.
gone() {
	for _ in $(seq 50); do
		kill -0 "$1" 2> /dev/null && [[ "$(ps -o stat= -p "$1")" != Z* ]] || return 0
		sleep 0.1
	done
	return 1
}

@test "SIGTERM ends the whole process group of each --cmd and --coproc" {
	swarm-run --split x=1..2 --memo-chunk x=1 --workers 2 --cache cache --cmd sh -c 'sleep 30 & echo $! > bg.$SWARM_V_x; sleep 30' > out 2> err &
	pid=$!
	wait_files bg.1 bg.2
	kill -TERM $pid
	status=0
	wait $pid || status=$?
	assert_equal "$status" 143
	gone "$(cat bg.1)"
	gone "$(cat bg.2)"
	assert_equal "$(jq -c 'select(.type=="diag") | [.interrupted, .points_unrun, .points_executed]' out)" '[true,2,0]'
	swarm-run --split x=1..2 --memo-chunk x=1 --workers 2 --cache cache --coproc sh -c 'sleep 30 & echo $! > co.$$; cat > /dev/null' > out 2> err &
	pid=$!
	for _ in $(seq 100); do [ "$(ls co.* 2> /dev/null | wc -l)" = 2 ] && break; sleep 0.1; done
	wait_files co.*
	kill -INT $pid
	status=0
	wait $pid || status=$?
	assert_equal "$status" 130
	for f in co.*; do gone "$(cat "$f")"; done
	assert_equal "$(jq -c 'select(.type=="diag") | [.interrupted, .points_unrun]' out)" '[true,2]'
}
