"""VN_AQI corrected after late data, on a real broker, iocd and SQLite file.

Owns: one test. Station A reports PM2.5 twice an hour (20 µg/m³ at :10
and :40) for the 24 hours of one local day (the test picks the offset
that puts local midnight 3 hours before the current hour, so the day ended
3 hours ago); the :40 sample of hour 18 of the day is held back. iocd
computes every hour and the day (all 40: PM2.5 20 → AQI 40). Then the
held-back sample arrives, late, with 86: the hour's mean becomes 53, and
iocd computes that hour and the later hours whose NowCast holds it again,
and the day. Asserted exactly:

* through `iocctl query`, every `vn_aqi` hour and the `vn_aqi_day` row
  hold one sample (count 1) whose sum is the value the full data gives
  (worked out below by the decision's formulas, independently of iocd):
  corrected in place, not added beside the old value;
* the live feed (ioc.v1 Batch on ioc/v1/obs/air/A) carried each changed
  value once more with `correction` (field 11) set, and nothing else again;
* iocd is SIGKILLed right after the first correction is stored and
  restarted with the journal's replay point moved back to its first entry
  (as if no window had been written): the replay adds nothing, the rows
  stay exactly as above and the pollutant hours hold 2 samples each.
"""
import json
import math
import signal
import sqlite3
import time
import unittest

from iocdtest import IocdTestCase, Subscriber, pb_decode, wait_until

HOUR = 3600000
LATE_HOUR, LATE_VALUE = 18, 86.0
ADAPTER = """[adapter air]
topic = pleiku/air/+/data
format = json
device = $.station
time = $.ts
metric.pm25 = $.pm25 ug/m3

[aqi]
adapter = air
"""
PM25 = [(0, 0), (25, 50), (50, 100), (80, 150), (150, 200), (250, 300), (350, 400),
        (500, 500)]


def iso(ms):
    s, frac = divmod(ms, 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)), frac)


def sub_index(c):
    """PM2.5 sub-index (Decision 1459, Table 2; docs/vn_aqi.md)."""
    for (b0, i0), (b1, i1) in zip(PM25, PM25[1:]):
        if c < b1:
            return (i1 - i0) * (c - b0) / (b1 - b0) + i0
    return 500.0


def rnd(x):
    return math.floor(x + 0.5 + 1e-9)


def nowcast(means, h):
    """The NowCast ending with hour h of `means` (hour → mean), or None."""
    c = [means.get(h - i) for i in range(12)]
    if sum(v is not None for v in c[:3]) < 2:
        return None
    have = [v for v in c if v is not None]
    w = min(have) / max(have)
    w = max(w, 0.5)
    num = sum(v * w ** i for i, v in enumerate(c) if v is not None)
    den = sum(w ** i for i, v in enumerate(c) if v is not None)
    return num / den


def expected(means):
    """{hour: AQI^h} for the day's hours and the hour after, and AQI^d."""
    hourly = {}
    for h in range(0, 25):
        nc = nowcast(means, h)
        if nc is not None:
            hourly[h] = rnd(sub_index(nc))
    daily = rnd(sub_index(sum(means.values()) / len(means)))
    return hourly, daily


