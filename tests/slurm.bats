#!/usr/bin/env bats
# swarm-run on a real single-node Slurm cluster (munge, slurmctld and
# slurmd started here on localhost, stopped by pid at the end): job arrays
# with --shard, the --slurm wrapper, a task killed mid-run.

load test_helper

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmd and munged"
	for d in munged slurmctld slurmd sbatch; do
		command -v "$d" >/dev/null ||
			skip "$d is not installed (bootstrap installs slurm-wlm and munge)"
	done
	export CLUSTER="$BATS_FILE_TMPDIR/cluster"
	mkdir -p "$CLUSTER"
	SLURM_CONF=$("$top_srcdir/tests/slurm/cluster.sh" start "$CLUSTER")
	export SLURM_CONF
}

teardown_file() {
	[ -z "${CLUSTER:-}" ] || "$top_srcdir/tests/slurm/cluster.sh" stop "$CLUSTER"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	export COREN_PLUGIN_PATH="$COREN_EXEC_PLUGINS"
	cp "$top_srcdir/examples/slurm/sweep.yaml" "$top_srcdir/examples/slurm/sweep.sbatch" .
	swarm-run -c sweep.yaml --cache solo > solo.out
}

field() { jq -r "select(.type==\"diag\") | .$1" "$2"; }
results() { grep -v '"type":"diag"' "$1"; }

@test "examples/slurm/sweep.sbatch: a job array (--shard auto) and a plain assembly, byte-identical" {
	run -0 sbatch --wait sweep.sbatch
	for task in 0 1 2 3; do
		[ -e swarm-sweep-$task.log ]
	done
	run -0 swarm-run -c sweep.yaml
	echo "$output" > asm.out
	assert_equal "$(field chunks_cached asm.out)" 12
	assert_equal "$(field chunks_executed asm.out)" 0
	cmp <(results solo.out) <(results asm.out)
}

@test "swarm-run --slurm N prints a script; --submit runs it: same bytes, nothing left to compute" {
	run -0 swarm-run --slurm 3 -c sweep.yaml
	echo "$output" > run.sh
	sh -n run.sh
	assert_output --partial '--shard \$SLURM_ARRAY_TASK_ID/$n'
	run -0 --separate-stderr swarm-run --slurm 3 -c sweep.yaml --submit
	echo "$output" > asm.out
	assert_equal "$(field chunks_cached asm.out)" 12
	assert_equal "$(field chunks_executed asm.out)" 0
	cmp <(results solo.out) <(results asm.out)
	# the work directory goes when every task succeeded
	assert_equal "$(find . -maxdepth 1 -name '.swarm-slurm.*' | wc -l)" 0
	run -2 swarm-run --slurm 0 -c sweep.yaml
	run -2 swarm-run --slurm 2 -c sweep.yaml --shard 0/2
	run -2 swarm-run --submit -c sweep.yaml
}

# Runs the sweep of slow chunks through `swarm-run --slurm 2 --submit` in
# the background, cancels task 1 once it runs, waits for the assembly.
kill_task_1() {
	B=(--split x=1..6 --memo-chunk x=1 --param flops=2000000000 --param bytes=8 --exec burn --cache shared)
	swarm-run "${B[@]}" --cache solo > solo.out
	swarm-run --slurm 2 "${B[@]}" --submit > asm.out 2> asm.err &
	job=""
	for _ in $(seq 300); do
		job=$(squeue -h -o '%i %T' -n swarm-run | awk '$1 ~ /_1$/ && $2 == "RUNNING" { print $1 }')
		[ -z "$job" ] || break
		sleep 0.1
	done
	[ -n "$job" ]
	sleep 1 # a chunk or so into its share
	scancel "$job"
	wait %1
}

@test "a task killed mid-run (scancel): the assembly computes what it left" {
	export SWARM_RETRIES=0
	kill_task_1
	grep -q 'tasks 1 failed' asm.err
	[ "$(field chunks_executed asm.out)" -ge 1 ] # the assembly did task 1's rest
	assert_equal "$(( $(field chunks_cached asm.out) + $(field chunks_executed asm.out) ))" 6
	cmp <(results solo.out) <(results asm.out)
}

@test "a task killed mid-run is resubmitted, and the assembly finds every chunk cached" {
	kill_task_1
	grep -q 'resubmitting tasks 1' asm.err
	assert_equal "$(field chunks_cached asm.out)" 6
	assert_equal "$(field chunks_executed asm.out)" 0
	cmp <(results solo.out) <(results asm.out)
}
