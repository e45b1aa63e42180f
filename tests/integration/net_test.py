#!/usr/bin/env python3
"""Network tests of shoal under QEMU user networking: DHCP, static address, ping and a TCP read on
e1000, e1000e and virtio-net. Prints one `PASS name` / `FAIL name` line per test."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

TIMEOUT = 60  # generous: a shared, noisy machine


class Console:
    """A QEMU process whose serial console is stdio; output gathered by a reader thread."""
    last = None

    def __init__(self, kernel, net_args, append=""):
        args = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "qemu64,+svm,+npt", "-m", "256",
                "-kernel", kernel, "-append", append, "-serial", "stdio", "-display", "none",
                "-no-reboot", "-monitor", "none"] + net_args
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        Console.last = self
        self.buf = ""
        self.pos = 0          # expect() searches from here
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
        """Wait for regex after the last match; return the match or raise TimeoutError."""
        end = time.time() + timeout
        pat = re.compile(regex)
        while time.time() < end:
            with self.lock:
                m = pat.search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise TimeoutError("no /%s/ within %d s" % (regex, timeout))

    def run(self, line, timeout=TIMEOUT):
        """Send a command line and return its output up to the next prompt."""
        start = self.pos
        self.proc.stdin.write((line + "\r").encode())
        self.proc.stdin.flush()
        self.expect(re.escape(line) + r"\n", timeout)   # the shell's echo: later prompts are this command's
        self.expect(r"shoal> ", timeout)
        with self.lock:
            return self.buf[start:self.pos]

    def tail(self, n=25):
        with self.lock:
            return "\n".join(self.buf.splitlines()[-n:])

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


NICS = {
    "e1000": ["-nic", "user,model=e1000"],
    "e1000e": ["-device", "e1000e,netdev=n0", "-netdev", "user,id=n0"],
    "virtio": ["-device", "virtio-net-pci,disable-legacy=on,netdev=n0", "-netdev", "user,id=n0"],
}
MODEL = {"e1000": "e1000", "e1000e": "e1000e", "virtio": "virtio-net"}


def check_ping(con, host, count):
    out = con.run("ping %s %d" % (host, count), timeout=TIMEOUT)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    if not m:
        raise AssertionError("no ping summary:\n" + out)
    sent, got = int(m.group(1)), int(m.group(2))
    if sent != count or got != count:
        raise AssertionError("ping: %d sent, %d received of %d:\n%s" % (sent, got, count, out))
    rtt = re.search(r"rtt min/avg/max (\S+) us", out)
    return "%d/%d replies, rtt min/avg/max %s us" % (got, sent, rtt.group(1) if rtt else "?")


def test_dhcp(kernel, nic):
    con = Console(kernel, NICS[nic])
    try:
        con.expect(r"net: address 10\.0\.2\.15 mask 255\.255\.255\.0 gw 10\.0\.2\.2 \(dhcp\)")
        out = con.run("net")
        if not re.search(r"nic\s+%s .*link up" % re.escape(MODEL[nic]), out) or \
                not re.search(r"ipv4\s+10\.0\.2\.15/24\s+gw 10\.0\.2\.2\s+dhcp bound", out):
            raise AssertionError("net output:\n" + out)
        detail = check_ping(con, "10.0.2.2", 3)
        out = con.run("net")
        rx = re.search(r"rx\s+packets (\d+)", out)
        if not rx or int(rx.group(1)) < 5:
            raise AssertionError("rx counters:\n" + out)
        return detail
    finally:
        con.close()


def test_static(kernel):
    con = Console(kernel, NICS["e1000"], "ip=10.0.2.15/24 gw=10.0.2.2")
    try:
        con.expect(r"net: address 10\.0\.2\.15 mask 255\.255\.255\.0 gw 10\.0\.2\.2\n")
        out = con.run("net")
        if not re.search(r"ipv4\s+10\.0\.2\.15/24\s+gw 10\.0\.2\.2\s+static", out):
            raise AssertionError("net output:\n" + out)
        return check_ping(con, "10.0.2.2", 2)
    finally:
        con.close()


def test_runtime_config(kernel):
    """`net set` moves to a static address and `net dhcp` gets the lease back (virtio-net)."""
    con = Console(kernel, NICS["virtio"])
    try:
        con.expect(r"net: address 10\.0\.2\.15 .*\(dhcp\)")
        con.run("net set ip=10.0.2.20/24 gw=10.0.2.2")
        out = con.run("net")
        if not re.search(r"ipv4\s+10\.0\.2\.20/24\s+gw 10\.0\.2\.2\s+static", out):
            raise AssertionError("after net set:\n" + out)
        check_ping(con, "10.0.2.2", 1)
        if not re.search(r"net: address 10\.0\.2\.15 .*\(dhcp\)", con.run("net dhcp")):
            con.expect(r"net: address 10\.0\.2\.15 .*\(dhcp\)")
        return check_ping(con, "10.0.2.2", 1)
    finally:
        con.close()


def test_tcp(kernel, nic, nbytes=32 << 20):
    """Read nbytes from a listener on the host's loopback (10.0.2.2 inside) and report the rate."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(TIMEOUT * 2)
    port = srv.getsockname()[1]
    sent = [0]

    def serve():
        try:
            c, _ = srv.accept()
            chunk = bytes(range(256)) * 256
            while sent[0] < nbytes:
                n = c.send(chunk[:min(len(chunk), nbytes - sent[0])])
                sent[0] += n
            c.shutdown(socket.SHUT_WR)
            c.settimeout(TIMEOUT)
            try:
                while c.recv(4096):
                    pass
            except OSError:
                pass
            c.close()
        except OSError:
            pass

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    con = Console(kernel, NICS[nic])
    try:
        con.expect(r"net: address 10\.0\.2\.15 ")
        out = con.run("net tcptest 10.0.2.2 %d %d" % (port, nbytes), timeout=TIMEOUT * 2)
        m = re.search(r"received (\d+) bytes in (\d+) ms: (\S+) MB/s", out)
        if not m or int(m.group(1)) != nbytes:
            raise AssertionError("tcptest output:\n" + out)
        return "%s bytes in %s ms: %s MB/s" % m.groups()
    finally:
        con.close()
        srv.close()


def main():
    kernel = sys.argv[1] if len(sys.argv) > 1 else "build/shoal.elf"
    only = sys.argv[2:]
    tests = [("net_dhcp_ping_%s" % n, (lambda n=n: test_dhcp(kernel, n))) for n in NICS]
    tests += [("net_static_e1000", lambda: test_static(kernel)),
              ("net_runtime_config_virtio", lambda: test_runtime_config(kernel)),
              ("net_tcp_read_e1000", lambda: test_tcp(kernel, "e1000")),
              ("net_tcp_read_virtio", lambda: test_tcp(kernel, "virtio"))]
    failed = 0
    for name, fn in tests:
        if only and name not in only:
            continue
        t0 = time.time()
        Console.last = None
        try:
            detail = fn()
            print("PASS %s (%.1f s; %s)" % (name, time.time() - t0, detail), flush=True)
        except (AssertionError, TimeoutError, OSError) as e:
            failed += 1
            print("FAIL %s (%.1f s)" % (name, time.time() - t0), flush=True)
            for line in str(e).splitlines()[-30:]:
                print("    " + line)
            if Console.last:
                print("    console tail:")
                for line in Console.last.tail().splitlines():
                    print("    | " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
