#!/usr/bin/env python3
# Linux guests in shoal under Bochs (VMX+EPT): Debian's cloud kernel from a GRUB ISO's modules; disk, network, pool.
"""Bochs boots $(BUILD)/shoal-linux.iso (mk/linux-vmx.mk: shoal.elf plus the cloud kernel's vmlinuz and
initrd.img and the test disk as modules) with an e1000 on Bochs's slirp network (10.0.2.0/24, the host
at 10.0.2.2, as under QEMU). The tests create Linux VMs from the shell and check that each is really up:
modules loaded, disk read with the image's SHA-256, DHCP and ping through shoal's switch; two guests at
once ping each other; a clone of the golden image on a host tgtd boots over shoal's iSCSI initiator.
Bochs interprets every instruction, so this is slow: times are printed as detail lines."""

import hashlib
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import linux_guest  # noqa: E402
from harness import BOCHS, BOCHS_BOOT_S, BOCHS_CMD_S, Console, boot_check, main, require  # noqa: E402

ISO = os.environ.get("SHOAL_LINUX_ISO", "shoal-linux.iso")   # relative to --build
DISK = os.path.abspath(os.environ.get("SHOAL_GUEST_DIR", "build/guest") + "/disk.img")
MEGS = 1024               # host RAM: shoal, the ISO's modules and two guests
GUEST_UP_S = 900          # measured ~50 s on the shared 2-core machine: Bochs interprets every instruction
IO_S = 300                # one command in the guest's shell
DISK_S = 900              # sha256sum of the 16 MiB disk: 134 s with g1 alone at load 6 on the 2-core machine
GAP = 0.05                # between typed characters
SPAWNS = 60               # g2's spawn loop: before the XSAVEC probe about 1 in 5 pipelines failed
NIC = "pci: enabled=1, chipset=i440fx, slot1=e1000\ne1000: enabled=1, mac=52:54:00:12:34:56, ethmod=slirp\n"


def bochs_start_iso(r, c, iso, megs, cpus=1):
    """Like harness.bochs_start, but booting iso (which carries the guest modules), with an e1000 on slirp."""
    work = os.path.join(r.logdir, r.name + ".work")
    os.makedirs(work, exist_ok=True)
    rcfile = os.path.join(work, "bochsrc")
    with open(rcfile, "w") as f:
        f.write(harness.BOCHSRC.format(iso=iso, port=c.port, megs=megs,
                                       log=os.path.join(r.logdir, r.name + ".bochs.log")).replace(
                                           "count=1", "count=%d" % cpus) + NIC)
    with open(os.path.join(work, "cont.rc"), "w") as f:
        f.write("continue\n")
    env = dict(os.environ, TERM="xterm")
    c.start([BOCHS, "-q", "-f", rcfile, "-rc", os.path.join(work, "cont.rc")], cwd=work, env=env)


def boot_shoal(r, c):
    bochs_start_iso(r, c, os.path.join(r.build, ISO), MEGS)
    boot_check(r, c, BOCHS_BOOT_S)
    r.check(r.name + "-backend", lambda: require("virtualization: VMX+EPT" in c.command("info", BOCHS_CMD_S),
                                                 "shoal did not bind VMX+EPT"))


def value(c, name, cmd, pattern=r"\d+"):
    return linux_guest.guest_value(c, name, cmd, pattern, IO_S, GAP)


def create(c, name, args):
    out = c.command("vm create %s kernel=vmlinuz initrd=initrd.img %s" % (name, args), BOCHS_CMD_S)
    require("vm %s created" % name in out, "vm create failed: " + out.strip())
    c.command("vm start " + name, BOCHS_CMD_S)


def wait_up(r, c, names):
    """Every guest in names prints its /init marker; fail at once if one stops. Prints the time taken."""
    t0, seen = time.monotonic(), set()
    while len(seen) < len(names):
        m = c.expect(r"\[(\w+)\] SHOAL-GUEST-UP|vm (\w+) stopped: [^\n]*\n", GUEST_UP_S, "the guests' /init markers")
        require(m.group(1), m.group(0).strip())
        seen.add(m.group(1))
    print("    (%s: vm start to SHOAL-GUEST-UP of %s in %.0f s)" % (r.name, ", ".join(names), time.monotonic() - t0),
          flush=True)


def attach(c, name):
    c.send("vm console %s\r" % name)
    c.expect(r"attached to %s" % name, BOCHS_CMD_S, "the console attach line")
    linux_guest.type_slowly(c, "", GAP)


