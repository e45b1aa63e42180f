# Two (or more) shoal hosts under QEMU on one private L2 segment (a network namespace with a bridge) beside a tgtd.
"""A library for tests that need several shoal hosts on a real Ethernet segment, and an iSCSI target on it:

    with twohost.Segment() as seg:                       # netns + bridge, entered by this thread
        tgt = seg.target(GOLDEN)                         # tgtd on the bridge, the image read-only
        a = seg.host(r, "a", pools={"demo": tgt})        # shoal under QEMU on a tap of the bridge
        b = seg.host(r, "b", pools={"demo": tgt})
        a.wait_boot(); b.wait_boot()
        a.c.command("ping %s 3" % b.addr, 60)

The segment is a network namespace made by `ip netns add` (name shoal-th-PID-RANDOM) holding a bridge with
SUBNET.1/24 (the target's address), and one tap port per host. The calling thread enters the namespace
(setns(2) acts on one thread), so everything it starts afterwards lives there: the QEMU processes (their
serial consoles on the namespace's own 127.0.0.1), tgtd, `ip`. Test traffic never leaves the namespace.

Teardown: close() (and the context manager) stops every QEMU and tgtd by its PID, returns the thread to its
old namespace and drops the namespace. The namespace's name is removed as soon as the thread is inside
(`ip netns del`: the namespace lives on while a process or thread is in it), and every process started here
dies with its parent thread (PR_SET_PDEATHSIG): if the test is killed, even by SIGKILL, its QEMUs and tgtd
die and the namespace with its bridge and taps goes with them; nothing is left to sweep. To look inside a
running segment: `nsenter -t QEMU_PID -n ip addr`."""

import ctypes
import os
import re
import secrets
import subprocess
import time

