#!/usr/bin/env python3
"""A scripted hostile iSCSI target (Python standard library only) and the test that reads from it.

The target speaks enough of RFC 7143 for shoal's initiator: login (AuthMethod=None, operational keys),
NOP-Out/NOP-In, Logout, and SCSI TEST UNIT READY, INQUIRY (standard, VPD 0x80/0x83), REPORT LUNS,
READ CAPACITY(10) and READ(10)/(16) over a deterministic 16 MiB LUN. A test arms one malformed answer
at a time (residual overflow, Data-In overlap/gap/beyond the buffer, an oversize segment, an unknown task
tag, a bad sense length, login refusals after a reconnect, a residual overflow in the LUN probe); the
next READ (or login, or probe) gets it once, later
ones are answered correctly. shoal, under QEMU TCG, reads the LUN with `iscsi sha256`: the host must
never fault, each read must come back right (retried after the reconnect) or fail cleanly, and the
shell must keep answering. Prints one `PASS name` / `FAIL name` line per malformed answer."""
import hashlib
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from iscsi_shoal import Shoal, TIMEOUT  # noqa: E402

IQN = "iqn.2026-01.org.shoal:hostile"
BLOCK = 512
LUN_BYTES = 16 << 20
MAX_DSL = 262144          # the initiator's MaxRecvDataSegmentLength (its default)
SEG = 65536               # Data-In segment size the target uses when behaving
OPER_KEYS = ["HeaderDigest=None", "DataDigest=None", "MaxRecvDataSegmentLength=262144",
             "ErrorRecoveryLevel=0", "MaxConnections=1", "InitialR2T=Yes", "ImmediateData=No",
             "MaxBurstLength=262144", "FirstBurstLength=65536", "DefaultTime2Wait=0",
             "DefaultTime2Retain=0", "MaxOutstandingR2T=1", "DataPDUInOrder=Yes", "DataSequenceInOrder=Yes"]


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def bhs(op, flags, itt, dlen, b2=0, b3=0, lun=b"\0" * 8, w20=0xffffffff, sn=(0, 0, 0), w36=0, w40=0, w44=0):
    """A 48-byte target header (RFC 7143 11): opcode, flags, byte 2/3, DataSegmentLength, LUN, ITT,
    word 20 (TTT/SNACK), StatSN/ExpCmdSN/MaxCmdSN, and the words at 36/40/44."""
    return (struct.pack(">BBBBB", op, flags, b2, b3, 0) + struct.pack(">I", dlen)[1:] + lun +
            struct.pack(">IIIIIIII", itt, w20, sn[0], sn[1], sn[2], w36, w40, w44))


