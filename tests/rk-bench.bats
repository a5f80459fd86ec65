#!/usr/bin/env bats
# rk-bench: presets, workloads, --cmd, --analyze, baselines and the
# regression gate, every report format against golden files, --plot.
# Nothing here asserts how fast anything is: the regressions it injects
# are several times the threshold, and noise runs compare like with like.

load test_helper

DATA="$top_srcdir/tests/rk-bench"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# The report without the coren version, which golden files must not pin.
unversioned() {
	sed 's/"version":"[^"]*"/"version":"X"/g'
}

sanitized() {
	grep -q 'fsanitize=address' "$top_builddir/Makefile"
}

@test "--help and --version exit 0" {
	run -0 --separate-stderr rk-bench --help
	assert_line --partial 'usage: rk-bench'
	assert_output --partial 'Exit status: 0 ok, 1 regression found'
	run -0 --separate-stderr rk-bench --version
	assert_output --partial 'rk-bench'
}

@test "usage errors are one line and a hint, exit 2" {
	run -2 --separate-stderr rk-bench --preset fast
	assert_equal "${stderr_lines[0]}" "rk-bench: --preset 'fast': one of quick, default, ci, comprehensive"
	assert_equal "${stderr_lines[1]}" "try 'rk-bench --help'"
	run -2 --separate-stderr rk-bench --threshold 0
	assert_equal "${stderr_lines[0]}" "rk-bench: --threshold '0': a fraction like 0.1 or 10%"
	run -2 --separate-stderr rk-bench --runs 0
	assert_equal "${stderr_lines[0]}" "rk-bench: --runs '0': a count from 1 to 1000000, or auto"
	run -2 --separate-stderr rk-bench --cmd true --analyze
	assert_equal "${stderr_lines[0]}" "rk-bench: --cmd and --analyze do not mix"
	run -2 --separate-stderr rk-bench --metrics speed
	assert_equal "${stderr_lines[0]}" "rk-bench: --metrics: unknown metric 'speed' (time, throughput, instructions)"
	run -2 --separate-stderr rk-bench --format html
	assert_equal "${stderr_lines[0]}" "rk-bench: --format 'html': one of markdown, json, latex, tsv, jsonl"
	run -2 --separate-stderr rk-bench --sizes 1k,x
	assert_equal "${stderr_lines[0]}" "rk-bench: --sizes: 'x' is not a size"
}

@test "--list names the built-in workloads and the plugins" {
	run -0 --separate-stderr rk-bench --list --plugin-dir "$COREN_WORKLOAD_PLUGINS"
	for w in triad matmul memcpy queue roundtrip spsc hlc envelope record verdict chunk spin; do
		assert_line --regexp "^$w "
	done
	assert_line --regexp '^spin .*\(plugin .*spin.so\)'
}

@test "an unknown workload is named as such, with the known ones, exit 2" {
	run -2 --separate-stderr rk-bench nosuchworkload
	assert_equal "${stderr_lines[0]}" "rk-bench: unknown workload 'nosuchworkload' (known: triad, matmul, memcpy, queue, roundtrip, spsc, hlc, envelope, record, verdict, chunk)"
	run -2 --separate-stderr rk-bench --plugin-dir "$COREN_WORKLOAD_PLUGINS" nosuch
	[[ "${stderr_lines[0]}" == *", chunk, spin)" ]]
	# a plugin that is there but will not load is still exit 3
	printf 'not a library' > broken.so
	run -3 --separate-stderr rk-bench ./broken.so
}

@test "no arguments: a usage message, exit 2, not the whole suite" {
	run -2 --separate-stderr rk-bench
	assert_equal "${stderr_lines[0]}" "usage: rk-bench [OPTION]... WORKLOAD..."
	assert_equal "${stderr_lines[-2]}" "rk-bench: nothing to measure: name workloads (--list), --all, --cmd or --analyze"
	assert_equal "$output" ""
	run -2 --separate-stderr rk-bench --all --cmd true
	assert_equal "${stderr_lines[0]}" "rk-bench: --all runs the built-in workloads, and nothing else"
}

@test "every built-in workload runs and reports time and throughput" {
	local w
	for w in triad:4k matmul:16 memcpy:4k queue:1k roundtrip:100 spsc:1k hlc:1k envelope:64 record:10 verdict:10 chunk:10; do
		run -0 --separate-stderr rk-bench --preset quick --min-time 1ms --sizes "${w#*:}" "${w%%:*}"
		assert_equal "${#lines[@]}" 2
		echo "$output" | jq -se --arg w "${w%%:*}" '.[0] | .metric == "time" and
			.type == "bench" and .workload == $w and .n >= 3 and .mean > 0 and
			.min <= .median and .median <= .max and .ci_lo <= .mean and
			.mean <= .ci_hi and .iterations >= 1 and (.samples | length) == .n and
			(.stop | IN("detectable", "budget", "max-runs")) and
			(.machine | test("^[0-9a-f]{16}$"))'
		echo "$output" | jq -se '.[1] | .metric == "throughput" and .mean > 0 and (.unit | endswith("/s"))'
	done
}

