#!/bin/sh
# t_floors.sh - the floors of docs/ARCHITECTURE.md hold: scripts/check_floors.py reads
# every #include under src/ and cli/ and the symbols each module's objects call, and
# fails on a use that runs sideways or upward (or from cli/ into src/).
: "${BUILD:=build}"
[ -d "$BUILD/obj/src" ] || { echo "t_floors: $BUILD/obj/src is not built"; exit 1; }
command -v nm >/dev/null || { echo "SKIPPED: nm (binutils) is not installed"; exit 77; }
out=$(BUILD="$BUILD" python3 scripts/check_floors.py 2>&1) || { echo "$out"; exit 1; }
echo "$out" | tail -n 1
case "$out" in *"0 violation(s)"*) exit 0 ;; esac
echo "$out"
exit 1
