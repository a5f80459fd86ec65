#!/usr/bin/env bats
# swarm-run beyond one machine: --shard, and the remote chunk tier (a
# directory, and nginx with WebDAV PUT on loopback, started here).

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
	# a machine whose figures are known: 1 GFLOP/s, 1 GB/s memory, disk,
	# network; 1 ms network latency
	echo '{"type":"cap","host":"t","flops":1e9,"mem_bw":1e9,"ram_avail":16000000000,"disk_read_bw":1e9,"disk_write_bw":1e9,"net_bw":1e9,"net_latency":0.001}' > cap.json
	A=(--split x=1..12 --split y=1..3 --memo-chunk x=4 --memo-chunk y=2 --exec "$P/rosenbrock.so")
	# every run here signs what it stores and trusts that key
	# (tests/swarm-sign.bats tests the trust itself)
	swarm-run --generate-key test-1 --secret-key "$BATS_TEST_TMPDIR/key.sec" > key.pub
	export COREN_SECRET_KEY_FILE="$BATS_TEST_TMPDIR/key.sec" COREN_TRUSTED_KEYS="$(cat key.pub)"
}

teardown() {
	[ ! -d ng ] || "$top_srcdir/tests/remote/nginx.sh" stop ng
}

nginx_up() { # nginx_up [RATE]: sets U
	command -v nginx >/dev/null || skip "nginx is not installed (bootstrap installs it)"
	mkdir -p ng
	U=$("$top_srcdir/tests/remote/nginx.sh" start ng "${1:-0}")
}

field() { jq -r "select(.type==\"diag\") | .$1" "$2"; }
results() { grep -v '"type":"diag"' "$1" | grep -v '"type":"verdict"'; }

@test "--shard I/N: disjoint shares that cover every chunk; the plain run assembles them" {
	swarm-run "${A[@]}" --cache solo > solo.out
	for task in 0 1 2; do # (bats' run sets i)
		run -0 swarm-run "${A[@]}" --cache shared --shard $task/3
		echo "$output" > s$task.out
		assert_equal "$(grep -vc '"type":"diag"' s$task.out)" 0 # no results
		[ "$(field chunks_executed s$task.out)" -ge 1 ]
	done
	# each chunk computed by exactly one task: executed add up to the total
	assert_equal "$(( $(field chunks_executed s0.out) + $(field chunks_executed s1.out) + $(field chunks_executed s2.out) ))" 6
	assert_equal "$(field chunks_skipped s0.out)" 4
	run -0 swarm-run "${A[@]}" --cache shared
	echo "$output" > asm.out
	assert_equal "$(field chunks_cached asm.out)" 6
	assert_equal "$(field chunks_executed asm.out)" 0
	cmp <(results solo.out) <(results asm.out)
}

@test "--shard balances by cost: the one heavy chunk is a task's whole share" {
	# four chunks: one of 1e7 flops, three of 10
	B=(--split flops=10000000,10,11,12 --memo-chunk flops=1 --exec "$P/burn.so")
	run -0 swarm-run "${B[@]}" --cache c --shard 0/2
	assert_equal "$(field chunks_executed <(echo "$output"))" 1
	run -0 swarm-run "${B[@]}" --cache c --shard 1/2
	assert_equal "$(field chunks_executed <(echo "$output"))" 3
	# the same share on every run: nothing left to do
	run -0 swarm-run "${B[@]}" --cache c --shard 1/2
	assert_equal "$(field chunks_executed <(echo "$output"))" 0
}

@test "--shard auto reads Slurm's array variables; bad shards are usage errors" {
	SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=3 \
		swarm-run "${A[@]}" --cache a --shard auto > auto.out
	swarm-run "${A[@]}" --cache b --shard 1/3 > one.out
	assert_equal "$(field chunks_executed auto.out)" "$(field chunks_executed one.out)"
	diff <(cd a && find . -name '*.zst' | sort) <(cd b && find . -name '*.zst' | sort)
	for bad in 3/3 1/0 x/2 -1/2 1/2/3 ""; do
		run -2 swarm-run "${A[@]}" --cache c --shard "$bad"
		assert_output --partial -- "--shard"
	done
	run -2 swarm-run "${A[@]}" --cache c --shard auto
	assert_output --partial "not in a Slurm job array"
	run -2 swarm-run "${A[@]}" --cache c --shard 0/2 --plan
}