@test "presets set warm-ups and the least runs; --warmup and --runs override them" {
	local p n
	for p in quick:5 default:5 ci:5 comprehensive:10; do
		run -0 --separate-stderr rk-bench --preset "${p%%:*}" --min-time 1ms --sizes 100 --metrics time spsc
		n=$(echo "$output" | jq .n)
		assert [ "$n" -ge "${p#*:}" ]
	done
	# warm-ups plus runs of a command, counted by the command itself:
	# fixed counts with --runs N
	for p in quick:1:4 default:3:8 ci:2:7 comprehensive:5:15; do
		rm -f count
		IFS=: read -r name w total <<< "$p"
		run -0 --separate-stderr rk-bench --preset "$name" -r $((total - w)) --no-overhead --cmd 'echo x >> count'
		assert_equal "$(wc -l < count)" "$total"
	done
	rm -f count
	run -0 --separate-stderr rk-bench --preset ci -w 0 -r 2 --no-overhead --cmd 'echo x >> count'
	assert_equal "$(wc -l < count)" 2
	assert_equal "$(echo "$output" | jq .n)" 2
}

@test "presets carry their thresholds into the comparison" {
	local p
	rk-bench -q --analyze --save-baseline base.jsonl "$DATA/base-timings.jsonl" >/dev/null
	for p in quick:0.15 default:0.1 ci:0.1 comprehensive:0.05; do
		run -1 --separate-stderr rk-bench --analyze --preset "${p%%:*}" --baseline base.jsonl "$DATA/timings.jsonl"
		assert_equal "$(echo "$output" | jq -s '.[] | select(.type == "regression") | .threshold')" "${p#*:}"
	done
	run -0 --separate-stderr rk-bench --analyze --threshold 40% --baseline base.jsonl "$DATA/timings.jsonl"
}

@test "--sizes sweeps a workload and fits its scaling" {
	run -0 --separate-stderr rk-bench --preset quick --min-time 1ms --sizes 16,32,64 --metrics time matmul
	assert_equal "${#lines[@]}" 3
	echo "$output" | jq -se 'map(.size) == [16, 32, 64] and
		all(.scaling.exponent > 0 and (.scaling.quality | type) == "string")'
}

@test "a scaling fit on a synthetic power law finds its exponent" {
	for n in 10 100 1000 10000; do
		awk -v n=$n 'BEGIN { for (i = 0; i < 5; i++) printf "{\"workload\":\"quad\",\"size\":%d,\"time\":%.12g}\n", n, 3e-9 * n * n * (1 + 0.001 * i) }'
	done > quad.jsonl
	run -0 --separate-stderr rk-bench --analyze quad.jsonl
	echo "$output" | jq -se 'all(.scaling.exponent > 1.999 and .scaling.exponent < 2.001 and
		.scaling.r2 > 0.9999 and .scaling.quality == "excellent")'
}

@test "every report format matches its golden file" {
	local f
	for f in markdown json latex tsv jsonl; do
		run -1 --separate-stderr rk-bench --analyze --format "$f" --baseline "$DATA/baseline.jsonl" "$DATA/timings.jsonl"
		assert_equal "${stderr_lines[0]}" "rk-bench: 1 regression beyond 10%"
		echo "$output" | unversioned > "out.$f"
		diff -u "$DATA/expected.$f" "out.$f"
	done
	jq -e '.regressions | length == 1' out.json
}

@test "JSONL on a pipe, the markdown report on --table" {
	run -0 --separate-stderr rk-bench --analyze "$DATA/base-timings.jsonl"
	assert_equal "$(echo "$output" | jq -r .type | sort -u)" bench
	run -0 --separate-stderr rk-bench --table --analyze "$DATA/base-timings.jsonl"
	assert_line --index 0 --regexp '^\| benchmark \| size \| metric \| mean \|'
}

@test "--analyze reads bare numbers, hyperfine results and bench records" {
	printf '0.11\n0.12\n0.10\n0.13\n0.115\n' > numbers
	run -0 --separate-stderr rk-bench --analyze numbers
	echo "$output" | jq -e '.workload == "stdin" and .n == 5 and (.mean - 0.115 | fabs) < 1e-12 and .median == 0.115 and .min == 0.1 and .max == 0.13'
	echo '{"command":"sleep 1","mean":1.0,"times":[1.0,1.1,0.9]}' > hf
	run -0 --separate-stderr rk-bench --analyze hf
	echo "$output" | jq -e '.workload == "sleep 1" and .n == 3 and .metric == "time"'
	rk-bench --analyze numbers > recs
	run -0 --separate-stderr rk-bench --analyze recs
	echo "$output" | jq -e '.n == 5 and (.mean - 0.115 | fabs) < 1e-12'
}

@test "--analyze: bad input is exit 5 with its position; --keep-going keeps the rest" {
	printf '{"name":"a","time":1}\n{"name":"a","time":"x"}\n' > bad1
	run -5 --separate-stderr rk-bench --analyze bad1
	assert_equal "${stderr_lines[0]}" "rk-bench: error (at bad1:2): field 'time' is not a number or an array of numbers"
	printf '{"name":"a","time":1}\nnot json\n{"name":"a"}\n{"name":"a","time":2}\n' > bad2
	run -5 --separate-stderr rk-bench --analyze --keep-going bad2
	echo "$output" | jq -se '.[0].type == "bench" and .[0].n == 2 and
		.[1] == {"type":"error","at":"bad2:2","reason":"not valid JSON"} and
		.[2].at == "bad2:3"'
	assert_equal "${stderr_lines[-1]}" "rk-bench: 2 bad records"
	run -2 --separate-stderr rk-bench --analyze missing.jsonl
}

