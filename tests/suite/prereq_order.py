#!/usr/bin/env python3
# Every variable the makefiles expand where they are read (prerequisites, := values, $(eval ...) calls) is set
# before: no fragment read later assigns or appends to it (make would have used the value without that part).
# Run from the top of the tree; prints one line per late assignment and exits 1 when there is one.
import glob
import re
import sys

ASSIGN = re.compile(r"^\s*(?:override\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(:{1,2}=|\+=|\?=|=)")
REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
TARGET_VAR = re.compile(r"^[^=]*?:\s*[A-Za-z_][A-Za-z0-9_]*\s*[:+?]?=")


def logical(path):
    """(path, first line number, text) of each logical line, continuation lines joined."""
    out, buf, start = [], "", 0
    for i, line in enumerate(open(path).read().split("\n"), 1):
        if not buf:
            start = i
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((path, start, buf + line))
        buf = ""
    return out


def read_order():
    """Every logical line in the order make reads them: the Makefile with the fragments at its include."""
    seq = []
    for path, i, line in logical("Makefile"):
        if line.startswith("include $(sort $(wildcard mk/*.mk))"):
            for frag in sorted(glob.glob("mk/*.mk")):
                seq += logical(frag)
        else:
            seq.append((path, i, line))
    return seq


def closure(names, refs):
    """names plus every variable their recursive values refer to, as the values stand now (make expands them
    when the line using them is read, so $(A) with A = $(B)/x uses B too)."""
    out, todo = set(), list(names)
    while todo:
        v = todo.pop()
        if v not in out:
            out.add(v)
            todo += refs.get(v, [])
    return out


def main():
    seq = read_order()
    assigned, uses, in_define, refs = {}, [], False, {}
    for n, (_, _, line) in enumerate(seq):
        if in_define:
            in_define = not line.startswith("endef")
            continue
        if line.startswith("define "):
            in_define = True
            assigned.setdefault(line.split()[1], []).append(n)
            continue
        if line.startswith("\t") or not line.strip() or line.lstrip().startswith("#"):
            continue                                   # recipes run later; comments
        code = line if line.startswith("$(eval") else line.split("#")[0]
        m = ASSIGN.match(code)
        if m and ":" not in code[:m.start(2)]:
            assigned.setdefault(m.group(1), []).append(n)
            if m.group(2) in (":=", "::="):             # a simple variable's value is expanded now
                uses += [(n, v) for v in closure(REF.findall(code[m.end():]), refs)]
                refs[m.group(1)] = []
            else:                                       # a recursive one when it is used
                refs[m.group(1)] = refs.get(m.group(1), []) * (m.group(2) != "=") + REF.findall(code[m.end():])
            continue
        if TARGET_VAR.match(code):
            continue                                   # a target-specific variable: expanded when used
        if ":" in code or code.startswith(("$(eval", "include", "-include")):
            uses += [(n, v) for v in closure(REF.findall(code), refs)]
    bad = 0
    for n, var in uses:
        later = [k for k in assigned.get(var, []) if k > n]
        if later:
            path, i, _ = seq[n]
            lpath, li, _ = seq[later[0]]
            print("%s:%d expands $(%s) where it is read, but %s:%d sets it after" % (path, i, var, lpath, li))
            bad = 1
    sys.exit(bad)


if __name__ == "__main__":
    main()
