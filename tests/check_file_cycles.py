#!/usr/bin/env python3
"""Fail if the files of one binary call each other in a circle.

Run once for the library's files and once for each program's (cli/,
daemon/). Reads the symbol tables of the object files given (nm -P): file A depends
on file B when A uses a symbol B defines. Prints every circle found (as a
strongly connected component of more than one file) and exits 1; exits 0
when there is none. See docs/ARCHITECTURE.md."""
import collections
import os
import subprocess
import sys


def main(objs):
    defs, uses = {}, {}
    names = {o: os.path.relpath(o).split('.dir/')[-1].replace('.c.o', '.c') for o in objs}
    for o in objs:
        defs[names[o]], uses[names[o]] = set(), set()
    # One nm for all files (-A: each line starts "file: "): on a busy
    # machine, starting a process per object file took most of the run.
    out = subprocess.run(['nm', '-P', '-A'] + list(objs), capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f, _, rest = line.partition(': ')
        p = rest.split()
        if f not in names or len(p) < 2:
            continue
        if p[1] in 'TDBRC':
            defs[names[f]].add(p[0])
        elif p[1] == 'U':
            uses[names[f]].add(p[0])
    owner = {s: n for n, d in defs.items() for s in d}
    graph = collections.defaultdict(set)
    for n, u in uses.items():
        for s in u:
            if s in owner and owner[s] != n:
                graph[n].add(owner[s])
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(defs):
        if v not in index:
            strong(v)
    if not defs:
        print('no object files given')
        return 1
    for c in comps:
        print('circle between files: ' + ' <-> '.join(c))
        for a in c:
            print('  %s calls %s' % (a, ', '.join(sorted(graph[a] & set(c)))))
    print('%d files, %d circles' % (len(defs), len(comps)))
    return 1 if comps else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
