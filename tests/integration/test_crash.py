"""Crash semantics: a SIGKILL in the middle of a QoS 1 stream loses at most
what arrived within the last flush interval (documented), counts nothing
twice, and leaves a database that passes SQLite's integrity check."""
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air, wait_until

N = 3000
BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z


def iso(ms):
    s, frac = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%03dZ" % frac


class CrashTest(IocdTestCase):
    def test_sigkill_loses_at_most_one_flush_interval_and_double_counts_nothing(self):
        d = self.iocd(AIR_ADAPTER, flush="1s").start()
        pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/air/GL-AQ01/data", "-l"],
                               stdin=subprocess.PIPE)
        sent_at = []

        def feed():  # ~1000 messages a second; value 1 each, 100 ms apart in observation time
            for i in range(N):
                pub.stdin.write((air("GL-AQ01", iso(BASE_MS + i * 100), 1.0) + "\n").encode())
                pub.stdin.flush()
                sent_at.append(time.monotonic())
                time.sleep(0.001)
            pub.stdin.close()

        t = threading.Thread(target=feed)
        t.start()
        wait_until(lambda: d.counter("air", "messages") >= 500, what="some messages stored")
        killed_at = time.monotonic()
        d.stop(signal.SIGKILL)
        d.start()
        t.join(60)
        self.assertEqual(pub.wait(60), 0)
        # Everything published after the restart is stored; wait for quiet.
        last = -1
        for _ in range(100):
            cur = d.counter("air", "messages")
            if cur == last and cur > 0:
                break
            last = cur
            time.sleep(0.3)
        self.assertEqual(d.stop(), 0)

        con = sqlite3.connect(d.db)
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        con.close()
        minutes = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        stored = sum(w["count"] for w in minutes)
        # No window holds more than was published into it (600 per minute).
        for w in minutes:
            self.assertLessEqual(w["count"], 600, w)
            self.assertEqual(w["sum"], float(w["count"]))
        # At most what arrived within one flush interval (1 s) before the kill.
        in_last_interval = sum(1 for s in sent_at if killed_at - 1.0 <= s <= killed_at)
        lost = N - stored
        self.assertGreaterEqual(lost, 0)
        self.assertLessEqual(lost, in_last_interval + 50,
                             "lost %d, %d sent in the last second" % (lost, in_last_interval))


if __name__ == "__main__":
    unittest.main(verbosity=2)