@test "--cmd: an injected slowdown is a regression, exit 1" {
	rk-bench -q --cmd 'sleep 0.02' -n nap --save-baseline base.jsonl >/dev/null
	run -1 --separate-stderr rk-bench --cmd 'sleep 0.1' -n nap --baseline base.jsonl
	echo "$output" | jq -se '.[-1].type == "regression" and .[-1].workload == "nap" and
		.[-1].change > 1 and .[-1].p < 0.05 and .[0].baseline.verdict == "regression"'
	# (on a loaded machine a warning about the runs may come first)
	[[ "$stderr" == *"rk-bench: 1 regression beyond 10%"* ]]
	# and the way back is an improvement, exit 0
	rk-bench -q --cmd 'sleep 0.1' -n nap --save-baseline slow.jsonl >/dev/null
	run -0 --separate-stderr rk-bench --cmd 'sleep 0.02' -n nap --baseline slow.jsonl
	echo "$output" | jq -e '.baseline.verdict == "improved"'
}

@test "--cmd: the same command against its own baseline is never a regression" {
	rk-bench -q --cmd 'sleep 0.05' -n nap --save-baseline base.jsonl >/dev/null
	for i in 1 2 3; do
		# 0, or 6 (inconclusive) when load made the runs too noisy to
		# detect the threshold: never 1
		run --separate-stderr rk-bench --cmd 'sleep 0.05' -n nap --baseline base.jsonl
		[ "$status" -eq 0 ] || [ "$status" -eq 6 ]
		echo "$output" | jq -e '.baseline.verdict != "regression"'
	done
}

@test "noise alone never gates: 40 rounds of 5% noise against a baseline exit 0" {
	gen() { # gen SEED SHIFT: 8 samples of 1.0 * SHIFT with 5% Gaussian noise
		awk -v s="$1" -v f="$2" 'BEGIN { srand(s); for (i = 0; i < 8; i++) {
			u = rand(); v = rand(); z = sqrt(-2 * log(u + 1e-12)) * cos(6.2831853 * v)
			printf "{\"workload\":\"noisy\",\"time\":%.9f}\n", f * (1 + 0.05 * z) } }'
	}
	gen 1 1 | rk-bench -q --analyze --save-baseline base.jsonl >/dev/null
	for seed in $(seq 2 41); do
		gen "$seed" 1 > cur
		run -0 --separate-stderr rk-bench --analyze --baseline base.jsonl cur
	done
	# while a 30% slowdown under the same noise is caught
	gen 99 1.3 > cur
	run -1 --separate-stderr rk-bench --analyze --baseline base.jsonl cur
}

@test "a change within the threshold is unchanged; one without significance or power, inconclusive" {
	rk-bench -q --analyze --save-baseline base.jsonl "$DATA/base-timings.jsonl" >/dev/null
	# parse is 20% faster on average but with an outlier: p > 0.05, and
	# these 6 runs could not have seen a change of 10%
	run -1 --separate-stderr rk-bench --analyze --baseline base.jsonl "$DATA/timings.jsonl"
	echo "$output" | jq -se 'map(select(.workload == "parse"))[0].baseline |
		.verdict == "inconclusive" and .change < -0.1 and .p > 0.05 and .detectable > 0.1'
	echo "$output" | jq -se 'map(select(.workload == "sort" and .size == 10000))[0].baseline.verdict == "unchanged"'
	echo "$output" | jq -se 'map(select(.workload == "hash"))[0].baseline.verdict == "unchanged"'
}

@test "throughput regresses when it falls, time when it rises" {
	printf '{"workload":"h","metric":"throughput","unit":"bytes/s","times":[100,101,99,100,100]}\n' | rk-bench -q --analyze --save-baseline base.jsonl >/dev/null
	printf '{"workload":"h","metric":"throughput","unit":"bytes/s","times":[70,71,69,70,70]}\n' > slower
	run -1 --separate-stderr rk-bench --analyze --baseline base.jsonl slower
	echo "$output" | jq -se '.[1].type == "regression" and .[1].change < -0.25'
	printf '{"workload":"h","metric":"throughput","unit":"bytes/s","times":[130,131,129,130,130]}\n' > faster
	run -0 --separate-stderr rk-bench --analyze --baseline base.jsonl faster
	echo "$output" | jq -e '.baseline.verdict == "improved"'
}

@test "a baseline from another machine warns; a broken one is an error" {
	rk-bench -q --preset quick --min-time 1ms --sizes 100 --metrics time spsc --save-baseline base.jsonl >/dev/null
	jq -c '.machine = "0123456789abcdef"' base.jsonl > other.jsonl
	run -0 --separate-stderr rk-bench --preset quick --min-time 1ms --sizes 100 --metrics time --threshold 500% spsc --baseline other.jsonl
	assert_equal "${stderr_lines[0]:0:67}" "rk-bench: warning: baseline 'other.jsonl' was measured on another m"
	printf '{"type":"bench","workload":"x"}\n' > broken.jsonl
	run -5 --separate-stderr rk-bench --analyze --baseline broken.jsonl "$DATA/timings.jsonl"
	assert_equal "${stderr_lines[0]}" "rk-bench: error (at broken.jsonl:1): bench record without 'workload' or 'metric'"
	run -2 --separate-stderr rk-bench --analyze --baseline nothere.jsonl "$DATA/timings.jsonl"
	assert_equal "${stderr_lines[0]}" "rk-bench: error: cannot open baseline 'nothere.jsonl': No such file or directory"
}

