#!/usr/bin/env bats
# Record I/O end to end through recio, a filter built on lib/core/record.c.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "records pass through, re-serialised compactly, in order" {
	printf '{"type":"a", "x" : 1}\n{"type":"b","w":18446744073709551615}\n' > in.jsonl
	run -0 recio --json in.jsonl
	assert_output $'{"type":"a","x":1}\n{"type":"b","w":18446744073709551615}'
}

@test "--raw passes lines through byte for byte" {
	printf '{"type":"a", "x" : 1.50}\n{ "type" :"b"}\n' > in.jsonl
	run -0 recio --raw --json in.jsonl
	assert_output "$(cat in.jsonl)"
}

@test "stdin is read when no file is named, and '-' names it" {
	printf '{"type":"a"}\n' > in.jsonl
	run -0 recio --json < in.jsonl
	assert_output '{"type":"a"}'
	run -0 recio --json - < in.jsonl
	assert_output '{"type":"a"}'
}

@test "a wrong field type is reported with file:line, exit 5" {
	{ for i in $(seq 1531); do echo '{"type":"cost","flops":1}'; done
	  echo '{"type":"cost","flops":"12"}'; } > in.jsonl
	run -5 --separate-stderr recio --u64 flops --json < in.jsonl
	assert_equal "$stderr" "recio: error (at stdin:1532): field 'flops' is not an unsigned integer"
	assert_equal "${#lines[@]}" 1531
}

@test "invalid JSON is reported with its line and column" {
	printf '{"type":"a"}\n{"type":"a",}\n' > bad.jsonl
	run -5 --separate-stderr recio bad.jsonl
	assert_equal "$stderr" "recio: error (at bad.jsonl:2): invalid JSON at column 13: string or '}' expected near '}'"
}

@test "missing type and non-object records are errors, never skipped" {
	printf '{"x":1}\n' > a.jsonl
	run -5 --separate-stderr recio a.jsonl
	assert_equal "$stderr" "recio: error (at a.jsonl:1): record has no 'type' field"
	printf '[1,2]\n' > b.jsonl
	run -5 --separate-stderr recio b.jsonl
	assert_equal "$stderr" "recio: error (at b.jsonl:1): record is not a JSON object"
}

@test "--keep-going turns bad records into error records and counts them" {
	printf '{"type":"a"}\nnope\n{"type":"b","flops":-1}\n{"type":"c"}\n' > in.jsonl
	run -5 --separate-stderr recio --keep-going --u64 flops --json in.jsonl
	assert_output - <<'OUT'
{"type":"error","at":"in.jsonl:1","reason":"missing field 'flops'"}
{"type":"error","at":"in.jsonl:2","reason":"invalid JSON at column 4: invalid token near 'nope'"}
{"type":"error","at":"in.jsonl:3","reason":"field 'flops' is not an unsigned integer"}
{"type":"error","at":"in.jsonl:4","reason":"missing field 'flops'"}
OUT
	assert_line --partial --index 0 'missing field'
	[[ "$stderr" == *"recio: 4 bad records"* ]]
}

@test "a line over --max-record is an error, not an out-of-memory kill" {
	head -c 5000 /dev/zero | tr '\0' x | sed 's/.*/{"type":"a","s":"&"}/' > big.jsonl
	run -5 --separate-stderr recio --max-record 4KiB big.jsonl
	assert_equal "$stderr" "recio: error (at big.jsonl:1): record longer than 4096 bytes"
	run -0 recio --max-record 8KiB --json big.jsonl
}

@test "a 20 MiB line is refused by the default 16 MiB cap, then reading goes on" {
	{ printf '{"type":"a","s":"'; head -c $((20 << 20)) /dev/zero | tr '\0' x; printf '"}\n{"type":"b"}\n'; } > huge.jsonl
	run -5 --separate-stderr recio --keep-going --json huge.jsonl
	assert_equal "$stderr" $'recio: error (at huge.jsonl:1): record longer than 16777216 bytes\nrecio: 1 bad record'
	assert_line --index 1 '{"type":"b"}'
}

@test "invalid --max-record is a usage error" {
	run -2 --separate-stderr recio --max-record lots
	assert_equal "$stderr" $'recio: invalid --max-record \'lots\'\ntry \'recio --help\''
}

@test "unknown option: one line and a hint, exit 2" {
	run -2 --separate-stderr recio --frobnicate
	[[ "${stderr_lines[-1]}" == "try 'recio --help'" ]]
}

@test "--table prints an aligned table with human units" {
	printf '{"type":"cost","name":"sort","flops":199315686,"mem":1288490189}\n{"type":"cost","name":"hash-64MB","flops":536870912}\n' > in.jsonl
	run -0 recio --table --col name:NAME --col flops:W:count --col mem:Q:bytes in.jsonl
	assert_output - <<'OUT'
NAME            W       Q
sort       199.3M  1.2GiB
hash-64MB  536.9M       -
OUT
}

@test "output is JSONL when stdout is not a terminal, a table on a terminal" {
	printf '{"type":"cost","name":"x","flops":1500}\n' > in.jsonl
	run -0 recio --col name:NAME --col flops:W:count in.jsonl
	assert_output '{"type":"cost","name":"x","flops":1500}'
	command -v script >/dev/null || skip "script(1) is not installed"
	run -0 script -qec "recio --col name:NAME --col flops:W:count $PWD/in.jsonl" /dev/null
	assert_output --partial 'NAME     W'
	assert_output --partial 'x     1.5k'
}

@test "a write error on stdout is detected at exit" {
	[ -w /dev/full ] || skip "no /dev/full"
	printf '{"type":"a"}\n' > in.jsonl
	run -2 --separate-stderr bash -c 'recio in.jsonl > /dev/full'
	[[ "$stderr" == "recio: error: write error on stdout: "* ]]
}

@test "a closed pipe ends the tool quietly (SIGPIPE restored)" {
	for i in $(seq 100000); do echo '{"type":"a"}'; done > in.jsonl
	run bash -c 'set -o pipefail; recio in.jsonl | head -n 1'
	assert_output '{"type":"a"}'
	assert_equal "$status" 141
}

@test "a missing input file is an I/O error, exit 2" {
	run -2 --separate-stderr recio no-such-file.jsonl
	assert_equal "$stderr" "recio: error: cannot open 'no-such-file.jsonl'"
}

@test "at a terminal one Ctrl-D after typed input ends coren-cost and coren-verdict" {
	cd "$BATS_TEST_TMPDIR"
	run -0 "${PYTHON:-python3}" "$top_srcdir/tests/pty_eof.py" 'hash(64)\n' coren-cost
	assert_output --partial '"name":"hash(64)"'
	echo '{"type":"cap","flops":1e11,"mem_bw":4e10,"ram_avail":16000000000,"disk_write_bw":1e9,"net_bw":1.25e8,"net_latency":0.01}' > cap.jsonl
	run -0 "${PYTHON:-python3}" "$top_srcdir/tests/pty_eof.py" \
		'{"type":"cost","name":"a","flops":1,"mem_bytes":1,"peak_mem":1,"result_bytes":1}\n' \
		coren-verdict --cap cap.jsonl
	assert_output --partial '"type":"verdict"'
}
