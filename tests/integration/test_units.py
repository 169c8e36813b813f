"""Unit normalisation (docs/units.md) through a real broker and iocd: one
canonical unit per series, declared in [units] or taken from the series'
first sample; samples in a convertible unit stored converted (exact window
count, sum, min, max), samples in any other unit rejected as unit_mismatch
(counted, in /metrics, in the dead letter, nothing stored, no series
created); the canonical unit kept across a restart; the live feed and an
alert threshold in canonical values; VN_AQI from CO sent in mg/m3; `iocd
--try` showing the conversion and the mismatch; a [units] change refused by
reload."""
import json
import os
import signal
import subprocess
import time
import unittest

from iocdtest import IOCD, Iocd, IocdTestCase, wait_until
from test_http_api import SSE

T0 = 1795330800  # 2026-11-22T07:00:00Z, seconds
HOUR = "2026-11-22T07:00:00Z"

WEATHER = """[adapter weather]
topic = pleiku/weather/+/senml
format = senml

[units]
series = weather/+/level m
metric.no2 = ug/m3, [ppb] * 1.88

[alert no2_high]
type = threshold
match = weather/+/no2
above = 200
clear = 150
severity = major
text = NO2 above 200 ug/m3
"""

TOPIC = "pleiku/weather/GL-WS01/senml"


def pack(t, *records, bn="GL-WS01:"):
    """A SenML pack: (name, unit, value) records at time t (seconds)."""
    out = [{"bn": bn, "bt": t}]
    for i, (n, u, v) in enumerate(records):
        r = {"n": n, "u": u, "v": v}
        if i == 0:
            out[0].update(r)
        else:
            out.append(r)
    return json.dumps(out)


def window(d, series):
    """The one 1-hour window of `series`: (start, count, sum, min, max, unit)."""
    [w] = d.query(series, "--resolution", "1h")
    return (w["start"], w["count"], w["sum"], w["min"], w["max"], w["unit"])


def metric_line(d, name):
    body = d.http("/metrics")[2].decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


