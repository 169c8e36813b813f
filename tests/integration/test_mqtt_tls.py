"""TLS to the broker and credentials from files, against real mosquittos
configured by the test with certificates openssl makes here:

- a TLS listener with a password file (mosquitto_passwd -b): iocd connects
  by IP and by name, its password from a LoadCredential-style directory
  ($CREDENTIALS_DIRECTORY), and stores exactly what was published;
- a listener that wants a client certificate and takes its CN as the user
  name (require_certificate, use_identity_as_username): iocd with its
  certificate ingests exactly; without one it is told the broker wants one;
- a wrong CA, an expired broker certificate, a certificate for another
  host name and a wrong password: each refused with a log line naming the
  cause, while iocd stays up and keeps retrying (attempts counted in
  /api/v1/status);
- bad TLS and credential keys are refused at load with FILE:LINE."""
import os
import signal
import shutil
import subprocess
import sys
import time
import unittest

from iocdtest import (IOCD, AIR_ADAPTER, Broker, Iocd, IocdTestCase, air, free_port,
                      wait_until)

CA_CNF = """[ ca ]
default_ca = CA_default
[ CA_default ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
[ policy_any ]
commonName = supplied
"""


def run(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, timeout=60, **kw)


class Pki:
    """Two CAs and the certificates the tests need, all made with openssl."""

    def __init__(self, d):
        self.d = d
        os.makedirs(os.path.join(d, "newcerts"))
        # mosquitto started as root reads its files as user mosquitto.
        os.chmod(d, 0o755)
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write(CA_CNF.format(d=d))
        self.ca = self.make_ca("ca", "iocd test CA")
        self.other_ca = self.make_ca("other-ca", "some other CA")
        self.server = self.issue("server", "broker", "DNS:localhost,IP:127.0.0.1")
        self.expired = self.issue("expired", "broker", "DNS:localhost,IP:127.0.0.1",
                                  start="20200101000000Z", end="20200201000000Z")
        self.elsewhere = self.issue("elsewhere", "broker.example.invalid",
                                    "DNS:broker.example.invalid")
        self.client = self.issue("client", "iocd-client", None)

    def p(self, name):
        return os.path.join(self.d, name)

    def make_ca(self, name, cn):
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.p(name + ".key"), "-out", self.p(name + ".crt"),
            "-days", "30", "-subj", "/CN=" + cn)
        return self.p(name + ".crt")

    def issue(self, name, cn, san, start=None, end=None):
        """Key and certificate NAME.key/NAME.crt signed by ca (openssl ca, so
        the validity period can lie in the past)."""
        ext = self.p(name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints = CA:FALSE\n")
            if san:
                f.write("subjectAltName = %s\n" % san)
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.p(name + ".key"), "-out", self.p(name + ".csr"),
            "-subj", "/CN=" + cn)
        cmd = ["openssl", "ca", "-batch", "-notext", "-config", self.p("ca.cnf"),
               "-cert", self.p("ca.crt"), "-keyfile", self.p("ca.key"),
               "-in", self.p(name + ".csr"), "-out", self.p(name + ".crt"), "-extfile", ext]
        cmd += ["-startdate", start, "-enddate", end] if start else ["-days", "30"]
        run(*cmd)
        os.chmod(self.p(name + ".key"), 0o600 if name == "client" else 0o644)
        return self.p(name + ".crt")


def tls_broker(workdir, pki, cert, extra=""):
    os.makedirs(workdir, exist_ok=True)
    os.chmod(workdir, 0o777)  # its log, written as user mosquitto when started as root
    b = Broker(workdir)
    b.extra = ("cafile %s\ncertfile %s\nkeyfile %s\n" % (pki.ca, cert, cert[:-4] + ".key")) + extra
    return b.start()


def password_file(workdir, user, password):
    path = os.path.join(workdir, "mosquitto.passwd")
    open(path, "w").close()
    run("mosquitto_passwd", "-b", path, user, password)
    os.chmod(path, 0o644)
    return path


def tls_pub(broker, pki, topic, payloads, user=None, password=None, cert=None,
            insecure=False):
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", topic,
           "-l", "--cafile", pki.ca] + (["--insecure"] if insecure else [])
    if user:
        cmd += ["-u", user, "-P", password]
    if cert:
        cmd += ["--cert", cert, "--key", cert[:-4] + ".key"]
    subprocess.run(cmd, input="\n".join(payloads) + "\n", check=True, text=True, timeout=60)


