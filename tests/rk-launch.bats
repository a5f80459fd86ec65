#!/usr/bin/env bats
# rk-launch: every kernel, chains over K2K, both wires, exactly one answer
# per message, bad input, hints, topologies, the memory guard.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
}

msg() { # msg TO PAYLOAD [EXTRA]
	printf '{"type":"msg","to":"%s","payload":%s%s}\n' "$1" "$2" "${3:-}"
}

@test "--help and --version exit 0" {
	run -0 rk-launch --help
	assert_line --partial 'usage: rk-launch'
	assert_output --partial 'Exit status'
	run -0 rk-launch --version
}

@test "a usage error is one line and a hint, exit 2" {
	run -2 --separate-stderr rk-launch --wire xml -k e=echo
	assert_equal "${stderr_lines[0]}" "rk-launch: --wire 'xml': json or bin"
	assert_equal "${stderr_lines[1]}" "try 'rk-launch --help'"
	run -2 --separate-stderr rk-launch -k noequals
	assert_equal "${stderr_lines[0]}" "rk-launch: kernel 'noequals' is not NAME=PLUGIN[:ARGS]"
	run -2 --separate-stderr rk-launch </dev/null
	assert_output --partial ''
	assert_equal "${stderr_lines[0]}" "rk-launch: no kernels: give -k NAME=PLUGIN or a topology with 'kernels'"
	assert_equal "${stderr_lines[1]}" "try 'rk-launch --help'"
}

@test "--list shows the cpu backend and the five kernels" {
	run -0 rk-launch --list
	for k in echo saxpy reduce histogram forward; do
		assert_line --regexp "\"kind\":\"kernel\",\"name\":\"$k\".*\"cpu\":true"
	done
	assert_line --regexp '"kind":"backend","name":"cpu".*"persistent":true,"k2k":true,"gpu":false'
}

@test "echo answers with the same payload, correlation id and an HLC stamp" {
	{ msg e '[1,2.5,-3]' ',"corr":7'; msg e '"text"'; msg e '{"a":[1,2]}'; } > in
	run -0 --separate-stderr rk-launch -k e=echo --node-id 3 in
	assert_line '{"type":"msg","from":"e","corr":7,"id":281474976710657,"mtype":0,"hlc":'"$(echo "${lines[0]}" | jq -c .hlc)"',"enc":"f32","payload":[1,2.5,-3]}'
	run jq -c 'select(.type=="msg") | [.corr, .enc, .payload, .hlc[2]]' <<<"$output"
	assert_line '[7,"f32",[1,2.5,-3],3]'
	assert_line '[2,"utf8","text",3]'
	assert_line '[3,"json",{"a":[1,2]},3]'
}

@test "the HLC stamps of the answers of one kernel increase" {
	for i in $(seq 50); do msg e "[$i]"; done > in
	rk-launch -k e=echo in | jq -r 'select(.type=="msg") | "\(.hlc[0]) \(.hlc[1])"' > stamps
	run -0 sort -n -k1,1 -k2,2 -c stamps
	[ "$(sort -u stamps | wc -l)" -eq 50 ]
}

@test "saxpy: a*x + y" {
	msg s '[1,2,10,20]' > in
	run -0 rk-launch -k s=saxpy:a=3 in
	assert_line --partial '"from":"s","corr":1,'
	run jq -c 'select(.type=="msg") | .payload' <<<"$output"
	assert_output '[13,26]'
}

@test "reduce: sum, min and max, and the running total in the kernel record" {
	{ msg r '[1,2,3.5]'; msg r '[10]'; } > in
	for op in sum min max; do
		rk-launch -k r=reduce:op=$op in > out.$op
	done
	run jq -c 'select(.type=="msg") | .payload[0]' out.sum
	assert_output $'6.5\n10'
	run jq -c 'select(.type=="msg") | .payload[0]' out.min
	assert_output $'1\n10'
	run jq -c 'select(.type=="kernel") | .kernel_state' out.max
	assert_output '{"op":"max","total":10,"messages":2,"elements":4}'
	run -2 --separate-stderr rk-launch -k r=reduce:op=median in
	assert_output ''
	assert_equal "$stderr" "rk-launch: error: reduce: op 'median' is not sum, min or max"
}

