# Headless Chromium driven over the DevTools protocol (a minimal WebSocket client, standard library only).
"""Browser(logdir).open(url) starts `chromium --headless` with a private profile and a debugging port,
navigates, and lets a test evaluate JavaScript (eval), click, and save screenshots. stop() ends it by PID."""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

from console import TestFailure

CHROMIUM = os.environ.get("CHROMIUM", "chromium")


class WebSocket:
    """RFC 6455 client: text frames out (masked), text frames in; enough for the DevTools protocol."""

    def __init__(self, url, timeout):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        self.s = socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                        % (m.group(3), m.group(1), m.group(2), key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            d = self.s.recv(1)
            if not d:
                raise TestFailure("the browser closed the DevTools socket")
            head += d
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise TestFailure("DevTools refused the WebSocket: %r" % head[:100])

    def _recv(self, n):
        b = b""
        while len(b) < n:
            d = self.s.recv(n - len(b))
            if not d:
                raise TestFailure("the browser closed the DevTools socket")
            b += d
        return b

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
                               if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        self.s.sendall(hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(data)))

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._recv(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack(">H", self._recv(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._recv(8))[0]
            data = self._recv(n)
            if b0 & 0x0f == 8:
                raise TestFailure("the browser closed the DevTools connection")
            if b0 & 0x0f in (0, 1, 2):
                msg += data
                if b0 & 0x80:
                    return msg.decode()


class Browser:
    def __init__(self, logdir):
        self.logdir = logdir
        self.profile = tempfile.mkdtemp(prefix="shoal-chromium-")
        self.proc = None
        self.ws = None
        self.seq = 0

    def open(self, url, width=1280, height=900, timeout=60, headers=None):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        self.log = open(os.path.join(self.logdir, "chromium.log"), "wb")
        self.proc = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                                      "--ignore-certificate-errors", "--no-first-run", "--disable-extensions",
                                      "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
                                      "--window-size=%d,%d" % (width, height), "about:blank"],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        end = time.monotonic() + timeout
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.monotonic() > end or self.proc.poll() is not None:
                raise TestFailure("chromium did not open its debugging port (see chromium.log)")
            time.sleep(0.2)
        port = int(open(port_file).read().split()[0])
        pages = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=30))
        page = [p for p in pages if p.get("type") == "page"][0]
        self.ws = WebSocket(page["webSocketDebuggerUrl"], timeout)
        self.call("Page.enable")
        if headers:
            self.call("Network.enable")
            self.call("Network.setExtraHTTPHeaders", headers=headers)
        self.call("Page.navigate", url=url)

    def call(self, method, **params):
        self.seq += 1
        self.ws.send(json.dumps({"id": self.seq, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.seq:
                if "error" in m:
                    raise TestFailure("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def eval(self, js):
        r = self.call("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise TestFailure("page script failed: %s %s" % (d.get("text"), d.get("exception", {}).get("description", "")))
        return r["result"].get("value")

    def wait(self, js, what, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = self.eval(js)
            if v:
                return v
            time.sleep(0.5)
        self.screenshot("timeout.png")
        raise TestFailure("timed out waiting in the page for %s; the page says %r" %
                          (what, self.eval("(document.querySelector('#msg') || {}).textContent")))

    def screenshot(self, name, width=None, height=None, mobile=False):
        if width:
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=mobile)
            time.sleep(1)
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path = os.path.join(self.logdir, name)
        with open(path, "wb") as f:
            f.write(png)
        return path

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
