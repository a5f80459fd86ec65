#!/usr/bin/env bats
# swarm-run: concurrent runs on one cache claim the chunks they compute
# (a byte of <cache>/claims locked per chunk, at the offset of the id's
# first 15 hex digits), so that each chunk is computed once. The tests
# synchronise on the locks (/proc/locks) and the cache's files, not on
# fixed sleeps.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
}

teardown() { # a failed test leaves no run behind
	local pid
	for pid in $(jobs -p); do
		kill -9 "$pid" 2> /dev/null || true
	done
}

field() { jq -r "select(.type==\"diag\") | .$1" "$2"; }
results() { grep -v '"type":"diag"' "$1"; }
# claims [CACHE]: the chunks claimed now, as the first 15 hex digits of
# their ids (the locked bytes of CACHE/claims)
claims() {
	local ino at
	ino=$(stat -c %i "${1:-cache}/claims" 2> /dev/null) || return 0
	for at in $(awk -v ino="$ino" '$2 == "OFDLCK" { n = split($6, f, ":"); if (f[n] == ino) print $7 }' /proc/locks); do
		printf '%015x\n' "$at"
	done | sort
}
# files left per chunk by earlier versions' claims
claim_files() { find "${1:-cache}" -name '*.claim' -printf '%f\n' 2> /dev/null | sort; }

