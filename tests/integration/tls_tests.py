#!/usr/bin/env python3
# The TLS-PSK migration channel under QEMU (user networking, the host is 10.0.2.2) against OpenSSL on the host.
"""Usage: tls_tests.py --build DIR [--jobs N] [--only REGEX]. One `PASS name` / `FAIL name` line per check.
shoal's `tls test` against `openssl s_server -psk ... -rev` (right key, passphrase key, wrong key, wrong
identity), against hostile peers (garbage, a close mid-handshake, silence, a byte flipped in transit),
and shoal's `tls listen` against `openssl s_client -psk`. Every host process is stopped by its PID."""
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BOCHS_BOOT_S, BOCHS_CMD_S, Console, TestFailure, free_port, main, qemu_argv, require  # noqa: E402

TIMEOUT = 90             # generous: a shared, noisy machine; TLS handshakes run in emulated code
BULK_TIMEOUT = 400
KEY = "6a1f0c9e5b7d2a4483e1f5c7b9d0a2e4f6081a3c5e7f90b2d4f6a8c0e1f3a5b7"
OTHER = "0" * 63 + "1"
IDENTITY = "shoal-migrate"
CIPHER = "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256"
NIC = ["-nic", "user,model=e1000"]


def boot(r, extra_nic=""):
    """Boot shoal under QEMU on user networking and wait for its DHCP address."""
    c = Console(r.name, r.logdir)
    r.console = c
    c.start(qemu_argv("256M", ["-kernel", r.build + "/shoal.elf", "-append", "",
                               "-nic", "user,model=e1000" + extra_nic]))
    c.boot(TIMEOUT)
    if not re.search(r"net: address 10\.0\.2\.15 ", c.output()):
        c.expect(r"net: address 10\.0\.2\.15 ", TIMEOUT, "the DHCP address")
    return c


class Proc:
    """A host process in its own session, output collected; stop() ends it by PID."""

    def __init__(self, argv, stdin=subprocess.DEVNULL):
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.out = b""
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for chunk in iter(lambda: self.p.stdout.read1(4096), b""):
            self.out += chunk

    def wait_for(self, pattern, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.out):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        raise TestFailure("no %r from %s; it said:\n%s" % (pattern, self.p.args[:2], self.out.decode(errors="replace")))

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def s_server(port, key, identity=IDENTITY):
    """openssl s_server with a PSK and no certificate, reversing each line (-rev)."""
    p = Proc(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-psk", key, "-psk_identity", identity,
              "-nocert", "-rev", "-tls1_2", "-cipher", "ECDHE-PSK-CHACHA20-POLY1305"])
    p.wait_for(rb"ACCEPT", 20)
    return p


def tls_test(c, port, key, extra=""):
    return c.command("tls test 10.0.2.2:%d key=%s %s" % (port, key, extra), BULK_TIMEOUT)


def no_leak(c):
    """After every failure or close: no channel left, no mbedTLS memory held, and the shell answers."""
    out = c.command("tls", TIMEOUT)
    require(re.search(r"tls: 0 channels, \d+ listeners; mbedTLS heap 0 bytes in use", out), "leak:\n" + out)


class HostPeer:
    """A hostile TCP peer on 127.0.0.1 (10.0.2.2 inside): behave(conn) runs for each connection."""

    def __init__(self, behave):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.behave = behave
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.behave(conn)
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def garbage(conn):
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + bytes(range(256)) * 4)
    time.sleep(60)


def close_after_hello(conn):
    conn.recv(4096)
    conn.close()


def silent(conn):
    time.sleep(60)


class Tamper:
    """A TCP relay to 127.0.0.1:dst that flips one bit of the byte at offset `at` of the server's stream
    (of shoal's stream with upstream), or with stall stops forwarding the server's stream there."""

    def __init__(self, dst, at, upstream=False, stall=False):
        self.dst, self.at, self.upstream, self.stall = dst, at, upstream, stall
        self.flipped = False
        self.peer = HostPeer(self._relay)
        self.port = self.peer.port

    def _relay(self, conn):
        up = socket.create_connection(("127.0.0.1", self.dst))
        at_up, at_down = (self.at, None) if self.upstream else (None, self.at)
        threading.Thread(target=self._pipe, args=(conn, up, at_up), daemon=True).start()
        self._pipe(up, conn, at_down)

    def _pipe(self, src, dst, at):
        try:
            self._copy(src, dst, at)
        except OSError:             # the test closed the relay
            pass

    def _copy(self, src, dst, at):
        seen = 0
        while True:
            data = src.recv(65536)
            if not data:
                dst.shutdown(socket.SHUT_WR)
                return
            if at is not None and self.stall and seen + len(data) > at:
                self.flipped = True     # a cut link: nothing more either way, and no FIN
                time.sleep(120)
                return
            if at is not None and seen <= at < seen + len(data):
                b = bytearray(data)
                b[at - seen] ^= 0x01
                data = bytes(b)
                self.flipped = True
            seen += len(data)
            dst.sendall(data)


