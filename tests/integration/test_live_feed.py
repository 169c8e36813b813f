"""The live feed on MQTT: republished observations and events (protobuf and
JSON), closed windows, retained device status, alerts raised and cleared with
hysteresis (published and stored), and the refusal to consume its own output."""
import json
import subprocess
import time
import unittest

from iocdtest import (AIR_ADAPTER, IOCCTL, IOCD, IocdTestCase, Subscriber, air, pb_decode,
                      wait_until)

# These tests check the per-item layout of the republish (one message per
# observation, and the JSON twin), which the defaults no longer send: the
# batched default is test_live_feed's test_default_batches_one_message_each.
TWIN = "per_metric = true\njson = true\n"

T0 = 1795330800000  # 2026-11-22T07:00:00Z
EVENTS = """[adapter fire]
topic = pleiku/fire/+/alarm
format = event
device = topic[2]
kind = $.type
time = $.ts
severity = $.level
text = $.msg
"""


def iso(ms):
    import datetime
    # iocd writes milliseconds only when there are some.
    s = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")
    return s + (".%03dZ" % (ms % 1000) if ms % 1000 else "Z")


class LiveFeedTest(IocdTestCase):
    def sub(self, *topics):
        s = Subscriber(self.broker, *topics)
        self.addCleanup(s.stop)
        time.sleep(0.3)  # let it subscribe
        return s

    def test_observations_republished_as_protobuf_and_json(self):
        d = self.iocd(AIR_ADAPTER, extra="[live]\n" + TWIN).start()
        s = self.sub("ioc/v1/#")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 35.25, 27.5)])
        s.wait(lambda m: len([x for x in m if "/obs/" in x[0]]) == 4, what="4 obs messages")
        time.sleep(0.3)
        got = {t: p for t, p, _ in s.snapshot() if "/obs/" in t}
        self.assertEqual(sorted(got), ["ioc/v1/json/obs/air/pk-01/pm25",
                                       "ioc/v1/json/obs/air/pk-01/temperature",
                                       "ioc/v1/obs/air/pk-01/pm25",
                                       "ioc/v1/obs/air/pk-01/temperature"])
        j = json.loads(got["ioc/v1/json/obs/air/pk-01/pm25"])
        recv = j.pop("received_ms")
        self.assertEqual(j, {"type": "obs", "series": "air/pk-01/pm25", "source": "air",
                             "device": "pk-01", "metric": "pm25", "unit": "ug/m3",
                             "value": 35.25, "time": "2026-11-22T07:00:00Z",
                             "time_ms": T0})
        self.assertLessEqual(abs(recv - time.time() * 1000), 10000)
        pb = pb_decode(got["ioc/v1/obs/air/pk-01/pm25"])
        self.assertEqual(pb[1], [b"air"])
        self.assertEqual(pb[2], [b"pk-01"])
        self.assertEqual(pb[3], [b"pm25"])
        self.assertEqual(pb[4], [35.25])
        self.assertEqual(pb[5], [b"ug/m3"])
        self.assertEqual(pb[6], [T0])
        self.assertEqual(pb[7], [recv])
        # Nothing iocd published came back in as input.
        self.assertEqual(d.status()["adapters"]["air"]["messages"], 1)

    def test_default_batches_one_message_each(self):
        """The defaults: one ioc.v1.Batch per received message and device on
        PREFIX/obs/SOURCE/DEVICE, and one ioc.v1.WindowBatch per device and
        resolution on PREFIX/window/RES/SOURCE/DEVICE, protobuf only."""
        # Times of the last minute and a long grace: the minute's windows
        # close only when the next minute's message arrives (not on a timer
        # tick between the first two messages).
        d = self.iocd(AIR_ADAPTER, extra="[live]\nwindow_grace = 1h\n").start()
        s = self.sub("ioc/v1/#")
        t0 = (int(time.time()) // 60 - 1) * 60000
        t = t0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 35.25, 27.5),
                                                      air("pk-01", t + 1, 36.5),
                                                      air("pk-01", t + 60, 40.0, 28.0)])
        s.wait(lambda m: len([x for x in m if "/window/" in x[0]]) == 1, what="a window batch")
        time.sleep(0.5)
        obs = [(t, p) for t, p, _ in s.snapshot() if "/obs/" in t or "/json/" in t]
        self.assertEqual([t for t, _ in obs], ["ioc/v1/obs/air/pk-01"] * 3)
        first = pb_decode(obs[0][1])        # Batch: 1 = repeated Observation
        self.assertEqual(len(first[1]), 2)
        o = [pb_decode(x) for x in first[1]]
        self.assertEqual([(x[3], x[4]) for x in o], [([b"pm25"], [35.25]),
                                                     ([b"temperature"], [27.5])])
        self.assertEqual([(x[1], x[2], x[6]) for x in o], [([b"air"], [b"pk-01"], [t0])] * 2)
        second = [pb_decode(x) for x in pb_decode(obs[1][1])[1]]
        self.assertEqual([(x[3], x[4], x[6]) for x in second], [([b"pm25"], [36.5], [t0 + 1000])])
        wins = [(t, p) for t, p, _ in s.snapshot() if "/window/" in t]
        self.assertEqual([t for t, _ in wins], ["ioc/v1/window/1m/air/pk-01"])
        w = [pb_decode(x) for x in pb_decode(wins[0][1])[1]]  # WindowBatch: 1 = windows
        # Window: 3 metric, 5 resolution_s, 6 start_ms, 8 count, 9 sum
        self.assertEqual(sorted((x[3][0], x[5][0], x[6][0], x[8][0], x[9][0]) for x in w),
                         [(b"pm25", 60, t0, 2, 71.75), (b"temperature", 60, t0, 1, 27.5)])
        m = d.http("/metrics")[2].decode()
        self.assertIn('iocd_live_items_total{type="obs_batch"} 3\n', m)
        self.assertIn('iocd_live_items_total{type="window"} 2\n', m)
        self.assertIn('iocd_live_items_total{type="window_batch"} 1\n', m)
        # 3 batches, the device's status and the window batch.
        self.assertIn("iocd_republished_total 5\n", m)

    def test_events_republished(self):
        self.iocd(EVENTS, extra="[live]\n" + TWIN).start()
        s = self.sub("ioc/v1/json/event/#", "ioc/v1/event/#")
        self.broker.publish("pleiku/fire/b12/alarm", [json.dumps(
            {"type": "fire_alarm", "ts": "2026-11-22T07:00:00Z", "level": "critical",
             "msg": "Khói tầng 3"})])
        s.wait(lambda m: len(m) == 2, what="event messages")
        got = {t: p for t, p, _ in s.snapshot()}
        j = json.loads(got["ioc/v1/json/event/fire/fire_alarm/b12"])
        j.pop("received_ms")
        self.assertEqual(j, {"type": "event", "source": "fire", "kind": "fire_alarm",
                             "severity": "critical", "text": "Khói tầng 3", "device": "b12",
                             "area": "", "status": "", "case": "", "time": "2026-11-22T07:00:00Z",
                             "time_ms": T0, "attributes": {}})
        pb = pb_decode(got["ioc/v1/event/fire/fire_alarm/b12"])
        self.assertEqual((pb[1], pb[2], pb[3], pb[4], pb[6], pb[8]),
                         ([b"fire_alarm"], [5], ["Khói tầng 3".encode()], [b"b12"], [T0],
                          [b"fire"]))

    def test_closed_windows_published(self):
        self.iocd(AIR_ADAPTER,
                  extra="[live]\n" + TWIN + "windows = 1m 1h\nwindow_grace = 0s\n").start()
        s = self.sub("ioc/v1/json/window/#", "ioc/v1/window/#")
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data",
                            [air("pk-01", t + 5, 30.0), air("pk-01", t + 50, 40.0),
                             air("pk-01", t + 20, 20.0), air("pk-01", t + 2, 10.0),
                             air("pk-01", t + 65, 50.0)])
        # Out of order within 07:00: 20 at :20 is neither first nor last; 10
        # at :02 comes before the first (30 at :05) and becomes it.
        # 07:00 closes when 07:01 begins; 07:01 and the hour once their end has passed
        # (long ago): at the next 1 s tick.
        s.wait(lambda m: len(m) == 6, what="3 windows x 2 forms")
        time.sleep(0.5)
        js = s.json("ioc/v1/json/")
        self.assertEqual([t for t, _ in js], ["ioc/v1/json/window/1m/air/pk-01/pm25"] * 2 +
                         ["ioc/v1/json/window/1h/air/pk-01/pm25"])
        self.assertEqual(js[0][1], {"type": "window", "series": "air/pk-01/pm25",
                                    "unit": "ug/m3", "resolution": "1m", "res_s": 60,
                                    "start": "2026-11-22T07:00:00Z", "start_ms": T0,
                                    "end_ms": T0 + 60000, "count": 4, "sum": 100, "min": 10,
                                    "max": 40, "mean": 25, "first": 10, "last": 40})
        self.assertEqual((js[1][1]["start_ms"], js[1][1]["count"], js[1][1]["sum"]),
                         (T0 + 60000, 1, 50))
        self.assertEqual({k: js[2][1][k] for k in ("start_ms", "end_ms", "count", "sum", "min",
                                                   "max", "first", "last")},
                         {"start_ms": T0, "end_ms": T0 + 3600000, "count": 5, "sum": 150,
                          "min": 10, "max": 50, "first": 10, "last": 50})
        pb = pb_decode([p for t, p, _ in s.snapshot()
                        if t == "ioc/v1/window/1m/air/pk-01/pm25"][0])
        self.assertEqual((pb[1], pb[2], pb[3], pb[4], pb[5], pb[6], pb[7], pb[8], pb[9],
                          pb[10], pb[11], pb[12], pb[13], pb[14]),
                         ([b"air"], [b"pk-01"], [b"pm25"], [b"ug/m3"], [60], [T0],
                          [T0 + 60000], [4], [100.0], [10.0], [40.0], [25.0], [10.0], [40.0]))

    def test_window_closed_by_a_message_that_adds_the_1024th_series(self):
        """One message closes a live window (its pm25 moved to the next
        minute) and adds a series whose id is past the live feed's table
        (1024 slots, ids from 1): the table moves, and the closed window is
        still published right (it was read through a stale pointer; ASan
        saw the use after free)."""
        d = self.iocd(AIR_ADAPTER, extra="[live]\nwindow_grace = 1h\n").start()
        s = self.sub("ioc/v1/window/#")
        t0 = (int(time.time()) // 60 - 2) * 60000
        t = t0 // 1000
        # Series 1..1022: 511 stations with pm25 and temperature; 1023: x's pm25.
        self.broker.publish("pleiku/air/all/data",
                            [air("s%03d" % i, t, 1.0, 2.0) for i in range(511)] +
                            [air("x", t, 5.0)])
        wait_until(lambda: d.status()["adapters"]["air"]["messages"] == 512, timeout=30,
                   what="512 messages")
        self.broker.publish("pleiku/air/all/data", [air("x", t + 60, 6.0, 7.0)])
        s.wait(lambda m: len(m) == 1, what="x's window batch")
        time.sleep(0.5)
        got = s.snapshot()
        self.assertEqual([topic for topic, _, _ in got], ["ioc/v1/window/1m/air/x"])
        w = [pb_decode(x) for x in pb_decode(got[0][1])[1]]
        # Window: 1 source, 2 device, 3 metric, 6 start_ms, 8 count, 9 sum
        self.assertEqual([(x[1], x[2], x[3], x[6], x[8], x[9]) for x in w],
                         [([b"air"], [b"x"], [b"pm25"], [t0], [1], [5.0])])
        self.assertIn("iocd_series 1024\n", d.http("/metrics")[2].decode())

    def test_device_status_retained_online_stale_offline(self):
        self.iocd(AIR_ADAPTER, extra="[live]\n" + TWIN + "[devices]\ndefault_interval = 1s\nstale_multiple = 2\n"
                                     "offline_multiple = 4\n").start()
        s = self.sub("ioc/v1/json/status/#")
        self.broker.publish("pleiku/air/pk-07/data", [air("pk-07", T0 // 1000, 10.0)])
        s.wait(lambda m: len(m) == 3, timeout=15, what="online, stale, offline")
        states = [json.loads(p)["state"] for _, p, _ in s.snapshot()]
        self.assertEqual(states, ["online", "stale", "offline"])
        self.assertEqual({t for t, _, _ in s.snapshot()}, {"ioc/v1/json/status/air/pk-07"})
        last = json.loads(s.snapshot()[-1][1])
        self.assertEqual((last["source"], last["device"], last["interval_ms"]),
                         ("air", "pk-07", 1000))
        # A client that connects now gets the retained state at once.
        late = self.sub("ioc/v1/json/status/#")
        late.wait(lambda m: len(m) == 1, what="retained status")
        t, p, retained = late.snapshot()[0]
        self.assertEqual((t, json.loads(p)["state"], retained),
                         ("ioc/v1/json/status/air/pk-07", "offline", True))
        # It speaks again: online.
        self.broker.publish("pleiku/air/pk-07/data", [air("pk-07", T0 // 1000 + 60, 11.0)])
        s.wait(lambda m: len(m) == 4, what="back online")
        self.assertEqual(json.loads(s.snapshot()[3][1])["state"], "online")

    def test_device_status_published_again_after_broker_restart(self):
        self.iocd(AIR_ADAPTER, extra="[live]\n" + TWIN).start()
        self.broker.publish("pleiku/air/pk-08/data", [air("pk-08", T0 // 1000, 10.0)])
        first = self.sub("ioc/v1/json/status/#")
        first.wait(lambda m: len(m) == 1, what="retained status")
        first.stop()
        # A broker without persistence forgets retained messages when it restarts.
        self.broker.stop()
        self.broker.start()
        s = self.sub("ioc/v1/json/status/#", "ioc/v1/status/#")
        s.wait(lambda m: len(m) == 2, timeout=15, what="status sent again after reconnect")
        got = {t: (p, r) for t, p, r in s.snapshot()}
        j = json.loads(got["ioc/v1/json/status/air/pk-08"][0])
        self.assertEqual((j["state"], j["source"], j["device"]), ("online", "air", "pk-08"))
        pb = pb_decode(got["ioc/v1/status/air/pk-08"][0])
        self.assertEqual((pb[1], pb[2], pb[3], pb[4]),
                         ([b"air"], [b"pk-08"], [1], [j["last_seen_ms"]]))
        # A later subscriber gets them retained.
        late = self.sub("ioc/v1/json/status/#")
        late.wait(lambda m: len(m) == 1 and m[0][2], what="retained again")

    def test_threshold_alert_with_hysteresis_published_and_stored(self):
        rule = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nstat = mean\n"
                "window = 1h\nabove = 55\nclear = 50\nseverity = major\n"
                "text = PM2.5 1 h mean above 55\n")
        d = self.iocd(AIR_ADAPTER + rule, extra="[live]\n" + TWIN).start()
        s = self.sub("ioc/v1/json/alert/#")
        t = T0 // 1000
        # Rolling 1 h means: 40, 50, 60 (raise), 52.5 (still raised: above clear 50),
        # 46 (cleared).
        for i, v in enumerate([40, 60, 80, 30, 20]):
            self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t + 60 * i, v)])
            time.sleep(0.15)
        s.wait(lambda m: len(m) == 2, what="raise and clear")
        time.sleep(0.5)
        items = [json.loads(p) for _, p, _ in s.snapshot()]
        self.assertEqual(len(items), 2)
        self.assertEqual({t for t, _, _ in s.snapshot()}, {"ioc/v1/json/alert/pm25_high/air/pk-02"})
        raised, cleared = items
        self.assertEqual(raised, {"type": "alert", "id": "pm25_high/air/pk-02/pm25",
                                  "rule": "pm25_high", "state": "raised", "severity": "major",
                                  "series": "air/pk-02/pm25", "source": "air",
                                  "device": "pk-02", "value": 60, "threshold": 55,
                                  "text": "PM2.5 1 h mean above 55",
                                  "time": iso(T0 + 120000), "time_ms": T0 + 120000,
                                  "raised": iso(T0 + 120000), "raised_ms": T0 + 120000})
        self.assertEqual((cleared["state"], cleared["value"], cleared["threshold"],
                          cleared["time_ms"], cleared["raised_ms"]),
                         ("cleared", 46, 50, T0 + 240000, T0 + 120000))
        # Stored as events of kind "alert" from source "iocd".
        wait_until(lambda: len(self.stored_alerts(d)) == 2, what="alerts stored")
        rows = self.stored_alerts(d)
        self.assertEqual([(r["status"], r["severity"], r["device"], r["time"],
                           r["attributes"]["id"], r["attributes"]["value"])
                          for r in rows],
                         [("cleared", "major", "pk-02", iso(T0 + 240000),
                           "pm25_high/air/pk-02/pm25", "46"),
                          ("raised", "major", "pk-02", iso(T0 + 120000),
                           "pm25_high/air/pk-02/pm25", "60")])

    def stored_alerts(self, d):
        r = d.ctl("events", "--source", "iocd", "--kind", "alert", "--from",
                  "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z", "--json")
        return [json.loads(line) for line in r.stdout.splitlines() if line]

    def test_stale_alert_raised_and_cleared(self):
        rule = "[alert silent]\ntype = stale\nmatch = air/+\nmultiple = 2\n"
        self.iocd(AIR_ADAPTER + rule,
                  extra="[live]\n" + TWIN + "[devices]\ndefault_interval = 1s\n").start()
        s = self.sub("ioc/v1/json/alert/#")
        # Judged once 3 gaps are seen (IOCD_ALERTS_STALE_MIN_GAPS): 4 messages
        # (received in different milliseconds: one connection each).
        for i in range(4):
            self.broker.publish("pleiku/air/pk-09/data", [air("pk-09", T0 // 1000 + i, 10.0)])
        s.wait(lambda m: len(m) == 1, timeout=10, what="stale alert")
        a = json.loads(s.snapshot()[0][1])
        self.assertEqual((a["id"], a["state"], a["series"], a["threshold"]),
                         ("silent/air/pk-09", "raised", "air/pk-09", 2))
        self.assertGreater(a["value"], 2)
        self.broker.publish("pleiku/air/pk-09/data", [air("pk-09", T0 // 1000 + 4, 10.0)])
        s.wait(lambda m: len(m) == 2, timeout=10, what="stale alert cleared")
        self.assertEqual(json.loads(s.snapshot()[1][1])["state"], "cleared")

    def test_own_output_is_never_consumed(self):
        path = self.dir + "/loop.conf"
        with open(path, "w") as f:
            f.write("[adapter all]\ntopic = ioc/#\nformat = json\ndevice = $.d\n"
                    "metric.v = $.v 1\n")
        r = subprocess.run([IOCD, "--check-config", "-c", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocd: %s: [live] prefix 'ioc/v1' would be consumed by [adapter "
                             "all] (topic ioc/#): iocd never takes its own output\n" % path))
        with open(path, "w") as f:
            f.write("[live]\nprefix = city/out\n[adapter all]\ntopic = +/+/x\nformat = json\n"
                    "device = $.d\nmetric.v = $.v 1\n")
        r = subprocess.run([IOCD, "--check-config", "-c", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("[live] prefix 'city/out' would be consumed by [adapter all]", r.stderr)


if __name__ == "__main__":
    unittest.main()
