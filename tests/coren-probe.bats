#!/usr/bin/env bats
# coren-probe: measured once, cached, reused. Uses --quick (sub-second).
# Tests of the cache use --force: on a busy machine (this suite runs
# beside builds) a measurement is disturbed and, without it, not cached.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export COREN_CACHE_DIR="$BATS_TEST_TMPDIR/cache"
}

@test "a cap record with every contract field" {
	run -0 --separate-stderr coren-probe --quick --json
	for f in host cpu cores class on_battery flops flops_core mem_bw ram_total ram_avail \
		disk_read_bw disk_write_bw net_iface net_bw net_latency gpus measured_at fingerprint; do
		echo "$output" | jq -e "has(\"$f\")" > /dev/null || { echo "missing $f"; false; }
	done
	echo "$output" | jq -e '.type == "cap" and .flops > 0 and .mem_bw > 0 and .ram_total >= .ram_avail and (.gpus | type) == "array"'
	echo "$output" | jq -e '(.class | IN("server","desktop","laptop","embedded")) and (.measured_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))'
}

@test "the second probe reads the cache; --refresh measures again" {
	run -0 --separate-stderr coren-probe --quick --force --json -vv
	assert_equal "${stderr_lines[-1]}" "coren-probe: measured"
	first=$output
	run -0 --separate-stderr coren-probe --quick --json -vv
	assert_equal "${stderr_lines[-1]}" "coren-probe: cached"
	assert_equal "$output" "$first"
	run -0 --separate-stderr coren-probe --quick --force --json -vv --refresh
	assert_equal "${stderr_lines[-1]}" "coren-probe: measured"
	ls "$COREN_CACHE_DIR"/cap-*.json
}

@test "--max-age: an old cache is measured again" {
	coren-probe --quick --force --json > /dev/null 2>&1
	f=$(ls "$COREN_CACHE_DIR"/cap-*.json)
	jq -c '.measured_at = "2001-01-01T00:00:00Z"' "$f" > old && mv old "$f"
	run -0 --separate-stderr coren-probe --quick --json -vv --max-age 1d
	assert_equal "${stderr_lines[-1]}" "coren-probe: measured"
}

@test "two concurrent probes measure once" {
	coren-probe --quick --force --json -vv > a.out 2> a.err &
	coren-probe --quick --force --json -vv > b.out 2> b.err
	wait
	run -0 cat a.err b.err
	assert_equal "$(grep -c 'coren-probe: measured' a.err b.err | awk -F: '{s+=$2} END {print s}')" 1
	assert_equal "$(grep -c 'coren-probe: cached' a.err b.err | awk -F: '{s+=$2} END {print s}')" 1
	assert_equal "$(cat a.out)" "$(cat b.out)"
}

@test "network overrides: --offline, --net-bw, --net-latency" {
	run -0 --separate-stderr coren-probe --quick --json --offline
	echo "$output" | jq -e '.net_bw == null'
	run -0 --separate-stderr coren-probe --quick --json --net-bw 10MB --net-latency 50ms
	echo "$output" | jq -e '.net_bw == 10000000 and .net_latency == 0.05'
}

@test "the report on a terminal: machine, roofline, standard jobs" {
	run -0 coren-probe --quick --table
	assert_line --partial --index 0 'machine'
	assert_output --regexp 'peak +[0-9.]+[kMGT]?FLOP/s all cores'
	assert_output --partial 'ridge point'
	assert_output --partial 'sort 1M x 64B'
	assert_output --partial 'matmul 1k^3'
}

@test "an unusable cache directory is an error, exit 2" {
	touch file
	run -2 --separate-stderr coren-probe --quick --cache-dir file/sub
	[[ "$stderr" == "coren-probe: error: cannot create directory 'file/sub'"* ]]
	run -2 --separate-stderr coren-probe --max-age soon
	assert_equal "${stderr_lines[0]}" "coren-probe: --max-age 'soon': expected a number"
	run -2 --separate-stderr coren-probe extra
	assert_equal "${stderr_lines[0]}" "coren-probe: unexpected argument 'extra'"
}

@test "an override of 0 is a value, and overrides never reach the cache" {
	run -0 --separate-stderr coren-probe --quick --force --json --net-latency 0 --net-bw 0
	echo "$output" | jq -e '.net_latency == 0 and .net_bw == null and .net_iface == null'
	run -0 --separate-stderr coren-probe --quick --json
	echo "$output" | jq -e '.net_latency == 0.01'
}

