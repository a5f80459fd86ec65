#!/usr/bin/env bats
# coren-verdict: compute or fetch, on a given machine.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	# 100 GFLOP/s, 40 GB/s, 16 GB free, 1 GB/s disk, 1 Gbit/s, 10 ms
	echo '{"type":"cap","host":"t","flops":1e11,"mem_bw":4e10,"ram_avail":16000000000,"disk_write_bw":1e9,"net_bw":1.25e8,"net_latency":0.01}' > cap.jsonl
	export COREN_CACHE_DIR="$BATS_TEST_TMPDIR/cache"
}

@test "a cost becomes a verdict: memory-bound, compute" {
	coren-cost 'sort(1e6,64,64e6)' > costs.jsonl
	run -0 coren-verdict --cap cap.jsonl costs.jsonl
	assert_output '{"type":"verdict","name":"sort(1e6,64,64e6)","score":-0.49,"action":"compute","bottleneck":"memory","t_compute":0.032,"t_fetch":0.522,"t_store":0.064,"cost":{"flops":200000000,"mem_bytes":1280000000,"peak_mem":128000000,"result_bytes":64000000}}'
}

@test "a compute-bound job with a small result: fetch" {
	coren-cost 'm = matmul(4000,4000,4000,128MB)' > costs.jsonl
	run -0 coren-verdict --cap cap.jsonl costs.jsonl
	assert_output --partial '"name":"m","score":0.246'
	assert_output --partial '"action":"fetch","bottleneck":"network","t_compute":1.28,"t_fetch":1.034'
}

@test "forced verdicts: +inf for RAM, -inf offline, none for both" {
	coren-cost 'new(1,1,1e12,1)' > big.jsonl
	run -0 coren-verdict --cap cap.jsonl big.jsonl
	assert_output --partial '"score":"+inf","action":"fetch"'
	assert_output --partial '"reason":"ram"'
	run -0 coren-verdict --cap cap.jsonl --offline big.jsonl
	assert_output --partial '"score":null,"action":"none","bottleneck":null'
	assert_output --partial '"t_fetch":null'
	assert_output --partial '"reason":"ram+offline"'
	coren-cost 'hash(1)' | coren-verdict --cap cap.jsonl --offline > out.jsonl
	run -0 cat out.jsonl
	assert_output --partial '"score":"-inf","action":"compute"'
	assert_output --partial '"reason":"offline"'
	run -0 coren-verdict --cap cap.jsonl --ram 1 big.jsonl
	assert_output --partial '"reason":"ram"'
}

@test "what-if overrides change the answer" {
	coren-cost 'sort(1e6,64,64e6)' > costs.jsonl
	run -0 coren-verdict --cap cap.jsonl --net-bw 100GB --net-latency 0 costs.jsonl
	assert_output --partial '"action":"fetch"'
	assert_output --partial '"t_fetch":0.00064'
}

@test "the machine can come from an in-stream cap record, which passes through" {
	{ cat cap.jsonl; coren-cost 'hash(1)'; } > in.jsonl
	run -0 coren-verdict in.jsonl
	assert_line --index 0 "$(cat cap.jsonl)"
	assert_line --index 1 --partial '"type":"verdict","name":"hash(1)"'
	[ ! -e "$COREN_CACHE_DIR" ]
}

@test "other records pass through unchanged and in order; a record with a cost object gets a verdict after it" {
	{ echo '{"type":"note","a" : 1}'; coren-cost 'hash(1)'
	  echo '{"type":"chunk","id":"c1","cost":{"flops":1,"mem_bytes":1,"peak_mem":1,"result_bytes":1}}'; } > in.jsonl
	run -0 coren-verdict --cap cap.jsonl in.jsonl
	assert_line --index 0 '{"type":"note","a" : 1}'
	assert_line --index 1 --partial '"type":"verdict","name":"hash(1)"'
	assert_line --index 2 '{"type":"chunk","id":"c1","cost":{"flops":1,"mem_bytes":1,"peak_mem":1,"result_bytes":1}}'
	assert_line --index 3 --partial '"type":"verdict","name":"c1"'
}

