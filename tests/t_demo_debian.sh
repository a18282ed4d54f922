#!/bin/sh
# t_demo_debian.sh - the demo's own collection (cli/demo/demo_debian.c), from a small
# dpkg status fixture (tests/fixtures/demo/dpkg_status: real stanzas of this machine's
# packages plus deb822 corner cases: a removed package with its stanza kept, a
# Multi-Arch package listed twice, an empty long description, tab continuations,
# " ." breaks, verbatim lines, UTF-8): the BEIR files it writes against an independent
# parse (tests/tools/check_demo_debian.py), the exercises' runs and metrics against
# tests/tools/trec_eval.py, `winnow embed` and `winnow score`
# (tests/tools/check_demo_collection.py); then the failures.
: "${BUILD:=build}"
W="$BUILD/winnow"
FX=tests/fixtures/model
ST=tests/fixtures/demo/dpkg_status
. "${0%/*}/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed (scripts/deps.sh installs it)"
[ -x "$W" ] || { echo "t_demo_debian: $W is not built"; exit 1; }
t_tmp demo_debian
expect_err() { grep -qF -- "$1" "$T/err" || fail "$2: stderr lacks '$1':"; }
M="--bi-encoder $FX/tiny-bi --cross-encoder $FX/tiny-ce"

# 1. the collection and every exercise on it
"$W" demo $M --dpkg-status "$ST" --out "$T/o" >"$T/out" 2>"$T/err" || fail "demo --dpkg-status: exit $? ($(cat "$T/err"))"
C="$T/o/debian-collection"
python3 tests/tools/check_demo_debian.py "$ST" cli/demo/debian_queries.tsv "$C" "$T/out" || fail "the Debian collection (above)"
python3 tests/tools/check_demo_collection.py "$T/o" "$C" --docs 1000000 --queries 1000000 --winnow "$W" \
    --bi "$FX/tiny-bi" --ce "$FX/tiny-ce" --stdout "$T/out" || fail "the exercises on it (above)"
#    corner cases, written out by hand: removed, empty long description, twice listed
grep -q '"_id": "oldtool"' "$C/corpus.jsonl" && fail "a removed package (config-files only) is a document"
grep -q '"_id": "demo-nolong"' "$C/corpus.jsonl" && fail "demo-nolong (no long description) is a document"
[ "$(grep -c '"_id": "libdemo-dup"' "$C/corpus.jsonl")" = 1 ] || fail "a package listed for two architectures is not one document"
want='{"_id": "demo-format", "title": "deb822 corner cases, with blanks around the synopsis", "text": "Wrapped words on a first line continued with a tab, and \"quotes\" \\ a backslash.\nVerbatim lines follow:\n$ demo-format --list\none  two\nLast paragraph, UTF-8: café, naïve."}'
[ "$(grep '"_id": "demo-format"' "$C/corpus.jsonl")" = "$want" ] || fail "demo-format: $(grep '"_id": "demo-format"' "$C/corpus.jsonl")"
grep -q "^Collection - 34 documents, " "$T/out" || fail "the collection heading: $(grep '^Collection' "$T/out")"
grep -q "34 packages with a long" "$T/out" && grep -q "description (1 without one left out)" "$T/out" || fail "the source line"
#    --docs / --queries cut it as any collection
"$W" demo $M --dpkg-status "$ST" --docs 20 --queries 3 --section collection --out "$T/o2" >"$T/out" 2>"$T/err" ||
    fail "--docs 20 --queries 3: exit $? ($(cat "$T/err"))"
grep -q "used: the first 20 documents (--docs), 3 queries (--queries)" "$T/out" || fail "--docs/--queries cut not said"

# 2. failures: a missing status file; one where no query's packages are installed
"$W" demo $M --dpkg-status "$T/none" --out "$T/o3" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "--dpkg-status missing: exit $rc, want 1"
expect_err "cannot read the dpkg status file $T/none" "--dpkg-status missing"
printf 'Package: lonely\nStatus: install ok installed\nDescription: nothing anyone asks for\n a long description\n' >"$T/status1"
"$W" demo $M --dpkg-status "$T/status1" --out "$T/o4" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "no query's packages installed: exit $rc, want 1"
expect_err "queries of debian_queries.tsv has its packages installed" "no query kept"
: >"$T/status0"
"$W" demo $M --dpkg-status "$T/status0" --out "$T/o5" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "empty status file: exit $rc, want 1"
expect_err "has no installed package with a long description" "empty status"

t_done
echo "t_demo_debian: all passed"
