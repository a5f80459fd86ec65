#!/usr/bin/env bats
# swarm-run --coproc python3 -m coren.coproc: the Python adapter from the
# command line (coren-python(7)): values, failures, a function that cannot
# load (exit 3), a co-process killed mid-batch, the module in the identity,
# and the plain-answer fast path (the same bytes as the full parser).

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	: "${PYTHON:=python3}"
	cat > fns.py <<-'EOF'
	import math, os
	def f(params, p):
	    print("noise %s" % p)  # one write: two workers share stderr
	    return p["x"] * params.get("k", 1)
	def bad(params, p):
	    if p["x"] == 2:
	        raise ZeroDivisionError("x is two")
	    if p["x"] == 3:
	        return object()
	    return {0: math.nan, 1: 2 ** 70, 4: -math.inf}.get(p["x"], p["x"])
	def dies(params, p):
	    if p["x"] == 3 and not os.path.exists("died"):
	        open("died", "w").close()
	        os.kill(os.getpid(), 9)
	    return p["x"] * 10
	EOF
	A=(--cache cache --no-progress --memo-chunk x=4)
}

@test "one line runs a Python function; print() goes to stderr" {
	run --separate-stderr -0 swarm-run "${A[@]}" --param k=3 --split x=1..4 --coproc "$PYTHON" -m coren.coproc fns:f
	assert_line --index 0 '{"type":"result","point":{"x":1},"value":3}'
	assert_line --index 3 '{"type":"result","point":{"x":4},"value":12}'
	[[ "$stderr" == *"noise {'x': 1}"* ]]
	run --separate-stderr -0 swarm-run "${A[@]}" --param k=3 --split x=1..4 --coproc "$PYTHON" -m coren.coproc ./fns.py:f
	assert_line --index 3 '{"type":"result","point":{"x":4},"value":12}'
}

@test "exceptions and unserialisable values fail their points; special values are lossless" {
	run --separate-stderr -4 swarm-run "${A[@]}" --keep-going --split x=0..4 --coproc "$PYTHON" -m coren.coproc fns:bad
	assert_line --index 0 '{"type":"result","point":{"x":0},"value":{"$float":"nan"}}'
	assert_line --index 1 '{"type":"result","point":{"x":1},"value":1180591620717411303424}'
	assert_line --index 2 '{"type":"error","point":{"x":2},"reason":"ZeroDivisionError: x is two"}'
	assert_line --index 3 --partial '{"type":"error","point":{"x":3},"reason":"the value of point {\"x\":3} cannot be written: an object of type '"'"'object'"'"' is not JSON"}'
	assert_line --index 4 '{"type":"result","point":{"x":4},"value":{"$float":"-inf"}}'
}

@test "a module that cannot be imported: one error naming it, exit 3, no point run" {
	run --separate-stderr -3 swarm-run "${A[@]}" --workers 2 --split x=1..40 --coproc "$PYTHON" -m coren.coproc nosuchmod:f
	assert_equal "$stderr" "swarm-run: error: cannot load 'nosuchmod:f': ModuleNotFoundError: No module named 'nosuchmod'"
	refute_output --partial '"type":"result"'
	run --separate-stderr -3 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -m coren.coproc fns:nosuchfn
	assert_equal "$stderr" "swarm-run: error: cannot load 'fns:nosuchfn': AttributeError: module 'fns' has no attribute 'nosuchfn'"
}

@test "a co-process killed mid-batch: its points retried, never mis-assigned" {
	run -0 swarm-run "${A[@]}" --retries 1 --exec-chunk 8 --split x=1..8 --coproc "$PYTHON" -m coren.coproc fns:dies
	for x in 1 2 3 4 5 6 7 8; do
		assert_line --index $((x - 1)) "{\"type\":\"result\",\"point\":{\"x\":$x},\"value\":$((x * 10))}"
	done
	rm -rf died cache
	# no retries: the points of the killed batch fail, none takes another's value
	run --separate-stderr -4 swarm-run "${A[@]}" --keep-going --exec-chunk 4 --split x=1..8 --coproc "$PYTHON" -m coren.coproc fns:dies
	for x in 1 2 3 4; do
		assert_line --index $((x - 1)) --partial "{\"type\":\"error\",\"point\":{\"x\":$x},\"reason\":\"the co-process ended: "
	done
	for x in 5 6 7 8; do
		assert_line --index $((x - 1)) "{\"type\":\"result\",\"point\":{\"x\":$x},\"value\":$((x * 10))}"
	done
}

