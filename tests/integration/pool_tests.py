#!/usr/bin/env python3
# The image pool in shoal under QEMU (SVM+NPT): web guests cloned from one golden disk on a real tgtd.
"""tgtd on the host exports the golden demo image (tools/golden/build.sh) read-only; shoal, booted under
QEMU TCG, adds it to its pool over its own iSCSI initiator and clones web guests from it. QEMU forwards a
host port to each guest's static address so the test can fetch the pages."""

import hashlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Console, QEMU_BOOT_S, QEMU_CMD_S, boot_check, free_port, main, qemu_argv,  # noqa: E402
                     require, tgt_ctl_port)
from linux_tests import attach, detach, guest_value, type_slowly  # noqa: E402

GOLDEN = os.path.abspath(os.environ.get("SHOAL_GOLDEN", "build/golden/demo.img"))
IQN = "iqn.2026-11.org.shoal:pooltest"
TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
GUEST_UP_S = 300          # three emulated guests inside the emulated hypervisor: generous
POOL_ADD_S = 150
WEBS = {"web1": "10.0.2.21", "web2": "10.0.2.22", "web3": "10.0.2.23", "solo": "10.0.2.20"}
CMDLINE = 'cmdline="root=/dev/vda1 rw quiet"'
RAW_OFF = 1024 * 512      # a sector between the GPT and the first partition: zeros in the golden image


def file_sha(path, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read() if length is None else f.read(length))
    return h.hexdigest()


class Target:
    """tools/tgt-export.sh around one test: the golden image read-only on a private port."""

    def __init__(self, workdir, image=None):
        self.port, self.ctl = free_port(), tgt_ctl_port()
        self.log = os.path.join(workdir, "tgtd-%s.log" % self.ctl)
        self.pid = subprocess.run(["sh", os.path.join(TOOLS, "tgt-export.sh"), "start", image or GOLDEN, str(self.port),
                                   self.ctl, IQN, self.log], check=True, stdout=subprocess.PIPE,
                                  timeout=60).stdout.decode().strip()

    def url(self):
        return "iscsi://10.0.2.2:%d/%s/1" % (self.port, IQN)

    def stop(self):
        subprocess.run(["sh", os.path.join(TOOLS, "tgt-export.sh"), "stop", self.pid, self.ctl], timeout=60)


def wait_web_up(c, names):
    """Wait for each guest's SHOAL-WEB-UP marker (with its name); fail at once if one stops."""
    seen = set()
    while len(seen) < len(names):
        m = c.expect(r"\[(\w+)\] SHOAL-WEB-UP name=(\S+) ip=|vm (\w+) stopped: [^\n]*\n", GUEST_UP_S,
                     "SHOAL-WEB-UP from %s" % ", ".join(sorted(set(names) - seen)))
        require(m.group(1), m.group(0).strip())
        require(m.group(1) == m.group(2), "guest %s calls itself %s" % (m.group(1), m.group(2)))
        seen.add(m.group(1))


def create_start(c, name, extra=""):
    out = c.command("vm create %s from demo ip=%s %s" % (name, WEBS[name], extra), QEMU_CMD_S)
    require("vm %s created" % name in out, "vm create %s failed:\n%s" % (name, out.strip()))
    c.command("vm start " + name, QEMU_CMD_S)


def fetched(c):
    out = c.command("pool stats demo", QEMU_CMD_S)
    m = re.search(r"bytes_fetched (\d+)", out)
    require(m, "no bytes_fetched in pool stats:\n" + out)
    return int(m.group(1))


def pool_add(c, tgt):
    out = c.command("pool add demo %s %s" % (tgt.url(), CMDLINE), POOL_ADD_S)
    require(re.search(r"pool demo: ready", out), "pool add failed:\n" + out.strip())


def get_page(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=30) as f:
        return f.read().decode(errors="replace")


def page_names(ports):
    """Each guest's page through QEMU's forward names that guest (retried briefly: httpd just started)."""
    for name, port in ports.items():
        for attempt in range(10):
            try:
                page = get_page(port)
                break
            except OSError as e:
                err = e
                time.sleep(2)
        else:
            raise AssertionError("no page from %s: %s" % (name, err))
        require("Hello from %s" % name in page, "page of %s does not name it:\n%s" % (name, page[:300]))


