"""Back-pressure instead of loss, and health that tells the truth.

* Full disk: the database sits on an 8 MiB tmpfs that is then filled. A
  QoS 1 stream of numbered messages goes on. iocd keeps at most
  [ingest] max_unwritten accepted samples unwritten, then stops reading from
  the broker (which queues for iocd's persistent session); /metrics,
  /healthz and `iocctl status` show the failed flushes and the
  back-pressure. iocd is then killed (SIGKILL) during the outage, the disk
  gets space back, and iocd starts again: every message is stored exactly
  once except at most max_unwritten (the documented bound), and none twice.
  Needs root for the tmpfs mount (skipped otherwise).
* QoS 0: back-pressure stops reading and keeps the connection (a
  disconnect would lose what the broker queued for it); nothing is lost.
* Unreachable broker: with a wrong password iocd never gets in; after
  [mqtt] degraded_after its /healthz says degraded (503) and /metrics
  counts the seconds. With the right password it is ok."""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

from iocdtest import AIR_ADAPTER, Broker, Iocd, IocdTestCase, air, wait_until

BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z
MAX_UNWRITTEN = 2000
N = 12000


def iso(ms):
    s, frac = divmod(ms, 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)), frac)


def metrics(d):
    st, _, body = d.http("/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


class FullDiskTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.disk = os.path.join(self.dir, "disk")
        os.mkdir(self.disk)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", self.disk],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs (needs root): %s" % r.stderr.strip())
        self.addCleanup(lambda: subprocess.run(["umount", "-l", self.disk]))

    def test_full_disk_backpressure_and_sigkill_lose_at_most_the_bound(self):
        d = self.iocd(AIR_ADAPTER, extra="[ingest]\nmax_unwritten = %d\n" % MAX_UNWRITTEN,
                      db=os.path.join(self.disk, "iocd.db"))
        d.start()
        self.broker.publish("pleiku/air/GL-FD/data", [air("GL-FD", iso(BASE_MS), -1.0)])
        d.wait_messages("air", 1)
        # Fill the disk to the last byte.
        filler = os.path.join(self.disk, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/air/GL-FD/data", "-l"],
                               stdin=subprocess.PIPE)

        def feed():
            t0 = time.monotonic()
            for i in range(N):
                pub.stdin.write((air("GL-FD", iso(BASE_MS + 1000 + i * 10), i) + "\n").encode())
                if i % 100 == 99:
                    pub.stdin.flush()
                    ahead = (i + 1) / 2000.0 - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
            pub.stdin.close()

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        self.addCleanup(lambda: pub.poll() is None and (pub.kill(), pub.wait()))
        wait_until(lambda: metrics(d).get("iocd_backpressure") == 1.0, timeout=30,
                   what="back-pressure on (log:\n%s)" % d.log_text()[-1500:])
        m = metrics(d)
        self.assertGreaterEqual(m["iocd_flush_failures_total"], 1)
        self.assertGreaterEqual(m["iocd_unwritten"], MAX_UNWRITTEN)
        self.assertEqual(m["iocd_unwritten_max"], MAX_UNWRITTEN)
        self.assertGreater(m["iocd_unwritten_oldest_age_seconds"], 0)
        self.assertEqual(m["iocd_backpressure_total"], 1)
        st, _, body = d.http("/healthz")
        h = json.loads(body)
        self.assertEqual((st, h["status"], h["reason"]),
                         (503, "failing", "the last flush failed (it is retried)"))
        out = subprocess.run([os.environ["IOCCTL"], "--url",
                              "http://127.0.0.1:%d" % d.http_port, "status"],
                             capture_output=True, text=True, timeout=30).stdout
        self.assertIn("health:  failing: the last flush failed (it is retried)\n", out)
        self.assertIn("back-pressure ON (1 times)", out)
        self.assertIn("of %d (oldest" % MAX_UNWRITTEN, out)
        # While paused, held data stays bounded: no more than the bound
        # plus what was already in the socket when reading stopped.
        time.sleep(1.0)
        held = metrics(d)["iocd_unwritten"]
        self.assertLess(held, MAX_UNWRITTEN + 1000)

        d.stop(signal.SIGKILL)
        os.unlink(filler)
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        t.join(60)
        self.assertEqual(pub.wait(60), 0)
        wait_until(lambda: metrics(d).get("iocd_unwritten") == 0.0 and
                   d.counter("air", "messages") > 0, timeout=60, what="everything written")
        time.sleep(1.0)
        out = d.ctl("raw", "air/GL-FD/pm25", "--json", "--limit", "0").stdout
        values = [json.loads(l)["value"] for l in out.splitlines() if l.strip()]
        values = [v for v in values if v >= 0]
        self.assertEqual(len(values), len(set(values)), "a message stored twice")
        lost = N - len(values)
        self.assertGreaterEqual(lost, 0)
        self.assertLessEqual(lost, MAX_UNWRITTEN + 1000,
                             "lost %d of %d, more than the bound" % (lost, N))
        print("full disk + SIGKILL: %d of %d lost (bound %d + socket), none twice"
              % (lost, N, MAX_UNWRITTEN))


