#!/usr/bin/env python3
"""An encoder written from docs/FORMAT.md alone ("Canonical encoding"),
checked against what the writer signs (issue 13).

A scratch node writes generated values of every kind through the real CLI
(text with every control character but NUL, quotes, backslashes, slashes,
DEL, U+2028/2029, CJK, emoji; reals from random bit patterns and the edge
cases; integers to the 64-bit limits; blobs). Every entry of its log is then
parsed with Python's json module, re-encoded by the rules of the document,
and must give the stored body byte for byte, and its SHA-256 the stored
entry hash. Usage: check_format.py SCHOOLSYNC_BIN [SEED]
"""
import hashlib
import json
import math
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

BODY_MEMBERS = ["entry", "district", "node", "seq", "prev", "hlc", "time", "actor", "schema", "ops"]
SHORT = {0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


def enc_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if c in SHORT:
            out.append(SHORT[c])
        elif c < 0x20:
            out.append("\\u%04X" % c)  # upper-case hex
        else:
            out.append(ch)  # everything else raw: '/', DEL, U+2028, non-BMP
    out.append('"')
    return "".join(out)


def enc_real(x):
    if not math.isfinite(x):
        raise ValueError("a real that is not finite has no encoding")
    s = "%.17g" % x
    if "." not in s and "e" not in s:
        s += ".0"
    if "e" in s:
        mant, exp = s.split("e")
        sign = "-" if exp.startswith("-") else ""
        s = mant + "e" + sign + (exp.lstrip("+-").lstrip("0") or "0")
    return s


def enc(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        raise ValueError("booleans are not part of the format")
    if isinstance(v, int):
        if not -(1 << 63) <= v < (1 << 63):
            raise ValueError("integer out of range")
        return str(v)
    if isinstance(v, float):
        return enc_real(v)
    if isinstance(v, str):
        return enc_string(v)
    if isinstance(v, Pairs):
        return "{" + ",".join(enc_string(k) + ":" + enc(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(enc(x) for x in v) + "]"
    raise ValueError("unexpected %r" % (v,))


class Pairs(list):
    """A JSON object as its members in order (duplicates are an error)."""


def pairs(items):
    names = [k for k, _ in items]
    if len(set(names)) != len(names):
        raise ValueError("duplicate member")
    return Pairs(items)


def hlc_time(hlc):
    ms = hlc >> 16
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def check_shape(body):
    assert [k for k, _ in body] == BODY_MEMBERS, [k for k, _ in body]
    b = dict(body)
    assert b["time"] == hlc_time(b["hlc"]), (b["time"], b["hlc"])
    for op in b["ops"]:
        assert [k for k, _ in op] == ["t", "k", "c"], op
        for cell in dict(op)["c"]:
            assert len(cell) == 3 and isinstance(cell[2], list), cell
            v = cell[1]
            if isinstance(v, Pairs):
                assert [k for k, _ in v] == ["b64"], v


# --- generated values --------------------------------------------------------
def gen_text(rng):
    pool = [chr(c) for c in range(1, 0x20)] + ['"', "\\", "/", "\x7f", "\u0080", "\u009f", "\u2028",
                                                  "\u2029", "é", "张", "三", "\U0001F600", "\uffff", "a", " "]
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 40)))


def gen_real(rng):
    while True:
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(x):
            return x


EDGE_REALS = [0.0, -0.0, 0.1, 1.0, 1.5, 100.0, 0.001, 1e16, 1e17, 1e300, 1e-5, 1e-300, 5e-324,
              1.7976931348623157e308, -2.5e-7, 123456789012345678.0, 2.0 ** 63, 0.30000000000000004]
EDGE_INTS = [0, 1, -1, 9223372036854775807, -9223372036854775807, 2 ** 53 + 1]


def sql_text(s):
    return "CAST(X'%s' AS TEXT)" % s.encode("utf-8").hex()


def sql_real(x):
    r = repr(x)
    return "(%s)" % r if "e" in r or "." in r else "(%s.0)" % r


def run(bin_, home, *args):
    p = subprocess.run([bin_, "--home", home] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("schoolsync %s failed: %s" % (" ".join(args)[:200], p.stderr.decode(errors="replace")))


def main():
    bin_ = os.path.abspath(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("SSYNC_FORMAT_SEED", "13"))
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="ssync-format-")
    try:
        home = os.path.join(tmp, "a")
        os.environ["SCHOOLSYNC_ACTOR"] = "clerk \"1\"\\\t/é"  # the actor is a string too
        run(bin_, home, "init", "--node", "sch-a")
        rows = []
        n = 0
        reals = EDGE_REALS + [gen_real(rng) for _ in range(150)]
        for i, x in enumerate(reals):
            rows.append("('sch-a-r%d','sch-a',%s,%s,%d)" % (i, sql_text(gen_text(rng)), sql_real(x),
                                                            EDGE_INTS[i % len(EDGE_INTS)]))
        run(bin_, home, "sql", "INSERT INTO training(id,school_id,title,credits,year) VALUES " + ",".join(rows))
        # blobs, NULLs and an integer at the bottom of the range
        run(bin_, home, "sql", "INSERT INTO training(id,school_id,title,level,credits,year) VALUES "
            "('sch-a-b1','sch-a',X'00ff10',NULL,NULL,(-9223372036854775807-1)),"
            "('sch-a-b2','sch-a',randomblob(100),'',-0.0,0)")
        # updates: cells with prevs; a delete
        run(bin_, home, "sql", "UPDATE training SET title=%s, credits=credits/3 WHERE id LIKE 'sch-a-r1%%'"
            % sql_text(gen_text(rng)))
        run(bin_, home, "sql", "DELETE FROM training WHERE id='sch-a-r2'")
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(home, "replica.db"), uri=True)
        for node, seq, body, hsh in db.execute("SELECT node, seq, body, hash FROM ssync_entry ORDER BY node, seq"):
            raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            parsed = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
            check_shape(parsed)
            again = enc(parsed).encode("utf-8")
            if again != raw:
                k = next(i for i in range(min(len(again), len(raw))) if again[i] != raw[i]) \
                    if again[:min(len(again), len(raw))] != raw[:min(len(again), len(raw))] else min(len(again), len(raw))
                sys.exit("%s#%d: re-encoded body differs at byte %d:\n  signed:     %r\n  re-encoded: %r"
                         % (node, seq, k, raw[max(0, k - 40):k + 40], again[max(0, k - 40):k + 40]))
            if hashlib.sha256(again).digest() != bytes(hsh):
                sys.exit("%s#%d: hash differs" % (node, seq))
            n += 1
        if n < 4:
            sys.exit("expected at least 4 entries, found %d" % n)
        print("%d entries (seed %d): every body re-encoded from FORMAT.md byte for byte, hashes equal" % (n, seed))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
