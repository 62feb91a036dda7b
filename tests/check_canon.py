#!/usr/bin/env python3
"""The one pass (src/core/canon.c) against a verifier written from
docs/FORMAT.md §1 alone: bodies from the document's encoder
(check_format.py), most of them then mutated byte-wise (escapes, number
spellings, broken UTF-8, structure), must get the same accept/refuse from
both. canon.c's E_VALUE (kept as refused) counts as accepted here: that is a
value rule, decided after the body is well-formed. Found the \\u0000-suffixed
time and the saturated prev seq (review of canon.c).
Usage: check_canon.py CANON_VERDICT_BIN [SEED] [CASES]
"""
import json
import math
import os
import random
import re
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_format import Pairs, enc, hlc_time, pairs  # noqa: E402

HLC_MIN, HLC_MAX = 62041935052800000, 2130161172479999999
ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
VER = re.compile(r"([a-z0-9][a-z0-9-]{0,62})#([1-9][0-9]*)\Z")
MEMBERS = ["entry", "district", "node", "seq", "prev", "hlc", "time", "actor", "schema", "ops"]


def isint(v):
    return isinstance(v, int) and not isinstance(v, bool)


def no_constants(c):
    raise ValueError(c)


def value_ok(col, v):
    if col == "$row":
        return isint(v) and v in (0, 1)
    if v is None or isint(v) or isinstance(v, (float, str)):
        return True
    return isinstance(v, Pairs) and [k for k, _ in v] == ["b64"] and isinstance(v[0][1], str) and "\0" not in v[0][1]


def op_ok(op):
    if not isinstance(op, Pairs) or [k for k, _ in op] != ["t", "k", "c"]:
        return False
    o = dict(op)
    if not (isinstance(o["t"], str) and NAME.match(o["t"])):
        return False
    if not (isinstance(o["k"], str) and 1 <= len(o["k"].encode()) <= 256):
        return False
    if not (isinstance(o["c"], list) and o["c"]):
        return False
    for cell in o["c"]:
        if not (isinstance(cell, list) and len(cell) == 3):
            return False
        col, v, prevs = cell
        if not (isinstance(col, str) and (col == "$row" or NAME.match(col))) or not value_ok(col, v):
            return False
        if not (isinstance(prevs, list) and len(prevs) <= 64):
            return False
        for p in prevs:
            m = isinstance(p, str) and VER.match(p)
            if not m or int(m.group(2)) >= 1 << 63:
                return False
    return True


def spec_ok(raw):
    """FORMAT.md §1: canonical (re-encodes to the same bytes), the header's
    rules, the op shapes."""
    try:
        b = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_constant=no_constants)
        if enc(b).encode("utf-8") != raw:
            return False
    except (ValueError, UnicodeError, RecursionError):
        return False
    if not isinstance(b, Pairs) or [k for k, _ in b] != MEMBERS:
        return False
    d = dict(b)
    if not (isint(d["entry"]) and d["entry"] == 1):
        return False
    if not all(isinstance(d[k], str) and ID.match(d[k]) for k in ("district", "node")):
        return False
    if not (isint(d["seq"]) and d["seq"] >= 1):
        return False
    if d["seq"] == 1:
        if d["prev"] is not None:
            return False
    elif not (isinstance(d["prev"], str) and re.fullmatch(r"[0-9a-f]{64}", d["prev"])):
        return False
    if not (isint(d["hlc"]) and HLC_MIN <= d["hlc"] <= HLC_MAX) or d["time"] != hlc_time(d["hlc"]):
        return False
    a = d["actor"]
    if not (isinstance(a, str) and len(a.encode()) <= 256 and "\0" not in a):
        return False
    if not (isint(d["schema"]) and 1 <= d["schema"] <= 100000):
        return False
    return isinstance(d["ops"], list) and len(d["ops"]) > 0 and all(op_ok(op) for op in d["ops"])