class Qos0BackpressureTest(IocdTestCase):
    def test_qos0_backpressure_pauses_reads_and_loses_nothing(self):
        """Under QoS 0 a disconnect would lose what the broker had already
        queued for the connection (QoS 0 is never redelivered): iocd stops
        reading instead and keeps the connection. A burst of 6,000 messages
        against max_unwritten = 1000 while another connection holds the
        database's write lock (a stuck flush; a full batch would otherwise
        keep up): every one stored once, one connection."""
        d = self.iocd(AIR_ADAPTER, flush="1s", extra="[ingest]\nmax_unwritten = 1000\n")
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("[mqtt]\n", "[mqtt]\nqos = 0\n", 1))
        d.start()
        lock = sqlite3.connect(d.db, timeout=0, isolation_level=None)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        n = 6000
        self.broker.publish("pleiku/air/pk-bp/data",
                            [air("pk-bp", iso(BASE_MS + i * 1000), 0.5 * i) for i in range(n)],
                            qos=0)
        wait_until(lambda: metrics(d).get("iocd_backpressure") == 1.0, timeout=30,
                   what="back-pressure on")
        lock.execute("ROLLBACK")
        d.wait_messages("air", n, timeout=60)
        wait_until(lambda: metrics(d)["iocd_unwritten"] == 0, what="everything written")
        log = d.log_text()
        self.assertIn("back-pressure: not reading (QoS 0: the connection stays)", log)
        self.assertIn("back-pressure off: reading again", log)
        m = metrics(d)
        self.assertEqual(m["iocd_broker_connects_total"], 1)
        rows = d.query("air/pk-bp/pm25", "--resolution", "1h", "--from", "2026-11-22T00:00:00Z",
                       "--to", "2026-11-23T00:00:00Z")
        # 6,000 samples a second apart from 00:00:00: 3,600 in the first
        # hour, 2,400 in the second; sums of 0.5 * i, exact in binary.
        self.assertEqual([(r["start"], r["count"], r["sum"]) for r in rows],
                         [("2026-11-22T00:00:00Z", 3600, 0.5 * sum(range(3600))),
                          ("2026-11-22T01:00:00Z", 2400, 0.5 * sum(range(3600, 6000)))])


class UnreachableBrokerTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.broker.stop()
        pw = os.path.join(self.dir, "passwd")
        subprocess.run(["mosquitto_passwd", "-b", "-c", pw, "iocd", "right"], check=True,
                       capture_output=True)
        os.chmod(pw, 0o600)
        # As root mosquitto drops to its own user, which cannot read the
        # test directory: it keeps the user it was started as.
        self.broker = Broker(self.dir, extra="allow_anonymous false\npassword_file %s\n%s"
                             % (pw, "user root\n" if os.getuid() == 0 else ""))
        self.broker.start()

    def health(self, d):
        st, _, body = d.http("/healthz")
        return st, json.loads(body)

    def test_wrong_password_is_degraded_after_the_configured_time(self):
        d = self.iocd(AIR_ADAPTER)
        with open(d.conf) as f:
            text = f.read().replace("reconnect_max = 1s\n",
                                    "reconnect_max = 1s\nusername = iocd\npassword = wrong\n"
                                    "degraded_after = 2s\n")
        with open(d.conf, "w") as f:
            f.write(text)
        self.assertIn("password = wrong", text)
        d.start(wait_ready=False)
        wait_until(lambda: d.http_port and _up(d), timeout=15, what="HTTP up")
        wait_until(lambda: self.health(d)[1]["status"] == "degraded", timeout=15,
                   what="degraded health")
        st, h = self.health(d)
        self.assertEqual(st, 503)
        self.assertRegex(h["reason"], r"^broker unreachable for [2-9] s$")
        self.assertGreaterEqual(metrics(d)["iocd_broker_unreachable_seconds"], 2.0)
        self.assertIn("not authorised", d.log_text().lower().replace("authorized", "authorised"))
        d.stop()

        # The right password: connected, ok, nothing unreachable.
        with open(d.conf) as f:
            text = f.read().replace("password = wrong", "password = right")
        with open(d.conf, "w") as f:
            f.write(text)
        d.start()
        st, h = self.health(d)
        self.assertEqual((st, h["status"], h["broker"]), (200, "ok", "connected"))
        self.assertEqual(metrics(d)["iocd_broker_unreachable_seconds"], 0.0)


def _up(d):
    try:
        d.http("/healthz", timeout=1)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
