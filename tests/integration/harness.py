# Shared test harness for emulator tests: a Run collects named checks; runs go two at a time; PASS/FAIL lines.
"""Each emulator run is one test function taking a Run; it reports named checks, each printed as
`PASS name` or `FAIL name` (with the reason and the tail of the console log on failure)."""

import argparse
import concurrent.futures
import os
import re
import secrets
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
from console import Console, TestFailure  # noqa: E402,F401

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
BOCHS = os.environ.get("BOCHS", "bochs-bin")
QEMU_BOOT_S = 60          # generous: the machine is shared and slow
QEMU_CMD_S = 30
BOCHS_BOOT_S = 120
BOCHS_CMD_S = 90
MiB = 1024 * 1024
GiB = 1024 * MiB

_print_lock = threading.Lock()


class Run:
    """Context of one test function: paths, and the named checks it reports. A check that fails
    makes later checks of the same run fail at once when the console is unusable."""

    def __init__(self, name, build):
        self.name = name
        self.build = os.path.abspath(build)
        self.logdir = os.path.join(self.build, "test-logs", LOGSUB[0])
        self.results = []      # (name, ok, detail)
        self.console = None
        self.dead = None       # reason the console can no longer be driven

    def check(self, name, fn):
        """Run fn() as the check called name; a TestFailure (or any error) is a FAIL with its text."""
        if self.dead:
            self.results.append((name, False, "not run: " + self.dead))
            return
        try:
            fn()
            self.results.append((name, True, ""))
        except TestFailure as e:
            self.results.append((name, False, str(e)))
            if "timed out" in str(e) or "console closed" in str(e) or "emulator" in str(e):
                self.dead = "an earlier check of this boot failed (%s)" % str(e)
        except Exception as e:  # a bug in the test itself must still show as a failure
            self.results.append((name, False, "test error: %r" % (e,)))
            self.dead = "test error"


def require(cond, msg):
    """Raise TestFailure(msg) unless cond."""
    if not cond:
        raise TestFailure(msg)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tgt_ctl_port():
    """A tgtd control port number (-C) no tgtd on this machine uses now: their sockets share /var/run, and
    tiers run side by side, so a number derived from our pid alone could meet another tier's."""
    while True:
        n = str(20000 + secrets.randbelow(12000))   # tgtd takes up to 32767
        if n not in _ctl_given and not os.path.exists("/var/run/tgtd/socket." + n):
            _ctl_given.add(n)
            return n


_ctl_given = set()


def qemu_argv(mem="512M", extra=(), cpu="qemu64,+svm,+npt"):
    """QEMU TCG with SVM+NPT, no default devices, serial on the driver's socket."""
    return [QEMU, "-accel", "tcg", "-cpu", cpu, "-m", mem, "-nodefaults",
            "-display", "none", "-no-reboot", "-monitor", "none",
            "-serial", "tcp:127.0.0.1:{port}"] + list(extra)


BOCHSRC = """\
megs: {megs}
cpu: model=corei7_skylake_x, count=1, ips=100000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=socket-client, dev=127.0.0.1:{port}
port_e9_hack: enabled=1
clock: sync=none, time0=local
sound: driver=dummy
speaker: enabled=0
panic: action=fatal
log: {log}
"""


def bochs_start(r, c, megs=256, model=None, cpus=1):
    """Start Bochs (Intel skylake_x: VMX+EPT, or another of Bochs's CPU models; cpus processors: Debian's
    Bochs is built with SMP) booting r.build's ISO with com1 on c's socket."""
    work = os.path.join(r.logdir, r.name + ".work")      # bochsrc and cont.rc, kept for debugging
    os.makedirs(work, exist_ok=True)
    rcfile = os.path.join(work, "bochsrc")
    text = BOCHSRC.format(iso=r.build + "/shoal.iso", port=c.port, megs=megs,
                          log=os.path.join(r.logdir, r.name + ".bochs.log")).replace("count=1", "count=%d" % cpus)
    with open(rcfile, "w") as f:
        f.write(text.replace("model=corei7_skylake_x", "model=" + model) if model else text)
    with open(os.path.join(work, "cont.rc"), "w") as f:
        f.write("continue\n")
    env = dict(os.environ, TERM="xterm")
    c.start([BOCHS, "-q", "-f", rcfile, "-rc", os.path.join(work, "cont.rc")], cwd=work, env=env)


def boot_check(r, c, timeout):
    """The banner, the ready line and the prompt appear: the '-boot' check of every run."""
    r.check(r.name + "-boot", lambda: c.boot(timeout))


LOGSUB = ["boot"]


def run_one(name, fn, build):
    """Run one test function; return its printable report (PASS/FAIL lines, details on failure)."""
    r = Run(name, build)
    t0 = time.monotonic()
    try:
        fn(r)
    except TestFailure as e:
        r.results.append((name, False, str(e)))
    except Exception as e:
        r.results.append((name, False, "test error: %r" % (e,)))
    if not r.results:
        r.results.append((name, False, "test reported no result"))
    lines = []
    failed = False
    for n, ok, detail in r.results:
        lines.append("%s %s" % ("PASS" if ok else "FAIL", n))
        if not ok:
            failed = True
            lines += ["    " + l for l in detail.splitlines()[:40]]
    secs = time.monotonic() - t0
    lines.append("    (%s: %.1f s; log %s)" % (name, secs, os.path.relpath(
        os.path.join(r.logdir, name + ".console.log"))))
    if failed and r.console is not None:
        lines.append("    --- last console lines of %s:" % name)
        lines += ["    | " + l for l in r.console.tail(30).splitlines()]
    return "\n".join(lines)


def main(tests_table, logsub, required=("shoal.elf",)):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    LOGSUB[0] = logsub
    tests = [(n, f) for n, f in tests_table if re.search(a.only, n)]
    if a.list:
        print("\n".join(n for n, _ in tests))
        return 0
    if not tests:
        print("FAIL %s-setup\n    no test matches --only %r" % (logsub, a.only))
        return 1
    for f in required:
        path = f if os.path.isabs(f) else os.path.join(a.build, f)
        if not os.path.exists(path):
            print("FAIL %s-setup\n    missing %s (a test that needs a file fails without it)" % (logsub, path))
            return 1
    failed = 0
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        futs = [ex.submit(run_one, n, f, a.build) for n, f in tests]
        for fut in futs:            # report in test order, whatever order they finish in
            rep = fut.result()
            failed += rep.count("\nFAIL ") + rep.startswith("FAIL ")
            with _print_lock:
                print(rep, flush=True)
    print("    (%s tests: %.1f s with %d jobs)" % (logsub, time.monotonic() - t0, a.jobs), flush=True)
    return 1 if failed else 0


