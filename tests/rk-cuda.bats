#!/usr/bin/env bats
# rk-launch on the CUDA backend. The same kernels' GPU handlers and ring
# protocol run everywhere the backend is built: in its emulate mode (the
# persistent loop on a host thread) when there is no GPU, and on the GPU
# when there is one. Tests needing nvcc or a GPU skip and say so.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
	[[ $COREN_BUILT_CUDA == yes ]] ||
		skip "the CUDA backend is not built (configure found no nvcc, or --without-cuda)"
}

have_gpu() {
	rk-launch --list --json | jq -e 'select(.name=="cuda" and .kind=="backend") | .unavailable == null' >/dev/null
}

need_gpu() {
	have_gpu || skip "no usable GPU: $(rk-launch --list --json | jq -r 'select(.name=="cuda") | .unavailable')"
}

# Random integer-valued float32 vectors (sums are exact in any order).
vectors() { # vectors TO COUNT [EVEN]
	awk -v to="$1" -v n="$2" -v even="${3:-0}" 'BEGIN { srand(11);
		for (i = 1; i <= n; i++) {
			len = int(rand() * 300) + 1; if (even) len *= 2;
			printf "{\"type\":\"msg\",\"to\":\"%s\",\"corr\":%d,\"payload\":[", to, i;
			for (j = 0; j < len; j++) printf "%s%d", j ? "," : "", int(rand() * 101) - 50;
			print "]}" } }'
}

answers() { # the answers of a run, by correlation: value, encoding, error or not
	jq -c 'select(.type=="msg" or .type=="error") | [.corr, .enc, .payload, .type]' | sort -n -t, -k1.2
}