from console import Console, TestFailure, _child_setup
from harness import QEMU_BOOT_S, QEMU_CMD_S, qemu_argv, require, tgt_ctl_port

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"                 # private to the namespace: two segments never see each other
IQN = "iqn.2026-12.org.shoal:twohost"
TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
POOL_READY_S = 180                 # the pool's login and boot-file reads over the emulated NIC
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    """Move the calling thread into the network namespace open as fd; OSError on failure."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def _ip(*args):
    """Run `ip ARGS` in the calling thread's namespace; TestFailure with ip's message when it fails."""
    p = subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    if p.returncode != 0:
        raise TestFailure("ip %s: %s" % (" ".join(args), p.stdout.decode(errors="replace").strip()))


class Segment:
    """A private L2 segment: a network namespace with bridge br0 (SUBNET.1/24) and loopback up, entered by
    the calling thread until close(). Hosts and targets made through it are closed with it."""

    def __init__(self):
        self.name = "shoal-th-%d-%s" % (os.getpid(), secrets.token_hex(3))
        self.gw = SUBNET + ".1"
        self._old = None
        self._owned = []           # hosts and targets, closed in reverse order
        self._taps = 0
        self._old = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _ip("netns", "add", self.name)
            fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            _ip("netns", "del", self.name)     # the namespace lives while we are in it, and no longer
            _ip("link", "set", "lo", "up")
            _ip("link", "add", "br0", "type", "bridge")
            _ip("addr", "add", self.gw + "/24", "dev", "br0")
            _ip("link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def tap(self):
        """A new tap device on the bridge, up; returns its name (QEMU opens it: -netdev tap,ifname=)."""
        name = "tap%d" % self._taps
        self._taps += 1
        _ip("tuntap", "add", "dev", name, "mode", "tap")
        _ip("link", "set", name, "master", "br0")
        _ip("link", "set", name, "up")
        return name

    def addr(self, n):
        """The segment's address SUBNET.n."""
        return "%s.%d" % (SUBNET, n)

    def target(self, image, iqn=IQN, workdir=None):
        """tgtd on SUBNET.1:3260 exporting image read-only as iqn's LUN 1 (a Target)."""
        t = Target(self, image, iqn, workdir)
        self._owned.append(t)
        return t

    def host(self, r, name, n=None, mem="1G", args="", pools=None, start=True, modules=()):
        """A shoal Host called name (console log r.name-name) with address SUBNET.n (10 + its rank by
        default); pools {NAME: Target or iscsi:// URL} become pool= boot parameters; start boots QEMU
        now (wait_boot() waits for the prompt)."""
        h = Host(self, r, name, n if n is not None else 11 + sum(isinstance(o, Host) for o in self._owned),
                 mem, args, pools, modules)
        self._owned.append(h)
        if start:
            h.start()
        return h

    def close(self):
        """Stop every host and target, leave the namespace (it is freed once nothing is in it). Twice is fine."""
        while self._owned:
            try:
                self._owned.pop().close()
            except Exception:        # keep tearing down the rest
                pass
        if self._old is not None:
            try:
                _setns(self._old)
            finally:
                os.close(self._old)
                self._old = None
        subprocess.run(["ip", "netns", "del", self.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Target:
    """tgtd in the segment on SUBNET.1:3260, one read-only LUN; started with the test's death signal, stopped
    by its PID (tools/tgt-export.sh stop)."""

    def __init__(self, seg, image, iqn=IQN, workdir=None):
        require(os.path.exists(image), "no image %s" % image)
        self.iqn, self.portal = iqn, seg.gw + ":3260"
        self.ctl = tgt_ctl_port()
        workdir = workdir or "/tmp"
        os.makedirs(workdir, exist_ok=True)
        self.log = os.path.join(workdir, "%s-tgtd.log" % seg.name)
        with open(self.log, "ab") as logf:
            self.p = subprocess.Popen(["tgtd", "-f", "-C", self.ctl, "--iscsi", "portal=" + self.portal],
                                      stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                      preexec_fn=_child_setup)
        try:
            self._wait_up()
            for args in (["--op", "new", "--mode", "target", "--tid", "1", "-T", iqn],
                         ["--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", image],
                         ["--op", "update", "--mode", "logicalunit", "--tid", "1", "--lun", "1",
                          "--params", "readonly=1"],
                         ["--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL"]):
                out = self._adm(args)
                require(out is None, "tgtadm %s: %s" % (" ".join(args[:4]), out))
        except BaseException:
            self.close()
            raise

    def _adm(self, args):
        """tgtadm on our control port: None on success, else its output."""
        p = subprocess.run(["tgtadm", "-C", self.ctl, "--lld", "iscsi"] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        return None if p.returncode == 0 else p.stdout.decode(errors="replace").strip() or "exit %d" % p.returncode

    def _wait_up(self):
        deadline = time.monotonic() + 20
        while self._adm(["--op", "show", "--mode", "target"]) is not None:
            require(self.p.poll() is None, "tgtd exited at start (see %s)" % self.log)
            require(time.monotonic() < deadline, "tgtd does not answer on control port %s" % self.ctl)
            time.sleep(0.1)

    def url(self):
        """The LUN's pool URL."""
        return "iscsi://%s/%s/1" % (self.portal, self.iqn)

    def close(self):
        """Targets offline and deleted, tgtd stopped (killed if it lingers)."""
        if self.p.poll() is None:
            subprocess.run(["sh", os.path.join(TOOLS, "tgt-export.sh"), "stop", str(self.p.pid), self.ctl],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            if self.p.poll() is None:
                self.p.kill()
        self.p.wait()
        for f in ("socket." + self.ctl, "socket.%s.lock" % self.ctl):    # tgtd leaves them behind
            try:
                os.remove(os.path.join("/var/run/tgtd", f))
            except OSError:
                pass


class Host:
    """One shoal host: QEMU TCG (EPYC: SVM+NPT) with an e1000 on its own tap of the segment, a static
    address SUBNET.n/24 with the bridge as gateway, MAC 52:54:00:77:00:n. c is its Console."""

    def __init__(self, seg, r, name, n, mem="1G", args="", pools=None, modules=()):
        require(2 <= n <= 254, "host address %s.%d" % (SUBNET, n))
        self.seg, self.name, self.n = seg, name, n
        self.addr = seg.addr(n)
        self.mac = "52:54:00:77:00:%02x" % n
        self.r = r
        self.mem = mem
        self.modules = list(modules)           # boot modules (paths): guest kernels, initrds, disks
        params = ["ip=%s/24" % self.addr, "gw=" + seg.gw] + ([args] if args else [])
        for pname, where in sorted((pools or {}).items()):
            url = where.url() if isinstance(where, Target) else where
            params.append('pool=%s=%s,cmdline="root=/dev/vda1 rw quiet"' % (pname, url))   # cmdline= comes last
        self.append = " ".join(params)
        self.c = Console("%s-%s" % (r.name, name), r.logdir)
        self.tap = None

    def start(self):
        """Launch QEMU on a new tap of the segment (returns once its serial port connected)."""
        self.tap = self.seg.tap()
        self.c.start(qemu_argv(self.mem, [
            "-kernel", self.r.build + "/shoal.elf", "-append", self.append] +
            (["-initrd", ",".join(self.modules)] if self.modules else []) + [
            "-netdev", "tap,id=l2,ifname=%s,script=no,downscript=no" % self.tap,
            "-device", "e1000,netdev=l2,mac=" + self.mac], cpu="EPYC"))

    def wait_boot(self, timeout=QEMU_BOOT_S):
        """The banner, ready line and prompt, then the static address line (it may come before the prompt)."""
        text = self.c.boot(timeout)
        bad = re.findall(r"WARN unknown boot parameter[^\n]*|WARN [^\n]*boot parameter[^\n]*", text)
        require(not bad, "host %s refused boot parameters (%s):\n%s" % (self.name, self.append, "\n".join(bad)))
        self.wait_line(r"net: address %s mask 255\.255\.255\.0 gw %s\n" % (re.escape(self.addr),
                                                                              re.escape(self.seg.gw)), timeout)

    def wait_line(self, pattern, timeout):
        """Wait for pattern anywhere in the console output so far, or to come within timeout s."""
        if not re.search(pattern, self.c.output(), re.M):
            self.c.expect(pattern, timeout, "%r on host %s" % (pattern, self.name))

    def wait_pool(self, name, timeout=POOL_READY_S):
        """A pool= image is ready (its boot log line); fails at once on the host's own error line."""
        m = re.search(r"pool %s: ready|error: pool[^\n]*%s[^\n]*" % (name, name), self.c.output())
        if not m:
            m = self.c.expect(r"pool %s: ready|error: pool[^\n]*%s[^\n]*" % (name, name), timeout,
                              "pool %s ready on host %s" % (name, self.name))
        require(m.group(0).startswith("pool"), "host %s: %s" % (self.name, m.group(0)))

    def command(self, line, timeout=QEMU_CMD_S):
        """A shell command on this host; its output."""
        return self.c.command(line, timeout)

    def ping(self, addr, count=3, timeout=60):
        """shoal's own ping of addr: every one of count echoes must come back (after one unchecked echo: the
        first may go while the address is still being resolved or the peer's network is coming up)."""
        self.command("ping %s 1" % addr, timeout)
        out = self.command("ping %s %d" % (addr, count), timeout)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        require(m, "host %s: no ping summary:\n%s" % (self.name, out))
        require(int(m.group(1)) == count and int(m.group(2)) == count,
                "host %s pinged %s: %s sent, %s received of %d:\n%s" % (self.name, addr, m.group(1), m.group(2),
                                                                         count, out))
        return out

    def close(self):
        self.c.close()