@test "a directory tier: --publish puts every computed chunk, another cache fetches them all" {
	mkdir tier
	run -0 swarm-run "${A[@]}" --cache one --remote tier --publish --cap cap.json
	echo "$output" > one.out
	assert_equal "$(field chunks_published one.out)" 6
	assert_equal "$(find tier -name '*.zst' | wc -l)" 6
	run -0 swarm-run --cache tier --verify
	run -0 swarm-run "${A[@]}" --cache two --remote tier --fetch always --cap cap.json
	echo "$output" > two.out
	assert_equal "$(field chunks_fetched two.out)" 6
	assert_equal "$(field chunks_executed two.out)" 0
	assert_equal "$(field remote_bad two.out)" 0
	cmp <(results one.out) <(results two.out)
	# fetched chunks are kept here: the next run finds them cached
	run -0 swarm-run "${A[@]}" --cache two
	assert_equal "$(field chunks_cached <(echo "$output"))" 6
}

@test "the verdict decides per chunk: cheap chunks are computed, expensive ones fetched" {
	# chunks of 10 flops (free to compute) and of 1e10 (10 s here)
	B=(--split flops=10,10000000000 --split bytes=100 --memo-chunk flops=1 --memo-chunk bytes=1 --exec "$P/burn.so" --fn-id burn)
	mkdir tier
	# the tier gets both chunks (made cheaply, by another function that
	# --fn-id names as burn: burn's cost is per point, a chunk's id is not)
	swarm-run --split flops=10,10000000000 --split bytes=100 --memo-chunk flops=1 --memo-chunk bytes=1 \
		--fn-id burn --cache src --cmd sh -c 'printf "\"%s\"\n" $(printf %100s | tr " " x)' >/dev/null
	cp -r src/. tier/
	run -0 swarm-run "${B[@]}" --cache c --remote tier --explain --cap cap.json --workers 1
	echo "$output" > run.out
	assert_equal "$(jq -sc '[.[] | select(.type=="verdict") | [.cost.flops, .action]]' run.out)" \
		'[[10,"compute"],[10000000000,"fetch"]]'
	assert_equal "$(field chunks_fetched run.out)" 1
	assert_equal "$(field chunks_executed run.out)" 1
	# the fetch saved ~10 s by the model
	jq -e 'select(.type=="diag") | .seconds_saved > 9' run.out
}

@test "without a cost function the chunk's cost comes from the remote header" {
	mkdir tier
	swarm-run "${A[@]}" --fn-id f --cache pub --remote tier --publish --cap cap.json >/dev/null
	# --cmd has no cost: the header of each remote chunk says it
	run -0 swarm-run --split x=1..12 --split y=1..3 --memo-chunk x=4 --memo-chunk y=2 \
		--fn-id f --cache c --remote tier --explain --cap cap.json --cmd echo 0
	echo "$output" > run.out
	assert_equal "$(jq -s '[.[] | select(.type=="verdict")] | length' run.out)" 6
	# the costs the plan gives with the plugin's cost function
	want=$(swarm-run "${A[@]}" --fn-id f --cache pub --plan | jq -c '.cost' | sort)
	got=$(jq -c 'select(.type=="verdict") | .cost | del(.type, .name)' run.out | sort)
	assert_equal "$got" "$want"
}

