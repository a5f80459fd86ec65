#!/usr/bin/env bats
# Runs the EXAMPLES of every man page. In an EXAMPLES section, a .EX/.EE
# block whose first line starts with "$ " is a shell session: each "$ "
# line is run (in order, in one shell, in a scratch directory, with the
# build tree's pkg-config file first) and the lines after it, up to the next
# "$ ", are its expected output (stdout and stderr). A command with no
# expected output must succeed.

load test_helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	export PKG_CONFIG_PATH="$top_builddir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
}

# The EXAMPLES blocks of a man page, unescaped, separated by "@@END".
blocks() {
	sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$1" |
		sed -n '/^\.EX/,/^\.EE/p' |
		sed -e 's/^\.EX$//' -e '/^$/d' -e 's/^\.EE$/@@END/' \
			-e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' \
			-e 's/\\&//g' -e 's/\\e/\\/g'
}

# Runs the shell sessions of a man page; fails on the first mismatch.
run_sessions() {
	local page=$1 line cmd="" expect="" n=0 in_session=0 first=1
	: > script.sh
	while IFS= read -r line; do
		if [ "$line" = "@@END" ]; then
			[ -n "$cmd" ] && emit "$cmd" "$expect" $((n++))
			cmd="" expect="" in_session=0 first=1
			continue
		fi
		if [ $first = 1 ]; then
			first=0
			[[ "$line" == '$ '* ]] && in_session=1
		fi
		[ $in_session = 1 ] || continue
		if [[ "$line" == '$ '* ]]; then
			[ -n "$cmd" ] && emit "$cmd" "$expect" $((n++))
			cmd=${line#'$ '} expect=""
		else
			expect+="$line"$'\n'
		fi
	done < <(blocks "$page")
	[ "$n" -gt 0 ] || { echo "no runnable example in $page"; return 1; }
	bash script.sh
}

# Appends one command and its check to script.sh.
emit() {
	printf '%s' "$2" > "expect.$3"
	{
		printf '{ %s\n} > out.%d 2>&1; rc=$?\n' "$1" "$3"
		if [ -n "$2" ]; then
			printf 'printf "%%s\\n" "$(cat out.%d)" | diff -u expect.%d - || { echo "example %d: %s"; exit 1; }\n' \
				"$3" "$3" "$3" "${1//\"/\\\"}"
		else
			printf '[ $rc = 0 ] || { cat out.%d; echo "example %d failed ($rc): %s"; exit 1; }\n' \
				"$3" "$3" "${1//\"/\\\"}"
		fi
	} >> script.sh
}

@test "coren(7) EXAMPLES run" {
	run_sessions "$top_srcdir/man/coren.7"
}

@test "coren-records(5) EXAMPLES run" {
	command -v jq >/dev/null || skip "jq is not installed"
	export COREN_PLUGIN_PATH="$COREN_EXEC_PLUGINS"
	run_sessions "$top_srcdir/man/coren-records.5"
}

@test "coren-plugin(3) EXAMPLES run: the plugin in the page builds, exports one symbol and works" {
	blocks "$top_srcdir/man/coren-plugin.3" |
		awk '/^#include <coren\/exec.h>/ {on=1} on && /^@@END/ {exit} on' > square.c
	grep -q COREN_PLUGIN_DESCRIBE square.c
	run_sessions "$top_srcdir/man/coren-plugin.3"
	run -0 plugload --point '{"x":7}' ./square.so
	assert_line --index 1 '{"type":"result","point":{"x":7},"value":49}'
	run -0 plugload --point '{"x":1.5}' ./square.so
	assert_line --index 1 '{"type":"result","point":{"x":1.5},"value":2.25}'
}

@test "coren-plugin(3)'s square.c is examples/plugin/square.c" {
	blocks "$top_srcdir/man/coren-plugin.3" |
		awk '/^#include <coren\/exec.h>/ {on=1} on && /^@@END/ {exit} on' > square.c
	sed -n '/^#include <coren\/exec.h>/,$p' "$top_srcdir/examples/plugin/square.c" |
		expand -t 8 | grep -v '^$' > want.c
	run -0 diff -u want.c square.c
}

@test "every man page reads without groff warnings" {
	command -v groff >/dev/null || skip "groff is not installed"
	for page in "$top_srcdir"/man/*.[1-9]; do
		run -0 --separate-stderr groff -man -Tutf8 -ww -z "$page"
		assert_equal "$stderr" ""
	done
}

@test "coren-cost(1) EXAMPLES run" {
	run_sessions "$top_srcdir/man/coren-cost.1"
}

@test "coren-verdict(1) EXAMPLES run" {
	run_sessions "$top_srcdir/man/coren-verdict.1"
}

@test "coren-probe(1) EXAMPLES run" {
	run_sessions "$top_srcdir/man/coren-probe.1"
}

@test "swarm-run(1) EXAMPLES run" {
	export COREN_PLUGIN_PATH="$COREN_EXEC_PLUGINS"
	run_sessions "$top_srcdir/man/swarm-run.1"
}

@test "coren-chunk(5) EXAMPLES run" {
	export COREN_PLUGIN_PATH="$COREN_EXEC_PLUGINS"
	run_sessions "$top_srcdir/man/coren-chunk.5"
}

@test "rk-launch(1) EXAMPLES run" {
	export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
	run_sessions "$top_srcdir/man/rk-launch.1"
}

@test "coren-rk(3) EXAMPLES run: the kernel in the page builds and runs" {
	export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
	blocks "$top_srcdir/man/coren-rk.3" |
		awk '/^#include <coren\/rk(kernel)?.h>/ {on=1} on && /^@@END/ {exit} on' > negate.c
	grep -q COREN_PLUGIN_DESCRIBE negate.c
	run_sessions "$top_srcdir/man/coren-rk.3"
}

@test "coren-envelope(5) EXAMPLES run" {
	export COREN_PLUGIN_PATH="$COREN_RK_PLUGINS"
	run_sessions "$top_srcdir/man/coren-envelope.5"
}

@test "rk-bench(1) EXAMPLES run" {
	command -v jq >/dev/null || skip "jq is not installed"
	run_sessions "$top_srcdir/man/rk-bench.1"
}

@test "coren-python(7) EXAMPLES run" {
	run_sessions "$top_srcdir/man/coren-python.7"
}
