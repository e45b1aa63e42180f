#!/usr/bin/env python3
"""shoal's in-hypervisor iSCSI initiator (lwIP transport) against a real tgtd on the host's loopback,
under QEMU TCG with user networking (the host's 127.0.0.1 is 10.0.2.2 inside).
Prints one `PASS name` / `FAIL name` line per test. `--bench` prints read rates instead (not a test).
Always stops tgtd by its PID and kills QEMU's process group, even on failure."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, tgt_ctl_port  # noqa: E402

TIMEOUT = 90            # generous: a shared, noisy machine
IQN = "iqn.2026-01.org.shoal"
LUN_MB = 32
BENCH_MB = 128
CHAP_USER, CHAP_SECRET = "shoaluser", "shoalsecret123"
NICS = {
    "e1000": ["-nic", "user,model=e1000"],
    "virtio": ["-device", "virtio-net-pci,disable-legacy=on,netdev=n0", "-netdev", "user,id=n0"],
}


class Tgtd:
    """tgtd on 127.0.0.1 with a private control port and TCP port: a read-only golden target and a
    CHAP target, both backed by one random file."""

    def __init__(self, workdir, size_mb=LUN_MB):
        self.dir = workdir
        self.size_mb = size_mb
        self.ctl = tgt_ctl_port()
        self.port = free_port()
        self.proc = None
        self.image = os.path.join(workdir, "lun.img")
        with open(self.image, "wb") as f:
            f.write(os.urandom(size_mb << 20))
        with open(self.image, "rb") as f:
            self.sha = hashlib.sha256(f.read()).hexdigest()
        self.log = open(os.path.join(workdir, "tgtd.log"), "wb")

    def adm(self, *args, check=True):
        r = subprocess.run(["tgtadm", "-C", self.ctl, "--lld", "iscsi"] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if check and r.returncode:
            raise AssertionError("tgtadm %s: %s" % (" ".join(args), r.stdout.decode(errors="replace")))
        return r

    def start(self):
        self.proc = subprocess.Popen(["tgtd", "-f", "-C", self.ctl, "--iscsi", "portal=127.0.0.1:%d" % self.port],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(100):
            if self.adm("--op", "show", "--mode", "target", check=False).returncode == 0:
                break
            if self.proc.poll() is not None:
                raise AssertionError("tgtd exited at start (status %d)" % self.proc.returncode)
            time.sleep(0.1)
        else:
            raise AssertionError("tgtd did not answer on control port %s" % self.ctl)
        for tid, name in ((1, "golden"), (2, "chap")):
            self.adm("--op", "new", "--mode", "target", "--tid", str(tid), "-T", "%s:%s" % (IQN, name))
            self.adm("--op", "new", "--mode", "logicalunit", "--tid", str(tid), "--lun", "1", "-b", self.image)
            self.adm("--op", "update", "--mode", "logicalunit", "--tid", str(tid), "--lun", "1",
                     "--params", "readonly=1")
            self.adm("--op", "bind", "--mode", "target", "--tid", str(tid), "-I", "ALL")
        self.adm("--op", "new", "--mode", "account", "--user", CHAP_USER, "--password", CHAP_SECRET)
        self.adm("--op", "bind", "--mode", "account", "--tid", "2", "--user", CHAP_USER)
        for key in ("HeaderDigest", "DataDigest"):
            self.adm("--op", "update", "--mode", "target", "--tid", "2", "-n", key, "-v", "CRC32C,None")

    def restart(self, pause):
        """Kill tgtd abruptly (connections reset), wait pause s, start it again on the same portal."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        time.sleep(pause)
        self.start()

    def stop(self):
        """Targets offline and deleted, then the system (tgtd ignores SIGTERM while targets exist);
        SIGKILL by PID as the last resort."""
        if not self.proc:
            return
        for tid in ("1", "2"):
            self.adm("--op", "update", "--mode", "target", "--tid", tid, "-n", "state", "-v", "offline", check=False)
            self.adm("--op", "delete", "--force", "--mode", "target", "--tid", tid, check=False)
        self.adm("--op", "delete", "--mode", "system", check=False)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        self.log.close()


