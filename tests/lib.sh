# lib.sh - helpers sourced by the tests/t_*.sh scripts (`. "${0%/*}/lib.sh"`); not a
# test itself, so not named t_*.sh (tests/run_tests.sh runs every one of those).

# t_tmp NAME: a scratch directory $T (/tmp/wn_t_NAME.XXXXXX), removed on exit with
# the test hub server stopped if one runs; $fails counts fail calls.
t_tmp() {
    T=$(mktemp -d "/tmp/wn_t_$1.XXXXXX")
    PID=
    fails=0
    trap t_cleanup EXIT
}
t_cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# skip_or_fail REASON: SKIPPED (exit 77), except in CI (CI=true), where a test that is
# asked to run and cannot find what it needs fails. What the repository holds is never
# skipped: use fail for that.
skip_or_fail() {
    if [ "${CI:-}" = true ]; then echo "FAIL (CI=true, so not skipped): $*"; exit 1; fi
    echo "SKIPPED: $*"; exit 77
}

# cmp_floats GOT EXPECTED TOL WHAT: the numbers of two JSON-lines files, pairwise,
# |a - b| <= TOL, the same count per line and the same lines; prints the worst.
cmp_floats() { # got expected tol what
    awk -v tol="$3" -v what="$4" '
        function nums(line, arr,   n, i, k, parts) {
            gsub(/[^-0-9.eE+]+/, " ", line); n = split(line, parts, " "); k = 0
            for (i = 1; i <= n; i++) if (parts[i] ~ /[0-9]/) arr[++k] = parts[i] + 0
            return k
        }
        NR == FNR { g[NR] = $0; ng = NR; next }
        { ne = FNR; a = nums(g[FNR], x); b = nums($0, y)
          if (a != b) { printf "%s line %d: %d numbers, expected %d\n", what, FNR, a, b; bad++ ; next }
          for (i = 1; i <= a; i++) { d = x[i] - y[i]; if (d < 0) d = -d
              if (d > worst) { worst = d; wl = FNR; wi = i }
              if (d > tol) bad++ } }
        END { if (ng != ne) { printf "%s: %d lines, expected %d\n", what, ng, ne; bad++ }
              printf "%s: worst |diff| %g (line %d, value %d), tolerance %g\n", what, worst, wl, wi, tol
              exit bad > 0 }' "$1" "$2"
}

# t_done: the exit status: 1 with the count if anything failed.
t_done() { [ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }; }

# hub_start DIR SECONDS: tests/tools/hub_test_server.py serving DIR on 127.0.0.1 for at most
# SECONDS, with every hub client setting pointed at it and the caches inside $T
# (never the user's); HF_ENDPOINT is its address. Skips the test if it does not start.
hub_start() {
    unset HF_TOKEN HF_HUB_OFFLINE
    export HF_HUB_CACHE="$T/hf"
    export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1 WINNOW_CACHE="$T/cache"
    python3 tests/tools/hub_test_server.py "$1" --port-file "$T/port" --log "$T/log" --max-seconds "$2" &
    PID=$!
    i=0
    while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$T/port" ] || skip_or_fail "the test hub server did not start"
    export HF_ENDPOINT="http://127.0.0.1:$(cat "$T/port")"
}
hub_stop() { kill "$PID"; wait "$PID" 2>/dev/null; PID=; }
