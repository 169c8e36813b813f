"""Alert rules on events (docs/alerts.md, type = event) through a real
broker and a real iocd: a critical fire alarm raises at once (the event's
severity), a minor one is not counted, and the alert clears by itself one
window after the last alarm; "3 or more flooding reports in one ward within
1 hour" raises on the third report of that ward only, is restored as raised
after a restart, and a fourth report does not raise it twice. Raises and
clears are exact on the live stream, stored, and in /api/v1/alerts."""
import json
import time
import unittest

from iocdtest import IocdTestCase, wait_until
from test_http_api import SSE

FEEDS = """[adapter fire]
topic = pleiku/fire/+/alarm
format = event
kind = $.event
severity = $.priority
severity_map = 1:critical, 2:major, 3:warning, 4:info
device = $.panel
area = $.ward
time = $.time

[adapter reports]
topic = pleiku/reports/+/event
format = event
kind = $.category
area = $.ward
time = $.ts

[alert fire_major]
type = event
match = fire/+
min_severity = major
window = 3s

[alert flood_ward]
type = event
match = reports/flooding
per = area
count = 3
window = 1h
severity = major
"""


def fire(panel, priority, t_ms):
    return json.dumps({"event": "fire_alarm", "priority": priority, "panel": panel,
                       "ward": "Thống Nhất", "time": t_ms})


def flood(ward, t_ms):
    return json.dumps({"category": "flooding", "ward": ward, "ts": t_ms})


class EventAlertsTest(IocdTestCase):
    def test_fire_alarm_raises_and_clears_by_itself(self):
        d = self.iocd(FEEDS).start()
        s = SSE(d.http_port, "?types=alert")
        self.addCleanup(s.close)
        now = int(time.time() * 1000)
        self.broker.publish("pleiku/fire/FP-1/alarm", [fire("FP-1", 3, now)])  # warning
        d.wait_messages("fire", 1)
        self.assertEqual(d.api("/api/v1/alerts")[1]["active"], [])
        t0 = time.monotonic()
        self.broker.publish("pleiku/fire/FP-1/alarm", [fire("FP-1", 1, now + 1)])  # critical
        s.read_until(lambda: len(s.events()) == 1, what="the raise")
        self.assertLess(time.monotonic() - t0, 2.0)
        raised = s.events()[0][2]
        self.assertEqual((raised["id"], raised["state"], raised["severity"], raised["value"],
                          raised["threshold"], raised["device"], raised["time_ms"]),
                         ("fire_major/fire/FP-1", "raised", "critical", 1, 1, "FP-1", now + 1))
        self.assertEqual(raised["text"], "fire_major: fire/FP-1 1 event(s) in 3s >= 1")
        active = d.api("/api/v1/alerts")[1]["active"]
        self.assertEqual([a["id"] for a in active], ["fire_major/fire/FP-1"])
        # The 3 s window passes without another alarm: cleared by the tick.
        s.read_until(lambda: len(s.events()) == 2, timeout=10, what="the clear")
        cleared = s.events()[1][2]
        self.assertEqual((cleared["state"], cleared["value"], cleared["raised_ms"]),
                         ("cleared", 0, now + 1))
        self.assertGreaterEqual(cleared["time_ms"], now + 1 + 3000 - 50)
        self.assertEqual(d.api("/api/v1/alerts")[1]["active"], [])
        wait_until(lambda: len(self.stored(d)) == 2, what="both changes stored")
        self.assertEqual([(e["status"], e["severity"], e["device"]) for e in self.stored(d)],
                         [("cleared", "critical", "FP-1"), ("raised", "critical", "FP-1")])

    def stored(self, d):
        st, body = d.api("/api/v1/events?source=iocd&kind=alert")
        return body["events"]

    def test_count_per_ward_restored_after_restart(self):
        d = self.iocd(FEEDS).start()
        now = int(time.time() * 1000)
        self.broker.publish("pleiku/reports/app/event",
                            [flood("Hội Thương", now), flood("Hội Thương", now + 1),
                             flood("Diên Hồng", now + 2)])
        d.wait_messages("reports", 3)
        self.assertEqual(d.api("/api/v1/alerts")[1]["active"], [])
        self.broker.publish("pleiku/reports/app/event", [flood("Hội Thương", now + 3)])
        wait_until(lambda: d.api("/api/v1/alerts")[1]["active"], what="the ward alert")
        [a] = d.api("/api/v1/alerts")[1]["active"]
        self.assertEqual((a["id"], a["severity"], a["value"], a["threshold"], a["raised_ms"]),
                         ("flood_ward/reports/Hội Thương", "major", 3, 3, now + 3))
        d.restart()
        [a] = d.api("/api/v1/alerts")[1]["active"]
        self.assertEqual((a["id"], a["value"], a["raised_ms"]),
                         ("flood_ward/reports/Hội Thương", 3, now + 3))
        self.broker.publish("pleiku/reports/app/event", [flood("Hội Thương", now + 4)])
        d.wait_messages("reports", 5)
        time.sleep(0.3)
        rows = self.stored(d)
        self.assertEqual([(e["status"], e["device"]) for e in rows], [("raised", "Hội Thương")])
        self.assertEqual(len(d.api("/api/v1/alerts")[1]["active"]), 1)


if __name__ == "__main__":
    unittest.main()
