#!/usr/bin/env bats
# swarm-run's chunks can be trusted: the function is part of every chunk
# id, a chunk's content is checked against its header before any line is
# used, chunk paths that are not regular files never block, and --gc only
# ever touches this function's chunks.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	P="$COREN_EXEC_PLUGINS"
	G=(--split x=1..6 --memo-chunk x=3 --cache cache --workers 2)
	export COREN_CACHE_DIR="$BATS_TEST_TMPDIR/user" # the user's fnid entries
}

field() { jq -r "select(.type==\"diag\") | .$1" "$2"; }
values() { jq -c 'select(.type=="result") | .value' "$1" | tr '\n' ' '; }
nchunks() { find "${1:-cache}" -name '*.zst' | wc -l; }
header() { # the JSON header of chunk file $1 (its skippable frame)
	python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(d[8:8+struct.unpack("<I",d[4:8])[0]].decode())' "$1"
}

@test "the chunk id names the function: three functions, three sets of values" {
	run -0 swarm-run "${G[@]}" --cmd sh -c 'echo $((SWARM_V_x*SWARM_V_x))'
	echo "$output" > sq.out
	assert_equal "$(values sq.out)" "1 4 9 16 25 36 "
	run -0 swarm-run "${G[@]}" --exec "$P/noop.so"
	echo "$output" > noop.out
	assert_equal "$(field chunks_executed noop.out)" 2
	run -0 swarm-run "${G[@]}" --cmd python3 -c 'print("other")'
	echo "$output" > other.out
	assert_equal "$(field chunks_executed other.out)" 2
	assert_equal "$(values other.out)" '"other" "other" "other" "other" "other" "other" '
	# each is still there, under its own ids
	run -0 swarm-run "${G[@]}" --cmd sh -c 'echo $((SWARM_V_x*SWARM_V_x))'
	echo "$output" > again.out
	assert_equal "$(field chunks_cached again.out)" 2
	assert_equal "$(values again.out)" "1 4 9 16 25 36 "
	assert_equal "$(nchunks)" 6
}

@test "editing a --cmd script computes again; --fn-id shares across renames and edits" {
	printf 'echo $((SWARM_V_x + 1))\n' > f.sh
	run -0 swarm-run "${G[@]}" --cmd sh f.sh
	run -0 swarm-run "${G[@]}" --cmd sh f.sh
	echo "$output" > same.out
	assert_equal "$(field chunks_cached same.out)" 2
	printf 'echo $((SWARM_V_x + 2))\n' > f.sh
	run -0 swarm-run "${G[@]}" --cmd sh f.sh
	echo "$output" > edited.out
	assert_equal "$(field chunks_executed edited.out)" 2
	assert_equal "$(values edited.out)" "3 4 5 6 7 8 "
	# the header names the function: argv as written, the SHA-256 of the
	# program and of the script
	for f in $(find cache -name '*.zst'); do header "$f"; done > headers
	assert_equal "$(jq -c '.fn | {cmd, n: (.sha256 | length)}' headers | sort -u)" \
		'{"cmd":["sh","f.sh"],"n":2}'
	assert_equal "$(jq -r '.fn.sha256["1"]' headers | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "2 2 "
	grep -q "$(sha256sum < f.sh | cut -c1-64)" headers
	# --fn-id: named by the user, the same chunks whatever the command
	run -0 swarm-run "${G[@]}" --fn-id plus --cmd sh f.sh
	cp f.sh g.sh
	printf 'echo 0\n' > f.sh
	run -0 swarm-run "${G[@]}" --fn-id plus --cmd sh g.sh
	echo "$output" > shared.out
	assert_equal "$(field chunks_cached shared.out)" 2
	assert_equal "$(values shared.out)" "3 4 5 6 7 8 "
}

plan_ids() { swarm-run --plan "${G[@]}" "$@" | jq -r .id | tr '\n' ' '; }
entry() { echo "cache/fnid/$(stat -c %d-%i "$1").json"; }
set_entry() { # entry $1 with field $2 set to the Python expression $3 (e)
	python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); e[sys.argv[2]]=eval(sys.argv[3]); open(sys.argv[1],"w").write(json.dumps(e))' "$@"
}

