"""VN_AQI after a catch-up: a replay of 26 hours of the simulator's air
feed yields the same hourly and daily VN_AQI however it arrives.

Three ways, each on its own iocd, database and broker session, with the
same data (iocd-sim, fixed seed, --start 27 hours before the current hour,
26 simulated hours, 3 stations, one message a minute), and a city offset
chosen so that one whole local day lies inside the replay:

* the replay on its own;
* after real-time data: every station first reports now, so iocd already
  holds newer hours when the history arrives;
* across an iocd restart (SIGTERM) in the middle of the replay.

Every station gets a value for each of the 25 replayed hours that has a
NowCast (the first hour has 1 of 3 hours, none), and the three ways agree
value for value, hourly and daily. That the values equal what the same
data gives fed live, hour by hour, is tests/unit/test_aqi_feed.c's."""
import json
import os
import signal
import subprocess
import time
import unittest

from iocdtest import IOCD_SIM, Iocd, IocdTestCase, wait_until

ADAPTER = """[adapter air]
topic = pleiku/air/+/data
format = json
device = $.station
time = $.ts
metric.pm25 = $.pm25 ug/m3
metric.pm10 = $.pm10 ug/m3
metric.no2 = $.no2 ug/m3

[aqi]
adapter = air
"""
STATIONS = ["GL-AQ01", "GL-AQ02", "GL-AQ03"]
HOUR = 3600000


def iso(ms):
    s, frac = divmod(ms, 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)), frac)


class VnAqiCatchupTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.h0 = int(time.time() * 1000) // HOUR * HOUR
        self.start_ms = self.h0 - 27 * HOUR
        # The city's offset puts local midnight one hour into the replay,
        # whatever the time of day the test runs: one whole local day (24
        # hours of data, ending 2 hours ago) is always inside it. With a
        # fixed +07:00, the days the replay touched had fewer than the 18
        # hours a daily value needs at 15 hours of the day.
        midnight_utc_hour = (self.start_ms // HOUR + 1) % 24
        tz = (-midnight_utc_hour) % 24
        if tz > 13:
            tz -= 24
        self.tz = "%s%02d:00" % ("+" if tz >= 0 else "-", abs(tz))
        self.day_ms = self.start_ms + HOUR
        self.runs = 0

    def new_iocd(self):
        self.runs += 1
        d = self.iocd(ADAPTER, store="timezone = %s\n" % self.tz + Iocd.KEEP_ALL,
                      name="iocd%d" % self.runs,
                      client_id="iocd-aqi-%d-%d" % (self.broker.port, self.runs),
                      db=os.path.join(self.dir, "iocd%d.db" % self.runs))
        return d

    def replay(self, wait=True):
        args = [IOCD_SIM, "--port", str(self.broker.port), "--seed", "3", "--feeds", "air",
                "--air", str(len(STATIONS)), "--interval-air", "60",
                "--start", str(self.start_ms), "--duration", str(26 * 3600), "--quiet",
                "--client-id", "sim-%d" % self.runs]
        if wait:
            subprocess.run(args, check=True, timeout=120, capture_output=True)
            return None
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def aqi(self, d, metric):
        out = {}
        for st in STATIONS:
            rows = d.query("air/%s/%s" % (st, metric), "--resolution", "1h",
                           "--from", iso(self.start_ms), "--to", iso(self.h0 - HOUR))
            out[st] = [(w["start"], w["count"], w["sum"]) for w in rows]
        return out

    def settled(self, d):
        """Wait until every station has its 25 hourly values, then read both."""
        def done():
            try:
                return all(len(v) == 25 for v in self.aqi(d, "vn_aqi").values())
            except AssertionError:
                return False
        wait_until(done, timeout=60, what="25 hourly VN_AQI per station (log:\n%s)"
                   % d.log_text()[-1500:])
        time.sleep(1.5)  # a day completes with its last hour: same tick
        return self.aqi(d, "vn_aqi"), self.aqi(d, "vn_aqi_day")

    def test_replay_alone_after_realtime_and_across_restart(self):
        n = len(STATIONS) * 26 * 60
        # 1. The replay on its own.
        d1 = self.new_iocd().start()
        self.replay()
        d1.wait_messages("air", n, timeout=60)
        hourly, daily = self.settled(d1)
        for st in STATIONS:
            self.assertEqual([h[0] for h in hourly[st]],
                             [iso(self.start_ms + k * HOUR).replace(".000Z", "Z")
                              for k in range(1, 26)])
            self.assertTrue(all(h[1] == 1 for h in hourly[st]), hourly[st])
            # Exactly the one whole local day, at its local midnight.
            self.assertEqual([(x[0], x[1]) for x in daily[st]],
                             [(iso(self.day_ms).replace(".000Z", "Z"), 1)], (self.tz, daily))
        d1.stop()

        # 2. Real-time data first: each station reports now, then the history.
        d2 = self.new_iocd().start()
        now = int(time.time() * 1000)
        self.broker.publish("pleiku/air/x/data", [json.dumps(
            {"station": st, "ts": iso(now), "pm25": 12.0, "pm10": 20.0, "no2": 5.0})
            for st in STATIONS])
        d2.wait_messages("air", len(STATIONS))
        time.sleep(1.2)  # a flush tick with only the real-time hour known
        self.replay()
        d2.wait_messages("air", n + len(STATIONS), timeout=60)
        self.assertEqual(self.settled(d2), (hourly, daily))
        d2.stop()

        # 3. A restart in the middle of the replay (the broker queues meanwhile).
        d3 = self.new_iocd().start()
        sim = self.replay(wait=False)
        wait_until(lambda: d3.counter("air", "messages") >= n // 3, timeout=60,
                   what="a third of the replay")
        self.assertEqual(d3.stop(signal.SIGTERM), 0)
        d3.start()
        self.assertEqual(sim.wait(120), 0)
        d3.wait_messages("air", n, timeout=60)
        self.assertEqual(self.settled(d3), (hourly, daily))


if __name__ == "__main__":
    unittest.main(verbosity=2)
