#!/usr/bin/env python3
# The management API end to end: two shoal hosts under QEMU (SVM), their API ports forwarded to the host.
"""Usage: api_tests.py --build DIR [--jobs N] [--only REGEX]. One `PASS name` / `FAIL name` line per check.
Host a serves HTTPS with the self-signed certificate it made at boot (api_token=), host b HTTPS on port 8443
with a certificate and key openssl made, given as boot modules (api_cert=, api_key=); at the end host a is
switched to plain HTTP (`api start http 8080`, what api=http does at boot).
Against host a: TLS checked with openssl s_client (fingerprint as printed on the console), plain HTTP
refused, every endpoint with and without the token, malformed JSON, oversized and unreadable requests, a
slow client, many concurrent connections; an image added, a clone created and destroyed through the API
and compared with what the shell shows; /metrics parsed by prometheus_client and compared with the shell;
the status page in headless Chromium (a VM started from the page starts on the host; a screenshot kept in
the test logs). tools/shoalctl against both hosts."""
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Console, QEMU_BOOT_S, QEMU_CMD_S, TestFailure, free_port, main, qemu_argv, require  # noqa: E402
from pool_tests import Target  # noqa: E402
from browser import Browser  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TOKEN_A = "tok-a-" + os.urandom(12).hex()
TOKEN_B = "tok-b-" + os.urandom(12).hex()
POOL_READY_S = 150
HTTP_S = 60               # one request: a TLS handshake in emulated code on a shared machine


class Api:
    """Requests to one host's forwarded API port (certificate checks are the TLS check's job)."""

    def __init__(self, port, token, tls=True):
        self.port, self.token, self.tls = port, token, tls

    def conn(self):
        if not self.tls:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_S)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=HTTP_S, context=ctx)

    def req(self, method, path, body=None, token=None, raw=None, headers=None):
        """(status, headers, parsed JSON or text)."""
        c = self.conn()
        h = dict(headers or {})
        tok = self.token if token is None else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else
                                            (b"" if method == "POST" else None))
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            text = r.read()
        finally:
            c.close()
        ans = text.decode(errors="replace")
        if r.getheader("Content-Type", "").startswith("application/json"):
            ans = json.loads(ans)
        return r.status, r, ans

    def ok(self, method, path, body=None, want=200):
        st, _, ans = self.req(method, path, body)
        require(st == want, "%s %s: %d, expected %d: %s" % (method, path, st, want, ans))
        return ans


def boot(r, name, append, fwd, modules=(), cpu="qemu64,+svm,+npt"):
    """Boot shoal under QEMU; fwd: [(host port, guest port)] forwarded to the host."""
    c = Console(name, r.logdir)
    nic = "user,model=e1000" + "".join(",hostfwd=tcp:127.0.0.1:%d-:%d" % f for f in fwd)
    extra = ["-initrd", ",".join(modules)] if modules else []
    c.start(qemu_argv("512M", ["-kernel", r.build + "/shoal.elf", "-append", append, "-nic", nic] + extra, cpu=cpu))
    return c


def make_cert(d):
    """An EC P-256 key and a self-signed certificate made by openssl (PEM), and the certificate's fingerprint."""
    key, crt = os.path.join(d, "api-key.pem"), os.path.join(d, "api-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=shoal-b/O=operator"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    out = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-fingerprint", "-sha256"], check=True,
                         stdout=subprocess.PIPE, timeout=30).stdout.decode()
    return crt, key, out.strip().split("=", 1)[1]


def check_module_cert(b, c, port, fp):
    m = re.search(r"api: boot module certificate, SHA-256 fingerprint ([0-9A-F:]{95})", c.output())
    require(m and m.group(1) == fp, "host b's console names %s, openssl %s" % (m and m.group(1), fp))
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port], input=b"",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=HTTP_S)
    require(b"CN = shoal-b" in p.stdout or b"CN=shoal-b" in p.stdout, "s_client does not see the module's certificate")
    require(b.ok("GET", "/api/host")["cpu"]["virtualization"].startswith("SVM"), "host b's API")