@test "histogram: counts per message and in the kernel's state" {
	{ msg h '[0.1,0.3,0.3,0.9]'; msg h '[-5,5,0.6]'; } > in
	run -0 rk-launch -k h=histogram:bins=4 in
	run jq -c 'select(.type=="msg") | [.enc, .payload]' <<<"$output"
	assert_line '["u64",[1,2,0,1]]'
	assert_line '["u64",[1,0,1,1]]'
	run jq -c 'select(.type=="kernel") | .kernel_state.counts' < <(rk-launch -k h=histogram:bins=4 in)
	assert_output '[2,2,1,2]'
}

@test "a three-kernel K2K chain: forward -> forward -> saxpy" {
	for i in 1 2 3; do msg a "[$i,0,0,100]" ",\"corr\":$i"; done > in
	run -0 rk-launch --k2k -k a=forward:to=b -k b=forward:to=s -k s=saxpy:a=2 in
	run jq -c 'select(.type=="msg") | [.corr, .from, .payload]' <<<"$output"
	assert_line '[1,"s",[2,100]]'
	assert_line '[2,"s",[4,100]]'
	assert_line '[3,"s",[6,100]]'
	run jq -c 'select(.type=="metrics") | .k2k | [.delivered, .received]' < <(rk-launch --k2k -k a=forward:to=b -k b=forward:to=s -k s=saxpy in)
	assert_output '[6,6]'
}

@test "forward is checked at launch: K2K on, its destination there, exit 2" {
	msg a '[1]' > in
	run -2 --separate-stderr rk-launch -k a=forward:to=b -k b=echo in
	assert_equal "$stderr" "rk-launch: error: kernel 'a': argument 'to' sends to 'b' over K2K, which is off (--k2k)"
	run -2 --separate-stderr rk-launch --k2k -k a=forward:to=nobody -k b=echo in
	assert_equal "$stderr" "rk-launch: error: kernel 'a': argument 'to': no kernel named 'nobody'"
	run -2 --separate-stderr rk-launch --k2k -k a=forward in
	assert_equal "$stderr" "rk-launch: error: kernel 'a': argument 'to' is required"
}

@test "kernel arguments are checked at launch: unknown keys, wrong types, ranges, exit 2" {
	msg h '[0.5]' > in
	run -2 --separate-stderr rk-launch -k h=histogram:binz=4 in
	assert_equal "$stderr" "rk-launch: error: kernel 'h': unknown argument 'binz' (histogram takes bins, lo, hi)"
	run -2 --separate-stderr rk-launch -k h=histogram:bins=abc in
	assert_equal "$stderr" "rk-launch: error: kernel 'h': argument 'bins' is \"abc\", not an integer"
	run -2 --separate-stderr rk-launch -k h=histogram:bins=0 in
	assert_equal "$stderr" "rk-launch: error: kernel 'h': argument 'bins' is 0, not from 1 to 8192"
	run -2 --separate-stderr rk-launch -k e=echo:x=1 in
	assert_equal "$stderr" "rk-launch: error: kernel 'e': unknown argument 'x' (echo takes none)"
	printf 'kernels:\n  - {name: s, plugin: saxpy, args: {a: two}}\n' > t.yaml
	run -2 --separate-stderr rk-launch -c t.yaml in
	assert_equal "$stderr" "rk-launch: error: kernel 's': argument 'a' is \"two\", not a number"
	run -0 rk-launch -k h=histogram:bins=4,lo=0,hi=2 in
}

@test "routes: through a next hop, and a routing loop stopped by max hops" {
	msg a '"x"' > in
	run -0 rk-launch -k a=forward:to=c -k b=echo -k c=echo --route 'c>b' in
	assert_line --partial '"from":"c","corr":1,'
	run -4 --separate-stderr rk-launch -k a=forward:to=b -k b=forward:to=a --k2k --max-hops 4 in
	assert_line --regexp '^\{"type":"error","corr":1,"from":"[ab]","reason":"k2k delivery from .* failed: max_hops"\}$'
	run jq -c 'select(.type=="metrics") | .k2k.max_hops' <<<"$output"
	assert_output 1
}

