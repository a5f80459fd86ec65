#!/usr/bin/env bats
# The public headers and the direction of includes (HACKING.md): every
# header in lib/include/coren compiles on its own as C and as C++ (a CUDA
# kernel's author includes them from C++); lib/core includes nothing else
# in lib/ (its objects call only its own coren_ functions); lib/cost does not include the host's rk.h; tools/ and plugins/
# include only <coren/*.h> and their own files.

load test_helper

setup_file() {
	export JANSSON_CFLAGS="$(pkg-config --cflags jansson 2>/dev/null || true)"
}

# The <coren/X.h> names a file includes, one a line.
coren_includes() {
	sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*<coren/\([a-z0-9_]*\)\.h>.*|\1|p' "$@"
}

# The "X" names a file includes, one a line.
quoted_includes() {
	sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*|\1|p' "$1"
}

compile_each() { # LANG COMPILER FLAGS...
	local lang=$1 cc=$2 bad="" h
	shift 2
	for h in "$top_srcdir"/lib/include/coren/*.h; do
		printf '#include <coren/%s>\n' "${h##*/}" |
			"$cc" -fsyntax-only -x "$lang" -Wall -Wextra -Werror "$@" \
				-I"$top_srcdir/lib/include" $JANSSON_CFLAGS - 2>"$BATS_TEST_TMPDIR/err" ||
			bad="$bad ${h##*/}"
	done
	[ -z "$bad" ] || { echo "does not compile alone as $lang:$bad"; return 1; }
}

@test "every public header compiles on its own as C" {
	compile_each c "${CC:-cc}"
}

@test "every public header compiles on its own as C++" {
	command -v "${CXX:-c++}" >/dev/null || skip "no C++ compiler"
	compile_each c++ "${CXX:-c++}"
}

@test "lib/core includes nothing else in lib/, and calls nothing else" {
	local f h bad="" objs undef
	for f in "$top_srcdir"/lib/core/*.[ch]; do
		for h in $(quoted_includes "$f"); do
			[ "$h" = config.h ] || [ -e "$top_srcdir/lib/core/$h" ] || bad="$bad ${f##*/}:\"$h\""
		done
	done
	[ -z "$bad" ] || { echo "lib/core includes from elsewhere:$bad"; return 1; }
	objs=$(ls "$top_builddir"/lib/core/.libs/libcoren_la-*.o 2>/dev/null) || skip "no objects"
	# every coren_ symbol lib/core uses, lib/core defines
	undef=$(comm -23 <(nm -u $objs | awk '$2 ~ /^coren_/ { print $2 }' | sort -u) \
		<(nm --defined-only $objs | awk '$3 ~ /^coren_/ { print $3 }' | sort -u))
	[ -z "$undef" ] || { echo "lib/core calls outside itself:" $undef; return 1; }
}

@test "lib/cost does not include the host's rk.h" {
	run grep -l '#include <coren/rk\.h>' "$top_srcdir"/lib/cost/*.c
	[ "$status" -eq 1 ]
}

@test "tools/ and plugins/ include only <coren/*.h> and their own files" {
	local f h bad=""
	for f in $(find "$top_srcdir/tools" "$top_srcdir/plugins" -name '*.[ch]' -o -name '*.cu'); do
		for h in $(quoted_includes "$f"); do
			case "$h" in
			config.h) ;;
			*..* | lib/*) bad="$bad ${f#"$top_srcdir"/}:\"$h\"" ;;
			*) [ -e "$(dirname "$f")/$h" ] || bad="$bad ${f#"$top_srcdir"/}:\"$h\"" ;;
			esac
		done
		for h in $(coren_includes "$f"); do
			[ -e "$top_srcdir/lib/include/coren/$h.h" ] || bad="$bad ${f#"$top_srcdir"/}:<coren/$h.h>"
		done
	done
	[ -z "$bad" ] || { echo "includes past the public API:$bad"; return 1; }
}
