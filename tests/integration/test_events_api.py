"""GET /api/v1/events (docs/api.md): stored events through a real broker and
a real iocd, with every filter (source, kind, area, device, status, severity
at or above, time range), newest first, and paging with `before` = the
previous page's `next`, exact to the event even within one millisecond; bad
parameters are 400. `iocctl events` runs the same SELECT (the same rows)."""
import json
import unittest
import urllib.parse

from iocdtest import IocdTestCase, wait_until

T0 = 1795330800000  # 2026-11-22T07:00:00Z
REPORTS = """[adapter reports]
topic = pleiku/reports/+
format = event
device = $.reporter
kind = $.type
area = $.ward
status = $.status
time = $.ts
severity = $.level
text = $.msg
lat = $.lat
lon = $.lon
attributes = $.case
"""


def report(i, typ, ward, status, level, ts_ms, lat=None):
    d = {"reporter": "r%d" % i, "type": typ, "ward": ward, "status": status, "level": level,
         "ts": ts_ms, "msg": "report %d" % i, "case": "c-%d" % (i // 2)}
    if lat is not None:
        d["lat"], d["lon"] = lat, 108.0
    return json.dumps(d)


class EventsApiTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.iocd(REPORTS).start()
        msgs = [
            report(0, "flooding", "Hoi Thuong", "received", "minor", T0),
            report(1, "flooding", "Hoi Thuong", "assigned", "minor", T0 + 1000, lat=13.98),
            report(2, "pothole", "Dien Hong", "received", "info", T0 + 2000),
            report(3, "flooding", "Dien Hong", "received", "major", T0 + 3000),
            # Three in the same millisecond: paging must still be exact.
            report(4, "fire", "Hoi Thuong", "received", "critical", T0 + 4000),
            report(5, "fire", "Hoi Thuong", "assigned", "critical", T0 + 4000),
            report(6, "fire", "Hoi Thuong", "resolved", "critical", T0 + 4000),
        ]
        self.broker.publish("pleiku/reports/x", msgs)
        self.d.wait_messages("reports", 7)

    def get(self, **params):
        st, body = self.d.api("/api/v1/events?" + urllib.parse.urlencode(params))
        self.assertEqual(st, 200, body)
        return body

    def devices(self, **params):
        return [e["device"] for e in self.get(**params)["events"]]

    def test_filters(self):
        self.assertEqual(self.devices(), ["r6", "r5", "r4", "r3", "r2", "r1", "r0"])
        self.assertEqual(self.devices(kind="flooding"), ["r3", "r1", "r0"])
        self.assertEqual(self.devices(source="reports", kind="fire"), ["r6", "r5", "r4"])
        self.assertEqual(self.devices(source="other"), [])
        self.assertEqual(self.devices(area="Dien Hong"), ["r3", "r2"])
        self.assertEqual(self.devices(status="assigned"), ["r5", "r1"])
        self.assertEqual(self.devices(device="r2"), ["r2"])
        self.assertEqual(self.devices(severity="major"), ["r6", "r5", "r4", "r3"])
        self.assertEqual(self.devices(severity="minor", kind="flooding"), ["r3", "r1", "r0"])
        self.assertEqual(self.devices(**{"from": "2026-11-22T07:00:01Z", "to": T0 + 3000}),
                         ["r2", "r1"])
        one = self.get(device="r1")["events"][0]
        one.pop("id")
        one.pop("received")
        one.pop("received_ms")
        self.assertEqual(one, {"time": "2026-11-22T07:00:01Z", "time_ms": T0 + 1000,
                               "source": "reports", "kind": "flooding", "severity": "minor",
                               "text": "report 1", "device": "r1", "area": "Hoi Thuong",
                               "status": "assigned", "location": {"lat": 13.98, "lon": 108},
                               "attributes": {"case": "c-0"}})
        self.assertIsNone(self.get(device="r0")["events"][0]["location"])

    def test_paging(self):
        seen = []
        page = self.get(limit=2)
        pages = 1
        while True:
            seen += [e["device"] for e in page["events"]]
            if page["next"] is None:
                break
            page = self.get(limit=2, before=page["next"])
            pages += 1
        self.assertEqual(seen, ["r6", "r5", "r4", "r3", "r2", "r1", "r0"])
        self.assertEqual(pages, 4)  # 2 + 2 + 2 + 1
        # The first page's cursor names its last event exactly.
        first = self.get(limit=2)
        self.assertEqual(first["next"], "%d:%d" % (T0 + 4000, first["events"][1]["id"]))
        # A page that takes the last event says so: no next.
        self.assertIsNone(self.get(limit=7)["next"])
        self.assertEqual(self.get(limit=6)["next"], "%d:%d" % (T0 + 1000,
                                                               self.get(device="r1")["events"][0]["id"]))

    def test_same_rows_as_iocctl(self):
        r = self.d.ctl("events", "--kind", "fire", "--json", "--from", "2026-11-01T00:00:00Z",
                       "--to", "2026-12-01T00:00:00Z")
        cli = [json.loads(l) for l in r.stdout.splitlines() if l]
        api = self.get(kind="fire")["events"]
        self.assertEqual([(e["id"], e["device"], e["status"]) for e in cli],
                         [(e["id"], e["device"], e["status"]) for e in api])

    def test_bad_parameters(self):
        for q, msg in [("severity=loud", "bad severity"), ("limit=0", "bad limit"),
                       ("limit=1001", "bad limit"), ("before=12", "bad before"),
                       ("before=1:x", "bad before"), ("from=yesterday", "bad from or to")]:
            st, body = self.d.api("/api/v1/events?" + q)
            self.assertEqual(st, 400, q)
            self.assertTrue(body["error"].startswith(msg), (q, body))


if __name__ == "__main__":
    unittest.main()
