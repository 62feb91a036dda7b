#!/usr/bin/env python3
"""Fill empty msgstr entries of a .po file from a JSON map {msgid: msgstr}.
Usage: po_fill.py FILE.po MAP.json  (a translator's helper; the map is theirs)"""
import json, sys

def cstr(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\t', '\\t') + '"'

def main():
    po, mp = sys.argv[1], json.load(open(sys.argv[2], encoding='utf-8'))
    lines = open(po, encoding='utf-8').read().split('\n')
    out, i, filled = [], 0, 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith('msgid '):
            j, parts = i, [ln[6:]]
            j += 1
            while j < len(lines) and lines[j].startswith('"'):
                parts.append(lines[j]); j += 1
            mid = ''.join(json.loads(p) for p in parts)
            out.extend(lines[i:j])
            if j < len(lines) and lines[j].startswith('msgstr '):
                k, sparts = j + 1, [lines[j][7:]]
                while k < len(lines) and lines[k].startswith('"'):
                    sparts.append(lines[k]); k += 1
                cur = ''.join(json.loads(p) for p in sparts)
                if not cur and mid and mid in mp:
                    out.append('msgstr ' + cstr(mp[mid])); filled += 1
                else:
                    out.extend(lines[j:k])
                i = k
            else:
                i = j
            continue
        out.append(ln); i += 1
    open(po, 'w', encoding='utf-8').write('\n'.join(out))
    print('filled', filled, file=sys.stderr)

main()
