#!/usr/bin/python3
"""make_json_cases.py - the reference verdicts for winnow's JSON reader
(src/util/json.c), from Python's json module, which we did not write.

Writes tests/fixtures/json/cases.txt, read by tests/test_json.c. Lines:
    ok  <hex of the document>  <dump of its value>
    bad <hex of the document>
    esc <hex of a UTF-8 string>  <hex of json.dumps(string, ensure_ascii=False)>
The documents: hand-picked edge cases, random documents in varied spellings
(white space, escapes, surrogate pairs, number forms) and random byte mutations of
them; Python decides each one. What counts as valid is RFC 8259 as Python reads it,
with three Python leniencies turned off: NaN/Infinity (parse_constant raises), lone
surrogates (a string that cannot be encoded as UTF-8 is invalid) and non-UTF-8
input (the bytes must decode as UTF-8 strictly first).
The dump: n t f, d<16 hex digits of the IEEE double> (numbers read as float, as
strtod reads them), s<hex of UTF-8>; , [ ... ] , { key value ... } (keys as s...;,
members in file order, duplicates kept).
Run: /usr/bin/python3 scripts/make_json_cases.py (deterministic: seed 8259)."""
import json
import os
import random
import struct
import sys


class Obj(list):
    pass


def no_constant(name):
    raise ValueError("constant " + name)


def reference(doc: bytes):
    """The dump of doc's value, or None when Python (strict as above) rejects it."""
    try:
        text = doc.decode("utf-8")
        v = json.loads(text, object_pairs_hook=Obj, parse_int=float, parse_float=float, parse_constant=no_constant)
        return dump(v)
    except (ValueError, UnicodeError, RecursionError):
        return None


