#!/usr/bin/env bats
# The YAML config loader through yamlcat: errors carry file:line:col.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "a document prints as canonical JSON, typed by the core schema" {
	printf 'split:\n  s: [1, 2.5, "3", x]\nexec: noop\n' > exp.yaml
	run -0 yamlcat exp.yaml
	assert_output '{"exec":"noop","split":{"s":[1,2.5,"3","x"]}}'
}

@test "an unknown key is rejected by name at its position, exit 2" {
	printf 'exec: noop\nsplit: {}\nmemo_chunks:\n  s: 3\n' > exp.yaml
	run -2 --separate-stderr yamlcat --keys exec,split,memo_chunk exp.yaml
	assert_equal "$stderr" "yamlcat: error (at exp.yaml:3:1): unknown key 'memo_chunks'"
}

@test "a syntax error names line and column" {
	printf 'exec: noop\nsplit: [1, 2\n' > exp.yaml
	run -2 --separate-stderr yamlcat exp.yaml
	assert_equal "$stderr" "yamlcat: error (at exp.yaml:3:1): did not find expected ',' or ']' while parsing a flow sequence"
}

@test "a missing file is reported, exit 2" {
	run -2 --separate-stderr yamlcat nope.yaml
	assert_equal "$stderr" "yamlcat: error: cannot open 'nope.yaml': No such file or directory"
}