def check_plain_mode(c, a, https_port, http_port):
    """`api start http PORT` (as api=http at boot): plain HTTP answers, the HTTPS port is gone."""
    out = c.command("api start http %d" % 8080, QEMU_CMD_S)
    require("api: http on 0.0.0.0:8080" in out, "api start http: " + out)
    h = Api(http_port, TOKEN_A, tls=False)
    require(h.ok("GET", "/api/host")["memory"]["usable_bytes"] > 0, "plain HTTP host")
    st, _, _ = h.req("GET", "/api/host", token="")
    require(st == 401, "plain HTTP without the token: %d" % st)
    try:
        a.req("GET", "/api/host")
        raise TestFailure("the HTTPS port still answers after `api start http`")
    except (OSError, http.client.HTTPException, ssl.SSLError):
        pass
    require("api: http on 0.0.0.0:8080" in c.command("api status", QEMU_CMD_S), "api status")
    env = dict(os.environ, SHOAL_TOKEN=TOKEN_A, SHOAL_CONFIG="/nonexistent")
    rc, out, err = shoalctl(["-H", "http://127.0.0.1:%d" % http_port, "vm", "list"], env)
    require(rc == 0 and re.search(r"^127\.0\.0\.1:%d\s+t1\s" % http_port, out, re.M),
            "shoalctl over plain HTTP with $SHOAL_TOKEN: %d %s %s" % (rc, out, err))


def check_http_boot(r):
    """api=http on the boot line: plain HTTP on port 80 from boot, still behind the token."""
    port = free_port()
    with boot(r, "api-c", "api=http api_token=%s" % TOKEN_A, [(port, 80)]) as c:
        c.boot(QEMU_BOOT_S)
        end = time.monotonic() + QEMU_CMD_S
        while not re.search(r"api: http on 0\.0\.0\.0:80\b", c.output()) and time.monotonic() < end:
            time.sleep(0.5)                     # printed at boot, before or after the prompt
        require(re.search(r"api: http on 0\.0\.0\.0:80\b", c.output()), "no plain HTTP listening line")
        h = Api(port, TOKEN_A, tls=False)
        require(h.ok("GET", "/api/host")["memory"]["usable_bytes"] > 0, "plain HTTP host")
        st, _, _ = h.req("GET", "/api/host", token="")
        require(st == 401, "plain HTTP without the token: %d" % st)


def shell_vms(c):
    """{name: (state, mem MiB)} from the shell's `vm list`."""
    out = c.command("vm list", QEMU_CMD_S)
    return {m.group(1): (m.group(2), int(m.group(3)))
            for m in re.finditer(r"^(\S+)\s+(created|running|paused|stopped)\s+(\d+)\s", out, re.M)}


def wait_for(what, fn, timeout):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TestFailure("timed out waiting for " + what)
        time.sleep(1)


def check_tls(a, c, port):
    fp = re.search(r"api: self-signed certificate, SHA-256 fingerprint ([0-9A-F:]{95})", c.output())
    require(fp, "no certificate fingerprint on the console")
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2"],
                       input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=HTTP_S)
    out = p.stdout.decode(errors="replace")
    require(re.search(r"Cipher is ECDHE-ECDSA-", out), "no ECDHE-ECDSA handshake:\n" + out[-1500:])
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    require(pem, "s_client showed no certificate")
    x = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-subject"], input=pem.group(0).encode(),
                       stdout=subprocess.PIPE, timeout=30).stdout.decode()
    require(fp.group(1) in x, "s_client's certificate %s is not the one the console printed (%s)" % (x, fp.group(1)))
    require("O = shoal" in x or "O=shoal" in x, "unexpected subject: " + x)
    return fp.group(1)


