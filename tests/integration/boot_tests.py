# Boot tests of shoal under QEMU and Bochs: every loader path, memory sizes, PCI, exceptions, boot parameters, shell.
"""Usage: boot_tests.py --build DIR [--jobs N] [--only REGEX] [--list]

Each emulator run is one test function; it reports one or more named checks, each printed as
`PASS name` or `FAIL name` (with the reason and the tail of the console log). Up to --jobs
emulators run at once. Logs: DIR/test-logs/boot/NAME.console.log and NAME.emu.log."""

import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True       # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, TestFailure, require, qemu_argv, bochs_start, boot_check, main, free_port,  # noqa: E402
                     QEMU_BOOT_S, QEMU_CMD_S, BOCHS_BOOT_S, BOCHS_CMD_S, MiB, GiB)

# ---- checks shared by several tests ----

def check_memory(text, given_bytes, slack=3 * MiB):
    """`memory: N MiB usable (K KiB)`: K within [given - slack, given] (3 MiB: BIOS areas and tables);
    returns K."""
    m = re.search(r"^memory: (\d+) MiB usable \((\d+) KiB\)", text, re.M)
    require(m, "no 'memory: N MiB usable (K KiB)' line in:\n" + text)
    mib, kib = int(m.group(1)), int(m.group(2))
    lo, hi = (given_bytes - slack) // 1024, given_bytes // 1024
    require(lo <= kib <= hi, "usable %d KiB not in [%d, %d] KiB for -m %d MiB" % (kib, lo, hi, given_bytes // MiB))
    require(mib == kib // 1024, "MiB figure %d disagrees with %d KiB" % (mib, kib))
    return kib


def check_mem_cmd(c, timeout, given_bytes, above_4g=False, slack=3 * MiB):
    """Run `mem`; check the total (within slack below given_bytes), that the allocator manages (nearly)
    all of it, and for above_4g that the map has available RAM above 4 GiB. Returns the output."""
    out = c.command("mem", timeout)
    kib = check_memory(out, given_bytes, slack)
    m = re.search(r"^pages: (\d+) managed", out, re.M)
    require(m, "no 'pages: N managed' line in:\n" + out)
    managed_kib = int(m.group(1)) * 4
    require(managed_kib >= kib - 2048, "allocator manages %d KiB of %d KiB usable" % (managed_kib, kib))
    if above_4g:
        high = [int(b, 16) for b, e in re.findall(r"^\s+([0-9a-f]{16})-([0-9a-f]{16}) available", out, re.M)
                if int(e, 16) >= 4 * GiB]
        require(high, "no available range above 4 GiB in the memory map:\n" + out)
        require(managed_kib > 4 * GiB // 1024 - 1024 * 1024,
                "allocator manages only %d KiB: RAM above 4 GiB not used" % managed_kib)
    return out


def check_info(c, timeout, virt, protocol, loader=None, firmware=None):
    """Run `info`: virtualization line (virt = 'SVM+NPT' or 'VMX+EPT'), memory line, boot protocol/loader,
    and when given the firmware line ('BIOS' or 'UEFI')."""
    out = c.command("info", timeout)
    require(re.search(r"^virtualization: %s \(" % re.escape(virt), out, re.M),
            "expected 'virtualization: %s (...)' in info:\n%s" % (virt, out))
    require(re.search(r"^memory: \d+ MiB usable \(\d+ KiB\)", out, re.M), "no memory line in info:\n" + out)
    m = re.search(r"^boot: multiboot(\d), loader '([^']*)'", out, re.M)
    require(m, "no 'boot: multibootN, loader ...' line in info:\n" + out)
    require(m.group(1) == str(protocol), "booted by multiboot%s, expected multiboot%d" % (m.group(1), protocol))
    if loader:
        require(re.match(loader, m.group(2)), "loader '%s' does not match %r" % (m.group(2), loader))
    if firmware:
        fw = re.search(r"^firmware: (\w+)", out, re.M)
        require(fw, "no 'firmware: ...' line in info:\n" + out)
        require(fw.group(1) == firmware, "info says firmware %s, expected %s" % (fw.group(1), firmware))
    return out


def check_grub_quiet(c):
    """GRUB ran its menu entry and printed no error or warning before shoal's banner (the video-mode
    and console warnings GRUB gives a multiboot2 kernel unless grub.cfg and the header prevent them)."""
    text = c.output()
    banner = re.search(r"^shoal \d+\.\d+: thin hypervisor", text, re.M)
    require(banner, "no banner in the console output")
    pre = text[:banner.start()]
    require(re.search(r"Booting `shoal", pre), "GRUB's 'Booting `shoal...'' line is missing before the banner")
    bad = re.findall(r"(?:^|\s)((?:error|WARNING): [^\n]*)", pre)
    require(not bad, "GRUB complained before shoal started:\n" + "\n".join(bad))


# ---- tests ----

def t_qemu_kernel(r):
    """QEMU -kernel (multiboot1), 512 MiB, e1000 + virtio-net: banner, info, mem, pci."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf",
                                   "-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
                                   "-netdev", "user,id=n1", "-device", "virtio-net-pci,netdev=n1"]))
        boot_check(r, c, QEMU_BOOT_S)
        r.check(r.name + "-info", lambda: check_info(c, QEMU_CMD_S, "SVM+NPT", 1, None, "BIOS"))
        r.check(r.name + "-mem-512M", lambda: check_mem_cmd(c, QEMU_CMD_S, 512 * MiB))

        def pci():
            out = c.command("pci", QEMU_CMD_S)
            fmt = r"^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] %s class [0-9a-f]{2}\.[0-9a-f]{2}\.[0-9a-f]{2} "
            require(re.search(fmt % "8086:100e", out, re.M), "e1000 8086:100e not listed by pci:\n" + out)
            require(re.search(fmt % "1af4:10(41|00)", out, re.M), "virtio-net 1af4:1041/1000 not listed by pci:\n" + out)
            require(re.search(fmt % "8086:1237", out, re.M), "host bridge 8086:1237 not listed by pci:\n" + out)
        r.check(r.name + "-pci", pci)


def t_qemu_mem(size_gib, above_4g):
    def t(r):
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("%dG" % size_gib, ["-kernel", r.build + "/shoal.elf"]))
            boot_check(r, c, QEMU_BOOT_S)
            r.check(r.name + "-mem", lambda: check_mem_cmd(c, QEMU_CMD_S, size_gib * GiB, above_4g))
    t.__doc__ = "QEMU -kernel with -m %dG: mem reports it%s." % (size_gib, " (RAM above 4 GiB)" if above_4g else "")
    return t


def t_loader(extra, protocol, loader):
    """A boot through a firmware/loader path: banner, then info's boot protocol and loader."""
    def t(r):
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("512M", [a.replace("@B", r.build) for a in extra]))
            boot_check(r, c, QEMU_BOOT_S)
            r.check(r.name + "-info", lambda: check_info(c, QEMU_CMD_S, "SVM+NPT", protocol, loader, "BIOS"))
            if loader == r"GRUB":
                r.check(r.name + "-grub-quiet", lambda: check_grub_quiet(c))
    return t


def check_exception(c, vector, name, func, via, timeout):
    """Wait for the exception dump of vector in func; check the register lines, CR2 (page fault),
    that the backtrace starts at RIP in func, passes through every function in via and ends
    in long_entry (the walk reaches the bottom of the stack), and the final 'CPU stopped.'."""
    m = c.expect(r"\*\*\* EXCEPTION vector (\d+) \(([^)]*)\) error code 0x([0-9a-f]+)\n", timeout, "the exception dump")
    require(m.group(1) == str(vector), "vector %s, expected %d" % (m.group(1), vector))
    require(m.group(2).startswith(name), "exception name '%s', expected '%s...'" % (m.group(2), name))
    err = int(m.group(3), 16)
    end = c.expect(r"^CPU stopped\.\n", timeout, "'CPU stopped.'")
    dump = c.output()[m.start():end.end()]
    rip = re.search(r"^RIP ([0-9a-f]{16}) CS ([0-9a-f]{4}) RFLAGS ([0-9a-f]{16})", dump, re.M)
    require(rip, "no RIP line in:\n" + dump)
    for reg in ("RSP", "CR2", "CR3", "RAX", "RDI", "R15"):
        require(re.search(r"\b%s\s+[0-9a-f]{16}\b" % reg, dump), "no %s value in:\n%s" % (reg, dump))
    if vector == 14:
        cr2 = int(re.search(r"CR2 ([0-9a-f]{16})", dump).group(1), 16)
        require(cr2 != 0, "CR2 is 0 after a page fault")
        require(err & 2 and not err & 1, "page fault error code 0x%x: expected a write (bit 1) to a "
                "not-present page (bit 0 clear)" % err)
    bt = dump[dump.find("backtrace:"):] if "backtrace:" in dump else ""
    require(bt, "no 'backtrace:' in:\n" + dump)
    frames = re.findall(r"^\s+\[<([0-9a-f]{16})>\] ([A-Za-z_][A-Za-z0-9_.]*)\+0x[0-9a-f]+", bt, re.M)
    require(frames, "no backtrace frames in:\n" + bt)
    require(frames[0][1] == func, "first frame is %s, expected %s:\n%s" % (frames[0][1], func, bt))
    require(frames[0][0] == rip.group(1), "first frame %s is not RIP %s" % (frames[0][0], rip.group(1)))
    for v in via + ("long_entry",):
        require(any(f[1] == v for f in frames), "backtrace does not reach %s:\n%s" % (v, bt))


def t_fault_param(kind, vector, name):
    def t(r):
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf", "-append", "fault=" + kind]))
            r.check(r.name, lambda: check_exception(c, vector, name, "fault_provoke_" + kind,
                                                    (), QEMU_BOOT_S))
    return t


def t_fault_cmd(kind, vector, name):
    def t(r):
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf"]))
            c.boot(QEMU_BOOT_S)

            def f():
                c.send("fault %s\r" % kind)
                check_exception(c, vector, name, "fault_provoke_" + kind, ("shell_exec",), QEMU_CMD_S)
            r.check(r.name, f)
    return t


def t_fault_triple(r):
    """`fault tf` triple-faults the host: QEMU stops the machine (console.py runs it with -action
    shutdown=pause), the console's watcher appends every CPU's registers as they stopped to the emulator's
    log (the IDT is the empty one fault_provoke_tf loaded) and kills it, and the console closes saying so."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf", "-smp", "2"]))
        c.boot(QEMU_BOOT_S)

        def f():
            c.send("fault tf\r")
            try:
                c.expect(r"this never appears", QEMU_CMD_S)
                raise AssertionError("unreachable")
            except TestFailure as e:
                require(str(e).startswith("console closed (the emulated machine shut down"),
                        "after a triple fault: %s" % e)
            log = open(c.emu_log_path, errors="replace").read()
            dump = log[log.find("[console.py] the emulated machine shut down"):]
            require(dump and "CPU#0" in dump and "CPU#1" in dump, "no registers of both CPUs in %s" % c.emu_log_path)
            require(re.search(r"^IDT=\s+0{16} 0{8}$", dump, re.M),
                    "no CPU stopped with the empty IDT fault_provoke_tf loaded:\n" + dump[:3000])
        r.check(r.name, f)


def t_params(r):
    """Unknown boot parameter: warned about and ignored, boot continues; `help params` lists the keys."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf", "-append", "bogus=1 loglevel=info"]))

        def warn():
            boot = c.boot(QEMU_BOOT_S)
            require(re.search(r"unknown boot parameter 'bogus' ignored", boot),
                    "no warning about 'bogus' in the boot log")
            require(not re.search(r"unknown boot parameter 'loglevel'", boot), "known key 'loglevel' was rejected")
            out = c.command("info", QEMU_CMD_S)
            require(re.search(r"^boot: multiboot1, .*parameters '[^']*bogus=1 loglevel=info'", out, re.M),
                    "info does not show the parameters given:\n" + out)
        r.check(r.name + "-unknown-key", warn)

        def keys():
            out = c.command("help params", QEMU_CMD_S)
            for k in ("console", "loglevel", "fault"):
                require(re.search(r"^\s+%s\s+\S" % k, out, re.M), "'help params' lacks %s:\n%s" % (k, out))
        r.check(r.name + "-help-params", keys)