@test "--save-baseline writes the bench records it reports" {
	run -0 --separate-stderr rk-bench --analyze --save-baseline base.jsonl "$DATA/base-timings.jsonl"
	assert_equal "$(jq -c . base.jsonl)" "$(echo "$output" | jq -c .)"
}

@test "--cmd: --prepare runs before every run, untimed" {
	run -0 --separate-stderr rk-bench -w 1 -r 3 --no-overhead --prepare 'echo p >> log' --cmd 'echo c >> log'
	assert_equal "$(tr '\n' ' ' < log)" "p c p c p c p c "
}

@test "--cmd: a failing command is exit 2 unless --ignore-failure" {
	run -2 --separate-stderr rk-bench --cmd 'exit 3'
	assert_equal "${stderr_lines[0]}" "rk-bench: error: 'exit 3' exited with status 3 (use --ignore-failure to time it anyway)"
	run -0 --separate-stderr rk-bench -i -r 2 --cmd 'exit 3'
	echo "$output" | jq -e '.n == 2 and .backend == "shell"'
}

@test "--cmd: --timeout kills a command that runs too long" {
	run -2 --separate-stderr rk-bench --timeout 200ms --cmd 'sleep 30'
	assert_equal "${stderr_lines[0]}" "rk-bench: error: 'sleep 30' ran longer than 0.2 s, killed"
}

@test "--cmd: names, several commands, stderr kept on request" {
	run -0 --separate-stderr rk-bench -r 2 -n one -n two --cmd true --cmd 'true 2'
	echo "$output" | jq -se 'map(.workload) == ["one", "two"]'
	run -0 --separate-stderr rk-bench -r 1 -w 0 --show-output --cmd 'echo visible >&2'
	assert_equal "$stderr" "visible"
	run -0 --separate-stderr rk-bench -r 1 -w 0 --cmd 'echo hidden >&2'
	assert_equal "$stderr" ""
}

@test "--cmd: each run's environment has a random size, as hyperfine's" {
	cd "$BATS_TEST_TMPDIR"
	run -0 --separate-stderr rk-bench -q -r 8 -w 0 --cmd 'printf "%s\n" "${#RK_BENCH_RANDOMIZED_ENVIRONMENT_OFFSET}" >> lens'
	# the 8 runs and the shell's 31 empty ones (which run no printf): 8 lengths
	assert_equal "$(wc -l < lens)" 8
	run -0 awk '$1 < 0 || $1 > 4095 || $1 != int($1) { bad++ } END { print bad + 0 }' lens
	assert_output 0
	[ "$(sort -u lens | wc -l)" -ge 4 ] # drawn anew: 8 of 4096 values
	run -0 env RK_BENCH_RANDOMIZED_ENVIRONMENT_OFFSET=mine rk-bench -q -r 2 -w 0 -N --cmd 'sh -c "env >> envs"'
	assert_equal "$(grep -c '^RK_BENCH_RANDOMIZED_ENVIRONMENT_OFFSET=' envs)" 2 # replaced, never twice
	run grep -c '=mine$' envs
	assert_output 0
}

@test "a workload plugin runs, and counts instructions exactly" {
	sanitized && skip "valgrind cannot run a sanitizer build"
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	run -0 --separate-stderr rk-bench --plugin-dir "$COREN_WORKLOAD_PLUGINS" --preset quick --min-time 1ms --sizes 1000 --metrics time,instructions spin
	echo "$output" | jq -se '.[0].workload == "spin" and .[1].metric == "instructions" and .[1].mean > 1000'
	a=$(echo "$output" | jq -s '.[1].mean')
	run -0 --separate-stderr rk-bench --plugin-dir "$COREN_WORKLOAD_PLUGINS" --sizes 1000 --metrics instructions spin
	assert_equal "$(echo "$output" | jq .mean)" "$a"
}

@test "instructions: deterministic, judged by the threshold alone" {
	sanitized && skip "valgrind cannot run a sanitizer build"
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	rk-bench -q --metrics instructions --sizes 64 envelope --save-baseline base.jsonl >/dev/null
	run -0 --separate-stderr rk-bench --metrics instructions --sizes 64 envelope --baseline base.jsonl
	echo "$output" | jq -e '.baseline.change == 0 and .baseline.verdict == "unchanged"'
	# a baseline 20% cheaper: the same code now reads as a regression
	jq -c '.samples = [.mean * 0.8] | .mean = .mean * 0.8' base.jsonl > cheaper.jsonl
	run -1 --separate-stderr rk-bench --metrics instructions --sizes 64 envelope --baseline cheaper.jsonl
	echo "$output" | jq -se '.[1].type == "regression" and .[1].test == "threshold"'
}

@test "--plot draws through gnuplot, or says it cannot" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
	rk-bench -q --preset quick --min-time 1ms --sizes 1k,4k --metrics throughput triad memcpy --save-baseline base.jsonl --plot one.svg >/dev/null
	grep -q 'throughput against size' one.svg
	run -0 --separate-stderr rk-bench --preset quick --min-time 1ms --sizes 1k,4k --metrics throughput triad memcpy --baseline base.jsonl --threshold 900% --plot two.png
	assert_equal "$(head -c 4 two.png | tail -c 3)" "PNG"
	run -2 --separate-stderr rk-bench --analyze --plot x.pdf "$DATA/timings.jsonl"
	assert_equal "${stderr_lines[0]}" "rk-bench: plot 'x.pdf': the name must end in .svg or .png"
}