@test "the binary wire: envelopes in, envelopes out, records on stderr or --records" {
	{ msg e '[1,2]' ',"corr":5'; msg s '[1,2,3,4]' ',"corr":6'; } > in.jsonl
	rkenv encode e s < in.jsonl > in.bin
	[ "$(stat -c %s in.bin)" -eq $((256 + 8 + 256 + 16)) ]
	rk-launch --wire bin -k e=echo -k s=saxpy:a=2 --records rec.jsonl in.bin > out.bin
	run -0 rkenv decode e s < out.bin
	run jq -c '[.corr, .from, .payload]' <<<"$output"
	assert_line '[5,"e",[1,2]]'
	assert_line '[6,"s",[5,8]]'
	run jq -r .type rec.jsonl
	assert_output $'kernel\nkernel\nmetrics'
	rk-launch --wire bin -k e=echo in.bin 2> rec.stderr > /dev/null || true
	grep -q '"type":"metrics"' rec.stderr
}

@test "the binary wire: a corrupt envelope is exit 5 at its byte offset; --keep-going answers it" {
	rkenv gen 3 16 1 > in.bin
	printf '\x01' | dd of=in.bin bs=1 seek=$((272 + 256 + 3)) conv=notrunc 2>/dev/null
	run -5 --separate-stderr rk-launch --wire bin --records /dev/null -k e=echo in.bin
	[[ "$stderr" == "rk-launch: error (at in.bin:@272): envelope checksum 0x"*", payload has 0x"* ]]
	run -5 --separate-stderr rk-launch --wire bin --records /dev/null --keep-going -k e=echo in.bin
	rk-launch --wire bin --records /dev/null --keep-going -k e=echo in.bin > out.bin 2>/dev/null || true
	run -0 rkenv decode e < out.bin
	run jq -c '[.type, .corr]' <<<"$output"
	assert_line '["msg",1]'
	assert_line '["error",2]'
	assert_line '["msg",3]'
}

@test "exactly one answer per message for 1000000 messages" {
	awk 'BEGIN { for (i = 1; i <= 1000000; i++) print "{\"type\":\"msg\",\"to\":\"e\",\"payload\":\"x\"}" }' > in
	rk-launch -k e=echo --grid-size 2 in > out
	[ "$(grep -c '"type":"msg"' out)" -eq 1000000 ]
	[ "$(grep '"type":"msg"' out | sed 's/.*"corr":\([0-9]*\),.*/\1/' | sort -u | wc -l)" -eq 1000000 ]
	run jq -c 'select(.type=="metrics") | [.sent, .answered, .errors, .in_flight]' out
	assert_output '[1000000,1000000,0,0]'
}

@test "the same over the binary wire" {
	rkenv gen 1000000 64 1 > in.bin
	rk-launch --wire bin -k e=echo --records rec in.bin > out.bin
	[ "$(stat -c %s out.bin)" -eq $((1000000 * (256 + 64))) ]
	run jq -c 'select(.type=="metrics") | [.sent, .answered, .errors]' rec
	assert_output '[1000000,1000000,0]'
	[ "$(rkenv decode e < out.bin | sed 's/.*"corr":\([0-9]*\),.*/\1/' | sort -u | wc -l)" -eq 1000000 ]
}

@test "from a pipe (the answers change hands while input waits): one answer each" {
	rkenv gen 300000 16 1 > in.bin
	cat in.bin | rk-launch --wire bin -k e=echo --records rec > out.bin
	[ "$(rkenv decode e < out.bin | sed 's/.*"corr":\([0-9]*\),.*/\1/' | sort -u | wc -l)" -eq 300000 ]
	awk 'BEGIN { for (i = 1; i <= 1000; i++) print "{\"type\":\"msg\",\"to\":\"e\",\"payload\":[1]}" }' > in
	{ for i in 1 2 3; do cat in; sleep 0.2; done; } |
		rk-launch -k e=echo > out
	[ "$(grep -c '"type":"msg"' out)" -eq 3000 ]
	run jq -c 'select(.type=="metrics") | [.sent, .answered, .in_flight]' out
	assert_output '[3000,3000,0]'
}

@test "bad input stops at its line, exit 5, after answering what came before" {
	{ msg e '[1]'; echo 'not json'; msg e '[2]'; } > in
	run -5 --separate-stderr rk-launch -k e=echo in
	assert_equal "$stderr" "rk-launch: error (at in:2): invalid JSON at column 3: invalid token near 'not'"
	assert_line --partial '"from":"e","corr":1,'
	refute_line --partial '"corr":3,'
	run -5 --separate-stderr rk-launch -k e=echo < <(msg nobody '[1]')
	assert_equal "$stderr" "rk-launch: error (at stdin:1): no kernel named 'nobody'"
	run -5 --separate-stderr rk-launch -k e=echo --max-payload 16 < <(msg e '[1,2,3,4,5]')
	assert_equal "$stderr" "rk-launch: error (at stdin:1): payload of 20 bytes is larger than 16"
	run -5 --separate-stderr rk-launch -k e=echo < <(echo '{"type":"msg","to":"e","payload":[1,"a"]}')
	assert_equal "$stderr" "rk-launch: error (at stdin:1): field 'payload': element 1 is not a number"
	run -5 --separate-stderr rk-launch -k e=echo < <(echo '{"type":"msg","to":"e","priority":"urgent"}')
	assert_equal "$stderr" "rk-launch: error (at stdin:1): field 'priority' is not low, normal, high, critical or 0-3"
}