class MqttTlsTest(IocdTestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.pki_dir = tempfile.mkdtemp(prefix="iocd-pki-")
        cls.pki = Pki(cls.pki_dir)

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.pki_dir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        os.chmod(self.dir, 0o755)  # the password files, for mosquitto's user
        self.brokers = []

    def tearDown(self):
        for b in self.brokers:
            b.stop()
        super().tearDown()

    def broker_in(self, name, cert, extra=""):
        b = tls_broker(os.path.join(self.dir, name), self.pki, cert, extra)
        self.brokers.append(b)
        return b

    def tls_iocd(self, broker, mqtt_extra, name, client_id=None):
        d = self.iocd(AIR_ADAPTER, name=name, client_id=client_id or "iocd-" + name,
                      db=os.path.join(self.dir, name + ".db"))
        d.broker = broker
        with open(d.conf) as f:
            text = f.read()
        text = text.replace("port = %d\n" % self.broker.port,
                            "port = %d\n%s" % (broker.port, mqtt_extra), 1)
        with open(d.conf, "w") as f:
            f.write(text)
        return d

    def assert_stored(self, d, station, values):
        rows = d.query("air/%s/pm25" % station, "--resolution", "1m", "--from",
                       "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z")
        self.assertEqual(sum(r["count"] for r in rows), len(values))
        self.assertAlmostEqual(sum(r["sum"] for r in rows), sum(values), places=6)

    def test_backlog_through_the_read_ahead(self):
        """OpenSSL reads its records through iocd's read-ahead
        ([mqtt] socket_buffers, docs/performance.md): a 1500-message QoS 1
        backlog over TLS arrives whole, once, in far fewer reads of the
        kernel than libmosquitto's."""
        from test_metrics import samples
        b = self.broker_in("backlog", self.pki.server)
        d = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\n" % self.pki.ca, "backlog")
        d.start()
        d.stop()
        values = [0.5 * i for i in range(1500)]
        tls_pub(b, self.pki, "pleiku/air/GL-AQ09/data",
                [air("GL-AQ09", "2026-12-01T%02d:%02d:%02dZ"
                     % (i * 10 // 3600, i * 10 // 60 % 60, i * 10 % 60), v)
                 for i, v in enumerate(values)])
        d.restart()
        d.wait_messages("air", 1500, timeout=60)
        self.assert_stored(d, "GL-AQ09", values)
        m = samples(d.http("/metrics")[2].decode())
        self.assertEqual(m.get('iocd_rejects_total{adapter="air",reason="duplicate"}', 0), 0)
        reads = m['iocd_broker_socket_reads_total{by="libmosquitto"}']
        reads_k = m['iocd_broker_socket_reads_total{by="kernel"}']
        self.assertGreater(reads, 0)
        self.assertLessEqual(10 * reads_k, reads)

    def test_password_from_credentials_directory_over_tls(self):
        pw = password_file(self.dir, "iocd", "s3cret-pw")
        b = self.broker_in("pwbroker", self.pki.server,
                           "allow_anonymous false\npassword_file %s\n" % pw)
        creds = os.path.join(self.dir, "credentials")
        os.mkdir(creds, 0o700)
        with open(os.path.join(creds, "mqtt-password"), "w") as f:
            f.write("s3cret-pw\n")  # the trailing newline is not part of the password
        os.chmod(os.path.join(creds, "mqtt-password"), 0o400)
        # By IP (the certificate's IP SAN) and by name (its DNS SAN).
        by_ip = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\nusername = iocd\n"
                                 "password_file = credential:mqtt-password\n" % self.pki.ca, "ip")
        by_ip.env = {"CREDENTIALS_DIRECTORY": creds}
        by_name = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\nusername = iocd\n"
                                   "password_file = credential:mqtt-password\n" % self.pki.ca,
                                "name")
        by_name.env = {"CREDENTIALS_DIRECTORY": creds}
        with open(by_name.conf) as f:
            text = f.read()
        with open(by_name.conf, "w") as f:
            f.write(text.replace("host = 127.0.0.1", "host = localhost", 1))
        named = localhost_resolves()
        instances = (by_ip, by_name) if named else (by_ip,)
        for d in instances:
            d.start()
        values = [10.5 + i for i in range(40)]
        tls_pub(b, self.pki, "pleiku/air/GL-AQ01/data",
                [air("GL-AQ01", "2026-12-01T10:%02d:00Z" % (i % 60), v)
                 for i, v in enumerate(values)], user="iocd", password="s3cret-pw")
        for d in instances:
            d.wait_messages("air", 40)
            self.assert_stored(d, "GL-AQ01", values)
            log = d.log_text()
            self.assertIn("TLS to ", log)
            self.assertNotIn("readable by group or others", log)
            st, body = d.api("/api/v1/status")
            self.assertEqual(body["broker"]["state"], "connected")
            self.assertEqual(body["broker"]["last_error"], "")
        if named:
            self.assertIn("connected to localhost:%d" % b.port, by_name.log_text())

    def test_client_certificate_only_listener(self):
        b = self.broker_in("certbroker", self.pki.server,
                           "allow_anonymous false\nrequire_certificate true\n"
                           "use_identity_as_username true\n")
        d = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\ntls_cert_file = %s\n"
                             "tls_key_file = %s\n"
                          % (self.pki.ca, self.pki.client, self.pki.p("client.key")), "cert")
        # The same broker without a client certificate: told what is missing.
        bare = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\n" % self.pki.ca, "bare")
        d.start()
        bare.start(wait_ready=False)
        values = [1.25 * i for i in range(1, 31)]
        tls_pub(b, self.pki, "pleiku/air/GL-AQ02/data",
                [air("GL-AQ02", "2026-12-01T11:%02d:00Z" % i, v) for i, v in enumerate(values)],
                cert=self.pki.client)
        d.wait_messages("air", 30)
        self.assert_stored(d, "GL-AQ02", values)
        wait_until(lambda: "requires a client certificate" in bare.log_text(), timeout=15,
                   what="the missing client certificate named")
        self.assertIn("set tls_cert_file and tls_key_file", bare.log_text())
        self.assertTrue(bare.alive())
        self.assertEqual(bare.counter("air", "messages"), 0)

    def test_sighup_reads_a_renewed_client_certificate(self):
        """systemctl reload (SIGHUP) with the client certificate renewed at
        the same path: iocd reconnects with it, and nothing is lost."""
        b = self.broker_in("hupbroker", self.pki.server,
                           "allow_anonymous false\nrequire_certificate true\n"
                           "use_identity_as_username true\n")
        mine = os.path.join(self.dir, "mine")
        os.mkdir(mine)
        crt, key = os.path.join(mine, "client.crt"), os.path.join(mine, "client.key")
        shutil.copy(self.pki.client, crt)
        shutil.copy(self.pki.p("client.key"), key)
        d = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\ntls_cert_file = %s\n"
                             "tls_key_file = %s\n" % (self.pki.ca, crt, key), "hup")
        d.start()
        first = [2.5 * i for i in range(1, 11)]
        tls_pub(b, self.pki, "pleiku/air/GL-AQ05/data",
                [air("GL-AQ05", "2026-12-01T12:%02d:00Z" % i, v) for i, v in enumerate(first)],
                cert=self.pki.client)
        d.wait_messages("air", 10)
        self.pki.issue("client-renewed", "iocd-client", None)
        shutil.copy(self.pki.p("client-renewed.crt"), crt)
        shutil.copy(self.pki.p("client-renewed.key"), key)
        n = d.log_text().count("subscribed to")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload: configuration applied" in d.log_text(), what="the reload")
        self.assertIn("reload: connection settings or TLS files changed; reconnecting",
                      d.log_text())
        wait_until(lambda: d.log_text().count("subscribed to") > n, what="the new connection")
        second = [100.0 + i for i in range(10)]
        tls_pub(b, self.pki, "pleiku/air/GL-AQ05/data",
                [air("GL-AQ05", "2026-12-01T12:%02d:00Z" % (20 + i), v)
                 for i, v in enumerate(second)], cert=self.pki.client)
        d.wait_messages("air", 20)
        self.assert_stored(d, "GL-AQ05", first + second)
        # A reload that changes nothing keeps the connection.
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log_text().count("reload: configuration applied") == 2,
                   what="the second reload")
        self.assertIn("reload: connection settings and TLS files unchanged; connection kept",
                      d.log_text())

    def test_broker_up_after_iocd(self):
        """A refused TCP connect during TLS is a retry, not a busy loop
        (libmosquitto alone would poll the dead socket forever)."""
        workdir = os.path.join(self.dir, "late")
        os.makedirs(workdir)
        os.chmod(workdir, 0o777)
        b = Broker(workdir)
        b.extra = "cafile %s\ncertfile %s\nkeyfile %s\n" % (
            self.pki.ca, self.pki.server, self.pki.p("server.key"))
        d = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\n" % self.pki.ca, "late")
        d.start(wait_ready=False)
        wait_until(lambda: "cannot connect to 127.0.0.1:%d: Connection refused; retrying" % b.port
                   in d.log_text(), timeout=10, what="the refusal logged")

        def cpu_seconds():
            with open("/proc/%d/stat" % d.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        before = cpu_seconds()
        time.sleep(2)
        self.assertLess(cpu_seconds() - before, 0.5)
        self.brokers.append(b.start())
        wait_until(d._ready, timeout=15, what="iocd to connect once the broker is up")
        tls_pub(b, self.pki, "pleiku/air/GL-AQ04/data",
                [air("GL-AQ04", "2026-12-01T13:%02d:00Z" % i, 0.5 * i) for i in range(12)])
        d.wait_messages("air", 12)
        self.assert_stored(d, "GL-AQ04", [0.5 * i for i in range(12)])

    def test_tls_insecure_skips_only_the_host_name_check(self):
        b = self.broker_in("elsewhere", self.pki.elsewhere)
        ok = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\ntls_insecure = true\n"
                           % self.pki.ca, "insecure")
        wrong_ca = self.tls_iocd(b, "tls = true\ntls_ca_file = %s\ntls_insecure = true\n"
                                 % self.pki.other_ca, "insecure-wrongca")
        ok.start()
        wrong_ca.start(wait_ready=False)
        self.assertIn("[mqtt] tls_insecure = true: the broker's certificate is not checked "
                      "against host '127.0.0.1'", ok.log_text())
        tls_pub(b, self.pki, "pleiku/air/GL-AQ03/data",
                [air("GL-AQ03", "2026-12-01T12:%02d:00Z" % i, 2.0 * i) for i in range(10)],
                insecure=True)
        ok.wait_messages("air", 10)
        self.assert_stored(ok, "GL-AQ03", [2.0 * i for i in range(10)])
        # The chain is still verified.
        wait_until(lambda: "does not chain to a CA iocd trusts" in wrong_ca.log_text(),
                   timeout=15, what="the wrong CA refused despite tls_insecure")
        self.assertEqual(wrong_ca.counter("air", "messages"), 0)

    def test_refusals_name_the_cause_and_iocd_keeps_retrying(self):
        pw = password_file(self.dir, "iocd", "right")
        good = self.broker_in("good", self.pki.server,
                              "allow_anonymous false\npassword_file %s\n" % pw)
        expired = self.broker_in("expired", self.pki.expired)
        elsewhere = self.broker_in("elsewhere", self.pki.elsewhere)
        pwfile = os.path.join(self.dir, "wrong-password")
        with open(pwfile, "w") as f:
            f.write("wrong\n")
        os.chmod(pwfile, 0o644)  # also: warned about, being world-readable
        cases = {
            "wrongca": (good, "tls = true\ntls_ca_file = %s\nusername = iocd\npassword = right\n"
                        % self.pki.other_ca,
                        "TLS handshake failed: the broker's certificate does not chain to a CA "
                        "iocd trusts (self-signed certificate in certificate chain, at "
                        "/CN=iocd test CA; iocd trusts tls_ca_file %s): wrong CA?"
                        % self.pki.other_ca),
            "expired": (expired, "tls = true\ntls_ca_file = %s\n" % self.pki.ca,
                        "TLS handshake failed: the broker's certificate has expired (notAfter "
                        "Feb  1 00:00:00 2020 GMT"),
            "wronghost": (elsewhere, "tls = true\ntls_ca_file = %s\n" % self.pki.ca,
                          "TLS handshake failed: the broker's certificate is not for host "
                          "'127.0.0.1' (it names DNS:broker.example.invalid)"),
            "wrongpw": (good, "tls = true\ntls_ca_file = %s\nusername = iocd\n"
                        "password_file = %s\n" % (self.pki.ca, pwfile),
                        "refused the connection as user 'iocd': Connection Refused: not "
                        "authorised. (check username and the password in password_file)"),
        }
        procs = {}
        for name, (b, extra, _) in cases.items():
            procs[name] = self.tls_iocd(b, extra, name).start(wait_ready=False)
        for name, (b, extra, line) in cases.items():
            d = procs[name]
            wait_until(lambda: line in d.log_text(), timeout=20,
                       what="%s: %r in the log:\n%s" % (name, line, d.log_text()[-1500:]))
            # Still alive, still trying: the attempts grow.
            wait_until(lambda: d.api("/api/v1/status")[1]["broker"]["attempts"] >= 3, timeout=20,
                       what="%s: three failed attempts" % name)
            st, body = d.api("/api/v1/status")
            self.assertTrue(d.alive())
            self.assertEqual(body["broker"]["state"], "disconnected")
            self.assertEqual(body["broker"]["connects"], 0)
            self.assertIn(line.split(": ", 1)[1] if name == "wrongpw" else line,
                          body["broker"]["last_error"])
            self.assertEqual(d.counter("air", "messages"), 0)
        self.assertIn("wrong-password is readable by group or others (mode 0644)",
                      procs["wrongpw"].log_text())