def disk_bytes(c, name, off, n):
    """n bytes at off of a VM's disk as shoal's `vm disk NAME read` shows them: below the guest's caches."""
    out = c.command("vm disk %s read %d %d" % (name, off, n), QEMU_CMD_S)
    got = bytes(int(x, 16) for line in re.findall(r"^[0-9a-f]{8}:((?: [0-9a-f]{2})+)", out, re.M)
                for x in line.split())
    require(len(got) == n, "vm disk %s read gave %d bytes, not %d:\n%s" % (name, len(got), n, out))
    return got


def golden_bytes(off, n):
    with open(GOLDEN, "rb") as f:
        f.seek(off)
        return f.read(n)


def t_bad_input(r, c, tgt):
    """Malformed requests get one-line errors and change nothing."""
    for cmd, want in (("pool add x http://10.0.2.2/t/1", r"error: pool add x: .*iscsi://"),
                      ("pool add demo %s" % tgt.url(), r"error: pool add demo: name taken"),
                      ("pool add y %s bogus=1" % tgt.url(), r"error: pool add y: bogus=1: unknown option"),
                      ("vm create z from nosuch", r"error: vm create z: image 'nosuch' is not in the pool"),
                      ("vm create z from demo ip=300.1", r"error: vm create z: ip=300.1"),
                      ("pool rm nosuch", r"error: pool rm: no image named 'nosuch'")):
        out = c.command(cmd, QEMU_CMD_S)
        require(re.search(want, out), "%r answered:\n%s" % (cmd, out.strip()))
    out = c.command("pool list", QEMU_CMD_S)
    require(len(re.findall(r"^\S+\s+ready", out, re.M)) == 1, "the pool changed:\n" + out)


def t_disk_debug(r, c):
    """vm disk on a clone without a guest: its bytes are the golden's, writes land in its delta only."""
    out = c.command("vm create probe from demo", QEMU_CMD_S)
    require("vm probe created" in out, out)
    out = c.command("vm disk probe sha256 0 1048576", QEMU_CMD_S * 2)
    m = re.search(r"sha256 ([0-9a-f]{64})", out)
    require(m and m.group(1) == file_sha(GOLDEN, 1 << 20), "first MiB differs from the golden's:\n" + out)
    out = c.command("vm disk probe write 1536 1024 0xab", QEMU_CMD_S)
    require("wrote 1024 bytes" in out, out)
    got, want = disk_bytes(c, "probe", 1528, 32), golden_bytes(1528, 8) + b"\xab" * 24
    require(got == want, "read back %s, want %s" % (got.hex(), want.hex()))
    out = c.command("vm disk probe write 100 5 1", QEMU_CMD_S)
    require("error: vm disk probe" in out, "an unaligned write was taken:\n" + out)
    c.command("vm destroy probe", QEMU_CMD_S)


