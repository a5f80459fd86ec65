#!/bin/sh
# demo.sh - the main job of `make demo`: shows what coren can do so far.
# Each capability adds its section here as it lands.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
PATH="$top_builddir/tools:$top_builddir/tests/helpers:$PATH"
export PKG_CONFIG_PATH="$top_builddir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

section() { printf '\n== %s\n' "$*"; }

section "1. what can this machine do? (coren-probe --quick; cached afterwards, unless other tasks disturbed it)"
export COREN_CACHE_DIR="${COREN_CACHE_DIR:-$top_builddir/.demo-cache}"
coren-probe --quick --table

section "2. what will these jobs cost, and compute or fetch? (coren-cost | coren-verdict)"
coren-cost --json 'sort 1M x 64B = sort(1e6, 64, 64MB)' \
	'pipeline = scan(64e6,0) then sort(1e6,64,0) then hash(64e6)' \
	'matmul 4k^3 = matmul(4k, 4k, 4k, 128MB)' \
	'too big for RAM = new(1e9, 1e9, 1PB, 1MB)' |
	coren-verdict --table
echo "\$ coren-cost 'hash(1.5)'"
coren-cost 'hash(1.5)' || echo "(exit $?)"

section "libcoren $(pkg-config --modversion coren)"
echo "plugin directory: $(pkg-config --variable=plugindir coren)"

section "a plugin built out of tree with pkg-config"
cp "$top_srcdir/examples/plugin/square.c" "$work/"
cc -shared -fPIC -fvisibility=hidden -o "$work/square.so" "$work/square.c" \
	$(pkg-config --cflags --libs coren)
echo "\$ nm -D --defined-only square.so"
nm -D --defined-only "$work/square.so" | awk '$2 == "T" {print "  " $3}'
for x in 3 1.5 12; do
	plugload --point "{\"x\":$x}" "$work/square.so" | tail -n 1
done

section "records: exact unsigned 64-bit integers survive a round trip"
printf '%s\n' \
	'{"type":"cost","name":"sort 1M x 64B","flops":199315686,"mem_bytes":1275620352}' \
	'{"type":"cost","name":"saturated","flops":18446744073709551615,"mem_bytes":0}' \
	'{"type":"note","text":"passed through unchanged"}' > "$work/costs.jsonl"
recio --json "$work/costs.jsonl"

section "the same records as a table (what a terminal shows)"
grep '"cost"' "$work/costs.jsonl" |
	recio --table --col name:NAME --col flops:W:count --col mem_bytes:Q:bytes

section "a bad record is reported with its position (exit 5)"
printf '{"type":"cost","flops":1}\n{"type":"cost","flops":"12"}\n' > "$work/bad.jsonl"
recio --u64 flops "$work/bad.jsonl" >/dev/null || echo "(exit $?)"

section "a broken plugin is refused with a reason (exit 3)"
printf 'int not_a_plugin(void) { return 0; }\n' > "$work/broken.c"
cc -shared -fPIC -o "$work/broken.so" "$work/broken.c"
plugload "$work/broken.so" || echo "(exit $?)"

section "3. a memoized sweep, run twice: the second is all cache hits (swarm-run)"
export COREN_PLUGIN_PATH="$top_builddir/plugins/exec/.libs"
cp -R "$top_srcdir/examples/sweep" "$work/sweep"
chmod -R u+w "$work/sweep"
make -s -C "$work/sweep" CACHE="$work/chunks"
make -s -C "$work/sweep" CACHE="$work/chunks"
make -s -C "$work/sweep" CACHE="$work/chunks" minimum
echo "\$ swarm-run --split 'x=1..4' --memo-chunk x=2 --cmd sh -c 'echo \$((SWARM_V_x * SWARM_V_x))'"
swarm-run --split 'x=1..4' --memo-chunk x=2 --cache "$work/chunks" --cmd sh -c 'echo $((SWARM_V_x * SWARM_V_x))'
echo "\$ swarm-run --split 'x=1..4' --memo-chunk x=2 --cmd sh -c 'echo \$((SWARM_V_x + 100))'   (another function, the same grid and cache: its own chunks)"
swarm-run --split 'x=1..4' --memo-chunk x=2 --cache "$work/chunks" --cmd sh -c 'echo $((SWARM_V_x + 100))' |
	jq -c 'if .type == "diag" then {chunks_cached, chunks_executed} else . end'
echo "\$ swarm-run ... --plan | coren-verdict --table   (price every chunk here)"
swarm-run -c "$work/sweep/exp.yaml" --cache "$work/chunks" --plan |
	coren-verdict --table | head -n 4