def localhost_resolves():
    """False in a bare chroot without /etc/hosts (debootstrap minbase):
    then the checks that need a host name are left out, said on stderr."""
    import socket
    try:
        socket.getaddrinfo("localhost", 1883)
        return True
    except OSError:
        sys.stderr.write("note: 'localhost' does not resolve here (no /etc/hosts): the host "
                         "name checks are left out\n")
        return False


class TlsHelloTest(IocdTestCase):
    """What iocd offers in its ClientHello, seen by openssl s_server
    -tlsextdebug: the host's name as SNI (none for an address, as RFC 6066
    asks), the tls_alpn protocols."""

    def hello(self, host):
        pki = Pki(os.path.join(self.dir, "pki-" + host))
        port = free_port()
        out = os.path.join(self.dir, "s_server-%s.txt" % host)
        with open(out, "wb") as f:
            srv = subprocess.Popen(["stdbuf", "-oL", "openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
                                    "-cert", pki.server, "-key", pki.p("server.key"),
                                    "-alpn", "mqtt", "-tlsextdebug"],
                                   stdin=subprocess.PIPE, stdout=f, stderr=subprocess.STDOUT)
        try:
            broker = Broker(self.dir, port=port)  # only its port: s_server listens there
            d = self.iocd(AIR_ADAPTER, name="hello-" + host.replace(".", "-"))
            with open(d.conf) as f:
                text = f.read()
            text = text.replace("host = 127.0.0.1\nport = %d\n" % self.broker.port,
                                "host = %s\nport = %d\ntls = true\ntls_ca_file = %s\n"
                                "tls_alpn = mqtt, x-other\n" % (host, broker.port, pki.ca), 1)
            with open(d.conf, "w") as f:
                f.write(text)
            d.start(wait_ready=False)

            def seen():
                with open(out, "rb") as f:
                    return b"ALPN protocols selected" in f.read()
            wait_until(seen, timeout=15, what="a ClientHello at s_server")
            d.stop()
        finally:
            srv.kill()
            srv.wait(5)
        with open(out, "rb") as f:
            return f.read().decode("latin-1")

    def test_sni_and_alpn(self):
        text = self.hello("127.0.0.1")
        self.assertNotIn('"server name"', text)
        self.assertIn("ALPN protocols advertised by the client: mqtt, x-other", text)
        if localhost_resolves():
            text = self.hello("localhost")
            self.assertIn('TLS client extension "server name" (id=0), len=14', text)
            self.assertIn(".....localhost", text)
            self.assertIn("ALPN protocols advertised by the client: mqtt, x-other", text)
        self.assertIn("ALPN protocols advertised by the client: mqtt, x-other", text)