@test "the function's identity covers the module file" {
	run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -m coren.coproc fns:f
	assert_line --partial '"chunks_executed":1'
	run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -m coren.coproc fns:f
	assert_line --partial '"chunks_cached":1'
	echo "# an edit" >> fns.py
	run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -m coren.coproc fns:f
	assert_line --partial '"chunks_executed":1'
	mkdir -p lib/pkg && mv fns.py lib/pkg/fns.py && touch lib/pkg/__init__.py
	PYTHONPATH="$PWD/lib:$PYTHONPATH" run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -m coren.coproc pkg.fns:f
	assert_line --partial '"chunks_executed":1'
	PYTHONPATH="$PWD/lib:$PYTHONPATH" run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -m coren.coproc pkg.fns:f
	assert_line --partial '"chunks_cached":1'
	echo "# an edit" >> lib/pkg/fns.py
	PYTHONPATH="$PWD/lib:$PYTHONPATH" run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -m coren.coproc pkg.fns:f
	assert_line --partial '"chunks_executed":1'
	# a program that runs coren.coproc, options joined (-Sc): the same
	prog='import sys; from coren.coproc import main; sys.exit(main())'
	PYTHONPATH="$PWD/lib:$PYTHONPATH" run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -Sc "$prog" pkg.fns:f
	assert_line --partial '"chunks_executed":1'
	PYTHONPATH="$PWD/lib:$PYTHONPATH" run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -Sc "$prog" pkg.fns:f
	assert_line --partial '"chunks_cached":1'
	echo "# an edit" >> lib/pkg/fns.py
	PYTHONPATH="$PWD/lib:$PYTHONPATH" run -0 swarm-run "${A[@]}" --split x=1..4 --coproc "$PYTHON" -Sc "$prog" pkg.fns:f
	assert_line --partial '"chunks_executed":1'
}

@test "plain answers (the fast path) store what the full parser stores" {
	# each value twice: plain, then with a field that sends it to the full parser
	cat > co.py <<-'EOF'
	import json, sys
	vals = ['1', '-0', '-12', '123456789012345678', '1234567890123456789', '1.50', '1E5',
	        '2.5e-3', '1e-400', 'true', 'null', '"a b/c"', '0.1', '-0.0', '1e22']
	for line in sys.stdin:
	    p = json.loads(line)
	    v = vals[p["point"]["x"] % len(vals)]
	    full = p["point"]["x"] >= len(vals)
	    extra = ',"x":[1]' if full else ''
	    sys.stdout.write('{"type":"result","seq":%d,"value":%s%s}\n' % (p["seq"], v, extra))
	    sys.stdout.flush()
	EOF
	run -0 swarm-run --cache c --no-progress --split x=0..29 --memo-chunk x=30 --coproc "$PYTHON" co.py
	for i in $(seq 0 14); do
		a=$(sed -n "$((i + 1))p" <<<"$output" | sed 's/.*"value"://')
		b=$(sed -n "$((i + 16))p" <<<"$output" | sed 's/.*"value"://')
		assert_equal "$a" "$b"
	done
	assert_line --index 1 '{"type":"result","point":{"x":1},"value":0}'
	assert_line --index 5 '{"type":"result","point":{"x":5},"value":1.5}'
	assert_line --index 6 '{"type":"result","point":{"x":6},"value":100000.0}'
}

@test "the batch form: a results record answers a run, and points lines follow" {
	# answers in runs; logs what kind of line each exec chunk came as
	cat > co.py <<-'EOF'
	import json, sys
	log = open("kinds", "a")
	for line in sys.stdin:
	    r = json.loads(line)
	    log.write(r["type"] + "\n"); log.flush()
	    pts = r["points"] if r["type"] == "points" else [r["point"]]
	    vals = [p["x"] * 10 for p in pts]
	    if sys.argv[1:] == ["badseq"]:
	        r["seq"] += 100
	    sys.stdout.write(json.dumps({"type": "results", "seq": r["seq"], "values": vals}) + "\n")
	    sys.stdout.flush()
	EOF
	run --separate-stderr -0 swarm-run --cache c --no-progress --workers 1 --exec-chunk 3 --split x=1..7 --memo-chunk x=7 --coproc "$PYTHON" co.py
	for x in 1 2 3 4 5 6 7; do
		assert_line --index $((x - 1)) "{\"type\":\"result\",\"point\":{\"x\":$x},\"value\":$((x * 10))}"
	done
	run cat kinds
	assert_output $'point\npoint\npoint\npoints\npoints' # 3 point lines, then 3 + 1 points
	# a run naming seqs not outstanding: a protocol error, no value taken
	run --separate-stderr -4 swarm-run --cache c2 --no-progress --workers 1 --split x=1..2 --memo-chunk x=2 --coproc "$PYTHON" co.py badseq
	assert_line --index 0 --partial '{"type":"error","point":{"x":1},"reason":"protocol error: seq 101 is not an outstanding point: '
}
