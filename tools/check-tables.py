#!/usr/bin/env python3
# Linker-table check: every SHELL_COMMAND, BOOT_PARAM and INIT_HOOK in the product sources is in the linked kernel.
#
# Usage: check-tables.py ELF SOURCE...   (NM overrides `nm`)
# A file registered only through a linker-section table links fine when it is left out of the build, and shoal
# then boots without it; this check fails instead, naming each missing entry and its file. It also fails when
# linker.ld collects a table this script does not know (a new registration macro needs a line in TABLES).
import os
import re
import subprocess
import sys

# section -> (registration macro, prefix of the pointer symbol the macro places in that section)
TABLES = {
    "shell_cmds": ("SHELL_COMMAND", "cmd_ptr_"),     # kernel/shell.h
    "boot_params": ("BOOT_PARAM", "param_ptr_"),     # kernel/param.h
    "init_hooks": ("INIT_HOOK", "hook_ptr_"),        # kernel/init.h
}


def strip_comments(text):
    """The C text with comments blanked (string literals kept as they are)."""
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\])*"',
                  lambda m: m.group(0) if m.group(0).startswith('"') else " ", text, flags=re.S)


def registrations(path):
    """(macro, function) for each registration macro call in one source file; the function is its last argument."""
    text = strip_comments(open(path, encoding="utf-8", errors="replace").read())
    found = []
    for macro, _ in TABLES.values():
        for m in re.finditer(r"^\s*%s\s*\(" % macro, text, re.M):
            depth, i, in_str = 1, m.end(), False
            while i < len(text) and depth:
                c = text[i]
                if in_str:
                    if c == "\\":
                        i += 1
                    elif c == '"':
                        in_str = False
                elif c == '"':
                    in_str = True
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                i += 1
            last = re.search(r"([A-Za-z_]\w*)\s*\)$", text[m.end() - 1:i])
            if last:
                found.append((macro, last.group(1)))
    return found


def linker_tables(script):
    """Section names linker.ld collects between __NAME_start and __NAME_end symbols."""
    text = open(script).read()
    return {sec for _, sec in re.findall(r"__(\w+)_start\s*=\s*\.\s*;\s*KEEP\(\*\((\w+)\)\)", text)}


def elf_entries(elf):
    """{section: [function, ...]} of the pointer symbols lying inside each table of the linked image."""
    out = subprocess.run([os.environ.get("NM", "nm"), elf], stdout=subprocess.PIPE, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms.append((int(parts[0], 16), parts[2]))
    addr = {name: a for a, name in syms}
    entries = {}
    for sec, (_, prefix) in TABLES.items():
        lo, hi = addr.get("__%s_start" % sec), addr.get("__%s_end" % sec)
        if lo is None or hi is None:
            sys.exit("check-tables: %s has no __%s_start/__%s_end" % (elf, sec, sec))
        entries[sec] = [n[len(prefix):] for a, n in syms if lo <= a < hi and n.startswith(prefix)]
    return entries


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: check-tables.py ELF SOURCE...")
    elf, sources = sys.argv[1], sys.argv[2:]
    unknown = linker_tables("linker.ld") - set(TABLES)
    if unknown:
        sys.exit("check-tables: linker.ld collects %s, which tools/check-tables.py does not check: add it to TABLES"
                 % " ".join(sorted(unknown)))
    have = elf_entries(elf)
    section_of = {macro: sec for sec, (macro, _) in TABLES.items()}
    missing = []
    for path in sources:
        if not path.endswith(".c"):
            continue
        for macro, fn in registrations(path):
            left = have[section_of[macro]]
            if fn in left:
                left.remove(fn)
            else:
                missing.append("%s(%s) from %s" % (macro, fn, path))
    if missing:
        print("check-tables: %s lacks %d registered table entr%s (is its file left out of the link?):"
              % (elf, len(missing), "y" if len(missing) == 1 else "ies"))
        for m in missing:
            print("    " + m)
        sys.exit(1)


if __name__ == "__main__":
    main()
