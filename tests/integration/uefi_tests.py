# UEFI boot tests: QEMU with OVMF boots the hybrid ISO as a CD and as a USB stick, and GRUB EFI over PXE.
"""Usage: uefi_tests.py --build DIR [--jobs N] [--only REGEX] [--list]

Each run boots shoal under OVMF (UEFI firmware, a fresh copy of its variable store per run) through one
path a user has: the ISO on a CD drive, the ISO written raw to a USB stick, or PXE with GRUB's EFI network
image from QEMU's TFTP server. One boot checks many things: GRUB ran without warnings, `info` says UEFI
with the EFI memory map and the loader's ACPI tag, the memory total and map are right (one run with RAM
above 4 GiB), and a test guest VM runs to its end. Logs: DIR/test-logs/uefi/NAME.console.log."""

import os
import re
import sys
import shutil
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Console, require, qemu_argv, boot_check, main, QEMU_CMD_S, MiB, GiB  # noqa: E402
from boot_tests import check_info, check_mem_cmd, check_grub_quiet  # noqa: E402
from vmm_tests import check_self  # noqa: E402

UEFI_BOOT_S = 120        # OVMF, GRUB and shoal: ~5 s on an idle machine (PXE ~12 s); the machine is shared
# Debian's ovmf: the 4 MiB flash layout (bookworm); the 2 MiB one on older releases.
OVMF_PAIRS = [("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
              ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd")]
OVMF_CODE, OVMF_VARS = next((p for p in OVMF_PAIRS if os.path.exists(p[0]) and os.path.exists(p[1])),
                            OVMF_PAIRS[0])
# OVMF keeps its runtime services, ACPI tables and NVS, and its own reserved ranges out of the usable
# total: 7 MiB at -m 1G and 5G with bookworm's build. More than 16 MiB would be a map read wrongly.
UEFI_SLACK = 16 * MiB


def ovmf_argv(vars_path):
    """OVMF as two flash chips: the code read-only, the variable store a copy this run may change."""
    return ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
            "-drive", "if=pflash,format=raw,unit=1,file=" + vars_path]


def check_uefi_info(c):
    """`info`: booted by GRUB (multiboot2) under UEFI, the EFI memory map used, the RSDP from the
    loader's ACPI 2.0 tag (no BIOS-area scan)."""
    out = check_info(c, QEMU_CMD_S, "SVM+NPT", 2, r"GRUB", "UEFI")
    require(re.search(r"^firmware: UEFI, EFI64 system table at 0x[0-9a-f]+$", out, re.M),
            "no EFI64 system table on the firmware line:\n" + out)
    m = re.search(r"^memory map: EFI memory map \(multiboot2 tag 17\), (\d+) entries$", out, re.M)
    require(m, "info does not name the EFI memory map as the map's source:\n" + out)
    require(int(m.group(1)) >= 8, "only %s EFI descriptors: OVMF gives dozens" % m.group(1))
    require(re.search(r"^acpi: RSDP at 0x[0-9a-f]+ from the multiboot2 ACPI 2\.0 tag$", out, re.M),
            "the RSDP does not come from the loader's ACPI 2.0 tag:\n" + out)


def check_uefi_mem(c, given):
    """`mem`: the usable total within UEFI_SLACK of -m, and every byte of RAM in the map (some type):
    RAM below the PCI hole plus RAM above 4 GiB adds up to -m, less the legacy VGA/ROM hole."""
    out = check_mem_cmd(c, QEMU_CMD_S, given, given > 4 * GiB, UEFI_SLACK)
    # QEMU pc puts 3 GiB below 4 GiB from 3.5 GiB of RAM on; the q35 run has 1 GiB, all below its hole
    low_top = 3 * GiB if given >= 0xE0000000 else given
    covered = 0
    for b, e, kind in re.findall(r"^\s+([0-9a-f]{16})-([0-9a-f]{16}) (\S+)", out, re.M):
        base, end = int(b, 16), int(e, 16) + 1
        if base < low_top:
            covered += min(end, low_top) - base
        elif base >= 4 * GiB:
            covered += end - base
    hole = 0x100000 - 0xA0000
    require(given - hole <= covered <= given,
            "the map covers %d KiB of RAM, expected %d KiB (-m) less at most the %d KiB VGA/ROM hole:\n%s"
            % (covered // 1024, given // 1024, hole // 1024, out))


def t_uefi(extra, mem):
    """One UEFI boot through extra's medium with -m mem; every check on that boot."""
    def t(r):
        given = int(mem[:-1]) * GiB
        with tempfile.TemporaryDirectory(prefix="shoal-ovmf-") as tmp, Console(r.name, r.logdir) as c:
            r.console = c
            vars_path = os.path.join(tmp, "OVMF_VARS.fd")
            shutil.copyfile(OVMF_VARS, vars_path)
            c.start(qemu_argv(mem, ovmf_argv(vars_path) + [a.replace("@B", r.build) for a in extra]))
            boot_check(r, c, UEFI_BOOT_S)
            r.check(r.name + "-grub-quiet", lambda: check_grub_quiet(c))
            r.check(r.name + "-info", lambda: check_uefi_info(c))
            r.check(r.name + "-mem-" + mem, lambda: check_uefi_mem(c, given))
            r.check(r.name + "-guest", lambda: check_self(c, QEMU_CMD_S, "hello64", r"hello from 64-bit long mode"))
    t.__doc__ = "UEFI boot with -m %s: %s" % (mem, " ".join(extra))
    return t


ISO = "@B/shoal.iso"
TESTS = [
    # the PXE run is the slowest (firmware DHCP, TFTP of GRUB and shoal): start it first
    ("uefi-pxe", t_uefi(["-netdev", "user,id=n,tftp=@B/pxe,bootfile=boot/grub/x86_64-efi/core.efi",
                         "-device", "virtio-net-pci,netdev=n,bootindex=1"], "2G")),
    ("uefi-cdrom", t_uefi(["-drive", "if=none,id=cd,file=%s,format=raw,media=cdrom,readonly=on" % ISO,
                           "-device", "ide-cd,drive=cd,bootindex=1"], "5G")),
    # a USB stick on q35 (PCIe, ECAM from ACPI's MCFG), as most UEFI servers are
    ("uefi-usb", t_uefi(["-machine", "q35", "-device", "qemu-xhci,id=xhci",
                         "-drive", "if=none,id=stick,file=%s,format=raw,snapshot=on" % ISO,
                         "-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=1"], "1G")),
]


if __name__ == "__main__":
    sys.exit(main(TESTS, "uefi", ("shoal.elf", "shoal.iso", "pxe/boot/grub/x86_64-efi/core.efi",
                                  "pxe/boot/grub/grub.cfg", OVMF_CODE, OVMF_VARS)))
