"""Every non-json adapter end to end: real payloads (RFC 8428 examples, FIWARE
Smart Data Models examples, hand-built Sparkplug B protobuf, line protocol,
UltraLight, citizen reports) published through a real mosquitto with
mosquitto_pub, decoded by a real iocd, and read back through iocctl --json as
exact windows, units, times, events and notes."""
import json
import os
import struct
import subprocess
import time
import unittest

from iocdtest import SOURCE_ROOT, IocdTestCase
# Sparkplug B payloads: the encoder the edge-node script uses.
from spb_edge import DT_DOUBLE, DT_FLOAT, DT_UINT16, DT_UINT64, sp_metric, sp_payload


def source_file(*parts):
    with open(os.path.join(SOURCE_ROOT, *parts), "rb") as f:
        return f.read()


def iso_ms(ms):
    """epoch ms -> iocctl's time text ('...T18:01:16.001Z', no '.000')."""
    s, frac = divmod(ms, 1000)
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return t + (".%03dZ" % frac if frac else "Z")


def ms_of(iso):
    """iocctl's time text -> epoch ms."""
    import datetime
    t = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return round(t.timestamp() * 1000)


WINDOW_KEYS = ("count", "sum", "min", "max", "first", "first_time", "last", "last_time", "unit")


class AdapterCase(IocdTestCase):
    def window(self, series, res, start):
        rows = [w for w in self.d.query(series, "--resolution", res) if w["start"] == start]
        self.assertEqual(len(rows), 1, "window %s %s %s: %r" % (
            series, res, start, self.d.query(series, "--resolution", res)))
        return {k: rows[0][k] for k in WINDOW_KEYS}

    def windows(self, series, res):
        return [(w["start"], w["count"], w["sum"], w["min"], w["max"], w["last"],
                 w["last_time"], w["unit"])
                for w in self.d.query(series, "--resolution", res)]

    def events(self, *args):
        out = self.d.ctl("events", "--json", *args).stdout
        rows = [json.loads(l) for l in out.splitlines() if l.strip()]
        for r in rows:
            r.pop("id", None)
            r.pop("received", None)
        return rows


class SenmlTest(AdapterCase):
    """RFC 8428 §5.1.2 'Multiple Datapoints', both examples."""

    def setUp(self):
        super().setUp()
        self.d = self.iocd("[adapter senml]\ntopic = city/senml/+\nformat = senml\n").start()

    def test_rfc8428_5_1_2(self):
        # First example (the corpus file, as its bytes): no bt/t, so each
        # resolved record is at "now", the receive time.
        pack = source_file("tests", "fuzz", "corpus", "senml", "SenML.rfc8428-5.1.2.json")
        before = int(time.time() * 1000) - 1
        self.broker.publish("city/senml/gw1", [pack])
        self.d.wait_messages("senml", 1)
        after = int(time.time() * 1000) + 1
        dev = "senml/urn:dev:ow:10e2073a01080063/"
        self.assertEqual(self.d.series(), [dev + "current", dev + "voltage"])
        for metric, value, unit in (("voltage", 120.1, "V"), ("current", 1.2, "A")):
            rows = self.d.query(dev + metric, "--resolution", "1m")
            self.assertEqual(len(rows), 1)
            w = rows[0]
            self.assertEqual((w["count"], w["sum"], w["min"], w["max"], w["last"], w["unit"]),
                             (1, value, value, value, value, unit))
            self.assertEqual(w["first_time"], w["last_time"])
            self.assertTrue(before <= ms_of(w["last_time"]) <= after, (before, w, after))

        # Second example (bt, bu, bver, relative t): RFC 8428's resolved
        # records are name bn+n, time bt+t, unit u else bu.
        pack2 = source_file("tests", "fuzz", "corpus", "senml", "rfc8428-5.1.2-times.json")
        recs = json.loads(pack2)
        bn, bt, bu = recs[0]["bn"], recs[0]["bt"], recs[0]["bu"]
        resolved = [(bn + r["n"], bt + r.get("t", 0), r.get("u", bu), r["v"]) for r in recs]
        self.broker.publish("city/senml/gw1", [pack2])
        self.d.wait_messages("senml", 2)
        dev2 = "senml/urn:dev:ow:10e2073a0108006/"
        self.assertEqual(self.d.series(), sorted([dev + "current", dev + "voltage",
                                                  dev2 + "current", dev2 + "voltage"]))
        # bt = 1.276020076001e9 s: 2010-06-08T18:01:16.001Z.
        ms = [round(t * 1000) for _, t, _, _ in resolved]
        self.assertEqual(ms[0], 1276020076001)
        self.assertEqual(iso_ms(ms[0]), "2010-06-08T18:01:16.001Z")
        volt = [r for r in resolved if r[0].endswith("voltage")]
        cur = [(m, r) for m, r in zip(ms, resolved) if r[0].endswith("current")]
        self.assertEqual(len(volt), 1)
        self.assertEqual(self.window(dev2 + "voltage", "1m", "2010-06-08T18:01:00Z"), {
            "count": 1, "sum": 120.1, "min": 120.1, "max": 120.1, "first": 120.1,
            "first_time": "2010-06-08T18:01:16.001Z", "last": 120.1,
            "last_time": "2010-06-08T18:01:16.001Z", "unit": "V"})
        vals = [r[3] for _, r in cur]
        total = 0.0
        for v in vals:
            total += v
        self.assertEqual([iso_ms(m) for m, _ in cur],
                         ["2010-06-08T18:01:%02d.001Z" % s for s in range(11, 17)])
        self.assertEqual({r[2] for _, r in cur}, {"A"})
        w = self.window(dev2 + "current", "1m", "2010-06-08T18:01:00Z")
        self.assertEqual(w, {
            "count": 6, "sum": total, "min": 1.2, "max": 1.7, "first": 1.2,
            "first_time": "2010-06-08T18:01:11.001Z", "last": 1.7,
            "last_time": "2010-06-08T18:01:16.001Z", "unit": "A"})
        self.assertEqual(self.windows(dev2 + "current", "1h"), [
            ("2010-06-08T18:00:00Z", 6, total, 1.2, 1.7, 1.7, "2010-06-08T18:01:16.001Z", "A")])