def check_plain_refused(port):
    """Plain HTTP to the HTTPS port gets no HTTP answer (the TLS layer drops it)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_S)
    try:
        c.request("GET", "/api/host", headers={"Authorization": "Bearer " + TOKEN_A})
        st = c.getresponse().status
        raise TestFailure("plain HTTP to the HTTPS port got an HTTP answer (%d)" % st)
    except (http.client.HTTPException, OSError):
        pass
    finally:
        c.close()


def basic(token, user="operator"):
    """An Authorization value with Basic credentials whose password is token (RFC 7617)."""
    return "Basic " + base64.b64encode(("%s:%s" % (user, token)).encode()).decode()


def check_auth(a):
    for tok, why in ((None, "no token"), ("", "no token"), ("x" + TOKEN_A, "a wrong token"),
                     (TOKEN_A[:-1], "a shorter token")):
        for method, path in (("GET", "/api/host"), ("GET", "/metrics"), ("GET", "/api/vms"),
                             ("POST", "/api/vms/x/start")):
            st, r, ans = a.req(method, path, token=tok if tok is not None else "")
            require(st == 401, "%s %s with %s: %d" % (method, path, why, st))
            require(set(ans) == {"error"}, "401 gave more than an error: %s" % ans)
            ch = r.getheader("WWW-Authenticate", "")
            require("Basic realm=" in ch and "Bearer realm=" in ch, "401 without both challenges: %r" % ch)
    st, _, _ = a.req("GET", "/api/host", headers={"Authorization": "Basic dXNlcjpwdw=="}, token="")
    require(st == 401, "Basic auth with another password: %d" % st)
    st, _, _ = a.req("GET", "/api/host", headers={"Authorization": basic(TOKEN_A)}, token="")
    require(st == 200, "Basic auth with the token as password: %d" % st)
    st, _, _ = a.req("GET", "/api/host", headers={"Authorization": "Basic !!notbase64"}, token="")
    require(st == 400, "Basic credentials that are not base64: %d" % st)
    for plain in (TOKEN_A.encode(), b"x:" + TOKEN_A.encode() + b"\0", b"x\0:" + TOKEN_A.encode(), b":"):
        auth = "Basic " + base64.b64encode(plain).decode()   # no colon, NUL inside, empty token
        st, _, _ = a.req("GET", "/api/host", headers={"Authorization": auth}, token="")
        require(st == 401, "Basic credentials %r: %d" % (plain, st))
    st, r, _ = a.req("GET", "/", token="")
    require(st == 401 and "Basic realm=" in r.getheader("WWW-Authenticate", ""),
            "the status page without credentials: %d" % st)
    st, _, _ = a.req("GET", "/api/host", token="", headers={"Authorization": "bearer " + TOKEN_A})
    require(st == 200, "a lower-case scheme (RFC 9110: case-insensitive): %d" % st)


def check_host(a, c):
    h = a.ok("GET", "/api/host")
    out = c.command("mem", QEMU_CMD_S)
    kib = int(re.search(r"memory: \d+ MiB usable \((\d+) KiB\)", out).group(1))
    require(h["memory"]["usable_bytes"] == kib * 1024, "usable %d vs the shell's %d KiB" % (h["memory"]["usable_bytes"], kib))
    require(h["cpu"]["virtualization"].startswith("SVM+NPT"), "virtualization: %s" % h["cpu"])
    require("api_token=" in h["info"] and TOKEN_A not in h["info"], "the token leaks through `info`")


def check_bad_requests(a):
    cases = [
        ("POST", "/api/vms", b'{"name":"x",', 400, "malformed JSON"),
        ("POST", "/api/vms", b'{"name":"x","guest":"hello64","x":{}}', 400, "nested"),
        ("POST", "/api/vms", b'{"name":"x","guest":"hello64","bogus":1}', 400, "unknown field"),
        ("POST", "/api/vms", b'{"guest":"hello64"}', 400, "missing name"),
        ("POST", "/api/vms", b'{"name":"bad name","guest":"hello64"}', 400, "a name with a space"),
        ("POST", "/api/vms", b'{"name":"x","from":"nosuch"}', 404, "unknown image"),
        ("POST", "/api/vms", b"x" * 9000, 413, "oversized body"),
        ("POST", "/api/vms", b'{"name":"big","guest":"hello64","mem":"8G"}', 503, "more RAM than the host has"),
        ("GET", "/api/nosuch", None, 404, "unknown resource"),
        ("GET", "/api/vms/../host", None, 404, "dot segments"),
        ("GET", "/api/vms/nosuch", None, 404, "unknown VM"),
        ("GET", "/api/vms/x/start", None, 404, "GET of an action on no VM"),
        ("POST", "/metrics", b"", 405, "POST /metrics"),
        ("PUT", "/api/vms", None, 501, "PUT"),
        ("DELETE", "/api/vms/t1", None, 501, "DELETE"),
    ]
    for method, path, raw, want, what in cases:
        try:
            st, _, ans = a.req(method, path, raw=raw)
        except (OSError, http.client.HTTPException) as e:
            raise TestFailure("%s: %s %s: %r" % (what, method, path, e))
        require(st == want, "%s: %s %s gave %d, expected %d: %s" % (what, method, path, st, want, ans))
        require(isinstance(ans, dict) and "error" in ans, "%s: no JSON error: %r" % (what, ans))
    st, _, ans = a.req("POST", "/api/vms", raw=b'{"name":"x","guest":"hello64","bogus":1}')
    require(ans.get("field") == "bogus", "the unknown field is not named: %s" % ans)
    # A body over 256 KiB is refused without being read: an answer, or a reset, never a hang.
    try:
        st, _, ans = a.req("POST", "/api/vms", raw=b"x" * 300000)
        require(st == 413, "a 300 KB body: %d" % st)
    except (OSError, http.client.HTTPException):
        pass
    a.ok("GET", "/api/host")


def raw_tls(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", port), timeout=HTTP_S)
    return ctx.wrap_socket(s)


def read_all(s):
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return data
            data += d
    except (OSError, ssl.SSLError):
        return data


def check_slow_clients(a, port):
    """A client that stops mid-header and one that drips its body are cut off; others are served meanwhile."""
    hdr = raw_tls(port)
    hdr.sendall(b"GET /api/host HTTP/1.1\r\nAuthorization: Bearer " + TOKEN_A.encode())
    body = raw_tls(port)
    body.sendall(("POST /api/vms HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
                  "Content-Length: 400\r\n\r\n{" % TOKEN_A).encode())
    t0 = time.monotonic()
    a.ok("GET", "/api/host")
    while time.monotonic() - t0 < 40:
        body.sendall(b" ")
        time.sleep(1)
        if time.monotonic() - t0 > 12:
            break
    got = read_all(body)
    require(b" 408 " in got.split(b"\r\n")[0] or not got, "a dripping body got: %r" % got[:200])
    got = read_all(hdr)
    require(b"200 OK" not in got, "a header that never ended was answered: %r" % got[:200])
    hdr.close()
    body.close()


def check_concurrent(a, c):
    res, lock = [], threading.Lock()

    def one():
        try:
            st, _, _ = a.req("GET", "/api/vms")
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            st = type(e).__name__
        with lock:
            res.append(st)

    ts = [threading.Thread(target=one) for _ in range(24)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(HTTP_S * 3)
    require(len(res) == 24, "%d of 24 concurrent requests came back" % len(res))
    require(res.count(200) >= 8, "only %d of 24 concurrent requests served: %s" % (res.count(200), res))
    a.ok("GET", "/api/host")            # still answering
    require("assert" not in c.output().lower(), "an lwIP assertion on the console")


def check_testguest(a, c):
    a.ok("POST", "/api/vms", {"name": "t1", "guest": "hello64"}, 201)
    st, _, ans = a.req("POST", "/api/vms", {"name": "t1", "guest": "hello64"})
    require(st == 409, "a second t1: %d %s" % (st, ans))
    a.ok("POST", "/api/vms/t1/start")
    wait_for("t1 to stop", lambda: a.ok("GET", "/api/vms/t1")["state"] == "stopped", 60)
    v = a.ok("GET", "/api/vms/t1")
    require("exited with code 0" in v["stop_reason"], "t1: %s" % v)
    out = c.command("vm stats t1", QEMU_CMD_S)
    exits = int(re.search(r"vm t1: \w+.*, (\d+) exits", out).group(1))
    require(v["exits"] == exits, "exits %d vs the shell's %d" % (v["exits"], exits))
    st, _, ans = a.req("GET", "/api/vms/t1/start")
    require(st == 405, "GET of start: %d" % st)
    log = a.ok("GET", "/api/vms/t1/log")
    require("log" in log, "no log: %s" % log)


def check_clone(a, c, tgt):
    ans = a.ok("POST", "/api/images", {"name": "demo", "url": tgt.url(), "cmdline": "root=/dev/vda1 rw quiet"}, 202)
    require(ans["name"] == "demo", "image add: %s" % ans)
    wait_for("demo to be ready", lambda: a.ok("GET", "/api/images/demo")["state"] == "ready", POOL_READY_S)
    require(re.search(r"^demo\s+ready\s", c.command("pool list", QEMU_CMD_S), re.M), "the shell has no ready demo")
    st, _, ans = a.req("POST", "/api/images", {"name": "demo", "url": tgt.url()})
    require(st in (400, 409), "a second demo: %d %s" % (st, ans))
    a.ok("POST", "/api/vms", {"name": "web4", "from": "demo", "ip": "10.0.2.24", "mem": "192M"}, 201)
    vms = shell_vms(c)
    require(vms.get("web4") == ("created", 192), "the shell shows web4 as %s" % (vms.get("web4"),))
    listed = {v["name"]: v for v in a.ok("GET", "/api/vms")}
    require(listed["web4"]["mem_bytes"] == 192 << 20 and listed["web4"]["state"] == "created", "API: %s" % listed)
    img = a.ok("GET", "/api/images/demo")
    require(img["clones"] == 1, "clones: %s" % img)
    st, _, ans = a.req("POST", "/api/images/demo/remove")
    require(st == 409 and "clones" in ans["error"], "removing an image with a clone: %d %s" % (st, ans))
    a.ok("POST", "/api/vms/web4/destroy")
    require("web4" not in shell_vms(c), "web4 still in the shell's list")
    st, _, _ = a.req("GET", "/api/vms/web4")
    require(st == 404, "web4 after destroy: %d" % st)
    require(a.ok("GET", "/api/images/demo")["clones"] == 0, "a clone left")


def guest_io(c, vm):
    """(disk reads, read bytes, frames sent) from `vm stats`."""
    m = re.search(r"disk: (\d+) reads \((\d+) bytes\), \d+ writes \(\d+ bytes\); net: \d+ frames in, (\d+) out",
                  c.command("vm stats " + vm, QEMU_CMD_S))
    require(m, "vm stats %s printed no disk/net line" % vm)
    return tuple(int(x) for x in m.groups())


def iscsi_done(c):
    """Commands the first iSCSI session completed, as `iscsi list` prints them."""
    m = re.search(r"commands: (\d+) done, mean latency \d+ us", c.command("iscsi list", QEMU_CMD_S))
    require(m, "iscsi printed no commands line")
    return int(m.group(1))


def check_metrics(a, c):
    from prometheus_client.parser import text_string_to_metric_families
    st, r, text = a.req("GET", "/metrics")
    require(st == 200 and r.getheader("Content-Type").startswith("text/plain; version=0.0.4"), "metrics: %d" % st)
    fams = {f.name: f for f in text_string_to_metric_families(text)}

    def value(name, **labels):
        for fam in fams.values():
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return s.value
        raise TestFailure("no sample %s%s in /metrics" % (name, labels))

    out = c.command("mem", QEMU_CMD_S)
    kib = int(re.search(r"memory: \d+ MiB usable \((\d+) KiB\)", out).group(1))
    require(value("shoal_host_memory_bytes", state="usable") == kib * 1024, "usable memory differs")
    for name, typ in (("shoal_vm_disk_requests", "counter"), ("shoal_vm_network_packets", "counter"),
                      ("shoal_vm_delta_blocks", "gauge"), ("shoal_image_fetched_bytes", "counter"),
                      ("shoal_iscsi_commands_in_flight", "gauge"), ("shoal_host_cpu_idle_seconds", "counter")):
        require(name in fams and fams[name].type == typ, "family %s missing or not a %s" % (name, typ))
    out = c.command("vm stats t1", QEMU_CMD_S)
    for reason, n in re.findall(r"^\s+(cpuid|hypercall|hlt|io)\s+(\d+)$", out, re.M):
        require(value("shoal_vm_exits_total", vm="t1", reason=reason) == int(n), "exits %s differ" % reason)
    pl = re.search(r"^demo\s+ready\s+\d+\s+(\d+)\s", c.command("pool list", QEMU_CMD_S), re.M)
    require(pl and value("shoal_image_clones", image="demo") == int(pl.group(1)), "clones differ")
    require(value("shoal_vm_info", vm="t1", state="stopped") == 1, "t1's info")
    require(fams["shoal_vm_cpu_seconds"].type == "counter", "cpu seconds is not a counter")
    require(value("shoal_iscsi_commands_total", image="demo") > 0, "no iSCSI commands counted")
    # Latency as a summary: its count lies between the shell's count before and after, its sum is positive.
    require(fams["shoal_iscsi_command_latency_seconds"].type == "summary", "latency is not a summary")
    before = iscsi_done(c)
    fams = {f.name: f for f in text_string_to_metric_families(a.req("GET", "/metrics")[2])}
    after = iscsi_done(c)
    n = value("shoal_iscsi_command_latency_seconds_count", image="demo")
    require(before <= n <= after and n > 0, "latency count %s, the shell's %d then %d" % (n, before, after))
    require(value("shoal_iscsi_command_latency_seconds_sum", image="demo") > 0, "latency sum is 0")
    # A clone's delta: 0 blocks, then 2 after the shell writes 8 KiB into its disk.
    a.ok("POST", "/api/vms", {"name": "web5", "from": "demo"}, 201)
    fams = {f.name: f for f in text_string_to_metric_families(a.req("GET", "/metrics")[2])}
    require(value("shoal_vm_delta_blocks", vm="web5") == 0, "a fresh clone has a delta")
    out = c.command("vm disk web5 write 1048576 8192 165", QEMU_CMD_S)
    require("error" not in out, "vm disk write: " + out)
    fams = {f.name: f for f in text_string_to_metric_families(a.req("GET", "/metrics")[2])}
    require(value("shoal_vm_delta_blocks", vm="web5") == 2, "8 KiB written, delta %s" %
            value("shoal_vm_delta_blocks", vm="web5"))
    require(value("shoal_vm_disk_requests_total", vm="web5", op="write") == 0, "the shell's write counted as the guest's")
    # The guest's own I/O: web5 boots and reads its disk; /metrics lies between `vm stats` before and after.
    a.ok("POST", "/api/vms/web5/start")
    end = time.monotonic() + 300
    while True:
        before = guest_io(c, "web5")
        fams = {f.name: f for f in text_string_to_metric_families(a.req("GET", "/metrics")[2])}
        after = guest_io(c, "web5")
        got = (value("shoal_vm_disk_requests_total", vm="web5", op="read"),
               value("shoal_vm_disk_bytes_total", vm="web5", op="read"),
               value("shoal_vm_network_packets_total", vm="web5", direction="tx"))
        if got[0] > 0 or time.monotonic() > end:
            break
        time.sleep(2)
    require(got[0] > 0, "web5 read nothing from its disk in 300 s")
    require(all(b <= g <= f for b, g, f in zip(before, got, after)),
            "web5's disk reads, read bytes and frames sent in /metrics %s, `vm stats` %s then %s" % (got, before, after))
    a.ok("POST", "/api/vms/web5/destroy")


def shoalctl(args, env, timeout=120):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "shoalctl")] + args, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check_shoalctl(r, pa, pb, fp_a, fp_b, b):
    cfg = os.path.join(r.logdir, "shoalctl.conf")
    with open(cfg, "w") as f:
        f.write("[default]\nhosts = 127.0.0.1:%d,127.0.0.1:%d\n\n[127.0.0.1:%d]\ntoken = %s\nfingerprint = %s\n\n"
                "[127.0.0.1:%d]\ntoken = %s\nfingerprint = %s\n" % (pa, pb, pa, TOKEN_A, fp_a, pb, TOKEN_B, fp_b))
    env = dict(os.environ, SHOAL_CONFIG=cfg)
    env.pop("SHOAL_TOKEN", None)
    rc, out, err = shoalctl(["-H", "127.0.0.1:%d" % pb, "vm", "create", "b1", "--guest", "hello64"], env)
    require(rc == 0 and "vm b1 created" in out, "create on b: %d %s %s" % (rc, out, err))
    rc, out, err = shoalctl(["vm", "list"], env)
    require(rc == 0, "vm list: %d %s" % (rc, err))
    require(re.search(r"^127\.0\.0\.1:%d\s+t1\s+stopped" % pa, out, re.M) and
            re.search(r"^127\.0\.0\.1:%d\s+b1\s+created" % pb, out, re.M), "vm list of both hosts:\n" + out)
    rc, out, err = shoalctl(["--json", "vm", "list"], env)
    names = sorted(v["name"] for v in json.loads(out))
    want = sorted(v["name"] for v in Api(pa, TOKEN_A).ok("GET", "/api/vms") + Api(pb, TOKEN_B).ok("GET", "/api/vms"))
    require(rc == 0 and names == want and "b1" in names and "t1" in names, "--json: %s, the APIs: %s" % (names, want))
    rc, out, err = shoalctl(["vm", "start", "b1"], env)
    require(rc == 0 and "vm b1 running" in out or "stopped" in out, "start b1 (on the second host): %s %s" % (out, err))
    b.expect(r"api> vm start b1", QEMU_CMD_S, "the start on host b")
    rc, out, err = shoalctl(["host", "info"], env)
    require(rc == 0 and out.count("SVM+NPT") == 2, "host info:\n" + out + err)
    bad = os.path.join(r.logdir, "shoalctl-bad.conf")
    with open(bad, "w") as f:
        f.write("[default]\ntoken = wrong-token-1\nfingerprint = %s\n" % fp_a)
    rc, out, err = shoalctl(["-H", "127.0.0.1:%d" % pa, "vm", "list"], dict(env, SHOAL_CONFIG=bad))
    require(rc == 1 and "401" in err, "a wrong token: %d %s" % (rc, err))
    rc, out, err = shoalctl(["-H", "127.0.0.1:%d" % pa, "--fingerprint", "00" * 32, "vm", "list"], env)
    require(rc == 1 and "fingerprint" in err, "a wrong fingerprint: %d %s" % (rc, err))
    rc, out, err = shoalctl(["--token", TOKEN_A, "vm", "list"], env)
    require(rc != 0, "shoalctl took a token on its command line")


def check_page(r, a, c, pa):
    st, resp, html = a.req("GET", "/", token="", headers={"Authorization": basic(TOKEN_A)})
    require(st == 200 and resp.getheader("Content-Type").startswith("text/html"), "GET /: %d" % st)
    require("<script>" in html and not re.search(r'(src|href)\s*=\s*"(https?:)?//', html),
            "the page is not self-contained")
    require(TOKEN_A not in html, "the page carries the token")
    a.ok("POST", "/api/vms", {"name": "p1", "guest": "hello64"}, 201)
    b = Browser(r.logdir)
    try:
        # As a browser does once its user typed the token into the Basic prompt: every request carries it.
        b.open("https://127.0.0.1:%d/" % pa, headers={"Authorization": basic(TOKEN_A)})
        b.wait("!!document.body && document.body.dataset.loaded === '1' &&"
               " document.querySelectorAll('#vms tr[data-vm]').length > 0", "the VM list")
        require(b.eval("location.hash") == "", "the token stays in the address bar")
        b.wait("!!document.querySelector('#vms tr[data-vm=p1]')", "p1 in the page")
        names = b.eval("[...document.querySelectorAll('#vms tr[data-vm]')].map(t => t.dataset.vm).sort()")
        want = sorted(v["name"] for v in a.ok("GET", "/api/vms"))
        require(names == want, "the page lists %s, the API %s" % (names, want))
        require(b.eval("(document.querySelector('#vms tr[data-vm=p1]') || {dataset: {}}).dataset.state") == "created",
                "p1 is not shown as created")
        b.screenshot("api-page-before.png")
        b.wait("(() => { const e = document.querySelector('button[data-act=start][data-vm=p1]');"
               " if (!e || e.disabled) return false; e.click(); return true; })()", "p1's start button")
        c.expect(r"api> vm start p1", 60, "the start from the page reaching the host")
        wait_for("p1 to have run", lambda: a.ok("GET", "/api/vms/p1")["state"] != "created", 60)
        require(shell_vms(c)["p1"][0] in ("running", "stopped"), "the shell does not show p1 started")
        b.wait("(document.querySelector('#vms tr[data-vm=p1]') || {dataset: {state: 'created'}}).dataset.state"
               " !== 'created'", "the page to show p1 started")
        r.screenshot = b.screenshot("api-page.png")
        b.screenshot("api-page-phone.png", 390, 844, True)
        require(b.eval("document.documentElement.scrollWidth <= window.innerWidth + 1"),
                "the page is wider than a phone's screen")
    finally:
        b.stop()


def check_migrate(r, a, c, pa, fp_a):
    """shoalctl vm migrate to the same host (as=): the listener opened and the migration started through the API;
    then a slow migration cancelled through the API."""
    a.ok("POST", "/api/vms", {"name": "m1", "guest": "carryon64", "mem": "16M"}, 201)
    a.ok("POST", "/api/vms/m1/start")
    st, _, ans = a.req("POST", "/api/vms/m1/migrate", {"key": "k"})
    require(st == 400 and ans.get("field") == "to", "migrate without 'to': %d %s" % (st, ans))
    st, _, ans = a.req("POST", "/api/vms/m1/migrate", {"to": "10.0.2.15:7070", "hold": "yes"})
    require(st == 400 and ans.get("field") == "hold", "migrate with a bad 'hold': %d %s" % (st, ans))
    cfg = os.path.join(r.logdir, "shoalctl-migrate.conf")
    key = os.urandom(16).hex()
    with open(cfg, "w") as f:
        f.write("[127.0.0.1:%d]\ntoken = %s\nfingerprint = %s\nmigrate_key = %s\naddress = 10.0.2.15\n"
                % (pa, TOKEN_A, fp_a, key))
    env = dict(os.environ, SHOAL_CONFIG=cfg)
    rc, out, err = shoalctl(["-H", "127.0.0.1:%d" % pa, "--timeout", "300", "vm", "migrate", "m1", "127.0.0.1:%d" % pa,
                             "--as", "m2"], env, timeout=400)
    require(rc == 0 and "vm m1 migrated" in out, "shoalctl vm migrate: %d %s %s" % (rc, out, err))
    require(key not in c.output(), "the migration key reached the console")
    vms = shell_vms(c)
    require("m1" not in vms and vms.get("m2", ("",))[0] == "running", "the shell shows %s" % vms)
    status = a.ok("GET", "/api/migrations")["status"]
    require("listening" in status or "7070" in status or status.strip() == "" or "migrat" in status,
            "migrate status: %r" % status)
    a.ok("POST", "/api/migrations/stop", {"port": 7070})
    # A slow migration (40 KB/s) cancelled through the API: m2 keeps running here, no m3 is left.
    a.ok("POST", "/api/migrations/listen", {"port": 7071, "key": key})
    a.ok("POST", "/api/vms/m2/migrate", {"to": "10.0.2.15:7071", "key": key, "as": "m3", "bandwidth": "40K"}, 202)
    c.expect(r"migrate: receiving m3 from ", 120, "the slow migration's start")
    a.ok("POST", "/api/migrations/cancel")
    end = time.monotonic() + 60
    while "m2 keeps running here" not in c.output() and time.monotonic() < end:
        time.sleep(1)
    require("error: vm migrate m2: cancelled by the operator; m2 keeps running here" in c.output(),
            "no cancel line for m2 on the console")
    vms = shell_vms(c)
    require(vms.get("m2", ("",))[0] == "running" and "m3" not in vms, "after the cancel the shell shows %s" % vms)
    a.ok("POST", "/api/migrations/stop", {"port": 7071})
    a.ok("POST", "/api/vms/m2/destroy")


def t_api(r):
    os.makedirs(r.logdir, exist_ok=True)
    tgt = Target(r.logdir)
    pa, pb, pc = free_port(), free_port(), free_port()
    crt, key, fp_b = make_cert(r.logdir)
    a_con = b_con = None
    try:
        # EPYC (as test-migrate): a guest's XSAVE state migrates only where the CPU model has XSAVE.
        a_con = boot(r, "api-a", "api_token=%s" % TOKEN_A, [(pa, 443), (pc, 8080)], cpu="EPYC")
        r.console = a_con
        b_con = boot(r, "api-b", "api_listen=8443 api_token=%s api_cert=api-cert.pem api_key=api-key.pem" % TOKEN_B,
                     [(pb, 8443)], (crt, key))
        r.check("api-boot", lambda: (a_con.boot(QEMU_BOOT_S), b_con.boot(QEMU_BOOT_S)))
        r.check("api-listening", lambda: require(re.search(r"api: https on 0\.0\.0\.0:443", a_con.output()) and
                                                 re.search(r"api: https on 0\.0\.0\.0:8443", b_con.output()),
                                                 "no listening line"))
        a, b = Api(pa, TOKEN_A), Api(pb, TOKEN_B)
        fp = []
        r.check("api-tls-openssl", lambda: fp.append(check_tls(a, a_con, pa)))
        r.check("api-plain-http-refused", lambda: check_plain_refused(pa))
        r.check("api-auth", lambda: check_auth(a))
        r.check("api-host", lambda: check_host(a, a_con))
        r.check("api-bad-requests", lambda: check_bad_requests(a))
        r.check("api-testguest", lambda: check_testguest(a, a_con))
        r.check("api-clone-matches-shell", lambda: check_clone(a, a_con, tgt))
        r.check("api-metrics-prometheus", lambda: check_metrics(a, a_con))
        r.check("api-slow-clients", lambda: check_slow_clients(a, pa))
        r.check("api-concurrent", lambda: check_concurrent(a, a_con))
        r.check("api-module-certificate", lambda: check_module_cert(b, b_con, pb, fp_b))
        r.check("api-page-chromium", lambda: check_page(r, a, a_con, pa))
        r.check("api-shoalctl-two-hosts", lambda: check_shoalctl(r, pa, pb, fp[0] if fp else "", fp_b, b_con))
        r.check("api-migrate-shoalctl", lambda: check_migrate(r, a, a_con, pa, fp[0] if fp else ""))
        r.check("api-image-remove", lambda: (a.ok("POST", "/api/images/demo/remove"),
                                             require(a.req("GET", "/api/images/demo")[0] == 404, "demo still there")))
        r.check("api-plain-http-mode", lambda: check_plain_mode(a_con, a, pa, pc))
        r.check("api-http-boot-parameter", lambda: check_http_boot(r))
    finally:
        for con in (a_con, b_con):
            if con:
                con.close()
        tgt.stop()


TESTS = [("api", t_api)]

if __name__ == "__main__":
    sys.exit(main(TESTS, "api", required=("shoal.elf", "golden/demo.img")))
