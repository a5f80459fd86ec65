#!/usr/bin/env bats
# The documentation check (issue 22): every tool's man page and --help name
# exactly the long options the tool accepts (read from its getopt_long
# tables by the LD_PRELOAD shim tests/helpers/optdump.c), none of them is
# refused by the tool, every exit status a page or --help names is one of
# enum coren_exit with a fitting description, and the README lists every
# man page. See tests/doccheck.py for what is compared.

load test_helper

TOOLS="coren-probe coren-cost coren-verdict swarm-run rk-launch rk-bench"

# Options a tool accepts that neither its --help nor its man page may name.
# Internal: swarm-run --serve (an --isolate worker), rk-bench --insn-child
# and --child-size (its own child processes). Accepted and ignored, until
# its settings table stops accepting them: rk-launch --json and --table (it
# always writes records). The check fails when one of them is named or no
# longer accepted: then drop it here.
unlisted() {
	case $1 in
	swarm-run) echo --serve ;;
	rk-launch) echo --json --table ;;
	rk-bench) echo --insn-child --child-size ;;
	esac
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	shim="$top_builddir/tests/helpers/.libs/optdump.so"
	[ -f "$shim" ] || skip "tests/helpers/optdump.so is not built"
	check() { "${PYTHON:-python3}" "$top_srcdir/tests/doccheck.py" "$@"; }
}

@test "the shim reads a tool's getopt table" {
	run -0 env LD_PRELOAD="$shim" ASAN_OPTIONS=verify_asan_link_order=0 \
		COREN_OPTDUMP="$BATS_TEST_TMPDIR/dump" COREN_OPTDUMP_PROG=coren-cost \
		coren-cost --version
	run -0 grep -Fx 'max-record 1' "$BATS_TEST_TMPDIR/dump"
	run -0 grep -Fx 'name 1' "$BATS_TEST_TMPDIR/dump"
}

@test "each tool's man page and --help name exactly the options it accepts" {
	local t failed=0
	for t in $TOOLS; do
		# shellcheck disable=SC2046
		run check options "$top_builddir/tools/$t" "$top_srcdir/man/$t.1" "$shim" $(unlisted "$t")
		[ "$status" -eq 0 ] || { echo "$output"; failed=1; }
	done
	[ "$failed" -eq 0 ]
}

# Other programs' options the pages mention: pkg-config's, nm's, Python's
# **kwargs, hyperfine's --command-name, valgrind's --tool, sbatch's --wait
# and --array, jq's --unbuffered.
FOREIGN="cflags libs variable modversion defined-only kwargs command-name tool wait array unbuffered"

