"""VN_AQI per station from the feed's own samples (Decision 1459/QĐ-TCMT):
hourly values from the 12-hour NowCast of PM2.5/PM10 once an hour is over,
no value where the decision gives none (fewer than 2 of the last 3 hours,
fewer than 18 hours for a day), and the NowCast history survives a restart.
The clock is pinned (IOCD_FAKE_NOW_MS) so the hours are complete."""
import json
import unittest

from iocdtest import Iocd, IocdTestCase, wait_until

ADAPTER = """[adapter air]
topic = pleiku/air/+/data
format = json
device = $.station
time = $.ts
metric.pm25 = $.pm25 ug/m3
metric.pm10 = $.pm10 ug/m3

[aqi]
adapter = air
"""


def sample(ts, pm25, pm10):
    return json.dumps({"station": "GL-AQ01", "ts": ts, "pm25": pm25, "pm10": pm10})


class VnAqiTest(IocdTestCase):
    def test_hourly_nowcast_index_and_restart(self):
        d = self.iocd(ADAPTER, store="timezone = +07:00\n" + Iocd.KEEP_ALL)
        d.env = {"IOCD_FAKE_NOW_MS": "1795183200000"}  # 2026-11-20T14:00:00Z
        d.start()
        # Hours 10, 11, 12 UTC: PM2.5 mean 35 (30 and 40), PM10 50.
        msgs = []
        for h in (10, 11, 12):
            msgs += [sample("2026-11-20T%02d:10:00Z" % h, 30.0, 50.0),
                     sample("2026-11-20T%02d:40:00Z" % h, 40.0, 50.0)]
        self.broker.publish("pleiku/air/GL-AQ01/data", msgs)
        d.wait_messages("air", 6)

        def aqi_hours():
            if "air/GL-AQ01/vn_aqi" not in d.series():
                return []
            return [(w["start"], w["count"], w["sum"])
                    for w in d.query("air/GL-AQ01/vn_aqi", "--resolution", "1h")]
        # Hour 10 has no value: the NowCast needs 2 of the 3 latest hours.
        # Hours 11 and 12: NowCast PM2.5 35 -> 50 + (35-25)*50/25 = 70;
        # PM10 50 -> 50; the index is the larger: 70.
        wait_until(lambda: len(aqi_hours()) == 2, what="hourly VN_AQI")
        self.assertEqual(aqi_hours(), [("2026-11-20T11:00:00Z", 1, 70.0),
                                       ("2026-11-20T12:00:00Z", 1, 70.0)])
        self.assertEqual(d.query("air/GL-AQ01/vn_aqi", "--resolution", "1h")[0]["unit"], "1")

        # Restart at 01:00 local: hours 13..16 UTC are now over. Hour 13
        # has no data, but 2 of its 3 latest hours do (11, 12) and the
        # NowCast history came back from the stored windows: 70 again.
        # Hour 14 has only 1 of 3: none. The local day 20 Nov (17:00Z to
        # 17:00Z) is over, but with 3 hours of PM of the 18 needed it has no
        # daily index.
        d.stop()
        d.env = {"IOCD_FAKE_NOW_MS": "1795197600000"}  # 2026-11-20T18:00:00Z
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        wait_until(lambda: len(aqi_hours()) == 3, what="hour 13 after the restart")
        self.assertEqual(aqi_hours()[2], ("2026-11-20T13:00:00Z", 1, 70.0))
        self.assertNotIn("air/GL-AQ01/vn_aqi_day", d.series())
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