@test "--plot without gnuplot warns and still reports" {
	run -0 --separate-stderr env GNUPLOT=/nonexistent/gnuplot rk-bench --analyze --plot p.svg "$DATA/base-timings.jsonl"
	assert_equal "${stderr_lines[0]}" "rk-bench: warning: gnuplot is not installed, so no plot (apt-get install gnuplot-nox)"
	assert [ ! -e p.svg ]
	assert_equal "${#lines[@]}" 5
}

# The detectable change of a comparison, computed here independently of
# lib/bench: t quantiles by bisection on the t density integrated with
# Simpson's rule, Welch's df, (t(.975) + t(.8)) * se / baseline mean.
detectable_py() { # detectable_py BASE_SAMPLES CUR_SAMPLES (JSON arrays)
	python3 - "$1" "$2" <<'PY'
import json, math, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def pdf(x, df):
    return math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi) * (1 + x * x / df) ** (-(df + 1) / 2)
def cdf(t, df, n=4000):
    h = t / n
    s = pdf(0, df) + pdf(t, df) + sum((4 if i % 2 else 2) * pdf(i * h, df) for i in range(1, n))
    return 0.5 + s * h / 3
def q(p, df):
    lo, hi = 0.0, 60.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2
def mv(x):
    m = sum(x) / len(x)
    return m, sum((v - m) ** 2 for v in x) / (len(x) - 1)
(ma, va), (mb, vb) = mv(a), mv(b)
ea, eb = va / len(a), vb / len(b)
df = (ea + eb) ** 2 / (ea ** 2 / (len(a) - 1) + eb ** 2 / (len(b) - 1))
print("%.6f" % ((q(0.975, df) + q(0.8, df)) * math.sqrt(ea + eb) / ma))
PY
}

