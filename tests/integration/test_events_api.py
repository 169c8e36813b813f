"""GET /api/v1/events (docs/api.md): stored events through a real broker and
a real iocd, with every filter (source, kind, area, device, status, severity
at or above, time range), newest first, and paging with `before` = the
previous page's `next`, exact to the event even within one millisecond; bad
parameters are 400. `iocctl events` runs the same SELECT (the same rows).
Cases (docs/events.md): the updates of one report are one case (`case`
filter), and the time each case took to resolve is stored as
reports/AREA/resolve_time and reports/_all/resolve_time, exactly, once per
case (a repeated resolve adds nothing), also for a case opened before a
restart."""
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


CASES = """[adapter cases]
topic = pleiku/cases/+
format = event
kind = $.category
area = $.ward
status = $.status
time = $.ts
case = $.id
"""


def step(case_id, ward, status, ts_ms):
    return json.dumps({"id": case_id, "category": "flooding", "ward": ward, "status": status,
                       "ts": ts_ms})


class CasesTest(IocdTestCase):
    def window(self, d, series):
        return d.query(series, "--res", "1d", "--from", "2026-11-22T00:00:00Z",
                       "--to", "2026-11-23T00:00:00Z")

    def test_resolve_times_exact_once_and_across_a_restart(self):
        d = self.iocd(CASES).start()
        self.broker.publish("pleiku/cases/app", [
            step("A", "Hoi Thuong", "received", T0),
            step("B", "Dien Hong", "received", T0 + 10000),
            step("A", "Hoi Thuong", "assigned", T0 + 60000),
            step("C", "Dien Hong", "received", T0 + 20000),
            step("B", "Dien Hong", "resolved", T0 + 130000),   # 120 s
            step("A", "Hoi Thuong", "resolved", T0 + 300000),  # 300 s
            step("A", "Hoi Thuong", "resolved", T0 + 300000),  # again: nothing more
        ])
        d.wait_messages("cases", 7)
        [w] = self.window(d, "cases/_all/resolve_time")
        self.assertEqual((w["count"], w["sum"], w["min"], w["max"]), (2, 420, 120, 300))
        [w] = self.window(d, "cases/Hoi Thuong/resolve_time")
        self.assertEqual((w["count"], w["sum"]), (1, 300))
        st, body = d.api("/api/v1/events?case=A")
        self.assertEqual([(e["case"], e["status"]) for e in body["events"]],
                         [("A", "resolved"), ("A", "resolved"), ("A", "assigned"),
                          ("A", "received")])
        # C is still open when iocd restarts; its start is read back.
        d.restart()
        self.assertIn("open cases: 1", d.log_text())
        self.broker.publish("pleiku/cases/app", [step("C", "Dien Hong", "closed", T0 + 620000)])
        d.wait_messages("cases", 8)
        [w] = self.window(d, "cases/Dien Hong/resolve_time")
        self.assertEqual((w["count"], w["sum"], w["min"], w["max"]), (2, 720, 120, 600))
        [w] = self.window(d, "cases/_all/resolve_time")
        self.assertEqual((w["count"], w["sum"]), (3, 1020))


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
                               "status": "assigned", "case": "",
                               "location": {"lat": 13.98, "lon": 108},
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
