#!/usr/bin/env python3
# Write compile_commands.json (for clangd and other editors) from the compiler commands `make -n -B` prints.
"""Usage: compile-commands.py OUT TARGET...   (MAKE overrides `make`)

Every C or assembly source a command compiles gets an entry with that command. A command that builds a
host test binary from several sources at once becomes one `-c` command per source (the others and `-o`
dropped), which is what an editor needs to parse that file as the build does."""

import json
import os
import re
import shlex
import subprocess
import sys

COMPILERS = re.compile(r"^(\S*/)?(cc|gcc|clang|\S+-gcc)$")
SOURCE = re.compile(r".*\.(c|S)$")


def commands(targets):
    """The compiler command lines `make -n -B` prints for targets, continuation lines joined."""
    out = subprocess.run([os.environ.get("MAKE", "make"), "-n", "-B", "--no-print-directory"] + targets,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    for line in out.replace("\\\n", " ").splitlines():
        try:
            argv = shlex.split(line)
        except ValueError:
            continue
        if argv and COMPILERS.match(argv[0]):
            yield argv


def entries(argv, root):
    """One entry per source argv compiles."""
    sources = [a for a in argv[1:] if SOURCE.match(a) and not a.startswith("-")]
    rest, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a not in sources and a != "-c":
            rest.append(a)
    for src in sources:
        yield {"directory": root, "file": os.path.join(root, src), "arguments": rest + ["-c", src]}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root = os.getcwd()
    db, seen = [], set()
    for argv in commands(sys.argv[2:]):
        for e in entries(argv, root):
            if e["file"] not in seen:
                seen.add(e["file"])
                db.append(e)
    with open(sys.argv[1], "w") as f:
        json.dump(db, f, indent=1)
    print("compile-commands: %d sources in %s" % (len(db), sys.argv[1]))


if __name__ == "__main__":
    main()