@test "every comparison states the smallest change it detects, as computed independently" {
	command -v python3 >/dev/null || skip "python3 is not installed"
	local base cur want got
	for pair in '[1.0,1.1,0.9,1.05,0.95]|[1.02,1.12,0.91,1.0,0.97,1.08]' \
		    '[0.5,0.52,0.49]|[0.6,0.5,0.55,0.58]' \
		    '[10,11,10.5,9.8,10.1,10.4,10.2,9.9]|[10,13,9,12,11,10.5,8,14]'; do
		base=${pair%|*} cur=${pair#*|}
		echo "{\"workload\":\"w\",\"times\":$base}" | rk-bench -q --analyze --save-baseline base.jsonl >/dev/null
		echo "{\"workload\":\"w\",\"times\":$cur}" > cur.jsonl
		run --separate-stderr rk-bench --analyze --baseline base.jsonl cur.jsonl
		got=$(echo "$output" | jq '.baseline.detectable * 1e6 | round')
		want=$(detectable_py "$base" "$cur" | awk '{ printf "%d", $1 * 1e6 + 0.5 }')
		echo "# $pair: rk-bench $got, python $want (1e-6)" >&3
		assert [ $((got - want)) -le 2 ] && assert [ $((want - got)) -le 2 ]
		echo "$output" | jq -e '.baseline.power == 0.8'
	done
}

@test "a comparison that could not see the threshold is inconclusive, exit 6" {
	# 3 runs a side with 10% noise: a 10% change could go unseen
	echo '{"workload":"w","times":[1.0,1.1,0.9]}' | rk-bench -q --analyze --save-baseline base.jsonl >/dev/null
	echo '{"workload":"w","times":[1.05,0.95,1.12]}' > cur.jsonl
	run -6 --separate-stderr rk-bench --analyze --baseline base.jsonl cur.jsonl
	echo "$output" | jq -e '.baseline.verdict == "inconclusive" and .baseline.detectable > 0.1 and .baseline.n == 3'
	assert_equal "${stderr_lines[0]}" "rk-bench: 1 inconclusive: a change of 10% could go unseen with this noise and these runs (--runs auto, --budget)"
	# the markdown report says it too
	run -6 --separate-stderr rk-bench --analyze --table --baseline base.jsonl cur.jsonl
	assert_output --partial '**1 inconclusive**'
	assert_line --partial '- w (size -, time): detects '
	# the same noise over 40 runs a side can tell: unchanged, exit 0
	awk 'BEGIN { printf "{\"workload\":\"w\",\"times\":["; for (i = 0; i < 40; i++) printf "%s%g", i ? "," : "", 1 + 0.1 * ((i % 3) - 1); print "]}" }' | rk-bench -q --analyze --save-baseline base40.jsonl >/dev/null
	awk 'BEGIN { printf "{\"workload\":\"w\",\"times\":["; for (i = 0; i < 40; i++) printf "%s%g", i ? "," : "", 1.01 + 0.1 * (((i + 1) % 3) - 1); print "]}" }' > cur40.jsonl
	run -0 --separate-stderr rk-bench --analyze --baseline base40.jsonl cur40.jsonl
	echo "$output" | jq -e '.baseline.verdict == "unchanged" and .baseline.detectable < 0.1'
	# a regression outranks an inconclusive comparison: exit 1
	printf '%s\n' '{"workload":"w","times":[1.0,1.1,0.9]}' '{"workload":"v","times":[1,1.01,0.99,1,1]}' | rk-bench -q --analyze --save-baseline both.jsonl >/dev/null
	printf '%s\n' '{"workload":"w","times":[1.05,0.95,1.12]}' '{"workload":"v","times":[2,2.01,1.99,2,2]}' > both-cur.jsonl
	run -1 --separate-stderr rk-bench --analyze --baseline both.jsonl both-cur.jsonl
	assert_equal "${stderr_lines[0]}" "rk-bench: 1 regression beyond 10%"
}

@test "regression records carry the comparison as the bench records do" {
	echo '{"workload":"w","times":[1.0,1.01,0.99,1.0,1.0]}' | rk-bench -q --analyze --save-baseline base.jsonl >/dev/null
	echo '{"workload":"w","times":[1.3,1.31,1.29,1.3,1.3]}' > cur.jsonl
	run -1 --separate-stderr rk-bench --analyze --baseline base.jsonl cur.jsonl
	echo "$output" | jq -se '.[0].baseline == .[1].baseline and
		(.[1].baseline | type) == "object" and .[1].baseline.verdict == "regression" and
		.[1].detectable == .[1].baseline.detectable'
}

@test "--runs auto adds runs until the threshold is detectable, or says why it stopped" {
	# a command whose time alternates 10 ms and 30 ms: too noisy for 10%
	# within a 1 s budget
	cat > alt.sh <<'SH'
n=$(cat c 2>/dev/null || echo 0); echo $((n + 1)) > c
if [ $((n % 2)) = 0 ]; then sleep 0.01; else sleep 0.03; fi
SH
	run -0 --separate-stderr rk-bench --runs auto --budget 1s -w 0 --no-overhead --cmd 'sh alt.sh' -n alt
	echo "$output" | jq -e '.stop == "budget" and .n > 5 and .detectable > 0.1'
	assert_equal "${stderr_lines[0]%%detectable*}" "rk-bench: warning: 'alt': after $(echo "$output" | jq .n) runs (the time budget ended) the smallest "
	assert_output --partial '"stop":"budget"'
	assert [ "$(cat c)" -eq "$(echo "$output" | jq .n)" ]
	# --max-runs ends it first
	rm -f c
	run -0 --separate-stderr rk-bench -M 8 --budget 30s -w 0 --no-overhead --cmd 'sh alt.sh' -n alt
	echo "$output" | jq -e '.stop == "max-runs" and .n == 8'
	assert_equal "$(cat c)" 8
	# a steady command stops once a 50% change is detectable (at 5 runs
	# on a quiet machine; later on a loaded one, never before 5)
	run -0 --separate-stderr rk-bench --runs auto --threshold 50% --budget 30s --cmd 'sleep 0.02'
	echo "$output" | jq -e '.stop == "detectable" and .n >= 5 and .detectable <= 0.5'
	# --runs N is a fixed count
	run -0 --separate-stderr rk-bench -r 3 -w 0 --cmd 'sh alt.sh'
	echo "$output" | jq -e '.stop == "runs" and .n == 3'
	# of any size, whatever --max-runs would allow auto
	run -0 --separate-stderr rk-bench -r 1200 -w 0 --no-overhead --cmd true
	echo "$output" | jq -e '.stop == "runs" and .n == 1200'
	run -2 --separate-stderr rk-bench -m 5 -M 3 --cmd true
	assert_equal "${stderr_lines[0]}" "rk-bench: --max-runs 3 is below the 5 runs asked"
}

@test "--runs auto aims at the baseline's noise" {
	# a baseline of 3 noisy runs: no count of current runs can make a 10%
	# change detectable, so the budget ends it
	echo '{"workload":"nap","backend":"shell","times":[0.01,0.03,0.02]}' | rk-bench -q --analyze --save-baseline base.jsonl >/dev/null
	run --separate-stderr rk-bench --runs auto --budget 500ms -n nap --cmd 'sleep 0.02' --baseline base.jsonl
	echo "$output" | jq -e '.stop == "budget" and .baseline.verdict == "inconclusive"'
	assert_equal "$status" 6
}

@test "the demo's case: the same hlc timings 30% slower are a regression" {
	rk-bench -q --preset quick --min-time 5ms --sizes 4k --metrics time hlc --save-baseline base.jsonl >/dev/null
	jq -c '{workload, size, backend, metric, times: [.samples[] * 1.3]}' base.jsonl > slower.jsonl
	run -1 --separate-stderr rk-bench --analyze --baseline base.jsonl slower.jsonl
	echo "$output" | jq -se '.[0].baseline.verdict == "regression" and .[0].baseline.detectable < 0.3'
}

@test "--cmd: two commands get hyperfine's relative summary, with its uncertainty" {
	run -0 --separate-stderr rk-bench -r 5 -w 0 -n fast -n slow --cmd 'sleep 0.01' --cmd 'sleep 0.03'
	# the ratio and its error, computed here from the records
	want=$(echo "$output" | jq -rs '(.[0].mean) as $a | (.[0].stddev / $a) as $ca |
		(.[1].mean) as $b | (.[1].stddev / $b) as $cb |
		"\($b / $a) \(($b / $a) * ((($ca * $ca) + ($cb * $cb)) | sqrt))"')
	got=$(echo "$output" | jq -rs '.[1].relative | "\(.ratio) \(.stddev)"')
	awk -v w="$want" -v g="$got" 'BEGIN { split(w, a, " "); split(g, b, " ");
		exit !((a[1] - b[1])^2 < 1e-18 && (a[2] - b[2])^2 < 1e-18) }'
	echo "$output" | jq -se '.[0].relative == {"to": "fast", "ratio": 1, "stddev": 0} and .[1].relative.to == "fast"'
	assert_equal "${stderr_lines[0]}" "Summary"
	assert_equal "${stderr_lines[1]}" "  'fast' ran"
	[[ "${stderr_lines[2]}" =~ ^"    "[0-9]+\.[0-9]{2}" ± "[0-9]+\.[0-9]{2}" times faster than 'slow'"$ ]]
	# a single command: no summary
	run -0 --separate-stderr rk-bench -r 2 -w 0 --cmd true
	assert_equal "$stderr" ""
}

@test "--cmd: -L and --parameter-scan replace {NAME}, every combination" {
	run -0 --separate-stderr rk-bench -r 1 -w 0 --no-overhead -L n a,b --parameter-scan k 1 3 -n 'w-{n}{k}' --cmd 'echo {n}{k} >> log'
	assert_equal "$(tr '\n' ' ' < log)" "a1 a2 a3 b1 b2 b3 "
	echo "$output" | jq -se 'map(.workload) == ["w-a1","w-a2","w-a3","w-b1","w-b2","w-b3"] and
		.[0].parameters == {"n": "a", "k": "1"} and .[5].command == "echo b3 >> log"'
	rm log
	run -0 --separate-stderr rk-bench -r 1 -w 0 --no-overhead --parameter-scan x 0.5 1 -D 0.25 --cmd 'echo {x} >> log'
	assert_equal "$(tr '\n' ' ' < log)" "0.50 0.75 1.00 "
	run -2 --separate-stderr rk-bench --parameter-scan x 3 1 --cmd 'echo {x}'
	assert_equal "${stderr_lines[0]}" "rk-bench: --parameter-scan x: want MIN <= MAX and a step above 0, not '3' '1'"
	run -2 --separate-stderr rk-bench -L n a,b triad
	assert_equal "${stderr_lines[0]}" "rk-bench: -L, --parameter-scan, --shell and --export-* are for --cmd"
}

@test "--cmd: --sizes replaces {size}, keeps the size and fits the scaling" {
	# sizes far apart: the fit has a slope to find even on a loaded machine
	run -0 --separate-stderr rk-bench -r 2 -w 0 --sizes 1k,32M --cmd 'head -c {size} /dev/zero > out.{size}'
	assert_equal "$(wc -c < out.1000) $(wc -c < out.32000000)" "1000 32000000"
	rm -f out.32000000
	echo "$output" | jq -se 'map(.size) == [1000, 32000000] and
		all(.workload == "head -c {size} /dev/zero > out.{size}") and
		all(.scaling.exponent | type == "number")'
	run -2 --separate-stderr rk-bench --sizes 1k --cmd 'true'
	assert_equal "${stderr_lines[0]}" "rk-bench: --sizes with --cmd: 'true' has no {size} to replace"
}

@test "--cmd: --export-json, --export-csv, --export-markdown as hyperfine writes them" {
	run -0 --separate-stderr rk-bench -r 3 -w 0 -L t 0.01,0.02 --cmd 'sleep {t}' --export-json h.json --export-csv h.csv --export-markdown h.md
	jq -e '.results | length == 2 and (.[0] | .command == "sleep 0.01" and (.times | length) == 3 and
		.exit_codes == [0,0,0] and .parameters == {"t": "0.01"} and .mean > 0 and .user >= 0)' h.json
	assert_equal "$(head -n 1 h.csv)" "command,mean,stddev,median,user,system,min,max,parameter_t"
	assert_equal "$(sed -n 2p h.csv | cut -d, -f1,9)" "sleep 0.01,0.01"
	assert_equal "$(head -n 1 h.md)" "| Command | Mean [ms] | Min [ms] | Max [ms] | Relative |"
	assert_equal "$(sed -n 2p h.md)" "|:---|---:|---:|---:|---:|"
	# (the fastest row's relative is 1.00 alone: under load either may be)
	grep -Eq '^\| `sleep 0.02` \| [0-9.]+ ± [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+( ± [0-9.]+)? \|$' h.md
	# --analyze reads the JSON as it is
	run -0 --separate-stderr rk-bench --analyze h.json
	echo "$output" | jq -se 'map(.workload) == ["sleep 0.01", "sleep 0.02"] and all(.n == 3)'
	# the same fields and header as hyperfine's own, where it is installed
	command -v hyperfine >/dev/null || skip "hyperfine is not installed"
	hyperfine -r 2 -L t 0.01 --export-json hf.json --export-csv hf.csv 'sleep {t}' >/dev/null 2>&1
	assert_equal "$(jq -c '.results[0] | keys' h.json)" "$(jq -c '.results[0] | keys' hf.json)"
	assert_equal "$(head -n 1 h.csv)" "$(head -n 1 hf.csv)"
}