POOL = [chr(c) for c in range(0, 0x20)] + ['"', "\\", "/", "\x7f", "\x80", "\u2028", "é", "张", "\U0001F600", "a", " "]
EDGE_REALS = [0.0, -0.0, 1e16, 1e17, 5e-324, 1.5, 0.1, 1e-5, 1.7976931348623157e308, 2.0 ** 63]
MUTATIONS = [b"\\", b"u", b"0", b'"', b",", b"e", b"E", b".", b"-", b"+", b"1", b"9", b"\x7f", b"\xc3", b"\xa9",
             b" ", b"}", b"]", b"[", b"{", b":", b"\\u0000", b"\\u001F", b"\\u001f", b"\\u0008", b"\\/", b"\\u00e9",
             b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"null", b"1.0", b"#"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def text(self, n=8):
        return "".join(self.r.choice(POOL) for _ in range(self.r.randint(0, n)))

    def value(self):
        r = self.r.randrange(7)
        if r == 0:
            return None
        if r == 1:
            return self.r.choice([0, 1, -1, 2 ** 63 - 1, -2 ** 63, 10, 2 ** 53 + 1])
        if r == 2:
            while True:
                x = struct.unpack("<d", struct.pack("<Q", self.r.getrandbits(64)))[0]
                if math.isfinite(x):
                    return x
        if r == 3:
            return self.r.choice(EDGE_REALS)
        if r == 4:
            return Pairs([("b64", self.r.choice(["", "AA==", "AAA=", "AAAA", "QUJD", "QQ==", "QR=="]))])
        return self.text()

    def body(self):
        seq = self.r.choice([1, 2, 9])
        hlc = self.r.randint(HLC_MIN, HLC_MAX)
        ops = []
        for _ in range(self.r.randint(1, 2)):
            cells = [["$row", self.r.choice([0, 1]), []]]
            for _ in range(self.r.randint(0, 2)):
                cells.append([self.r.choice(["name", "a_1", "Z"]), self.value(),
                              self.r.choice([[], ["n#1"], ["ab-c#12", "n#9223372036854775807"]])])
            ops.append(Pairs([("t", "teacher"), ("k", self.r.choice(["k1", "é", self.text(4) or "x"])), ("c", cells)]))
        return Pairs([("entry", 1), ("district", "d"), ("node", "n"), ("seq", seq),
                      ("prev", None if seq == 1 else "0" * 64), ("hlc", hlc), ("time", hlc_time(hlc)),
                      ("actor", self.text(6)), ("schema", self.r.choice([1, 4])), ("ops", ops)])

    def mutate(self, raw):
        b = bytearray(raw)
        for _ in range(self.r.randint(1, 3)):
            i = self.r.randrange(len(b) + 1)
            k = self.r.randrange(3)
            if k == 0:
                b[i:i] = self.r.choice(MUTATIONS)
            elif k == 1 and i < len(b):
                del b[i:i + self.r.randint(1, 3)]
            elif i < len(b):
                b[i:i + 1] = self.r.choice(MUTATIONS)
        return bytes(b)


def main():
    tool = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 13
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 8000
    g = Gen(seed)
    cases = []
    while len(cases) < n:
        raw = enc(g.body()).encode("utf-8")
        if g.r.random() < 0.8:
            raw = g.mutate(raw)
        if b"\n" not in raw:
            cases.append(raw)
    out = subprocess.run([tool], input=b"\n".join(cases) + b"\n", stdout=subprocess.PIPE, check=True).stdout.decode()
    verdicts = out.split("\n")[:len(cases)]
    if len(verdicts) != len(cases):
        sys.exit("canon_verdict answered %d of %d bodies" % (len(verdicts), len(cases)))
    bad = [(raw, v) for raw, v in zip(cases, verdicts) if (int(v.split()[0]) == 0) != spec_ok(raw)]
    for raw, v in bad[:10]:
        print("canon.c says %s, FORMAT.md says %s: %r" % (v, "accept" if spec_ok(raw) else "refuse", raw[:300]))
    accepted = sum(1 for v in verdicts if int(v.split()[0]) == 0)
    if bad:
        sys.exit("%d of %d bodies (seed %d): canon.c and FORMAT.md disagree" % (len(bad), len(cases), seed))
    print("%d bodies (seed %d, %d accepted): canon.c agrees with FORMAT.md on every one" % (len(cases), seed, accepted))


if __name__ == "__main__":
    main()
