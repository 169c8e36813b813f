"""The device registry ([devices] registry; docs/registry.md): CSV and JSON
files loaded at start and by reload, registered and unregistered devices in
/api/v1/devices and `iocctl devices`, bad files refused with file, line and
reason, positions reported by messages against the registry's (the
documented precedence), positions surviving a restart, and bounding-box and
area queries of devices and events, all with exact values.

Real mosquitto, real iocd, real SQLite file (iocdtest)."""
import json
import os
import signal
import sqlite3
import subprocess
import time
import unittest

from iocdtest import (AIR_ADAPTER, IOCD, IOCCTL, IOCD_SIM, SOURCE_ROOT, IocdTestCase, air,
                      wait_until)

NGSI_ADAPTER = """[adapter parking]
topic = city/parking/+
format = ngsi
"""

CAMS_ADAPTER = """[adapter cams]
topic = city/cam/+/event
format = event
kind = $.type
device = $.camera
area = $.ward
time = $.time
lat = $.lat
lon = $.lon
"""

CSV = """source,device,name,lat,lon,area,subsystem,tags
air,pk-01,"Trạm Hội Thương, trường học",13.9812,108.0021,Hội Thương,air,school;fixed
air,pk-02,Trạm Tây Sơn,13.9705,108.0150,Tây Sơn,air,
parking,GL-PK01,Bãi xe Diên Hồng,13.9760,107.9990,Diên Hồng,parking,downtown
air,pk-03,Trạm chưa lắp,,,Ia Kring,air,planned
"""

JSON_ROWS = [
    {"source": "air", "device": "pk-01", "name": "Trạm Hội Thương, trường học",
     "lat": 13.9812, "lon": 108.0021, "area": "Hội Thương", "subsystem": "air",
     "tags": ["school", "fixed"]},
    {"source": "air", "device": "pk-02", "name": "Trạm Tây Sơn", "lat": 13.9705,
     "lon": 108.0150, "area": "Tây Sơn", "subsystem": "air", "tags": ""},
    {"source": "parking", "device": "GL-PK01", "name": "Bãi xe Diên Hồng", "lat": 13.9760,
     "lon": 107.9990, "area": "Diên Hồng", "subsystem": "parking", "tags": "downtown"},
    {"source": "air", "device": "pk-03", "name": "Trạm chưa lắp", "lat": None, "lon": None,
     "area": "Ia Kring", "subsystem": "air", "tags": ["planned"]},
]

VOLATILE = ("last_seen", "last_seen_ms", "interval_ms", "position_time", "position_time_ms")


def parking(entity_id, lon, lat, spots=5):
    ent = {"id": entity_id, "type": "OffStreetParking",
           "availableSpotNumber": {"type": "Number", "value": spots},
           "location": {"type": "geo:json",
                        "value": {"type": "Point", "coordinates": [lon, lat]}}}
    return json.dumps({"subscriptionId": "sub-1", "data": [ent]})


def registered(device, state, name, area, subsystem, tags, lat=None, lon=None, position=None,
               source="air", messages=1):
    row = {"source": source, "device": device, "state": state, "messages": messages,
           "registered": True, "name": name, "area": area, "subsystem": subsystem,
           "tags": tags}
    if lat is not None:
        row.update({"lat": lat, "lon": lon, "position": position})
    return row


PK01 = registered("pk-01", "online", "Trạm Hội Thương, trường học", "Hội Thương", "air",
                  ["school", "fixed"], 13.9812, 108.0021, "registry")
PK02_UNSEEN = registered("pk-02", "unseen", "Trạm Tây Sơn", "Tây Sơn", "air", [], 13.9705,
                         108.015, "registry", messages=0)
GLPK01_UNSEEN = registered("GL-PK01", "unseen", "Bãi xe Diên Hồng", "Diên Hồng", "parking",
                           ["downtown"], 13.976, 107.999, "registry", source="parking",
                           messages=0)
PK03_UNSEEN = registered("pk-03", "unseen", "Trạm chưa lắp", "Ia Kring", "air", ["planned"],
                         messages=0)
PK09 = {"source": "air", "device": "pk-09", "state": "online", "messages": 1,
        "registered": False}


