"""[store] flush_when_quiet: a burst is committed once the broker goes quiet,
not up to flush_interval later; with it off, only the interval flushes. A real
mosquitto, a real SQLite file; flush_interval is 30 s so that only the quiet
rule can flush within the test."""
import sqlite3
import time
import unittest

from iocdtest import AIR_ADAPTER, Iocd, IocdTestCase, air, wait_until

T0 = 1795330800  # 2026-11-22T07:00:00Z


class FlushWhenQuietTest(IocdTestCase):
    def metric(self, d, name):
        for line in d.http("/metrics")[2].decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError("no %s in /metrics" % name)

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


if __name__ == "__main__":
    unittest.main()
