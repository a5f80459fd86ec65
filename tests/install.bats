#!/usr/bin/env bats
# make install into a temporary root; then examples/plugin builds out of
# tree against the installed library with pkg-config, and loads.

load test_helper

setup_file() {
	export DEST="$BATS_FILE_TMPDIR/root"
	# a make of its own, not a child of the make running the tests
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" install DESTDIR="$DEST" >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&3; return 1; }
	PC=$(find "$DEST" -name coren.pc | head -n 1)
	export PKG_CONFIG_PATH=$(dirname "$PC") PKG_CONFIG_SYSROOT_DIR="$DEST"
}

@test "headers, library, pkg-config file and man pages are installed" {
	assert_file_exists "$(find "$DEST" -path '*/include/coren/plugin.h')"
	assert_file_exists "$(find "$DEST" -path '*/include/coren/coren.h')"
	[ -n "$(find "$DEST" -name 'libcoren.so*')" ]
	[ -n "$(find "$DEST" -name 'libcoren.a')" ]
	[ -n "$(find "$DEST" -path '*/man7/coren.7')" ]
	[ -n "$(find "$DEST" -path '*/man5/coren-records.5')" ]
	[ -n "$(find "$DEST" -path '*/man3/coren-plugin.3')" ]
	run -0 pkg-config --modversion coren
	assert_output "$(sed -n 's/^Version: //p' "$top_builddir/coren.pc")"
}

@test "the library exports only coren_ symbols" {
	command -v nm >/dev/null || skip "nm is not installed"
	lib=$(find "$DEST" -name 'libcoren.so.*.*' | head -n 1)
	run -0 bash -c "nm -D --defined-only '$lib' | awk '\$2 ~ /^[TDBR]\$/ {print \$3}' | { grep -v '^coren_' || true; }"
	assert_output ""
}

@test "examples/plugin builds out of tree with pkg-config and loads" {
	cp -r "$top_srcdir/examples/plugin" "$BATS_TEST_TMPDIR/plugin"
	chmod -R u+w "$BATS_TEST_TMPDIR/plugin"
	cd "$BATS_TEST_TMPDIR/plugin"
	run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make
	[ "$status" = 0 ] || { echo "$output"; false; }
	assert_file_exists square.so
	run -0 plugload --point '{"x":3}' ./square.so
	assert_line --index 0 --partial '"name":"square","version":"1.0","kind":"exec"'
	assert_line --index 1 '{"type":"result","point":{"x":3},"value":9}'
	run -0 plugload --point '{"x":1.5}' ./square.so
	assert_line --index 1 '{"type":"result","point":{"x":1.5},"value":2.25}'
}

@test "a plugin installed into plugindir is found by name" {
	cd "$BATS_TEST_TMPDIR"
	cp -r "$top_srcdir/examples/plugin" plugin && chmod -R u+w plugin && cd plugin
	run -0 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make install DESTDIR="$DEST"
	dir=$(dirname "$(find "$DEST" -name square.so | head -n 1)")
	[[ "$dir" == */coren/plugins ]]
	COREN_PLUGIN_PATH="$dir" run -0 plugload --kind exec square
	assert_output --partial '"name":"square"'
}

@test "the Python package is installed and finds the installed swarm-run and libcoren" {
	command -v "${PYTHON:-python3}" >/dev/null || skip "python3 is not installed"
	init=$(find "$DEST" -path '*/coren/__init__.py' | head -n 1)
	assert_file_exists "$init"
	pkgdir=$(dirname "$(dirname "$init")")
	assert_file_exists "$pkgdir/coren/coproc.py"
	assert_file_exists "$pkgdir/coren/_config.py"
	[ -n "$(find "$DEST" -path '*/man7/coren-python.7')" ]
	# _config.py names the install directories (without DESTDIR)
	run -0 env -u PYTHONPATH "${PYTHON:-python3}" -c "import sys; sys.path.insert(0, '$pkgdir'); from coren import _config; print(_config.BINDIR, _config.LIBDIR)"
	[[ "$output" != *"@"* && "$output" == /* ]]
	# run from the staged tree: the library and the program by their staged paths
	lib=$(find "$DEST" -name 'libcoren.so.0' | head -n 1)
	run -0 env -u PYTHONPATH PYTHONPATH="$pkgdir" COREN_LIBCOREN="$lib" LD_LIBRARY_PATH="$(dirname "$lib")" \
		"${PYTHON:-python3}" -c 'from coren import FnCost; print(FnCost.sort(1_000_000, 64, 64_000_000).flops)'
	assert_output 200000000
	cd "$BATS_TEST_TMPDIR"
	printf 'def f(params, p):\n    return p["x"] + 1\n' > m.py
	run -0 env PYTHONPATH="$pkgdir" LD_LIBRARY_PATH="$(dirname "$lib")" \
		"$(find "$DEST" -path '*/bin/swarm-run' | head -n 1)" --cache c --no-progress --split x=1..2 --memo-chunk x=2 \
		--coproc "${PYTHON:-python3}" -m coren.coproc m:f
	assert_line --index 1 '{"type":"result","point":{"x":2},"value":3}'
}

# ./bootstrap --prefix=DIR after an earlier build: libtool linked the
# plugins for the old directory, so make install refused them. bootstrap
# now cleans the build when configure changes where it installs. Run on a
# stub tree (a configure that writes a Makefile recording 'make clean').
@test "bootstrap rebuilds from clean when the install directories change" {
	local tree="$BATS_TEST_TMPDIR/tree" n
	mkdir -p "$tree/build-aux" "$tree/bin"
	cp "$top_srcdir/bootstrap" "$tree/"
	cd "$tree"
	cat > configure <<'STUB'
#!/bin/sh
prefix=/usr/local
for a; do case $a in --prefix=*) prefix=${a#--prefix=} ;; esac; done
printf 'prefix = %s\nall:\n\t@:\nclean:\n\t@echo cleaned >> clean.log\n' "$prefix" > Makefile
: > config.status
STUB
	printf '#!/bin/sh\necho "install ok installed"\n' > bin/dpkg-query
	chmod +x configure bin/dpkg-query
	touch build-aux/tap-driver.sh Makefile.in
	touch -d 2000-01-01 configure.ac Makefile.am
	boot() { PATH="$tree/bin:$PATH" env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ./bootstrap "$@"; }
	run -0 boot
	assert_file_not_exists clean.log
	run -0 boot --prefix=/opt/a
	assert_output --partial 'install directories changed: make clean'
	assert_equal "$(wc -l < clean.log)" 1
	run -0 boot --prefix=/opt/a
	run -0 boot --prefix=/opt/a --enable-developer
	assert_equal "$(wc -l < clean.log)" 1
}