@test "every option a man page mentions is one a coren tool accepts" {
	local t tools=()
	for t in $TOOLS; do tools+=("$top_builddir/tools/$t"); done
	# shellcheck disable=SC2086
	run -0 check mentions "$shim" "${tools[@]}" "$top_srcdir"/man/*.[1-9] -- $FOREIGN
}

@test "the check notices a page that mentions an option no tool has" {
	sed '/^\.SH EXAMPLES/a Use \\fB\\-\\-no\\-such\\-option\\fR.' "$top_srcdir/man/coren.7" > coren.7
	run -1 check mentions "$shim" "$top_builddir/tools/coren-verdict" coren.7 -- $FOREIGN
	assert_output --partial 'coren.7: mentions --no-such-option, which no coren tool accepts'
}

@test "each tool's EXIT STATUS and --help name the codes of enum coren_exit" {
	local t failed=0
	for t in $TOOLS; do
		run check exits "$top_srcdir/lib/include/coren/error.h" \
			"$top_builddir/tools/$t" "$top_srcdir/man/$t.1"
		[ "$status" -eq 0 ] || { echo "$output"; failed=1; }
	done
	[ "$failed" -eq 0 ]
}

@test "coren(7) lists the codes of enum coren_exit, each with its meaning" {
	run -0 check table "$top_srcdir/lib/include/coren/error.h" "$top_srcdir/man/coren.7"
}

@test "the README lists every man page" {
	run -0 check readme "$top_srcdir/README.md" "$top_srcdir"/man/*.[1-9]
}

# The check must fail when the documentation drifts: each case breaks a
# copy of one file and expects the check to notice.
@test "the check notices a man page that loses an option" {
	sed '/^\.BI \\-\\-net\\-latency/,/^\.TP/d' "$top_srcdir/man/coren-verdict.1" > verdict.1
	run -1 check options "$top_builddir/tools/coren-verdict" verdict.1 "$shim"
	assert_output --partial 'coren-verdict: --net-latency is accepted but not in verdict.1'
}

@test "the check notices a man page without a short option" {
	sed 's/^\.BI \\-c ", \\-\\-config " FILE/.BI \\-\\-config " FILE"/' "$top_srcdir/man/swarm-run.1" > swarm-run.1
	run -1 check options "$top_builddir/tools/swarm-run" swarm-run.1 "$shim" $(unlisted swarm-run)
	assert_output --partial 'swarm-run: -c is accepted but not in swarm-run.1'
}

@test "the check notices a man page that documents an option the tool refuses" {
	sed 's/^\.BI \\-\\-ttl " BASE"/.BI \\-\\-ttl\\-base " BASE"/' "$top_srcdir/man/coren-verdict.1" > verdict.1
	run -1 check options "$top_builddir/tools/coren-verdict" verdict.1 "$shim"
	assert_output --partial 'verdict.1 names --ttl-base, which the tool does not accept'
	assert_output --partial 'refuses --ttl-base as unknown'
}

@test "the check notices a wrong exit status" {
	sed 's/; 5 for a bad/; 3 for a bad/' "$top_srcdir/man/coren-cost.1" > cost.1
	run -1 check exits "$top_srcdir/lib/include/coren/error.h" \
		"$top_builddir/tools/coren-cost" cost.1
	assert_output --partial "exit 3 (PLUGIN) described as"
	sed 's/^\.B 2$/.B 7/' "$top_srcdir/man/coren.7" > coren.7
	run -1 check table "$top_srcdir/lib/include/coren/error.h" coren.7
	assert_output --partial "exit 7 is not in enum coren_exit"
}

@test "the check notices a man page missing from the README" {
	touch coren-new.7
	run -1 check readme "$top_srcdir/README.md" "$top_srcdir"/man/*.[1-9] coren-new.7
	assert_output --partial 'coren-new(7) is not in its documentation list'
}

@test "a mistyped option is reported once, then the hint" {
	local t
	for t in $TOOLS; do
		run -2 --separate-stderr "$t" --doccheck-bogus </dev/null
		assert_equal "${#stderr_lines[@]}" 2
		assert_regex "${stderr_lines[0]}" "(unrecognized|unknown) option '--doccheck-bogus'"
		assert_equal "${stderr_lines[1]}" "try '$t --help'"
	done
}

@test "--help prints no printf escapes (80%%) and fits 80 columns" {
	local t
	for t in $TOOLS; do
		run -0 "$t" --help
		refute_output --partial '%%'
		run -0 awk -v t="$t" 'length > 80 { print t ": " $0; bad = 1 } END { exit bad }' <<< "$output"
	done
}

@test "man pages: titles name the page, no ß for R², no sources users lack" {
	command -v groff >/dev/null || skip "groff is not installed"
	local page name title
	for page in "$top_srcdir"/man/*.[1-9]; do
		name=$(basename "$page")
		title=$(tr a-z A-Z <<< "${name%.*}")"(${name##*.})"
		run -0 groff -man -Tutf8 -P-c -P-b -P-u "$page"
		assert_equal "${lines[0]%% *}" "$title"
		refute_output --partial 'ß'
		refute_output --regexp '(^|[^A-Za-z_])(DESIGN|limen)([^A-Za-z_]|$)'
	done
}