@test "JSON payloads are echoed byte for byte, as the input spelled them (never re-serialized)" {
	# spaces, a real's trailing zero, a u64, escapes: kept as written, by the
	# one-pass reader and (priority, an escaped key) by the full parser alike
	p='{"b": 1.50, "a":[1, "x", {"c":null}],"big":18446744073709551615, "s":"\u00e9\n"}'
	{ msg e "$p"; msg e "$p" ',"priority":"high"'; echo "{\"type\":\"msg\",\"to\":\"e\",\"pay\\u006coad\":$p}"
	  msg e ' 2.50 '; msg e '[ ]'; msg e '{"i":7,"name":"x"}'; } > in
	rk-launch -k e=echo in > out
	run jq -r 'select(.type=="msg") | .enc' out
	assert_output "$(printf 'json\n%.0s' 1 2 3 4 5 6)"
	run sed -n 's/.*"payload":\(.*\)}$/\1/p' out
	assert_equal "${lines[0]}" "$p"
	assert_equal "${lines[1]}" "$p"
	assert_equal "${lines[2]}" "$p"
	assert_equal "${lines[3]}" "2.50"
	assert_equal "${lines[4]}" "[ ]"
	assert_equal "${lines[5]}" '{"i":7,"name":"x"}'
	# number arrays are still vectors, written as before (%.6g and up)
	run -0 rk-launch -k e=echo < <(msg e '[1, 2.5, -0.0, 0, -123456, 999999, 1000000, 0.1]')
	assert_line --partial '"enc":"f32","payload":[1,2.5,-0,0,-123456,999999,1e+06,0.1]}'
}

@test "bad JSON payloads are refused as before: the parser's error, at their line, exit 5" {
	for p in '{"a":1,"a":2}' '{"b":{"c":1,"c":2}}' '{"a":1e999}' '{"a":"\u0000"}' \
		'{"a":"\ud800"}' '{"a":tru}' '{"a":[1,}'; do
		{ msg e '[1]'; msg e "$p"; } > in
		run -5 --separate-stderr rk-launch -k e=echo in
		assert_line --partial '"from":"e","corr":1,'
		printf '%s\n' "$stderr" >> errors
	done
	run cat errors
	assert_output - <<'EOF2'
rk-launch: error (at in:2): invalid JSON at column 43: duplicate object key near '"a"'
rk-launch: error (at in:2): invalid JSON at column 48: duplicate object key near '"c"'
rk-launch: error (at in:2): value 1e999 is not a finite double
rk-launch: error (at in:2): invalid JSON at column 46: \u0000 is not allowed without JSON_ALLOW_NUL near '"\u0000"'
rk-launch: error (at in:2): invalid JSON at column 46: invalid Unicode '\uD800' near '"\ud800"'
rk-launch: error (at in:2): invalid JSON at column 41: invalid token near 'tru'
rk-launch: error (at in:2): invalid JSON at column 42: unexpected token near '}'
EOF2
	{ msg e '{"a":1,"a":2}'; msg e '{"ok":true}'; } > in
	run -5 rk-launch -k e=echo --keep-going in
	assert_line --partial '"type":"error","corr":1,"from":"host","at":"in:1"'
	assert_line --partial '"corr":2,'
	assert_line --partial '"payload":{"ok":true}}'
}

