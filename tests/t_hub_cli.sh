#!/bin/sh
# t_hub_cli.sh - `winnow download` against tests/tools/hub_test_server.py on 127.0.0.1:
# prints the cached directory, fetches the files byte for byte, answers from the
# cache once the server is gone, and fails with a usable message and exit code.
: "${BUILD:=build}"
W="$BUILD/winnow"
command -v python3 >/dev/null 2>&1 || skip_or_fail "python3 is not installed (scripts/deps.sh installs it)"
[ -x "$W" ] || { echo "t_hub_cli: $W is not built"; exit 1; }
. "${0%/*}/lib.sh"
t_tmp hub_cli

mkdir -p "$T/hub/acme/tiny"
printf '{"model_type": "bert"}\n' > "$T/hub/acme/tiny/config.json"
head -c 5000 /dev/urandom > "$T/hub/acme/tiny/model.safetensors"
printf '[PAD]\n[UNK]\n' > "$T/hub/acme/tiny/vocab.txt"

hub_start "$T/hub" 60 # caches in $T, never the user's huggingface_hub cache

out=$("$W" download acme/tiny 2>"$T/err") || fail "download acme/tiny: exit $? ($(cat "$T/err"))"
[ "$out" = "$T/cache/acme--tiny/main" ] || fail "download printed '$out'"
for f in config.json model.safetensors vocab.txt; do
    cmp -s "$T/hub/acme/tiny/$f" "$out/$f" || fail "$f differs from the served file"
done
out=$("$W" download acme/tiny --revision v1) || fail "--revision v1: exit $?"
[ "$out" = "$T/cache/acme--tiny/v1" ] || fail "--revision v1 printed '$out'"
grep -q "GET /acme/tiny/resolve/v1/config.json" "$T/log" || fail "--revision not in the URL"

"$W" download acme/nothere >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "missing repo: exit $rc, want 1"
grep -q "winnow download: hub: HTTP 404 for $HF_ENDPOINT/acme/nothere/resolve/main/config.json" "$T/err" ||
    fail "missing repo: $(cat "$T/err")"
"$W" download >/dev/null 2>&1; [ $? -eq 2 ] || fail "no model: want exit 2"
"$W" download acme/tiny --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$W" download ../x >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "bad id: want exit 1"
grep -q "no such directory, and not a hub id" "$T/err" || fail "bad id: $(cat "$T/err")"

hub_stop
out=$("$W" download acme/tiny) || fail "cached, server gone: exit $?"
[ "$out" = "$T/cache/acme--tiny/main" ] || fail "cached, server gone: printed '$out'"
"$W" download acme/other >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "not cached, server gone: want exit 1"
grep -q "cannot be reached" "$T/err" || fail "not cached, server gone: $(cat "$T/err")"
"$W" download acme/other --offline >/dev/null 2>"$T/err"; [ $? -eq 1 ] || fail "--offline: want exit 1"
grep -q "offline mode is on" "$T/err" || fail "--offline: $(cat "$T/err")"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "t_hub_cli: all passed"