class Shoal:
    """shoal under QEMU TCG, serial console on stdio, in its own process group."""
    last = None

    def __init__(self, kernel, nic, append="", mac=None, mem_mb=256, cpu="qemu64,+svm,+npt"):
        nic_args = list(NICS[nic])
        if mac:                         # two machines have two MACs: QEMU's default is the same for all
            nic_args[1] += ",mac=" + mac
        args = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", cpu, "-m", str(mem_mb),
                "-kernel", kernel, "-append", append, "-serial", "stdio", "-display", "none",
                "-no-reboot", "-monitor", "none"] + nic_args
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        Shoal.last = self
        self.buf, self.pos = "", 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            with self.lock:
                self.buf += data.decode("utf-8", "replace").replace("\r", "")

    def expect(self, regex, timeout=TIMEOUT):
        end = time.time() + timeout
        pat = re.compile(regex, re.M)
        while time.time() < end:
            with self.lock:
                m = pat.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
            if self.proc.poll() is not None:
                raise AssertionError("QEMU exited (status %d) waiting for /%s/" % (self.proc.returncode, regex))
            time.sleep(0.05)
        raise AssertionError("no /%s/ within %d s" % (regex, timeout))

    def run(self, line, timeout=TIMEOUT):
        """Type a command; return its output up to the next prompt."""
        start = self.pos
        self.proc.stdin.write((line + "\r").encode())
        self.proc.stdin.flush()
        self.expect(re.escape(line) + r"\n", timeout)
        self.expect(r"^shoal> ", timeout)
        with self.lock:
            return self.buf[start:self.pos]

    def wait_dhcp(self):
        self.expect(r"net: address 10\.0\.2\.15 .*\(dhcp\)", TIMEOUT)

    def tail(self, n=25):
        with self.lock:
            return "\n".join(self.buf.splitlines()[-n:])

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def login(con, tgt, name="golden", extra="", want=""):
    out = con.run("iscsi login 10.0.2.2:%d %s:%s%s" % (tgt.port, IQN, name, extra), timeout=TIMEOUT * 2)
    m = re.search(r"session (\d+): .* (\d+) bytes", out)
    if not m or int(m.group(2)) != tgt.size_mb << 20 or not re.search(want, out):
        raise AssertionError("login output:\n" + out)
    return int(m.group(1))


def sha_check(con, tgt, idx):
    out = con.run("iscsi sha256 %d" % idx, timeout=TIMEOUT * 4)
    m = re.search(r"sha256 ([0-9a-f]{64}) bytes (\d+) time (\d+) rate (\S+) MB/s \(hashing (\d+) ms\)", out)
    if not m:
        raise AssertionError("sha256 output:\n" + out)
    if m.group(1) != tgt.sha or int(m.group(2)) != tgt.size_mb << 20:
        raise AssertionError("sha256 %s over %s bytes, backing file %s" % (m.group(1), m.group(2), tgt.sha))
    ms, hash_ms = int(m.group(3)), int(m.group(5))
    io = (tgt.size_mb << 20) / max(ms - hash_ms, 1) / 1000.0
    return float(m.group(4)), "%d ms of which %d ms hashing; I/O alone ~%.1f MB/s" % (ms, hash_ms, io)


def test_read(kernel, tgt, nic):
    con = Shoal(kernel, nic)
    try:
        con.wait_dhcp()
        idx = login(con, tgt)
        rate, ms = sha_check(con, tgt, idx)
        out = con.run("iscsi list")
        if not re.search(r"^\s+%d\s+10\.0\.2\.2:%d\s+1\s+%d\s+ready\s+ffp\s+0\s+\d+\s+(\d+)\s+%s:golden" %
                         (idx, tgt.port, tgt.size_mb, re.escape(IQN)), out, re.M):
            raise AssertionError("iscsi list:\n" + out)
        out = con.run("iscsi logout %d" % idx)
        if "session %d logged out" % idx not in out or "no iSCSI sessions" not in con.run("iscsi list"):
            raise AssertionError("logout:\n" + out)
        return "%d MiB at %.2f MB/s (%s), sha256 matches" % (tgt.size_mb, rate, ms)
    finally:
        con.close()


