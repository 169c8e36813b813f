"""Retention: under a steady feed the stored windows level off, because
expired windows are pruned a bounded number at a time as iocd flushes."""
import sqlite3
import subprocess
import threading
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air, wait_until


def iso_now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


class RetentionTest(IocdTestCase):
    def test_windows_level_off_under_steady_feed(self):
        d = self.iocd(AIR_ADAPTER, store="resolutions = 1s 2s\nretention = 1s:4s 2s:8s\n").start()
        pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/air/GL-AQ01/data", "-l"],
                               stdin=subprocess.PIPE)
        stop = threading.Event()

        def feed():  # 20 messages a second for at most 16 s
            for i in range(320):
                if stop.is_set():
                    break
                pub.stdin.write((air("GL-AQ01", iso_now(), float(i % 50)) + "\n").encode())
                pub.stdin.flush()
                time.sleep(0.05)
            pub.stdin.close()

        t = threading.Thread(target=feed)
        t.start()
        self.addCleanup(lambda: (stop.set(), t.join(30)))

        def rows():
            con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
            try:
                return dict(con.execute("SELECT res_s, count(*) FROM windows GROUP BY res_s"))
            finally:
                con.close()

        wait_until(lambda: d.counter("air", "messages") > 0, what="first flush")
        samples = []
        for _ in range(3):
            time.sleep(4)
            samples.append(rows())
        t.join(60)
        pub.wait(30)
        # One series; 1 s windows kept 4 s: the windows starting in the last
        # 4 s, the current one, and the one a flush may still be writing.
        for r in samples[1:]:
            self.assertGreaterEqual(r[1], 2, samples)
            self.assertLessEqual(r[1], 6, samples)
            self.assertGreaterEqual(r[2], 2, samples)
            self.assertLessEqual(r[2], 6, samples)
        # Levelled off: the last sample holds no more rows than the second,
        # give or take the one window per resolution a sample may catch
        # before its flush or prune (without pruning, 4 s more of this feed
        # would add 4 + 2 windows).
        self.assertLessEqual(sum(samples[2].values()), sum(samples[1].values()) + 2, samples)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
