#!/usr/bin/env python3
# No file the build makes has a phony target as a normal prerequisite: make would rebuild it on every run, so a
# tier started beside another would rewrite a file (an ISO Bochs is booting from) under it. Order-only (`| x`)
# is fine. FORCE is the one exception: its rules rewrite their file only when the content changes.
# Reads `make -pq` from stdin; prints one line per such file and exits 1 when there is one.
import re
import sys

ALLOWED = {"FORCE"}


def main():
    db = sys.stdin.read()
    phony = set()
    for m in re.finditer(r"^\.PHONY: (.*)$", db, re.M):
        phony |= set(m.group(1).split())
    bad, files = [], 0
    for block in db.split("\n\n"):
        lines = block.split("\n")
        if any(line.startswith("# Not a target") for line in lines):
            continue
        for line in lines:
            m = re.match(r"^([^#\s.][^:=]*?):(?![:=])\s*(.*)$", line)
            if not m:
                continue
            target, normal = m.group(1), m.group(2).split("|")[0].split()
            if target not in phony:
                files += 1
                late = [p for p in normal if p in phony and p not in ALLOWED]
                if late:
                    bad.append("%s: phony prerequisite %s (make it order-only)" % (target, " ".join(late)))
            break
    print("\n".join(bad) if bad else "%d file targets, none with a phony prerequisite" % files)
    return 1 if bad or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
