# Console driver for emulator boot tests: run QEMU/Bochs, talk to shoal's serial shell, log everything (stdlib only).
"""A test starts an emulator whose serial port connects to a TCP socket this module listens on
(QEMU `-serial tcp:127.0.0.1:P`, Bochs `com1: mode=socket-client`), sends shell commands and waits
for regular expressions on the console output with a timeout.

Every emulator runs in its own process group with PR_SET_PDEATHSIG, so a finished, failed or
killed test never leaves one running. The raw console bytes go to LOGDIR/NAME.console.log and the
emulator's own stdout/stderr to LOGDIR/NAME.emu.log. QEMU also gets -action shutdown=pause and a QMP
socket: a host triple fault stops it with its CPUs' state kept, which a watcher thread appends to the
emu log before it kills QEMU (docs/debugging.md)."""

import ctypes
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

PROMPT = "shoal> "
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\r")
PR_SET_PDEATHSIG = 1
QMP_POLL_S = 2.0
_qmp_ids = itertools.count()


class TestFailure(Exception):
    """A check failed: the message says what was expected and what was seen."""


def _child_setup():
    """Runs in the forked child before exec: new session, and die with the parent thread."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class Console:
    """One emulator run: start(argv) launches it with the serial socket's port filled in;
    expect()/command() drive the shell; close() kills the emulator's process group.
    Use as a context manager so close() always runs."""

    def __init__(self, name, logdir):
        self.name = name
        self.logdir = logdir
        os.makedirs(logdir, exist_ok=True)
        self.log_path = os.path.join(logdir, name + ".console.log")
        self.emu_log_path = os.path.join(logdir, name + ".emu.log")
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self._conn = None
        self._proc = None
        self._raw = open(self.log_path, "wb")
        self._text = ""          # console output with ANSI escapes and CRs removed
        self._pos = 0            # expect() searches from here on
        self._cond = threading.Condition()
        self._eof = False
        self._reader = None
        self._qmp_path = None
        self.stop_note = ""      # why the emulated machine stopped, when the watcher saw it stop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self, argv, cwd=None, env=None, connect_timeout=60):
        """Launch argv (a list; the string {port} in any element becomes the serial socket's port)
        and wait up to connect_timeout s for the emulator to connect its serial port.
        Raises TestFailure if the emulator exits or never connects."""
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        if os.path.basename(argv[0]).startswith("qemu-system") and "-qmp" not in argv:
            self._qmp_path = "/tmp/shoal-qmp-%d-%d.sock" % (os.getpid(), next(_qmp_ids))
            argv += ["-action", "shutdown=pause", "-qmp", "unix:%s,server=on,wait=off" % self._qmp_path]
        self._emu_log = open(self.emu_log_path, "wb")
        self._emu_log.write(("$ " + " ".join(argv) + "\n").encode())
        self._emu_log.flush()
        self._proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=self._emu_log, stderr=subprocess.STDOUT,
                                      preexec_fn=_child_setup)
        self._listener.settimeout(0.5)
        deadline = time.monotonic() + connect_timeout
        while self._conn is None:
            try:
                self._conn, _ = self._listener.accept()
            except socket.timeout:
                if self._proc.poll() is not None:
                    raise TestFailure("emulator exited (status %d) before connecting its serial port"
                                      % self._proc.returncode)
                if time.monotonic() > deadline:
                    raise TestFailure("emulator did not connect its serial port within %d s" % connect_timeout)
        self._listener.close()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        if self._qmp_path:
            threading.Thread(target=self._watch_loop, daemon=True).start()

    def _qmp(self, f, command, **arguments):
        """One QMP command on the connection's file f: its "return" value (events before it are skipped)."""
        f.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise OSError("QMP connection closed")
            r = json.loads(line)
            if "return" in r or "error" in r:
                return r.get("return", r)

    def _watch_loop(self):
        """QEMU runs with -action shutdown=pause: a triple fault of the host (or a reset, with -no-reboot)
        stops the machine with its CPUs' state intact. Poll its status; when it has stopped so, append every
        CPU's registers to the emulator's log, then kill it, so the console closes as it would have."""
        try:
            qs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            for _ in range(50):
                try:
                    qs.connect(self._qmp_path)
                    break
                except OSError:
                    time.sleep(0.2)
            f = qs.makefile("rw")
            f.readline()                                  # the greeting
            self._qmp(f, "qmp_capabilities")
            while self._proc.poll() is None:
                if self._qmp(f, "query-status").get("status") == "shutdown":
                    regs = self._qmp(f, "human-monitor-command", **{"command-line": "info registers -a"})
                    with open(self.emu_log_path, "a") as log:
                        log.write("\n[console.py] the emulated machine shut down (a triple fault of the host, or "
                                  "a reset request): its CPUs' registers as it stopped:\n%s\n" % regs)
                    self.stop_note = " (the emulated machine shut down: a triple fault? registers in %s)" \
                        % self.emu_log_path
                    os.killpg(self._proc.pid, signal.SIGKILL)
                    return
                time.sleep(QMP_POLL_S)
        except (OSError, ValueError, AttributeError):
            return                                        # no diagnosis, and the test goes on as before

    def _read_loop(self):
        conn = self._conn
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._raw.write(data)
                self._raw.flush()
                self._text += ANSI.sub("", data.decode("utf-8", errors="replace"))
                self._cond.notify_all()

    def expect(self, pattern, timeout, what=None):
        """Wait up to timeout s for regex pattern in the output after the last match; return the
        re.Match (its positions index self.output()) and move past it. Raises TestFailure on
        timeout or when the emulator's console closes first."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._text, self._pos)
                if m:
                    self._pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    why = "console closed" + self.stop_note if self._eof else "timed out after %g s" % timeout
                    raise TestFailure("%s waiting for %s" % (why, what or repr(pattern)))
                self._cond.wait(min(left, 1.0))

    def send(self, text):
        """Type text on the serial line (no newline added)."""
        self._conn.sendall(text.encode())

    def command(self, line, timeout):
        """Type line + Enter, wait for the next prompt, and return the command's output
        (the lines between the echoed command and the prompt)."""
        start = self._pos
        self.send(line + "\r")
        m = self.expect(re.escape(PROMPT), timeout, "the prompt after '%s'" % line)
        out = self._text[start:m.start()]
        first_nl = out.find("\n")     # drop the echoed command line
        return out[first_nl + 1:] if first_nl >= 0 else ""

    def boot(self, timeout):
        """Wait for the banner, the ready line and the first prompt; return the boot text."""
        self.expect(r"^shoal \d+\.\d+: thin hypervisor for cloning and moving VMs", timeout, "the banner")
        m = self.expect(r"shoal ready\. Type 'help' for commands\.\n" + re.escape(PROMPT), timeout,
                        "the ready line and prompt")
        return self._text[:m.end()]

    def output(self):
        """All console text so far (ANSI escapes and CRs removed)."""
        with self._cond:
            return self._text

    def tail(self, n=40):
        """The last n lines of the console text."""
        return "\n".join(self.output().splitlines()[-n:])

    def close(self):
        """Kill the emulator's process group (TERM, then KILL after 2 s: Bochs ignores TERM)
        and close the socket and logs. Safe to call twice."""
        p = self._proc
        if p is not None and p.poll() is None:
            for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 10.0)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if p is not None:
            try:                       # stragglers in the group (none expected)
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for s in (self._conn, self._listener):
            try:
                if s is not None:
                    s.close()
            except OSError:
                pass
        if self._reader is not None:
            self._reader.join(2.0)
        if self._qmp_path:
            try:
                os.unlink(self._qmp_path)
            except OSError:
                pass
        with self._cond:
            if not self._raw.closed:
                self._raw.close()
        if getattr(self, "_emu_log", None) and not self._emu_log.closed:
            self._emu_log.close()