class NgsiTest(AdapterCase):
    """FIWARE Smart Data Models examples, as an entity and inside an NGSI-v2
    notification."""

    AQO = "Madrid-AmbientObserved-28079004-2016-03-15T11:00:00"
    # docs/adapters.md's table: metric (lowercased), value, unit.
    AQO_METRICS = [
        ("co", 500, "mg/m3"), ("temperature", 12.2, "Cel"), ("no", 45, "ug/m3"),
        ("winddirection", 176, "deg"), ("windspeed", 0.64, "m/s"), ("so2", 11, "ug/m3"),
        ("nox", 139, "ug/m3"), ("airqualityindex", 65, "1"), ("reliability", 0.7, "1"),
        ("relativehumidity", 0.54, "1"), ("precipitation", 0, "mm"), ("no2", 69, "ug/m3"),
        ("pm4", 37, "ug/m3"), ("tpc", 108, ""), ("tsp", 73, "ug/m3"), ("pressure", 1.1, "hPa"),
        ("charge", 5, "V"),
    ]

    def setUp(self):
        super().setUp()
        self.d = self.iocd("[adapter fiware]\ntopic = city/fiware/#\nformat = ngsi\n\n"
                           "[adapter notify]\ntopic = city/notify/#\nformat = ngsi\n").start()

    def check_aqo(self, source):
        prefix = "%s/%s/" % (source, self.AQO)
        for metric, value, unit in self.AQO_METRICS:
            # dateObserved "2016-03-15T11:00:00" (no offset, time_offset unset: UTC)
            self.assertEqual(self.window(prefix + metric, "1m", "2016-03-15T11:00:00Z"), {
                "count": 1, "sum": value, "min": value, "max": value, "first": value,
                "first_time": "2016-03-15T11:00:00Z", "last": value,
                "last_time": "2016-03-15T11:00:00Z", "unit": unit}, metric)

    def test_air_quality_and_weather(self):
        aqo = source_file("tests", "data", "ngsi", "AirQualityObserved.example-normalized.json")
        entity = json.loads(aqo)
        # The table is the file's own numbers (metric names lowercased).
        self.assertEqual({k.lower(): v["value"] for k, v in entity.items()
                          if isinstance(v, dict) and v.get("type") == "Number"},
                         {m: v for m, v, _ in self.AQO_METRICS})
        self.assertEqual(entity["co"]["metadata"]["unitCode"]["value"], "GP")
        self.assertEqual(entity["no2"]["metadata"]["unitCode"]["value"], "GQ")
        self.broker.publish("city/fiware/air", [aqo])
        self.d.wait_messages("fiware", 1)
        self.assertEqual(self.d.series(),
                         sorted("fiware/%s/%s" % (self.AQO, m) for m, _, _ in self.AQO_METRICS))
        self.check_aqo("fiware")

        # The same entity inside an NGSI-v2 notification, on another section.
        note = json.dumps({"subscriptionId": "x", "data": [entity]})
        self.broker.publish("city/notify/air", [note])
        self.d.wait_messages("notify", 1)
        self.check_aqo("notify")
        self.check_aqo("fiware")  # untouched

        # WeatherObserved (keyValues): default units by attribute name.
        wo = source_file("tests", "data", "ngsi", "WeatherObserved.example.json")
        self.broker.publish("city/fiware/weather", [wo])
        self.d.wait_messages("fiware", 2)
        prefix = "fiware/Spain-WeatherObserved-Valladolid-2016-11-30T07:00:00.00Z/"
        expected = [
            ("atmosphericpressure", 938.9, "hPa"), ("precipitation", 0, "mm"),
            ("pressuretendency", 0.5, ""), ("relativehumidity", 1, "1"),
            ("temperature", 3.3, "Cel"), ("winddirection", 135, "deg"), ("windspeed", 2, "m/s"),
            ("illuminance", 1000, "lx"), ("streamgauge", 50, "cm"), ("snowheight", 20, "cm"),
            ("uvindexmax", 1.0, "1"),
        ]
        self.assertEqual([x for x in self.d.series() if x.startswith(prefix)],
                         sorted(prefix + m for m, _, _ in expected))
        for metric, value, unit in expected:
            self.assertEqual(self.window(prefix + metric, "1h", "2016-11-30T07:00:00Z"), {
                "count": 1, "sum": value, "min": value, "max": value, "first": value,
                "first_time": "2016-11-30T07:00:00Z", "last": value,
                "last_time": "2016-11-30T07:00:00Z", "unit": unit}, metric)
        st = self.d.status()["adapters"]
        self.assertEqual((st["fiware"]["messages"], st["notify"]["messages"]), (2, 1))


