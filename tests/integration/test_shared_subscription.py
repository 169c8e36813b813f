"""Two iocd instances split one feed through an MQTT shared subscription.

Both subscribe `$share/iocd/pleiku/air/+/data` (one over MQTT 5, one over
3.1.1, each with its own client id and database); the broker hands each
message of the group to one of them. Publishing N numbered messages at
QoS 1, the per-instance message counts add up to exactly N, both are
above 0, each instance stored exactly the messages it counted (the sums of
their windows add up to the whole feed's) and nothing was rejected as
no_route (before, the router compared "$share/..." literally and rejected
every message).
"""
import time
import unittest

from iocdtest import IocdTestCase, air, wait_until

N = 400
STATIONS = 4
BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z

SHARED = """[adapter air]
topic = $share/iocd/pleiku/air/+/data
format = json
device = $.station
time = $.ts
metric.pm25 = $.pm25 ug/m3
"""


def iso(ms):
    s, frac = divmod(ms, 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)), frac)


class SharedSubscriptionTest(IocdTestCase):
    def instance(self, name, protocol):
        d = self.iocd(SHARED, name=name, client_id="iocd-" + name,
                      db="%s/%s.db" % (self.dir, name))
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("[mqtt]\n", "[mqtt]\nprotocol = %s\n" % protocol, 1))
        return d.start()

    def stored(self, d):
        """{station: (count, sum)} of d's stored day windows."""
        out = {}
        for s in range(STATIONS):
            day = d.query("air/GL-AQ0%d/pm25" % s, "--resolution", "1d")
            out[s] = (day[0]["count"], day[0]["sum"]) if day else (0, 0.0)
        return out

    def test_two_instances_split_the_feed_exactly(self):
        a = self.instance("a", "5")
        b = self.instance("b", "3.1.1")
        for s in range(STATIONS):
            self.broker.publish("pleiku/air/GL-AQ0%d/data" % s,
                                [air("GL-AQ0%d" % s, iso(BASE_MS + i * 1000), i / 4)
                                 for i in range(s, N, STATIONS)])
        total = lambda: a.counter("air", "messages") + b.counter("air", "messages")
        wait_until(lambda: total() >= N, timeout=60, what="%d messages over both" % N)
        time.sleep(1.5)  # a message given to both would arrive by now
        na, nb = a.counter("air", "messages"), b.counter("air", "messages")
        self.assertEqual(na + nb, N)
        self.assertGreater(na, 0)
        self.assertGreater(nb, 0)
        for d, n in ((a, na), (b, nb)):
            self.assertEqual(d.counter("air", "observations"), n)
            st = d.status()
            self.assertEqual(st["iocd"]["rejects"].get("no_route", 0), 0)
        # Each holds partial windows; together they are the whole feed.
        sa, sb = self.stored(a), self.stored(b)
        self.assertEqual(sum(c for c, _ in sa.values()), na)
        self.assertEqual(sum(c for c, _ in sb.values()), nb)
        for s in range(STATIONS):
            self.assertEqual(sa[s][0] + sb[s][0], N // STATIONS)
            self.assertEqual(sa[s][1] + sb[s][1], sum(i / 4 for i in range(s, N, STATIONS)))
        self.assertIn("subscribed to 1 topic filter(s)", a.log_text())
        self.assertNotIn("refused", a.log_text() + b.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
