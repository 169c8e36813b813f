"""Restarts under load count every message exactly once.

20,000 numbered QoS 1 messages are published at about 3,000 msg/s (the
rate at which the broker's redelivery of messages iocd wrote in its final
flush shows) while iocd is stopped with SIGTERM and started again three
times; five runs. Every message is then in the journal exactly once
(`iocctl raw`, value = message number) and in the day window once.

Retained messages (3 topics) and a QoS 1 backlog are stored exactly once
after a SIGTERM restart and after a SIGKILL restart.

Bounded: each run ends within 60 s or fails."""
import json
import os
import signal
import subprocess
import threading
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air, wait_until

N = int(os.environ.get("IOCD_RESTART_N", "20000"))
RUNS = int(os.environ.get("IOCD_RESTART_RUNS", "5"))
RATE = 3000.0
BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z


def iso(ms):
    s, frac = divmod(ms, 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)), frac)


class RestartLoadTest(IocdTestCase):
    def raw_values(self, d, series):
        out = d.ctl("raw", series, "--json", "--limit", "0").stdout
        return sorted(json.loads(l)["value"] for l in out.splitlines() if l.strip())

    def one_run(self, run):
        d = self.iocd(AIR_ADAPTER, client_id="iocd-load-%d-%d" % (self.broker.port, run),
                      name="iocd%d" % run, db=os.path.join(self.dir, "iocd%d.db" % run))
        d.start()
        station = "GL-R%d" % run
        pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/air/%s/data" % station, "-l"],
                               stdin=subprocess.PIPE)
        sent = [0]

        def feed():
            t0 = time.monotonic()
            for i in range(N):
                pub.stdin.write((air(station, iso(BASE_MS + i * 10), i) + "\n").encode())
                if i % 50 == 49:
                    pub.stdin.flush()
                    ahead = (i + 1) / RATE - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
                sent[0] = i + 1
            pub.stdin.close()

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        self.addCleanup(lambda: pub.poll() is None and (pub.kill(), pub.wait()))
        deadline = time.monotonic() + 60
        for k in range(3):
            wait_until(lambda: sent[0] >= (k + 1) * N // 4, timeout=30, what="publisher")
            self.assertEqual(d.stop(signal.SIGTERM), 0)
            d.start()
        t.join(max(1, deadline - time.monotonic()))
        self.assertFalse(t.is_alive(), "publisher did not finish in time")
        self.assertEqual(pub.wait(30), 0)
        d.wait_messages("air", N, timeout=max(5, deadline - time.monotonic()))
        time.sleep(0.5)  # a late duplicate would have arrived by now
        series = "air/%s/pm25" % station
        values = self.raw_values(d, series)
        dup = len(values) - len(set(values))
        self.assertEqual((len(values), dup), (N, 0),
                         "run %d: %d samples, %d stored twice" % (run, len(values), dup))
        self.assertEqual(values, [float(i) for i in range(N)])
        day = d.query(series, "--resolution", "1d")
        self.assertEqual([(w["count"], w["sum"]) for w in day], [(N, float(N * (N - 1) // 2))])
        self.assertEqual(d.stop(signal.SIGTERM), 0)

    def test_three_sigterm_restarts_at_3000_per_s(self):
        for run in range(RUNS):
            with self.subTest(run=run):
                self.one_run(run)

    def test_retained_and_backlog_once_after_sigterm_and_sigkill(self):
        d = self.iocd(AIR_ADAPTER).start()
        stations = ["GL-RT1", "GL-RT2", "GL-RT3"]
        for k, st in enumerate(stations):
            r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-r", "-t", "pleiku/air/%s/data" % st,
                                "-m", air(st, iso(BASE_MS + k * 1000), 10.0 + k)], timeout=10)
            self.assertEqual(r.returncode, 0)
        d.wait_messages("air", 3)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if sig == signal.SIGKILL:
                time.sleep(0.3)  # every sample flushed: the journal holds them
            d.stop(sig)
            # A QoS 1 backlog queued by the broker while iocd is away.
            base = BASE_MS + (60000 if sig == signal.SIGTERM else 120000)
            self.broker.publish("pleiku/air/GL-BL/data",
                                [air("GL-BL", iso(base + i * 100), float(i)) for i in range(50)])
            d.ready_count_before = d.log_text().count("subscribed to")
            d.start()
            n = 3 + 50 * (1 if sig == signal.SIGTERM else 2)
            d.wait_messages("air", n)
            time.sleep(0.5)  # the retained copies arrive on subscribe
            for k, st in enumerate(stations):
                self.assertEqual(self.raw_values(d, "air/%s/pm25" % st), [10.0 + k], st)
            # Both backlogs hold values 0..49 (at other times): each once.
            self.assertEqual(self.raw_values(d, "air/GL-BL/pm25"),
                             sorted([float(i) for i in range(50)] * ((n - 3) // 50)))
            self.assertEqual(d.counter("air", "reject.duplicate"), 3 * (1 if sig == signal.SIGTERM else 2))


if __name__ == "__main__":
    unittest.main(verbosity=2)