@test "--cmd: a progress bar with the ETA, on a terminal or with --progress" {
	run -0 --separate-stderr rk-bench -r 3 -w 0 --progress --cmd 'sleep 0.01'
	[[ "$stderr" == *"sleep 0.01 ["*"] 100% 3/3 runs"* ]]
	run -0 --separate-stderr rk-bench -r 3 -w 0 --cmd 'sleep 0.01'
	assert_equal "$stderr" ""
}

@test "--cmd: -N runs the words without a shell" {
	run -0 --separate-stderr rk-bench -r 1 -w 0 -N --cmd 'sh -c "echo quoted > f"'
	assert_equal "$(cat f)" "quoted"
	run -0 --separate-stderr rk-bench -r 1 -w 0 -N --cmd 'echo a > g'
	assert [ ! -e g ]
	echo "$output" | jq -e '.n == 1'
	run -0 --separate-stderr rk-bench -r 1 -w 0 --shell /bin/bash --cmd 'echo $BASH_VERSION > v'
	assert [ -s v ]
}

@test "--cmd: the shell's own cost, subtracted as hyperfine does, is in the record; --no-overhead and -N have none" {
	run -0 --separate-stderr rk-bench -r 2 -w 0 --cmd true
	echo "$output" | jq -e '.overhead | .shell == "/bin/sh" and .runs == 30
		and .wall > 0 and .user >= 0 and .system >= 0'
	run -0 --separate-stderr rk-bench -r 2 -w 0 --shell /bin/bash --cmd true
	echo "$output" | jq -e '.overhead | .shell == "/bin/bash" and .runs == 30'
	run -0 --separate-stderr rk-bench -r 2 -w 0 --export-json h.json --cmd true
	echo "$output" | jq -e 'has("overhead")'
	jq -e '.results[0] | has("overhead") | not' h.json
	run -0 --separate-stderr rk-bench -r 2 -w 0 --no-overhead --cmd true
	echo "$output" | jq -e 'has("overhead") | not'
	run -0 --separate-stderr rk-bench -r 2 -w 0 -N --cmd true
	echo "$output" | jq -e 'has("overhead") | not'
	run -0 --separate-stderr rk-bench -v -r 1 -w 0 --cmd true
	[[ "$stderr" == *"shell start-up "*" ms (mean of "*" runs), subtracted"* ]]
}