@test "a slow tier shifts the verdicts to compute" {
	nginx_up 20000 # 20 kB/s
	# four chunks of ~60 kB each, priced at 0.1 s of computing apiece
	B=(--split x=1..4 --memo-chunk x=1 --param flops=100000000 --param bytes=60000 --exec "$P/burn.so")
	swarm-run "${B[@]}" --cache pub --remote "$U" --publish --cap cap.json > /dev/null
	# the cap says the network does 1 GB/s: fetch, until a transfer says
	# otherwise (one 60 kB transfer at 20 kB/s)
	run -0 swarm-run "${B[@]}" --cache c --remote "$U" --explain --cap cap.json --workers 1
	echo "$output" > run.out
	assert_equal "$(jq -sc '[.[] | select(.type=="verdict") | .action]' run.out)" \
		'["fetch","compute","compute","compute"]'
	assert_equal "$(field chunks_fetched run.out)" 1
	cmp <(results run.out) <(swarm-run "${B[@]}" --cache cold | grep -v diag)
}

@test "libcurl and libcrypto are not linked (they cost every coren process ms at start): a tier or a key opens them" {
	lib="$top_builddir/.libs/libcoren.so"
	[ -e "$lib" ] || skip "no shared libcoren"
	command -v readelf >/dev/null || skip "readelf is not installed"
	run -0 readelf -d "$lib"
	assert_output --partial 'libzstd'
	refute_output --partial 'libcrypto'
	refute_output --partial 'libcurl'
	run -0 env LD_DEBUG=libs rk-bench --version
	refute_output --partial 'libcurl'
	refute_output --partial 'libcrypto'
	cd "$BATS_TEST_TMPDIR"
	run -0 env LD_DEBUG=libs swarm-run --generate-key k --secret-key k.sec
	assert_output --partial 'libcrypto'
}

@test "nginx WebDAV: publish with PUT, fetch with GET, byte-identical results" {
	nginx_up
	run -0 swarm-run "${A[@]}" --cache one --remote "$U/" --publish --cap cap.json
	echo "$output" > one.out
	assert_equal "$(field chunks_published one.out)" 6
	assert_equal "$(find ng/store -name '*.zst' | wc -l)" 6
	run -0 swarm-run "${A[@]}" --cache two --remote "$U" --fetch always --cap cap.json
	echo "$output" > two.out
	assert_equal "$(field chunks_fetched two.out)" 6
	cmp <(results one.out) <(results two.out)
	grep -q '"PUT /' ng/access.log
}

@test "a bearer token from COREN_REMOTE_TOKEN, never from the command line" {
	nginx_up
	echo 'if ($http_authorization != "Bearer s3cret") { return 401; }' > ng/extra.conf
	nginx -c "$PWD/ng/nginx.conf" -s reload
	sleep 0.5
	run -0 --separate-stderr swarm-run "${A[@]}" --cache one --remote "$U" --publish --cap cap.json
	assert_equal "$(field chunks_published <(echo "$output"))" 0
	assert_equal "$(field publish_failed <(echo "$output"))" 6
	[[ "$stderr" == *"HTTP 401"* ]]
	COREN_REMOTE_TOKEN=s3cret swarm-run "${A[@]}" --cache two --remote "$U" --publish --cap cap.json > two.out
	assert_equal "$(field chunks_published two.out)" 6
	run -2 swarm-run "${A[@]}" --token s3cret --remote "$U"
}

