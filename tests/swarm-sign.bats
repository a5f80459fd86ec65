#!/usr/bin/env bats
# swarm-run's trust model for a shared tier (Nix's binary-cache model):
# chunks are signed with Ed25519 by their publisher, and a run uses a
# chunk from a tier only when a key it trusts signed it.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
	unset COREN_TRUSTED_KEYS COREN_SECRET_KEY_FILE
	A=(--split x=1..16 --split y=1..2 --memo-chunk x=2 --memo-chunk y=2 --exec "$P/rosenbrock.so" --fetch always)
	swarm-run --generate-key nodeA --secret-key a.sec > a.pub
	swarm-run --generate-key nodeB --secret-key b.sec > b.pub
	mkdir tier
	# node A computes everything and publishes it, signed
	swarm-run "${A[@]}" --cache a --remote tier --publish --secret-key a.sec \
		--trusted-key b.pub > a.out
	swarm-run "${A[@]}" --cache local > local.out
}

field() { jq -r "select(.type==\"diag\") | .$1" "$2"; }
results() { grep -v '"type":"diag"' "$1"; }
ids() { find tier -name '*.zst' | sed 's|.*/||; s|\.zst$||' | sort; }

@test "keys: Nix's NAME:BASE64 format, a secret file of mode 600, never overwritten" {
	[[ "$(cat a.pub)" =~ ^nodeA:[A-Za-z0-9+/]{43}=$ ]]
	[[ "$(cat a.sec)" =~ ^nodeA:[A-Za-z0-9+/]{86}==$ ]]
	assert_equal "$(stat -c %a a.sec)" 600
	run -0 swarm-run --public-key --secret-key a.sec
	assert_output "$(cat a.pub)"
	run -2 swarm-run --generate-key other --secret-key a.sec
	assert_output --partial "exists, not overwritten"
	assert_equal "$(swarm-run --public-key --secret-key a.sec)" "$(cat a.pub)"
	run -2 swarm-run --generate-key 'bad name' --secret-key n.sec
	assert_output --partial "key name"
	chmod 640 a.sec
	run -2 swarm-run "${A[@]}" --cache x --secret-key a.sec
	assert_output --partial "(mode 0640): chmod 600 it"
	chmod 600 a.sec
	echo "nodeA:bm90IGEga2V5" > bad.sec
	chmod 600 bad.sec
	run -2 swarm-run "${A[@]}" --cache x --secret-key bad.sec
	assert_output --partial "not a secret key"
	echo "nodeA:tooshort" > bad.pub
	run -2 swarm-run "${A[@]}" --cache x --remote tier --trusted-key bad.pub
	assert_output --partial "trusted keys 'bad.pub' line 1"
	run -2 swarm-run "${A[@]}" --cache x --remote tier --trusted-key 'nodeA:xyz'
	assert_output --partial "not a public key"
}

@test "published chunks carry the publisher's signature; zstdcat | jq still works" {
	assert_equal "$(field chunks_published a.out)" 8
	f=$(find tier -name '*.zst' | head -1)
	zstdcat "$f" | jq -e .value > /dev/null
	head -c 4096 "$f" | tr -d '\0' | grep -aq '"sigs":\["nodeA:'
}

@test "a tier with no trusted key is refused unless --trust-unsigned" {
	run -2 swarm-run "${A[@]}" --cache c --remote tier
	assert_output --partial "--trusted-key"
	assert_output --partial "--trust-unsigned"
	run -0 swarm-run "${A[@]}" --cache c --remote tier --trust-unsigned
	assert_equal "$(field chunks_fetched <(echo "$output"))" 8
	run -2 swarm-run "${A[@]}" --cache c2 --trust-unsigned
	assert_output --partial "goes with --remote"
}

@test "chunks signed by a trusted key are fetched; by another key they are computed" {
	run -0 swarm-run "${A[@]}" --cache b --remote tier --trusted-key a.pub
	echo "$output" > b.out
	assert_equal "$(field chunks_fetched b.out) $(field chunks_executed b.out) $(field chunks_untrusted b.out)" "8 0 0"
	cmp <(results b.out) <(results local.out)

	# trusted through the environment, as on a cluster
	COREN_TRUSTED_KEYS="$(cat b.pub), $(cat a.pub)" run -0 swarm-run "${A[@]}" --cache b2 --remote tier
	assert_equal "$(field chunks_fetched <(echo "$output"))" 8

	run -0 --separate-stderr swarm-run "${A[@]}" --cache c --remote tier --trusted-key b.pub
	echo "$output" > c.out
	assert_equal "$(field chunks_fetched c.out) $(field chunks_executed c.out) $(field chunks_untrusted c.out)" "0 8 8"
	# reported once, with the reason
	assert_equal "$(grep -c 'not trusted' <<< "$stderr")" 1
	[[ "$stderr" == *"signed by 'nodeA', a key not trusted here"* ]]
	cmp <(results c.out) <(results local.out)
}

# Forges tier chunk $1 with chunkedit's options ${@:2}, as a tier or a
# man in the middle could.
forge() {
	local id=$1
	shift
	mkdir -p f
	cp -r tier/. f/
	chunkedit "$@" f "$id" '"value":' '"value":' # content unchanged
	cp "f/${id:0:2}/$id.zst" "tier/${id:0:2}/$id.zst"
}

# Runs node B trusting A and checks: one chunk untrusted with reason $1,
# computed here, the output a local run's.
rejected() {
	run -0 --separate-stderr swarm-run "${A[@]}" --cache "b$RANDOM" --remote tier --trusted-key a.pub
	echo "$output" > r.out
	assert_equal "$(field chunks_untrusted r.out) $(field chunks_executed r.out) $(field chunks_fetched r.out)" "1 1 7"
	[[ "$stderr" == *"$1"* ]] || { echo "$stderr"; false; }
	cmp <(results r.out) <(results local.out)
}