@test "helpers: --ttl, --etl-buffer, --budget" {
	coren-cost 'sort(1e6,64,64e6)' > costs.jsonl
	run -0 coren-verdict --cap cap.jsonl --ttl 1h --etl-buffer 100 --budget 10ms costs.jsonl
	# ttl = 3600 * max(0.1, 0.032 / 0.522 = 0.061) = 360
	assert_output --partial '"ttl":360.0'
	assert_output --partial '"etl_buffer_bytes":400000000'
	assert_output --partial '"budget":{"seconds":0.01,"flops":1000000000,"mem_bytes":400000000,"fits":false}'
}

@test "a bad field is reported with its position, exit 5" {
	{ coren-cost 'hash(1)'; echo '{"type":"cost","flops":"12","mem_bytes":1,"peak_mem":1,"result_bytes":1}'; } > in.jsonl
	run -5 --separate-stderr coren-verdict --cap cap.jsonl in.jsonl
	assert_equal "$stderr" "coren-verdict: error (at in.jsonl:2): field 'flops' is not an unsigned integer"
	run -5 --separate-stderr coren-verdict --cap cap.jsonl --keep-going in.jsonl
	assert_line --index 1 '{"type":"error","at":"in.jsonl:2","reason":"field '"'"'flops'"'"' is not an unsigned integer"}'
}

@test "a bad cap file is a usage error, exit 2" {
	echo '{"type":"cap","flops":0}' > bad.jsonl
	run -2 --separate-stderr coren-verdict --cap bad.jsonl < /dev/null
	assert_equal "$stderr" "coren-verdict: error (at bad.jsonl:1): field 'flops' must be positive"
	run -2 --separate-stderr coren-verdict --cap missing.jsonl < /dev/null
	[[ "$stderr" == "coren-verdict: error: cannot open 'missing.jsonl': "* ]]
	run -2 --separate-stderr coren-verdict --net-bw fast < /dev/null
	assert_equal "${stderr_lines[0]}" "coren-verdict: --net-bw 'fast': expected a number"
}

@test "a cap file written by coren-probe round-trips" {
	coren-probe --quick --json > probed.jsonl
	coren-cost 'hash(64MB)' > costs.jsonl
	run -0 coren-verdict --cap probed.jsonl costs.jsonl
	assert_output --partial '"type":"verdict","name":"hash(64MB)"'
}

@test "--table: task, W, Q, R, score, neck, action" {
	coren-cost 'sort(1e6,64,64e6)' 'm = matmul(4000,4000,4000,128MB)' > costs.jsonl
	run -0 coren-verdict --cap cap.jsonl --table costs.jsonl
	assert_output - <<'OUT'
TASK                    W         Q         R     SCORE  NECK     ACTION
sort(1e6,64,64e6)  200.0M    1.2GiB   61.0MiB  -490.0ms  memory   compute
m                  128.0G  366.2MiB  122.1MiB   246.0ms  network  fetch
OUT
}

@test "the fast path and the full path give the same verdicts" {
	# plain names take the fast path; escapes and non-ASCII the full one
	printf '%s\n' \
		'{"type":"cost","name":"plain","flops":7,"mem_bytes":3,"peak_mem":1,"result_bytes":64000000}' \
		'{"type":"cost","name":"esc\"aped","flops":7,"mem_bytes":3,"peak_mem":1,"result_bytes":64000000}' \
		'{"type":"cost","name":"caf\u00e9","flops":7,"mem_bytes":3,"peak_mem":1,"result_bytes":64000000}' > in.jsonl
	run -0 coren-verdict --cap cap.jsonl in.jsonl
	fast=$(sed -n 1p <<< "$output" | sed 's/"name":"plain"//')
	assert_equal "$(sed -n 2p <<< "$output" | sed 's/"name":"esc\\"aped"//')" "$fast"
	assert_equal "$(sed -n 3p <<< "$output" | sed 's/"name":"café"//')" "$fast"
	# and --ttl (always the full path) adds a field to the same record
	run -0 coren-verdict --cap cap.jsonl --ttl 1 in.jsonl
	assert_equal "$(sed -n 1p <<< "$output" | sed 's/"name":"plain"//; s/,"ttl":[^,}]*//')" "$fast"
}

