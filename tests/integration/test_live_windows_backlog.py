"""Closed live windows after a catch-up, on a real broker and iocd.

Owns: the tests of when the live feed publishes a closed window
(daemon/live/feed.c) while a backlog drains: QoS 1 messages the broker
queued for iocd's persistent session while iocd was down, covering
several past minutes. Every window must be published once, complete (its
count and sum those of every sample of its minute), in event time: not
when the wall clock says the minute is long over while its samples are
still arriving."""
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