def expect_refusal(c, port, key, reason, extra="", seconds=30):
    """`tls test` fails within seconds, naming reason; nothing leaks and the shell still answers."""
    t0 = time.monotonic()
    out = tls_test(c, port, key, extra)
    took = time.monotonic() - t0
    require(re.search(r"tls: 10\.0\.2\.2:%d: .*%s" % (port, reason), out), "no %r:\n%s" % (reason, out))
    require("error: tls" in out, "the command did not fail:\n" + out)
    require(took < seconds, "took %.0f s" % took)
    no_leak(c)


def client_ok(r, c):
    """(a) Right key: the line comes back reversed, the suite is ECDHE-PSK, 4 MiB streams through."""
    port = free_port()
    srv = s_server(port, KEY)
    try:
        out = tls_test(c, port, KEY)
    finally:
        srv.stop()
    require("tls: connected to 10.0.2.2:%d, cipher %s" % (port, CIPHER) in out, out)
    require(b"Ciphersuite: ECDHE-PSK-CHACHA20-POLY1305" in srv.out, srv.out.decode(errors="replace"))
    require("tls: line reversed" in out, out)
    m = re.search(r"tls: bulk 4194304 bytes each way in (\d+) ms: (\S+) MB/s", out)
    require(m, out)
    heap = re.search(r"peak (\d+)", out)
    print("    %s: 4 MiB each way at %s MB/s; mbedTLS heap peak %s bytes per connection" %
          (r.name, m.group(2), heap.group(1) if heap else "?"), flush=True)
    no_leak(c)


def client_sink(r, c):
    """Sending only (the migration direction): 4 MiB to s_server, all of it acknowledged; the rate."""
    port = free_port()
    srv = Proc(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-psk", KEY, "-psk_identity", IDENTITY,
                "-nocert", "-tls1_2", "-quiet"], stdin=subprocess.PIPE)     # stdin at EOF would end it
    try:
        time.sleep(1)
        out = tls_test(c, port, KEY, "sink")
        m = re.search(r"tls: sent 4194304 bytes, all acknowledged, in (\d+) ms: (\S+) MB/s", out)
        require(m, out)
        end = time.monotonic() + TIMEOUT
        while srv.out.count(b"\n") < 1024 and time.monotonic() < end:   # 1024 lines of 4 KiB arrived
            time.sleep(0.2)
        require(srv.out.count(b"\n") >= 1024, "s_server got %d lines" % srv.out.count(b"\n"))
    finally:
        srv.stop()
    print("    %s: 4 MiB one way at %s MB/s" % (r.name, m.group(2)), flush=True)
    no_leak(c)


def client_passphrase(r, c):
    """A passphrase key is SHA-256 of the passphrase (OpenSSL is given that hex)."""
    port = free_port()
    srv = s_server(port, hashlib.sha256(b"correct-horse-battery-staple").hexdigest())
    try:
        out = tls_test(c, port, "correct-horse-battery-staple", "bytes=64K")
        require("tls: line reversed" in out and "tls: bulk 65536 bytes" in out, out)
        expect_refusal(c, port, "correct-horse-battery", "key mismatch or not a shoal peer", "bytes=64K")
    finally:
        srv.stop()


def client_wrong_key(r, c):
    """(b) Wrong key: refused with the clear message (s_server only warns about a wrong identity:
    shoal's own check of it is in the server test)."""
    port = free_port()
    srv = s_server(port, KEY)
    try:
        expect_refusal(c, port, OTHER, r"key mismatch or not a shoal peer \(peer sent alert")
    finally:
        srv.stop()


def client_hostile(r, c):
    """(c) Garbage, a close mid-handshake, silence, a refused port: clear errors, no hang."""
    for behave, reason, extra in ((garbage, "(does not speak TLS|handshake failed)", ""),
                                  (close_after_hello, "peer closed the connection during the TLS handshake", ""),
                                  (silent, "timeout: the TLS handshake did not finish", "timeout=5")):
        peer = HostPeer(behave)
        try:
            expect_refusal(c, peer.port, KEY, reason, extra)
        finally:
            peer.close()
    expect_refusal(c, free_port(), KEY, "connection refused or reset")