def dump(v):
    if v is None:
        return "n"
    if v is True:
        return "t"
    if v is False:
        return "f"
    if isinstance(v, float):
        return "d" + struct.pack(">d", v).hex()
    if isinstance(v, str):
        return "s" + v.encode("utf-8").hex() + ";"  # raises on a lone surrogate
    if isinstance(v, Obj):
        return "{" + "".join(dump(k) + dump(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + "".join(dump(x) for x in v) + "]"
    raise TypeError(type(v))


HAND = [
    b"", b" ", b"null", b"true", b"false", b"nul", b"tru", b"True", b"0", b"-0", b"-", b"01", b"-01", b"1.", b".5",
    b"1e", b"1e+", b"1E+2", b"1e-2", b"-0.0e-0", b"2.5E3", b"1e400", b"-1e400", b"1e-400", b"4.9e-324",
    b"123456789012345678901234567890", b"0.1", b"9007199254740993", b"1.7976931348623157e308",
    b"+1", b"0x10", b"1_000", b"NaN", b"Infinity", b"-Infinity", b"[NaN]", b"[1,]", b"[,1]", b"[1 2]", b"[]",
    b"[ ]", b"{}", b"{ }", b"{\"a\":1,}", b"{\"a\" 1}", b"{1:2}", b"{\"a\":}", b"{\"a\"}", b"{'a':1}", b"[\"a\"",
    b"[1]x", b"[1] ", b" [1] \n", b"\t\r\n[1]", b"[1]\x00", b"\x00[1]", b"\xef\xbb\xbf[]", b"\"abc\"", b"\"",
    b"\"\\\"", b"\"\\x\"", b"\"\\u12\"", b"\"\\u12g4\"", b"\"\\u0000\"", b"\"a\x00b\"", b"\"\t\"", b"\"\x1f\"",
    b"\"\x7f\"", b"\"\\/\"", b"\"\\b\\f\\n\\r\\t\"", b"\"\\ud800\"", b"\"\\udc00\"", b"\"\\udc00\\ud800\"",
    b"\"\\ud800\\u0041\"", b"\"\\uD83D\\uDE00\"", b"\"\\ud83d\\ude00x\"", b"\"\\ud800\\ud800\"", b"\"\xf0\x9f\x98\x80\"",
    b"\"\xc0\xaf\"", b"\"\xc3\"", b"\"\xe2\x82\"", b"\"\xed\xa0\x80\"", b"\"\xf4\x90\x80\x80\"", b"\"\xf5\x80\x80\x80\"",
    b"\"\xe0\x80\xaf\"", b"\"\xff\"", b"\"\xe2\x80\xa8\"", b"\"\xef\xbf\xbf\"", b"[\"a\",\"a\"]",
    b"{\"a\":1,\"a\":2}", b"{\"\":0}", b"{\"\\u0000\":1}", b"[[[[[[[[[[]]]]]]]]]]", b"[[[[[[[[[[]]]]]]]]]",
    b"[" * 100 + b"]" * 100, b"{\"a\":" * 100 + b"1" + b"}" * 100, b"[-]", b"[-a]", b"[1.e1]", b"[1e1.5]",
    b"[00]", b"[-.1]", b"[1.0e]", b"[\"\\u00e9\",\"\xc3\xa9\"]", b"//c\n[]", b"/*c*/[]", b"[1]//", b"[true false]",
    b"[null,]", b"\"\\U0041\"", b"\"\\a\"", b"\"\\'\"", b"[\n1\n,\n2\n]",
]

WS = ["", " ", "\n", "\t", "\r\n", "  "]


def rand_string(r):
    n = r.randrange(0, 8)
    out = []
    for _ in range(n):
        k = r.random()
        if k < 0.5:
            out.append(chr(r.randrange(0x20, 0x7f)))
        elif k < 0.6:
            out.append(r.choice("\"\\/\b\f\n\r\t\x00\x01\x1f\x7f"))
        elif k < 0.8:
            out.append(chr(r.randrange(0xa0, 0xd800)))
        elif k < 0.9:
            out.append(chr(r.randrange(0xe000, 0x10000)))
        else:
            out.append(chr(r.randrange(0x10000, 0x110000)))
    return "".join(out)


def spell_string(r, s):
    """s as JSON text, each character raw, short-escaped or \\u-escaped at random."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "/": "\\/"}
        k = r.random()
        if ch in '"\\' or c < 0x20:
            out.append(short[ch] if ch in short and k < 0.5 else "\\u%04x" % c)
        elif k < 0.2:
            if c >= 0x10000:
                v = c - 0x10000
                hi, lo = 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)
                out.append(("\\u%04X\\u%04x" if k < 0.1 else "\\u%04x\\u%04X") % (hi, lo))
            else:
                out.append(("\\u%04X" if k < 0.1 else "\\u%04x") % c)
        elif ch == "/" and k < 0.3:
            out.append("\\/")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rand_number(r):
    k = r.random()
    sign = "-" if r.random() < 0.3 else ""
    if k < 0.3:
        return sign + str(r.randrange(0, 10 ** r.randrange(1, 25)))
    intpart = "0" if r.random() < 0.3 else str(r.randrange(1, 10)) + "".join(r.choice("0123456789") for _ in range(r.randrange(0, 12)))
    frac = "." + "".join(r.choice("0123456789") for _ in range(r.randrange(1, 20))) if r.random() < 0.7 else ""
    exp = ""
    if r.random() < 0.5:
        exp = r.choice("eE") + r.choice(["", "+", "-"]) + str(r.randrange(0, 400 if r.random() < 0.2 else 30))
    return sign + intpart + frac + exp


def rand_value(r, depth):
    k = r.random()
    if depth > 4 or k < 0.45:
        k2 = r.random()
        if k2 < 0.1:
            return r.choice(["null", "true", "false"])
        if k2 < 0.5:
            return rand_number(r)
        return spell_string(r, rand_string(r))
    ws = lambda: r.choice(WS)
    n = r.randrange(0, 5)
    if k < 0.7:
        items = [ws() + rand_value(r, depth + 1) + ws() for _ in range(n)]
        return "[" + ",".join(items) + "]" if items else "[" + ws() + "]"
    keys = [rand_string(r) for _ in range(n)]
    if n > 1 and r.random() < 0.1:
        keys[1] = keys[0]  # duplicate names are kept, in order
    items = [ws() + spell_string(r, key) + ws() + ":" + ws() + rand_value(r, depth + 1) + ws() for key in keys]
    return "{" + ",".join(items) + "}" if items else "{" + ws() + "}"


def mutate(r, doc: bytes) -> bytes:
    if not doc:
        return bytes([r.randrange(256)])
    b = bytearray(doc)
    i = r.randrange(len(b))
    k = r.random()
    if k < 0.3:
        del b[i]
    elif k < 0.6:
        b.insert(i, r.choice(b'{}[],:"\\ \x00\x1fue0-+.\xc3\xed\xff'))
    elif k < 0.85:
        b[i] = r.choice(b'{}[],:"\\ \x00\x1fue0-+.\xc3\xed\xff')
    else:
        b = b[:i]
    return bytes(b)


def main():
    r = random.Random(8259)
    docs = list(HAND)
    for _ in range(1000):
        d = (r.choice(WS) + rand_value(r, 0) + r.choice(WS)).encode("utf-8", "surrogatepass")
        docs.append(d)
        if r.random() < 0.6:
            docs.append(mutate(r, d))
    lines = []
    n_ok = n_bad = 0
    for d in docs:
        v = reference(d)
        if v is None:
            lines.append("bad\t" + d.hex())
            n_bad += 1
        else:
            lines.append("ok\t" + d.hex() + "\t" + v)
            n_ok += 1
    n_esc = 0
    for i in range(300):
        s = rand_string(r) if i else "\x00\x01\x1f\x7f\"\\/\b\f\n\r\t\u2028\U0001F600"
        lines.append("esc\t" + s.encode("utf-8").hex() + "\t" + json.dumps(s, ensure_ascii=False).encode("utf-8").hex())
        n_esc += 1
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "json", "cases.txt")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("# made by scripts/make_json_cases.py from Python %s's json module; do not edit\n" % sys.version.split()[0])
        f.write("\n".join(lines) + "\n")
    print("%d valid, %d invalid documents, %d strings to escape -> %s" % (n_ok, n_bad, n_esc, os.path.normpath(out)))


if __name__ == "__main__":
    main()