@test "GPUs: none without a loadable cuda backend (-v says why), none with --no-gpu" {
	mkdir empty
	COREN_PLUGIN_PATH=$PWD/empty run -0 --separate-stderr coren-probe --quick --refresh -v --json
	assert_equal "$(jq -c .gpus <<< "$output")" "[]"
	[[ "$stderr" == *"coren-probe: info: no GPU figures: "* ]]
	run -0 --separate-stderr coren-probe --quick --refresh --no-gpu -v --json
	assert_equal "$(jq -c .gpus <<< "$output")" "[]"
	[[ "$stderr" != *"GPU"* ]]
}

@test "the report has a line for each GPU of the cap record" {
	coren-probe --quick --force --no-gpu --json >/dev/null 2>&1
	f=$(echo "$COREN_CACHE_DIR"/cap-*.json)
	jq -c '.gpus = [{"index":0,"name":"Test GPU","memory":85899345920,"sms":132,"flops":6.7e13,"flops_fp32":6.7e13,"mem_bw":3.0e12,"memcpy_bw":2.9e12,"h2d_bw":5.5e10,"d2h_bw":5.4e10}]' "$f" >new.json
	mv new.json "$f"
	run -0 coren-probe --table
	assert_line 'gpu        0: Test GPU, 80.0GiB, 67.0TFLOP/s FP64, 67.0TFLOP/s FP32, 2.7TiB/s (triad), 51.2GiB/s h2d, 50.3GiB/s d2h'
}

# A busy loop on every CPU but one: the probe runs on all of them, so
# whichever it shares is disturbed.
busy_loops() {
	local i n
	n=$(nproc)
	busy_pids=()
	for ((i = 0; i < (n > 1 ? n - 1 : 1); i++)); do
		sh -c 'while :; do :; done' &
		busy_pids+=($!)
	done
}

stop_busy_loops() {
	local p
	for p in "${busy_pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	busy_pids=()
}

teardown() {
	[ "${#busy_pids[@]}" -eq 0 ] || stop_busy_loops
}

@test "every measurement says how quiet the machine was" {
	run -0 --separate-stderr coren-probe --quick --force --json
	echo "$output" | jq -e '(.quality | IN("ok", "disturbed")) and .other_load >= 0 and
		.steal >= 0 and .spread >= 0 and .spread < 1 and .runnable >= 0 and .attempts >= 1'
	# ok means under every limit; disturbed, over one
	echo "$output" | jq -e '(.other_load > 0.25 or .steal > 0.05 or .spread > 0.15) == (.quality == "disturbed")'
}

@test "a busy loop on another core: retried, reported with a warning, not cached" {
	busy_loops
	sleep 0.2
	run -0 --separate-stderr coren-probe --quick --json -v
	stop_busy_loops
	echo "$output" | jq -e '.quality == "disturbed" and .attempts == 2 and .other_load > 0.25'
	[[ "$stderr" == *"coren-probe: info: measurement 1 disturbed (other tasks "* ]]
	[[ "$stderr" == *"coren-probe: warning: the measurement was disturbed (other tasks kept "*"after 2 attempts): not cached; run again when the machine is quiet, or --force to keep it"* ]]
	run -0 ls "$COREN_CACHE_DIR"
	refute_output --regexp '^cap-.*\.json$'
}

@test "--force caches a disturbed measurement, and coren-verdict says it prices with it" {
	busy_loops
	sleep 0.2
	run -0 --separate-stderr coren-probe --quick --force --json
	stop_busy_loops
	echo "$output" | jq -e '.quality == "disturbed"'
	[[ "${stderr_lines[-1]}" == *"cached all the same (--force)" ]]
	run -0 --separate-stderr coren-probe --quick --json -vv
	assert_equal "${stderr_lines[-1]}" "coren-probe: cached"
	echo "$output" | jq -e '.quality == "disturbed"'
	run -0 --separate-stderr sh -c "coren-cost 'hash(64MB)' | coren-verdict"
	[[ "${stderr_lines[0]}" == "coren-verdict: warning: pricing with a disturbed measurement of this machine (at "*"the verdicts may be wrong; 'coren-probe --refresh' when the machine is quiet" ]]
	# and so it does with the record in a file; an undisturbed one is silent
	echo "$output" | jq -e '.type == "verdict"'
	coren-probe --json > cap.jsonl
	run -0 --separate-stderr sh -c "coren-cost 'hash(64MB)' | coren-verdict --cap cap.jsonl"
	[[ "$stderr" == *"pricing with a disturbed measurement"* ]]
	jq -c '.quality = "ok"' cap.jsonl > quiet.jsonl
	run -0 --separate-stderr sh -c "coren-cost 'hash(64MB)' | coren-verdict --cap quiet.jsonl"
	assert_equal "$stderr" ""
	# the report shows it
	run -0 coren-probe --table
	assert_line --regexp '^quality +disturbed: other tasks [0-9.]+ cores, steal [0-9]+%, trials spread [0-9]+%'
}