def tampered(c, upstream, stall=False, extra=""):
    """tls test through a relay that flips a bit at byte 20000 of one direction (or stalls there);
    returns its output."""
    port = free_port()
    srv = s_server(port, KEY)
    relay = Tamper(port, 20000, upstream, stall)
    try:
        out = tls_test(c, relay.port, KEY, "bytes=1M " + extra)
    finally:
        relay.peer.close()
        srv.stop()
    require(relay.flipped, "the relay never reached byte 20000:\n" + out)
    no_leak(c)
    return out


def client_tamper(r, c):
    """One bit flipped after the handshake: shoal refuses the record, or OpenSSL does and says so."""
    out = tampered(c, False)
    require(re.search(r"tls: bulk stopped after \d+ of 1048576 bytes: a record from the peer failed "
                      r"authentication", out), out)
    out = tampered(c, True)
    require(re.search(r"tls: bulk stopped after \d+ of 1048576 bytes: the peer ended the channel with "
                      r"alert bad_record_mac", out), out)


def client_cut(r, c):
    """The link goes silent mid-stream (no FIN, no RST): the idle timeout names it; nothing hangs."""
    t0 = time.monotonic()
    out = tampered(c, False, stall=True, extra="idle=5")
    require(re.search(r"tls: bulk stopped after \d+ of 1048576 bytes: timeout: nothing from the peer "
                      r"for 5000 ms", out), out)
    require(time.monotonic() - t0 < 60, "took %.0f s" % (time.monotonic() - t0))


def no_assert(c):
    """No lwIP assertion or error line in the whole run (shoal logs them and goes on)."""
    bad = [l for l in c.output().splitlines() if re.search(r"ERR |assertion", l)]
    require(not bad, "\n".join(bad))


def test_client(r):
    with boot(r) as c:
        for name, fn in (("ok", client_ok), ("sink", client_sink), ("passphrase", client_passphrase), ("wrong-key", client_wrong_key),
                         ("hostile", client_hostile), ("tamper", client_tamper), ("cut", client_cut)):
            r.check("%s-%s" % (r.name, name), lambda fn=fn: fn(r, c))
        r.check(r.name + "-no-assert", lambda: no_assert(c))


def s_client(port, key, identity=IDENTITY):
    p = Proc(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-psk", key, "-psk_identity", identity,
              "-tls1_2", "-brief"], stdin=subprocess.PIPE)
    return p


def server_ok(r, c, hp):
    """(d) shoal serves: openssl s_client's line is echoed; shoal reports the peer and the suite."""
    cl = s_client(hp, KEY)
    try:
        cl.wait_for(rb"Ciphersuite: ECDHE-PSK-CHACHA20-POLY1305", TIMEOUT)
        cl.p.stdin.write(b"hello-from-openssl\n")
        cl.p.stdin.flush()
        cl.wait_for(rb"\nhello-from-openssl\n", TIMEOUT)
        c.expect(r"tls: accepted 10\.0\.2\.2:\d+, cipher %s" % CIPHER, TIMEOUT)
    finally:
        cl.stop()
    c.expect(r"tls: 10\.0\.2\.2:\d+: .* after 19 bytes echoed", TIMEOUT, "the echo channel's end")


def server_refusals(r, c, hp):
    """Wrong key, garbage and a client that leaves mid-handshake: each refused with its reason."""
    cl = s_client(hp, OTHER)
    try:
        c.expect(r"tls: refused 10\.0\.2\.2:\d+ on port 7000: key mismatch or not a shoal peer "
                 r"\(we sent alert bad_record_mac\)", TIMEOUT)
    finally:
        cl.stop()
    cl = s_client(hp, KEY, identity="someone-else")
    try:
        c.expect(r"tls: refused 10\.0\.2\.2:\d+ on port 7000: key mismatch or not a shoal peer "
                 r"\(we sent alert unknown_psk_identity\)", TIMEOUT)
    finally:
        cl.stop()
    s = socket.create_connection(("127.0.0.1", hp))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    c.expect(r"tls: refused 10\.0\.2\.2:\d+ on port 7000: .*(does not speak TLS|handshake failed)", TIMEOUT)
    s.close()
    s = socket.create_connection(("127.0.0.1", hp))
    time.sleep(1)
    s.close()
    c.expect(r"tls: refused 10\.0\.2\.2:\d+ on port 7000: peer closed the connection during the TLS handshake",
             TIMEOUT)
    out = c.command("tls", TIMEOUT)
    require(re.search(r"tls: 0 channels, 1 listeners", out), out)
    c.command("tls stop 7000", TIMEOUT)
    no_leak(c)
    require(re.search(r"tls: 0 channels, 0 listeners", c.command("tls", TIMEOUT)), "listener left")


