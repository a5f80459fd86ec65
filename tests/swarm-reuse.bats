#!/usr/bin/env bats
# swarm-run: every cached point is reused, whatever the chunk boundaries of
# the run that computed it (the cache's index of chunk keys, index.c).

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
}

# "executed reused" from the diag record of output file $1.
counts() { jq -r 'select(.type=="diag") | "\(.points_executed) \(.points_reused)"' "$1"; }
results() { grep -v '"type":"diag"' "$1"; }

rb() { swarm-run --exec "$P/rosenbrock.so" --workers 2 "$@"; }

@test "the issue's cases: only the new points run, whatever the old bins" {
	# x=1..4 in chunks of 3 ({1,2,3},{4}), then x=1..7: 3 new points
	rb --split x=1..4 --split y=0..0 --memo-chunk x=3 --memo-chunk y=1 --cache c > a
	rb --split x=1..7 --split y=0..0 --memo-chunk x=3 --memo-chunk y=1 --cache c > b
	assert_equal "$(counts b)" "3 1"
	rb --split x=1..7 --split y=0..0 --memo-chunk x=3 --memo-chunk y=1 --cache cold1 > b.cold
	assert_equal "$(results b)" "$(results b.cold)"

	# x=1,2 then x=1..3, y in chunks of 2: 4 new points
	rb --split x=1,2 --split y=1..4 --memo-chunk x=3 --memo-chunk y=2 --cache c2 > a
	rb --split x=1..3 --split y=1..4 --memo-chunk x=3 --memo-chunk y=2 --cache c2 > b
	assert_equal "$(counts b)" "4 8"

	# the same values reordered, in other chunks: nothing runs
	rb --split x=3,1,2 --split y=4,3,2,1 --memo-chunk x=2 --memo-chunk y=3 --cache c2 > c.out
	assert_equal "$(counts c.out)" "0 12"
	rb --split x=3,1,2 --split y=4,3,2,1 --memo-chunk x=2 --memo-chunk y=3 --cache cold2 > c.cold
	assert_equal "$(results c.out)" "$(results c.cold)"
}

@test "examples/sweep: extending x runs only the new points" {
	cp "$BATS_TEST_DIRNAME/../examples/sweep/exp.yaml" exp.yaml
	run -0 swarm-run -c exp.yaml --exec "$P/rosenbrock.so" --cache c
	sed -i 's/to: 2, step/to: 3, step/' exp.yaml # x: 17 -> 21 values
	run -0 swarm-run -c exp.yaml --exec "$P/rosenbrock.so" --cache c
	echo "$output" > b
	assert_equal "$(counts b | cut -d" " -f1)" 68
	assert_equal "$(results b | wc -l)" $((21 * 17))
}

# One trial of the property: a random grid (3 axes, values drawn from a
# pool, in random order), random memo chunks; then a random extension that
# keeps every old value (new values anywhere, the old ones reordered) with
# other random memo chunks. Only the new points run, and the output is a
# cold run's.
trial() {
	local seed=$1 t=$2 old new ax n1 n2 cold
	RANDOM=$seed
	local -a args1=() args2=()
	n1=1 n2=1
	for ax in x y z; do
		# the pool: 0..11; old values a random subset, new a superset
		old=$(shuf -i 0-11 -n $((RANDOM % 4 + 1)) --random-source=<(yes $seed$ax))
		new=$( (echo "$old"; shuf -i 0-11 -n $((RANDOM % 4)) --random-source=<(yes $ax$seed)) |
			sort -u | shuf --random-source=<(yes $seed$t$ax))
		n1=$((n1 * $(echo "$old" | wc -l)))
		n2=$((n2 * $(echo "$new" | wc -l)))
		args1+=(--split "$ax=$(echo $old | tr ' ' ,)" --memo-chunk "$ax=$((RANDOM % 4 + 1))")
		args2+=(--split "$ax=$(echo $new | tr ' ' ,)" --memo-chunk "$ax=$((RANDOM % 4 + 1))")
	done
	rb "${args1[@]}" --cache "c$t" > "a$t"
	rb "${args2[@]}" --cache "c$t" > "b$t"
	rb "${args2[@]}" --cache "cold$t" > "cold$t.out"
	echo "trial $t (seed $seed): ${args1[*]} then ${args2[*]}"
	assert_equal "$(counts "b$t" | cut -d' ' -f1)" "$((n2 - n1))"
	assert_equal "$(results "b$t")" "$(results "cold$t.out")"
}

@test "property: random grids, chunks and extensions run exactly the new points" {
	local seed=${COREN_REUSE_SEED:-$(date +%s)}
	echo "seed $seed (COREN_REUSE_SEED=$seed to replay)"
	for t in $(seq 1 20); do
		trial $((seed + t)) "$t"
	done
}