class Conn:
    """One initiator connection: reads PDUs, answers them, applies the armed fault once."""

    def __init__(self, target, sock):
        self.t, self.s = target, sock
        self.statsn, self.expcmdsn = 1, 1

    def sns(self, advance=True):
        sn = (self.statsn, self.expcmdsn, self.expcmdsn + 31)
        if advance:
            self.statsn += 1
        return sn

    def recv_exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b

    def read_pdu(self):
        h = self.recv_exact(48)
        dlen = int.from_bytes(h[5:8], "big")
        ahs = h[4] * 4
        if ahs:
            self.recv_exact(ahs)
        data = self.recv_exact(dlen + (-dlen % 4))[:dlen] if dlen else b""
        return h, data

    def send(self, *parts):
        self.s.sendall(b"".join(parts))

    def serve(self):
        try:
            while True:
                h, data = self.read_pdu()
                op, itt = h[0] & 0x3f, struct.unpack(">I", h[16:20])[0]
                if op == 0x01 and not (h[0] & 0x40):
                    self.expcmdsn = max(self.expcmdsn, struct.unpack(">I", h[24:28])[0] + 1)
                if op == 0x03:
                    if not self.login(h, data, itt):
                        return
                elif op == 0x01:
                    self.scsi(h, itt)
                elif op == 0x00 and itt != 0xffffffff:
                    self.send(bhs(0x20, 0x80, itt, 0, lun=h[8:16], sn=self.sns()))
                elif op == 0x06:
                    self.send(bhs(0x26, 0x80, itt, 0, w20=0, sn=self.sns()))
                    return
        except (EOFError, OSError):
            pass
        finally:
            self.s.close()

    def login(self, h, data, itt):
        csg, nsg, transit = (h[1] >> 2) & 3, h[1] & 3, h[1] & 0x80
        self.expcmdsn = struct.unpack(">I", h[24:28])[0]
        if self.t.take("login_refused"):
            self.send(bhs(0x23, 0, itt, 0, lun=h[8:16], w20=0, sn=self.sns(), w36=0x02030000))
            return False                     # "target not found": tgtd restarted without its target
        keys = b"AuthMethod=None\0" if csg == 0 else "\0".join(OPER_KEYS + [""]).encode()
        isid_tsih = h[8:14] + (struct.pack(">H", 0x1234) if nsg == 3 else b"\0\0")
        flags = (0x80 | csg << 2 | nsg) if transit else csg << 2
        self.send(bhs(0x23, flags, itt, len(keys), lun=isid_tsih, w20=0, sn=self.sns()), pad4(keys))
        return True

    def scsi(self, h, itt):
        cdb, edtl, lun = h[32:48], struct.unpack(">I", h[20:24])[0], h[8:16]
        op = cdb[0]
        if op in (0x28, 0x88):
            lba, n = ((struct.unpack(">I", cdb[2:6])[0], struct.unpack(">H", cdb[7:9])[0]) if op == 0x28 else
                      (struct.unpack(">Q", cdb[2:10])[0], struct.unpack(">I", cdb[10:14])[0]))
            fault = self.t.take_read_fault()
            payload = self.t.data[lba * BLOCK:(lba + n) * BLOCK]
            if fault:
                self.t.faults_sent.append(fault)
                return getattr(self, "read_" + fault)(itt, lun, edtl, payload)
            return self.data_in(itt, lun, payload, edtl)
        if op == 0xa0 and self.t.take("probe_resid"):   # a list length and a residual past everything
            seg = struct.pack(">II", 0xfffffff0, 0) + bytes([0, 1, 0, 0, 0, 0, 0, 0])
            return self.send(bhs(0x25, 0x83, itt, len(seg), lun=lun, sn=self.sns(), w44=0x7ffffff0), seg)
        answer = self.t.small_answer(op, cdb)
        if answer is None:                   # CHECK CONDITION, ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE
            sense = bytes([0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0])
            seg = struct.pack(">H", len(sense)) + sense
            return self.send(bhs(0x21, 0x80, itt, len(seg), b3=2, lun=lun, w20=0, sn=self.sns()), pad4(seg))
        return self.data_in(itt, lun, answer[:edtl], edtl)

    def data_in(self, itt, lun, payload, edtl, datasn=0, offset=0):
        """Good Data-In PDUs (SEG bytes each), status in the last; an empty transfer gets a SCSI Response."""
        if not payload:
            return self.send(bhs(0x21, 0x80 | (2 if edtl else 0), itt, 0, lun=lun, w20=0, sn=self.sns(), w44=edtl))
        resid = edtl - offset - len(payload)
        for at in range(0, len(payload), SEG):
            chunk = payload[at:at + SEG]
            last = at + SEG >= len(payload)
            flags = 0x80 | 0x01 | (0x02 if resid else 0) if last else 0
            self.send(bhs(0x25, flags, itt, len(chunk), lun=lun, sn=self.sns(last), w36=datasn,
                          w40=offset + at, w44=resid if last else 0), pad4(chunk))
            datasn += 1

    # ---- malformed READ answers, each once ----
    def read_resid_overflow(self, itt, lun, edtl, payload):
        self.send(bhs(0x25, 0x80 | 0x02 | 0x01, itt, 512, lun=lun, sn=self.sns(), w44=edtl + 4096), payload[:512])

    def read_overlap(self, itt, lun, edtl, payload):
        half = len(payload) // 2
        self.send(bhs(0x25, 0, itt, half, lun=lun, sn=self.sns(False)), payload[:half])
        self.send(bhs(0x25, 0x81, itt, half, lun=lun, sn=self.sns(), w36=1, w40=0), payload[:half])

    def read_gap(self, itt, lun, edtl, payload):
        q = len(payload) // 4
        self.send(bhs(0x25, 0, itt, q, lun=lun, sn=self.sns(False)), payload[:q])
        self.send(bhs(0x25, 0x81, itt, q * 2, lun=lun, sn=self.sns(), w36=1, w40=2 * q), payload[2 * q:])

    def read_beyond(self, itt, lun, edtl, payload):
        self.send(bhs(0x25, 0x81, itt, 1024, lun=lun, sn=self.sns(), w40=edtl - 512), b"\xa5" * 1024)

    def read_oversize(self, itt, lun, edtl, payload):
        n = MAX_DSL + 4096
        self.send(bhs(0x25, 0x81, itt, n, lun=lun, sn=self.sns()), b"\x5a" * n)

    def read_unknown_itt(self, itt, lun, edtl, payload):
        self.send(bhs(0x25, 0x81, itt ^ 0x00ff0000, len(payload), lun=lun, sn=self.sns()), payload)

    def read_bad_sense(self, itt, lun, edtl, payload):
        seg = struct.pack(">H", 200) + bytes([0x70, 0, 3]) + b"\0" * 15     # says 200 bytes, has 18
        self.send(bhs(0x21, 0x80, itt, len(seg), b3=2, lun=lun, w20=0, sn=self.sns()), pad4(seg))

    def read_resid_response(self, itt, lun, edtl, payload):
        self.send(bhs(0x21, 0x80 | 0x02, itt, 0, lun=lun, w20=0, sn=self.sns(), w44=0xfffff000))


