#!/bin/sh
# rkbench.sh - rk-bench itself, in one run:
#   the built-in workloads (preset ci) as a report, a plot and bench records;
#   rk-bench --cmd against hyperfine on the same commands: the mean must be
#     within 5% of hyperfine's, and rk-bench's overhead per run (its wall
#     time less the commands' own) below hyperfine's;
#   every record of this make bench judged by rk-bench --analyze.
# Writes bench/results/rk-bench.{jsonl,md,svg} and hyperfine.jsonl.
set -eu
out=${top_builddir:-.}/bench/results
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rk-bench --all --preset ci --format markdown --save-baseline "$out/rk-bench.jsonl" \
	--plot "$out/rk-bench.svg" > "$out/rk-bench.md"
cat "$out/rk-bench.md"

if ! command -v hyperfine >/dev/null 2>&1; then
	echo "hyperfine is not installed: no comparison (apt-get install hyperfine)"
	exit 0
fi
now() { date +%s.%N; }
W=3
: > "$out/hyperfine.jsonl"
printf '\n%-28s %10s %10s %7s %7s   %12s %12s  %s\n' command rk-bench hyperfine ratio "cpu" "rk overhead" "hf overhead" "within 5%, less overhead"
# "RUNS:ROUNDS:OPTS:COMMAND": both tools with the same options; true again
# without a shell (-N), where it is the spawn itself and not a difference
# of two shell start-ups of about the same length. A command of about a
# millisecond gets more runs and rounds: 20 runs of it are 15 ms of
# samples, and a hiccup of this virtual machine (its rounds' ratios span
# 0.8 to 1.5 on a busy day) then decides a round; 50 runs x 15 rounds
# cost about 2 s
for spec in '20:5::sleep 0.02' '20:5::sleep 0.1' '20:5::i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done' \
	'50:15::true' '50:15:-N:true'; do
	R=${spec%%:*} spec=${spec#*:}
	ROUNDS=${RKBENCH_ROUNDS:-${spec%%:*}} spec=${spec#*:}
	opts=${spec%%:*} cmd=${spec#*:}
	# the two tools one after the other, $ROUNDS times, taking turns to go
	# first (what runs second may find the machine warmer or busier): a
	# round's ratio is of two runs close in time, and the median of the
	# rounds' ratios (and of each tool's means and overheads) leaves out
	# the rounds that another process's burst spoiled
	: > "$work/rounds"
	for round in $(seq $ROUNDS); do
		for tool in $(if [ $((round % 2)) = 1 ]; then echo rk hf; else echo hf rk; fi); do
			s=$(now)
			if [ $tool = rk ]; then
				rk-bench -q -w $W -r $R $opts --cmd "$cmd" --json > "$work/rk.jsonl"
				e=$(now)
				rk="$(jq -r '"\(.mean) \(.user + .system) \(.overhead.wall // 0)"' "$work/rk.jsonl") $s $e"
			else
				hyperfine -w $W -r $R $opts --export-json "$work/hf.json" "$cmd" > /dev/null 2>&1
				e=$(now)
				hf="$(jq -r '.results[0] | "\(.mean) \(.user + .system)"' "$work/hf.json") $s $e"
			fi
		done
		echo "$rk $hf" >> "$work/rounds"
	done
	# overhead per run: the tool's wall time less the runs' own, over the
	# runs; a run's own time is the smaller of the two means of the round,
	# the same for both tools (each tool's own mean would let a tool that
	# times part of its own spawning, as hyperfine's does on -N true, hide
	# that part of its overhead in its mean)
	set -- $(awk -v n=$((W + R)) '
		function median(a, k,   i, j, t) {
			for (i = 2; i <= k; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
		}
		# a round: rk mean, cpu, shell start-up, start, end; hf mean, cpu,
		# start, end
		{ k++; ref = $1 < $6 ? $1 : $6
		  rm[k] = $1; ro[k] = ($5 - $4 - n * ref) / n; hm[k] = $6; ho[k] = ($9 - $8 - n * ref) / n
		  sh[k] = $3
		  if ($6 > 0) { q++; r[q] = $1 / $6 }
		  if ($7 > 0) { p++; c[p] = $2 / $7 } }
		END { printf "%.12f %.12f %.12f %.12f %.12f %.12f %.12f\n", median(rm, k), median(ro, k),
			median(hm, k), median(ho, k), q ? median(r, q) : 0, p ? median(c, p) : 0,
			median(sh, k) }' "$work/rounds")
	rk_mean=$1 rk_ovh=$2 hf_mean=$3 hf_ovh=$4 ratio=$5 cpu=$6 shell=$7
	# within 5%: the rounds' ratio, or for a mean smaller than the shell
	# start-up both subtracted, the two means within 5% of that start-up
	# (true through sh: what is left of two equal start-ups, about 0,
	# which no ratio can judge)
	within=$(echo "d = $rk_mean - $hf_mean; if (d < 0) d = -d
		($ratio > 0.95 && $ratio < 1.05) || ($hf_mean < $shell && d <= 0.05 * $shell)" | bc -l)
	less=$(echo "$rk_ovh < $hf_ovh" | bc -l)
	printf '%-28.28s %9.2fms %9.2fms %7.3f %7.3f   %10.2fms %10.2fms  %s, %s\n' "${opts:+$opts }$cmd" \
		"$(echo "$rk_mean * 1000" | bc -l)" "$(echo "$hf_mean * 1000" | bc -l)" "$ratio" "$cpu" \
		"$(echo "$rk_ovh * 1000" | bc -l)" "$(echo "$hf_ovh * 1000" | bc -l)" \
		"$([ "$within" = 1 ] && echo yes || echo NO)" "$([ "$less" = 1 ] && echo yes || echo NO)"
	jq -nc --arg c "${opts:+$opts }$cmd" --argjson rk "$rk_mean" --argjson hf "$hf_mean" \
		--argjson ro "$rk_ovh" --argjson ho "$hf_ovh" \
		--argjson ratio "$ratio" --argjson cpu "$cpu" \
		'{type: "bench", workload: ("rk-bench vs hyperfine: " + $c), metric: "mean_ratio",
		  unit: "", value: $ratio, rk_mean: $rk, hyperfine_mean: $hf,
		  cpu_ratio: $cpu, rk_overhead_per_run: $ro, hyperfine_overhead_per_run: $ho}' >> "$out/hyperfine.jsonl"
done
echo "(both run each command through sh -c and subtract the shell's mean start-up"
echo " time, from wall, user and system time; with -N neither has a shell. Through"
echo " a shell, true is two start-ups less each other: a mean of noise, clipped at 0,"
echo " within 5% of the start-up it is left of."
echo " Figures are medians of 5 rounds of 20 runs, 15 of 50 for true (RKBENCH_ROUNDS"
echo " sets every command's rounds), the ratio the median of"
echo " the rounds' ratios; cpu is the same for user + system seconds, which waiting for"
echo " a core does not inflate. On a loaded machine the ratio moves by more than 5% from"
echo " run to run, the cpu ratio much less: see the load)"
cat /proc/loadavg 2>/dev/null || true

echo
echo "--runs auto on 'sleep 0.02' (runs until a 10% change is detectable, 5 s budget):"
for i in 1 2 3; do
	rk-bench -q --runs auto --cmd 'sleep 0.02' |
		jq -r '"  \(.n) runs, stopped by \(.stop), detectable \(100 * .detectable | . * 10 | round / 10)%"'
done

printf '\nEvery record of this make bench, judged by rk-bench --analyze:\n'
cat "$out"/*.jsonl | jq -c 'select(.time or .seconds or .value or .samples)' |
	rk-bench --analyze --format markdown --keep-going 2>/dev/null || true