# wait_for CMD...: until CMD succeeds, at most 20 s
wait_for() {
	local i
	for ((i = 0; i < 1000; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	echo "timed out waiting for: $*" >&2
	return 1
}

some_claims() { [ -n "$(claims)" ]; }

@test "4 identical concurrent runs compute each chunk once, with a cold run's output" {
	args=(--split x=1..40 --memo-chunk x=1 --param sleep_ms=30 --exec "$P/fail.so" --workers 2 --exec-chunk 1)
	swarm-run "${args[@]}" --cache cold > cold.out
	for k in 1 2 3 4; do
		swarm-run "${args[@]}" --cache cache > run$k.out 2> run$k.err &
	done
	wait
	total=0
	for k in 1 2 3 4; do
		assert_equal "$(field chunks_total run$k.out) $(field points_unrun run$k.out)" "40 0"
		assert_equal "$(( $(field chunks_executed run$k.out) + $(field chunks_cached run$k.out) ))" 40
		cmp <(results run$k.out) <(results cold.out)
		[ ! -s run$k.err ]
		total=$((total + $(field chunks_executed run$k.out)))
	done
	# a chunk is computed only under its claim, which is taken only when
	# the chunk is not stored: exactly once
	assert_equal "$total" 40
	assert_equal "$(claims)" ""
	assert_equal "$(claim_files)" ""
	assert_file_exists cache/claims
	run -0 swarm-run --verify --cache cache
	assert_output '{"type":"diag","chunks_checked":40,"chunks_damaged":0}'
}

@test "a killed claimant's chunks are computed by a run started while it held them" {
	args=(--split x=1..10 --memo-chunk x=1 --param sleep_ms=400 --exec "$P/fail.so" --workers 2 --exec-chunk 1)
	swarm-run "${args[@]}" --cache cold > cold.out
	swarm-run "${args[@]}" --cache cache > a.out 2> /dev/null &
	a=$!
	swarm-run "${args[@]}" --cache cache --plan | jq -r .id > ids
	wait_for some_claims
	claims > held # the claimant's, before the second run starts
	swarm-run "${args[@]}" --cache cache > b.out 2> b.err &
	b=$!
	# the second run took claims of its own: it went past the held ones
	others() { [ -n "$(comm -13 held <(claims))" ]; }
	wait_for others
	kill -9 $a
	wait $a || true
	orphans=()
	for at in $(cat held); do
		id=$(grep "^$at" ids)
		[ -e "cache/${id:0:2}/$id.zst" ] || orphans+=("$id")
	done
	[ "${#orphans[@]}" -ge 1 ] # chunks the claimant never finished
	wait $b
	cmp <(results b.out) <(results cold.out)
	assert_equal "$(field points_unrun b.out)" 0
	[ ! -s b.err ]
	for id in "${orphans[@]}"; do # the claimant is dead: the second run made them
		[ -s "cache/${id:0:2}/$id.zst" ]
	done
	assert_equal "$(( $(field chunks_executed b.out) + $(field chunks_cached b.out) ))" 10
	assert_equal "$(claims)" ""
	assert_equal "$(claim_files)" ""
}

@test "--shard beside a plain run: each chunk once; --verify and --gc with claims left behind" {
	args=(--split x=1..24 --memo-chunk x=1 --param sleep_ms=40 --exec "$P/fail.so" --workers 2 --exec-chunk 1)
	swarm-run "${args[@]}" --cache cold > cold.out
	swarm-run "${args[@]}" --cache cache --shard 0/2 > s0.out &
	swarm-run "${args[@]}" --cache cache > plain.out &
	swarm-run "${args[@]}" --cache cache --shard 1/2 > s1.out &
	wait
	cmp <(results plain.out) <(results cold.out)
	assert_equal "$(results s0.out)$(results s1.out)" "" # shards write no results
	assert_equal "$(( $(field chunks_executed s0.out) + $(field chunks_executed s1.out) + $(field chunks_executed plain.out) ))" 24
	# each chunk has one outcome in each shard: its own computed or found
	# stored (by another run), the other's skipped, or found stored when
	# the plain run was there first (a race, so not counted apart)
	for s in s0 s1; do
		assert_equal "$(( $(field chunks_executed $s.out) + $(field chunks_cached $s.out) + $(field chunks_skipped $s.out) ))" 24
		[ "$(field chunks_skipped $s.out)" -le 12 ]
	done

	# a dead run's claims die with it: nothing stays behind
	args2=(--split x=1..8 --memo-chunk x=1 --param sleep_ms=2000 --exec "$P/fail.so" --workers 2 --exec-chunk 1)
	swarm-run "${args2[@]}" --cache cache > /dev/null 2>&1 &
	wait_for some_claims
	kill -9 $!
	wait $! || true
	assert_equal "$(claims)" ""
	assert_equal "$(claim_files)" ""
	# an earlier version's claim files, left unlocked, are --gc's to remove
	n=0
	for id in $(swarm-run "${args2[@]}" --cache cache --plan | jq -r .id | head -3); do
		mkdir -p "cache/${id:0:2}"
		: > "cache/${id:0:2}/$id.claim"
		n=$((n + 1))
	done
	run -0 --separate-stderr swarm-run --verify --cache cache
	assert_output '{"type":"diag","chunks_checked":24,"chunks_damaged":0}'
	assert_equal "$stderr" ""
	run -0 --separate-stderr swarm-run "${args[@]}" --cache cache --gc --dry-run
	assert_output --partial '"chunks_removed":0'
	assert_output --partial "\"temp_removed\":$n"
	assert_equal "$(claim_files | wc -l)" "$n"
	run -0 --separate-stderr swarm-run "${args[@]}" --cache cache --gc
	assert_output --partial '"chunks_removed":0'
	assert_output --partial "\"temp_removed\":$n"
	assert_equal "$stderr" ""
	assert_equal "$(claim_files)" ""
	run -0 swarm-run "${args[@]}" --cache cache
	assert_equal "$(field chunks_cached <(echo "$output"))" 24
}

@test "a chunk whose claim cannot be made is computed as before" {
	args=(--split x=1..6 --memo-chunk x=2 --exec "$P/noop.so" --workers 2)
	swarm-run "${args[@]}" --cache cold > cold.out
	mkdir -p "cache/claims" # not a file: no lock on it
	run -0 --separate-stderr swarm-run "${args[@]}" --cache cache
	echo "$output" > out
	cmp <(results out) <(results cold.out)
	assert_equal "$(field chunks_executed out)" 3
	assert_equal "$stderr" ""
	run -0 swarm-run --verify --cache cache
	assert_output '{"type":"diag","chunks_checked":3,"chunks_damaged":0}'
}
