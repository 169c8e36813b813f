"""Reload (SIGHUP, what `systemctl reload iocd` sends; docs/reload.md) under a
live stream: a feed added and removed, alert rules changed and removed, an
invalid file and a restart-only change refused with the old configuration
kept, sd_notify RELOADING=1/READY=1, and a SIGHUP during start-up. Samples
are held in memory across each reload (a 30 s flush interval) and counted
exactly once the daemon has stopped; the live-stream client stays on the
same connection throughout."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air, wait_until
from test_http_api import SSE
from test_http_hardening import make_certs

T0 = 1795330800000  # 2026-11-22T07:00:00Z
WATER = """[adapter water]
topic = pleiku/water/+/level
format = json
device = $.id
time = $.ts
metric.level = $.level m
"""
RULE = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nstat = mean\n"
        "window = 1h\nabove = %s\nclear = %s\nseverity = major\n")


def water(dev, ts, level):
    return '{"id":"%s","ts":%d,"level":%s}' % (dev, ts, level)


class ReloadTest(IocdTestCase):
    def rewrite(self, d, text):
        """The config file as the test started it, its feeds and rules
        replaced by `text`."""
        with open(d.conf) as f:
            base = f.read()
        head = base[:base.index("[adapter air]")]
        with open(d.conf, "w") as f:
            f.write(head + text)

    def reload(self, d, what):
        n = d.log_text().count(what)
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log_text().count(what) > n, what=what)
        self.assertTrue(d.alive())

    def test_feeds_added_and_removed_nothing_held_lost(self):
        d = self.iocd(AIR_ADAPTER, flush="30s").start()
        s = SSE(d.http_port, "?types=obs")
        self.addCleanup(s.close)
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 10), air("pk-01", t + 10, 20)])
        s.read_until(lambda: len(s.events()) == 2, what="2 observations before the reload")

        self.rewrite(d, AIR_ADAPTER + "\n" + WATER)
        self.reload(d, "reload: configuration applied from %s (feeds 1 added, 0 removed, "
                       "0 changed; alert rules 0 added, 0 removed, 0 changed)" % d.conf)
        self.broker.publish("pleiku/water/w-1/level",
                            [water("w-1", t + i, 1.5 + i) for i in range(3)])
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 20, 30)])
        s.read_until(lambda: len(s.events()) == 6, what="4 more observations after it")

        self.rewrite(d, AIR_ADAPTER)
        self.reload(d, "reload: configuration applied from %s (feeds 0 added, 1 removed, "
                       "0 changed; alert rules 0 added, 0 removed, 0 changed)" % d.conf)
        # No longer subscribed: this one is not even delivered.
        self.broker.publish("pleiku/water/w-1/level", [water("w-1", t + 5, 99)])
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 30, 40)])
        s.read_until(lambda: len(s.events()) == 7, what="the observation after the removal")
        time.sleep(0.5)
        ev = s.events()
        self.assertEqual([(e[2]["series"], e[2]["value"]) for e in ev],
                         [("air/pk-01/pm25", 10), ("air/pk-01/pm25", 20),
                          ("water/w-1/level", 1.5), ("water/w-1/level", 2.5),
                          ("water/w-1/level", 3.5), ("air/pk-01/pm25", 30),
                          ("air/pk-01/pm25", 40)])
        self.assertFalse(s.eof)
        # Everything was still held in memory (30 s flush); SIGTERM writes it.
        self.assertEqual(d.stop(), 0)
        [w] = d.query("air/pk-01/pm25", "--res", "1m", "--from", "2026-11-22T07:00:00Z",
                      "--to", "2026-11-22T07:01:00Z")
        self.assertEqual((w["count"], w["sum"], w["min"], w["max"]), (4, 100, 10, 40))
        [w] = d.query("water/w-1/level", "--res", "1m", "--from", "2026-11-22T07:00:00Z",
                      "--to", "2026-11-22T07:01:00Z")
        self.assertEqual((w["count"], w["sum"]), (3, 7.5))
        self.assertEqual(d.counter("water", "messages"), 3)
        self.assertEqual(d.counter("water", "observations"), 3)
        self.assertEqual(d.counter("air", "messages"), 4)
        self.assertEqual(d.counter("iocd", "reject.no_route"), 0)

    def test_rules_changed_and_removed(self):
        d = self.iocd(AIR_ADAPTER + RULE % (55, 50)).start()
        s = SSE(d.http_port, "?types=alert")
        self.addCleanup(s.close)
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 60)])
        s.read_until(lambda: len(s.events()) == 1, what="the raise")

        # New levels, same statistic and window: the alert and its window
        # carry over; the new clear level applies from the next sample.
        self.rewrite(d, AIR_ADAPTER + RULE % (58, 52))
        self.reload(d, "(feeds 0 added, 0 removed, 0 changed; alert rules 0 added, 0 removed, "
                       "1 changed)")
        st, body = d.api("/api/v1/alerts")
        self.assertEqual([a["id"] for a in body["active"]], ["pm25_high/air/pk-01/pm25"])
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 60, 40)])  # mean 50
        s.read_until(lambda: len(s.events()) == 2, what="the clear at the new level")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 120, 110)])  # mean 70
        s.read_until(lambda: len(s.events()) == 3, what="raised again")

        # Removed: what it raised is cleared, saying why.
        self.rewrite(d, AIR_ADAPTER)
        self.reload(d, "(feeds 0 added, 0 removed, 0 changed; alert rules 0 added, 1 removed, "
                       "0 changed)")
        s.read_until(lambda: len(s.events()) == 4, what="the clear by the reload")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 180, 300)])
        d.wait_messages("air", 4)
        time.sleep(0.3)
        ev = [e[2] for e in s.events()]
        self.assertEqual([(a["state"], a["value"], a["threshold"]) for a in ev],
                         [("raised", 60, 55), ("cleared", 50, 52), ("raised", 70, 58),
                          ("cleared", 70, 58)])
        self.assertEqual(ev[3]["text"],
                         "pm25_high: air/pk-01/pm25 rule removed or redefined by a reload, cleared")
        self.assertEqual(d.api("/api/v1/alerts")[1]["active"], [])

    def test_invalid_and_restart_only_refused(self):
        d = self.iocd(AIR_ADAPTER).start()
        s = SSE(d.http_port, "?types=obs")
        self.addCleanup(s.close)
        with open(d.conf) as f:
            good = f.read()
        # An unknown key: file:line, and the old configuration stays.
        lines = good.split("\n")
        at = lines.index("[store]") + 1
        lines.insert(at, "bogus = 1")
        with open(d.conf, "w") as f:
            f.write("\n".join(lines))
        self.reload(d, "reload: refused")
        self.assertIn("reload: refused: %s:%d: unknown key 'bogus' in [store]; still running on "
                      "the previous configuration" % (d.conf, at + 1), d.log_text())
        # A database path and a listen address need a restart: named.
        with open(d.conf, "w") as f:
            f.write(good.replace(d.db, d.db + "2").replace(
                "listen = 127.0.0.1:%d" % d.http_port, "listen = 127.0.0.1:%d" % (d.http_port + 1)))
        self.reload(d, "only with a restart")
        self.assertIn("reload: refused: [store] path, [http] listen change only with a restart; "
                      "still running on the previous configuration", d.log_text())
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 12.5)])
        s.read_until(lambda: len(s.events()) == 1, what="still ingesting")
        self.assertEqual(s.events()[0][2]["value"], 12.5)
        self.assertFalse(os.path.exists(d.db + "2"))

    def test_token_rotated(self):
        from iocdtest import free_port
        port = free_port()
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 127.0.0.1:%d\ntoken = old-s3cret\n"
                      % port)
        d.http_port = port
        d.start()
        self.assertEqual(d.http("/api/v1/status", token="old-s3cret")[0], 200)
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("token = old-s3cret", "token = new-s3cret"))
        self.reload(d, "reload: configuration applied")
        self.assertEqual(d.http("/api/v1/status", token="old-s3cret")[0], 401)
        self.assertEqual(d.http("/api/v1/status", token="new-s3cret")[0], 200)
        self.assertEqual(d.http("/api/v1/status")[0], 401)

    def test_log_level_applied(self):
        d = self.iocd(AIR_ADAPTER)
        d.start()
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 1)])
        d.wait_messages("air", 1)
        self.assertNotIn(" debug store: flushed", d.log_text())
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("[log]\nlevel = info\n", "[log]\nlevel = debug\n"))
        self.reload(d, "; [log] changed)")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 1, 2)])
        wait_until(lambda: " debug store: flushed" in d.log_text(), what="a debug line")

    def test_notify_reloading_then_ready(self):
        path = os.path.join(self.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10)
        self.addCleanup(sock.close)
        d = self.iocd(AIR_ADAPTER)
        d.env = {"NOTIFY_SOCKET": path}
        d.start()

        def states(n):
            got = []
            while len(got) < n:
                got += [l for l in sock.recv(4096).decode().split("\n")
                        if l in ("READY=1", "RELOADING=1")]
            return got

        self.assertEqual(states(1), ["READY=1"])
        d.proc.send_signal(signal.SIGHUP)
        self.assertEqual(states(2), ["RELOADING=1", "READY=1"])
        with open(d.conf, "a") as f:
            f.write("\nbogus = 1\n")
        d.proc.send_signal(signal.SIGHUP)
        self.assertEqual(states(2), ["RELOADING=1", "READY=1"])
        wait_until(lambda: "reload: refused" in d.log_text(), what="the refusal")

    def test_api_certificate_read_again(self):
        """A renewed certificate at the same path is served to new
        connections after a reload; HTTP cannot turn into HTTPS by one."""
        ca, cert, key = make_certs(self.dir)
        d = self.iocd(AIR_ADAPTER)
        plain = open(d.conf).read()
        d.start()
        with open(d.conf, "w") as f:
            f.write(plain.replace("listen = 127.0.0.1:%d" % d.http_port,
                                  "listen = 127.0.0.1:%d\ntls_cert = %s\ntls_key = %s"
                                  % (d.http_port, cert, key)))
        self.reload(d, "reload: refused")
        self.assertIn("reload: refused: [http] tls_cert (HTTP to HTTPS) changes only with a "
                      "restart", d.log_text())
        d.restart()  # HTTPS from the file as it now is

        def serial():
            ctx = ssl.create_default_context(cafile=ca)
            with socket.create_connection(("127.0.0.1", d.http_port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    der = s.getpeercert(binary_form=True)
            out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"],
                                 input=der, capture_output=True, check=True, timeout=30)
            return out.stdout.decode().strip()

        first = serial()
        # Renewed: a new certificate (new serial) from the same CA, same paths.
        renew = os.path.join(self.dir, "renew")
        os.mkdir(renew)
        shutil.copy(os.path.join(self.dir, "ca.pem"), renew)
        shutil.copy(os.path.join(self.dir, "ca.key"), renew)
        subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key",
                        "-out", "server.csr", "-subj", "/CN=localhost"],
                       cwd=renew, check=True, capture_output=True, timeout=30)
        subprocess.run(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem",
                        "-CAkey", "ca.key", "-set_serial", "4242", "-days", "2", "-extfile",
                        os.path.join(self.dir, "san.ext"), "-out", "server.pem"],
                       cwd=renew, check=True, capture_output=True, timeout=30)
        shutil.copy(os.path.join(renew, "server.pem"), cert)
        shutil.copy(os.path.join(renew, "server.key"), key)
        self.assertEqual(serial(), first)  # not before the reload
        self.reload(d, "reload: configuration applied")
        self.assertEqual(serial(), "serial=1092")  # 4242

    def test_sighup_during_start_up(self):
        d = self.iocd(AIR_ADAPTER)
        d.start(wait_ready=False)

        def hup_caught():
            try:
                with open("/proc/%d/status" % d.proc.pid) as f:
                    mask = [l for l in f if l.startswith("SigCgt:")][0].split()[1]
            except (OSError, IndexError):
                return False
            return int(mask, 16) & (1 << (signal.SIGHUP - 1)) != 0

        # As soon as iocd catches it (its first steps), before the loop runs.
        end = time.monotonic() + 10
        while not hup_caught():
            self.assertLess(time.monotonic(), end, "iocd never caught SIGHUP")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(d._ready, timeout=15, what="iocd to subscribe")
        self.assertTrue(d.alive())
        self.assertIn("SIGHUP during start-up: the configuration was just read; nothing to "
                      "reload", d.log_text())
        self.assertNotIn("reload: configuration applied", d.log_text())
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