section "3b. the same from Python: python3 -m coren.coproc and coren.Sweep (coren-python(7))"
cp -R "$top_srcdir/examples/python" "$work/python"
chmod -R u+w "$work/python"
(
	cd "$work/python"
	export PYTHONPATH="$top_srcdir/python" COREN_SWARM_RUN="$top_builddir/tools/swarm-run" \
		COREN_LIBCOREN="$top_builddir/.libs/libcoren.so.0" COREN_EXAMPLE_CACHE="$work/pychunks"
	echo "\$ swarm-run --param w=2.0 --split zeta=0,0.5 --split t=0..2 ... --coproc python3 -m coren.coproc model:amplitude"
	swarm-run --param w=2.0 --split zeta=0,0.5 --split t=0..2 --memo-chunk zeta=2 --memo-chunk t=3 \
		--cache "$work/pychunks" --coproc "${PYTHON:-python3}" -m coren.coproc model:amplitude | head -n 3
	echo "\$ python3 sweep.py   (twice: the second run reads every chunk from the cache)"
	"${PYTHON:-python3}" sweep.py | tail -n 2
	"${PYTHON:-python3}" sweep.py > /dev/null
)

section "4. messages through persistent actor kernels (rk-launch)"
export COREN_PLUGIN_PATH="$top_builddir/plugins/backend/.libs:$top_builddir/plugins/kernel/.libs"
awk 'BEGIN { srand(1); for (i = 1; i <= 1000; i++) printf "{\"type\":\"msg\",\"to\":\"in\",\"payload\":[%.3f,%.3f,%.3f]}\n", rand(), rand(), rand() }' > "$work/samples.jsonl"
echo "\$ rk-launch --k2k -k in=forward:to=h -k h=histogram:bins=5 < samples.jsonl   (1000 messages)"
rk-launch --k2k -k in=forward:to=h -k h=histogram:bins=5 < "$work/samples.jsonl" > "$work/answers.jsonl"
echo "answers: $(grep -c '"type":"msg"' "$work/answers.jsonl") msg records, one per message"
grep '"type":"kernel"' "$work/answers.jsonl" | jq -c '{name, state, processed, forwarded, kernel_state}'
echo "\$ echo '{\"type\":\"msg\",\"to\":\"s\",\"payload\":[1,2,10,20]}' | rk-launch -k s=saxpy:a=3"
echo '{"type":"msg","to":"s","payload":[1,2,10,20]}' | rk-launch -k s=saxpy:a=3 | head -n 1
echo "\$ rk-launch --list"
rk-launch --list | jq -r '"\(.kind)\t\(.name)\t\(.summary)"'

section "5. a quick benchmark with a regression gate (rk-bench)"
echo "\$ rk-bench --preset quick --min-time 5ms --sizes 4k,64k triad spsc hlc --save-baseline base.jsonl"
echo "  (runs are added until a change of 15% would be detectable, or 2 s pass: see n)"
rk-bench --preset quick --min-time 5ms --sizes 4k,64k --metrics time triad spsc hlc \
	--save-baseline "$work/base.jsonl" --table
echo "\$ rk-bench --analyze --baseline base.jsonl --plot rk-bench-demo.svg   (the same hlc timings, 30% slower)"
jq -c 'select(.workload == "hlc") | {workload, size, backend, metric, times: [.samples[] * 1.3]}' \
	"$work/base.jsonl" | rk-bench --analyze --baseline "$work/base.jsonl" --table \
	--plot "$top_builddir/rk-bench-demo.svg" || {
	st=$?
	case $st in
	1) echo "exit status 1: a regression, as a CI gate would see it" ;;
	6) echo "exit status 6: inconclusive, too few runs for this noise" ;;
	*) echo "exit status $st" ;;
	esac
}
echo "(the plot: $top_builddir/rk-bench-demo.svg)"
echo "\$ rk-bench --analyze --baseline base.jsonl   (3 hlc timings with 20% noise: too few to tell)"
jq -c 'select(.workload == "hlc" and .size == 4000) | {workload, size, backend, metric,
	times: [.samples[0] * 0.8, .samples[1] * 1.2, .samples[2]]}' "$work/base.jsonl" |
	rk-bench -q --analyze --baseline "$work/base.jsonl" |
	jq -c '.baseline | {verdict, change, detectable, n_current: 3}' || true

section "6. beyond one machine: shards of a sweep, and a shared chunk tier (swarm-run)"
export COREN_PLUGIN_PATH="$top_builddir/plugins/exec/.libs"
cp "$top_srcdir/examples/slurm/sweep.yaml" "$work/sweep.yaml"
cd "$work"
echo "\$ for i in 0 1 2; do swarm-run -c sweep.yaml --cache shared --shard \$i/3; done   (what a Slurm job array runs)"
for i in 0 1 2; do
	swarm-run -c sweep.yaml --cache shared --shard $i/3 |
		jq -c '{task: '$i', chunks_executed, chunks_skipped}'