@test "the SHA-256 of a --cmd file is remembered in <cache>/fnid: the same ids, never trusted across a change" {
	printf 'echo $((SWARM_V_x + 1))\n' > f.sh
	touch -d '1 hour ago' f.sh
	sleep 1 # ctime: older than the second the runs start in
	run -0 swarm-run "${G[@]}" --cmd sh f.sh
	before=$(plan_ids --cmd sh f.sh)
	e=$(entry f.sh)
	assert_file_exists "$e"
	assert_equal "$(jq -r .sha256 "$e")" "$(sha256sum < f.sh | cut -c1-64)"
	assert_equal "$(jq -r .size "$e")" 24
	assert_equal "$(plan_ids --cmd sh f.sh)" "$before"
	# a run uses the entry, not the file...
	set_entry "$e" sha256 '"0" * 64'
	run -0 plan_ids --cmd sh f.sh
	[ "$output" != "$before" ]
	# ...unless the file may have changed in the second it was read
	set_entry "$e" hashed_at_ns 'e["mtime_ns"]'
	assert_equal "$(plan_ids --cmd sh f.sh)" "$before"
	assert_equal "$(jq -r .sha256 "$e")" "$(sha256sum < f.sh | cut -c1-64)"
	# a damaged entry is ignored and replaced
	echo garbage > "$e"
	assert_equal "$(plan_ids --cmd sh f.sh)" "$before"
	assert_equal "$(jq -r .sha256 "$e")" "$(sha256sum < f.sh | cut -c1-64)"
	# touched: read again
	set_entry "$e" sha256 '"0" * 64'
	touch f.sh
	assert_equal "$(plan_ids --cmd sh f.sh)" "$before"
	# edited, with the same size and mtime: its ctime changed, read again
	touch -d '1 hour ago' f.sh
	sleep 1
	assert_equal "$(plan_ids --cmd sh f.sh)" "$before"
	m=$(stat -c %y f.sh)
	printf 'echo $((SWARM_V_x + 2))\n' > f.sh
	touch -d "$m" f.sh
	after=$(plan_ids --cmd sh f.sh)
	[ "$after" != "$before" ]
	sleep 1
	assert_equal "$(plan_ids --cmd sh f.sh)" "$after"
	assert_equal "$(jq -r .sha256 "$e")" "$(sha256sum < f.sh | cut -c1-64)"
	# the ids without any entry
	rm -r cache/fnid
	assert_equal "$(plan_ids --cmd sh f.sh)" "$after"
	run -0 swarm-run "${G[@]}" --cmd sh f.sh
	assert_equal "$(jq -c 'select(.type=="result") | .value' <<< "$output" | tr '\n' ' ')" "3 4 5 6 7 8 "
}

@test "a new chunk cache uses the user's fnid entry: python3 is not read again for a new cache" {
	printf 'echo $((SWARM_V_x + 1))\n' > f.sh
	touch -d '1 hour ago' f.sh
	sleep 1
	before=$(plan_ids --cmd sh f.sh) # --plan makes no chunk cache
	u="user/fnid/$(stat -c %d-%i f.sh).json"
	assert_file_exists "$u"
	assert_equal "$(jq -r .sha256 "$u")" "$(sha256sum < f.sh | cut -c1-64)"
	[ ! -e cache/fnid ]
	# a new cache (none at all here) takes the user's entry...
	set_entry "$u" sha256 '"0" * 64'
	run -0 plan_ids --cmd sh f.sh
	[ "$output" != "$before" ]
	# ...and a chunk cache's own entry comes first
	set_entry "$u" sha256 '"1" * 64'
	run -0 swarm-run "${G[@]}" --cmd sh f.sh # the run makes cache/fnid
	e=$(entry f.sh)
	[ ! -e "$e" ] # the user's entry was used: nothing read, nothing written
	rm "$u"
	run -0 plan_ids --cmd sh f.sh
	assert_equal "$output" "$before"
	assert_file_exists "$e"
	set_entry "$e" sha256 '"2" * 64'
	set_entry "$u" sha256 '"3" * 64'
	two=$(plan_ids --cmd sh f.sh)
	[ "$two" != "$before" ]
	set_entry "$u" sha256 '"4" * 64'
	assert_equal "$(plan_ids --cmd sh f.sh)" "$two"
	# a user's entry found is copied into the chunk cache
	rm "$e"
	assert_equal "$(plan_ids --cmd sh f.sh)" "$(plan_ids --cmd sh f.sh)"
	assert_equal "$(jq -r .sha256 "$e")" "$(printf '4%.0s' $(seq 64))"
}

@test "--exec and --exec --isolate are one function; two plugins are two" {
	run -0 swarm-run "${G[@]}" --exec "$P/fail.so"
	run -0 swarm-run "${G[@]}" --exec "$P/fail.so" --isolate
	echo "$output" > iso.out
	assert_equal "$(field chunks_cached iso.out)" 2
	run -0 swarm-run "${G[@]}" --exec "$P/noop.so"
	echo "$output" > noop.out
	assert_equal "$(field chunks_cached noop.out)" 0
	# a program that cannot be found is a usage error before anything runs
	run -2 swarm-run "${G[@]}" --cmd no-such-program-here
	[[ "$output" == *"cannot run 'no-such-program-here'"* ]]
}