READ_FAULTS = ["resid_overflow", "overlap", "gap", "beyond", "oversize", "unknown_itt", "bad_sense",
               "resid_response"]


class HostileTarget:
    """The listening target; arm(fault) makes the next READ (or login, for login_refused) malformed."""

    def __init__(self):
        rnd = random.Random(12)
        self.data = rnd.randbytes(LUN_BYTES)
        self.sha_1m = hashlib.sha256(self.data[:1 << 20]).hexdigest()
        self.lock = threading.Lock()
        self.armed = {}
        self.faults_sent = []
        self.conns = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
            threading.Thread(target=Conn(self, s).serve, daemon=True).start()

    def arm(self, fault, count=1):
        with self.lock:
            self.armed[fault] = count

    def take(self, fault):
        with self.lock:
            if self.armed.get(fault, 0) > 0:
                self.armed[fault] -= 1
                return True
            return False

    def take_read_fault(self):
        for f in READ_FAULTS:
            if self.take(f):
                return f
        return None

    def small_answer(self, op, cdb):
        """Answers of the probe's commands; None for a CHECK CONDITION."""
        if op == 0x00:
            return b""
        if op == 0x12 and cdb[1] & 1:
            if cdb[2] == 0x80:
                return b"\0\x80\0\x08HOSTILE1"
            return None
        if op == 0x12:
            return bytes([0, 0, 5, 2, 31, 0, 0, 0]) + b"SHOAL   HOSTILE TARGET  0001"
        if op == 0xa0:
            return struct.pack(">II", 8, 0) + bytes([0, 1, 0, 0, 0, 0, 0, 0])
        if op == 0x25:
            return struct.pack(">II", LUN_BYTES // BLOCK - 1, BLOCK)
        return None

    def close(self):
        self.sock.close()


def check_host(con, what):
    """The host still runs and its shell answers; no fault reached the console."""
    out = con.run("iscsi list")
    if "hostile" not in out:
        raise AssertionError("%s: shell:\n%s" % (what, out))
    with con.lock:
        text = con.buf
    for bad in ("*** PANIC", "*** EXCEPTION"):
        if bad in text:
            raise AssertionError("%s: '%s' on the console" % (what, bad))
    return out


def read_ok(con, tgt, what):
    out = con.run("iscsi sha256 0 1M", timeout=TIMEOUT * 2)
    if "sha256 %s bytes %d " % (tgt.sha_1m, 1 << 20) not in out:
        raise AssertionError("%s: read did not come back right:\n%s" % (what, out))


def proto_errors(con):
    with con.lock:
        return len(re.findall(r"iscsi: protocol error from", con.buf))


def run(kernel):
    tgt = HostileTarget()
    con = Shoal(kernel, "e1000", cpu="qemu64,+svm,+npt,+rdrand")   # TCG's RDRAND: kernel/random.c's path
    failed = 0

    def report(name, fn):
        nonlocal failed
        t0 = time.time()
        try:
            detail = fn()
            print("PASS iscsi_hostile.%s (%.1f s); %s" % (name, time.time() - t0, detail), flush=True)
        except (AssertionError, OSError) as e:
            failed += 1
            print("FAIL iscsi_hostile.%s (%.1f s)" % (name, time.time() - t0), flush=True)
            for line in (str(e).splitlines() + ["console tail:"] + con.tail(30).splitlines())[-60:]:
                print("    " + line)
    try:
        con.wait_dhcp()

        def login():
            tgt.arm("probe_resid")           # the LUN probe's REPORT LUNS: the residual that walked off pbuf
            out = con.run("iscsi login 10.0.2.2:%d %s" % (tgt.port, IQN), timeout=TIMEOUT * 2)
            if not re.search(r"session 0: .* %d bytes" % LUN_BYTES, out):
                raise AssertionError("login:\n" + out)
            if proto_errors(con) < 1:
                raise AssertionError("the probe's residual overflow was not refused:\n" + con.tail())
            read_ok(con, tgt, "clean read")
            return "probe residual overflow refused, logged in again, 1 MiB read clean"
        report("probe_residual_overflow_then_login", login)

        def entropy():
            out = con.run("iscsi list")
            if not re.search(r"^initiator iqn\.2026-01\.org\.shoal:host-525400123456 \(nonces from RDRAND\)", out, re.M):
                raise AssertionError("iscsi list:\n" + out)
            return "initiator named after the NIC's MAC; ISID and challenges from RDRAND"
        report("initiator_and_entropy_source", entropy)

        def one(fault):
            def fn():
                before, sent = proto_errors(con), len(tgt.faults_sent)
                tgt.arm(fault)
                read_ok(con, tgt, fault)
                if len(tgt.faults_sent) != sent + 1:
                    raise AssertionError("%s was never sent (no READ reached the target?)" % fault)
                if proto_errors(con) <= before:
                    raise AssertionError("%s: no protocol error logged:\n%s" % (fault, con.tail()))
                check_host(con, fault)
                return "dropped and reissued; 1 MiB correct; shell answers"
            return fn
        for f in READ_FAULTS:
            report(f, one(f))

        def login_refused():
            conns = tgt.conns
            tgt.arm("resid_overflow")
            tgt.arm("login_refused", 3)      # the next three logins: "target not found"
            read_ok(con, tgt, "login refused after a reconnect")
            out = check_host(con, "login refused")
            if tgt.conns < conns + 4:
                raise AssertionError("only %d new connections" % (tgt.conns - conns))
            if not re.search(r"ready\s+ffp", out):
                raise AssertionError("session not back in full feature phase:\n" + out)
            return "three refused relogins, then back; 1 MiB correct"
        report("login_refused_after_reconnect", login_refused)
    finally:
        con.close()
        tgt.close()
    return failed


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    kernel = sys.argv[1] if len(sys.argv) > 1 else "build/shoal.elf"
    if not os.path.exists(kernel):
        print("FAIL iscsi_hostile.setup: %s missing" % kernel)
        return 1
    try:
        return 1 if run(kernel) else 0
    except (AssertionError, OSError) as e:      # QEMU did not boot or get an address
        print("FAIL iscsi_hostile.setup: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