def detach(c, name):
    c.send("\x1d")
    c.expect(r"\[detached from %s\]\nshoal> " % name, BOCHS_CMD_S, "the detach line and shoal's prompt")


def cpus(c, n):
    """/proc/cpuinfo shows n CPUs, each with the hypervisor flag."""
    require(value(c, "CPUS", "grep -c ^processor /proc/cpuinfo") == str(n), "the guest does not see %d CPUs" % n)
    require(value(c, "HV", "grep -c hypervisor /proc/cpuinfo") == str(n), "no hypervisor flag on each CPU")


def disk_sha():
    with open(DISK, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_guests(r):
    """g1 with 2 vCPUs and the disk, and g2 (1 vCPU) beside it: each up with its modules, g2 spawns processes
    that all live, g1's /dev/vda reads with the image's SHA-256, each gets its own DHCP lease through the
    switch, g1 pings the gateway and g2."""
    with Console(r.name, r.logdir) as c:
        r.console = c
        boot_shoal(r, c)
        r.check(r.name + "-create", lambda: (create(c, "g1", "mem=160M vcpus=2 disk=disk.img"),
                                             create(c, "g2", "mem=160M")))
        r.check(r.name + "-up", lambda: wait_up(r, c, ["g1", "g2"]))
        addr = {}

        def second():
            time.sleep(5)
            attach(c, "g2")
            linux_guest.modules_loaded(c, c.output(), IO_S, GAP)
            addr["g2"] = linux_guest.dhcp(c, IO_S, GAP)
            linux_guest.spawn_loop(c, SPAWNS, IO_S, GAP)
            detach(c, "g2")
        r.check(r.name + "-g2-modules-dhcp-spawn", second)

        def first():
            attach(c, "g1")
            linux_guest.modules_loaded(c, c.output(), IO_S, GAP)
            cpus(c, 2)
        r.check(r.name + "-g1-modules-2cpus", first)
        r.check(r.name + "-g1-disk-sha256", lambda: linux_guest.disk_sha(c, disk_sha(), DISK_S, GAP))

        def net():
            mine = linux_guest.dhcp(c, IO_S, GAP)
            require(mine != addr["g2"], "both guests got %s" % mine)
            linux_guest.ping(c, "10.0.2.2", IO_S, gap=GAP)
            linux_guest.ping(c, addr["g2"], IO_S, gap=GAP)
        r.check(r.name + "-g1-dhcp-pings", net)


def net_up(c):
    """shoal's own address from slirp's DHCP (asked again until bound)."""
    deadline = time.monotonic() + BOCHS_BOOT_S
    while "dhcp bound" not in c.command("net", BOCHS_CMD_S):
        require(time.monotonic() < deadline, "shoal got no DHCP lease")
        time.sleep(2)


def t_pool(r):
    """A clone of the golden image on a host tgtd, read through shoal's iSCSI initiator, boots to its web marker."""
    import pool_tests                                   # its tgtd export and pool commands
    require(os.path.exists(pool_tests.GOLDEN), "no %s (make golden-image)" % pool_tests.GOLDEN)
    work = tempfile.mkdtemp(prefix="shoal-pool-vmx.")
    tgt = pool_tests.Target(work)
    try:
        with Console(r.name, r.logdir) as c:
            r.console = c
            boot_shoal(r, c)
            r.check(r.name + "-net-up", lambda: net_up(c))
            r.check(r.name + "-pool-add", lambda: pool_tests.pool_add(c, tgt))

            def clone():
                t0 = time.monotonic()
                out = c.command("vm create solo from demo ip=10.0.2.20", BOCHS_CMD_S)
                require("vm solo created" in out, "vm create from demo failed:\n" + out)
                c.command("vm start solo", BOCHS_CMD_S)
                m = c.expect(r"\[solo\] SHOAL-WEB-UP name=(\S+) ip=|vm solo stopped: [^\n]*\n", GUEST_UP_S,
                             "the clone's web marker")
                require(m.group(1) == "solo", m.group(0).strip())
                print("    (%s: clone up in %.0f s, %d bytes fetched)" % (r.name, time.monotonic() - t0,
                      pool_tests.fetched(c)), flush=True)
            r.check(r.name + "-clone-up", clone)
    finally:
        tgt.stop()
        shutil.rmtree(work, ignore_errors=True)


TESTS = [("linux-cloud-vmx-two", run_guests), ("linux-pool-vmx", t_pool)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "linux-vmx", required=(ISO, DISK)))
