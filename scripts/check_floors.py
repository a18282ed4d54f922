#!/usr/bin/env python3
"""check_floors.py - checks the floors of docs/ARCHITECTURE.md against the real
#include lines: a file in src/<module>/ may include winnow.h, system headers, its own
module's headers and those of modules on lower floors; cli/ (and cli/demo/) may include
winnow.h and the CLI's own headers only. Prints one line per violation
(file:line: module -> module) and exits 1 if there is any, 0 otherwise.
Includes are not the whole story: a module may call another's public functions through
winnow.h. So it also reads the symbols of the built objects (nm on BUILD/obj/src/*/*.o,
BUILD=build by default; skipped if absent): a call into a module on the same or a higher
floor is a violation too.
    python3 scripts/check_floors.py [--all]   (--all also lists the allowed cross-module uses)
"""
import os
import re
import sys

FLOOR = {"util": 0, "nn": 1, "tokenizer": 1, "model": 2, "index": 2, "lexical": 2, "store": 2,
         "pipeline": 3, "eval": 2, "train": 4, "server": 4, "cli": 5}
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(path):
    parts = path.split(os.sep)
    if parts[0] == "src" and len(parts) >= 3:
        return parts[1]
    if parts[0] == "cli":
        return "cli"
    return None


def target_module(inc, src_path):
    if inc in ("winnow.h", "winnow_server.h"):  # include/: the public headers
        return "api"
    if inc.startswith(".."):  # relative to the including file
        inc = os.path.relpath(os.path.normpath(os.path.join(os.path.dirname(src_path), inc)), "src")
    if "/" in inc:
        return inc.split("/")[0]
    # a bare name: a header beside the including file
    return module_of(src_path)


def check_symbols(show_all):
    import subprocess
    obj = os.path.join(os.environ.get("BUILD", "build"), "obj", "src")
    if not os.path.isdir(obj):
        print(f"({obj} is absent: symbol check skipped; run make first)", file=sys.stderr)
        return 0
    defined, used = {}, {}
    for m in sorted(os.listdir(obj)):
        for f in sorted(os.listdir(os.path.join(obj, m))):
            if not f.endswith(".o"):
                continue
            out = subprocess.run(["nm", os.path.join(obj, m, f)], capture_output=True, text=True).stdout
            for line in out.splitlines():
                w = line.split()
                if len(w) == 3 and w[1] in "TDBR":
                    defined[w[2]] = m
                elif len(w) == 2 and w[0] == "U":
                    used.setdefault((m, f), set()).add(w[1])
    bad = 0
    seen = set()
    for (m, f), syms in sorted(used.items()):
        for sym in sorted(syms):
            t = defined.get(sym)
            if t is None or t == m or (m, t, sym) in seen:
                continue
            seen.add((m, t, sym))
            ok = FLOOR[t] < FLOOR[m]
            if not ok:
                print(f"src/{m}/{f[:-2]}.c calls {sym} of src/{t}/: {m} (floor {FLOOR[m]}) -> {t} (floor {FLOOR[t]})")
                bad += 1
            elif show_all:
                print(f"src/{m}/{f[:-2]}.c: {m} -> {t} ok ({sym})")
    return bad


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    show_all = "--all" in sys.argv
    bad = 0
    for top in ("src", "cli"):
        for d, _, files in sorted(os.walk(top)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                p = os.path.join(d, f)
                m = module_of(p)
                if m not in FLOOR:
                    print(f"{p}: module '{m}' has no floor in this script")
                    bad += 1
                    continue
                for n, line in enumerate(open(p, encoding="utf-8", errors="replace"), 1):
                    g = INC.match(line)
                    if not g:
                        continue
                    t = target_module(g.group(1), p)
                    if t in ("api", m):
                        continue
                    if m == "cli":
                        ok = False  # the CLI speaks to the library through winnow.h only
                    else:
                        ok = t in FLOOR and FLOOR[t] < FLOOR[m]
                    if not ok:
                        why = "sideways" if FLOOR.get(t) == FLOOR[m] else "upward" if FLOOR.get(t, 9) > FLOOR[m] else "into src/"
                        print(f"{p}:{n}: {m} (floor {FLOOR[m]}) includes {g.group(1)} ({t}, floor {FLOOR.get(t, '?')}): {why}")
                        bad += 1
                    elif show_all:
                        print(f"{p}:{n}: {m} -> {t} ok")
    bad += check_symbols(show_all)
    print(f"{bad} violation(s)", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
