"""A graceful restart loses nothing and counts nothing twice.

A publisher sends a known stream at QoS 1 while iocd is stopped with
SIGTERM and started again; the broker queues for iocd's persistent session
meanwhile. Afterwards every message is in the aggregates exactly once.

A stop in the middle of a QoS 1 backlog acknowledges what iocd took: the
broker sends none of it again (before, libmosquitto closed the socket at
the first PUBLISH read after the DISCONNECT was queued, and the reset lost
the queued PUBACKs: tens of thousands of redeliveries, which the duplicate
horizon then had to catch)."""
import signal
import subprocess
import threading
import time
import unittest

from iocdtest import AIR_ADAPTER, Broker, IocdTestCase, air, wait_until

N = 3000
BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z


def iso(ms):
    s, frac = divmod(ms, 1000)
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return "%s.%03dZ" % (t, frac)


class RestartTest(IocdTestCase):
    def test_sigterm_restart_counts_every_message_once(self):
        d = self.iocd(AIR_ADAPTER).start()
        pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/air/GL-AQ01/data", "-l"],
                               stdin=subprocess.PIPE)

        def feed():
            # Message i: value i/4 (exact in binary), one every 100 ms of
            # observation time, ~1 ms apart in real time.
            for i in range(N):
                pub.stdin.write((air("GL-AQ01", iso(BASE_MS + i * 100), i / 4) + "\n").encode())
                pub.stdin.flush()
                time.sleep(0.001)
            pub.stdin.close()

        t = threading.Thread(target=feed)
        t.start()
        wait_until(lambda: d.counter("air", "messages") >= 200, what="first messages stored")
        self.assertEqual(d.stop(signal.SIGTERM), 0)          # graceful: exit 0
        self.assertIn("all aggregates written", d.log_text())
        time.sleep(0.5)                                       # the broker queues meanwhile
        d.start()
        t.join(60)
        self.assertEqual(pub.wait(60), 0)
        d.wait_messages("air", N, timeout=60)
        time.sleep(0.5)  # any duplicate would have arrived by now

        self.assertEqual(d.counter("air", "messages"), N)
        self.assertEqual(d.counter("air", "observations"), N)
        day = d.query("air/GL-AQ01/pm25", "--resolution", "1d")
        self.assertEqual(len(day), 1)
        self.assertEqual(day[0]["count"], N)
        self.assertEqual(day[0]["sum"], sum(i / 4 for i in range(N)))
        self.assertEqual(day[0]["min"], 0.0)
        self.assertEqual(day[0]["max"], (N - 1) / 4)
        self.assertEqual(day[0]["last_time"], iso(BASE_MS + (N - 1) * 100))
        minutes = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        # 100 ms apart: 600 samples per minute, 5 minutes.
        self.assertEqual([w["count"] for w in minutes], [600] * 5)
        self.assertEqual(minutes[1]["sum"], sum(i / 4 for i in range(600, 1200)))


def taken(d):
    """Messages this iocd process took: its own /metrics counter."""
    return d.metric('iocd_messages_total{adapter="air"}') or 0.0


class StopDuringBacklogTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.broker.stop()  # one that queues the whole backlog for iocd's session
        self.broker = Broker(self.dir, extra="max_queued_messages 0\n").start()

    def test_stop_mid_backlog_acknowledges_what_was_taken(self):
        n = 60000
        d = self.iocd(AIR_ADAPTER).start()
        self.assertEqual(d.stop(signal.SIGTERM), 0)  # the session exists; iocd is away
        lines = "".join(air("GL-AQ%02d" % (i % 50), iso(BASE_MS + i * 100), i / 4) + "\n"
                        for i in range(n))
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q",
                        "1", "-t", "pleiku/air/backlog/data", "-l"], input=lines.encode(),
                       check=True, timeout=120)
        d.start()
        # Stop while the broker is still pushing the backlog (/metrics
        # counts what this process took, before any flush).
        wait_until(lambda: taken(d) >= 1000, what="the drain under way")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        d.start()
        d.wait_messages("air", n, timeout=120)
        time.sleep(0.5)  # any redelivery would have arrived by now
        self.assertEqual(d.counter("air", "reject.duplicate"), 0)
        self.assertEqual(d.counter("air", "messages"), n)
        self.assertEqual(d.counter("air", "observations"), n)
        # This process took the rest: the stop did come in the middle.
        self.assertGreater(taken(d), 0)
        self.assertLess(taken(d), n - 1000)


if __name__ == "__main__":
    unittest.main(verbosity=2)
