"""The hardened HTTP server through a real iocd, a real broker and real
clients (curl, openssl): HTTPS with a CA and a server certificate the test
makes with openssl (the API's exact JSON, the console with its
Content-Security-Policy, one live-stream event over TLS, plain HTTP to the
HTTPS port refused, an unloadable certificate refused at start with its
file:line), the off-loopback rule (HTTPS or behind_proxy, refused at load
with file:line), the Host check against DNS rebinding (421 for a foreign
name, 400 without Host, the loopback's names and [http] allowed_hosts
answered, counted in /metrics and logged), the security headers, and
[http] web_root refusing a symlinked directory and a symlinked file with
404 while serving regular files."""
import json
import os
import subprocess
import time
import unittest

from iocdtest import AIR_ADAPTER, IOCCTL, IOCD, SOURCE_ROOT, IocdTestCase, air, free_port, wait_until

T0 = 1795330800000  # 2026-11-22T07:00:00Z
# The default [http] map_tiles is OpenStreetMap's: its origin may serve images.
CSP_CONSOLE = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: "
               "https://tile.openstreetmap.org; "
               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
CSP_API = "default-src 'none'; frame-ancestors 'none'"
FOREIGN = {"error": "misdirected request: Host not allowed"}


def curl(*args, timeout=15):
    """curl -sS with a status line appended: (exit code, status, headers dict, body text)."""
    r = subprocess.run(["curl", "-sS", "-D", "-", "--max-time", "10", *args],
                       capture_output=True, timeout=timeout)
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or "\r\n\r\n" not in out:
        return r.returncode, None, {}, r.stderr.decode("utf-8", "replace")
    head, body = out.split("\r\n\r\n", 1)
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return r.returncode, int(lines[0].split()[1]), headers, body


def make_certs(d):
    """A CA and a server certificate for localhost and 127.0.0.1 in d."""
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True,  # noqa: E731
                                    timeout=30)
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=iocd test CA")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return [os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key")]


def line_of(path, text):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.startswith(text):
                return n
    raise AssertionError("%s not in %s" % (text, path))


class HttpsTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.ca, self.cert, self.key = make_certs(self.dir)

    def https_iocd(self, extra=""):
        port = free_port()
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 127.0.0.1:%d\ntls_cert = %s\n"
                      "tls_key = %s\n%s" % (port, self.cert, self.key, extra))
        d.http_port = port
        return d

    def test_https_api_console_and_live(self):
        d = self.https_iocd().start()
        self.assertIn("http: listening on 127.0.0.1:%d (HTTPS, TLSv1.2+, Host checked)"
                      % d.http_port, d.log_text())
        base = "https://127.0.0.1:%d" % d.http_port
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 35.25, 27.5)])

        def latest():
            rc, st, _, body = curl("--cacert", self.ca, base + "/api/v1/latest?match=air/pk-01/pm25")
            return st == 200 and json.loads(body)["series"]
        wait_until(latest, what="the observation over HTTPS")
        rc, st, h, body = curl("--cacert", self.ca, base + "/api/v1/latest?match=air/pk-01/pm25")
        self.assertEqual((rc, st), (0, 200))
        self.assertEqual(json.loads(body), {"series": [
            {"series": "air/pk-01/pm25", "source": "air", "device": "pk-01", "metric": "pm25",
             "unit": "ug/m3", "value": 35.25, "time": "2026-11-22T07:00:00Z", "time_ms": T0}]})
        self.assertEqual(h["content-security-policy"], [CSP_API])

        # The console, by name too (the certificate names localhost).
        rc, st, h, body = curl("--cacert", self.ca, "https://localhost:%d/" % d.http_port)
        self.assertEqual((rc, st), (0, 200))
        with open(os.path.join(SOURCE_ROOT, "web", "index.html"), encoding="utf-8") as f:
            self.assertEqual(body, f.read())
        self.assertEqual(h["content-security-policy"], [CSP_CONSOLE])
        self.assertEqual(h["x-content-type-options"], ["nosniff"])
        self.assertEqual(h["referrer-policy"], ["no-referrer"])
        self.assertEqual(h["content-type"], ["text/html; charset=utf-8"])

        # One live-stream event over TLS, through curl.
        p = subprocess.Popen(["curl", "-sS", "-N", "--max-time", "20", "--cacert", self.ca,
                              base + "/api/v1/live?match=obs/air/pk-01/pm25&types=obs"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        wait_until(lambda: "iocd_live_clients 1\n" in curl(
            "--cacert", self.ca, base + "/metrics")[3], what="the TLS stream client")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 60, 41.5)])
        rec, deadline = [], time.monotonic() + 15
        while time.monotonic() < deadline:
            line = p.stdout.readline().decode()
            if not line:
                break
            if line == "\n" and any(r.startswith("event: ") for r in rec):
                break
            if not line.startswith(":") and line != "\n":
                rec.append(line.rstrip("\n"))
        p.kill()
        p.wait(5)
        fields = dict(r.split(": ", 1) for r in rec)
        self.assertEqual(fields["event"], "obs")
        data = json.loads(fields["data"])
        data.pop("received_ms")
        self.assertEqual(data, {"type": "obs", "series": "air/pk-01/pm25", "source": "air",
                                "device": "pk-01", "metric": "pm25", "unit": "ug/m3",
                                "value": 41.5, "time": "2026-11-22T07:01:00Z",
                                "time_ms": T0 + 60000})

        # Plain HTTP to the HTTPS port: no HTTP answer (curl 52, empty reply).
        rc, st, _, err = curl("http://127.0.0.1:%d/healthz" % d.http_port)
        self.assertEqual((rc, st), (52, None), err)
        # And a client that does not trust the CA is refused (curl 60).
        rc, st, _, err = curl(base + "/healthz")
        self.assertEqual((rc, st), (60, None), err)
        self.assertEqual(d.stop(), 0)

    def test_iocctl_over_https(self):
        d = self.https_iocd().start()
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 35.25)])

        def iocctl(*args, env=None):
            return subprocess.run([IOCCTL, "--config", d.conf, *args], capture_output=True,
                                  text=True, timeout=30,
                                  env=dict(os.environ, **(env or {})))
        # --config: HTTPS, trusting [http] tls_cert (the server's own certificate).
        wait_until(lambda: json.loads(iocctl("status", "--json").stdout or "{}")
                   .get("adapters", {}).get("air", {}).get("observations") == 1,
                   what="iocctl status over HTTPS")
        r = iocctl("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["adapters"]["air"]["accepted"], 1)
        # $IOCD_CACERT: a CA instead.
        r = iocctl("status", "--json", env={"IOCD_CACERT": self.ca})
        self.assertEqual(r.returncode, 0, r.stderr)
        # A file the certificate does not chain to: refused, never unverified.
        other = os.path.join(self.dir, "other")
        os.makedirs(other)
        other_ca = make_certs(other)[0]
        r = iocctl("status", "--json", env={"IOCD_CACERT": other_ca})
        self.assertEqual(r.returncode, 1)
        self.assertIn("iocctl: https://127.0.0.1:%d/api/v1/status: " % d.http_port, r.stderr)
        self.assertIn("certificate", r.stderr.lower())

    def test_tls_min_version(self):
        d = self.https_iocd("tls_min_version = TLSv1.3\n").start()
        base = "https://127.0.0.1:%d/healthz" % d.http_port
        rc, st, _, _ = curl("--cacert", self.ca, "--tls-max", "1.2", base)
        self.assertEqual((rc, st), (35, None))  # handshake refused
        rc, st, _, _ = curl("--cacert", self.ca, "--tlsv1.3", base)
        self.assertEqual((rc, st), (0, 200))

    def test_bad_certificate_refused_at_start(self):
        d = self.https_iocd()
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("tls_cert = %s\n" % self.cert,
                                 "tls_cert = %s/missing.pem\n" % self.dir))
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(timeout=10), 1)
        n = line_of(d.conf, "tls_cert = ")
        self.assertIn("%s:%d: [http] tls_cert %s/missing.pem: cannot load the certificate: "
                      "No such file or directory" % (d.conf, n, self.dir), d.log_text())

        # A key that is not the certificate's.
        other = os.path.join(self.dir, "other.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-out", other], check=True,
                       capture_output=True, timeout=30)
        d2 = self.iocd(AIR_ADAPTER, name="iocd2", extra="[http]\nlisten = 127.0.0.1:%d\n"
                       "tls_cert = %s\ntls_key = %s\n" % (free_port(), self.cert, other))
        d2.start(wait_ready=False)
        self.assertEqual(d2.proc.wait(timeout=10), 1)
        self.assertIn("%s:%d: [http] tls_key %s does not belong to the certificate in %s"
                      % (d2.conf, line_of(d2.conf, "tls_key = "), other, self.cert),
                      d2.log_text())


class OffLoopbackTest(IocdTestCase):
    def check_config(self, http):
        d = self.iocd(AIR_ADAPTER, extra="[http]\n" + http)
        r = subprocess.run([IOCD, "--config", d.conf, "--check-config"], capture_output=True,
                           text=True, timeout=30)
        return d, r.returncode, r.stdout + r.stderr

    def test_https_required_off_loopback(self):
        d, rc, out = self.check_config("token = t0k\nlisten = 0.0.0.0:8443\n")
        self.assertEqual(rc, 1)
        self.assertIn("%s:%d: [http] listen 0.0.0.0:8443 is not a loopback address: HTTPS is "
                      "required (set [http] tls_cert and tls_key), or set [http] behind_proxy = "
                      "true when a reverse proxy in front ends TLS"
                      % (d.conf, line_of(d.conf, "listen = 0.0.0.0")), out)
        # And iocd refuses to start on it, before binding anything.
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(timeout=10), 1)
        self.assertIn("HTTPS is required", d.log_text())

        d, rc, out = self.check_config("listen = [::]:8443\ntoken = t0k\n"
                                       "tls_cert = /etc/iocd/cert.pem\n")
        self.assertEqual(rc, 0, out)
        d, rc, out = self.check_config("listen = 0.0.0.0:8080\ntoken = t0k\nbehind_proxy = true\n")
        self.assertEqual(rc, 0, out)

    def test_behind_proxy_warns_at_start(self):
        port = free_port()
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 127.0.0.1:%d\nbehind_proxy = true\n"
                      % port)
        d.http_port = port
        d.start()
        self.assertIn("warning http: [http] behind_proxy = true: 127.0.0.1:%d serves plain HTTP; "
                      "only a reverse proxy that ends TLS may reach it" % port, d.log_text())
        d.restart()
        self.assertEqual(d.log_text().count("behind_proxy = true: 127.0.0.1"), 2)


