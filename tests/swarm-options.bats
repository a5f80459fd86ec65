#!/usr/bin/env bats
# swarm-run: how the experiment is written — decimal ranges, paths in a
# YAML file, the experiment's version.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
}

keys() { # the chunk keys of --plan output, as written (jq would reformat 1.0)
	grep -o '"chunk_key":{[^}]*}' <<< "$1"
}

plan() { # the chunk records of a --plan of "$@" (noop)
	swarm-run --exec "$P/noop.so" --cache c --plan "$@"
}

@test "a decimal range gives the values seq gives, and the ids of the same list" {
	run -0 plan --split alpha=0..1..0.1 --memo-chunk alpha=4
	range=$output
	assert_equal "$(keys "$range")" "$(printf '"chunk_key":{"alpha":%s}\n' '[0.0,0.1,0.2,0.3]' '[0.4,0.5,0.6,0.7]' '[0.8,0.9,1.0]')"
	run -0 plan --split alpha=0.0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0 --memo-chunk alpha=4
	assert_equal "$output" "$range"
	printf 'split:\n  alpha: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]\nmemo_chunk: {alpha: 4}\n' > list.yaml
	run -0 plan -c list.yaml
	assert_equal "$output" "$range"
	printf 'split:\n  alpha: {from: 0, to: 1, step: 0.1}\nmemo_chunk: {alpha: 4}\n' > range.yaml
	run -0 plan -c range.yaml
	assert_equal "$output" "$range"
}

@test "a range with exponents, a negative step, and reals even when integral" {
	run -0 plan --split x=1e-3..3e-3..1e-3 --memo-chunk x=10
	assert_equal "$(keys "$output")" '"chunk_key":{"x":[0.001,0.002,0.003]}'
	a=$output
	run -0 plan --split x=0.001,0.002,0.003 --memo-chunk x=10
	assert_equal "$output" "$a"
	run -0 plan --split x=1..0..-0.25 --memo-chunk x=10
	assert_equal "$(keys "$output")" '"chunk_key":{"x":[1.0,0.75,0.5,0.25,0.0]}'
	run -0 plan --split x=1.0..3 --memo-chunk x=10
	a=$output
	assert_equal "$(keys "$a")" '"chunk_key":{"x":[1.0,2.0,3.0]}'
	run -0 plan --split x=1.0,2.0,3.0 --memo-chunk x=10
	assert_equal "$output" "$a"
	run -0 plan --split x=1,2,3 --memo-chunk x=10
	[ "$output" != "$a" ]
}

@test "a range of huge values counts without overflow" {
	run -0 plan --split 'x=-1e308..1e308..1e307' --memo-chunk x=100
	assert_equal "$(jq .points <<< "$output")" 21
	assert_output --partial '-2e+307,-1e+307,0.0,1e+307,2e+307,'
	run -2 --separate-stderr plan --split 'x=-1e308..1e308..1e-308' --memo-chunk x=100
	assert_equal "$stderr" "$(printf '%s\n' "swarm-run: range '-1e308..1e308..1e-308' has more than 10000000 values" "try 'swarm-run --help'")"
}

@test "--version prints swarm-run's version; --exp-version V is the experiment's" {
	run -0 --separate-stderr swarm-run --version
	assert_output --regexp '^swarm-run \(coren\) [0-9][^ ]*$'
	run -0 plan --split x=1 --memo-chunk x=1
	v1=$output
	run -0 plan --split x=1 --memo-chunk x=1 --exp-version v1
	assert_equal "$output" "$v1"
	run -0 plan --split x=1 --memo-chunk x=1 --exp-version v2
	[ "$(jq -r .id <<< "$output")" != "$(jq -r .id <<< "$v1")" ]
	printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\nversion: v2\n' > v2.yaml
	v2=$output
	run -0 plan -c v2.yaml
	assert_equal "$output" "$v2"
}

@test "--version with a value is a usage error that names --exp-version" {
	hint="swarm-run: --version takes no value ('v2'); the experiment's version is --exp-version v2"
	run -2 --separate-stderr swarm-run --split x=1 --memo-chunk x=1 --exec "$P/noop.so" --cache c --version v2
	assert_equal "$output" ""
	assert_equal "$stderr" "$(printf '%s\n' "$hint" "try 'swarm-run --help'")"
	run -2 --separate-stderr swarm-run --split x=1 --memo-chunk x=1 --exec "$P/noop.so" --cache c --version=v2
	assert_equal "$output" ""
	assert_equal "$stderr" "$(printf '%s\n' "$hint" "try 'swarm-run --help'")"
	[ ! -e c ]
}