# Every kernel's GPU answers equal its CPU answers; $@ are backend options.
same_as_cpu() {
	local k
	for k in "s=saxpy:a=2.5 1" "r=reduce:op=sum 0" "n=reduce:op=min 0" "x=reduce:op=max 0" \
		"h=histogram:bins=16,lo=-50,hi=50 0" "e=echo 0"; do
		local spec=${k% *} even=${k#* } name=${k%%=*}
		vectors "$name" 300 "$even" >in.jsonl
		rk-launch -k "$spec" in.jsonl | answers >cpu.out
		rk-launch -b cuda "$@" -k "$spec" in.jsonl | answers >gpu.out
		[[ $(wc -l <cpu.out) -eq 300 ]]
		diff cpu.out gpu.out || { echo "kernel $spec differs"; return 1; }
	done
}

@test "--list shows the cuda backend, why it cannot run here, and the kernels' CUDA entries" {
	run -0 --separate-stderr rk-launch --list --json
	run jq -sec '[.[] | select(.kind=="kernel") | .cuda] | all' <<<"$output"
	assert_output true
	run -0 --separate-stderr rk-launch --list --json
	run jq -ec 'select(.name=="cuda") | [.gpu, .persistent, .k2k, (.unavailable != null or .metadata.devices[0].name != null)]' <<<"$output"
	assert_output '[true,true,true,true]'
}

@test "without a GPU the backend refuses to load and names the reason, exit 3" {
	have_gpu && skip "a GPU is present"
	run -3 --separate-stderr rk-launch -b cuda -k e=echo </dev/null
	assert_equal "$stderr" "rk-launch: error (at backend 'cuda'): no CUDA device: $(rk-launch --list --json | jq -r 'select(.name=="cuda") | .unavailable | sub("^no CUDA device: "; "")')"
	run -3 --separate-stderr rk-launch --dispatch gpu-only -k e=echo </dev/null
	assert_equal "${stderr%%: no CUDA device*}" "rk-launch: error: dispatch gpu-only needs a GPU backend"
}

@test "emulated: every kernel's GPU handler answers as its CPU handler does" {
	same_as_cpu --backend-opt emulate=true
}

@test "emulated: one message through echo comes back whole, and the kernel record shows the device side" {
	printf '{"type":"msg","to":"e","corr":5,"payload":[1,2.5,-3]}\n' >in.jsonl
	run -0 --separate-stderr rk-launch -b cuda --backend-opt emulate=true -k e=echo in.jsonl
	run jq -c 'select(.type=="msg") | [.corr, .from, .enc, .payload]' <<<"$output"
	assert_output '[5,"e","f32",[1,2.5,-3]]'
	rk-launch -b cuda --backend-opt emulate=true -k e=echo in.jsonl >out.jsonl
	run jq -c 'select(.type=="kernel") | [.backend, .processed, .backend_state.device, .backend_state.processed, .backend_state.state]' out.jsonl
	assert_output '["cuda",1,"emulated",1,"exited"]'
	run jq -c 'select(.type=="metrics") | .dispatch | [.mode, .cpu, .gpu]' out.jsonl
	assert_output '["gpu-only",0,1]'
}

@test "emulated: 100000 messages through echo come back exactly once each, in order" {
	awk 'BEGIN { for (i = 1; i <= 100000; i++) printf "{\"type\":\"msg\",\"to\":\"e\",\"corr\":%d,\"payload\":[%d]}\n", i, i }' >in.jsonl
	rk-launch -b cuda --backend-opt emulate=true --queue-capacity 256 -k e=echo in.jsonl >out.jsonl
	run jq -sec '[.[] | select(.type=="msg") | .corr] as $c | ($c | length) == 100000 and $c == [range(1; 100001)] and ([.[] | select(.type=="msg") | .payload[0]] == $c)' out.jsonl
	assert_output true
}

@test "emulated: a K2K chain of GPU actors passes through device inboxes and answers as on the CPU" {
	vectors f1 200 1 >in.jsonl
	local ks=(-k f1=forward:to=f2 -k f2=forward:to=s -k s=saxpy:a=3)
	rk-launch --k2k "${ks[@]}" in.jsonl | answers >cpu.out
	rk-launch -b cuda --backend-opt emulate=true --k2k "${ks[@]}" in.jsonl >gpu.jsonl
	answers <gpu.jsonl >gpu.out
	diff cpu.out gpu.out
	run jq -c 'select(.type=="kernel") | [.name, .backend_state.forwarded, .backend_state.processed]' gpu.jsonl
	assert_output $'["f1",200,200]\n["f2",200,200]\n["s",0,200]'
	run jq -c 'select(.type=="metrics") | .k2k.delivered' gpu.jsonl
	assert_output 0 # none went through the host's broker
}

@test "emulated: K2K off is refused at launch (exit 2), a hop limit answers with errors, exit 4" {
	printf '{"type":"msg","to":"f","corr":1,"payload":[1]}\n' >in.jsonl
	run -2 --separate-stderr rk-launch -b cuda --backend-opt emulate=true -k f=forward:to=e -k e=echo in.jsonl
	assert_equal "$stderr" "rk-launch: error: kernel 'f': argument 'to' sends to 'e' over K2K, which is off (--k2k)"
	printf '{"type":"msg","to":"a","corr":2,"payload":[1]}\n' >in.jsonl
	run -4 --separate-stderr rk-launch -b cuda --backend-opt emulate=true --k2k --max-hops 3 \
		-k a=forward:to=b -k b=forward:to=a in.jsonl
	run jq -c 'select(.type=="error") | [.corr, .reason]' <<<"$output"
	assert_output '[2,"k2k delivery failed: max_hops"]'
}

@test "emulated: a payload larger than a ring slot is answered with an error, the rest goes on" {
	{ printf '{"type":"msg","to":"e","corr":1,"payload":[1]}\n'
	  awk 'BEGIN { printf "{\"type\":\"msg\",\"to\":\"e\",\"corr\":2,\"payload\":["; for (i = 0; i < 100; i++) printf "%s%d", i ? "," : "", i; print "]}" }'
	  printf '{"type":"msg","to":"e","corr":3,"payload":[3]}\n'; } >in.jsonl
	run -4 --separate-stderr rk-launch -b cuda --backend-opt emulate=true,slot_payload=256 -k e=echo in.jsonl
	run jq -sc '[.[] | select(.type=="msg" or .type=="error") | [.corr, .type, .reason]] | sort' <<<"$output"
	assert_output '[[1,"msg",null],[2,"error","the payload is larger than a GPU ring slot (backend option slot_payload)"],[3,"msg",null]]'
}

@test "emulated: hybrid dispatch sends small batches to the CPU and large ones to the GPU, answers unchanged" {
	# r gets 4 numbers a message, q 400; alternating, each batch is one message
	awk 'BEGIN { for (i = 1; i <= 60; i++) { len = i % 2 ? 4 : 400;
		printf "{\"type\":\"msg\",\"to\":\"%s\",\"corr\":%d,\"payload\":[", i % 2 ? "r" : "q", i;
		for (j = 0; j < len; j++) printf "%s%d", j ? "," : "", j % 7; print "]}" } }' >in.jsonl
	rk-launch -k r=reduce -k q=reduce in.jsonl | answers >cpu.out
	rk-launch --dispatch hybrid --gpu-threshold 100 --backend-opt emulate=true \
		-k r=reduce -k q=reduce in.jsonl >hy.jsonl
	answers <hy.jsonl >hy.out
	diff cpu.out hy.out
	run jq -c 'select(.type=="metrics") | .dispatch | [.mode, .cpu, .gpu]' hy.jsonl
	assert_output '["hybrid",30,30]'
	run jq -c 'select(.type=="kernel") | [.name, .backend, .gpu_backend, .processed, .gpu_state.processed]' hy.jsonl
	assert_output $'["r","cpu","cuda",30,0]\n["q","cpu","cuda",30,30]'
}

