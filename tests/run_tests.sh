#!/bin/sh
# run_tests.sh - runs each test binary given and each tests/t_*.sh script; a test
# passes with exit 0, is SKIPPED with exit 77 (it must print why), fails otherwise.
# Prints "N passed, N failed, N skipped" and exits non-zero on any failure.
# Tests run from the project root; BUILD names the build directory.
: "${BUILD:=build}"
export BUILD
pass=0; fail=0; skip=0; failed=""
TMO=${WN_TEST_TIMEOUT:-900}
for t in "$@" tests/t_*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t")
    log="$BUILD/tests/$name.log"
    mkdir -p "$BUILD/tests"
    start=$(date +%s)
    case "$t" in
        *.sh) timeout "$TMO" sh "$t" >"$log" 2>&1 ;;
        *) timeout "$TMO" "$t" >"$log" 2>&1 ;;
    esac
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS  $name (${secs}s)"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); echo "SKIP  $name: $(grep -m1 SKIPPED "$log" || echo 'no reason printed')"
    else
        fail=$((fail + 1)); failed="$failed $name"
        echo "FAIL  $name (exit $rc), last lines of $log:"
        tail -n 25 "$log" | sed 's/^/    /'
    fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || { echo "failed:$failed"; exit 1; }