def t_shell(r):
    """help, help mem, an unknown command; the shell keeps answering afterwards."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf"]))
        boot_check(r, c, QEMU_BOOT_S)

        def help_all():
            out = c.command("help", QEMU_CMD_S)
            for k in ("help", "info", "mem", "log", "fault"):
                require(re.search(r"^\s+%s\s+\S" % k, out, re.M), "'help' lacks %s:\n%s" % (k, out))
        r.check(r.name + "-help", help_all)

        def help_mem():
            out = c.command("help mem", QEMU_CMD_S)
            require(re.search(r"^mem\b.*\n\s+memory map", out, re.M), "'help mem' shows no usage/help:\n" + out)
            out = c.command("help nosuchcmd", QEMU_CMD_S)
            require(re.search(r"^error: no command 'nosuchcmd'", out, re.M), "'help nosuchcmd' gave:\n" + out)
        r.check(r.name + "-help-mem", help_mem)

        def unknown():
            out = c.command("xyz", QEMU_CMD_S)
            require(re.search(r"^error: unknown command 'xyz' \(try 'help'\)", out, re.M),
                    "unknown command gave:\n" + out)
            out = c.command("mem", QEMU_CMD_S)
            require("memory:" in out, "shell did not answer 'mem' after the error:\n" + out)
        r.check(r.name + "-unknown-command", unknown)


def t_bochs(r):
    """Bochs (Intel skylake_x model) boots the ISO: info reports VMX+EPT; mem; shell over com1."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        bochs_start(r, c)
        boot_check(r, c, BOCHS_BOOT_S)
        r.check(r.name + "-info", lambda: check_info(c, BOCHS_CMD_S, "VMX+EPT", 2, r"GRUB", "BIOS"))
        r.check(r.name + "-mem", lambda: check_mem_cmd(c, BOCHS_CMD_S, 256 * MiB))