class HostHeaderTest(IocdTestCase):
    def test_host_check(self):
        port = free_port()
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 127.0.0.1:%d\n"
                      "allowed_hosts = iocd.city.example proxy.example:8443\n" % port)
        d.http_port = port
        d.start()
        url = "http://127.0.0.1:%d/api/v1/status" % port

        def status(host):
            rc, st, h, body = curl("-H", "Host: " + host if host is not None else "Host:", url)
            self.assertEqual(rc, 0)
            return st, json.loads(body), h
        for host in ["evil.example", "evil.example:%d" % port, "localhost.evil.example",
                     "127.0.0.1.nip.example", "proxy.example:8444"]:
            st, body, h = status(host)
            self.assertEqual((st, body), (421, FOREIGN), host)
            self.assertEqual(h["content-security-policy"], [CSP_API])
        for host in ["127.0.0.1:%d" % port, "127.0.0.1", "localhost:%d" % port, "localhost",
                     "[::1]:%d" % port, "127.3.2.1", "iocd.city.example",
                     "IOCD.city.example:443", "proxy.example:8443"]:
            st, body, _ = status(host)
            self.assertEqual(st, 200, host)
            self.assertEqual(body["version"], d.api("/api/v1/status")[1]["version"])
        # curl -H 'Host:' sends none: HTTP/1.1 requires one.
        self.assertEqual(status(None)[:2], (400, {"error": "missing Host header"}))
        # The console and the live stream are behind the same check.
        rc, st, _, body = curl("-H", "Host: evil.example", "http://127.0.0.1:%d/" % port)
        self.assertEqual((st, json.loads(body)), (421, FOREIGN))
        rc, st, _, body = curl("-H", "Host: evil.example",
                               "http://127.0.0.1:%d/api/v1/live" % port)
        self.assertEqual((st, json.loads(body)), (421, FOREIGN))

        st, _, text = d.http("/metrics")
        text = text.decode()
        self.assertIn('\niocd_http_host_refused_total{reason="foreign_host"} 7\n', text)
        self.assertIn('\niocd_http_host_refused_total{reason="missing_host"} 1\n', text)
        log = d.log_text()
        self.assertIn("warning http: refused Host 'evil.example' for /api/v1/status "
                      "(foreign_host: not the loopback's nor in [http] allowed_hosts): 421", log)
        self.assertIn("warning http: refused /api/v1/status without a Host header "
                      "(missing_host): 400", log)

    def test_rate_limited_log(self):
        d = self.iocd(AIR_ADAPTER)
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("rate_limit_burst = 1000", "rate_limit_burst = 3\n"
                                 "rate_limit_interval = 1h"))
        d.start()
        for i in range(10):
            rc, st, _, _ = curl("-H", "Host: evil%d.example" % i,
                                "http://127.0.0.1:%d/healthz" % d.http_port)
            self.assertEqual(st, 421)
        self.assertEqual(d.log_text().count("refused Host 'evil"), 3)
        st, _, text = d.http("/metrics")
        self.assertIn('\niocd_http_host_refused_total{reason="foreign_host"} 10\n',
                      text.decode())


class WebRootTest(IocdTestCase):
    def test_symlinks_refused(self):
        root = os.path.join(self.dir, "web")
        os.makedirs(os.path.join(root, "js"))
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<html>root</html>")
        with open(os.path.join(root, "js", "app.js"), "w") as f:
            f.write("let v = 1;")
        secret = os.path.join(self.dir, "secret")
        os.makedirs(secret)
        with open(os.path.join(secret, "passwd"), "w") as f:
            f.write("root:x:0:0")
        os.symlink(secret, os.path.join(root, "etcdir"))                    # a directory
        os.symlink(os.path.join(secret, "passwd"), os.path.join(root, "p.txt"))  # a file
        os.symlink("js", os.path.join(root, "js2"))                        # even inside
        port = free_port()
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 127.0.0.1:%d\nweb_root = %s\n"
                      % (port, root))
        d.http_port = port
        d.start()
        base = "http://127.0.0.1:%d" % port
        for path in ["/etcdir/passwd", "/p.txt", "/js2/app.js"]:
            rc, st, h, body = curl(base + path)
            self.assertEqual((st, json.loads(body)), (404, {"error": "not found"}), path)
        rc, st, h, body = curl(base + "/js/app.js")
        self.assertEqual((st, body), (200, "let v = 1;"))
        self.assertEqual(h["content-security-policy"], [CSP_CONSOLE])
        rc, st, h, body = curl(base + "/")
        self.assertEqual((st, body), (200, "<html>root</html>"))


if __name__ == "__main__":
    unittest.main()