@test "hostile remote content is reported and recomputed, never used" {
	mkdir tier
	swarm-run "${A[@]}" --cache good > good.out
	cp -r good/. tier/
	ids=($(cd tier && find . -name '*.zst' | sort | sed 's|.*/||; s|\.zst$||'))
	path() { echo "tier/${1:0:2}/$1.zst"; }
	# a valid chunk under another chunk's name (wrong id)
	cp "$(path "${ids[1]}")" "$(path "${ids[0]}")"
	# a flipped byte in the data frame (bad checksum)
	f=$(path "${ids[2]}"); n=$(stat -c %s "$f")
	printf '\xff' | dd of="$f" bs=1 seek=$((n - 6)) conv=notrunc 2>/dev/null
	# an oversized file (sparse, 2 GiB)
	truncate -s 2G "$(path "${ids[3]}")"
	# a path-like entry: a symbolic link to a file outside the tier
	rm "$(path "${ids[4]}")"
	ln -s "$PWD/good/${ids[4]:0:2}/${ids[4]}.zst" "$(path "${ids[4]}")"
	# its own header, then another chunk's (well-formed) results
	hlen() { echo $(( 8 + $(od -An -tu4 -j4 -N4 "$1") )); }
	swarm-run "${A[@]}" --cache good --plan > plan.out
	pts=$(jq -r --arg id "${ids[5]}" 'select(.id == $id) | .points' plan.out)
	other=$(jq -r --arg id "${ids[5]}" --argjson n "$pts" 'select(.id != $id and .points == $n) | .id' plan.out | head -n 1)
	a=$(path "${ids[5]}") b="good/${other:0:2}/$other.zst"
	{ head -c "$(hlen "$a")" "$a"; tail -c +$(( $(hlen "$b") + 1 )) "$b"; } > mixed.zst
	mv mixed.zst "$a"
	run -0 --separate-stderr swarm-run "${A[@]}" --cache c --remote tier --fetch always --cap cap.json --max-fetch 1M
	echo "$output" > run.out
	assert_equal "$(field remote_bad run.out)" 5
	assert_equal "$(field chunks_fetched run.out)" 1
	assert_equal "$(field chunks_executed run.out)" 5
	[[ "$stderr" == *"header id is not the chunk's id"* ]]
	[[ "$stderr" == *"more than the limit"* ]]
	[[ "$stderr" == *"symbolic link"* ]]
	[[ "$stderr" == *"checksum"* || "$stderr" == *"data frame"* ]]
	[[ "$stderr" == *"content does not match its content_sha256"* ]]
	cmp <(results good.out) <(results run.out)
	run -0 swarm-run --cache c --verify
}

@test "HTTP: a redirect is not followed, an oversized answer is cut off" {
	nginx_up
	swarm-run "${A[@]}" --cache good > good.out
	cp -r good/. ng/store/
	ids=($(cd good && find . -name '*.zst' | sort | sed 's|.*/||; s|\.zst$||'))
	echo "location = /${ids[0]:0:2}/${ids[0]}.zst { return 302 /${ids[1]:0:2}/${ids[1]}.zst; }" > ng/extra.conf
	nginx -c "$PWD/ng/nginx.conf" -s reload
	sleep 0.5
	truncate -s 2G "ng/store/${ids[2]:0:2}/${ids[2]}.zst"
	run -0 --separate-stderr swarm-run "${A[@]}" --cache c --remote "$U" --fetch always --cap cap.json --max-fetch 1M
	echo "$output" > run.out
	assert_equal "$(field remote_bad run.out)" 2
	assert_equal "$(field chunks_fetched run.out)" 4
	[[ "$stderr" == *"redirect"* ]]
	[[ "$stderr" == *"larger than the limit"* ]]
	cmp <(results good.out) <(results run.out)
}

@test "the server going away mid-run: the rest is computed, nothing lost, exit 0" {
	nginx_up 200000 # 200 kB/s: 24 chunks of ~50 kB take ~6 s to fetch
	B=(--split x=1..24 --memo-chunk x=1 --param flops=10 --param bytes=50000 --exec "$P/burn.so")
	swarm-run "${B[@]}" --cache good > good.out
	cp -r good/. ng/store/
	( sleep 1; "$top_srcdir/tests/remote/nginx.sh" stop ng ) &
	run -0 --separate-stderr swarm-run "${B[@]}" --cache c --remote "$U" --fetch always --cap cap.json --workers 2
	wait
	echo "$output" > run.out
	[ "$(field chunks_fetched run.out)" -ge 1 ]
	[ "$(field chunks_executed run.out)" -ge 1 ]
	assert_equal "$(( $(field chunks_fetched run.out) + $(field chunks_executed run.out) ))" 24
	[[ "$stderr" == *"remote tier went away"* ]]
	cmp <(results good.out) <(results run.out)
}

@test "two publishers of the same chunks leave one valid file each" {
	nginx_up
	mkdir tier
	for k in 1 2 3 4; do
		swarm-run "${A[@]}" --cache p$k --remote tier --publish --cap cap.json > /dev/null &
		swarm-run "${A[@]}" --cache q$k --remote "$U" --publish --cap cap.json > /dev/null &
	done
	wait
	run -0 swarm-run --cache tier --verify
	assert_equal "$(field chunks_checked <(echo "$output"))" 6
	cp -r ng/store http-tier
	run -0 swarm-run --cache http-tier --verify
	assert_equal "$(field chunks_checked <(echo "$output"))" 6
	assert_equal "$(find tier ng/store -name '.*' -type f | wc -l)" 0
}