class UnitsTest(IocdTestCase):
    def test_conversion_mismatch_restart_live_and_alert(self):
        d = self.iocd(WEATHER, extra="[ingest]\ndead_letter_topic = iocd/dead-letter\n").start()
        live = SSE(d.http_port, "?types=obs")
        self.addCleanup(live.close)
        dead = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                 "-q", "1", "-t", "iocd/dead-letter/#", "-C", "2"],
                                stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: dead.poll() is None and (dead.kill(), dead.wait()))
        time.sleep(0.5)
        # level: declared m. rain: no rule, its first sample says mm.
        # no2: declared ug/m3 with 1 ppb = 1.88 ug/m3 (ppm through ppb).
        self.broker.publish(TOPIC, [
            pack(T0, ("level", "cm", 123.4), ("rain", "mm", 2), ("no2", "ppb", 50)),
            pack(T0 + 60, ("level", "m", 1.5), ("rain", "cm", 0.5), ("no2", "ppm", 0.06)),
            pack(T0 + 120, ("level", "mm", 1500), ("rain", "[in_i]", 1), ("no2", "ppb", 120)),
            # Not convertible: refused, not merged; a new series whose
            # first sample does not fit its declared unit is not created.
            pack(T0 + 180, ("level", "%", 5), ("rain", "Cel", 3)),
            pack(T0 + 180, ("level", "%", 7), bn="GL-WS02:"),
        ])
        d.wait_messages("weather", 5)
        wait_until(lambda: d.counter("weather", "reject.unit_mismatch") == 3,
                   what="3 unit_mismatch rejects")
        self.assertEqual(window(d, "weather/GL-WS01/level"),
                         (HOUR, 3, 1.234 + 1.5 + 1.5, 1.234, 1.5, "m"))
        self.assertEqual(window(d, "weather/GL-WS01/rain"), (HOUR, 3, 2 + 5 + 25.4, 2, 25.4, "mm"))
        self.assertEqual(window(d, "weather/GL-WS01/no2"),
                         (HOUR, 3, 94 + 112.8 + 225.6, 94, 225.6, "ug/m3"))
        self.assertNotIn("weather/GL-WS02/level", d.series())
        st = d.status()["adapters"]["weather"]
        self.assertEqual((st["observations"], st["rejects"]), (9, {"unit_mismatch": 3}))
        self.assertEqual(metric_line(d, 'iocd_rejects_total{adapter="weather",'
                                        'reason="unit_mismatch"}'), 3)
        self.assertIn("rejected message on 'pleiku/weather/GL-WS01/senml': unit_mismatch: "
                      "weather/GL-WS01/level: unit '%' does not convert to its unit 'm'",
                      d.log_text())
        out, _ = dead.communicate(timeout=20)
        self.assertEqual([json.loads(l)["reason"] for l in out.splitlines()],
                         ["unit_mismatch", "unit_mismatch"])

        # The live feed (and so alerts and the republisher) in canonical units.
        live.read_until(lambda: len(live.events()) == 9, what="9 observations live")
        got = [(e[2]["series"], e[2]["value"], e[2]["unit"]) for e in live.events()[:3]]
        self.assertEqual(got, [("weather/GL-WS01/level", 1.234, "m"),
                               ("weather/GL-WS01/rain", 2, "mm"),
                               ("weather/GL-WS01/no2", 94, "ug/m3")])
        # 120 ppb is 225.6 ug/m3, above the threshold of 200 (120 is not).
        wait_until(lambda: d.api("/api/v1/alerts")[1]["active"], what="the NO2 alert")
        [a] = d.api("/api/v1/alerts")[1]["active"]
        self.assertEqual((a["id"], a["value"]), ("no2_high/weather/GL-WS01/no2", 225.6))

        # After a restart the stored unit is still canonical: inches become
        # mm again (not a new canonical unit), Cel is still refused.
        time.sleep(0.3)
        live.close()
        d.restart()
        self.broker.publish(TOPIC, [pack(T0 + 240, ("rain", "[in_i]", 1), ("level", "km", 0.002)),
                                    pack(T0 + 300, ("rain", "Cel", 1))])
        wait_until(lambda: window(d, "weather/GL-WS01/rain")[1] == 4, what="the 4th rain sample")
        wait_until(lambda: d.counter("weather", "reject.unit_mismatch") == 4,
                   what="the 4th unit_mismatch")
        self.assertEqual(window(d, "weather/GL-WS01/rain"),
                         (HOUR, 4, 2 + 5 + 25.4 + 25.4, 2, 25.4, "mm"))
        self.assertEqual(window(d, "weather/GL-WS01/level"),
                         (HOUR, 4, 1.234 + 1.5 + 1.5 + 2, 1.234, 2, "m"))
        self.assertEqual(d.stop(), 0)

    def test_vn_aqi_from_co_in_mg_per_m3(self):
        """CO sent in mg/m3 reaches VN_AQI in ug/m3, as the decision's
        breakpoints are (docs/vn_aqi.md): 10.5 mg/m3 is 10500 ug/m3, a
        sub-index of 51.25, not 0.05."""
        adapter = ("[adapter air]\ntopic = pleiku/air/+/data\nformat = json\n"
                   "device = $.station\ntime = $.ts\nmetric.pm25 = $.pm25 ug/m3\n"
                   "metric.co = $.co mg/m3\n\n[aqi]\nadapter = air\n")
        d = self.iocd(adapter, store="timezone = +07:00\n" + Iocd.KEEP_ALL)
        d.env = {"IOCD_FAKE_NOW_MS": "1795183200000"}  # 2026-11-20T14:00:00Z
        d.start()
        co = {10: (5, 6), 11: (10, 11), 12: (20, 21)}
        msgs = []
        for h in (10, 11, 12):
            for m, c in zip((10, 40), co[h]):
                msgs.append(json.dumps({"station": "GL-AQ01", "ts": "2026-11-20T%02d:%02d:00Z"
                                        % (h, m), "pm25": 20.0, "co": c}))
        self.broker.publish("pleiku/air/GL-AQ01/data", msgs)
        d.wait_messages("air", 6)
        [w] = [w for w in d.query("air/GL-AQ01/co", "--resolution", "1h")
               if w["start"] == "2026-11-20T12:00:00Z"]
        self.assertEqual((w["count"], w["sum"], w["min"], w["max"], w["unit"]),
                         (2, 41000, 20000, 21000, "ug/m3"))

        def aqi_hours():
            if "air/GL-AQ01/vn_aqi" not in d.series():
                return []
            return [(w["start"], w["count"], w["sum"])
                    for w in d.query("air/GL-AQ01/vn_aqi", "--resolution", "1h")]
        # PM2.5 NowCast 20 -> 40. CO hour 11: 10500 ug/m3 -> 50 + 500 *
        # 50 / 20000 = 51.25 -> 51; hour 12: 20500 -> 76.25 -> 76.
        wait_until(lambda: len(aqi_hours()) == 2, what="hourly VN_AQI")
        self.assertEqual(aqi_hours(), [("2026-11-20T11:00:00Z", 1, 51.0),
                                       ("2026-11-20T12:00:00Z", 1, 76.0)])
        self.assertEqual(d.stop(), 0)

    def test_try_shows_conversion_and_mismatch(self):
        conf = os.path.join(self.dir, "try.conf")
        with open(conf, "w") as f:
            f.write("[store]\npath = %s/x.db\n" % self.dir + WEATHER)
        payload = os.path.join(self.dir, "p.json")
        with open(payload, "w") as f:
            f.write(pack(T0, ("level", "cm", 123.4), ("no2", "ppm", 0.05), ("rain", "mm", 2),
                         ("level", "%", 5)))
        r = subprocess.run([IOCD, "--config", conf, "--try", "weather", payload],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        got = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([(o["observation"], o["value"], o["unit"], o.get("canonical"),
                           o.get("rejected"), o.get("detail")) for o in got], [
            ("weather/GL-WS01/level", 123.4, "cm",
             {"value": 1.234, "unit": "m", "from": "[units] series = weather/+/level (line 8)"},
             None, None),
            ("weather/GL-WS01/no2", 0.05, "ppm",
             {"value": 94, "unit": "ug/m3", "from": "[units] metric.no2"}, None, None),
            ("weather/GL-WS01/rain", 2, "mm", None, None, None),
            ("weather/GL-WS01/level", 5, "%",
             {"unit": "m", "from": "[units] series = weather/+/level (line 8)"},
             "unit_mismatch", "unit '%' does not convert to the series' unit 'm'"),
        ])

    def test_units_change_needs_a_restart(self):
        d = self.iocd(WEATHER).start()
        with open(d.conf) as f:
            good = f.read()
        with open(d.conf, "w") as f:
            f.write(good.replace("metric.no2 = ug/m3, [ppb] * 1.88",
                                 "metric.no2 = ug/m3, [ppb] * 1.91"))
        n = d.log_text().count("only with a restart")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log_text().count("only with a restart") > n, what="the refusal")
        self.assertIn("reload: refused: [units] changes only with a restart; still running on "
                      "the previous configuration", d.log_text())
        self.broker.publish(TOPIC, [pack(T0, ("no2", "ppb", 100))])
        wait_until(lambda: "weather/GL-WS01/no2" in d.series(), what="the NO2 series")
        self.assertEqual(window(d, "weather/GL-WS01/no2")[2], 188)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