def t_seed(r):
    """The seed scenario: three web guests cloned from one golden image boot at once, serve pages naming
    themselves, keep their writes apart (checked on each clone's disk from the host and in each guest after
    dropping its caches); a clone made again starts clean; the golden LUN never changes; one guest fetches
    something from the target and three fetch at most 1.2x what one does."""
    require(os.path.exists(GOLDEN), "no %s (make golden-image)" % GOLDEN)
    sha_before = file_sha(GOLDEN)
    work = tempfile.mkdtemp(prefix="shoal-pool.")
    tgt = Target(work)
    ports = {n: free_port() for n in ("web1", "web2", "web3")}
    fwd = ",".join("hostfwd=tcp:127.0.0.1:%d-%s:80" % (p, WEBS[n]) for n, p in ports.items())
    try:
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("1G", ["-kernel", r.build + "/shoal.elf", "-netdev", "user,id=n0," + fwd,
                                     "-device", "e1000,netdev=n0"], cpu="EPYC"))
            boot_check(r, c, QEMU_BOOT_S)
            r.check(r.name + "-pool-add", lambda: pool_add(c, tgt))
            r.check(r.name + "-bad-input", lambda: t_bad_input(r, c, tgt))
            r.check(r.name + "-disk-debug", lambda: t_disk_debug(r, c))
            one = {}

            def solo():
                before = fetched(c)                          # pool add and the disk checks read too
                create_start(c, "solo")
                wait_web_up(c, ["solo"])
                one["bytes"] = fetched(c) - before
                c.command("vm destroy solo", QEMU_CMD_S)
                out = c.command("pool rm demo", QEMU_CMD_S)
                require("pool demo removed" in out, "pool rm after the last clone went:\n" + out)
                pool_add(c, tgt)                             # a cold cache again for the three
            r.check(r.name + "-one-guest", solo)

            def three():
                before = fetched(c)
                for n in ("web1", "web2", "web3"):
                    create_start(c, n)
                wait_web_up(c, ["web1", "web2", "web3"])
                b3 = fetched(c) - before
                print("    pool: one guest fetched %d bytes, three fetched %d (%.2fx)" %
                      (one["bytes"], b3, b3 / max(1, one["bytes"])))
                require(one["bytes"] > 0, "one guest booted without fetching a byte: no cache statistics?")
                require(b3 > 0, "three guests on a cold cache fetched nothing")
                require(b3 <= 1.2 * one["bytes"], "three guests fetched %d bytes, one %d: over 1.2x" %
                        (b3, one["bytes"]))
            r.check(r.name + "-three-guests", three)
            r.check(r.name + "-pages", lambda: page_names(ports))

            def own_files():
                webs = ("web1", "web2", "web3")
                for n in webs:                               # a file, and a raw sector past the page cache
                    attach(c, n)
                    type_slowly(c, "echo secret-%s > /mine-%s.txt; printf RAW-%s-SECRET | "
                                   "dd of=/dev/vda bs=512 seek=%d conv=notrunc,fsync 2>/dev/null" %
                                (n, n, n, RAW_OFF // 512))
                    require(guest_value(c, "SYNCED", "sync; echo ok", r"ok") == "ok", "%s: sync" % n)
                    detach(c, n)
                for n in webs:                               # each clone's disk, read by shoal itself
                    got = disk_bytes(c, n, RAW_OFF, 16)
                    require(got == ("RAW-%s-SECRET" % n).encode() + b"\0",
                            "%s's disk holds %r at %d" % (n, got, RAW_OFF))
                for n in webs:                               # the files, re-read from the disk
                    attach(c, n)
                    got = guest_value(c, "MINE", "sync; echo 3 > /proc/sys/vm/drop_caches; ls / | grep mine- | "
                                                 "tr '\\n' ' '; for f in $(ls / | grep mine-); do cat /$f; done",
                                      r"[^\]\n]*")
                    detach(c, n)
                    require(got.split() == ["mine-%s.txt" % n, "secret-%s" % n], "%s sees %r" % (n, got))
            r.check(r.name + "-own-files", own_files)

            def rm_refused():
                out = c.command("pool rm demo", QEMU_CMD_S)
                require("still has clones" in out, "pool rm with clones running:\n" + out)
            r.check(r.name + "-rm-refused", rm_refused)

            def recreate():
                c.command("vm destroy web2", QEMU_CMD_S)
                create_start(c, "web2")
                wait_web_up(c, ["web2"])
                attach(c, "web2")
                got = guest_value(c, "MINE", "ls / | grep -c mine-", r"\d+")
                detach(c, "web2")
                require(got == "0", "the new web2 sees %s old files" % got)
                got = disk_bytes(c, "web2", RAW_OFF, 16)
                require(got == golden_bytes(RAW_OFF, 16), "the new web2's disk holds %r at %d" % (got, RAW_OFF))
                page_names({"web2": ports["web2"]})
            r.check(r.name + "-recreate-clean", recreate)

            def golden_unchanged():
                out = c.command("iscsi list", QEMU_CMD_S)
                m = re.search(r"^\s*(\d+)\s.*pooltest", out, re.M)
                require(m, "no pool session in iscsi list:\n" + out)
                out = c.command("iscsi sha256 " + m.group(1), 300)
                got = re.search(r"([0-9a-f]{64})", out)
                require(got and got.group(1) == sha_before, "the LUN's SHA-256 changed:\n" + out)
                require(file_sha(GOLDEN) == sha_before, "the golden image file changed")
            r.check(r.name + "-golden-unchanged", golden_unchanged)
    finally:
        tgt.stop()


def make_second_image(path):
    """The golden image with its free space (between the GPT and partition 1, and after partition 1) filled:
    32 random blocks, 32 copies of golden blocks, 40 copies of one golden block, 8 more random blocks."""
    with open(GOLDEN, "rb") as f:
        img = bytearray(f.read())
    blocks = [i for i in range(300, 16000) if any(img[i * 4096:(i + 1) * 4096])][:32]
    rnd = random.Random(3)

    def put(i, data):
        img[i * 4096:(i + 1) * 4096] = data
    for k in range(32):
        put(128 + k, bytes(rnd.randrange(256) for _ in range(4096)))
        put(160 + k, img[blocks[k] * 4096:(blocks[k] + 1) * 4096])
    for k in range(40):
        put(16128 + k, img[blocks[0] * 4096:(blocks[0] + 1) * 4096])
    for k in range(8):
        put(16168 + k, bytes(rnd.randrange(256) for _ in range(4096)))
    with open(path, "wb") as f:
        f.write(img)


def share_oracle(a_path, b_path):
    """What `pool share` must print for a and b: (blocks, zero, found, non-zero, distinct in both, distinct)
    for each side, by the definitions in pool/blockidx.h."""
    def contents(path):
        with open(path, "rb") as f:
            data = f.read()
        return [hashlib.sha256(data[i:i + 4096]).digest() if any(data[i:i + 4096]) else None
                for i in range(0, len(data) - 4095, 4096)]
    a, b = contents(a_path), contents(b_path)
    sa, sb = {h for h in a if h}, {h for h in b if h}

    def side(x, mine, other):
        nz = [h for h in x if h]
        return (len(x), len(x) - len(nz), sum(1 for h in nz if h in other), len(nz), len(mine & other), len(mine))
    return side(a, sa, sb), side(b, sb, sa)


def t_share(r):
    """The seed study: `pool share demo demo2` indexes both images once (over iSCSI) and prints the share of
    identical 4 KiB blocks each way, per block and per distinct content, zero blocks apart: exactly what the
    host computes from the two files; asked again, it does not index again."""
    require(os.path.exists(GOLDEN), "no %s (make golden-image)" % GOLDEN)
    work = tempfile.mkdtemp(prefix="shoal-share.")
    second = os.path.join(work, "demo2.img")
    make_second_image(second)
    tgt, tgt2 = Target(work, None), Target(work, second)
    try:
        with Console(r.name, r.logdir) as c:
            r.console = c
            c.start(qemu_argv("1G", ["-kernel", r.build + "/shoal.elf", "-nic", "user,model=e1000"], cpu="EPYC"))
            boot_check(r, c, QEMU_BOOT_S)
            r.check(r.name + "-pool-add", lambda: (pool_add(c, tgt), require(re.search(
                r"pool demo2: ready", c.command("pool add demo2 %s %s" % (tgt2.url(), CMDLINE), POOL_ADD_S)),
                "pool add demo2 failed")))

            def share():
                out = c.command("pool share demo demo2", 600)
                got = re.findall(r"^  (\w+): (\d+) blocks, (\d+) zero; non-zero blocks also in \w+: (\d+) of (\d+) "
                                 r"\([\d.]+%\); distinct contents also in \w+: (\d+) of (\d+)", out, re.M)
                want = share_oracle(GOLDEN, second)
                require(len(got) == 2 and got[0][0] == "demo" and got[1][0] == "demo2", "pool share printed:\n" + out)
                for name, g, w in zip(("demo", "demo2"), got, want):
                    require(tuple(int(v) for v in g[1:]) == w, "%s: shoal says %s, the files say %s" % (name, g[1:], w))
                require(len(re.findall(r"indexed \d+ blocks", out)) == 2, "not both images indexed:\n" + out)
                again = c.command("pool share demo2 demo", 120)
                require("indexed" not in again and "demo2: 16384 blocks" in again, "asked again:\n" + again)
                print("    (%s)" % " | ".join(l.strip() for l in out.splitlines() if l.startswith("  ")), flush=True)
            r.check(r.name + "-counts", share)
    finally:
        tgt.stop()
        tgt2.stop()
        subprocess.run(["rm", "-rf", work])


TESTS = [("pool-seed", t_seed), ("pool-share", t_share)]

if __name__ == "__main__":
    if "--golden" in sys.argv:
        i = sys.argv.index("--golden")
        GOLDEN = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    sys.exit(main(TESTS, "pool"))