@test "an unsigned chunk is not used" {
	forge "$(ids | head -1)" --sigs '[]'
	rejected "not signed"
}

@test "a bad signature is not used" {
	id=$(ids | head -1)
	forge "$id" --sigs '["nodeA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="]'
	rejected "the signature by 'nodeA' does not verify"
	forge "$id" --sigs '["nodeA:garbage"]'
	rejected "malformed signature"
}

@test "a signature by an untrusted key is not used" {
	forge "$(ids | head -1)" --sign b.sec
	rejected "signed by 'nodeB', a key not trusted here"
}

@test "a valid signature over other content is not used" {
	id=$(ids | head -1)
	mkdir -p f && cp -r tier/. f/
	# other values, the header's content hash redone, A's signature kept
	line=$(zstdcat "tier/${id:0:2}/$id.zst" | head -1)
	old=$(jq -c .value <<< "$line")
	chunkedit f "$id" "\"value\":$old" '"value":42.0'
	cp "f/${id:0:2}/$id.zst" "tier/${id:0:2}/$id.zst"
	rejected "the signature by 'nodeA' does not verify"
	assert_equal "$(grep -c '"value":42.0' r.out)" 0
}

@test "the signature covers the header's cost, producer and hlc: a tampered one is not used" {
	id=$(ids | head -1)
	hdr() { # the header of chunk $1 in tier
		local f="tier/${1:0:2}/$1.zst"
		dd if="$f" bs=1 skip=8 count=$(($(od -An -tu4 -j4 -N4 "$f"))) status=none
	}
	cost=$(hdr "$id" | jq .cost.flops)
	# a cost far above the real one (it would sway verdicts and --gc),
	# A's signature kept, header_sum redone
	forge "$id" --flops 99000000000000
	assert_equal "$(hdr "$id" | jq .cost.flops)" 99000000000000
	hdr "$id" | jq -e '.sigs[0] | startswith("nodeA:")'
	rejected "the signature by 'nodeA' does not verify"
	# and --verify with the key says so
	run -1 swarm-run --verify --cache tier --trusted-key a.pub
	assert_output --partial "does not verify"
	forge "$id" --flops "$cost" # back as signed: used again
	run -0 swarm-run "${A[@]}" --cache "ok$RANDOM" --remote tier --trusted-key a.pub
	assert_equal "$(field chunks_fetched <(echo "$output"))" 8
	forge "$id" --producer "coren 0.1.0 elsewhere 1"
	rejected "the signature by 'nodeA' does not verify"
	forge "$id" --producer "$(hdr "$(ids | sed -n 2p)" | jq -r .producer)" --hlc-logical 7
	rejected "the signature by 'nodeA' does not verify"
}

@test "a signed chunk replayed under another id is not used" {
	first=$(ids | head -1)
	second=$(ids | sed -n 2p)
	sig=$(head -c 4096 "tier/${second:0:2}/$second.zst" | tr -d '\0' | grep -ao '"sigs":\[[^]]*\]' | sed 's/"sigs"://')
	forge "$first" --sigs "$sig"
	rejected "the signature by 'nodeA' does not verify"
}

@test "two nodes with their own keys share a tier: each chunk computed once" {
	mkdir t2
	B=(--split x=1..8 --split y=1..4 --memo-chunk x=2 --memo-chunk y=2 --exec "$P/rosenbrock.so" --fetch always --remote t2 --publish)
	# A computes the first half of y, B the whole grid: only B's new half
	swarm-run "${B[@]}" --split y=1..2 --cache na --secret-key a.sec --trusted-key b.pub > na.out
	swarm-run "${B[@]}" --cache nb --secret-key b.sec --trusted-key a.pub > nb.out
	assert_equal "$(field chunks_fetched nb.out) $(field chunks_executed nb.out)" "4 4"
	# and A, extending to the whole grid, takes B's chunks: nothing twice
	swarm-run "${B[@]}" --cache na --secret-key a.sec --trusted-key b.pub > na2.out
	assert_equal "$(field chunks_cached na2.out) $(field chunks_fetched na2.out) $(field chunks_executed na2.out)" "4 4 0"
	cmp <(results na2.out) <(results nb.out)
}

@test "a fetched chunk keeps its signature: --verify re-checks it with the trusted keys" {
	swarm-run "${A[@]}" --cache b --remote tier --trusted-key a.pub > /dev/null
	run -0 swarm-run --verify --cache b --trusted-key a.pub
	assert_equal "$(field chunks_damaged <(echo "$output"))" 0
	id=$(ids | head -1)
	chunkedit --sigs '["nodeA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="]' \
		b "$id" '"value":' '"value":'
	run -1 swarm-run --verify --cache b --trusted-key a.pub
	assert_output --partial "does not verify"
	# without the key, a signature is not judged
	run -0 swarm-run --verify --cache b
}

@test "YAML: secret_key and trusted_keys, relative to the file" {
	mkdir -p conf
	mv a.pub conf/
	cp a.sec conf/
	cat > conf/exp.yaml <<-'EOF'
	split: {x: {from: 1, to: 16, step: 1}, y: [1, 2]}
	memo_chunk: {x: 2, y: 2}
	trusted_keys: [a.pub]
	secret_key: a.sec
	EOF
	run -0 swarm-run -c conf/exp.yaml --exec "$P/rosenbrock.so" --fetch always --cache y --remote tier
	assert_equal "$(field chunks_fetched <(echo "$output"))" 8
}