@test "--keep-going: one error record per bad line, every message answered once, exit 5" {
	{ msg e '[1]'; echo 'not json'; msg nobody '[1]'; msg e '[2]'; echo '{"type":"note"}'; msg s '[1]'; } > in
	run -5 --separate-stderr rk-launch --keep-going -k e=echo -k s=saxpy in
	run jq -c 'select(.type=="msg" or .type=="error") | [.type, .corr, .at]' <<<"$output"
	assert_line '["msg",1,null]'
	assert_line '["error",2,"in:2"]'
	assert_line '["error",3,"in:3"]'
	assert_line '["msg",4,null]'
	assert_line '["error",6,null]'
	[ "${#lines[@]}" -eq 5 ]
	run -5 rk-launch --keep-going -k e=echo -k s=saxpy in
	assert_line '{"type":"note"}'
	msg s '[1]' > bad-answer-only
	run -4 --separate-stderr rk-launch --keep-going -k s=saxpy bad-answer-only # no bad input: 4
}

@test "the binary wire is checked as msg records are: priority, encoding, kernel, with positions" {
	rkenv gen 3 16 1 > in.bin
	printf '\x09' | dd of=in.bin bs=1 seek=$((272 + 12)) conv=notrunc 2>/dev/null
	run -5 --separate-stderr rk-launch --wire bin --records /dev/null -k e=echo in.bin
	assert_equal "$stderr" "rk-launch: error (at in.bin:@272): envelope priority 9 is not low, normal, high, critical or 0-3"
	rkenv gen 3 16 1 > in.bin
	printf '\x2a' | dd of=in.bin bs=1 seek=$((544 + 14)) conv=notrunc 2>/dev/null
	run -5 --separate-stderr rk-launch --wire bin --records /dev/null -k e=echo in.bin
	assert_equal "$stderr" "rk-launch: error (at in.bin:@544): envelope encoding 42 is not raw, utf8, json, f32, f64 or u64"
	rkenv gen 2 16 7 > in.bin
	run -5 --separate-stderr rk-launch --wire bin --records /dev/null -k e=echo in.bin
	assert_equal "$stderr" "rk-launch: error (at in.bin:@0): envelope for kernel 7: there are kernels 1 to 1"
	run -5 --separate-stderr rk-launch --wire bin --records /dev/null --keep-going -q -k e=echo in.bin
}

@test "--hints: saved at the end and merged on the next run" {
	for i in $(seq 20); do msg e "[$i]"; done > in
	rk-launch -k e=echo --hints hints.jsonl in > /dev/null
	run jq -c '[.type, .region]' hints.jsonl
	assert_output '["hint","e"]'
	c1=$(jq .count hints.jsonl)
	rk-launch -k e=echo --hints hints.jsonl in > /dev/null
	c2=$(jq .count hints.jsonl)
	[ "$c2" -gt "$c1" ]
	echo 'not json' > bad.jsonl
	run -2 --separate-stderr rk-launch -k e=echo --hints bad.jsonl in
	assert_equal "$stderr" "rk-launch: error (at bad.jsonl:1): invalid JSON at column 3: invalid token near 'not'"
}

@test "a YAML topology, with options that override it" {
	cat > topo.yaml <<-'YAML'
	k2k: true
	node_id: 4
	kernels:
	  - {name: in, plugin: forward, args: {to: sum}}
	  - name: sum
	    plugin: reduce
	    args: "op=sum"
	YAML
	msg in '[1,2,3]' > in
	run -0 rk-launch -c topo.yaml in
	run jq -c 'select(.type=="msg") | [.from, .payload, .hlc[2]]' <<<"$output"
	assert_output '["sum",[6],4]'
	run -0 rk-launch -c topo.yaml --node-id 9 in
	run jq -c 'select(.type=="msg") | .hlc[2]' <<<"$output"
	assert_output 9
	printf 'kernels:\n  - {name: a, plugin: echo, colour: red}\n' > bad.yaml
	run -2 --separate-stderr rk-launch -c bad.yaml in
	assert_equal "$stderr" "rk-launch: error (at bad.yaml:2:29): unknown key 'colour'"
}

@test "the memory guard refuses a launch past --max-memory, exit 2" {
	run -2 --separate-stderr rk-launch -k e=echo --max-memory 1MiB </dev/null
	[[ "$stderr" == "rk-launch: error: cannot launch 'e': "*" bytes do not fit: 0 of 943718 usable bytes in use (limit 1048576, margin 0.10)" ]]
	run -0 rk-launch -k e=echo --max-memory 1MiB --queue-capacity 2 --max-payload 1k </dev/null
}

@test "a missing plugin is exit 3, a plugin of the wrong kind too" {
	run -3 --separate-stderr rk-launch -k e=nosuch </dev/null
	[[ "$stderr" == "rk-launch: error: plugin 'nosuch' not found (searched "* ]]
	run -3 --separate-stderr rk-launch -k e=cpu </dev/null
	[[ "$stderr" == *"is a backend plugin, not a kernel"* || "$stderr" == *"kernel"* ]]
}

