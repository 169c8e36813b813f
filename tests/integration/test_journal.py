"""The journal: every flush makes its samples durable in one row, while
windows are written at most [store] max_windows_per_flush at a time. After
a SIGKILL, samples not yet in their windows are replayed from the journal,
exactly once, window by window; and the journal keeps the raw samples for
drill-down."""
import signal
import sqlite3
import time
import unittest

from iocdtest import AIR_ADAPTER, Iocd, IocdTestCase, air, wait_until

T = "pleiku/air/%s/data"
N = 600


class JournalTest(IocdTestCase):
    def journal_samples(self, d):
        con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
        try:
            return con.execute("SELECT coalesce(sum(n), 0) FROM journal").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
        finally:
            con.close()

    def test_sigkill_with_windows_pending_replays_exactly_once(self):
        d = self.iocd(AIR_ADAPTER.replace("metric.temperature = $.temp Cel\n", ""), flush="500ms",
                      store=Iocd.KEEP_ALL + "max_windows_per_flush = 100\n"
                      "flush_when_quiet = 0\n").start()
        # N series, one sample each: 3 N windows, written 100 per flush (every
        # 500 ms only: flushes when the messages stop would write them all
        # before the kill).
        for i in range(0, N, 100):
            self.broker.publish("pleiku/air/x/data",
                                [air("GL-%03d" % k, "2026-11-20T10:00:%02d.%03dZ" % (k % 60, k), k + 0.5)
                                 for k in range(i, i + 100)])
        wait_until(lambda: self.journal_samples(d) == N, what="all samples in the journal")
        con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
        written = con.execute("SELECT count(*) FROM windows").fetchone()[0]
        con.close()
        self.assertLess(written, 3 * N)  # windows still pending when we kill
        d.stop(signal.SIGKILL)
        d.start()
        self.assertIn("replayed", d.log_text())

        def all_written():
            c = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
            try:
                return c.execute("SELECT count(*), sum(count), sum(sum) FROM windows").fetchone()
            finally:
                c.close()
        wait_until(lambda: all_written()[0] == 3 * N, timeout=60, what="every window written")
        n, count, total = all_written()
        self.assertEqual(count, 3 * N)                    # each sample once per resolution
        self.assertEqual(total, 3 * sum(k + 0.5 for k in range(N)))
        w = d.query("air/GL-123/pm25", "--resolution", "1m")
        self.assertEqual([(x["count"], x["sum"], x["last_time"]) for x in w],
                         [(1, 123.5, "2026-11-20T10:00:03.123Z")])
        self.assertEqual(d.stop(), 0)

    def windows(self, d):
        con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
        try:
            return con.execute("SELECT count(*), coalesce(sum(count), 0), coalesce(sum(sum), 0) "
                               "FROM windows").fetchone()
        except sqlite3.OperationalError:
            return (0, 0, 0)
        finally:
            con.close()

    def test_window_write_delay_writes_each_window_once_after_the_wait(self):
        # [store] window_write_delay = 4s: samples are durable in the
        # journal at once, their windows wait and go out together.
        d = self.iocd(AIR_ADAPTER.replace("metric.temperature = $.temp Cel\n", ""), flush="100ms",
                      write_delay="4s").start()
        t0 = time.monotonic()
        self.broker.publish("pleiku/air/x/data",
                            [air("GL-%03d" % k, "2026-11-20T10:00:%02d.000Z" % k, k + 0.5)
                             for k in range(10)])
        wait_until(lambda: self.journal_samples(d) == 10, what="all samples in the journal")
        journaled = time.monotonic() - t0
        if journaled < 3.0:  # (a loaded machine may take longer: then only the end is checked)
            self.assertEqual(self.windows(d), (0, 0, 0))
            metrics = d.http("/metrics")[2].decode()
            self.assertIn("\niocd_pending_windows 10\n", metrics)
        self.broker.publish("pleiku/air/x/data",
                            [air("GL-%03d" % k, "2026-11-20T10:00:%02d.500Z" % k, 1.0)
                             for k in range(10)])
        wait_until(lambda: self.windows(d)[0] == 30, timeout=30, what="every window written")
        self.assertEqual(self.windows(d), (30, 60, 3 * (sum(k + 0.5 for k in range(10)) + 10)))
        w = d.query("air/GL-003/pm25", "--resolution", "1m")
        self.assertEqual([(x["count"], x["sum"], x["last_time"]) for x in w],
                         [(2, 4.5, "2026-11-20T10:00:03.500Z")])
        # A SIGKILL while windows wait: the restart replays them from the
        # journal and writes them at once (they are from before the start).
        self.broker.publish("pleiku/air/x/data",
                            [air("GL-%03d" % k, "2026-11-20T10:01:%02d.000Z" % k, 2.0)
                             for k in range(10)])
        wait_until(lambda: self.journal_samples(d) == 30, what="the new samples in the journal")
        d.stop(signal.SIGKILL)
        d.start()
        wait_until(lambda: self.windows(d)[1] == 90, timeout=30, what="the replayed windows")
        self.assertEqual(self.windows(d), (40, 90, 3 * (sum(k + 0.5 for k in range(10)) + 10) + 60))
        w = d.query("air/GL-003/pm25", "--resolution", "1h")
        self.assertEqual([(x["count"], x["sum"]) for x in w], [(3, 6.5)])
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
