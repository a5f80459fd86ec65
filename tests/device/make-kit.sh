#!/bin/sh
# make-kit.sh SRCDIR BUILDDIR DEST - the device kit: one folder holding all
# that the GPU checks need on a bare CUDA machine (nothing can be
# installed there): the built tools and test programs (the real ELF files
# libtool keeps in .libs), libcoren, the backend and kernel plugins (the
# CUDA backend built for sm_80 and sm_90 with sm_90 PTX), the shared
# libraries they load that a CUDA image may lack (found with ldd), jq, the
# BATS runtime and libraries, the GPU tests, bench/gpu.sh, and run.sh,
# which runs every check (tests/device/run.sh says which). `make
# device-kit` calls it; tests/device-kit.bats runs the kit from a copy
# with a cleared environment, in emulation, so that it cannot rot.
set -eu
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
dest=$3
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/lib" "$dest/plugins/backend" "$dest/plugins/kernel" \
	"$dest/tests" "$dest/bench" "$dest/bats"

# the real ELF file behind a libtool wrapper (or the file itself)
real() {
	d=$(dirname "$1")
	b=$(basename "$1")
	if [ -x "$d/.libs/$b" ]; then echo "$d/.libs/$b"; else echo "$1"; fi
}

for t in rk-launch rk-bench coren-probe coren-cost coren-verdict; do
	cp "$(real "$build/tools/$t")" "$dest/bin/$t"
done
for t in rkgpubench rkenv; do
	cp "$(real "$build/tests/helpers/$t")" "$dest/bin/$t"
done
cp "$(real "$build/tests/unit/test_rkgpu")" "$dest/bin/test_rkgpu"
cp -P "$build"/.libs/libcoren.so* "$dest/lib/"
cp "$build"/plugins/backend/.libs/*.so "$dest/plugins/backend/"
cp "$build"/plugins/kernel/.libs/*.so "$dest/plugins/kernel/"
cp "$(command -v jq)" "$dest/bin/jq"

# Shared libraries: everything ldd resolves for the kit's files, but the C
# library's own (every image has them, and they must match its loader),
# the C++ runtime (CUDA images ship it) and the CUDA driver (the
# machine's).
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl|librt|libutil|libresolv|libstdc\+\+|libgcc_s|libcuda\.so|libnvidia)'
for f in "$dest"/bin/* "$dest"/plugins/*/*.so; do
	LD_LIBRARY_PATH="$dest/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$f" 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r name path; do
	echo "$name" | grep -Eq "$skip" && continue
	[ -e "$dest/lib/$name" ] || cp -L "$path" "$dest/lib/$name"
done

# BATS: the runtime (Debian's layout: bin, lib, libexec) and libraries
# (bats puts its libexec folder first on PATH: under bats, `command -v
# bats` names the libexec one; the launcher is beside it in ../../bin)
bats_root=""
for b in "$(command -v bats)" /usr/bin/bats /usr/local/bin/bats; do
	[ -n "$b" ] && [ -e "$b" ] || continue
	b=$(readlink -f "$b")
	for r in "$(dirname "$(dirname "$b")")" "$(dirname "$(dirname "$(dirname "$b")")")"; do
		if [ -x "$r/libexec/bats-core/bats" ] && [ -x "$r/bin/bats" ]; then
			bats_root=$r
			break 2
		fi
	done
done
[ -n "$bats_root" ] || { echo "make-kit.sh: no bats found" >&2; exit 1; }
bats=$bats_root/bin/bats
mkdir -p "$dest/bats/bin"
cp "$bats" "$dest/bats/bin/bats" # it finds the rest from its own path
for d in lib/bats-core libexec/bats-core; do
	mkdir -p "$dest/bats/$d"
	cp -r "$bats_root/$d/." "$dest/bats/$d/"
done
mkdir -p "$dest/bats/libs"
for l in bats-support bats-assert bats-file; do
	found=""
	for p in $(echo "${BATS_LIB_PATH:-}" | tr : ' ') /usr/lib/bats /usr/lib; do
		if [ -d "$p/$l" ]; then
			cp -r "$p/$l" "$dest/bats/libs/"
			found=yes
			break
		fi
	done
	[ -n "$found" ] || { echo "make-kit.sh: no $l (BATS library)" >&2; exit 1; }
done

cp "$src/tests/rk-cuda.bats" "$src/tests/test_helper.bash" "$dest/tests/"
cp "$src/bench/gpu.sh" "$dest/bench/"
cp "$src/tests/device/run.sh" "$dest/run.sh"
chmod +x "$dest/run.sh"
du -sk "$dest" | awk '{ printf "device kit: %s (%.1f MiB)\n", $2, $1 / 1024 }' FS='\t' OFS=''