class Probe:
    """tests/integration/mqtt_reconfigure_probe: the MQTT session alone, its
    events read from stdout by a thread, commands written to stdin."""

    def __init__(self, conf, log):
        import threading
        self.lines = []
        self.logf = open(log, "ab")
        self.proc = subprocess.Popen([os.environ["IOCD_MQTT_PROBE"], conf], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.logf, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def count(self, prefix):
        return sum(1 for l in list(self.lines) if l.startswith(prefix))

    def wait_count(self, prefix, n, timeout=20):
        wait_until(lambda: self.count(prefix) >= n, timeout=timeout,
                   what="%d %r lines (have %r)" % (n, prefix, self.lines[-5:]))

    def last(self, prefix):
        return [l for l in list(self.lines) if l.startswith(prefix)][-1]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        self.thread.join(5)
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.logf.close()
        return self.proc.returncode


class MqttReconfigureTest(IocdTestCase):
    """iocd_mqtt_reconfigure (what SIGHUP calls): a renewed client
    certificate at the same path reconnects with it, nothing published
    meanwhile is lost; unchanged settings keep the connection; bad TLS
    material is refused and the connection kept."""

    def test_renewed_certificate_reconnects_without_loss(self):
        import shutil
        pki = Pki(os.path.join(self.dir, "pki"))
        os.chmod(self.dir, 0o755)
        b = tls_broker(os.path.join(self.dir, "broker"), pki, pki.server,
                       "allow_anonymous false\nrequire_certificate true\n"
                       "use_identity_as_username true\nlog_type all\n")
        try:
            cert, key = os.path.join(self.dir, "iocd.crt"), os.path.join(self.dir, "iocd.key")
            shutil.copy(pki.client, cert)
            shutil.copy(pki.p("client.key"), key)
            conf = os.path.join(self.dir, "probe.conf")
            body = ("[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = probe\n"
                    "reconnect_min = 100ms\nreconnect_max = 1s\ntls = true\ntls_ca_file = %s\n"
                    "tls_cert_file = %s\ntls_key_file = %s\n\n[log]\nlevel = debug\n\n%s"
                    % (b.port, pki.ca, cert, key, AIR_ADAPTER))
            with open(conf, "w") as f:
                f.write(body)
            probe = Probe(conf, os.path.join(self.dir, "probe.log"))
            try:
                probe.wait_count("subscribed", 1)
                tls_pub(b, pki, "pleiku/air/P1/data", ["m%d" % i for i in range(5)],
                        cert=pki.client)
                probe.wait_count("message", 5)
                # Unchanged: kept (no new connect).
                probe.send("reload " + conf)
                probe.wait_count("reload", 1)
                self.assertEqual(probe.last("reload"), "reload 0 1")
                # Bad material: refused at its line, the connection kept.
                bad = os.path.join(self.dir, "bad.conf")
                with open(bad, "w") as f:
                    f.write(body.replace("tls_cert_file = %s" % cert,
                                         "tls_cert_file = %s" % pki.p("ca.cnf")))
                probe.send("reload " + bad)
                probe.wait_count("reload", 2)
                self.assertEqual(probe.last("reload"),
                                 "reload -1 %s:9: [mqtt] tls_cert_file: %s is not a PEM "
                                 "certificate: no start line" % (bad, pki.p("ca.cnf")))
                probe.send("status")
                probe.wait_count("status", 1)
                self.assertEqual(probe.last("status"), "status connected 0 ")
                # Renewed at the same path (a new CN shows which one the
                # broker saw): reconnect; what is published meanwhile arrives.
                pki.issue("renewed", "iocd-client-2", None)
                shutil.copy(pki.p("renewed.crt"), cert)
                shutil.copy(pki.p("renewed.key"), key)
                probe.send("reload " + conf)
                tls_pub(b, pki, "pleiku/air/P1/data", ["n%d" % i for i in range(20)],
                        cert=pki.client)
                probe.wait_count("reload", 3)
                self.assertEqual(probe.last("reload"), "reload 0 1")
                probe.wait_count("subscribed", 2)
                probe.wait_count("message", 25)
                time.sleep(0.5)
                got = [l.split(" ", 2)[2] for l in probe.lines if l.startswith("message")]
                self.assertEqual(sorted(got), sorted(["m%d" % i for i in range(5)] +
                                                     ["n%d" % i for i in range(20)]))
                self.assertEqual(probe.count("subscribed"), 2)
                with open(b.log) as f:
                    blog = f.read()
                self.assertEqual(blog.count("as probe"), 2, blog)
                self.assertIn("u'iocd-client-2'", blog)
                with open(os.path.join(self.dir, "probe.log")) as f:
                    plog = f.read()
                self.assertIn("reload: connection settings or TLS files changed", plog)
                self.assertNotIn("cannot connect", plog)
            finally:
                self.assertEqual(probe.stop(), 0)
        finally:
            b.stop()


class TlsConfigRefusedTest(unittest.TestCase):
    """Bad TLS and credential keys: refused at load with FILE:LINE."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.dir = tempfile.mkdtemp(prefix="iocd-tlsconf-")
        cls.pki = Pki(os.path.join(cls.dir, "pki"))

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    def check(self, mqtt_lines, env=None):
        conf = os.path.join(self.dir, "t.conf")
        with open(conf, "w") as f:
            f.write("[mqtt]\nhost = 127.0.0.1\n" + mqtt_lines + "\n" + AIR_ADAPTER)
        e = dict(os.environ)
        e.pop("CREDENTIALS_DIRECTORY", None)
        e.update(env or {})
        r = subprocess.run([IOCD, "--check-config", "--config", conf], capture_output=True,
                           text=True, timeout=30, env=e)
        return r.returncode, r.stderr.strip(), conf

    def test_refusals(self):
        p = self.pki.p
        cases = [
            ("tls = true\ntls_ca_file = %s\n" % p("missing.crt"),
             ":4: [mqtt] tls_ca_file: cannot read %s: No such file or directory" % p("missing.crt")),
            ("tls = true\ntls_ca_file = %s\n" % p("ca.key"),
             ":4: [mqtt] tls_ca_file: %s holds no usable PEM certificate" % p("ca.key")),
            ("tls = true\ntls_cert_file = %s\ntls_key_file = %s\n" % (p("client.crt"), p("server.key")),
             ":5: [mqtt] tls_key_file: %s is not the key of tls_cert_file %s"
             % (p("server.key"), p("client.crt"))),
            ("tls = true\ntls_cert_file = %s\n" % p("client.crt"),
             ":4: [mqtt] tls_cert_file needs tls_key_file"),
            ("tls_ca_file = %s\n" % p("ca.crt"),
             ":3: [mqtt] tls_ca_file is set but tls = false"),
            ("tls = true\ntls_version = tlsv1.1\n",
             ":4: [mqtt] tls_version: 'tlsv1.1' is not tlsv1.2 or tlsv1.3"),
            ("username = u\npassword_file = credential:mqtt\n",
             ":4: [mqtt] password_file: 'credential:mqtt' needs $CREDENTIALS_DIRECTORY"),
            ("username = u\npassword_file = %s\n" % p("nothere"),
             ":4: [mqtt] password_file: cannot read %s: No such file or directory" % p("nothere")),
            ("password_file = %s\n" % p("ca.crt"),
             ":3: [mqtt] password_file needs username"),
            ("username = u\npassword = x\npassword_file = %s\n" % p("ca.crt"),
             ":5: [mqtt] password_file: password is set too"),
        ]
        for lines, want in cases:
            rc, err, conf = self.check(lines)
            self.assertEqual(rc, 1, lines)
            self.assertIn(conf + want, err, lines)
        # A relative path is relative to the config file; credential:NAME
        # resolves under $CREDENTIALS_DIRECTORY; an empty password file is refused.
        rc, err, conf = self.check("tls = true\ntls_ca_file = pki/ca.crt\n")
        self.assertEqual((rc, err), (0, ""))
        creds = os.path.join(self.dir, "creds")
        os.makedirs(creds, exist_ok=True)
        open(os.path.join(creds, "empty"), "w").close()
        rc, err, conf = self.check("username = u\npassword_file = credential:empty\n",
                                   env={"CREDENTIALS_DIRECTORY": creds})
        self.assertEqual(rc, 1)
        self.assertIn(conf + ":4: [mqtt] password_file: %s/empty is empty" % creds, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