# A gnuplot that keeps its script and says something on stderr.
fake_gnuplot() {
	cat > gp.sh <<SH
#!/bin/sh
tee "$PWD/script.gp" | gnuplot "\$@"
echo "gnuplot: warning: something gnuplot says" >&2
SH
	chmod +x gp.sh
}

@test "--plot without a baseline: means with their intervals, whiskers, y from zero, gnuplot kept quiet" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
	fake_gnuplot
	run -0 --separate-stderr env GNUPLOT="$PWD/gp.sh" rk-bench -q -r 5 -w 0 -n a -n b --cmd 'sleep 0.01' --cmd 'sleep 0.02' --plot p.svg
	assert_equal "$stderr" ""
	grep -q 'mean time, with its 95% confidence interval' p.svg
	grep -q 'samples: median, quartiles, whiskers to 1.5 IQR' p.svg
	grep -q "with yerrorbars" script.gp
	grep -q "with boxplot" script.gp
	assert_equal "$(grep -c '^set yrange \[0:\*\]' script.gp)" 2
	refute grep -q 'logscale y' script.gp
	# told otherwise: a log axis
	run -0 --separate-stderr env GNUPLOT="$PWD/gp.sh" rk-bench -r 3 -w 0 --cmd 'sleep 0.01' --plot p.png --plot-log
	grep -q '^set logscale y' script.gp
	assert_equal "$(head -c 4 p.png | tail -c 3)" "PNG"
}

@test "--plot with a baseline: the change panel holds zero and every change" {
	command -v gnuplot >/dev/null || skip "gnuplot is not installed"
	fake_gnuplot
	echo '{"workload":"job","times":[1.0,1.01,0.99,1.0,1.0]}' | rk-bench -q --analyze --save-baseline base.jsonl >/dev/null
	echo '{"workload":"job","times":[1.3,1.31,1.29,1.3,1.3]}' > cur.jsonl
	run -1 --separate-stderr env GNUPLOT="$PWD/gp.sh" rk-bench -q --analyze --baseline base.jsonl --plot c.svg cur.jsonl
	assert_equal "$stderr" ""
	grep -q "change against the baseline" c.svg
	# the bar is 30%: the axis runs from 0 to above it, not around it
	grep -q '^set yrange \[0:3[0-9.]*\]$' script.gp
}

@test "--plot: a bad name fails before anything runs; gnuplot's complaint is in the error" {
	run -2 --separate-stderr rk-bench --plot x.pdf --cmd 'echo ran >> log'
	assert_equal "${stderr_lines[0]}" "rk-bench: plot 'x.pdf': the name must end in .svg or .png"
	assert [ ! -e log ]
	printf '#!/bin/sh\necho "  line 3: no such terminal" >&2\nexit 1\n' > bad-gp.sh
	chmod +x bad-gp.sh
	run -2 --separate-stderr env GNUPLOT="$PWD/bad-gp.sh" rk-bench -r 2 -w 0 --cmd true --plot q.svg
	assert_equal "${stderr_lines[-1]}" "rk-bench: error: gnuplot failed writing 'q.svg': line 3: no such terminal"
}