def test_reconnect(kernel, tgt):
    """tgtd killed and restarted during a whole-LUN read: the engine relogs in over a new lwIP
    connection and the data is still right."""
    con = Shoal(kernel, "virtio")
    errors = []

    def restart():
        try:
            time.sleep(0.3)            # the read takes seconds under TCG
            tgt.restart(1.0)
        except (AssertionError, OSError, subprocess.TimeoutExpired) as e:
            errors.append(e)
    try:
        con.wait_dhcp()
        idx = login(con, tgt)
        th = threading.Thread(target=restart)
        th.start()
        try:
            rate, ms = sha_check(con, tgt, idx)
        finally:
            th.join()
        if errors:
            raise AssertionError("tgtd restart: %s" % errors[0])
        out = con.run("iscsi list")
        m = re.search(r"^\s+%d\s.*ready\s+ffp\s+\d+\s+(\d+)\s" % idx, out, re.M)
        if not m or int(m.group(1)) < 1:
            raise AssertionError("no reconnect counted (did the restart land after the read?):\n" + out)
        return "%s reconnect(s), sha256 matches (%s)" % (m.group(1), ms)
    finally:
        con.close()


def test_boot_param(kernel, tgt):
    con = Shoal(kernel, "e1000", "iscsi=10.0.2.2:%d/%s:golden/1" % (tgt.port, IQN))
    try:
        con.expect(r"iscsi: session 0 ready: %s:golden lun 1 at 10\.0\.2\.2:%d, %d bytes" %
                   (re.escape(IQN), tgt.port, tgt.size_mb << 20), TIMEOUT * 2)
        out = con.run("iscsi list")
        if "(boot)" not in out:
            raise AssertionError("iscsi list:\n" + out)
        rate, ms = sha_check(con, tgt, 0)
        return "boot login, sha256 matches (%.2f MB/s)" % rate
    finally:
        con.close()


def test_boot_before_target(kernel, tgt):
    """The host boots before its target (a rack after a power cut): the iscsi= session keeps retrying
    with backoff past the three attempts an operator's login gets, says so in `iscsi list`, and logs in
    once tgtd is up."""
    os.kill(tgt.proc.pid, signal.SIGKILL)
    tgt.proc.wait()
    con = Shoal(kernel, "e1000", "iscsi=10.0.2.2:%d/%s:golden/1" % (tgt.port, IQN))
    try:
        con.wait_dhcp()
        time.sleep(12)                  # 1+2+4 s: past the three attempts an operator's login gets
        listing = con.run("iscsi list")
        tgt.start()
        con.expect(r"iscsi: session 0 ready: %s:golden lun 1" % re.escape(IQN), TIMEOUT)
        if not re.search(r"retrying: .*, [3-9] failed attempts, next in \d+ s", listing):
            raise AssertionError("iscsi list while the target was down:\n" + listing)
        out = con.run("iscsi sha256 0 4M", timeout=TIMEOUT * 2)
        with open(tgt.image, "rb") as f:
            want = hashlib.sha256(f.read(4 << 20)).hexdigest()
        if "sha256 %s bytes %d " % (want, 4 << 20) not in out:
            raise AssertionError("sha256 of 4 MiB after the late login:\n" + out)
        return "kept retrying while tgtd was down, logged in once it came up, first 4 MiB match"
    finally:
        con.close()
        if tgt.proc.poll() is not None:
            tgt.start()