@test "--gc --max-age: chunks expensive to compute again live longer (suggest_ttl)" {
	# a slow machine: 1 MFLOP/s. A chunk of 10 flops is free to compute
	# again (TTL 2 d x 0.1); one of 1e8 flops costs 100 s against a 1 ms
	# fetch (TTL 2 d x 100)
	jq -c '.flops = 1e6' cap.json > slow.json
	B=(--split flops=10,100000000 --memo-chunk flops=1 --exec "$P/burn.so")
	swarm-run "${B[@]}" --cache c > /dev/null
	swarm-run --split z=1 --memo-chunk z=1 --cache c --cmd echo 1 > /dev/null # no cost
	find c -name '*.zst' -exec touch -d '3 days ago' {} +
	run -0 swarm-run "${B[@]}" --cache c --gc --max-age 2d --cap slow.json
	echo "$output" > gc.out
	assert_equal "$(field chunks_removed gc.out)" 1
	assert_equal "$(field chunks_kept gc.out)" 1
	assert_equal "$(field chunks_other gc.out)" 1 # the echo chunk: not burn's
	run -0 swarm-run "${B[@]}" --cache c
	assert_equal "$(field chunks_cached <(echo "$output"))" 1 # the costly one
	# the same files, 300 days old: past 2 d x 100, gone too
	find c -name '*.zst' -exec touch -d '300 days ago' {} +
	run -0 swarm-run "${B[@]}" --cache c --gc --max-age 2d --cap slow.json
	assert_equal "$(field chunks_removed <(echo "$output"))" 2
}

@test "a tier that trickles at 20 B/s cannot stall the run" {
	nginx_up 20
	# the chunks are on the tier (published through its directory)
	swarm-run "${A[@]}" --cache pub --remote ng/store --publish --cap cap.json > /dev/null
	swarm-run "${A[@]}" --cache local > local.out
	for how in "--fetch always" "--fetch verdict"; do
		rm -rf c
		t0=$(date +%s.%N)
		run -0 --separate-stderr swarm-run "${A[@]}" --cache c --remote "$U" $how --cap cap.json
		t=$(echo "$(date +%s.%N) - $t0" | bc)
		echo "$how: $t s"
		echo "$output" > run.out
		[ "$(echo "$t < 2.5" | bc)" = 1 ] # 2 s plus the computing
		cmp <(results run.out) <(results local.out)
		[[ "$stderr" == *"the remote tier was too slow"* ]] || [ "$how" = "--fetch verdict" ]
	done
	run -2 swarm-run "${A[@]}" --cache c --tier-min-speed 1K
	assert_output --partial "go with --remote"
}

@test "a chunk without a known cost is never fetched blind: priced by measured time" {
	# a command: no cost function, and its chunks' headers carry none
	mkdir -p tier
	C=(--split x=1..6 --memo-chunk x=1 --fn-id f)
	swarm-run "${C[@]}" --cache pub --remote tier --publish --cap cap.json --cmd echo '{x}' > /dev/null
	run -0 swarm-run "${C[@]}" --cache c --remote tier --explain --cap cap.json --workers 1 --cmd echo '{x}'
	echo "$output" > run.out
	# the first decision has nothing measured: computed, and said so
	assert_equal "$(jq -r 'select(.type=="verdict") | .estimate' run.out | head -1)" unmeasured
	assert_equal "$(jq -r 'select(.type=="verdict") | .action' run.out | head -1)" compute
	jq -r 'select(.type=="verdict") | .estimate' run.out | sort -u | grep -qx 'unmeasured\|measured'
	cmp <(results run.out) <(swarm-run "${C[@]}" --cache cold --cmd echo '{x}' | grep -v diag)
}

