"""The main job end to end: iocd-sim's Pleiku feed (fast replay, fixed
seed) through a real broker into iocd running the shipped config. A bare
mosquitto_sub records the same messages; every stored 1-minute window of
every series must equal what the recorded payloads say."""
import json
import math
import os
import subprocess
import time
import unittest

from iocdtest import IOCD_SIM, SOURCE_ROOT, IocdTestCase, wait_until

N = 1500
# The shipped config's mapping: adapter -> (device key or topic level, time key, metrics)
FEEDS = {
    "air": ("station", "ts", {"pm25": "pm25", "pm10": "pm10", "no2": "no2",
                              "temperature": "temp", "humidity": "rh"}),
    "traffic": ("counter", "time_ms", {"vehicles": "vehicles", "speed": "speed_kmh"}),
    "water": (None, "t", {"level": "level_cm", "battery": "battery_v"}),
}


def parse_time(feed, v):
    if feed == "traffic":
        return v
    if feed == "water":
        return v * 1000
    # "2026-11-20T07:00:10+07:00"
    import datetime
    return int(datetime.datetime.fromisoformat(v).timestamp() * 1000)


class SimFeedTest(IocdTestCase):
    # The merged [group] sections of config/iocd.conf over these feeds.
    GROUPS = {"air/city/pm25": ("air", "pm25"), "traffic/city/vehicles": ("traffic", "vehicles")}

    def test_shipped_config_stores_sim_feed_exactly(self):
        with open(os.path.join(SOURCE_ROOT, "config", "iocd.conf")) as f:
            feeds = f.read().split("# " + "-" * 75, 1)[1]
        d = self.iocd(feeds).start()
        rec = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/#", "-v", "-C", str(N)],
                               stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: rec.poll() is None and (rec.kill(), rec.wait()))
        time.sleep(0.5)  # let the recorder subscribe
        subprocess.run([IOCD_SIM, "--port", str(self.broker.port), "--seed", "7",
                        "--feeds", "air,traffic,water",
                        "--start", "2026-11-20T07:00:00+07:00", "--count", str(N), "--quiet"],
                       check=True, timeout=60, capture_output=True)
        out, _ = rec.communicate(timeout=60)
        lines = out.splitlines()
        self.assertEqual(len(lines), N)
        d.wait_messages("air", 1)
        wait_until(lambda: sum(d.counter(a, "messages") for a in FEEDS) == N,
                   what="all %d messages stored" % N)

        expected = {}
        for line in lines:
            topic, payload = line.split(" ", 1)
            feed = topic.split("/")[1]
            devkey, tkey, metrics = FEEDS[feed]
            p = json.loads(payload)
            device = p[devkey] if devkey else topic.split("/")[2]
            t = parse_time(feed, p[tkey])
            start = t - t % 60000
            for metric, key in metrics.items():
                v = float(p[key])
                # The series, and the shipped config's merged roll-up of it
                # (docs/groups.md): every member sample counted again, in
                # the order of arrival.
                names = ["%s/%s/%s" % (feed, device, metric)]
                names += [g for g, (gf, gm) in self.GROUPS.items() if (gf, gm) == (feed, metric)]
                for name in names:
                    w = expected.setdefault((name, start),
                                            {"count": 0, "sum": 0.0, "min": math.inf,
                                             "max": -math.inf, "last_t": -1, "last": None})
                    w["count"] += 1
                    w["sum"] += v
                    w["min"] = min(w["min"], v)
                    w["max"] = max(w["max"], v)
                    if t >= w["last_t"]:
                        w["last_t"], w["last"] = t, v

        st = d.status()
        for a in FEEDS:
            self.assertEqual(st["adapters"][a]["rejects"].get("malformed", 0), 0)
            self.assertEqual(sum(st["adapters"][a]["rejects"].values()), 0, st)
        series = sorted({k[0] for k in expected})
        self.assertEqual(d.series(), series)
        self.assertEqual(len(series), 8 * 5 + 40 * 2 + 6 * 2 + 2)
        checked = 0
        for s in series:
            for w in d.query(s, "--resolution", "1m"):
                import datetime
                start = int(datetime.datetime.strptime(w["start"], "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=datetime.timezone.utc).timestamp() * 1000)
                e = expected.pop((s, start))
                self.assertEqual((w["count"], w["min"], w["max"], w["last"]),
                                 (e["count"], e["min"], e["max"], e["last"]), s)
                self.assertAlmostEqual(w["sum"], e["sum"], delta=1e-9 * max(1, abs(e["sum"])))
                checked += 1
        self.assertEqual(expected, {})  # no window missing from the store
        self.assertGreater(checked, len(series))


if __name__ == "__main__":
    unittest.main(verbosity=2)