class InfluxTest(AdapterCase):
    """A bus gateway's line protocol (config/iocd.conf's [adapter bus])."""

    BUS = """[adapter bus]
topic = pleiku/bus/+/lp
format = influx
device = tag:bus
metric = field
precision = ns
unit.lat = deg
unit.lon = deg
unit.speed = km/h
unit.occupancy = 1
"""

    def setUp(self):
        super().setUp()
        self.d = self.iocd(self.BUS).start()

    def test_lines_and_partial(self):
        t1, t2 = 1795349564000000000, 1795349565250000000   # ns
        msg = ("bus,route=01,bus=81B-00123 lat=13.5,lon=108.25,speed=32.5,occupancy=41i %d\n"
               "bus,route=01,bus=81B-00456 speed=20.25,occupancy=12i %d\n"
               "bus,route=02,bus=81B-00123 speed=30.5 %d" % (t1, t1, t2))
        self.broker.publish("pleiku/bus/gw1/lp", [msg.encode()])
        self.d.wait_messages("bus", 1)
        self.assertEqual(iso_ms(t1 // 10**6), "2026-11-22T12:12:44Z")
        self.assertEqual(self.d.series(), [
            "bus/81B-00123/lat", "bus/81B-00123/lon", "bus/81B-00123/occupancy",
            "bus/81B-00123/speed", "bus/81B-00456/occupancy", "bus/81B-00456/speed"])
        T1, T2 = "2026-11-22T12:12:44Z", "2026-11-22T12:12:45.250Z"
        W = "2026-11-22T12:12:00Z"
        self.assertEqual(self.window("bus/81B-00123/speed", "1m", W), {
            "count": 2, "sum": 63.0, "min": 30.5, "max": 32.5, "first": 32.5, "first_time": T1,
            "last": 30.5, "last_time": T2, "unit": "km/h"})
        for series, value, unit in (("bus/81B-00123/lat", 13.5, "deg"),
                                    ("bus/81B-00123/lon", 108.25, "deg"),
                                    ("bus/81B-00123/occupancy", 41, "1"),
                                    ("bus/81B-00456/speed", 20.25, "km/h"),
                                    ("bus/81B-00456/occupancy", 12, "1")):
            self.assertEqual(self.window(series, "1m", W), {
                "count": 1, "sum": value, "min": value, "max": value, "first": value,
                "first_time": T1, "last": value, "last_time": T1, "unit": unit}, series)
        st = self.d.status()["adapters"]["bus"]
        self.assertEqual((st["messages"], st["accepted"], st["observations"],
                          st["notes"].get("partial", 0)), (1, 1, 7, 0))

        # A partly bad message: the line with an empty field value is dropped
        # whole, the good lines around it are kept, with one `partial` note.
        t3 = 1795349624000000000    # 12:13:44Z
        bad = ("bus,route=01,bus=81B-00123 speed=8.5 %d\n"
               "bus,route=01,bus=81B-00456 speed= %d\n"
               "bus,route=01,bus=81B-00456 speed=4.25 %d" % (t3, t3, t3))
        self.broker.publish("pleiku/bus/gw1/lp", [bad.encode()])
        self.d.wait_messages("bus", 2)
        T3 = "2026-11-22T12:13:44Z"
        self.assertEqual(self.windows("bus/81B-00123/speed", "1m"), [
            (W, 2, 63.0, 30.5, 32.5, 30.5, T2, "km/h"),
            ("2026-11-22T12:13:00Z", 1, 8.5, 8.5, 8.5, 8.5, T3, "km/h")])
        self.assertEqual(self.windows("bus/81B-00456/speed", "1m"), [
            (W, 1, 20.25, 20.25, 20.25, 20.25, T1, "km/h"),
            ("2026-11-22T12:13:00Z", 1, 4.25, 4.25, 4.25, 4.25, T3, "km/h")])
        self.assertEqual(self.windows("bus/81B-00456/speed", "1h"), [
            ("2026-11-22T12:00:00Z", 2, 24.5, 4.25, 20.25, 4.25, T3, "km/h")])
        st = self.d.status()["adapters"]["bus"]
        self.assertEqual((st["messages"], st["accepted"], st["observations"], st["notes"]["partial"]),
                         (2, 2, 9, 1))


class TextTest(AdapterCase):
    """mode = number (config/iocd.conf's rain gauges), kv, ultralight."""

    TEXT = """[adapter rain]
topic = pleiku/rain/+/intensity
format = text
mode = number
device = topic[2]
metric = intensity
unit = mm/h

[adapter kv]
topic = pleiku/kv/+/data
format = text
mode = kv
device = key:dev
time_key = ts
unit.temp = Cel
metric.hum = humidity
unit.hum = %

[adapter ul]
topic = /+/+/attrs
format = text
mode = ultralight
metric.t = temperature
unit.t = Cel
unit.h = %
"""

    def setUp(self):
        super().setUp()
        self.d = self.iocd(self.TEXT).start()

    def test_number(self):
        before = int(time.time() * 1000) - 1
        self.broker.publish("pleiku/rain/GL-RG01/intensity", ["2.5", "0.75"])
        self.d.wait_messages("rain", 2)
        after = int(time.time() * 1000) + 1
        self.assertEqual(self.d.series(), ["rain/GL-RG01/intensity"])
        # Stamped with the receive time: the two may straddle a window edge.
        rows = self.d.query("rain/GL-RG01/intensity", "--resolution", "1m")
        self.assertEqual((sum(w["count"] for w in rows), sum(w["sum"] for w in rows),
                          min(w["min"] for w in rows), max(w["max"] for w in rows),
                          rows[-1]["last"], {w["unit"] for w in rows}),
                         (2, 3.25, 0.75, 2.5, 0.75, {"mm/h"}))
        self.assertTrue(before <= ms_of(rows[0]["first_time"]) <= ms_of(rows[-1]["last_time"])
                        <= after, (before, rows, after))

    def test_kv(self):
        self.broker.publish("pleiku/kv/gw/data", [
            "dev=GL-K01;ts=2026-11-22T10:04:05Z;temp=21.5;hum=40&status=ok",
            "dev=GL-K01;ts=1795341906250;temp=22.25;hum=41.5",     # epoch ms: 10:05:06.250Z
        ])
        self.d.wait_messages("kv", 2)
        self.assertEqual(self.d.series(), ["kv/GL-K01/humidity", "kv/GL-K01/temp"])
        self.assertEqual(self.window("kv/GL-K01/temp", "1h", "2026-11-22T10:00:00Z"), {
            "count": 2, "sum": 43.75, "min": 21.5, "max": 22.25, "first": 21.5,
            "first_time": "2026-11-22T10:04:05Z", "last": 22.25,
            "last_time": "2026-11-22T10:05:06.250Z", "unit": "Cel"})
        self.assertEqual(self.windows("kv/GL-K01/humidity", "1m"), [
            ("2026-11-22T10:04:00Z", 1, 40, 40, 40, 40, "2026-11-22T10:04:05Z", "%"),
            ("2026-11-22T10:05:00Z", 1, 41.5, 41.5, 41.5, 41.5, "2026-11-22T10:05:06.250Z", "%")])

    def test_ultralight(self):
        # FIWARE IoT Agent topic /APIKEY/DEVICE/attrs: the device is topic[2].
        self.broker.publish("/k3y/GL-UL01/attrs", [
            "2026-11-22T10:04:05Z|t|21.5|h|40#2026-11-22T17:05:05.250+07:00|t|22.25"])
        self.d.wait_messages("ul", 1)
        self.assertEqual(self.d.series(), ["ul/GL-UL01/h", "ul/GL-UL01/temperature"])
        self.assertEqual(self.windows("ul/GL-UL01/temperature", "1m"), [
            ("2026-11-22T10:04:00Z", 1, 21.5, 21.5, 21.5, 21.5, "2026-11-22T10:04:05Z", "Cel"),
            ("2026-11-22T10:05:00Z", 1, 22.25, 22.25, 22.25, 22.25, "2026-11-22T10:05:05.250Z",
             "Cel")])
        self.assertEqual(self.windows("ul/GL-UL01/h", "1h"), [
            ("2026-11-22T10:00:00Z", 1, 40, 40, 40, 40, "2026-11-22T10:04:05Z", "%")])


class EventTest(AdapterCase):
    """Citizen reports and fire alarms (config/iocd.conf's sections)."""

    EVENTS = """[adapter fire]
topic = pleiku/fire/+/alarm
format = event
kind = $.event
severity = $.priority
severity_map = 1:critical, 2:major, 3:warning, 4:info
device = $.panel
area = $.ward
text = $.building
time = $.time

[adapter reports]
topic = pleiku/reports/+/event
format = event
kind = $.category
text = $.description
area = $.ward
status = $.status
statuses = new, received, assigned, in_progress, resolved, rejected
severity = $.severity
time = $.updated_at
location = $.location
"""

    def setUp(self):
        super().setUp()
        self.d = self.iocd(self.EVENTS).start()

    def test_reports_and_alarm(self):
        reports = [
            {"id": "R-1001", "category": "pothole", "ward": "Hội Thương",
             "description": "Ổ gà lớn trên đường Hùng Vương, gần chợ",
             "status": "new", "severity": "minor", "updated_at": "2026-11-22T17:04:05+07:00",
             "location": {"type": "Point", "coordinates": [108.0, 13.984375]}},
            {"id": "R-1002", "category": "pothole", "ward": "Hội Thương",
             "description": "Đèn đường hỏng", "status": "received", "severity": "major",
             "updated_at": "2026-11-22T10:30:00.250Z"},
            {"id": "R-1003", "category": "flooding", "ward": "Diên Hồng",
             "description": "Ngập nước sau mưa", "status": "assigned", "severity": "warning",
             "updated_at": "2026-11-22T11:00:00Z"},
        ]
        self.broker.publish("pleiku/reports/app/event",
                            [json.dumps(r, ensure_ascii=False) for r in reports])
        alarm = {"panel": "GL-FA007", "zone": 3, "event": "FIRE", "priority": 1,
                 "building": "Chợ Trung tâm Pleiku", "ward": "Hội Thương",
                 "time": "2026-11-22T17:45:30+07:00"}
        self.broker.publish("pleiku/fire/GL-FA007/alarm", [json.dumps(alarm, ensure_ascii=False)])
        self.d.wait_messages("reports", 3)
        self.d.wait_messages("fire", 1)
        def ev(time_, source, kind, sev, text, device, area, status, loc, attrs):
            return {"time": time_, "source": source, "kind": kind, "severity": sev,
                    "text": text, "device": device, "area": area, "status": status,
                    "case": "", "location": loc, "attributes": attrs}
        r1 = ev("2026-11-22T10:04:05Z", "reports", "pothole", "minor",
                "Ổ gà lớn trên đường Hùng Vương, gần chợ", "", "Hội Thương", "new",
                {"lat": 13.984375, "lon": 108}, {"id": "R-1001"})
        r2 = ev("2026-11-22T10:30:00.250Z", "reports", "pothole", "major", "Đèn đường hỏng", "",
                "Hội Thương", "received", None, {"id": "R-1002"})
        r3 = ev("2026-11-22T11:00:00Z", "reports", "flooding", "warning", "Ngập nước sau mưa", "",
                "Diên Hồng", "assigned", None, {"id": "R-1003"})
        # priority 1 -> critical via severity_map. The kind "FIRE" is stored
        # lowercased; members not mapped to a field become text attributes.
        f1 = ev("2026-11-22T10:45:30Z", "fire", "fire", "critical", "Chợ Trung tâm Pleiku",
                "GL-FA007", "Hội Thương", "", None, {"zone": "3"})
        self.assertEqual(self.events(), [r3, f1, r2, r1])    # newest first
        self.assertEqual(self.events("--area", "Hội Thương"), [f1, r2, r1])
        self.assertEqual(self.events("--source", "fire"), [f1])
        self.assertEqual(self.events("--kind", "pothole", "--status", "new"), [r1])

        self.assertEqual(self.d.series(), [
            "fire/Hội Thương/event.fire", "fire/_all/event.fire",
            "reports/Diên Hồng/event.flooding", "reports/Hội Thương/event.pothole",
            "reports/_all/event.flooding", "reports/_all/event.pothole"])
        H10, H11 = "2026-11-22T10:00:00Z", "2026-11-22T11:00:00Z"
        self.assertEqual(self.windows("reports/Hội Thương/event.pothole", "1h"), [
            (H10, 2, 2, 1, 1, 1, "2026-11-22T10:30:00.250Z", "1")])
        self.assertEqual(self.windows("reports/_all/event.pothole", "1h"), [
            (H10, 2, 2, 1, 1, 1, "2026-11-22T10:30:00.250Z", "1")])
        self.assertEqual(self.windows("reports/Diên Hồng/event.flooding", "1h"), [
            (H11, 1, 1, 1, 1, 1, "2026-11-22T11:00:00Z", "1")])
        self.assertEqual(self.windows("reports/_all/event.flooding", "1h"), [
            (H11, 1, 1, 1, 1, 1, "2026-11-22T11:00:00Z", "1")])
        for s in ("fire/Hội Thương/event.fire", "fire/_all/event.fire"):
            self.assertEqual(self.windows(s, "1h"), [
                (H10, 1, 1, 1, 1, 1, "2026-11-22T10:45:30Z", "1")])
        st = self.d.status()["adapters"]
        self.assertEqual((st["reports"]["events"], st["fire"]["events"]), (3, 1))


class SparkplugTest(AdapterCase):
    T0 = 1795341840000    # 2026-11-22T10:04:00Z

    def setUp(self):
        super().setUp()
        self.d = self.iocd("[adapter plant]\ntopic = spBv1.0/+/+/#\nformat = sparkplug\n").start()

    def pub(self, topic, payload):
        # One mosquitto_pub -f per message, QoS 1, in order (binary-safe).
        path = os.path.join(self.dir, "spb.bin")
        with open(path, "wb") as f:
            f.write(payload)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                        "-q", "1", "-t", topic, "-f", path], check=True, timeout=60)

    def test_birth_data_gap_death(self):
        T0 = self.T0
        # Values exact in float32 (Float) and in decimal.
        for x in (12.5, 2.25, 2.5, 0.25, 1.5):
            self.assertEqual(struct.unpack("<f", struct.pack("<f", x))[0], x)
        nbirth = sp_payload(T0, 0, [
            sp_metric("bdSeq", 0, T0, DT_UINT64, long_value=3),
            sp_metric("Supply Voltage", 1, T0, DT_FLOAT, "V", float_value=12.5)])
        dbirth = sp_payload(T0 + 100, 1, [
            sp_metric("Inputs/Pressure", 10, T0 + 100, DT_FLOAT, "bar", float_value=2.25),
            sp_metric("Level", 11, None, DT_UINT16, int_value=300),
            sp_metric("Inputs/Flow Rate", 12, T0 + 100, DT_DOUBLE, "m3/h", double_value=41.5)])
        ddata1 = sp_payload(T0 + 2000, 2, [
            sp_metric(alias=10, ts=T0 + 1500, float_value=2.5),
            sp_metric(alias=11, int_value=301),                       # payload time
            sp_metric(alias=12, ts=T0 + 1000, double_value=40.75)])
        ddata2 = sp_payload(T0 + 3000, 3, [
            sp_metric(alias=10, float_value=0.25),
            sp_metric(alias=11, int_value=65535),
            sp_metric(alias=12, double_value=0.125)])
        gap = sp_payload(T0 + 4000, 5, [sp_metric(alias=10, float_value=1.5)])   # seq 4 skipped
        ddeath = sp_payload(T0 + 5000, 6, [])
        self.pub("spBv1.0/G/NBIRTH/E", nbirth)
        self.pub("spBv1.0/G/DBIRTH/E/D1", dbirth)
        self.pub("spBv1.0/G/DDATA/E/D1", ddata1)
        self.pub("spBv1.0/G/DDATA/E/D1", ddata2)
        self.d.wait_messages("plant", 4)
        st = self.d.status()["adapters"]["plant"]
        self.assertEqual((st["accepted"], st["notes"].get("seq_gap", 0)), (4, 0))
        self.pub("spBv1.0/G/DDATA/E/D1", gap)
        self.pub("spBv1.0/G/DDEATH/E/D1", ddeath)
        # The gap makes iocd ask E to rebirth (docs/adapters.md): its own
        # NCMD comes back under spBv1.0/+/+/#, a no_route reject.
        self.d.wait_messages("plant", 7)

        obs = [x for x in self.d.series() if "/event." not in x]
        self.assertEqual(obs, ["plant/D1/Inputs.Flow_Rate", "plant/D1/Inputs.Pressure",
                               "plant/D1/Level", "plant/E/Supply_Voltage"])
        W = "2026-11-22T10:04:00Z"
        self.assertEqual(self.window("plant/E/Supply_Voltage", "1m", W), {
            "count": 1, "sum": 12.5, "min": 12.5, "max": 12.5, "first": 12.5, "first_time": W,
            "last": 12.5, "last_time": W, "unit": "V"})
        self.assertEqual(self.window("plant/D1/Inputs.Pressure", "1m", W), {
            "count": 4, "sum": 6.5, "min": 0.25, "max": 2.5, "first": 2.25,
            "first_time": "2026-11-22T10:04:00.100Z", "last": 1.5,
            "last_time": "2026-11-22T10:04:04Z", "unit": "bar"})
        # Level's BIRTH metric has no timestamp: the payload's; no engUnit: "".
        self.assertEqual(self.window("plant/D1/Level", "1m", W), {
            "count": 3, "sum": 66136, "min": 300, "max": 65535, "first": 300,
            "first_time": "2026-11-22T10:04:00.100Z", "last": 65535,
            "last_time": "2026-11-22T10:04:03Z", "unit": ""})
        self.assertEqual(self.window("plant/D1/Inputs.Flow_Rate", "1m", W), {
            "count": 3, "sum": 82.375, "min": 0.125, "max": 41.5, "first": 41.5,
            "first_time": "2026-11-22T10:04:00.100Z", "last": 0.125,
            "last_time": "2026-11-22T10:04:03Z", "unit": "m3/h"})

        st = self.d.status()["adapters"]["plant"]
        self.assertEqual((st["messages"], st["accepted"], st["observations"], st["events"],
                          st["notes"]["seq_gap"], st["notes"].get("partial", 0),
                          st["commands"], st["rejects"]),
                         (7, 6, 11, 3, 1, 0, 1, {"no_route": 1}))

        def ev(t, kind, sev, device, text, attrs):
            return {"time": t, "source": "plant", "kind": kind, "severity": sev, "text": text,
                    "device": device, "area": "", "status": "", "case": "",
                    "location": None, "attributes": attrs}
        self.assertEqual(self.events(), [
            ev("2026-11-22T10:04:05Z", "device_offline", "warning", "D1", "device G/E/D1 offline",
               {"group": "G", "edge_node": "E", "device": "D1"}),
            ev("2026-11-22T10:04:00.100Z", "device_online", "info", "D1", "device G/E/D1 online",
               {"group": "G", "edge_node": "E", "device": "D1"}),
            ev(W, "device_online", "info", "E", "edge node G/E online",
               {"group": "G", "edge_node": "E"}),
        ])
        self.assertEqual(self.windows("plant/_all/event.device_offline", "1h"), [
            ("2026-11-22T10:00:00Z", 1, 1, 1, 1, 1, "2026-11-22T10:04:05Z", "1")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
