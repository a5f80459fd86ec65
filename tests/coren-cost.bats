#!/usr/bin/env bats
# coren-cost: expressions to cost records.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "an expression argument gives a cost record with exact integers" {
	run -0 coren-cost 'scan(64e6,0) then sort(1e6,64,0) then hash(64e6)'
	assert_output '{"type":"cost","name":"scan(64e6,0) then sort(1e6,64,0) then hash(64e6)","flops":776000000,"mem_bytes":1408000000,"peak_mem":128000000,"result_bytes":32}'
}

@test "saturation shows as 18446744073709551615, never a float" {
	run -0 coren-cost 'copy(18446744073709551615) repeat 2'
	assert_output '{"type":"cost","name":"copy(18446744073709551615) repeat 2","flops":0,"mem_bytes":18446744073709551615,"peak_mem":0,"result_bytes":18446744073709551615}'
}

@test "--name and NAME = name a cost" {
	run -0 coren-cost --name job 'hash(1)'
	assert_output --partial '"name":"job"'
	run -0 coren-cost 'sort 1M = sort(1e6, 64, 0)'
	assert_output --partial '"name":"sort 1M"'
	run -2 --separate-stderr coren-cost --name job 'hash(1)' 'hash(2)'
	assert_equal "${stderr_lines[0]}" "coren-cost: --name needs exactly one expression argument"
}

@test "expressions on stdin, records passed through in order, comments skipped" {
	printf 'hash(1)\n{"type":"note", "x": 1}\n# a comment\n\ncopy(2)\n' > in.txt
	run -0 coren-cost < in.txt
	assert_output - <<'OUT'
{"type":"cost","name":"hash(1)","flops":8,"mem_bytes":1,"peak_mem":256,"result_bytes":32}
{"type":"note", "x": 1}
{"type":"cost","name":"copy(2)","flops":0,"mem_bytes":4,"peak_mem":0,"result_bytes":2}
OUT
}

@test "a bad argument names its column, exit 2" {
	run -2 --separate-stderr coren-cost 'hash(1)' 'scan(64e6,0) then sortt(1,2,3)'
	assert_equal "$stderr" "coren-cost: error (at argument 2, column 19): unknown function 'sortt' (known: new, scan, sort, hash, matmul, etl, copy)"
	run -2 --separate-stderr coren-cost 'hash(1.5)'
	assert_equal "$stderr" "coren-cost: error (at argument 1, column 6): '1.5' is not an integer"
}

@test "a bad stdin line names line and column, exit 5" {
	printf 'hash(1)\nhash(2\n' > in.txt
	run -5 --separate-stderr coren-cost < in.txt
	assert_equal "$stderr" "coren-cost: error (at stdin:2:7): expected ')' at the end"
	assert_output '{"type":"cost","name":"hash(1)","flops":8,"mem_bytes":1,"peak_mem":256,"result_bytes":32}'
	printf '{"type":"x"\n' > bad.txt
	run -5 --separate-stderr coren-cost < bad.txt
	[[ "$stderr" == "coren-cost: error (at stdin:1): invalid JSON"* ]]
}

@test "--keep-going reports bad lines as error records and goes on" {
	printf 'nope(1)\nhash(1)\n' > in.txt
	run -5 --separate-stderr coren-cost --keep-going < in.txt
	assert_line --index 0 '{"type":"error","at":"stdin:1:1","reason":"unknown function '"'"'nope'"'"' (known: new, scan, sort, hash, matmul, etl, copy)"}'
	assert_line --index 1 --partial '"name":"hash(1)"'
	[[ "$stderr" == *"coren-cost: 1 bad line" ]]
}

@test "--table prints W, Q, M, R with units" {
	run -0 coren-cost --table 'sort(1e6,64,64MB)' 'hash(64MB)'
	assert_output - <<'OUT'
NAME                    W        Q         M        R
sort(1e6,64,64MB)  200.0M   1.2GiB  122.1MiB  61.0MiB
hash(64MB)         512.0M  61.0MiB      256B      32B
OUT
}

@test "--help answers on stdout, exit 0; --version too" {
	run -0 --separate-stderr coren-cost --help
	assert_output --partial 'usage: coren-cost'
	assert_output --partial 'matmul(m,n,k,R)'
	run -0 coren-cost --version
	assert_output --regexp '^coren-cost \(coren\) [0-9]'
}

@test "an unknown option is one line and a hint, exit 2" {
	run -2 --separate-stderr coren-cost --bogus
	assert_equal "${stderr_lines[-1]}" "try 'coren-cost --help'"
}
