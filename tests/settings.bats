#!/usr/bin/env bats
# One table for every setting (issue 22): the command line and YAML go
# through the same rows, so a limit cannot differ between them; one unit
# grammar for every tool; options override the file; errors said once.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
}

sr() { # swarm-run over a one-point grid with the noop plugin
	swarm-run --split x=1 --memo-chunk x=1 --cache c --exec "$P/noop.so" "$@"
}

@test "swarm-run: the same limits from the command line and from YAML" {
	for bad in "exec_chunk 2e9" "exec_chunk 0" "exec_chunk 1.5" "workers 5000" \
		"workers 0" "retries 1000001" "timeout 3x" "exec_chunk 16MBx"; do
		set -- $bad
		opt=--${1//_/-}
		run -2 sr "$opt" "$2"
		cli=$output
		printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\ncache: c\n%s: %s\n' "$1" "$2" > e.yaml
		run -2 swarm-run -c e.yaml --exec "$P/noop.so"
		# the same reason, the option named one way, the key the other
		assert_output --partial "(at e.yaml:4:"
		[ "${cli#*\'$2\': }" != "$cli" ]
		reason=${cli#*\'$2\': }
		reason=${reason%%$'\n'*}
		assert_output --partial "$reason"
	done
}

@test "swarm-run: sizes, counts and durations take the one unit grammar" {
	run -0 sr --exec-chunk 1k --plan
	run -0 sr --workers 1_0 --plan
	printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\ncache: c\ntimeout: 1500ms\nexec_chunk: 10k\n' > e.yaml
	run -0 swarm-run -c e.yaml --plan --cmd true
	run -2 sr --remote "$PWD/tier" --tier-min-speed 1KiBx
	assert_output --partial "--tier-min-speed '1KiBx': unknown unit 'KiBx' (a size takes"
	run -0 coren-cost --max-record 16MB 'hash(1)'
	run -0 coren-cost --max-record 16MiB 'hash(1)'
}

@test "swarm-run: options override the file, the function too" {
	printf 'split: {x: [1, 2]}\nmemo_chunk: {x: 2}\ncache: c\nexec: %s\nworkers: 1\n' "$P/noop.so" > e.yaml
	run -0 swarm-run -c e.yaml --workers 2 --cmd echo 7
	assert_output --partial '"value":7'
	printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\ncache: c\ncmd: [echo, 3]\n' > c.yaml
	run -0 swarm-run -c c.yaml --exec "$P/noop.so"
	refute_output --partial '"value":3'
	run -2 swarm-run -c e.yaml --exec "$P/noop.so" --cmd echo 7
	assert_output --partial "choose one of --exec, --cmd and --coproc"
}

@test "swarm-run: a command in YAML is a list; a string is refused at its position" {
	printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\ncache: c\ncmd: echo hi\n' > e.yaml
	run -2 swarm-run -c e.yaml
	assert_output --partial "(at e.yaml:4:6): cmd: a list of strings"
}

@test "swarm-run refuses options it does not use, and says a bad option once" {
	run -2 --separate-stderr sr --json
	assert_equal "$stderr" "swarm-run: unknown option '--json'
try 'swarm-run --help'"
	run -2 --separate-stderr sr --max-record 1M
	assert_equal "${stderr%%$'\n'*}" "swarm-run: unknown option '--max-record'"
	run -2 --separate-stderr sr --exec-chunkk 3
	assert_equal "$(grep -c option <<< "$stderr")" 1
	run -2 --separate-stderr sr --plan=1
	assert_equal "${stderr%%$'\n'*}" "swarm-run: option '--plan' takes no value"
	run -2 --separate-stderr sr --workers
	assert_equal "${stderr%%$'\n'*}" "swarm-run: option '--workers' needs a value"
}

@test "swarm-run --help is generated from the table: every row, every YAML key" {
	run -0 swarm-run --help
	for k in params split memo_chunk exec_chunk axis_order cache version \
		workers exec cmd coproc timeout retries fn_id trusted_keys secret_key; do
		assert_output --partial "$k"
	done
	for o in --param --split --memo-chunk --exec-chunk --axis-order --cache \
		--exp-version --workers --exec --cmd --coproc --timeout --retries \
		--fn-id --trusted-key --secret-key --plugin-dir --isolate --stream \
		--plan --verify --gc --max-age --dry-run --all-functions --shard \
		--slurm --submit --remote --publish --fetch --explain --max-fetch \
		--tier-timeout --tier-min-speed --ca-file --trust-unsigned \
		--generate-key --public-key --cap --progress --no-progress \
		--keep-going --quiet --verbose --help --version; do
		assert_output --regexp "(  |, )$o( |$)"
	done
}

@test "coren-probe and coren-verdict share the what-if rows: one grammar, one meaning" {
	run -0 coren-probe --quick --json --net-bw 1GiB --net-latency 20ms --ram 64GiB
	assert_output --partial '"net_bw":1073741824'
	run -0 coren-probe --quick --json > cap.json
	coren-probe --quick --json > cap.json
	run -0 bash -c 'echo "{\"type\":\"cost\",\"name\":\"t\",\"flops\":1,\"mem_bytes\":1,\"peak_mem\":1,\"result_bytes\":1}" | coren-verdict --cap cap.json --net-bw 1GiB --ram 64GiB'
	for t in coren-probe coren-verdict; do
		run -2 --separate-stderr $t --net-bw 1GiBx
		assert_equal "${stderr%%$'\n'*}" "$t: --net-bw '1GiBx': unknown unit 'GiBx' (a rate takes B, k, M, G, T, P, KiB, MiB, GiB, TiB, PiB)"
	done
}

@test "options may follow operands where no option takes the rest of the line" {
	run -0 coren-cost 'hash(1)' --json --name h
	assert_output --partial '"name":"h"'
}

@test "rk-launch: the topology's rows give YAML and options one range" {
	export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
	printf '{"type":"msg","to":"e","corr":1,"payload":[1]}\n' > in
	for bad in "max_payload 65537" "max_payload 1MiB" "grid_size 257" "queue_capacity 17Mi" \
		"block_size 4097" "node_id 65536" "max_hops 0" "inbox_capacity 1.5"; do
		set -- $bad
		case $1 in
		delivery_timeout_ms) opt=--delivery-timeout ;;
		*) opt=--${1//_/-} ;;
		esac
		run -2 --separate-stderr rk-launch -k e=echo "$opt" "$2" in
		reason=${stderr#*\'$2\': }
		reason=${reason%%$'\n'*}
		[ "$reason" != "$stderr" ]
		printf 'kernels: [{name: e, plugin: echo}]\n%s: %s\n' "$1" "$2" > t.yaml
		run -2 --separate-stderr rk-launch -c t.yaml in
		assert_equal "$stderr" "rk-launch: error (at t.yaml:2:$((${#1} + 3))): $1 '$2': $reason"
	done
	# a kernel's own launch keys go through the same rows
	printf 'kernels: [{name: e, plugin: echo, grid_size: 300}]\n' > t.yaml
	run -2 --separate-stderr rk-launch -c t.yaml in
	[[ "$stderr" == *"grid_size '300': a count from 1 to 256"* ]]
	run -2 --separate-stderr rk-launch -k e=echo --table in
	assert_equal "${stderr%%$'\n'*}" "rk-launch: unknown option '--table'"
	run -0 rk-launch -k e=echo --max-payload 64KiB --queue-capacity 1k in
}

@test "a size is a size wherever it is: --ram and --etl-buffer take no fraction of a byte" {
	coren-probe --quick --json > cap.json
	for t in "coren-probe --quick --json" "coren-verdict --cap cap.json"; do
		run -2 --separate-stderr $t --ram 1.5 < /dev/null
		assert_equal "${stderr%%$'\n'*}" "${t%% *}: --ram '1.5': not an integer"
	done
	run -2 --separate-stderr coren-verdict --cap cap.json --etl-buffer 0.5 < /dev/null
	assert_equal "${stderr%%$'\n'*}" "coren-verdict: --etl-buffer '0.5': not an integer"
	run -0 coren-probe --quick --json --ram 1.5GiB
	assert_output --partial '"ram_avail":1610612736'
}

@test "rk-launch: a count that meant 'the default' as 0 is refused, from options and YAML" {
	export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
	printf '{"type":"msg","to":"e","corr":1,"payload":[1]}\n' > in
	for o in grid-size block-size queue-capacity inbox-capacity delivery-timeout max-payload max-memory gpu-threshold; do
		run -2 --separate-stderr rk-launch -k e=echo --$o 0 in
		[[ "${stderr%%$'\n'*}" =~ ^"rk-launch: --$o '0': a "(count|size)" "(from|at\ least)" 1" ]]
	done
	run -0 rk-launch -k e=echo --kernel-timeout 0 in
}

@test "rk-bench: settings that would measure or write nothing are refused before anything runs" {
	run -2 --separate-stderr rk-bench -r 2 -w 0 --metrics throughput --cmd true
	assert_equal "${stderr%%$'\n'*}" "rk-bench: --metrics: a command has no throughput; time or instructions"
	run -2 --separate-stderr rk-bench -r 2 -w 0 --min-time 1ms --sizes 0 triad
	assert_equal "${stderr%%$'\n'*}" "rk-bench: --sizes: '0' is not a size of at least 1"
	run -2 --separate-stderr rk-bench -r 2 -w 0 --no-overhead --cmd 'sleep 5' --plot /nonexistent/x.svg
	assert_equal "${stderr%%$'\n'*}" "rk-bench: plot '/nonexistent/x.svg': cannot write in '/nonexistent': No such file or directory"
	assert_equal "$output" ""
}

@test "an empty cache or function id is refused where it is written" {
	printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\ncache: ""\n' > e.yaml
	run -2 --separate-stderr swarm-run -c e.yaml --plan --cmd true
	assert_equal "$stderr" "swarm-run: error (at e.yaml:3:8): cache '': may not be empty"
	run -2 --separate-stderr swarm-run --split x=1 --memo-chunk x=1 --fn-id '' --plan
	assert_equal "${stderr%%$'\n'*}" "swarm-run: --fn-id '': may not be empty"
}