class VnAqiCorrectTest(IocdTestCase):
    def test_late_sample_corrects_stored_and_live_values(self):
        h0 = int(time.time() * 1000) // HOUR * HOUR
        day = h0 - 27 * HOUR                 # local midnight (UTC instant)
        tz = (3 - (h0 // HOUR) % 24) % 24    # local midnight at h0 - 3 h
        if tz > 14:
            tz -= 24
        self.assertEqual((day // HOUR + tz) % 24, 0)
        store = "timezone = %s%02d:00\n" % (
            "+" if tz >= 0 else "-", abs(tz))
        store += "retention = 1m:forever 1h:forever\n"
        d = self.iocd(ADAPTER, store=store)
        sub = Subscriber(self.broker, "ioc/v1/obs/air/A")
        d.start()

        def msg(h, minute, v):
            return json.dumps({"station": "A", "ts": iso(day + h * HOUR + minute * 60000),
                               "pm25": v})
        self.broker.publish("pleiku/air/A/data",
                            [msg(h, m, 20.0) for h in range(24) for m in (10, 40)
                             if (h, m) != (LATE_HOUR, 40)])
        means = {h: 20.0 for h in range(24)}
        before, day_before = expected(means)
        # Hour 0 has no NowCast (1 of 3 hours); hours 1..23 and the hour
        # after the day (2 of 3) do: 24 values, all 40, and the day 40.
        self.assertEqual(sorted(before), list(range(1, 25)))
        self.assertEqual(set(before.values()), {40})
        self.assertEqual(day_before, 40)

        def rows(metric):
            return [(w["start"], w["count"], w["sum"]) for w in d.query(
                "air/A/" + metric, "--resolution", "1h", "--from", iso(day),
                "--to", iso(day + 26 * HOUR))]

        def want_rows(hourly):
            return [(iso(day + h * HOUR).replace(".000Z", "Z"), 1, float(v))
                    for h, v in sorted(hourly.items())]

        def seen(want_h, want_d):
            try:
                return (rows("vn_aqi") == want_rows(want_h) and
                        rows("vn_aqi_day") == want_rows({0: want_d}))
            except AssertionError:
                return False
        wait_until(lambda: seen(before, day_before), timeout=40,
                   what="24 hourly values and the day (log:\n%s)" % d.log_text()[-1500:])

        # The late sample: hour 18's mean becomes (20 + 86) / 2 = 53.
        means[LATE_HOUR] = (20.0 + LATE_VALUE) / 2
        after, day_after = expected(means)
        # By hand: hour 18's NowCast is (53 + 20 (w + ... + w^11)) / (1 + ...
        # + w^11) with w = 1/2 (20/53 < 1/2): 36.504 → AQI 73.008 → 73; the
        # later hours weigh it 1/2, 1/4, ...; the day's mean 21.375 → 42.75
        # → 43. Hours 1..17 do not change.
        self.assertEqual(after[LATE_HOUR], 73)
        self.assertEqual(day_after, 43)
        changed = {h: v for h, v in after.items() if before[h] != v}
        self.assertEqual(changed, {18: 73, 19: 57, 20: 48, 21: 44, 22: 42, 23: 41, 24: 41})
        self.broker.publish("pleiku/air/A/data", [msg(LATE_HOUR, 40, LATE_VALUE)])
        late_row = (iso(day + LATE_HOUR * HOUR).replace(".000Z", "Z"), 1, 73.0)
        wait_until(lambda: late_row in rows("vn_aqi"), timeout=30,
                   what="hour 18 corrected (log:\n%s)" % d.log_text()[-1500:])
        # SIGKILL now, then start again, as if the crash had left every
        # journal entry unabsorbed (replay_from = 1): the replay must find
        # the original values and the corrections in the windows already
        # (each row's jrnl), and add nothing.
        self.assertEqual(d.stop(signal.SIGKILL), -signal.SIGKILL)
        con = sqlite3.connect(d.db)
        con.execute("UPDATE meta SET value = '1' WHERE key = 'replay_from'")
        con.commit()
        con.close()
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        self.assertRegex(d.log_text(), r"replayed \d+ journal entries")
        wait_until(lambda: seen(after, day_after), timeout=40,
                   what="the corrected values (log:\n%s)" % d.log_text()[-1500:])
        time.sleep(7)  # a settle period and more: nothing else is computed
        self.assertEqual(rows("vn_aqi"), want_rows(after))
        self.assertEqual(rows("vn_aqi_day"), want_rows({0: day_after}))
        pm = d.query("air/A/pm25", "--resolution", "1h", "--from", iso(day),
                     "--to", iso(day + 24 * HOUR))
        self.assertEqual([(w["count"], w["sum"]) for w in pm],
                         [(2, 40.0)] * LATE_HOUR + [(2, 106.0)] + [(2, 40.0)] * 5)
        day_row = d.query("air/A/vn_aqi", "--resolution", "1d", "--from", iso(day),
                          "--to", iso(day + 26 * HOUR))
        # The 1d row of the hourly series: the merge of its 1h rows.
        self.assertEqual([(w["count"], w["sum"], w["min"], w["max"]) for w in day_row],
                         [(23, float(sum(v for h, v in after.items() if h < 24)), 40.0, 73.0),
                          (1, float(after[24]), float(after[24]), float(after[24]))])

        # The live feed: each first value once, each changed value once
        # more as a correction (the restart may not publish it again: the
        # corrections stored before the kill are not recomputed).
        firsts, corrections = [], []
        for _, payload, _ in sub.snapshot():
            for raw in pb_decode(payload).get(1, []):
                o = pb_decode(raw)
                metric = o[3][0].decode()
                if not metric.startswith("vn_aqi"):
                    continue
                item = (metric, (o[6][0] - day) // HOUR, o[4][0])
                (corrections if o.get(11, [0])[0] else firsts).append(item)
        sub.stop()
        self.assertEqual(sorted(firsts), sorted([("vn_aqi", h, float(v))
                                                 for h, v in before.items()] +
                                                [("vn_aqi_day", 0, 40.0)]))
        want_corr = sorted([("vn_aqi", h, float(v)) for h, v in changed.items()] +
                           [("vn_aqi_day", 0, float(day_after))])
        self.assertEqual(sorted(set(corrections)), want_corr)
        self.assertIn(("vn_aqi", LATE_HOUR, 73.0), corrections)


if __name__ == "__main__":
    unittest.main(verbosity=2)