def test_two_hosts(kernel, tgt):
    """Two shoal hosts (two machines: two MACs) log in to one target and keep reading: each has its own
    initiator name and ISID, so neither login is taken as a reinstatement of the other's session (with one
    shared name and ISID each login reset the other's connection, every ~2 s, for ever)."""
    cons = []
    with open(tgt.image, "rb") as f:
        want = hashlib.sha256(f.read(1 << 20)).hexdigest()
    try:
        for i in (1, 2):
            cons.append(Shoal(kernel, "e1000", mac="52:54:00:5a:00:%02x" % i))
        for con in cons:
            con.wait_dhcp()
        idx = [login(con, tgt) for con in cons]
        end, reads = time.time() + 25, 0
        while time.time() < end:
            for con, i in zip(cons, idx):
                out = con.run("iscsi sha256 %d 1M" % i, timeout=TIMEOUT)
                if "sha256 %s bytes %d " % (want, 1 << 20) not in out:
                    raise AssertionError("sha256 of 1 MiB:\n" + out)
                reads += 1
        names = []
        for con, i in zip(cons, idx):
            out = con.run("iscsi list")
            m = re.search(r"^\s+%d\s.*ready\s+ffp\s+\d+\s+(\d+)\s" % i, out, re.M)
            n = re.search(r"^initiator (\S+)", out, re.M)
            if not m or not n or int(m.group(1)) != 0:
                raise AssertionError("a host reconnected while the other read:\n" + out)
            names.append(n.group(1))
        if names[0] == names[1]:
            raise AssertionError("both hosts call themselves %s" % names[0])
        return "%d reads of 1 MiB over 25 s, no reconnects; initiators %s, %s" % (reads, names[0], names[1])
    finally:
        for con in cons:
            con.close()


def test_discovery_chap(kernel, tgt, results):
    """One boot: discovery, a wrong CHAP secret (clear error, shell still works), the right one."""
    con = Shoal(kernel, "e1000")
    try:
        con.wait_dhcp()
        t0 = time.time()
        out = con.run("iscsi discover 10.0.2.2:%d" % tgt.port)
        if not (re.search(r"%s:golden\s+127\.0\.0\.1:%d" % (re.escape(IQN), tgt.port), out) and
                re.search(r"%s:chap\s+127\.0\.0\.1:%d" % (re.escape(IQN), tgt.port), out)):
            raise AssertionError("discovery:\n" + out)
        results.append(("discovery", True, "%.1f s; both targets listed" % (time.time() - t0)))
        t0 = time.time()
        try:
            out = con.run("iscsi login 10.0.2.2:%d %s:chap chap=%s:wrongsecret999" % (tgt.port, IQN, CHAP_USER),
                          timeout=TIMEOUT * 2)
            if "authentication failed" not in out or re.search(r"session \d+:", out):
                raise AssertionError("wrong secret:\n" + out)
            if "no iSCSI sessions" not in con.run("iscsi list") or "iscsi" not in con.run("help"):
                raise AssertionError("shell after a failed login:\n" + con.tail())
            results.append(("chap_wrong_secret", True, "%.1f s; clear error, shell works" % (time.time() - t0)))
        except AssertionError as e:
            results.append(("chap_wrong_secret", False, str(e)))
        t0 = time.time()
        idx = login(con, tgt, "chap", " chap=%s:%s digest=crc32c" % (CHAP_USER, CHAP_SECRET),
                    r"digests crc32c/crc32c")
        out = con.run("iscsi sha256 %d 4M" % idx, timeout=TIMEOUT * 2)
        with open(tgt.image, "rb") as f:
            want = hashlib.sha256(f.read(4 << 20)).hexdigest()
        if "sha256 %s bytes %d " % (want, 4 << 20) not in out:
            raise AssertionError("CHAP session sha256 of 4 MiB:\n" + out)
        results.append(("chap_right_secret_crc32c", True, "%.1f s; first 4 MiB match" % (time.time() - t0)))
    finally:
        con.close()