done
echo "\$ swarm-run -c sweep.yaml --cache shared   (the assembly: everything cached)"
swarm-run -c sweep.yaml --cache shared | jq -c 'select(.type == "diag") | {chunks_cached, chunks_executed}'
echo "\$ swarm-run --generate-key mine --secret-key mine.sec   (a signing key; prints the public key)"
swarm-run --generate-key mine --secret-key mine.sec | tee mine.pub
echo "\$ swarm-run -c sweep.yaml --cache mine --remote tier --publish --secret-key mine.sec   (a directory tier, signed)"
mkdir tier
coren-probe --quick > cap.jsonl
swarm-run -c sweep.yaml --cache mine --remote tier --publish --secret-key mine.sec \
	--trusted-key mine.pub --cap cap.jsonl |
	jq -c 'select(.type == "diag") | {chunks_executed, chunks_published}'
export COREN_TRUSTED_KEYS="$(cat mine.pub)" # the keys whose chunks to accept
echo "\$ COREN_TRUSTED_KEYS=\$(cat mine.pub) swarm-run -c sweep.yaml --cache theirs --remote tier --explain   (fetch or compute, per chunk)"
swarm-run -c sweep.yaml --cache theirs --remote tier --explain --cap cap.jsonl |
	jq -r 'select(.type == "verdict") | "\(.name[0:12])  W=\(.cost.flops)  \(.action)  (\(.bottleneck))"' | head -n 6
swarm-run -c sweep.yaml --cache theirs2 --remote tier --cap cap.jsonl |
	jq -c 'select(.type == "diag") | {chunks_fetched, chunks_executed, chunks_untrusted, seconds_saved}'
echo "\$ swarm-run ... --trusted-key someone-else:...   (chunks nobody trusted signed are computed here)"
swarm-run --generate-key other --secret-key other.sec > other.pub
COREN_TRUSTED_KEYS= swarm-run -c sweep.yaml --cache theirs3 --remote tier --trusted-key other.pub \
	--cap cap.jsonl 2> /dev/null |
	jq -c 'select(.type == "diag") | {chunks_fetched, chunks_executed, chunks_untrusted}'
unset COREN_TRUSTED_KEYS
echo "\$ swarm-run --slurm 4 -c sweep.yaml   (the job-array script, first lines)"
swarm-run --slurm 4 -c sweep.yaml | sed -n '1,3p'
cd - > /dev/null

section "7. actors on a GPU: the same kernels through the cuda backend (rk-launch -b cuda)"
export COREN_PLUGIN_PATH="$top_builddir/plugins/backend/.libs:$top_builddir/plugins/kernel/.libs"
if [ "${COREN_BUILT_CUDA:-no}" != yes ]; then
	echo "the cuda backend is not built here (configure found no nvcc)"
else
	why=$(rk-launch --list --json | jq -r 'select(.name == "cuda") | .unavailable // empty')
	if [ -n "$why" ]; then
		echo "no usable GPU here ($why):"
		echo "the GPU handlers and the ring protocol run emulated, on a host thread"
		export COREN_CUDA_EMULATE=1
	else
		rk-launch --list --json | jq -r 'select(.name == "cuda") | .metadata.devices[] | "GPU \(.index): \(.name), \(.sms) SMs, compute capability \(.compute_capability)"'
	fi
	echo "\$ echo '{\"type\":\"msg\",\"to\":\"s\",\"payload\":[1,2,10,20]}' | rk-launch -b cuda -k s=saxpy:a=3"
	echo '{"type":"msg","to":"s","payload":[1,2,10,20]}' | rk-launch -b cuda -k s=saxpy:a=3 > "$work/gpu.jsonl"
	head -n 1 "$work/gpu.jsonl"
	jq -c 'select(.type == "kernel") | {name, backend, backend_state: (.backend_state | {device, state, processed})}' "$work/gpu.jsonl"
	unset COREN_CUDA_EMULATE
	if [ -z "$why" ]; then
		echo "\$ coren-cost 'matmul(8000,8000,8000,512MB)' | coren-verdict --gpu 0 --table   (priced on GPU 0)"
		coren-probe --refresh --quick --json > "$work/cap.jsonl"
		coren-cost 'matmul(8000,8000,8000,512MB)' | coren-verdict --cap "$work/cap.jsonl" --gpu 0 --table
	fi
fi
