#!/usr/bin/env bash
# run_test.sh — ctest's `install` test: installs the build tree into a
# temporary prefix and proves that a researcher's project can use it.
#
#   tests/install/run_test.sh BUILD_DIR C_COMPILER SANITIZE(ON|OFF) SOURCE_DIR
#
#  1. cmake --install BUILD_DIR --prefix $tmp/prefix
#  2. every installed header compiles on its own against the installed
#     include directory alone (-Wall -Wextra -Werror): the public set is
#     closed and needs neither BLIS nor LAPACKE
#  3. demo.c builds with CMake's find_package(modgrad) and runs
#  4. demo.c builds with `pkg-config --cflags --libs modgrad` and runs
#  5. the installed CLI runs, and trains a --model-file variant (the one of
#     tests/util/variant.h) compiled against the installed headers
# Any failure exits non-zero (ctest reports it). The prefix is removed at the end.
set -euo pipefail

build=$(cd "$1" && pwd)
cc=${2:-cc}
sanitize=${3:-OFF}
source=$(cd "${4:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d /tmp/mg_install_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { echo "== install test: $*"; }

san=()
if [[ $sanitize == ON ]]; then san=(-fsanitize=address,undefined); fi

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
inc=$prefix/include/modgrad
test -f "$inc/models/model.h"
libdir=$(dirname "$(find "$prefix" -name libmodgrad.so | head -1)")
test -f "$libdir/libmodgrad.so"
test -x "$prefix/bin/modgrad"
test -f "$libdir/pkgconfig/modgrad.pc"
test -f "$libdir/cmake/modgrad/modgradConfig.cmake"
test -f "$libdir/cmake/modgrad/modgradConfigVersion.cmake"

step "each installed header compiles alone"
n=0
while IFS= read -r h; do
    echo "#include \"$h\"" | "$cc" -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$inc" -x c - ||
        { echo "installed header $h does not compile on its own" >&2; exit 1; }
    n=$((n + 1))
done < <(cd "$inc" && find . -name '*.h' | sed 's|^\./||' | sort)
echo "$n headers"
# the public headers must not need the library's private dependencies
if grep -rlE '#include *[<"](blis|lapacke|cjson|xxhash|omp)' "$inc"; then
    echo "an installed header includes a private dependency" >&2
    exit 1
fi

step "find_package(modgrad) project"
cmake -S "$here" -B "$tmp/demo-cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="${san[*]:-}" -DCMAKE_EXE_LINKER_FLAGS="${san[*]:-}" >"$tmp/demo-cmake.log" ||
    { cat "$tmp/demo-cmake.log"; exit 1; }
cmake --build "$tmp/demo-cmake" >>"$tmp/demo-cmake.log" || { cat "$tmp/demo-cmake.log"; exit 1; }
"$tmp/demo-cmake/demo"

step "pkg-config project"
export PKG_CONFIG_PATH=$libdir/pkgconfig
pkg-config --exists modgrad
flags=$(pkg-config --cflags --libs modgrad)
echo "pkg-config --cflags --libs modgrad: $flags"
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror ${san[@]+"${san[@]}"} "$here/demo.c" -o "$tmp/demo-pc" \
    $flags -Wl,-rpath,"$(pkg-config --variable=libdir modgrad)"
"$tmp/demo-pc"

step "installed CLI"
"$prefix/bin/modgrad" --version
"$prefix/bin/modgrad" models | grep -q mlp_tied

step "installed CLI trains a --model-file variant"
printf '#include <stdio.h>\n#include "tests/util/variant.h"\nint main(void) { return fputs(VARIANT_SOURCE, stdout) < 0; }\n' |
    "$cc" -I"$source" -x c - -o "$tmp/print_variant"
mkdir "$tmp/elsewhere"
"$tmp/print_variant" >"$tmp/elsewhere/square_tied.c"
XDG_CACHE_HOME=$tmp/cache "$prefix/bin/modgrad" train --model-file "$tmp/elsewhere/square_tied.c" \
    --p 23 --d 16 --width 32 --threads 1 --steps 3 --eval-every 1 --verbose --out "$tmp/run" \
    >"$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; exit 1; }
grep -F -- "-I$(cd "$inc" && pwd -P) " "$tmp/run.log" ||
    { echo "the variant was not compiled against the installed headers:" >&2; cat "$tmp/run.log"; exit 1; }
grep -q '"model":.*"square_tied"' "$tmp/run/config.json"

step "passed"