def run_tests(kernel, tgt, only):
    failed = 0

    def report(name, ok, detail, t0=None):
        nonlocal failed
        took = " (%.1f s)" % (time.time() - t0) if t0 else ""
        if ok:
            print("PASS iscsi_shoal.%s%s; %s" % (name, took, detail), flush=True)
            return
        failed += 1
        print("FAIL iscsi_shoal.%s%s" % (name, took), flush=True)
        for line in str(detail).splitlines()[-30:]:
            print("    " + line)
        if Shoal.last:
            print("    console tail:")
            for line in Shoal.last.tail().splitlines():
                print("    | " + line)

    for name, fn in (("read_sha256_e1000", lambda: test_read(kernel, tgt, "e1000")),
                     ("read_sha256_virtio", lambda: test_read(kernel, tgt, "virtio")),
                     ("boot_param_login", lambda: test_boot_param(kernel, tgt)),
                     ("boot_before_target", lambda: test_boot_before_target(kernel, tgt)),
                     ("two_hosts_one_target", lambda: test_two_hosts(kernel, tgt)),
                     ("reconnect_after_target_restart", lambda: test_reconnect(kernel, tgt))):
        if only and name not in only:
            continue
        t0 = time.time()
        Shoal.last = None
        try:
            report(name, True, fn(), t0)
        except (AssertionError, OSError) as e:
            report(name, False, e, t0)
    results = []
    Shoal.last = None
    if only and "discovery_chap" not in only:
        return failed
    try:
        test_discovery_chap(kernel, tgt, results)
    except (AssertionError, OSError) as e:
        results.append(("discovery_chap", False, e))
    for name, ok, detail in results:
        report(name, ok, detail)
    return failed


def host_rate(cmd, regex):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    text = r.stdout.decode(errors="replace")
    m = re.search(regex, text)
    return m.group(1) if m else "? (%s)" % text.strip().splitlines()[-1:]


def run_bench(kernel, tgt, build):
    """shoal's read rate over e1000 and virtio-net, beside host initiators against the same tgtd."""
    print("iSCSI read of a %d MiB LUN from tgtd on loopback (32 x 64 KiB in flight)" % tgt.size_mb)
    for nic in ("e1000", "virtio"):
        con = Shoal(kernel, nic)
        try:
            con.wait_dhcp()
            idx = login(con, tgt)
            rate, ms = sha_check(con, tgt, idx)
            print("  shoal in QEMU TCG, %-10s %8.2f MB/s  (%s; bounded by the emulated CPU)" % (nic + ":", rate, ms))
        except AssertionError as e:
            print("  shoal in QEMU TCG, %-10s failed: %s" % (nic + ":", e))
        finally:
            con.close()
    url = "iscsi://127.0.0.1:%d/%s:golden/1" % (tgt.port, IQN)
    tool = os.path.join(build, "iscsi-read")
    if os.path.exists(tool):
        rate = host_rate([tool, "--quiet", "--no-sha", "--qd", "32", "--bs", "65536", url], r"\(([\d.]+) MB/s\)")
        print("  host build/iscsi-read --no-sha (same engine, POSIX):   %s MB/s" % rate)
    if shutil.which("iscsi-perf"):
        r = subprocess.Popen(["iscsi-perf", "-m", "32", "-b", "128", url], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
        time.sleep(10)
        os.killpg(r.pid, signal.SIGINT)
        try:
            text = r.communicate(timeout=10)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(r.pid, signal.SIGKILL)
            text = r.communicate()[0].decode(errors="replace")
        rates = re.findall(r"([\d.]+) MB/s", text)
        print("  host libiscsi iscsi-perf -m 32 -b 128 (64 KiB reads):   %s MB/s" % (rates[-1] if rates else "? " + text[-200:]))


def on_signal(signum, frame):
    raise SystemExit(128 + signum)      # runs the finally blocks: QEMU killed, tgtd stopped


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    bench = "--bench" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--bench"]
    kernel = args[0] if args else "build/shoal.elf"
    build = os.path.dirname(kernel) or "."
    for b in ("tgtd", "tgtadm", "qemu-system-x86_64"):
        if not shutil.which(b):
            print("FAIL iscsi_shoal.setup: %s missing (make deps)" % b)
            return 1
    work = tempfile.mkdtemp(prefix="shoal-iscsi-shoal.")
    tgt = None
    try:
        tgt = Tgtd(work, BENCH_MB if bench else LUN_MB)
        try:
            tgt.start()
        except (AssertionError, OSError, subprocess.TimeoutExpired) as e:
            print("FAIL iscsi_shoal.setup: tgtd on 127.0.0.1:%d: %s" % (tgt.port, e))
            return 1
        if bench:
            run_bench(kernel, tgt, build)
            return 0
        return 1 if run_tests(kernel, tgt, args[1:]) else 0
    finally:
        if tgt:
            tgt.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