@test "--status writes kernel records while running" {
	{ msg e '[1]'; sleep 1; msg e '[2]'; } | rk-launch -k e=echo --status 0.1 > out
	[ "$(grep -c '"type":"kernel"' out)" -ge 3 ]
	[ "$(grep -c '"type":"msg"' out)" -eq 2 ]
}

@test "answers come as soon as messages arrive, before the input ends" {
	mkfifo fifo
	rk-launch -k e=echo < fifo > out &
	exec 7> fifo
	msg e '[1]' >&7
	for i in $(seq 50); do grep -q '"corr":1,' out && break; sleep 0.1; done
	grep -q '"corr":1,' out
	exec 7>&-
	wait
	grep -q '"type":"metrics"' out
}

@test "a K2K cycle answers every message at once: 6000 round a<->b, each stopped by max hops" {
	for i in $(seq 6000); do msg a '[1]'; done > in
	run -4 --separate-stderr timeout 60 rk-launch --k2k -k a=forward:to=b -k b=forward:to=a in
	run -0 jq -s '[.[] | select(.type=="error")] | [length, (map(.corr) | unique | length)]' <<<"$output"
	assert_output "$(printf '[\n  6000,\n  6000\n]')"
	run -0 jq -c 'select(.type=="metrics") | [.sent, .answered, .in_flight]' <<<"$(rk-launch --k2k -k a=forward:to=b -k b=forward:to=a in 2>/dev/null)"
	assert_output '[6000,6000,0]'
}

# Starts rk-launch on a fifo that stays open, writes n messages for e,
# and waits until their answers are out.
start_on_fifo() { # start_on_fifo N ARGS...
	local n=$1
	shift
	mkfifo f
	rk-launch "$@" f > out 2> err &
	pid=$!
	exec 5> f # bats owns 3
	for i in $(seq "$n"); do msg e "[$i]"; done >&5
	for _ in $(seq 100); do
		[ "$(grep -c '"type":"msg"' out)" -ge "$n" ] && break
		sleep 0.05
	done
}

# Sends signal SIG to $pid and sets status to its exit status (137 when
# it was still running 5 s later and had to be killed).
signal_and_wait() { # signal_and_wait SIG
	kill -"$1" "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	status=0
	wait "$pid" || status=$?
	exec 5>&-
}

@test "SIGTERM: stops reading, answers what was read, writes the records, exit 143" {
	start_on_fifo 5 -k e=echo
	signal_and_wait TERM
	assert_equal "$status" 143
	run -0 jq -s -c '[(map(select(.type=="msg")) | length), (map(select(.type=="kernel")) | length), (map(select(.type=="metrics"))[0] | [.sent, .answered])]' out
	assert_output '[5,1,[5,5]]'
}

@test "SIGINT: the same, exit 130" {
	start_on_fifo 3 -k e=echo
	signal_and_wait INT
	assert_equal "$status" 130
	run -0 jq -c 'select(.type=="metrics") | [.sent, .answered]' out
	assert_output '[3,3]'
}

@test "a second signal ends it at once (here: while a handler hangs)" {
	start_on_fifo 1 --plugin-dir "$COREN_TEST_PLUGINS" -k e=echo -k s=stall # handlers are up
	msg s '[-1]' >&5
	sleep 1 # read and hung
	kill -TERM "$pid"
	sleep 0.5
	run kill -0 "$pid" # still answering what it read: the hung message
	assert_success
	signal_and_wait TERM
	assert_equal "$status" 143
	run -1 grep -q '"type":"metrics"' out
}

@test "--kernel-timeout: a hung handler fails its kernel, its messages get errors, the others go on" {
	{ msg s '[-1]' ',"corr":1'; msg s '[2]' ',"corr":2'; msg e '[3]' ',"corr":3'; } > in
	run -4 --separate-stderr timeout 30 rk-launch --plugin-dir "$COREN_TEST_PLUGINS" \
		--kernel-timeout 200 -k s=stall -k e=echo in
	assert_line '{"type":"error","corr":1,"from":"s","reason":"kernel '\''s'\'' failed: its handler ran longer than 200 ms (kernel_timeout_ms)"}'
	assert_line --regexp '^\{"type":"error","corr":2,.*failed'
	assert_line --regexp '^\{"type":"msg","from":"e","corr":3,'
	run -0 jq -c 'select(.type=="kernel") | [.name, .state]' <<<"$output"
	assert_line '["s","failed"]'
	assert_line '["e","terminated"]'
	run -0 jq -c 'select(.type=="metrics") | [.sent, .answered, .in_flight]' <<<"$(rk-launch --plugin-dir "$COREN_TEST_PLUGINS" --kernel-timeout 200 -k s=stall -k e=echo in 2>/dev/null)"
	assert_output '[3,3,0]'
}

