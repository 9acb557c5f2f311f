#!/usr/bin/env bash
# install.sh BUILD SOURCE: installs the build into a temporary prefix
# (DESTDIR), compiles the example program of README.md against it through
# pkg-config, shared and static, and runs both. The library as a user
# embedding it sees it.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install test: $*" >&2; exit 1; }

DESTDIR="$tmp/root" meson install -C "$build" --no-rebuild --quiet >/dev/null || fail "meson install failed"
pc=$(find "$tmp/root" -name meg.pc | head -n 1)
[ -n "$pc" ] || fail "no meg.pc installed"
for h in runtime.h util.h graph.h ops.def exec.h meg.h nn.h data.h io.h samplers.h metrics.h; do
  [ -n "$(find "$tmp/root" -path "*/include/meg/$h")" ] || fail "header $h not installed"
done
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root"

# exactly the program README shows after the marker
sed -n '/<!-- example: hello_grad.c -->/,/^```$/p' "$src/README.md" | sed '1,2d;$d' > "$tmp/hello_grad.c"
[ -s "$tmp/hello_grad.c" ] || fail "README.md has no example after <!-- example: hello_grad.c -->"

cc -std=c11 -Wall -Werror -o "$tmp/hello_shared" "$tmp/hello_grad.c" $(pkg-config --cflags --libs meg) -lm \
  || fail "the example does not build against the shared library"
libdir=$(dirname "$(find "$tmp/root" -name 'libmeg.so' | head -n 1)")
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/hello_shared") || fail "the shared build failed: $out"
echo "shared: $out"
case "$out" in *"largest difference from the reference"*) ;; *) fail "unexpected output: $out" ;; esac

cc -std=c11 -Wall -Werror -o "$tmp/hello_static" "$tmp/hello_grad.c" $(pkg-config --cflags meg) \
  "$libdir/libmeg.a" $(pkg-config --static --libs-only-other --libs-only-l meg | sed 's/-lmeg //') -lm \
  || fail "the example does not build against the static library"
out=$("$tmp/hello_static") || fail "the static build failed: $out"
echo "static: $out"