# Rewrites chunk file $1 with python3: $2 is a Python expression over
# `lines` (the content's lines) and `h` (the header); the header's
# content_sha256 and header_sum are made to match, as a careful forger
# would, so only the checks against the key and the grid remain.
forge() {
	python3 - "$1" "$2" <<-'PY'
	import hashlib, json, struct, subprocess, sys
	path, expr = sys.argv[1], sys.argv[2]
	data = open(path, "rb").read()
	n = struct.unpack("<I", data[4:8])[0]
	h = json.loads(data[8:8 + n])
	body = subprocess.run(["zstd", "-dc"], input=data[8 + n:], capture_output=True, check=True).stdout
	lines = body.decode().splitlines(keepends=True)
	exec(expr)
	body = "".join(lines).encode()
	h["content_sha256"] = hashlib.sha256(body).hexdigest()
	del h["header_sum"]
	canon = json.dumps(h, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
	h["header_sum"] = hashlib.sha256(canon.encode()).hexdigest()
	head = json.dumps(h, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
	open(path + ".body", "wb").write(body) # a file: zstd records its size
	frame = subprocess.run(["zstd", "-c", "-q", path + ".body"], capture_output=True, check=True).stdout
	open(path, "wb").write(struct.pack("<II", 0x184D2A50, len(head)) + head + frame)
	PY
}

@test "a forged chunk with a valid id and checksums cannot add, drop or move lines" {
	command -v zstd >/dev/null || skip "zstd is not installed (bootstrap installs it)"
	A=(--split x=1..4 --split y=1..3 --memo-chunk x=2 --memo-chunk y=3 --cache cache --exec "$P/noop.so")
	run -0 swarm-run "${A[@]}"
	echo "$output" > clean.out
	ids=($(find cache -name '*.zst' | sort))
	# extra lines, the header's points raised to match (a two-axis grid:
	# the grid-order output wrote past a buffer)
	forge "${ids[0]}" 'lines += lines; h["points"] *= 2'
	# extra lines, points unchanged
	forge "${ids[1]}" 'lines.append(lines[0])'
	run -0 --separate-stderr swarm-run "${A[@]}"
	echo "$output" > run.out
	assert_equal "$(field chunks_corrupt run.out)" 2
	diff <(grep result clean.out) <(grep result run.out)
	[[ "$stderr" == *"points do not match"* ]]
	[[ "$stderr" == *"one line per point"* ]]
	# two lines swapped, every hash recomputed: --verify checks each line
	# against the header's own key, a run against its grid
	ids=($(find cache -name '*.zst' | sort))
	forge "${ids[0]}" 'lines[0], lines[1] = lines[1], lines[0]'
	run -1 swarm-run --cache cache --verify
	assert_output --partial '"reason":"line 1 is not the result of its point"'
	run -0 --separate-stderr swarm-run "${A[@]}"
	echo "$output" > swapped.out
	assert_equal "$(field chunks_corrupt swapped.out)" 1
	diff <(grep result clean.out) <(grep result swapped.out)
	# a line with its point and a value, then another point's key: one
	# JSON object for jq, with the wrong point last
	ids=($(find cache -name '*.zst' | sort))
	forge "${ids[0]}" 'lines[0] = lines[0].replace("\"value\":null}", "\"value\":null,\"point\":{\"x\":2,\"y\":1}}")'
	run -0 --separate-stderr swarm-run "${A[@]}"
	echo "$output" > twokeys.out
	assert_equal "$(field chunks_corrupt twokeys.out)" 1
	diff <(grep result clean.out) <(grep result twokeys.out)
	# fewer lines (once printed heap bytes)
	forge "${ids[0]}" 'lines.pop(); h["points"] -= 1'
	run -1 swarm-run --cache cache --verify
	assert_output --partial '"status":"corrupt"'
	run -0 swarm-run "${A[@]}"
	echo "$output" > again.out
	diff <(grep result clean.out) <(grep result again.out)
}

@test "a FIFO, a device or a directory at a chunk path never blocks" {
	run -0 swarm-run "${G[@]}" --exec "$P/noop.so"
	ids=($(find cache -name '*.zst' | sort))
	rm "${ids[0]}" "${ids[1]}"
	mkfifo "${ids[0]}"
	ln -s /dev/zero "${ids[1]}"
	run -0 --separate-stderr timeout 30 swarm-run "${G[@]}" --exec "$P/noop.so"
	echo "$output" > run.out
	assert_equal "$(field chunks_corrupt run.out)" 2
	[[ "$stderr" == *"not a regular file"* ]]
	[ -f "${ids[0]}" ] && [ ! -p "${ids[0]}" ] # replaced by the chunk
	# a directory there cannot be replaced: a clear error, no hang
	rm "${ids[0]}"
	mkdir "${ids[0]}"
	run -2 --separate-stderr timeout 30 swarm-run "${G[@]}" --exec "$P/noop.so"
	[[ "$stderr" == *"${ids[0]##*/}"* ]]
}

@test "an empty cache path or function id is refused, never '/'" {
	run -2 swarm-run --split x=1 --memo-chunk x=1 --cache "" --exec "$P/noop.so"
	assert_output --partial "--cache '': may not be empty"
	printf 'split: {x: [1]}\nmemo_chunk: {x: 1}\ncache: ""\n' > e.yaml
	run -2 swarm-run -c e.yaml --exec "$P/noop.so"
	assert_output --partial "(at e.yaml:3:8): cache '': may not be empty"
	run -2 swarm-run --split x=1 --memo-chunk x=1 --cache c --fn-id "" --exec "$P/noop.so"
	assert_output --partial "--fn-id '': may not be empty"
}

@test "--gc on a shared cache: only this function's chunks, --dry-run, a failed removal is exit 2" {
	run -0 swarm-run "${G[@]}" --exec "$P/noop.so"
	run -0 swarm-run "${G[@]}" --exec "$P/noop.so" --exp-version v2
	run -0 swarm-run "${G[@]}" --cmd echo 1
	assert_equal "$(nchunks)" 6
	# another experiment's function is never touched, even when old
	find cache -name '*.zst' -exec touch -d '30 days ago' {} +
	run -0 swarm-run "${G[@]}" --exec "$P/noop.so" --gc --dry-run
	echo "$output" > dry.out
	assert_equal "$(jq -c 'select(.type=="chunk") | .status' dry.out | sort -u)" '"would_remove"'
	assert_equal "$(grep -c '"type":"chunk"' dry.out)" 2
	assert_equal "$(field chunks_removed dry.out)" 2
	assert_equal "$(field chunks_other dry.out)" 2
	assert_equal "$(nchunks)" 6
	# the real one: v2's two chunks go, echo's two stay
	victim=$(jq -r 'select(.type=="chunk") | .id' dry.out | head -n 1)
	# (an ASan build wants its runtime first: let it follow the shim)
	run -2 --separate-stderr env LD_PRELOAD="$COREN_TEST_PLUGINS/failunlink.so" COREN_FAIL_UNLINK="$victim" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		swarm-run "${G[@]}" --exec "$P/noop.so" --gc
	echo "$output" > fail.out
	assert_equal "$(field remove_failed fail.out)" 1
	assert_equal "$(field chunks_removed fail.out)" 1
	[[ "$(jq -r 'select(.type=="chunk") | .status' fail.out)" == not_removed ]]
	[[ "$stderr" == *"could not be removed"* ]]
	run -0 swarm-run "${G[@]}" --exec "$P/noop.so" --gc --max-age 7d
	echo "$output" > old.out
	assert_equal "$(field chunks_removed old.out)" 3
	assert_equal "$(nchunks)" 2
	run -0 swarm-run "${G[@]}" --cmd echo 1
	echo "$output" > echo.out
	assert_equal "$(field chunks_cached echo.out)" 2
	# the chunks of functions no experiment names any more go by age alone
	run -2 swarm-run "${G[@]}" --exec "$P/noop.so" --gc --max-age 7d --all-functions
	assert_output --partial "give it no experiment or function"
	find cache -name '*.zst' -exec touch -d '30 days ago' {} +
	run -0 swarm-run --cache cache --gc --max-age 7d --all-functions
	assert_equal "$(field chunks_removed <(echo "$output"))" 2
	assert_equal "$(nchunks)" 0
}

@test "a chunk id is recomputable in Python, as coren-chunk(5) says" {
	run -0 swarm-run --split x=0.5,1,2.25 --split s=a,é --memo-chunk x=2 --memo-chunk s=1 \
		--param alpha=0.1 --param big=18446744073709551615 --cache c --cmd echo 1
	run -0 python3 - <<-'PY'
	import glob, hashlib, json, struct
	files = glob.glob("c/*/*.zst")
	assert len(files) == 4, files
	for f in files:
	    d = open(f, "rb").read()
	    h = json.loads(d[8:8 + struct.unpack("<I", d[4:8])[0]])
	    key = {k: h[k] for k in ("chunk_key", "fn", "params", "version")}
	    text = json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
	    assert hashlib.sha256(text.encode()).hexdigest() == h["id"], f
	    assert f.endswith(h["id"] + ".zst")
	print("ok")
	PY
	assert_output ok
}
