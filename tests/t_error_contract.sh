#!/bin/sh
# t_error_contract.sh - the error contract of include/winnow.h, checked over the
# source so that no entry point can forget it: every function that winnow.h
# declares WN_API returning wn_status is defined in src/ with WN_ENTRY() (which
# clears wn_last_error()) as its first statement, and no file under src/ passes
# wn_last_error() back into a message (context goes through wn_seterr_prefix).
# tests/test_errors.c checks the behaviour at run time.
. "${0%/*}/lib.sh"
t_tmp error_contract
grep -E '^WN_API wn_status wn_[a-z0-9_]+\(' include/winnow.h | sed 's/^WN_API wn_status //; s/(.*//' | sort -u >"$T/names"
n=$(wc -l <"$T/names")
[ "$n" -ge 40 ] || fail "only $n public functions returning wn_status found in include/winnow.h"
while read -r name; do
    # the definition starts at column 0; its body's first statement follows the line ending in '{'
    first=$(awk -v fn="$name" '
        !body && $0 ~ "^wn_status " fn "\\(" { sig = 1 }
        sig && !body && /\{[ \t]*$/ { body = 1; next }
        body && NF { print; exit }' src/*/*.c)
    case "$first" in
        *"WN_ENTRY();"*) ;;
        "") fail "$name: no definition found in src/*/*.c" ;;
        *) fail "$name: first statement is '$first', not WN_ENTRY();" ;;
    esac
done <"$T/names"
# wn_last_error() inside the library only where a message is handed to a caller's
# callback (build.c's warn), never as an argument of wn_seterr / snprintf
grep -n 'wn_last_error()' src/*/*.c | grep -v '^src/util/error.c' | grep -v 'warn(p, wn_last_error())' >"$T/uses"
[ -s "$T/uses" ] && { fail "wn_last_error() used inside src/ (use wn_seterr_prefix):"; cat "$T/uses"; }
echo "$n public functions returning wn_status checked"
t_done
