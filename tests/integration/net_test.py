#!/usr/bin/env python3
# Network tests of shoal under QEMU user networking: DHCP, static address, ping and a TCP read on e1000, e1000e, virtio-net.
"""Usage: net_test.py --build DIR [--jobs N] [--only REGEX]. One `PASS name` / `FAIL name` line per check."""
import os
import re
import socket
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Console, TestFailure, qemu_argv, main  # noqa: E402

TIMEOUT = 60  # generous: a shared, noisy machine


NICS = {
    "e1000": ["-nic", "user,model=e1000"],
    "e1000e": ["-device", "e1000e,netdev=n0", "-netdev", "user,id=n0"],
    "virtio": ["-device", "virtio-net-pci,disable-legacy=on,netdev=n0", "-netdev", "user,id=n0"],
}
MODEL = {"e1000": "e1000", "e1000e": "e1000e", "virtio": "virtio-net"}


def address(con, regex):
    """Wait for the address line regex, which may have come before the shell was ready."""
    if not re.search(regex, con.output()):
        con.expect(regex, TIMEOUT)


def boot(r, nic, append=""):
    """Boot shoal under QEMU with nic on user networking; the console is r's."""
    c = Console(r.name, r.logdir)
    r.console = c
    c.start(qemu_argv("256M", ["-kernel", r.build + "/shoal.elf", "-append", append] + NICS[nic]))
    c.boot(TIMEOUT)
    return c


def check_ping(con, host, count):
    out = con.command("ping %s %d" % (host, count), TIMEOUT)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    if not m:
        raise TestFailure("no ping summary:\n" + out)
    sent, got = int(m.group(1)), int(m.group(2))
    if sent != count or got != count:
        raise TestFailure("ping: %d sent, %d received of %d:\n%s" % (sent, got, count, out))
    rtt = re.search(r"rtt min/avg/max (\S+) us", out)
    return "%d/%d replies, rtt min/avg/max %s us" % (got, sent, rtt.group(1) if rtt else "?")


def test_dhcp(r, nic):
    with boot(r, nic) as con:
        address(con, r"net: address 10\.0\.2\.15 mask 255\.255\.255\.0 gw 10\.0\.2\.2 \(dhcp\)")
        out = con.command("net", TIMEOUT)
        if not re.search(r"nic\s+%s .*link up" % re.escape(MODEL[nic]), out) or \
                not re.search(r"ipv4\s+10\.0\.2\.15/24\s+gw 10\.0\.2\.2\s+dhcp bound", out):
            raise TestFailure("net output:\n" + out)
        detail = check_ping(con, "10.0.2.2", 3)
        out = con.command("net", TIMEOUT)
        rx = re.search(r"rx\s+packets (\d+)", out)
        if not rx or int(rx.group(1)) < 5:
            raise TestFailure("rx counters:\n" + out)
        print("    %s: %s" % (r.name, detail), flush=True)


def test_static(r):
    with boot(r, "e1000", "ip=10.0.2.15/24 gw=10.0.2.2") as con:
        address(con, r"net: address 10\.0\.2\.15 mask 255\.255\.255\.0 gw 10\.0\.2\.2\n")
        out = con.command("net", TIMEOUT)
        if not re.search(r"ipv4\s+10\.0\.2\.15/24\s+gw 10\.0\.2\.2\s+static", out):
            raise TestFailure("net output:\n" + out)
        print("    %s: %s" % (r.name, check_ping(con, "10.0.2.2", 2)), flush=True)


def test_runtime_config(r):
    """`net set` moves to a static address and `net dhcp` gets the lease back (virtio-net)."""
    with boot(r, "virtio") as con:
        address(con, r"net: address 10\.0\.2\.15 .*\(dhcp\)")
        con.command("net set ip=10.0.2.20/24 gw=10.0.2.2", TIMEOUT)
        out = con.command("net", TIMEOUT)
        if not re.search(r"ipv4\s+10\.0\.2\.20/24\s+gw 10\.0\.2\.2\s+static", out):
            raise TestFailure("after net set:\n" + out)
        check_ping(con, "10.0.2.2", 1)
        if not re.search(r"net: address 10\.0\.2\.15 .*\(dhcp\)", con.command("net dhcp", TIMEOUT)):
            con.expect(r"net: address 10\.0\.2\.15 .*\(dhcp\)", TIMEOUT)
        print("    %s: %s" % (r.name, check_ping(con, "10.0.2.2", 1)), flush=True)


def test_tcp(r, nic, nbytes=32 << 20):
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
    try:
        con = boot(r, nic)
        address(con, r"net: address 10\.0\.2\.15 ")
        out = con.command("net tcptest 10.0.2.2 %d %d" % (port, nbytes), TIMEOUT * 2)
        m = re.search(r"received (\d+) bytes in (\d+) ms: (\S+) MB/s", out)
        if not m or int(m.group(1)) != nbytes:
            raise TestFailure("tcptest output:\n" + out)
        print("    %s: %s bytes in %s ms: %s MB/s" % ((r.name,) + m.groups()), flush=True)
    finally:
        if r.console:
            r.console.close()
        srv.close()


def one(fn, *args):
    """A test function of the harness: one check named after the run."""
    return lambda r: r.check(r.name, lambda: fn(r, *args))


TESTS = [("net_dhcp_ping_%s" % n, one(test_dhcp, n)) for n in NICS]
TESTS += [("net_static_e1000", one(test_static)),
          ("net_runtime_config_virtio", one(test_runtime_config)),
          ("net_tcp_read_e1000", one(test_tcp, "e1000")),
          ("net_tcp_read_virtio", one(test_tcp, "virtio"))]

if __name__ == "__main__":
    sys.exit(main(TESTS, "net"))