def t_gdb(r):
    """`make gdb` as a developer runs it, with a script: QEMU waits at the first instruction, gdb has the
    symbols, the breakpoint on kmain is hit with the multiboot magic in its argument, the backtrace names it."""
    def run():
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with tempfile.NamedTemporaryFile("w", suffix=".gdb") as f:
            f.write("continue\nprint/x magic\nbt 1\n")
            f.flush()
            p = subprocess.run(["make", "-s", "--no-print-directory", "gdb", "BUILD=" + os.path.abspath(r.build),
                                "GDB_PORT=%d" % free_port(), "GDB_SCRIPT=" + f.name], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=QEMU_BOOT_S * 2)
        os.makedirs(r.logdir, exist_ok=True)
        with open(os.path.join(r.logdir, r.name + ".gdb.log"), "w") as log:
            log.write(p.stdout)
        for want in (r"Breakpoint 1, kmain \(", r"\$1 = 0x2badb002", r"#0\s+kmain \(.*kernel/main\.c:\d+"):
            require(re.search(want, p.stdout), "make gdb printed no %r:\n%s" % (want, p.stdout[-1500:]))
    r.check(r.name, run)


ISO = "@B/shoal.iso"
TESTS = [
    # Bochs first: it is the slowest, so it overlaps the QEMU runs.
    ("bochs-iso", t_bochs),
    ("qemu-kernel", t_qemu_kernel),
    ("qemu-kernel-3G", t_qemu_mem(3, False)),
    ("qemu-kernel-5G", t_qemu_mem(5, True)),
    ("iso-cdrom", t_loader(["-cdrom", ISO], 2, r"GRUB")),
    ("iso-rawdisk", t_loader(["-drive", "file=%s,format=raw,if=ide,snapshot=on" % ISO], 2, r"GRUB")),
    ("iso-usb-storage", t_loader(["-device", "qemu-xhci,id=xhci",
                                  "-drive", "if=none,id=stick,file=%s,format=raw,snapshot=on" % ISO,
                                  "-device", "usb-storage,bus=xhci.0,drive=stick"], 2, r"GRUB")),
    ("pxe-ipxe", t_loader(["-netdev", "user,id=n,tftp=@B/pxe,bootfile=shoal.ipxe",
                           "-device", "e1000,netdev=n", "-boot", "n"], 1, r"iPXE")),
    ("pxe-grub", t_loader(["-netdev", "user,id=n,tftp=@B/pxe,bootfile=boot/grub/i386-pc/core.0",
                           "-device", "e1000,netdev=n", "-boot", "n"], 2, r"GRUB")),
    ("fault-param-pf", t_fault_param("pf", 14, "#PF page fault")),
    ("fault-param-ud", t_fault_param("ud", 6, "#UD invalid opcode")),
    ("fault-cmd-pf", t_fault_cmd("pf", 14, "#PF page fault")),
    ("fault-cmd-ud", t_fault_cmd("ud", 6, "#UD invalid opcode")),
    ("fault-cmd-triple", t_fault_triple),
    ("boot-params", t_params),
    ("shell", t_shell),
    ("make-gdb", t_gdb),
]


if __name__ == "__main__":
    sys.exit(main(TESTS, "boot", ("shoal.elf", "shoal.iso", "pxe/shoal.ipxe", "pxe/boot/grub/i386-pc/core.0")))
