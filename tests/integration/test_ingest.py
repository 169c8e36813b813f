"""Messages with known values and times, published through a real broker,
come out of `iocctl query --json` as exactly the expected windows: at every
resolution, with late and out-of-order samples merged into windows that were
already written."""
import unittest

from iocdtest import AIR_ADAPTER, Iocd, IocdTestCase, air

T = "pleiku/air/GL-AQ01/data"


class IngestTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.iocd(AIR_ADAPTER).start()

    def window(self, series, res, start):
        rows = [w for w in self.d.query(series, "--resolution", res) if w["start"] == start]
        self.assertEqual(len(rows), 1, "window %s %s %s" % (series, res, start))
        return rows[0]

    def test_windows_exact(self):
        self.broker.publish(T, [
            air("GL-AQ01", "2026-11-20T17:00:05+07:00", 10.5, 20.0),   # 10:00:05Z
            air("GL-AQ01", "2026-11-20T10:01:00Z", 20.0, 21.0),
            air("GL-AQ01", "2026-11-20T10:00:30Z", 12.25, 22.5),       # out of order
            air("GL-AQ01", "2026-11-20T10:00:59.999Z", 8.0, 19.5),
            air("GL-AQ01", "2026-11-20T10:59:00Z", 4.0),               # no temperature
            air("GL-AQ01", "2026-11-20T11:00:00Z", 100.0, 18.0),
        ])
        self.d.wait_messages("air", 6)
        self.assertEqual(self.d.series(), ["air/GL-AQ01/pm25", "air/GL-AQ01/temperature"])

        w = self.window("air/GL-AQ01/pm25", "1m", "2026-11-20T10:00:00Z")
        self.assertEqual(
            {k: w[k] for k in ("series", "resolution_s", "start", "end", "count", "sum", "min",
                               "max", "mean", "first", "first_time", "last", "last_time", "unit")},
            {"series": "air/GL-AQ01/pm25", "resolution_s": 60, "start": "2026-11-20T10:00:00Z",
             "end": "2026-11-20T10:01:00Z", "count": 3, "sum": 30.75, "min": 8.0, "max": 12.25,
             "mean": 10.25, "first": 10.5, "first_time": "2026-11-20T10:00:05Z", "last": 8.0,
             "last_time": "2026-11-20T10:00:59.999Z", "unit": "ug/m3"})

        pm_1m = self.d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        self.assertEqual([(w["start"], w["count"], w["sum"]) for w in pm_1m], [
            ("2026-11-20T10:00:00Z", 3, 30.75),
            ("2026-11-20T10:01:00Z", 1, 20.0),
            ("2026-11-20T10:59:00Z", 1, 4.0),
            ("2026-11-20T11:00:00Z", 1, 100.0),
        ])

        h = self.window("air/GL-AQ01/pm25", "1h", "2026-11-20T10:00:00Z")
        self.assertEqual((h["count"], h["sum"], h["min"], h["max"], h["mean"], h["last"],
                          h["last_time"]),
                         (5, 54.75, 4.0, 20.0, 10.95, 4.0, "2026-11-20T10:59:00Z"))
        d = self.window("air/GL-AQ01/pm25", "1d", "2026-11-20T00:00:00Z")
        self.assertEqual((d["count"], d["sum"], d["min"], d["max"], d["last"]),
                         (6, 154.75, 4.0, 100.0, 100.0))

        t = self.window("air/GL-AQ01/temperature", "1h", "2026-11-20T10:00:00Z")
        self.assertEqual((t["count"], t["sum"], t["min"], t["max"], t["mean"], t["last"], t["unit"]),
                         (4, 83.0, 19.5, 22.5, 20.75, 21.0, "Cel"))

        # --from is inclusive, --to exclusive, both on the window start.
        rows = self.d.query("air/GL-AQ01/pm25", "--resolution", "1m",
                            "--from", "2026-11-20T10:01:00Z", "--to", "2026-11-20T11:00:00Z")
        self.assertEqual([w["start"] for w in rows],
                         ["2026-11-20T10:01:00Z", "2026-11-20T10:59:00Z"])

    def test_late_data_merges_into_stored_window(self):
        self.broker.publish(T, [
            air("GL-AQ01", "2026-11-20T10:00:05Z", 10.5),
            air("GL-AQ01", "2026-11-20T10:00:30Z", 12.25),
        ])
        self.d.wait_messages("air", 2)
        w = self.window("air/GL-AQ01/pm25", "1m", "2026-11-20T10:00:00Z")
        self.assertEqual((w["count"], w["sum"]), (2, 22.75))

        # Arrives after the window was written: merged, not overwritten.
        self.broker.publish(T, [air("GL-AQ01", "2026-11-20T10:00:01Z", 1.0)])
        self.d.wait_messages("air", 3)
        w = self.window("air/GL-AQ01/pm25", "1m", "2026-11-20T10:00:00Z")
        self.assertEqual((w["count"], w["sum"], w["min"], w["max"], w["first"], w["first_time"],
                          w["last"], w["last_time"]),
                         (3, 23.75, 1.0, 12.25, 1.0, "2026-11-20T10:00:01Z", 12.25,
                          "2026-11-20T10:00:30Z"))

        # And across a restart, into the same series (no second series row).
        self.d.restart()
        self.broker.publish(T, [air("GL-AQ01", "2026-11-20T10:00:45Z", 2.0)])
        self.d.wait_messages("air", 4)
        w = self.window("air/GL-AQ01/pm25", "1m", "2026-11-20T10:00:00Z")
        self.assertEqual((w["count"], w["sum"], w["min"], w["last"], w["last_time"]),
                         (4, 25.75, 1.0, 2.0, "2026-11-20T10:00:45Z"))
        self.assertEqual(self.d.series(), ["air/GL-AQ01/pm25"])

    def test_device_from_topic_and_several_devices(self):
        self.d.stop()
        d = self.iocd("""[adapter water]
topic = pleiku/water/+/level
format = json
device = topic[2]
time = $.t
time_format = s
metric.level = $.level_cm cm
""", name="water")
        d.start()
        self.broker.publish("pleiku/water/GL-WL01/level",
                            ['{"gauge":"x","t":1763780000,"level_cm":120.5}',
                             '{"gauge":"x","t":1763780010,"level_cm":121.5}'])
        self.broker.publish("pleiku/water/GL-WL02/level",
                            ['{"gauge":"y","t":1763780000,"level_cm":80.0}'])
        d.wait_messages("water", 3)
        self.assertEqual(d.series(), ["water/GL-WL01/level", "water/GL-WL02/level"])
        w = d.query("water/GL-WL01/level", "--resolution", "1m")
        # 1763780000 s = 2025-11-22T02:53:20Z
        self.assertEqual([(x["start"], x["count"], x["sum"], x["last"], x["unit"]) for x in w],
                         [("2025-11-22T02:53:00Z", 2, 242.0, 121.5, "cm")])