@test "HTTPS: a tier with its CA in --ca-file works; another certificate is refused" {
	command -v openssl > /dev/null || skip "openssl is not installed (bootstrap installs it)"
	command -v nginx >/dev/null || skip "nginx is not installed (bootstrap installs it)"
	mkdir -p ng
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ng/tls.key -out ng/tls.crt -days 2 \
		-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2> /dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 \
		-subj /CN=other.example -addext "subjectAltName=DNS:other.example" 2> /dev/null
	nginx_up
	[[ "$U" == https://* ]]
	run -0 swarm-run "${A[@]}" --cache one --remote "$U" --publish --ca-file ng/tls.crt --cap cap.json
	assert_equal "$(field chunks_published <(echo "$output"))" 6
	run -0 swarm-run "${A[@]}" --cache two --remote "$U" --fetch always --ca-file ng/tls.crt --cap cap.json
	echo "$output" > two.out
	assert_equal "$(field chunks_fetched two.out)" 6
	# a certificate no CA here vouches for: refused, computed, exit 0
	for ca in "--ca-file other.crt" ""; do
		run -0 --separate-stderr swarm-run "${A[@]}" --cache c$RANDOM --remote "$U" --fetch always $ca --cap cap.json
		echo "$output" > r.out
		assert_equal "$(field chunks_fetched r.out) $(field chunks_executed r.out)" "0 6"
		[[ "$stderr" == *"certificate"* || "$stderr" == *"SSL"* ]] || { echo "$stderr"; false; }
		cmp <(results r.out) <(results two.out)
	done
	run -2 swarm-run "${A[@]}" --cache x --remote "$U" --ca-file nonexistent.pem --cap cap.json
	assert_output --partial "--ca-file 'nonexistent.pem'"
}

@test "verdicts are calibrated by what the function's points took here, whatever the probe's peak" {
	mkdir -p tier
	G=(--split flops=20000000 --split bytes=1000 --memo-chunk c=1 --memo-chunk flops=1 --memo-chunk bytes=1 --exec "$P/burn.so")
	# a probe that reads a peak far above what burn reaches: the model
	# prices 2e7 flops at 20 us, below the tier's 1 ms latency
	for k in 0.5 1 2; do
		jq -c ".flops = $k * 1e12 | .cores = 2" cap.json > cap$k.json
	done
	swarm-run --split c=1..6 "${G[@]}" --cache pub --remote tier --publish --cap cap1.json > /dev/null
	run -0 swarm-run --split c=1..6 "${G[@]}" --cache fresh --remote tier --explain --cap cap1.json
	assert_equal "$(jq -sc '[.[] | select(.type=="verdict") | [.estimate, .action]] | unique' <<< "$output")" '[["model","compute"]]'
	# the points computed here are measured, per function, in the cache
	swarm-run --split c=101..110 "${G[@]}" --cache c > /dev/null
	jq -e '.type == "calib" and .points == 10 and .flops == 2e8 and .seconds > 0.05 and .fn.exec == "burn"' c/calib/*.json
	# now priced by measurement: ~20 ms a chunk, fetched; and the same at
	# half and twice the peak (the knife edge)
	for k in 0.5 1 2; do
		cp -r c c$k
		run -0 swarm-run --split c=1..6 "${G[@]}" --cache c$k --remote tier --explain --cap cap$k.json
		assert_equal "$(jq -sc '[.[] | select(.type=="verdict") | [.estimate, .action]] | unique' <<< "$output")" '[["measured","fetch"]]'
	done
	# --plan carries the estimate, and coren-verdict prices with it
	run -0 swarm-run --split c=1..2 "${G[@]}" --cache c --plan
	[ "$(jq -s 'map(.t_compute > 0.005) | all' <<< "$output")" = true ]
	assert_equal "$(swarm-run --split c=1..2 "${G[@]}" --cache c --plan | coren-verdict --cap cap1.json | jq -r 'select(.type=="verdict") | .action' | sort -u)" fetch
	# a garbled record is not trusted: the model again
	mkdir g && cp -r c/calib g/
	echo '{"type":"calib","fn":{"exec":"burn","version":"1.0"},"seconds":-1,"points":"x"}' > "$(echo g/calib/*.json)"
	run -0 swarm-run --split c=1..6 "${G[@]}" --cache g --remote tier --explain --cap cap1.json
	assert_equal "$(jq -r 'select(.type=="verdict") | .estimate' <<< "$output" | head -1)" model
}

@test "fetches run beside the workers: a slow fetch holds up no other chunk, results stay in grid order" {
	nginx_up 20000 # 20 kB/s: the first chunk's ~60 kB take ~3 s
	# chunk 1 costs 1e10 flops (10 s here: fetched); chunks 2-6 cost 10
	# (computed). The tier's copy of chunk 1 is made cheaply, by a
	# command that --fn-id names as burn (as in the verdict test above)
	B=(--split flops=10000000000,10,11,12,13,14 --split bytes=100 --memo-chunk flops=1 --memo-chunk bytes=1 --fn-id burn)
	head -c 45000 /dev/urandom | base64 -w0 | sed 's/.*/"&"/' > blob.json
	swarm-run --split flops=10000000000 --split bytes=100 --memo-chunk flops=1 --memo-chunk bytes=1 \
		--fn-id burn --cache src --remote ng/store --publish --cap cap.json --cmd cat "$PWD/blob.json" > /dev/null
	run -0 swarm-run "${B[@]}" --exec "$P/burn.so" --cache c --remote "$U" --explain --cap cap.json --workers 2
	echo "$output" > run.out
	assert_equal "$(field chunks_fetched run.out) $(field chunks_executed run.out)" "1 5"
	# the cheap chunks were computed while the fetch was in flight (on a
	# fetch made by the main thread they would wait for it)
	[ "$(field points_during_fetch run.out)" -ge 1 ]
	assert_equal "$(field fetches_max_parallel run.out)" 1
	# the fetched chunk settled last, yet comes first: grid order, and
	# the verdicts in plan order
	assert_equal "$(jq -sc '[.[] | select(.type=="result") | .point.flops]' run.out)" '[10000000000,10,11,12,13,14]'
	assert_equal "$(jq -sc '[.[] | select(.type=="verdict") | .action]' run.out)" \
		'["fetch","compute","compute","compute","compute","compute"]'
	assert_equal "$(jq -c 'select(.type=="result") | .value' run.out | head -1)" "$(cat blob.json)"
}

@test "fetches run a few at once, after the first has measured the tier; failures fall back to computing" {
	nginx_up 200000 # 200 kB/s: ~0.25 s a chunk
	B=(--split x=1..12 --memo-chunk x=1 --param flops=10 --param bytes=50000 --exec "$P/burn.so")
	swarm-run "${B[@]}" --cache good > good.out
	cp -r good/. ng/store/
	ids=($(cd good && find . -name '*.zst' | sort | sed 's|.*/||; s|\.zst$||'))
	# two chunks damaged, one missing: computed here, the rest fetched
	f=ng/store/${ids[3]:0:2}/${ids[3]}.zst; n=$(stat -c %s "$f")
	printf '\xff' | dd of="$f" bs=1 seek=$((n - 6)) conv=notrunc 2>/dev/null
	cp "ng/store/${ids[5]:0:2}/${ids[5]}.zst" "ng/store/${ids[6]:0:2}/${ids[6]}.zst"
	rm "ng/store/${ids[9]:0:2}/${ids[9]}.zst"
	run -0 --separate-stderr swarm-run "${B[@]}" --cache c --remote "$U" --fetch always --cap cap.json --workers 1
	echo "$output" > run.out
	assert_equal "$(field chunks_fetched run.out) $(field chunks_executed run.out) $(field remote_bad run.out)" "9 3 2"
	# more than one in flight, never more than the pool's 4
	[ "$(field fetches_max_parallel run.out)" -ge 2 ]
	[ "$(field fetches_max_parallel run.out)" -le 4 ]
	cmp <(results good.out) <(results run.out)
	# every chunk asked for once
	[ "$(grep -c 'GET /' ng/access.log)" -eq 12 ]
}
