# Shared set-up for coren's BATS suites. make check exports top_srcdir,
# top_builddir, BATS_LIB_PATH and a PATH with the built tools first.
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"
export LC_ALL=C.UTF-8
