#!/usr/bin/env python3
# Write stdin as a C string literal (one quoted line per input line) on stdout: files compiled into shoal.
import sys

for line in sys.stdin.read().splitlines(True):
    out = []
    for ch in line.encode():
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif 32 <= ch < 127 and c != "?":
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    print('"%s"' % "".join(out))
