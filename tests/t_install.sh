#!/bin/sh
# t_install.sh - `make install DESTDIR=$T PREFIX=/usr` stages the library, header,
# pkg-config file, program and models directory; the soname and link names are
# checked; then docs/example.c (the README's C example) is compiled against the
# staged copy with nothing but `pkg-config --cflags --libs winnow`
# (PKG_CONFIG_SYSROOT_DIR + PKG_CONFIG_PATH), linked dynamically, run on the tiny
# fixture model with LD_LIBRARY_PATH pointing at the staged lib, and its cosine
# compared with the PyTorch reference; `make uninstall` must leave nothing behind.
. "${0%/*}/lib.sh"
t_tmp install
command -v pkg-config >/dev/null || { echo "FAIL: pkg-config is absent (scripts/deps.sh installs it)"; exit 1; }
CC=${WN_CC:-cc}
SAN=${WN_SANITIZE:-0}
[ "$BUILD" = build-asan ] && SAN=1
SANFLAGS=
[ "$SAN" = 1 ] && SANFLAGS="-fsanitize=address,undefined"
D="$T/stage"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s install DESTDIR="$D" PREFIX=/usr CC="$CC" SANITIZE="$SAN" >"$T/log" 2>&1 ||
    { cat "$T/log"; fail "make install exited non-zero"; t_done; }
VER=$(sed -n 's/^#define WN_VERSION "\([0-9.]*\)".*/\1/p' include/winnow.h)
MAJ=${VER%%.*}
L="$D/usr/lib"
for f in "$L/libwinnow.a" "$L/libwinnow.so.$VER" "$D/usr/include/winnow.h" "$L/pkgconfig/winnow.pc" "$D/usr/bin/winnow"; do
    [ -f "$f" ] || fail "not installed: ${f#$D}"
done
[ -d "$D/usr/share/winnow/models" ] || fail "no /usr/share/winnow/models"
# bundled names: the installed program finds ../share/winnow/models from any directory,
# offline; the library has the install directory compiled in (WN_MODELS_DIR)
if [ -d models/winnow-small-embed ]; then
    (cd "$T" && echo "a cat" | HF_HUB_OFFLINE=1 WINNOW_CACHE="$T/nocache" "$D/usr/bin/winnow" embed --model winnow-small-embed) \
        >"$T/emb" 2>"$T/err" && grep -q '"embedding"' "$T/emb" || fail "installed: --model winnow-small-embed: $(cat "$T/err")"
    grep -q "/usr/share/winnow/models" "$D/usr/bin/winnow" || fail "installed: WN_MODELS_DIR is not /usr/share/winnow/models"
fi
[ "$(readlink "$L/libwinnow.so.$MAJ")" = "libwinnow.so.$VER" ] || fail "libwinnow.so.$MAJ -> $(readlink "$L/libwinnow.so.$MAJ")"
[ "$(readlink "$L/libwinnow.so")" = "libwinnow.so.$MAJ" ] || fail "libwinnow.so -> $(readlink "$L/libwinnow.so")"
readelf -d "$L/libwinnow.so.$VER" | grep -q "SONAME.*\[libwinnow.so.$MAJ\]" || fail "soname: $(readelf -d "$L/libwinnow.so.$VER" | grep SONAME)"
grep -q '^prefix=/usr$' "$L/pkgconfig/winnow.pc" && grep -q '^libdir=/usr/lib$' "$L/pkgconfig/winnow.pc" ||
    fail "winnow.pc: $(head -5 "$L/pkgconfig/winnow.pc")"
[ "$("$D/usr/bin/winnow" --version 2>&1 | grep -c "$VER")" -ge 1 ] || echo "note: winnow --version does not print $VER"

export PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_LIBDIR="$L/pkgconfig"
[ "$(pkg-config --modversion winnow)" = "$VER" ] || fail "pkg-config --modversion: $(pkg-config --modversion winnow 2>&1)"
FLAGS=$(pkg-config --cflags --libs winnow) || fail "pkg-config --cflags --libs winnow failed"
case "$FLAGS" in *"-I$D/usr/include"*"-L$D/usr/lib"*) ;; *) fail "pkg-config flags: $FLAGS" ;; esac
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Werror $SANFLAGS -o "$T/example" docs/example.c $FLAGS -lm 2>"$T/cc" ||
    fail "the example does not build against the installed copy: $(cat "$T/cc")"
if [ -x "$T/example" ]; then
    readelf -d "$T/example" | grep -q "NEEDED.*libwinnow.so.$MAJ" || fail "the example is not linked to libwinnow.so.$MAJ"
    out=$(LD_LIBRARY_PATH="$L" "$T/example" tests/fixtures/model/tiny-bi "hello world" \
        "The quick brown fox jumps over the lazy dog." 2>"$T/err") || fail "example exit $?: $(cat "$T/err")"
    echo "example printed: $out"
    # the reference: rows 0 and 2 of the PyTorch embeddings of tests/fixtures/model/cli_embed.txt
    want=$(python3 -c '
import math, struct, sys
d = open("tests/fixtures/model/tiny_bi_text.f32", "rb").read()
v = struct.unpack("<%df" % (len(d) // 4), d)
a, b = v[0:64], v[128:192]
print("%.6f" % (sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(x * x for x in b))))')
    python3 -c "import sys; g = float(sys.argv[1].split()[-1]); sys.exit(abs(g - float(sys.argv[2])) > 1e-4)" "$out" "$want" ||
        fail "example printed '$out', PyTorch reference cosine $want"
fi
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s uninstall DESTDIR="$D" PREFIX=/usr CC="$CC" SANITIZE="$SAN" >/dev/null 2>&1 ||
    fail "make uninstall exited non-zero"
left=$(find "$D" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
t_done