class CalendarAndDuplicatesTest(IocdTestCase):
    def test_day_windows_follow_the_city_time_zone(self):
        d = self.iocd(AIR_ADAPTER, store="timezone = +07:00\n" + Iocd.KEEP_ALL, name="tz").start()
        self.broker.publish(T, [
            air("GL-AQ01", "2026-11-20T16:59:59Z", 1.0),   # 23:59:59 local, 20 Nov
            air("GL-AQ01", "2026-11-20T17:00:00Z", 2.0),   # 00:00:00 local, 21 Nov
            air("GL-AQ01", "2026-11-21T16:59:59Z", 4.0),   # 23:59:59 local, 21 Nov
        ])
        d.wait_messages("air", 3)
        days = d.query("air/GL-AQ01/pm25", "--resolution", "1d")
        self.assertEqual([(w["start"], w["end"], w["count"], w["sum"]) for w in days], [
            ("2026-11-19T17:00:00Z", "2026-11-20T17:00:00Z", 1, 1.0),
            ("2026-11-20T17:00:00Z", "2026-11-21T17:00:00Z", 2, 6.0),
        ])
        # Hours stay aligned to UTC hours (a +07:00 hour is a UTC hour).
        hours = d.query("air/GL-AQ01/pm25", "--resolution", "1h")
        self.assertEqual([w["start"] for w in hours], ["2026-11-20T16:00:00Z",
                                                       "2026-11-20T17:00:00Z",
                                                       "2026-11-21T16:00:00Z"])

    def test_redelivered_message_counted_once(self):
        d = self.iocd(AIR_ADAPTER).start()
        m = air("GL-AQ01", "2026-11-20T10:00:05Z", 10.5)
        self.broker.publish(T, [m, m, air("GL-AQ01", "2026-11-20T10:00:06Z", 1.5), m])
        d.wait_messages("air", 4)
        w = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        self.assertEqual([(x["count"], x["sum"]) for x in w], [(2, 12.0)])
        self.assertEqual(d.status()["adapters"]["air"]["rejects"], {"duplicate": 2})

    def test_feed_resolutions_and_series_limit(self):
        d = self.iocd(AIR_ADAPTER + "resolutions = 10m 1h\nmax_series = 2\n", name="feed").start()
        self.broker.publish(T, [
            air("GL-AQ01", "2026-11-20T10:00:05Z", 1.0, 20.0),
            air("GL-AQ02", "2026-11-20T10:00:05Z", 2.0, 21.0),   # 2 more series: over the limit
            air("GL-AQ01", "2026-11-20T10:09:59Z", 3.0, 22.0),   # existing series still fine
        ])
        d.wait_messages("air", 3)
        self.assertEqual(d.series(), ["air/GL-AQ01/pm25", "air/GL-AQ01/temperature"])
        w = d.query("air/GL-AQ01/pm25", "--resolution", "10m")
        self.assertEqual([(x["start"], x["count"], x["sum"]) for x in w],
                         [("2026-11-20T10:00:00Z", 2, 4.0)])
        r = d.ctl("query", "air/GL-AQ01/pm25", "--resolution", "1m", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(d.status()["adapters"]["air"]["rejects"], {"series_limit": 2})


if __name__ == "__main__":
    unittest.main(verbosity=2)