def server_self(r, c):
    """shoal to shoal on one host (its own address loops back): mbedTLS at both ends."""
    out = c.command("tls listen 7001 key=%s" % KEY, TIMEOUT)
    require("listening on port 7001" in out, out)
    out = c.command("tls test 10.0.2.15:7001 key=%s bytes=1M" % KEY, BULK_TIMEOUT)
    require("tls: connected to 10.0.2.15:7001, cipher %s" % CIPHER in out, out)
    require("tls: line echoed" in out and "tls: bulk 1048576 bytes each way" in out, out)
    m = re.search(r"in (\d+) ms: (\S+) MB/s", out)
    print("    %s: shoal to shoal on one host, 1 MiB each way at %s MB/s" % (r.name, m.group(2)), flush=True)
    ended = r"tls: 10\.0\.2\.15:\d+: peer closed after 1048603 bytes echoed"   # the line and 1 MiB
    if not re.search(ended, out):
        c.expect(ended, TIMEOUT, "the echo channel's end")
    for arg, alert in (("key=" + OTHER, "bad_record_mac"), ("key=%s id=someone-else" % KEY, "unknown_psk_identity")):
        out = c.command("tls test 10.0.2.15:7001 %s" % arg, TIMEOUT)
        require("key mismatch or not a shoal peer (peer sent alert %s)" % alert in out, out)
        refused = (r"tls: refused 10\.0\.2\.15:\d+ on port 7001: key mismatch or not a shoal peer "
                   r"\(we sent alert %s\)" % alert)
        if not re.search(refused, out):    # the server's line may come before the prompt or after it
            c.expect(refused, TIMEOUT)
    c.command("tls stop 7001", TIMEOUT)
    no_leak(c)


def test_server(r):
    hp = free_port()
    with boot(r, ",hostfwd=tcp:127.0.0.1:%d-:7000" % hp) as c:
        out = c.command("tls listen 7000 key=%s" % KEY, TIMEOUT)
        require("tls: echo server listening on port 7000" in out, out)
        r.check(r.name + "-ok", lambda: server_ok(r, c, hp))
        r.check(r.name + "-refusals", lambda: server_refusals(r, c, hp))
        r.check(r.name + "-self", lambda: server_self(r, c))
        r.check(r.name + "-no-assert", lambda: no_assert(c))


def bochs_boot(r):
    """shoal from the GRUB ISO under Bochs (Intel VMX) with an e1000 on Bochs's slirp network, its
    address from slirp's DHCP (the VMX Linux tier's helpers)."""
    import linux_vmx_tests
    c = Console(r.name, r.logdir)
    r.console = c
    linux_vmx_tests.bochs_start_iso(r, c, r.build + "/shoal.iso", 256)
    c.boot(BOCHS_BOOT_S)
    linux_vmx_tests.net_up(c)
    return c


def vmx_self(r, c):
    """The channel to the host's own address under the VMX build: right key, then a wrong one."""
    ip = re.search(r"ipv4\s+(\d+\.\d+\.\d+\.\d+)/", c.command("net", BOCHS_CMD_S)).group(1)
    require("listening on port 7002" in c.command("tls listen 7002 key=%s" % KEY, BOCHS_CMD_S), "no listener")
    out = c.command("tls test %s:7002 key=%s bytes=256K" % (ip, KEY), BULK_TIMEOUT)
    require("tls: line echoed" in out and "tls: bulk 262144 bytes each way" in out, out)
    require("cipher %s" % CIPHER in out, out)
    print("    %s: under VMX (Bochs), to its own address: %s" % (
        r.name, re.search(r"bulk .*", out).group(0)), flush=True)
    out = c.command("tls test %s:7002 key=%s" % (ip, OTHER), BULK_TIMEOUT)
    require("key mismatch or not a shoal peer (peer sent alert bad_record_mac)" in out, out)
    c.command("tls stop 7002", BOCHS_CMD_S)
    out = c.command("tls", BOCHS_CMD_S)
    require(re.search(r"tls: 0 channels, 0 listeners; mbedTLS heap 0 bytes in use", out), out)


def test_vmx(r):
    with bochs_boot(r) as c:
        require("virtualization: VMX+EPT" in c.command("info", BOCHS_CMD_S), "shoal did not bind VMX+EPT")
        r.check(r.name + "-self", lambda: vmx_self(r, c))
        r.check(r.name + "-no-assert", lambda: no_assert(c))


TESTS = [("tls-client", test_client), ("tls-server", test_server), ("tls-vmx", test_vmx)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "tls"))
