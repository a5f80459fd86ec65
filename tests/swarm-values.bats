#!/usr/bin/env bats
# Values exact or refused (coren-records(5) "Values", swarm-run(1)): NaN,
# infinities and big integers from a function in one lossless form; one
# value from --split, --param, YAML or a range; bad input refused with its
# position; no input line read past --max-record.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# the chunk key as text (jq reads big integers as doubles)
chunk_key() { grep -o '"chunk_key":{[^}]*}'; }

# runs swarm-run over x=1 with a command printing $1 (printf %s), cache c
value_of() {
	printf '%s' "$1" > out.txt
	swarm-run --cache c --split x=1 --memo-chunk x=1 --cmd cat out.txt
}

@test "NaN, Infinity, -Infinity and big integers are stored as their lossless forms" {
	local v want
	for v in 'NaN:{"$float":"nan"}' 'Infinity:{"$float":"inf"}' '-Infinity:{"$float":"-inf"}' \
		'123456789012345678901234567890:123456789012345678901234567890' \
		'-123456789012345678901234567890:-123456789012345678901234567890' \
		'[1,NaN,18446744073709551616]:[1,{"$float":"nan"},18446744073709551616]'; do
		rm -rf c
		want=${v#*:}
		run -0 --separate-stderr value_of "${v%%:*}"
		assert_equal "${lines[0]}" '{"type":"result","point":{"x":1},"value":'"$want"'}'
		echo "$output" > first
		# the cached run returns the same bytes
		run -0 --separate-stderr value_of "${v%%:*}"
		assert_equal "${lines[0]}" "$(head -1 first)"
		assert_equal "$(jq -c .chunks_cached <<< "${lines[1]}")" 1
	done
}

@test "a value that cannot be stored exactly is an error record naming it, exit 4" {
	run -4 --separate-stderr value_of 1e999
	assert_equal "${lines[0]}" '{"type":"error","point":{"x":1},"reason":"value 1e999 is not a finite double"}'
	run -4 --separate-stderr value_of '{"$u64":"5"}'
	assert_equal "${lines[0]}" '{"type":"error","point":{"x":1},"reason":"value {\"$u64\":\"5\"} is not a valid '"'"'$u64'"'"' box"}'
	run -4 --separate-stderr value_of '{"$float":"NaN"}'
	assert_output --partial "is not a valid '\$float' box"
	assert_file_not_exist c/*/*.zst
}

@test "output that is not JSON stays a string, output that is not UTF-8 is an error" {
	run -0 --separate-stderr value_of 'hello 1e999'
	assert_equal "${lines[0]}" '{"type":"result","point":{"x":1},"value":"hello 1e999"}'
	rm -rf c
	swarm-run --cache c --split x=1,2 --memo-chunk x=1 --keep-going \
		--cmd sh -c 'if [ "$SWARM_V_x" = 1 ]; then printf "a\377b"; else echo 7; fi' > out.jsonl || echo "rc=$?" > rc
	assert_equal "$(cat rc)" "rc=4"
	run -0 jq -c . out.jsonl
	assert_line --index 0 '{"type":"error","point":{"x":1},"reason":"output is not valid UTF-8"}'
	assert_line --index 1 '{"type":"result","point":{"x":2},"value":7}'
}

@test "--split and YAML give the same value, point and chunk id for 2^63" {
	run -0 --separate-stderr swarm-run --cache c --split x=9223372036854775808 --memo-chunk x=1 --plan --cmd echo 1
	local a=$output
	printf 'split: {x: [9223372036854775808]}\nmemo_chunk: {x: 1}\n' > exp.yaml
	run -0 --separate-stderr swarm-run -c exp.yaml --cache c --plan --cmd echo 1
	assert_equal "$output" "$a"
	assert_equal "$(chunk_key <<< "$a")" '"chunk_key":{"x":[9223372036854775808]}'
	run -0 --separate-stderr swarm-run --cache c --split x=9223372036854775808..9223372036854775808 --memo-chunk x=1 --plan --cmd echo 1
	assert_equal "$output" "$a"
	run -0 --separate-stderr swarm-run --cache c --split x=9223372036854775808 --memo-chunk x=1 --cmd echo 1
	assert_equal "${lines[0]}" '{"type":"result","point":{"x":9223372036854775808},"value":1}'
}

@test "integer ranges are exact beyond 2^53, as lists are" {
	run -0 --separate-stderr swarm-run --cache c --split x=9007199254740993..9007199254740995 --memo-chunk x=3 --plan --cmd echo 1
	assert_equal "$(chunk_key <<< "$output")" '"chunk_key":{"x":[9007199254740993,9007199254740994,9007199254740995]}'
	run -0 --separate-stderr swarm-run --cache c --split x=9007199254740993,9007199254740994,9007199254740995 --memo-chunk x=3 --plan --cmd echo 1
	assert_equal "$(chunk_key <<< "$output")" '"chunk_key":{"x":[9007199254740993,9007199254740994,9007199254740995]}'
	run -2 --separate-stderr swarm-run --cache c --split x=18446744073709551615..18446744073709551616 --memo-chunk x=1 --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: range '18446744073709551615..18446744073709551616' has an integer out of range (-2^63..2^64-1)"
}

@test "integers beyond 2^64-1, overflowing reals, NaN and infinities are usage errors, with position in YAML" {
	printf 'split:\n  x: [1, 18446744073709551616]\nmemo_chunk: {x: 1}\n' > big.yaml
	run -2 --separate-stderr swarm-run -c big.yaml --cache c --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: error (at big.yaml:2:10): integer '18446744073709551616' is out of range (-2^63..2^64-1)"
	printf 'params: {p: -9223372036854775809}\nsplit: {x: [1]}\nmemo_chunk: {x: 1}\n' > neg.yaml
	run -2 --separate-stderr swarm-run -c neg.yaml --cache c --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: error (at neg.yaml:1:13): integer '-9223372036854775809' is out of range (-2^63..2^64-1)"
	printf 'split: {x: [.nan]}\nmemo_chunk: {x: 1}\n' > nan.yaml
	run -2 --separate-stderr swarm-run -c nan.yaml --cache c --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: error (at nan.yaml:1:13): value '.nan' is not a finite number"
	run -2 --separate-stderr swarm-run --cache c --split x=18446744073709551616 --memo-chunk x=1 --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: --split 'x=18446744073709551616': integer '18446744073709551616' is out of range (-2^63..2^64-1)"
	run -2 --separate-stderr swarm-run --cache c --split x=1 --param p=1e999 --memo-chunk x=1 --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: --param 'p=1e999': value 1e999 is not a finite double"
	run -2 --separate-stderr swarm-run --cache c --split x=-.inf --memo-chunk x=1 --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: --split 'x=-.inf': value '-.inf' is not a finite number"
}

@test "names and values that are not UTF-8 are usage errors" {
	run -2 --separate-stderr swarm-run --cache c --split $'x=a\xff' --memo-chunk x=1 --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: --split '(not UTF-8)': value is not valid UTF-8"
	run -2 --separate-stderr swarm-run --cache c --split $'\xff=1' --memo-chunk x=1 --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: --split: name is not valid UTF-8"
	run -2 --separate-stderr swarm-run --cache c --split x=1 --param $'p\xfe=1' --memo-chunk x=1 --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: --param: name is not valid UTF-8"
}

@test "a NUL in a YAML key or value is refused with its position, no crash" {
	printf 'split:\n  "x\\0y": [1, 2]\nmemo_chunk: {x: 1}\n' > nulkey.yaml
	run -2 --separate-stderr swarm-run -c nulkey.yaml --cache c --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: error (at nulkey.yaml:2:3): scalar contains a NUL byte"
	printf 'params: {p: "a\\0b"}\nsplit: {x: [1]}\nmemo_chunk: {x: 1}\n' > nulval.yaml
	run -2 --separate-stderr swarm-run -c nulval.yaml --cache c --cmd echo 1
	assert_equal "${stderr_lines[0]}" "swarm-run: error (at nulval.yaml:1:13): scalar contains a NUL byte"
}

@test "input without a newline ends at --max-record in every tool" {
	run -5 --separate-stderr timeout 20 coren-verdict --max-record 1M < /dev/zero
	assert_equal "$stderr" "coren-verdict: error (at stdin:1): record longer than 1000000 bytes"
	run -2 --separate-stderr timeout 20 coren-verdict --max-record 1M --cap /dev/zero < /dev/null
	assert_equal "${stderr_lines[0]}" "coren-verdict: error (at /dev/zero:1): record longer than 1000000 bytes"
	run -5 --separate-stderr timeout 20 coren-cost --max-record 1M < /dev/zero
	assert_equal "$stderr" "coren-cost: error (at stdin:1): record longer than 1000000 bytes"
	run -5 --separate-stderr timeout 20 rk-bench --analyze --max-record 1M < /dev/zero
	assert_equal "${stderr_lines[0]}" "rk-bench: error (at stdin:1): record longer than 1000000 bytes"
	COREN_PLUGIN_PATH="$COREN_RK_PLUGINS" run --separate-stderr timeout 20 rk-launch --max-record 1M -k e=echo < /dev/zero
	assert [ "$status" -ne 124 ]
	assert_equal "${stderr_lines[0]}" "rk-launch: error (at stdin:1): record longer than 1000000 bytes"
}

@test "a co-process's NaN, Infinity and big integers (Python's json.dumps) are stored losslessly" {
	cat > co.py <<-'PY'
	import json, sys
	for line in sys.stdin:
	    r = json.loads(line)
	    x = r["point"]["x"]
	    v = {1: float("nan"), 2: float("-inf"), 3: 10**30}.get(x, {"$u64": "5"})
	    print(json.dumps({"type": "result", "seq": r["seq"], "value": v}), flush=True)
	PY
	run -4 --separate-stderr swarm-run --cache c --split x=1..4 --memo-chunk x=1 --keep-going --coproc python3 co.py
	echo "$output" > out
	assert_equal "$(grep -c . out)" 5
	grep -qF '{"type":"result","point":{"x":1},"value":{"$float":"nan"}}' out
	grep -qF '{"type":"result","point":{"x":2},"value":{"$float":"-inf"}}' out
	grep -qF '{"type":"result","point":{"x":3},"value":1000000000000000000000000000000}' out
	grep -qF '{"type":"error","point":{"x":4},"reason":"value {\"$u64\":\"5\"} is not a valid' out
	run -4 --separate-stderr swarm-run --cache c --split x=1..4 --memo-chunk x=1 --keep-going --coproc python3 co.py
	assert_equal "$(echo "$output" | jq -r 'select(.type=="diag") | .chunks_cached')" 3
}

@test "JSON output that cannot be stored exactly fails its point, never becomes a string" {
	local out
	for out in '"a\u0000b"' "$(printf '%*s' 3000 '' | tr ' ' '[')$(printf '%*s' 3000 '' | tr ' ' ']')"; do
		rm -rf c
		run -4 --separate-stderr value_of "$out"
		[[ "$output" == *'"type":"error","point":{"x":1},"reason":"output is JSON that cannot be stored exactly'* ]]
	done
	rm -rf c
	run -0 --separate-stderr value_of 'hello [1'
	assert_line --partial '"value":"hello [1"'
}

# Ranges are made on demand, never listed (lib/memo/range.c): value by
# value, they must be the very values of the list that writes them out.
@test "a range and the list it writes out give byte-identical plans, ids, results and cache files" {
	P="$COREN_EXEC_PLUGINS"
	check() { # $1: a range, $2: the same values as a list
		run -0 --separate-stderr swarm-run --cache c --split "x=$1" --memo-chunk x=2 --plan --exec "$P/noop.so"
		local plan=$output
		run -0 --separate-stderr swarm-run --cache c --split "x=$2" --memo-chunk x=2 --plan --exec "$P/noop.so"
		assert_equal "$output" "$plan"
	}
	check -3..3 -3,-2,-1,0,1,2,3
	check 7..-5..-4 7,3,-1,-5
	check 18446744073709551610..18446744073709551615..2 18446744073709551610,18446744073709551612,18446744073709551614
	check -9223372036854775808..-9223372036854775806 -9223372036854775808,-9223372036854775807,-9223372036854775806
	check 0..1..0.1 0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0
	check 1..0..-0.25 1.0,0.75,0.5,0.25,0.0
	check 1e-3..3e-3..1e-3 0.001,0.002,0.003
	check -1e308..1e308..1e308 -1e308,0.0,1e308
	check 1.0..3 1.0,2.0,3.0
	check -0.5..0.5..0.25 -0.5,-0.25,0.0,0.25,0.5
	# computed: the same records, the same chunk files; a warm run of
	# one form finds every chunk of the other
	ranges=(--split x=-2..2..0.5 --split y=-3..9..4 --memo-chunk x=4 --memo-chunk y=3 --exec "$P/noop.so" --workers 2)
	lists=(--split x=-2.0,-1.5,-1.0,-0.5,0.0,0.5,1.0,1.5,2.0 --split y=-3,1,5,9 --memo-chunk x=4 --memo-chunk y=3 --exec "$P/noop.so" --workers 2)
	run -0 --separate-stderr swarm-run "${ranges[@]}" --cache c1
	grep -v '"type":"diag"' <<< "$output" > ranged
	run -0 --separate-stderr swarm-run "${lists[@]}" --cache c2
	grep -v '"type":"diag"' <<< "$output" > listed
	cmp ranged listed
	assert_equal "$(wc -l < ranged)" 36
	assert_equal "$(cd c1 && find . -name '*.zst' | sort)" "$(cd c2 && find . -name '*.zst' | sort)"
	run -0 --separate-stderr swarm-run "${lists[@]}" --cache c1
	assert_equal "$(jq -c 'select(.type=="diag") | [.chunks_cached, .points_executed]' <<< "$output")" '[6,0]'
	# and a YAML {from, to, step}
	printf 'split: {x: {from: -2, to: 2, step: 0.5}, y: {from: -3, to: 9, step: 4}}\nmemo_chunk: {x: 4, y: 3}\n' > exp.yaml
	run -0 --separate-stderr swarm-run -c exp.yaml --exec "$P/noop.so" --cache c1
	assert_equal "$(jq -c 'select(.type=="diag") | [.chunks_cached, .points_executed]' <<< "$output")" '[6,0]'
}

# --values (coren-records(5), "values"): the records' values, in grid
# order, against the result records of the same run; exit 0 when equal.
same_values() { # RECORDS-OUTPUT VALUES-OUTPUT
	"${PYTHON:-python3}" - "$1" "$2" <<-'PY'
	import json, sys
	rec = [json.loads(l) for l in open(sys.argv[1])]
	val = [json.loads(l) for l in open(sys.argv[2])]
	want = {i: r["value"] for i, r in enumerate(rec) if r["type"] == "result"}
	got = {}
	for r in val:
	    if r["type"] == "values":
	        assert r["values"], r  # a record holds at least one value
	        got.update((r["index"] + k, v) for k, v in enumerate(r["values"]))
	assert got == want, (got, want)
	assert [r for r in rec if r["type"] == "error"] == [r for r in val if r["type"] == "error"]
	PY
}

@test "--values: the results' values in grid order, failed points as error records between runs" {
	cat > fns.py <<-'EOF'
	import math
	def f(params, p):
	    if p["x"] in (3, 4) and p["y"] == "b":
	        raise ValueError("no %s" % p["x"])
	    return {0: math.nan, 1: 2 ** 80, 2: 'a},"value":1', 5: {"value": [1, {"k": "}"}]}}.get(p["x"], [p["x"], p["y"]])
	EOF
	A=(--cache c --no-progress --keep-going --split x=0..6 --split y=a,b --memo-chunk x=3 --memo-chunk y=1)
	run -4 --separate-stderr swarm-run "${A[@]}" --coproc "$PYTHON" -m coren.coproc fns:f
	echo "$output" > records
	run -4 --separate-stderr swarm-run "${A[@]}" --values --coproc "$PYTHON" -m coren.coproc fns:f
	echo "$output" > values
	same_values records values
	# a record per slab (the chunks of one bin of x) and between failures
	assert_line --index 0 '{"type":"values","index":0,"values":[{"$float":"nan"},{"$float":"nan"},1208925819614629174706176,1208925819614629174706176,"a},\"value\":1","a},\"value\":1"]}'
	assert_line --index 1 '{"type":"values","index":6,"values":[[3,"a"]]}'
	assert_line --index 2 '{"type":"error","point":{"x":3,"y":"b"},"reason":"ValueError: no 3"}'
	assert_line --index 3 '{"type":"values","index":8,"values":[[4,"a"]]}'
	assert_line --index 5 '{"type":"values","index":10,"values":[{"value":[1,{"k":"}"}]},{"value":[1,{"k":"}"}]}]}'
	assert_line --index 6 '{"type":"values","index":12,"values":[[6,"a"],[6,"b"]]}'
	# from the cache (the failed points run again), the same records;
	# and so when a slab's finished chunks wait in the spill file
	run -4 --separate-stderr swarm-run "${A[@]}" --values --coproc "$PYTHON" -m coren.coproc fns:f
	assert_equal "$(grep -v diag <<< "$output")" "$(grep -v diag values)"
	COREN_SPILL_AFTER=0 run -4 --separate-stderr swarm-run "${A[@]}" --values --coproc "$PYTHON" -m coren.coproc fns:f
	assert_equal "$(grep -v diag <<< "$output")" "$(grep -v diag values)"
	run -0 swarm-run --cache c --no-progress --split x=0..6 --split y=a --memo-chunk x=3 --memo-chunk y=1 --values --coproc "$PYTHON" -m coren.coproc fns:f
	assert_line --index 1 '{"type":"values","index":3,"values":[[3,"a"],[4,"a"],{"value":[1,{"k":"}"}]}]}'
	assert_equal "${#lines[@]}" 4
}

@test "--values: axis names and values holding braces, quotes and value keys" {
	cat > exp.yaml <<-'EOF'
	split:
	  "v}": ['}', 'x,"value":1', "q\"}\\", {value: {"}": [1]}}, [{}]]
	  value: [1, "}"]
	memo_chunk: {"v}": 2, value: 1}
	cache: c
	EOF
	# the value is the point itself (SWARM_POINT is its JSON)
	run -0 --separate-stderr swarm-run -c exp.yaml --no-progress --cmd printenv SWARM_POINT
	echo "$output" > records
	run -0 --separate-stderr swarm-run -c exp.yaml --no-progress --values --cmd printenv SWARM_POINT
	echo "$output" > values
	same_values records values
	assert_equal "${#lines[@]}" 3 # a run per slab (axis "value" first: by name), the diag
	assert_line --index 1 --partial '{"type":"values","index":5,"values":[{"value":"}","v}":"}"},{"value":"}","v}":"x,\"value\":1"},'
	run -0 --separate-stderr swarm-run -c exp.yaml --no-progress --values --split value=1 --cmd printenv SWARM_POINT
	assert_line --index 0 '{"type":"values","index":0,"values":[{"value":1,"v}":"}"},{"value":1,"v}":"x,\"value\":1"},{"value":1,"v}":"q\"}\\"},{"value":1,"v}":{"value":{"}":[1]}}},{"value":1,"v}":[{}]}]}'
}

@test "--values goes only with a run that writes results" {
	for mode in --stream --plan --verify "--shard 0/2"; do
		run -2 --separate-stderr swarm-run --cache c --split x=1..2 --values $mode --cmd echo 1
		assert_equal "$stderr" "swarm-run: --values goes with a run that writes results"$'\n'"try 'swarm-run --help'"
	done
}