@test "backend options are checked" {
	run -2 --separate-stderr rk-launch -b cuda --backend-opt emulate=true,threads=33 -k e=echo </dev/null
	assert_equal "$stderr" "rk-launch: error (at backend 'cuda'): cuda: option 'threads' is not a multiple of 32"
	run -2 --separate-stderr rk-launch -b cuda --backend-opt emulate=true --grid-size 2 -k e=echo </dev/null
	assert_equal "$stderr" "rk-launch: error: cuda runs one block per actor: 'e' has grid_size 2, not 1"
}

@test "emulated: the GPU benchmark's loop answers every message, and rk-bench judges its records" {
	# rkgpubench checks each answer is its message's echo, in order, and
	# exits 1 otherwise; the timings themselves belong to make bench
	run -0 --separate-stderr rkgpubench --emulate --trips 200 --stream 20000
	run -0 jq -sc 'map([.name, .n, .payload_bytes])' <<<"$output"
	assert_output '[["rk.gpu.roundtrip.persistent",200,64],["rk.gpu.roundtrip.launch",200,64],["rk.gpu.roundtrip.speedup",null,null],["rk.gpu.sustained",20000,64]]'
	rkgpubench --emulate --trips 200 --stream 2000 >b.jsonl
	run -0 --separate-stderr rk-bench --analyze --json b.jsonl
	run -0 jq -sc 'map([.name // .workload, .metric, .n])' <<<"$output"
	assert_output '[["rk.gpu.roundtrip.persistent","time",200],["rk.gpu.roundtrip.launch","time",200],["rk.gpu.roundtrip.speedup","speedup",1],["rk.gpu.sustained","throughput",1]]'
}

@test "GPU: coren-probe measures the GPU, and coren-verdict prices work on it" {
	need_gpu
	run -0 --separate-stderr coren-probe --refresh --quick --json
	run -0 jq -c '.gpus[0] | [(.name | length > 0), .flops > 1e11, .flops_fp32 >= .flops, .mem_bw > 1e11, .memcpy_bw > 1e11, .h2d_bw > 1e9, .d2h_bw > 1e9, .error]' <<<"$output"
	assert_output '[true,true,true,true,true,true,true,null]'
	coren-probe --json >cap.jsonl
	run -0 sh -c "coren-cost 'matmul(8000,8000,8000,512MB)' | coren-verdict --cap cap.jsonl --gpu 0 --offline"
	run -0 jq -r .bottleneck <<<"$output"
	assert_output compute
}

@test "GPU: terminate under load, and the ring protocol, from C (test_rkgpu)" {
	need_gpu
	run -0 "$top_builddir/tests/unit/test_rkgpu"
	assert_output --partial " - GPU: terminate during 60000 sends: every message answered exactly once"
	refute_output --partial "not ok"
}

@test "GPU: every kernel's answers equal the CPU backend's" {
	need_gpu
	same_as_cpu
}

@test "GPU: 1000000 messages through a persistent echo actor come back exactly once each, in order" {
	need_gpu
	awk 'BEGIN { for (i = 1; i <= 1000000; i++) printf "{\"type\":\"msg\",\"to\":\"e\",\"corr\":%d,\"payload\":[%d]}\n", i, i }' >in.jsonl
	rk-launch -b cuda -k e=echo in.jsonl | jq -c 'select(.type=="msg") | [.corr, .payload[0]]' >out
	run awk -F'[][,]' '$2 != NR || $3 != NR { bad++ } END { print NR, bad + 0 }' out
	assert_output '1000000 0'
}

@test "GPU: a K2K chain of GPU actors answers as on the CPU" {
	need_gpu
	vectors f1 200 1 >in.jsonl
	local ks=(-k f1=forward:to=f2 -k f2=forward:to=s -k s=saxpy:a=3)
	rk-launch --k2k "${ks[@]}" in.jsonl | answers >cpu.out
	rk-launch -b cuda --k2k "${ks[@]}" in.jsonl | answers >gpu.out
	diff cpu.out gpu.out
}

@test "GPU: compute-sanitizer memcheck and racecheck find nothing in the ring code" {
	need_gpu
	command -v compute-sanitizer >/dev/null || PATH=$PATH:/usr/local/cuda/bin
	command -v compute-sanitizer >/dev/null || skip "compute-sanitizer not found"
	vectors f1 20 1 >in.jsonl
	local tool
	for tool in memcheck racecheck; do
		run compute-sanitizer --tool "$tool" --error-exitcode 9 \
			"$top_builddir/tools/.libs/rk-launch" -b cuda --k2k -k f1=forward:to=s -k s=saxpy in.jsonl
		[[ $status -eq 0 ]] || { echo "$tool: $output"; return 1; }
		assert_output --partial 'ERROR SUMMARY: 0 errors'
	done
}