@test "the index is a hint: lost, truncated or lying, values stay exact" {
	rb --split x=1..4 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache c > a
	rb --split x=1..7 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache cold > cold.out
	# a lying line: the key of a chunk that holds other points
	idx=$(echo c/index/*.jsonl)
	cp "$idx" idx.orig
	sed 's/\[1,2,3\]/[5,6,7]/' idx.orig > "$idx"
	printf '[["x",[1' >> "$idx" # and a line still being written
	rb --split x=1..7 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache c > b
	assert_equal "$(results b)" "$(results cold.out)"
	# the lie names no chunk; {1,2,3} is found by its id, {4} by the index
	assert_equal "$(counts b)" "6 2"

	# no index: only chunks of the same bins are found
	rm -r c2 2>/dev/null || true
	rb --split x=1..4 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache c2 > a
	rm -r c2/index
	rb --split x=1..7 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache c2 > b
	assert_equal "$(counts b)" "8 0"
	assert_equal "$(results b)" "$(results cold.out)"
}

@test "a damaged chunk named by the index is reported and not reused" {
	rb --split x=1..4 --split y=1..2 --memo-chunk x=4 --memo-chunk y=2 --cache c > a
	f=$(find c -name '*.zst')
	zstdcat "$f" 2>/dev/null | sed 's/"value":[0-9.e+-]*/"value":42/' | zstd -q -f -o "$f.new"
	mv "$f.new" "$f"
	swarm-run --exec "$P/rosenbrock.so" --split x=1..5 --split y=1..2 \
		--memo-chunk x=3 --memo-chunk y=2 --cache c > b 2> err
	grep -q "is damaged.*not reused" err
	assert_equal "$(jq -r 'select(.type=="diag") | "\(.points_executed) \(.chunks_corrupt)"' b)" "10 1"
	assert_equal "$(grep -c '"value":42' b)" 0
}

@test "another function's or params' chunks are never reused" {
	rb --split x=1..4 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache c > a
	rb --split x=1..5 --split y=1..2 --memo-chunk x=2 --memo-chunk y=2 --cache c --param b=7 > b
	assert_equal "$(counts b)" "10 0"
	swarm-run --exec "$P/noop.so" --split x=1..5 --split y=1..2 --memo-chunk x=2 \
		--memo-chunk y=2 --cache c > n
	assert_equal "$(counts n)" "10 0"
}

@test "garbage in the index is skipped: no crash, exact values" {
	rb --split x=1..4 --split y=1..2 --memo-chunk x=3 --memo-chunk y=2 --cache c > a
	rb --split x=1..6 --split y=1..2 --memo-chunk x=4 --memo-chunk y=2 --cache cold > cold.out
	idx=$(echo c/index/*.jsonl)
	{
		printf '%s\n' '[]' '{}' '"x"' 'null' '[["x"]]' '[["x",[]],["y",[1]]]' \
			'[["x",[1,2,3,1]],["y",[1,2]]]' '[["y",[1,2]],["x",[1,2,3]]]' \
			'[["x",[1e400]],["y",[1]]]' '[["x",{"a":1}],["y",[1]]]' \
			'[["x",[1]],["y",[1]],["z",[1]]]' '[["x",[99]],["y",[1]]]' \
			'[["x",[1,2,3]],["y",[1,2]],' '[[1,[1]],[2,[1]]]' \
			"[[\"x\",[$(seq -s, 1 5000)]],[\"y\",[1,2]]]" \
			'[["x",[1,2,3]],["y",[1,2]]]' '[["x",[1,2,3]],["y",[1,2]]]'
		head -c 3000 /dev/urandom
		echo
		cat "$idx"
	} > idx.new
	mv idx.new "$idx"
	rb --split x=1..6 --split y=1..2 --memo-chunk x=4 --memo-chunk y=2 --cache c > b
	assert_equal "$(results b)" "$(results cold.out)"
	assert_equal "$(counts b)" "4 8"
}

@test "ranges extended: a decimal and a descending range reuse every cached point" {
	# a range's values are found by arithmetic in the index, not listed
	rb --split x=0..1..0.1 --split y=5..-5..-5 --memo-chunk x=3 --memo-chunk y=2 --cache c > a
	rb --split x=0..2..0.1 --split y=5..-5..-5 --memo-chunk x=4 --memo-chunk y=3 --cache c > b
	assert_equal "$(counts b)" "30 33"
	rb --split x=0..2..0.1 --split y=5..-5..-5 --memo-chunk x=4 --memo-chunk y=3 --cache cold > b.cold
	assert_equal "$(results b)" "$(results b.cold)"
	# the same values as a list, other chunks: nothing runs
	rb --split x=0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0 --split y=-5,0,5 --memo-chunk x=5 --memo-chunk y=1 --cache c > l
	assert_equal "$(counts l)" "0 33"
}
