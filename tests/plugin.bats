#!/usr/bin/env bats
# The plugin loader through plugload: search path and every refusal, with
# its exit code (3: plugin load failure; 2: not found).

load test_helper

P="$COREN_TEST_PLUGINS"

@test "a good plugin loads by path and describes itself" {
	run -0 plugload "$P/good.so"
	assert_output "{\"type\":\"plugin\",\"name\":\"good\",\"version\":\"1.2.3\",\"kind\":\"exec\",\"path\":\"$P/good.so\",\"summary\":\"doubles x\"}"
}

@test "an exec plugin runs at a point" {
	run -0 plugload --point '{"x":21}' "$P/good.so"
	assert_line --index 1 '{"type":"result","point":{"x":21},"value":42}'
}

@test "a plugin is found by name through --plugin-dir and COREN_PLUGIN_PATH" {
	run -0 plugload --plugin-dir "$P" good
	assert_output --partial '"name":"good"'
	COREN_PLUGIN_PATH="/nonexistent:$P" run -0 plugload good
	assert_output --partial '"name":"good"'
}

@test "an unknown name lists the directories searched, exit 2" {
	run -2 --separate-stderr plugload --plugin-dir /opt/a nosuch
	[[ "$stderr" == "plugload: error: plugin 'nosuch' not found (searched /opt/a, "*"/coren/plugins)" ]]
}

@test "each broken plugin is refused with its own message, exit 3" {
	run -3 --separate-stderr plugload "$P/abi_major.so"
	[[ "$stderr" == *"was built for plugin ABI 2.0, this coren has ABI 1.2: rebuild the plugin against this coren" ]]
	run -3 --separate-stderr plugload "$P/abi_minor.so"
	[[ "$stderr" == *"was built for plugin ABI 1.3, newer than this coren's ABI 1.2: upgrade coren or rebuild the plugin" ]]
	run -3 --separate-stderr plugload "$P/nosym.so"
	[[ "$stderr" == *"has no symbol 'coren_plugin_describe': not a coren plugin?" ]]
	run -3 --separate-stderr plugload "$P/undef.so"
	[[ "$stderr" == *"undefined symbol: coren_no_such_function (try 'ldd $P/undef.so' for missing libraries)" ]]
	run -3 --separate-stderr plugload "$P/badkind.so"
	[[ "$stderr" == *"has unknown plugin kind 99" ]]
	run -3 --separate-stderr plugload "$P/nodesc.so"
	[[ "$stderr" == *"coren_plugin_describe() returned no descriptor" ]]
	run -3 --separate-stderr plugload --kind exec "$P/backend.so"
	[[ "$stderr" == *"is a backend plugin, not an exec plugin" ]]
}

@test "a directory or a FIFO is not a regular file, exit 3" {
	run -3 --separate-stderr plugload "$P"
	[[ "$stderr" == *"is not a regular file" ]]
	mkfifo "$BATS_TEST_TMPDIR/fifo.so"
	run -3 --separate-stderr plugload "$BATS_TEST_TMPDIR/fifo.so"
	[[ "$stderr" == *"is not a regular file" ]]
}

@test "a plugin exports exactly one symbol" {
	command -v nm >/dev/null || skip "nm is not installed"
	run -0 bash -c "nm -D --defined-only '$P/good.so' | awk '\$2 ~ /^[TDBR]\$/ {print \$3}'"
	assert_output coren_plugin_describe
}
