#!/bin/sh
# t_symbols.sh - libwinnow.so exports exactly the functions include/winnow.h declares
# WN_API (built with -fvisibility=hidden): no internal symbol (bert_forward, dist_get,
# wn_malloc...) can collide with a host program's own, and no public one is missing.
: "${BUILD:=build}"
SO="$BUILD/libwinnow.so"
[ -f "$SO" ] || { echo "t_symbols: $SO is not built"; exit 1; }
command -v nm >/dev/null || { echo "SKIPPED: nm (binutils) is not installed"; exit 77; }
. "${0%/*}/lib.sh"
t_tmp symbols
# defined dynamic symbols of the library (sanitizer builds define none of their own)
nm -D --defined-only "$SO" | awk 'NF >= 3 {print $3}' | sed 's/@.*//' | sort -u >"$T/exported"
[ -s "$T/exported" ] || fail "nm -D lists no symbol in $SO"
grep -v '^wn_' "$T/exported" >"$T/foreign"
[ -s "$T/foreign" ] && { fail "$(wc -l <"$T/foreign") exported symbols without the wn_ prefix:"; head -20 "$T/foreign"; }
# the declarations: every line of winnow.h that starts with WN_API names one function
grep '^WN_API' include/winnow.h | sed 's/(.*//; s/.*[ *]//' | sort -u >"$T/declared"
n=$(wc -l <"$T/declared")
[ "$n" -ge 100 ] || fail "only $n WN_API declarations found in include/winnow.h"
comm -23 "$T/exported" "$T/declared" >"$T/extra"
comm -13 "$T/exported" "$T/declared" >"$T/missing"
[ -s "$T/extra" ] && { fail "exported but not declared WN_API in winnow.h:"; cat "$T/extra"; }
[ -s "$T/missing" ] && { fail "declared WN_API but not exported (not defined?):"; cat "$T/missing"; }
# and every public declaration is marked: a function declared at the start of a line
# without WN_API would be hidden
grep -nE '^[A-Za-z_][A-Za-z0-9_ *]*\bwn_[a-z0-9_]+\(' include/winnow.h | grep -v ':typedef' | grep -v ':WN_API' >"$T/unmarked"
[ -s "$T/unmarked" ] && { fail "declarations without WN_API:"; cat "$T/unmarked"; }
echo "$(wc -l <"$T/exported") symbols exported, $n declared"
t_done
