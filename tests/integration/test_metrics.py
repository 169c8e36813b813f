"""/metrics in the Prometheus text format: exact figures for known traffic
(messages per adapter, rejects per reason, duplicates, pending writes,
series, broker state, live items, republish, devices, alerts), and a
well-formed exposition (HELP and TYPE for every family)."""
import re
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air, wait_until

T0 = 1795330800  # 2026-11-22T07:00:00Z
RULE = "[alert high]\ntype = threshold\nmatch = air/+/pm25\nabove = 100\n"


def samples(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


class MetricsTest(IocdTestCase):
    def test_exact_figures(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        good = [air("pk-01", T0, 12.5, 27.0), air("pk-01", T0 + 10, 150.0, 27.5)]
        self.broker.publish("pleiku/air/pk-01/data", good + ["{not json", good[0]])
        wait_until(lambda: samples(d.http("/metrics")[2].decode()).get(
            'iocd_messages_total{adapter="air"}') == 4, what="4 messages")
        wait_until(lambda: samples(d.http("/metrics")[2].decode())["iocd_pending_samples"] == 0,
                   what="a flush")
        st, hdr, body = d.http("/metrics")
        text = body.decode()
        m = samples(text)
        want = {
            'iocd_messages_total{adapter="air"}': 4,
            'iocd_messages_accepted_total{adapter="air"}': 2,
            'iocd_observations_total{adapter="air"}': 4,
            'iocd_events_total{adapter="air"}': 0,
            'iocd_rejects_total{adapter="air",reason="malformed"}': 1,
            'iocd_rejects_total{adapter="air",reason="duplicate"}': 2,
            'iocd_duplicates_total{adapter="air"}': 2,
            "iocd_pending_windows": 0,
            "iocd_pending_samples": 0,
            "iocd_pending_events": 0,
            "iocd_flush_in_progress": 0,
            "iocd_series": 2,
            "iocd_broker_connected": 1,
            "iocd_broker_connects_total": 1,
            'iocd_live_items_total{type="obs"}': 4,
            'iocd_live_items_total{type="event"}': 0,
            'iocd_live_items_total{type="alert"}': 1,
            'iocd_live_items_total{type="status"}': 1,
            'iocd_live_items_total{type="obs_batch"}': 2,
            # The defaults: one ioc.v1.Batch per accepted message (2), 1 alert
            # and 1 status, as protobuf only.
            "iocd_republished_total": 4,
            "iocd_republish_dropped_total": 0,
            "iocd_alerts_active": 1,
            "iocd_alerts_raised_total": 1,
            "iocd_alerts_cleared_total": 0,
            'iocd_devices{source="air",state="online"}': 1,
            'iocd_devices{source="air",state="stale"}': 0,
            'iocd_devices{source="air",state="offline"}': 0,
            "iocd_live_clients": 0,
            "iocd_live_dropped_total": 0,
        }
        self.assertEqual({k: m.get(k) for k in want}, want)
        self.assertGreaterEqual(m["iocd_flushes_total"], 1)
        # The flush histogram: cumulative buckets, +Inf = count = flushes.
        les = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
               "5", "+Inf"]
        buckets = [m['iocd_flush_duration_seconds_bucket{le="%s"}' % le] for le in les]
        self.assertEqual(buckets, sorted(buckets))
        self.assertEqual(buckets[-1], m["iocd_flush_duration_seconds_count"])
        self.assertEqual(buckets[-1], m["iocd_flushes_total"])
        self.assertGreater(m["iocd_flush_duration_seconds_sum"], 0)
        self.assertGreater(m["iocd_flush_max_seconds"], 0)
        self.assertLess(m["iocd_flush_max_seconds"], 10)
        # Well-formed: every sample's family has HELP and TYPE before it.
        declared = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                name, kind = line.split()[2:4]
                self.assertIn(kind, ("counter", "gauge", "histogram"))
                declared.add(name)
            elif line.startswith("# HELP "):
                continue
            else:
                self.assertRegex(line, r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? '
                                       r'-?[0-9.e+]+$')
                name = re.match(r"[a-z_]+", line).group(0)
                family = re.sub(r"_(bucket|sum|count)$", "", name)
                self.assertTrue(name in declared or family in declared, line)
        # The same figures through the status API.
        st, s = d.api("/api/v1/status")
        self.assertEqual(s["adapters"]["air"], {"messages": 4, "accepted": 2, "observations": 4,
                                                "events": 0,
                                                "rejects": {"malformed": 1, "duplicate": 2}})
        self.assertEqual((s["series"], s["alerts_active"], s["broker"]),
                         (2, 1, {"state": "connected", "connects": 1, "attempts": 0,
                                 "last_error": ""}))


if __name__ == "__main__":
    unittest.main()