@test "kernel_timeout_ms in a topology" {
	printf 'kernel_timeout_ms: 100\nkernels:\n  - {name: s, plugin: stall}\n' > t.yaml
	msg s '[-1]' > in
	run -4 --separate-stderr timeout 30 rk-launch --plugin-dir "$COREN_TEST_PLUGINS" -c t.yaml in
	assert_line --partial 'longer than 100 ms'
}

@test "a crash in a handler names the kernel" {
	{ msg e '[1]'; msg s '[666]'; } > in
	run -139 --separate-stderr rk-launch --plugin-dir "$COREN_TEST_PLUGINS" -k e=echo -k s=stall in
	assert_equal "${stderr_lines[0]}" "rk-launch: error: kernel 's' crashed (SIGSEGV)"
}

@test "max hops: one range, 1 to 255, for --max-hops and the YAML key" {
	msg a '[1]' > in
	printf 'k2k: true\nmax_hops: 300\nkernels:\n  - {name: a, plugin: forward, args: {to: b}}\n  - {name: b, plugin: forward, args: {to: a}}\n' > t.yaml
	run -2 --separate-stderr timeout 20 rk-launch -c t.yaml in
	assert_equal "$stderr" "rk-launch: error (at t.yaml:2:11): max_hops '300': a count from 1 to 255"
	run -2 --separate-stderr rk-launch --max-hops 0 -k e=echo in
	assert_equal "${stderr_lines[0]}" "rk-launch: --max-hops '0': a count from 1 to 255"
	run -2 --separate-stderr rk-launch --max-hops 256 -k e=echo in
	assert_equal "${stderr_lines[0]}" "rk-launch: --max-hops '256': a count from 1 to 255"
	sed -i 's/max_hops: 300/max_hops: 255/' t.yaml
	run -4 --separate-stderr timeout 20 rk-launch -c t.yaml in
	assert_line --partial 'failed: max_hops'
}

@test "plugins that would crash the loader are refused, --list included" {
	mkdir -m 755 p
	so="$COREN_TEST_PLUGINS/stall.so"
	head -c $(( $(stat -c %s "$so") / 2 )) "$so" > p/trunc.so
	run -0 --separate-stderr rk-launch --list --plugin-dir p
	assert_line --regexp '"name":"echo"'
	msg t '[1]' > in
	run -3 --separate-stderr rk-launch --plugin-dir p -k t=trunc in
	assert_equal "$stderr" "rk-launch: error: plugin 'p/trunc.so' is truncated: segment $(echo "$stderr" | sed -n 's/.*segment \([0-9]*\).*/\1/p') ends at byte $(echo "$stderr" | sed -n 's/.*ends at byte \([0-9]*\).*/\1/p'), the file has $(stat -c %s p/trunc.so)"
	cp "$so" p/ww.so
	chmod 666 p/ww.so
	run -3 --separate-stderr rk-launch --plugin-dir p -k t=ww in
	assert_equal "$stderr" "rk-launch: error: plugin 'p/ww.so' is world-writable: anyone could change the code it runs (chmod o-w it, or set COREN_PLUGIN_INSECURE=1 to load it anyway)"
	COREN_PLUGIN_INSECURE=1 run -0 --separate-stderr rk-launch --plugin-dir p -k t=ww in
}

@test "a kernel's operations are read only within its struct_size" {
	msg k '[1]' > in
	run -0 --separate-stderr rk-launch --plugin-dir "$COREN_TEST_PLUGINS" -k k=shortkernel in
	assert_line --regexp '^\{"type":"msg","from":"k","corr":1,'
	assert_line --regexp '^\{"type":"kernel","name":"k",'
	run -0 --separate-stderr rk-launch --list --plugin-dir "$COREN_TEST_PLUGINS"
	assert_line --regexp '"name":"shortkernel".*"cpu":true,"cuda":false'
}
