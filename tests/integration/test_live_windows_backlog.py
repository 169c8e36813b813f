"""Closed live windows after a catch-up, on a real broker and iocd.

Owns: the tests of when the live feed publishes a closed window
(daemon/live/feed.c) while a backlog drains: QoS 1 messages the broker
queued for iocd's persistent session while iocd was down, covering
several past minutes. Every window must be published once, complete (its
count and sum those of every sample of its minute), in event time: not
when the wall clock says the minute is long over while its samples are
still arriving. And a window a restart cuts in two (SIGTERM: kept by the
stop; SIGKILL: found still open in the store) is published once, after the
restart, with the samples from both sides."""
import signal
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, Subscriber, air, pb_decode, wait_until

DEVICES = ["pk-%03d" % i for i in range(1, 201)]
MINUTES = 5
PER_MINUTE = 60  # one sample a second, values 0..59: sum 1770


def windows(sub):
    """[(device, metric, start_ms, count, sum)] of every Window published."""
    out = []
    for topic, payload, _ in sub.snapshot():
        if "/window/" not in topic:
            continue
        for raw in pb_decode(payload).get(1, []):
            w = pb_decode(raw)  # Window: 2 device, 3 metric, 6 start_ms, 8 count, 9 sum
            out.append((w[2][0].decode(), w[3][0].decode(), w[6][0], w[8][0], w[9][0]))
    return out


class LiveWindowsBacklogTest(IocdTestCase):
    def test_backlog_windows_published_once_complete(self):
        d = self.iocd(AIR_ADAPTER, client_id="iocd-backlog-%d" % self.broker.port).start()
        self.assertEqual(d.stop(), 0)  # the broker keeps the session and queues
        m0 = (int(time.time()) // 60 - MINUTES - 1) * 60
        lines = [air(dev, m0 + m * 60 + k, float(k))
                 for m in range(MINUTES) for k in range(PER_MINUTE) for dev in DEVICES]
        self.broker.publish("pleiku/air/x/data", lines)
        sub = Subscriber(self.broker, "ioc/v1/window/#")
        self.addCleanup(sub.stop)
        time.sleep(0.3)
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        d.wait_messages("air", len(lines), timeout=60)
        want = sorted((dev, "pm25", (m0 + m * 60) * 1000, PER_MINUTE, 1770.0)
                      for dev in DEVICES for m in range(MINUTES))
        # Every minute is over (the last one ended a minute ago): each
        # window closes once its samples stopped arriving, grace 5 s.
        wait_until(lambda: len(windows(sub)) >= len(want), timeout=30,
                   what="%d windows" % len(want))
        time.sleep(7)  # more than the grace: nothing else may come
        self.assertEqual(sorted(windows(sub)), want)

    def cut_window(self, sig, stop_log, start_log):
        """30 samples of a minute, a stop by `sig`, 30 more and one of the
        next minute queued meanwhile: the minute must come out once, whole.
        A grace of an hour: only the series moving past the minute closes
        it."""
        d = self.iocd(AIR_ADAPTER, extra="[live]\nwindow_grace = 1h\n",
                      client_id="iocd-cut-%d" % self.broker.port).start()
        sub = Subscriber(self.broker, "ioc/v1/window/#")
        self.addCleanup(sub.stop)
        time.sleep(0.3)
        m = (int(time.time()) // 60 - 3) * 60
        self.broker.publish("pleiku/air/x/data", [air("pk-001", m + k, float(k))
                                                  for k in range(30)])
        d.wait_messages("air", 30)  # flushed: the window is stored
        time.sleep(0.3)
        self.assertEqual(d.stop(sig), 0 if sig == signal.SIGTERM else -sig)
        if stop_log:
            self.assertIn(stop_log, d.log_text())
        self.broker.publish("pleiku/air/x/data", [air("pk-001", m + k, float(k))
                                                  for k in range(30, 60)] +
                            [air("pk-001", m + 60, 100.0)])
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        self.assertIn(start_log, d.log_text())
        d.wait_messages("air", 61)
        wait_until(lambda: windows(sub), what="the window")
        time.sleep(1.5)  # nothing else comes
        # 0 + 1 + ... + 59 = 1770, the 60 samples of both runs, once.
        self.assertEqual(windows(sub), [("pk-001", "pm25", m * 1000, 60, 1770.0)])

    def test_window_cut_by_sigterm_published_once_whole(self):
        # The stop keeps the open window; the start continues it.
        self.cut_window(signal.SIGTERM, "1 open live window(s) kept for the next start",
                        "1 open live window(s) continued from the last stop")

    def test_window_cut_by_sigkill_continues_from_the_store(self):
        # Nothing is kept; the start finds the window still open in the
        # store (the wall clock could not have closed it before the last
        # flush) and continues it with the samples the broker queued.
        self.cut_window(signal.SIGKILL, None,
                        "after a crash: 1 stored window(s) still open continue live")

if __name__ == "__main__":
    unittest.main(verbosity=2)