# The cap of cap.jsonl with one GPU: 10 TFLOP/s, 1 TB/s, 8 GB, results
# back to the host at 10 GB/s.
gpu_cap() {
	jq -c '.gpus = [{"index":0,"name":"test GPU","memory":8000000000,"sms":100,"flops":1e13,"flops_fp32":2e13,"mem_bw":1e12,"h2d_bw":1e10,"d2h_bw":1e10}]' cap.jsonl > gcap.jsonl
}

@test "--gpu N prices the work on that GPU: its peak, its bandwidth, the result's way back" {
	gpu_cap
	coren-cost 'm = matmul(4000,4000,4000,128MB)' 'c = copy(1GiB)' 's = scan(1e12,0)' > costs.jsonl
	run -0 coren-verdict --cap gcap.jsonl --gpu 0 --offline costs.jsonl
	# t_compute = max(W / 1e13, Q / 1e12) + R / 1e10, and what dominates
	run -0 jq -sc 'map(. as $v | $v.cost | ([.flops / 1e13, .mem_bytes / 1e12] | max) + .result_bytes / 1e10
		| [$v.name, $v.bottleneck, ((. - $v.t_compute) | fabs) < 1e-3 * .]) ' <<< "$output"
	assert_output '[["m","compute",true],["c","transfer",true],["s","memory",true]]'
	# the same work on the CPU takes longer
	run -0 coren-verdict --cap gcap.jsonl costs.jsonl
	assert_equal "$(jq -r 'select(.name == "m") | .t_compute' <<< "$output")" 1.28
}

@test "--gpu: work that needs more than the GPU's memory must fetch; a missing GPU is an error" {
	gpu_cap
	coren-cost 'new(1,1,1e10,1)' > big.jsonl
	run -0 coren-verdict --cap gcap.jsonl big.jsonl
	assert_output --partial '"action":"compute"'
	run -0 coren-verdict --cap gcap.jsonl --gpu 0 big.jsonl
	assert_output --partial '"score":"+inf","action":"fetch"'
	assert_output --partial '"reason":"ram"'
	run -2 --separate-stderr coren-verdict --cap gcap.jsonl --gpu 1 big.jsonl
	assert_equal "$stderr" "coren-verdict: error (at gcap.jsonl): the machine has no GPU 1 (it lists 1; coren-probe measures GPUs when the cuda backend loads)"
	run -5 --separate-stderr coren-verdict --gpu 0 cap.jsonl big.jsonl
	assert_equal "$stderr" "coren-verdict: error (at cap.jsonl:1): the machine has no GPU 0 (it lists 0; coren-probe measures GPUs when the cuda backend loads)"
	jq -c 'del(.gpus[0].d2h_bw)' gcap.jsonl > nod2h.jsonl
	run -2 --separate-stderr coren-verdict --cap nod2h.jsonl --gpu 0 big.jsonl
	assert_equal "$stderr" "coren-verdict: error (at nod2h.jsonl): GPU 0: missing field 'd2h_bw'"
	run -2 --separate-stderr coren-verdict --gpu 1.5 big.jsonl
	assert_equal "${stderr_lines[0]}" "coren-verdict: --gpu '1.5': not an integer"
}

@test "--table shows a plan's 64-character chunk ids whole, as --json does" {
	export COREN_PLUGIN_PATH="$COREN_EXEC_PLUGINS"
	echo '{"type":"cap","flops":1e11,"mem_bw":4e10,"ram_avail":16000000000,"disk_write_bw":1e9,"net_bw":1.25e8,"net_latency":0.01}' > cap.jsonl
	swarm-run --split x=1,2 --memo-chunk x=1 --exec noop --cache c --plan > plan.jsonl
	id=$(jq -r 'select(.type == "chunk") | .id' plan.jsonl | head -n 1)
	assert_equal "${#id}" 64
	run -0 coren-verdict --cap cap.jsonl --table plan.jsonl
	assert_line --regexp "^$id  "
	run -0 coren-verdict --cap cap.jsonl --json plan.jsonl
	assert_line --partial "\"name\":\"$id\""
}

@test "--help does not say --offline makes every verdict compute" {
	run -0 coren-verdict --help
	refute_output --partial 'every verdict is compute'
	assert_output --partial 'ram+offline'
}
