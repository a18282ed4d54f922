#!/bin/sh
# t_readme_example.sh - the README's C example is docs/example.c, verbatim (the
# ```c block of README.md); it builds with -Wall -Wextra -Werror against
# $BUILD/libwinnow.a, prints the cosine of two sentences on the tiny fixture model
# equal to the one of the PyTorch reference embeddings (1e-4), and on a model that
# does not exist exits 1 with the library's message (no crash, nothing leaked:
# under SANITIZE=1 it is built with ASan+UBSan).
. "${0%/*}/lib.sh"
t_tmp readme
CC=${WN_CC:-cc}
SANFLAGS=
[ "$BUILD" = build-asan ] || [ "${WN_SANITIZE:-0}" = 1 ] && SANFLAGS="-fsanitize=address,undefined"
awk '/^```c$/ { inb = 1; n++; next } /^```/ { inb = 0 } inb && n == 1' README.md >"$T/readme.c"
[ -s "$T/readme.c" ] || fail "README.md has no \`\`\`c block"
cmp -s "$T/readme.c" docs/example.c || fail "README.md's C example differs from docs/example.c: $(diff "$T/readme.c" docs/example.c | head -5)"
LIBS=$(sed -n 's/^LDLIBS *= *//p' Makefile)
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Werror $SANFLAGS -Iinclude -o "$T/example" docs/example.c "$BUILD/libwinnow.a" $LIBS 2>"$T/cc" ||
    { fail "docs/example.c does not build: $(cat "$T/cc")"; t_done; }
out=$("$T/example" tests/fixtures/model/tiny-bi "hello world" "The quick brown fox jumps over the lazy dog." 2>"$T/err") ||
    fail "example exit $?: $(cat "$T/err")"
echo "example printed: $out"
want=$(python3 -c '
import math, struct
d = open("tests/fixtures/model/tiny_bi_text.f32", "rb").read()
v = struct.unpack("<%df" % (len(d) // 4), d)
a, b = v[0:64], v[128:192]   # rows 0 and 2 of tests/fixtures/model/cli_embed.txt
print("%.6f" % (sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(x * x for x in b))))')
python3 -c "import sys; g = float(sys.argv[1].split()[-1]); sys.exit(abs(g - float(sys.argv[2])) > 1e-4)" "$out" "$want" ||
    fail "example printed '$out', the PyTorch reference cosine is $want"
HF_HUB_OFFLINE=1 WINNOW_CACHE="$T/cache" HF_HUB_CACHE="$T/hf" "$T/example" "$T/no-such-model" a b >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || fail "missing model: exit $rc, want 1"
grep -q "no-such-model" "$T/err" || fail "missing model: the message does not name it: $(cat "$T/err")"
t_done