diag() { # the diag record's counts, as "k=v ..."
	grep '"type":"diag"' <<< "$1" | jq -r '"cached=\(.chunks_cached) executed=\(.chunks_executed) total=\(.chunks_total)"'
}

@test "a YAML file's cache and program are relative to the file, wherever the run starts" {
	mkdir -p sweep elsewhere
	printf '#!/bin/sh\necho "$(( $1 * 2 ))"\n' > sweep/f.sh
	chmod +x sweep/f.sh
	printf 'split: {x: [1, 2, 3]}\nmemo_chunk: {x: 2}\ncache: cache\ncmd: [./f.sh, "{x}"]\n' > sweep/exp.yaml
	run -0 --separate-stderr sh -c 'cd sweep && exec swarm-run -c exp.yaml'
	first=$output
	assert_equal "$(diag "$first")" "cached=0 executed=2 total=2"
	run -0 --separate-stderr swarm-run -c sweep/exp.yaml
	assert_equal "$(diag "$output")" "cached=2 executed=0 total=2"
	assert_equal "$(grep -v diag <<< "$output")" "$(grep -v diag <<< "$first")"
	[ ! -e cache ]
	cd elsewhere
	run -0 --separate-stderr swarm-run -c ../sweep/exp.yaml
	assert_equal "$(diag "$output")" "cached=2 executed=0 total=2"
	run -0 --separate-stderr swarm-run -c "$BATS_TEST_TMPDIR/sweep/exp.yaml"
	assert_equal "$(diag "$output")" "cached=2 executed=0 total=2"
	# a fresh cache: the program runs from here too
	run -0 --separate-stderr swarm-run -c ../sweep/exp.yaml --cache here
	assert_equal "$(diag "$output")" "cached=0 executed=2 total=2"
	assert_line '{"type":"result","point":{"x":3},"value":6}'
	[ -d here ] # an option's path is the current directory's
}

@test "a YAML exec path is relative to the file; a bare name is a plugin name" {
	mkdir -p sweep/lib
	cp "$P/noop.so" sweep/lib/mine.so
	printf 'split: {x: [1, 2]}\nmemo_chunk: {x: 1}\ncache: cache\nexec: lib/mine.so\n' > sweep/exp.yaml
	run -0 --separate-stderr swarm-run -c sweep/exp.yaml
	assert_equal "$(diag "$output")" "cached=0 executed=2 total=2"
	run -0 --separate-stderr sh -c 'cd sweep && exec swarm-run -c exp.yaml'
	assert_equal "$(diag "$output")" "cached=2 executed=0 total=2"
	printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\nexec: noop\n' > sweep/name.yaml
	run -0 --separate-stderr swarm-run -c sweep/name.yaml --plugin-dir "$P" --plan --cache c
	assert_output --partial '"points":1'
}

@test "--exec-chunk auto is the default: fast points are batched, slow ones run one at a time" {
	run -0 swarm-run --split x=1..20000 --memo-chunk x=5000 --workers 2 --cache c1 --exec "$COREN_EXEC_PLUGINS/noop.so"
	n=$(echo "$output" | jq -r 'select(.type=="diag") | .exec_chunks')
	[ "$n" -lt 200 ] # 20000 points, batch 1: 20000 exec chunks
	run -0 swarm-run --split x=1..6 --memo-chunk x=3 --workers 2 --cache c2 --exec-chunk auto --cmd sh -c 'sleep 0.2; echo 1'
	assert_equal "$(echo "$output" | jq -r 'select(.type=="diag") | .exec_chunks')" 6
	printf 'split: {x: [1, 2, 3]}\nmemo_chunk: {x: 3}\nexec_chunk: auto\ncache: c3\n' > e.yaml
	run -0 swarm-run -c e.yaml --exec "$COREN_EXEC_PLUGINS/noop.so"
	run -2 swarm-run --split x=1 --memo-chunk x=1 --cache c4 --exec-chunk 0 --exec "$COREN_EXEC_PLUGINS/noop.so"
	assert_output --partial "--exec-chunk '0': a count from 1 to 1000000000, or auto"
}