class RegistryTest(IocdTestCase):

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def mtime_ms(self, name):
        return os.stat(os.path.join(self.dir, name)).st_mtime_ns // 1000000

    def start(self, registry="reg.csv", adapters=AIR_ADAPTER + "\n" + NGSI_ADAPTER, **kw):
        extra = "[devices]\nregistry = %s\n" % registry if registry else ""
        return self.iocd(adapters, extra=extra + kw.pop("extra", ""), **kw).start()

    def devices(self, d, query=""):
        """Every page of /api/v1/devices, the volatile members left out."""
        out, after = [], None
        while True:
            q = query + ("&" if query else "") + "limit=2" + ("&after=" + after if after else "")
            st, body = d.api("/api/v1/devices?" + q)
            self.assertEqual(st, 200, body)
            out += body["devices"]
            after = body.get("next")
            if after is None:
                break
        return out

    def stripped(self, rows):
        return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]

    def ids(self, rows):
        return ["%s/%s" % (r["source"], r["device"]) for r in rows]

    def ctl_devices(self, d, *args):
        r = subprocess.run([IOCCTL, "devices", "--json", "--url",
                            "http://127.0.0.1:%d" % d.http_port] + list(args),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    def publish_air(self, *stations):
        t = int(time.time())
        for s in stations:
            self.broker.publish("pleiku/air/%s/data" % s, [air(s, t, 10)])

    def wait_devices(self, d, n):
        wait_until(lambda: sum(r["state"] != "unseen" for r in self.devices(d)) >= n,
                   what="%d devices heard from" % n)

    def reload(self, d, what):
        n = d.log_text().count(what)
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log_text().count(what) > n, what=what)
        self.assertTrue(d.alive())

    # ------------------------------------------------------------------

    def test_csv_registry_rows_exact(self):
        self.write("reg.csv", CSV)
        d = self.start()
        self.assertIn("device registry: 4 device(s) from reg.csv", d.log_text())
        self.publish_air("pk-01")
        self.wait_devices(d, 1)
        self.publish_air("pk-09")
        self.wait_devices(d, 2)
        rows = self.devices(d)
        self.assertEqual(self.stripped(rows),
                         [PK01, PK09, PK02_UNSEEN, GLPK01_UNSEEN, PK03_UNSEEN])
        # a registry position's time is when the row's position last changed:
        # the file's modification time
        self.assertEqual(rows[0]["position_time_ms"], self.mtime_ms("reg.csv"))
        self.assertNotIn("position_time_ms", rows[1])
        self.assertNotIn("last_seen", rows[2])
        # registered / unregistered, through the API and iocctl
        self.assertEqual(self.ids(self.devices(d, "registered=false")), ["air/pk-09"])
        self.assertEqual(self.ids(self.devices(d, "registered=true")),
                         ["air/pk-01", "air/pk-02", "parking/GL-PK01", "air/pk-03"])
        self.assertEqual(self.ids(self.ctl_devices(d, "--unregistered")), ["air/pk-09"])
        self.assertEqual(self.ids(self.ctl_devices(d, "--registered")),
                         ["air/pk-01", "air/pk-02", "parking/GL-PK01", "air/pk-03"])
        self.assertEqual(self.stripped(self.ctl_devices(d)),
                         [PK01, PK09, PK02_UNSEEN, GLPK01_UNSEEN, PK03_UNSEEN])
        self.assertEqual(self.ids(self.devices(d, "state=unseen")),
                         ["air/pk-02", "parking/GL-PK01", "air/pk-03"])
        self.assertEqual(self.ids(self.devices(d, "state=online")), ["air/pk-01", "air/pk-09"])
        # the text table
        r = subprocess.run([IOCCTL, "devices", "--area", "Hội Thương", "--url",
                            "http://127.0.0.1:%d" % d.http_port], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["SOURCE", "DEVICE", "STATE", "REG", "AREA", "LAT",
                                            "LON", "POSITION", "NAME"])
        self.assertEqual(lines[1].split()[:8], ["air", "pk-01", "online", "yes", "Hội",
                                                "Thương", "13.9812", "108.0021"])
        self.assertEqual(lines[-1], "1 device(s)")

    def test_json_registry_same_rows(self):
        self.write("reg.json", json.dumps(JSON_ROWS, ensure_ascii=False, indent=1))
        d = self.start("reg.json")
        self.assertIn("device registry: 4 device(s) from reg.json", d.log_text())
        self.publish_air("pk-01")
        self.wait_devices(d, 1)
        self.publish_air("pk-09")
        self.wait_devices(d, 2)
        self.assertEqual(self.stripped(self.devices(d)),
                         [PK01, PK09, PK02_UNSEEN, GLPK01_UNSEEN, PK03_UNSEEN])

    def test_no_registry_as_before(self):
        d = self.start(registry=None)
        self.publish_air("pk-01")
        self.wait_devices(d, 1)
        self.assertEqual(self.stripped(self.devices(d)),
                         [dict(PK09, device="pk-01")])

    # ------------------------------------------------------------------

    def check_config(self, conf):
        return subprocess.run([IOCD, "--check-config", "--config", conf], capture_output=True,
                              text=True, timeout=30)

    def test_bad_registry_refused_at_start_and_check(self):
        cases = [
            ("reg.csv", CSV.replace("13.9705", "91"),
             "reg.csv:3: lat 91 is out of range -90..90"),
            ("reg.csv", CSV + "air,pk-02,again,,,,,\n",
             "reg.csv:6: duplicate of line 3 (the same source and device)"),
            ("reg.csv", CSV.replace("air,pk-03", "air,pk/03"),
             "reg.csv:5: device 'pk/03' is not a valid id (1..128 bytes, no / + # ; or "
             "control characters)"),
            ("reg.csv", CSV.replace(",tags\n", ",colour\n"),
             "reg.csv:1: unknown column 'colour' (source, device, name, lat, lon, area, "
             "subsystem, tags)"),
            ("reg.csv", CSV.replace("13.9760,107.9990", "13.9760,"),
             "reg.csv:4: lat without lon"),
            ("reg.json", json.dumps(JSON_ROWS[:1] + [dict(JSON_ROWS[1], lon=180.5)]),
             "reg.json:[1]: lon 180.5 is out of range -180..180"),
            ("reg.json", json.dumps(JSON_ROWS + [dict(JSON_ROWS[0], name="x")]),
             "reg.json:[4]: duplicate of [0] (the same source and device)"),
            ("reg.json", json.dumps([dict(JSON_ROWS[0], colour="red")]),
             "reg.json:[0]: unknown member 'colour' (source, device, name, lat, lon, area, "
             "subsystem, tags)"),
        ]
        for name, text, why in cases:
            with self.subTest(why=why):
                self.write(name, text)
                d = self.iocd(AIR_ADAPTER, extra="[devices]\nregistry = %s\n" % name)
                with open(d.conf) as f:
                    line = f.read().splitlines().index("registry = %s" % name) + 1
                # the registry's path resolved against the config's directory
                expected = "%s:%d: [devices] registry: %s/%s" % (d.conf, line, self.dir, why)
                r = self.check_config(d.conf)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stderr, "iocd: %s\n" % expected)
                # the same refusal at start
                p = subprocess.run([IOCD, "--config", d.conf], capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual(p.returncode, 1)
                self.assertEqual(p.stderr, "iocd: %s\n" % expected)
        self.write("reg.csv", CSV)
        d = self.iocd(AIR_ADAPTER, extra="[devices]\nregistry = reg.csv\n")
        r = self.check_config(d.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(", registry of 4 device(s))", r.stdout)

    def test_reload_adds_changes_removes_and_keeps_old_on_error(self):
        self.write("reg.csv", CSV)
        d = self.start()
        self.publish_air("pk-01")
        self.wait_devices(d, 1)
        before = self.devices(d)
        # a bad file: refused, the old registry stays
        self.write("reg.csv", CSV.replace("Ia Kring", "Ia/Kring"))
        self.reload(d, "reload: refused")
        self.assertIn("reload: refused: %s:%d: [devices] registry: %s:5: area 'Ia/Kring' is not "
                      "a valid id" % (d.conf, self.registry_line(d),
                                      os.path.join(self.dir, "reg.csv")), d.log_text())
        self.assertEqual(self.devices(d), before)
        # added (pk-04), changed (pk-02 moved and renamed), removed (pk-03)
        time.sleep(0.02)
        self.write("reg.csv", "source,device,name,lat,lon,area,subsystem,tags\n"
                   "air,pk-01,\"Trạm Hội Thương, trường học\",13.9812,108.0021,Hội Thương,air,"
                   "school;fixed\n"
                   "air,pk-02,Trạm Tây Sơn mới,13.9710,108.0160,Tây Sơn,air,moved\n"
                   "parking,GL-PK01,Bãi xe Diên Hồng,13.9760,107.9990,Diên Hồng,parking,"
                   "downtown\n"
                   "air,pk-04,Trạm Yên Đỗ,13.9900,108.0200,Yên Đỗ,air,\n")
        self.reload(d, "reload: device registry: 4 device(s)")
        rows = self.devices(d)
        self.assertEqual(self.stripped(rows), [
            PK01,
            registered("pk-02", "unseen", "Trạm Tây Sơn mới", "Tây Sơn", "air", ["moved"],
                       13.971, 108.016, "registry", messages=0),
            GLPK01_UNSEEN,
            registered("pk-04", "unseen", "Trạm Yên Đỗ", "Yên Đỗ", "air", [], 13.99, 108.02,
                       "registry", messages=0),
        ])
        # an unchanged row keeps the time its position last changed
        self.assertEqual(rows[0]["position_time_ms"], before[0]["position_time_ms"])
        self.assertEqual(rows[1]["position_time_ms"], self.mtime_ms("reg.csv"))
        # removing the key: no registry, every device unregistered
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("registry = reg.csv\n", ""))
        self.reload(d, "reload: configuration applied")
        self.assertEqual(self.stripped(self.devices(d)), [dict(PK09, device="pk-01")])

    def registry_line(self, d):
        with open(d.conf) as f:
            return f.read().splitlines().index("registry = reg.csv") + 1

    # ------------------------------------------------------------------

    def test_reported_positions_precedence_and_restart(self):
        self.write("reg.csv", CSV + "parking,GL-PK02,Bãi xe cố định,13.9600,108.0100,"
                   "Thống Nhất,parking,fixed\n")
        d = self.start()
        t0 = int(time.time() * 1000)
        # a registered device reports where it is: the report is newer than
        # the registry's row, so it wins
        self.broker.publish("city/parking/notify", [parking("GL-PK01", 108.0123, 13.9876)])
        # a registered device tagged "fixed": the registry wins
        self.broker.publish("city/parking/notify", [parking("GL-PK02", 108.05, 14.05)])
        # an unregistered device: its report is its position
        self.broker.publish("city/parking/notify", [parking("GL-PK77", 107.99, 13.95)])
        wait_until(lambda: len([r for r in self.devices(d, "match=parking/%23")
                                if r["state"] == "online"]) == 3, what="3 car parks")
        rows = {r["device"]: r for r in self.devices(d, "match=parking/%23")}
        pk01, pk02, pk77 = rows["GL-PK01"], rows["GL-PK02"], rows["GL-PK77"]
        self.assertEqual((pk01["lat"], pk01["lon"], pk01["position"]), (13.9876, 108.0123,
                                                                         "reported"))
        self.assertEqual(pk01["position_time_ms"], pk01["last_seen_ms"])
        self.assertGreaterEqual(pk01["position_time_ms"], t0)
        self.assertEqual((pk02["lat"], pk02["lon"], pk02["position"]), (13.96, 108.01,
                                                                         "registry"))
        self.assertEqual((pk77["lat"], pk77["lon"], pk77["position"], pk77["registered"]),
                         (13.95, 107.99, "reported", False))
        # the registry moves GL-PK01 after its report: the registry's newer
        # position wins until the device reports again
        time.sleep(0.05)
        self.write("reg.csv", CSV.replace("13.9760,107.9990", "13.9700,107.9900") +
                   "parking,GL-PK02,Bãi xe cố định,13.9600,108.0100,Thống Nhất,parking,fixed\n")
        self.reload(d, "reload: device registry: 5 device(s)")
        pk01 = {r["device"]: r for r in self.devices(d)}["GL-PK01"]
        self.assertEqual((pk01["lat"], pk01["lon"], pk01["position"]), (13.97, 107.99,
                                                                         "registry"))
        self.assertEqual(pk01["position_time_ms"], self.mtime_ms("reg.csv"))
        self.broker.publish("city/parking/notify", [parking("GL-PK01", 108.0001, 13.9801)])
        wait_until(lambda: {r["device"]: r for r in self.devices(d)}["GL-PK01"]["position"] ==
                   "reported", what="the new report")
        pk01 = {r["device"]: r for r in self.devices(d)}["GL-PK01"]
        self.assertEqual((pk01["lat"], pk01["lon"]), (13.9801, 108.0001))
        # positions survive a restart (the device rows, schema 5)
        self.assertEqual(d.stop(), 0)
        db = sqlite3.connect(d.db)
        stored = db.execute("SELECT device, lat, lon, position_ms FROM devices "
                            "WHERE source = 'parking' ORDER BY device").fetchall()
        db.close()
        # GL-PK02's report is kept too, though its fixed registry row wins
        self.assertGreaterEqual(stored[1][3], t0)
        self.assertEqual(stored, [("GL-PK01", 13.9801, 108.0001, pk01["position_time_ms"]),
                                  ("GL-PK02", 14.05, 108.05, stored[1][3]),
                                  ("GL-PK77", 13.95, 107.99, pk77["position_time_ms"])])
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        after = {r["device"]: r for r in self.devices(d, "match=parking/%23")}
        self.assertEqual({k: (v["lat"], v["lon"], v["position"], v.get("position_time_ms"))
                          for k, v in after.items() if k != "GL-PK02"},
                         {"GL-PK01": (13.9801, 108.0001, "reported",
                                      pk01["position_time_ms"]),
                          "GL-PK77": (13.95, 107.99, "reported", pk77["position_time_ms"])})
        self.assertEqual(after["GL-PK02"]["position"], "registry")

    # ------------------------------------------------------------------

    def test_bbox_and_area_queries(self):
        self.write("reg.csv", CSV)
        d = self.start()
        self.publish_air("pk-01", "pk-09")
        self.broker.publish("city/parking/notify", [parking("GL-PK77", 108.0150, 13.9705)])
        self.wait_devices(d, 3)
        # positions: pk-01 (13.9812, 108.0021) registry; pk-02 (13.9705,
        # 108.015) registry; GL-PK01 (13.976, 107.999) registry; GL-PK77
        # (13.9705, 108.015) reported; pk-03, pk-09 none
        cases = [
            ("107.9,13.9,108.1,14.1",
             ["air/pk-01", "parking/GL-PK77", "air/pk-02", "parking/GL-PK01"]),
            # edges are inside: a box that is exactly one point
            ("108.0021,13.9812,108.0021,13.9812", ["air/pk-01"]),
            ("108.015,13.9705,108.1,13.9705", ["parking/GL-PK77", "air/pk-02"]),
            ("107.999,13.976,108.0021,13.9812", ["air/pk-01", "parking/GL-PK01"]),
            # just outside
            ("108.0022,13.9813,108.1,14", []),
            # across the antimeridian: none of Pleiku
            ("170,-10,-170,10", []),
        ]
        for bbox, want in cases:
            with self.subTest(bbox=bbox):
                self.assertEqual(self.ids(self.devices(d, "bbox=" + bbox)), want)
                self.assertEqual(self.ids(self.ctl_devices(d, "--bbox", bbox)), want)
        self.assertEqual(self.ids(self.devices(d, "area=T%C3%A2y%20S%C6%A1n")), ["air/pk-02"])
        self.assertEqual(self.ids(self.ctl_devices(d, "--area", "Ia Kring")), ["air/pk-03"])
        self.assertEqual(self.ids(self.ctl_devices(d, "--area", "Hội Thương", "--bbox",
                                                   "107.9,13.9,108.1,14.1")), ["air/pk-01"])
        self.assertEqual(self.ids(self.devices(d, "bbox=107.9,13.9,108.1,14.1&registered=false")),
                         ["parking/GL-PK77"])
        st, body = d.api("/api/v1/devices?bbox=108,14,107")
        self.assertEqual((st, body["error"]), (400, "bad bbox (minlon,minlat,maxlon,maxlat: lon "
                                                    "-180..180, lat -90..90, minlat <= maxlat)"))
        r = subprocess.run([IOCCTL, "devices", "--bbox", "1,2,3"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad --bbox '1,2,3'", r.stderr)

    def test_events_by_bbox(self):
        d = self.start(registry=None, adapters=CAMS_ADAPTER)
        events = [
            ("cam-1", 13.9812, 108.0021, "2026-11-22T10:00:00Z"),
            ("cam-2", 13.9705, 108.0150, "2026-11-22T10:01:00Z"),
            ("cam-3", 14.1000, 108.3000, "2026-11-22T10:02:00Z"),
        ]
        for cam, lat, lon, t in events:
            self.broker.publish("city/cam/%s/event" % cam, [json.dumps(
                {"type": "red_light", "camera": cam, "ward": "Hội Thương", "time": t,
                 "lat": lat, "lon": lon})])
        self.broker.publish("city/cam/cam-4/event", [json.dumps(
            {"type": "red_light", "camera": "cam-4", "ward": "Hội Thương",
             "time": "2026-11-22T10:03:00Z"})])
        wait_until(lambda: len(d.api("/api/v1/events")[1]["events"]) == 4, what="4 events")
        cases = [
            ("107.9,13.9,108.1,14.0", ["cam-2", "cam-1"]),
            ("108.0021,13.9812,108.015,13.9812", ["cam-1"]),       # edges inside
            ("108.0021,13.9705,108.015,13.9812", ["cam-2", "cam-1"]),
            ("107,13,109,15", ["cam-3", "cam-2", "cam-1"]),        # cam-4: no location
            ("108.0022,13.9813,108.1,14.0", []),
        ]
        for bbox, want in cases:
            with self.subTest(bbox=bbox):
                st, body = d.api("/api/v1/events?bbox=" + bbox)
                self.assertEqual(st, 200)
                self.assertEqual([e["device"] for e in body["events"]], want)
                out = d.ctl("events", "--bbox", bbox, "--json").stdout
                self.assertEqual([json.loads(l)["device"] for l in out.splitlines()], want)
        st, body = d.api("/api/v1/events?bbox=a,b,c,d")
        self.assertEqual(st, 400)


    # ------------------------------------------------------------------

    def test_simulator_registry(self):
        """iocd-sim --write-registry: every device the simulator publishes
        for is registered, in a real ward of Pleiku, near the city."""
        path = os.path.join(self.dir, "pleiku.csv")
        r = subprocess.run([IOCD_SIM, "--write-registry", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "source,device,name,lat,lon,area,subsystem,tags")
        # 8 air, 40 traffic, 6 water, 3 weather, 6 rain, 24 cameras, 1 edge
        # node and 20 cabinets, 12 buses, 15 fire panels, 6 car parks
        self.assertEqual(len(lines) - 1, 8 + 40 + 6 + 3 + 6 + 24 + 21 + 12 + 15 + 6)
        self.assertEqual(lines[1], 'air,GL-AQ01,"Trạm quan trắc không khí GL-AQ01, Hội Thương",'
                                   '13.98030,107.99860,Hội Thương,air,')
        conf = open(os.path.join(SOURCE_ROOT, "config", "iocd.conf"), encoding="utf-8").read()
        adapters = conf[conf.index("[adapter air]"):]
        d = self.iocd(adapters, extra="[devices]\nregistry = pleiku.csv\n")
        r = self.check_config(d.conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(", registry of 141 device(s))", r.stdout)
        d.start()
        sim = subprocess.run([IOCD_SIM, "--port", str(self.broker.port), "--start",
                              "2026-11-22T10:00:00+07:00", "--duration", "120", "-q"],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(sim.returncode, 0, sim.stderr)
        # heard from: 8 + 40 + 6 + 3 + 6 air, traffic, water, weather, rain;
        # 21 lighting, 12 buses, 6 car parks (cameras and fire panels send
        # events only: registered, never heard from)
        wait_until(lambda: len([r for r in self.devices(d) if r["state"] != "unseen"]) == 102,
                   what="102 devices heard from")
        self.assertEqual(sorted({r["source"] for r in self.devices(d, "state=unseen")}),
                         ["fire", "violations"])
        # every simulated device iocd heard from is in the registry
        self.assertEqual(self.devices(d, "registered=false"), [])
        wards = {"Hội Thương", "Diên Hồng", "Tây Sơn", "Hội Phú", "Phù Đổng", "Hoa Lư",
                 "Yên Đỗ", "Yên Thế", "Ia Kring", "Đống Đa", "Thống Nhất", "Trà Bá",
                 "Thắng Lợi", "Chi Lăng"}
        rows = self.devices(d)
        self.assertEqual(len(rows), 141)
        for row in rows:
            if row["source"] == "bus":
                # moving: no fixed position and no ward in the registry; the
                # position is the one its GPS reported (location = lat,lon)
                self.assertEqual((row["area"], row["tags"][0], row["position"]),
                                 ("", "moving", "reported"))
                self.assertEqual(row["position_time_ms"], row["last_seen_ms"])
            else:
                self.assertIn(row["area"], wards)
            self.assertLess(abs(row["lat"] - 13.98), 0.06)
            self.assertLess(abs(row["lon"] - 108.0), 0.06)
        # the city centre's bounding box holds the station of Hội Thương
        self.assertIn("air/GL-AQ01", self.ids(self.devices(
            d, "bbox=107.9985,13.9802,107.9987,13.9804")))


if __name__ == "__main__":
    unittest.main()
