"""When a flush starts besides the flush_interval tick: [store]
flush_when_quiet, a burst is committed once the broker goes quiet; with it off,
only the interval flushes; and a full batch, a quarter of [ingest]
max_unwritten waiting, flushes at once. A real mosquitto, a real SQLite file;
flush_interval is 30 s so that only these rules can flush within the test."""
import sqlite3
import time
import unittest

from iocdtest import AIR_ADAPTER, Iocd, IocdTestCase, air, wait_until

T0 = 1795330800  # 2026-11-22T07:00:00Z


class FlushWhenQuietTest(IocdTestCase):
    def metric(self, d, name):
        v = d.metric(name)
        if v is None:
            raise AssertionError("no %s in /metrics" % name)
        return v

    def burst(self, d):
        # 50 messages of 2 samples each, in one connection.
        self.broker.publish("pleiku/air/GL-AQ01/data",
                            [air("GL-AQ01", T0 + i, 1.0 + i, 20.0) for i in range(50)])
        wait_until(lambda: self.metric(d, 'iocd_messages_total{adapter="air"}') == 50,
                   what="50 messages")

    def test_burst_committed_once_quiet(self):
        d = self.iocd(AIR_ADAPTER, flush="30s",
                      store=Iocd.KEEP_ALL + "flush_when_quiet = 200ms\n").start()
        self.burst(d)
        wait_until(lambda: self.metric(d, "iocd_unwritten") == 0, timeout=10,
                   what="the burst written")
        # One burst, one flush: the journal holds its 100 samples.
        self.assertEqual(self.metric(d, "iocd_flushes_total"), 1)
        con = sqlite3.connect(d.db)
        try:
            self.assertEqual(con.execute("SELECT sum(n) FROM journal").fetchone()[0],
                             100)
        finally:
            con.close()
        # Quiet again: nothing waits, nothing more is flushed.
        time.sleep(0.6)
        self.assertEqual(self.metric(d, "iocd_flushes_total"), 1)

    def test_off_waits_for_the_interval(self):
        d = self.iocd(AIR_ADAPTER, flush="30s",
                      store=Iocd.KEEP_ALL + "flush_when_quiet = 0\n").start()
        self.burst(d)
        time.sleep(1.0)
        self.assertEqual(self.metric(d, "iocd_unwritten"), 100)
        self.assertEqual(self.metric(d, "iocd_flushes_total"), 0)

    def test_full_batch_flushes_at_once(self):
        # max_unwritten 1000: a batch of 250 samples starts a flush. 130
        # messages of 2 samples: the 125th fills it; the last 10 wait.
        d = self.iocd(AIR_ADAPTER, flush="30s", extra="[ingest]\nmax_unwritten = 1000\n",
                      store=Iocd.KEEP_ALL + "flush_when_quiet = 0\n").start()
        self.broker.publish("pleiku/air/GL-AQ01/data",
                            [air("GL-AQ01", T0 + i, 1.0 + i, 20.0) for i in range(130)])
        wait_until(lambda: self.metric(d, 'iocd_messages_total{adapter="air"}') == 130,
                   what="130 messages")
        wait_until(lambda: self.metric(d, "iocd_unwritten") == 10, timeout=10,
                   what="the full batch written")
        self.assertEqual(self.metric(d, "iocd_flushes_total"), 1)
        self.assertEqual(self.metric(d, "iocd_backpressure_total"), 0)
        con = sqlite3.connect(d.db)
        try:
            self.assertEqual(con.execute("SELECT count(*), sum(n) FROM journal").fetchone(),
                             (1, 250))
        finally:
            con.close()


if __name__ == "__main__":
    unittest.main()
