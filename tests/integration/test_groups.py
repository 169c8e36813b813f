"""Roll-ups across devices ([group NAME], docs/groups.md), through a real
mosquitto, a real iocd and its SQLite file, read back with iocctl and the
HTTP API:

- merged groups: every window of the group series holds exactly the
  samples of its members' windows (count, sum, min, max, mean and the
  quantile sketch, compared with the members' windows and with a reference
  series fed the same values); two members' samples of one time both
  count; a member's duplicate counts once; the same after a SIGTERM
  restart and after a SIGKILL with the windows lagging the journal (replay);
- gauge groups: sum, mean, min, max and count of the members' latest
  values at each interval boundary, exact for a known sequence, with a
  member going stale;
- an alert rule matching a group series raises;
- a reload that changes a group is refused (restart-only), the old one kept;
- groups by device-registry field (`where = area=...`, `tag=...`) and one
  group per ward (`series = air/ward:{area}/pm25`): exactly the samples of
  the devices the registry puts there, none of the others; a reload moving
  a device to another ward refused, one renaming it accepted; `where` and
  {area} without a registry refused with file and line.
"""
import datetime
import json
import os
import subprocess
import signal
import time
import unittest

from iocdtest import IOCD, IocdTestCase, wait_until

BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z
QUANTILES = ["0.1", "0.5", "0.9", "0.99"]

ADAPTERS = """[adapter air]
topic = pleiku/air/+/data
format = json
device = $.station
time = $.t
time_format = ms
metric.pm25 = $.pm25 ug/m3

# The same values under another source: not a member, a reference.
[adapter ref]
topic = pleiku/ref/+/data
format = json
device = $.station
time = $.t
time_format = ms
metric.pm25 = $.pm25 ug/m3

[group city_pm25]
kind = merged
members = air/+/pm25
series = air/city/pm25
"""


def iso_ms(text):
    dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(round(dt.timestamp() * 1000))


def msg(station, t_ms, v):
    return json.dumps({"station": station, "t": t_ms, "pm25": v})


def windows(d, series, res):
    args = ["--resolution", res, "--from", "2026-11-21T00:00:00Z", "--to", "2026-11-24T00:00:00Z"]
    for q in QUANTILES:
        args += ["--quantile", q]
    return d.query(series, *args)


STATIONS = ["GL-AQ01", "GL-AQ02", "GL-AQ03"]


def samples(first, n, step_ms=13000):
    """n samples per station from sample index `first`, `step_ms` apart:
    values that are exact in binary (sums do not depend on the order they
    are added in); GL-AQ01 and GL-AQ02 share every timestamp, GL-AQ03 is
    7 s later."""
    out = {s: [] for s in STATIONS}
    for i in range(first, first + n):
        t = BASE_MS + i * step_ms
        out["GL-AQ01"].append((t, 10 + (i * 7) % 40 + 0.25))
        out["GL-AQ02"].append((t, 5 + (i * 11) % 90 + 0.5))
        out["GL-AQ03"].append((t + 7000, 20 + (i * 5) % 60 + 0.75))
    return out


class MergedGroupTest(IocdTestCase):
    def publish(self, data):
        for s, rows in data.items():
            self.broker.publish("pleiku/air/%s/data" % s, [msg(s, t, v) for t, v in rows])
            # The reference: the same values 1..3 ms later (distinct times, same windows).
            k = STATIONS.index(s) + 1
            self.broker.publish("pleiku/ref/REF/data", [msg("REF", t + k, v) for t, v in rows])

    def check_exact(self, d, expect_per_station):
        """The group's windows against its members' (and the reference's),
        at every resolution; the totals against what was published."""
        for res in ("1m", "1h", "1d"):
            group = {w["start"]: w for w in windows(d, "air/city/pm25", res)}
            ref = {w["start"]: w for w in windows(d, "ref/REF/pm25", res)}
            members = [{w["start"]: w for w in windows(d, "air/%s/pm25" % s, res)}
                       for s in STATIONS]
            starts = set().union(*[m.keys() for m in members])
            self.assertEqual(set(group), starts, res)
            self.assertEqual(set(ref), starts, res)
            for st in starts:
                ms = [m[st] for m in members if st in m]
                g = group[st]
                self.assertEqual(g["count"], sum(w["count"] for w in ms), (res, st))
                self.assertEqual(g["sum"], sum(w["sum"] for w in ms), (res, st))
                self.assertEqual(g["min"], min(w["min"] for w in ms), (res, st))
                self.assertEqual(g["max"], max(w["max"] for w in ms), (res, st))
                self.assertEqual(g["mean"], g["sum"] / g["count"], (res, st))
                # The same samples as the reference's: every statistic equal,
                # the quantiles from the sketch and the stddev from sumsq included.
                qkeys = [k for k in g if k.startswith("p") and k[1:].isdigit()]
                self.assertEqual(len(qkeys), len(QUANTILES), g)
                for key in g:
                    if key in ("series", "first_time", "last_time"):
                        continue
                    self.assertEqual(g[key], ref[st][key], (res, st, key))
                for key in qkeys:
                    self.assertIsNotNone(g[key], (res, st, key))
        total = sum(w["count"] for w in windows(d, "air/city/pm25", "1d"))
        self.assertEqual(total, 3 * expect_per_station)
        # The raw samples of the group series: every member sample once.
        raw = d.ctl("raw", "air/city/pm25", "--from", "2026-11-21T00:00:00Z", "--limit",
                    "100000", "--json").stdout
        got = sorted((r["time"], r["value"]) for r in map(json.loads, raw.splitlines()) if r)
        self.assertEqual(len(got), total)

    def test_merged_windows_are_exactly_the_members_samples(self):
        d = self.iocd(ADAPTERS).start()
        first = samples(0, 40)
        self.publish(first)
        # A redelivered (or repeated) member sample: same series and time,
        # another value; dropped as a duplicate before it reaches the group.
        t, _ = first["GL-AQ01"][5]
        self.broker.publish("pleiku/air/GL-AQ01/data", [msg("GL-AQ01", t, 999.0)])
        d.wait_messages("air", 121)
        d.wait_messages("ref", 120)
        wait_until(lambda: d.counter("air", "reject.duplicate") == 1, what="the duplicate")
        wait_until(lambda: sum(w["count"] for w in windows(d, "air/city/pm25", "1d")) == 120,
                   what="the group's windows")
        self.check_exact(d, 40)
        group_max = max(w["max"] for w in windows(d, "air/city/pm25", "1d"))
        self.assertLess(group_max, 999.0)
        # The group series is listed, queryable over HTTP like any other.
        self.assertIn("air/city/pm25", d.series())
        st, body = d.api("/api/v1/windows?series=air/city/pm25&resolution=1h"
                         "&from=2026-11-21T00:00:00Z&to=2026-11-24T00:00:00Z")
        self.assertEqual(st, 200, body)
        self.assertEqual(sum(w["count"] for w in body["windows"]), 120)

        # SIGTERM restart: the broker redelivers nothing twice, the stored
        # windows continue.
        d.restart()
        self.publish(samples(40, 20))
        d.wait_messages("air", 121 + 60)
        wait_until(lambda: sum(w["count"] for w in windows(d, "air/city/pm25", "1d")) == 180,
                   what="the group's windows after a restart")
        self.check_exact(d, 60)

    def test_sigkill_replays_group_samples_once(self):
        # A minute apart, over 1,000 windows written 100 per flush: most of them
        # are only in the journal when iocd is killed (the samples' journal
        # entry is committed with the counters waited for), and the start
        # replays them, the group's with its members'.
        d = self.iocd(ADAPTERS, flush="500ms",
                      store="retention = 1m:forever 1h:forever 1d:forever\n"
                            "max_windows_per_flush = 100\n").start()
        self.publish(samples(0, 200, 61000))
        d.wait_messages("air", 600)
        d.wait_messages("ref", 600)
        d.stop(signal.SIGKILL)
        d.start()
        self.assertIn("replayed", d.log_text())
        self.publish(samples(200, 50, 61000))
        d.wait_messages("air", 750)
        d.wait_messages("ref", 750)
        self.assertEqual(d.stop(), 0)  # SIGTERM: every window written
        d.start()
        self.check_exact(d, 250)


GAUGE_ADAPTERS = """[adapter lot]
topic = pleiku/lot/+/data
format = json
device = $.id
time = $.t
time_format = ms
metric.free = $.free 1
"""
STATS = ["sum", "mean", "min", "max", "count"]
for _s in STATS:
    GAUGE_ADAPTERS += """
[group free_%s]
kind = gauge
members = lot/+/free
series = lot/city/free_%s
stat = %s
interval = 1s
stale = 5s
""" % (_s, _s, _s)


def stat(name, values):
    return {"sum": sum(values), "mean": sum(values) / len(values), "min": min(values),
            "max": max(values), "count": float(len(values))}[name]


class GaugeGroupTest(IocdTestCase):
    def test_gauge_values_exact_with_a_member_going_stale(self):
        d = self.iocd(GAUGE_ADAPTERS).start()
        latest = {}  # lot -> (t, value), as published
        phases = []  # (ingested at, next publish at, snapshot of latest)

        def step(values):
            now = int(time.time() * 1000)
            for lot, v in values.items():
                self.broker.publish("pleiku/lot/%s/data" % lot,
                                    [json.dumps({"id": lot, "t": now, "free": v})])
                latest[lot] = (now, v)
            n = sum(1 for _ in values)
            step.sent += n
            d.wait_messages("lot", step.sent)
            return int(time.time() * 1000)

        step.sent = 0
        w1 = step({"P1": 10.0, "P2": 20.0, "P3": 33.0})
        snap1 = dict(latest)
        time.sleep(3.0)
        p2 = int(time.time() * 1000)
        w2 = step({"P1": 15.0, "P2": 26.0})  # P3 says nothing more: stale 5 s after it spoke
        snap2 = dict(latest)
        time.sleep(7.0)
        end = int(time.time() * 1000)
        phases = [(w1, p2, snap1), (w2, end, snap2)]
        d.stop()
        fresh_counts = set()
        for s in STATS:
            raw = d.ctl("raw", "lot/city/free_%s" % s, "--from", "-1h", "--limit", "1000",
                        "--json").stdout
            rows = [json.loads(l) for l in raw.splitlines() if l.strip()]
            self.assertTrue(rows, s)
            checked = 0
            for r in rows:
                t = iso_ms(r["time"])
                self.assertEqual(t % 1000, 0, r)  # at the interval boundaries
                for start, stop, snap in phases:
                    # Only boundaries after the step was stored and well
                    # before the next one was published.
                    if not (start <= t < stop - 500):
                        continue
                    fresh = [v for (ts, v) in snap.values() if ts > t - 5000]
                    self.assertEqual(r["value"], stat(s, fresh), (s, r, snap))
                    fresh_counts.add(len(fresh))
                    checked += 1
            self.assertGreaterEqual(checked, 5, (s, rows))
        # Seen: all three, the new values with P3 still fresh, and P3 stale.
        self.assertEqual(fresh_counts, {2, 3})


ALERT_ADAPTERS = ADAPTERS + """
[alert city_pm25_high]
type = threshold
match = air/city/+
above = 100
severity = major
"""


class GroupAlertTest(IocdTestCase):
    def test_alert_rule_on_a_group_series_raises(self):
        d = self.iocd(ALERT_ADAPTERS).start()
        now = int(time.time() * 1000)
        self.broker.publish("pleiku/air/GL-AQ01/data", [msg("GL-AQ01", now, 20.0)])
        self.broker.publish("pleiku/air/GL-AQ02/data", [msg("GL-AQ02", now + 1, 150.0)])

        def active():
            return [a for a in d.api("/api/v1/alerts")[1]["active"]
                    if a.get("rule") == "city_pm25_high"]
        [a] = wait_until(active, what="the group alert")
        self.assertEqual(a["series"], "air/city/pm25")
        # Not a device: the group series adds nothing to the device table.
        st, body = d.api("/api/v1/devices")
        self.assertEqual(st, 200)
        names = json.dumps(body)
        self.assertNotIn('"city"', names)

    def test_reload_refuses_a_changed_group(self):
        d = self.iocd(ADAPTERS).start()
        with open(d.conf) as f:
            good = f.read()
        with open(d.conf, "w") as f:
            f.write(good.replace("members = air/+/pm25", "members = air/GL-AQ01/pm25"))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload: refused" in d.log_text(), what="the refusal")
        self.assertIn("reload: refused: [group city_pm25] changes only with a restart; still "
                      "running on the previous configuration", d.log_text())
        # Still the old membership: GL-AQ02 counts in the group.
        now = int(time.time() * 1000)
        self.broker.publish("pleiku/air/GL-AQ02/data", [msg("GL-AQ02", now, 4.5)])
        wait_until(lambda: [r for r in d.ctl("raw", "air/city/pm25", "--from", "-1h",
                                             "--json").stdout.splitlines() if r],
                   what="the group sample")
        self.assertTrue(d.alive())


WARD_REGISTRY = """source,device,name,lat,lon,area,subsystem,tags
air,GL-AQ01,Trạm Hội Thương,13.98,108.00,Hội Thương,air,school
air,GL-AQ02,Trạm Hội Thương 2,13.97,108.01,Hội Thương,air,
air,GL-AQ03,Trạm Ia Kring,13.96,107.99,Ia Kring,air,school;fixed
lot,P1,Bãi xe 1,13.97,108.00,Diên Hồng,parking,
"""
WARD_GROUPS = ADAPTERS.replace("[group city_pm25]", """[devices]
registry = reg.csv

[group hoi_thuong]
kind = merged
members = air/+/pm25
where = area=Hội Thương
series = air/hoi thuong/pm25

[group schools]
kind = merged
members = air/+/pm25
where = tag=school
series = air/schools/pm25

[group wards]
kind = merged
members = air/+/pm25
series = air/ward:{area}/pm25

[group ward_gauge]
kind = gauge
members = air/+/pm25
where = subsystem=air
series = air/gauge:{ward}/pm25
stat = count
interval = 1s

[group city_pm25]""")


class WardGroupTest(IocdTestCase):
    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w", encoding="utf-8") as f:
            f.write(text)

    def raw(self, d, series):
        out = d.ctl("raw", series, "--from", "2026-11-21T00:00:00Z", "--limit", "100000",
                    "--json").stdout
        return sorted((r["time"], r["value"]) for r in map(json.loads, out.splitlines()) if r)

    def test_where_and_one_group_per_ward_exact(self):
        self.write("reg.csv", WARD_REGISTRY)
        d = self.iocd(WARD_GROUPS).start()
        data = samples(0, 30)
        # GL-AQ04: not in the registry, so in no ward, tag or subsystem.
        data["GL-AQ04"] = [(t + 3000, 500.0 + i) for i, (t, _) in enumerate(data["GL-AQ01"])]
        for s, rows in data.items():
            self.broker.publish("pleiku/air/%s/data" % s, [msg(s, t, v) for t, v in rows])
        d.wait_messages("air", 120)
        expect = {
            "air/hoi thuong/pm25": ["GL-AQ01", "GL-AQ02"],
            "air/ward:Hội Thương/pm25": ["GL-AQ01", "GL-AQ02"],
            "air/ward:Ia Kring/pm25": ["GL-AQ03"],
            "air/schools/pm25": ["GL-AQ01", "GL-AQ03"],
            "air/city/pm25": ["GL-AQ01", "GL-AQ02", "GL-AQ03", "GL-AQ04"],
        }
        for series, members in expect.items():
            want = sorted(r for m in members for r in self.raw(d, "air/%s/pm25" % m))
            self.assertEqual(len(want), 30 * len(members))
            wait_until(lambda: len(self.raw(d, series)) == len(want), what=series)
            self.assertEqual(self.raw(d, series), want, series)
            # The 1-day window: the members' windows merged, exactly.
            [g] = windows(d, series, "1d")
            ms = [w for m in members for w in windows(d, "air/%s/pm25" % m, "1d")]
            self.assertEqual(g["count"], sum(w["count"] for w in ms), series)
            self.assertEqual(g["sum"], sum(w["sum"] for w in ms), series)
            self.assertEqual(g["max"], max(w["max"] for w in ms), series)
        # One series per area of the registry with a member sample (Diên
        # Hồng has only a car park: its group has no sample, so no series
        # yet); none for unregistered devices.
        names = d.series()
        wards = sorted(n for n in names if n.startswith("air/ward:"))
        self.assertEqual(wards, ["air/ward:Hội Thương/pm25", "air/ward:Ia Kring/pm25"])
        # The gauge per ward (where = subsystem=air, {ward}): live samples
        # count the fresh registered members of the ward.
        now = int(time.time() * 1000)
        for s in ("GL-AQ01", "GL-AQ02", "GL-AQ03", "GL-AQ04"):
            self.broker.publish("pleiku/air/%s/data" % s, [msg(s, now, 7.0)])
        d.wait_messages("air", 124)
        wait_until(lambda: {"air/gauge:Hội Thương/pm25", "air/gauge:Ia Kring/pm25"}
                   <= set(d.series()), what="the ward gauges")
        time.sleep(3.5)  # past `stale` (2 x 1s): the last boundary with them fresh is emitted
        # (a boundary between the two messages may count one of them)
        self.assertEqual(self.raw(d, "air/gauge:Hội Thương/pm25")[-1][1], 2.0)
        self.assertEqual({v for _, v in self.raw(d, "air/gauge:Hội Thương/pm25")} - {1.0}, {2.0})
        self.assertEqual({v for _, v in self.raw(d, "air/gauge:Ia Kring/pm25")}, {1.0})
        self.assertNotIn("air/gauge:Diên Hồng/pm25", d.series())
        # The API's latest value of every ward's series.
        st, body = d.api("/api/v1/latest?match=air/ward:%2B/pm25")
        self.assertEqual(st, 200, body)

        # A reload that moves a device to another ward is refused (restart
        # only), one that renames it is accepted.
        self.write("reg.csv", WARD_REGISTRY.replace("Hội Thương 2,13.97,108.01,Hội Thương",
                                                    "Hội Thương 2,13.97,108.01,Ia Kring"))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload: refused" in d.log_text(), what="the refusal")
        self.assertIn("reload: refused: [devices] registry: the area/subsystem/tags of "
                      "air/GL-AQ02 ([group hoi_thuong] selects members by them) changes only "
                      "with a restart; still running on the previous configuration",
                      d.log_text())
        # Still the old membership: GL-AQ02 counts in Hội Thương.
        n = len(self.raw(d, "air/ward:Hội Thương/pm25"))
        self.broker.publish("pleiku/air/GL-AQ02/data", [msg("GL-AQ02", now + 5, 8.0)])
        wait_until(lambda: len(self.raw(d, "air/ward:Hội Thương/pm25")) == n + 1,
                   what="GL-AQ02 still in Hội Thương")
        self.assertEqual(self.raw(d, "air/ward:Ia Kring/pm25")[-1][1], 7.0)
        self.write("reg.csv", WARD_REGISTRY.replace("Trạm Hội Thương 2", "Trạm Hội Thương B"))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload: device registry" in d.log_text(), what="the reload")
        self.assertTrue(d.alive())

    def test_where_and_area_refused_without_registry(self):
        cases = [
            ("[group g]\nkind = merged\nmembers = air/+/pm25\nwhere = area=Ia Kring\n"
             "series = air/x/pm25\n", "where = area=Ia Kring",
             "[group g] where: selecting members by area needs the device registry "
             "([devices] registry = FILE)"),
            ("[group g]\nkind = merged\nmembers = air/+/pm25\nseries = air/w:{area}/pm25\n",
             "series = air/w:{area}/pm25",
             "[group g] series: {area} makes one group per area of the device registry, and "
             "there is none ([devices] registry = FILE)"),
            ("[group g]\nkind = merged\nmembers = air/+/pm25\nwhere = colour=red\n"
             "series = air/x/pm25\n", "where = colour=red",
             "[group g] where: 'colour=red' is not FIELD=VALUE with FIELD area, ward, "
             "subsystem or tag"),
        ]
        for extra, key, why in cases:
            with self.subTest(why=why):
                d = self.iocd(ADAPTERS + "\n" + extra)
                with open(d.conf) as f:
                    line = f.read().splitlines().index(key) + 1
                r = subprocess.run([IOCD, "--check-config", "--config", d.conf],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stderr, "iocd: %s:%d: %s\n" % (d.conf, line, why))
        # A ward name too long for a series id: refused at the section.
        self.write("reg.csv", WARD_REGISTRY + "air,X9,,,,%s,air,\n" % ("W" * 127))
        d = self.iocd(ADAPTERS + "\n[devices]\nregistry = reg.csv\n[group g]\nkind = merged\n"
                      "members = air/+/pm25\nseries = air/w:{area}/pm25\n")
        with open(d.conf) as f:
            line = f.read().splitlines().index("[group g]") + 1
        r = subprocess.run([IOCD, "--check-config", "--config", d.conf], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "iocd: %s:%d: [group g] series: for area '%s', 'air/w:%s/pm25' "
                         "is not SOURCE/DEVICE/METRIC (each id 1 to 128 bytes)\n"
                         % (d.conf, line, "W" * 127, "W" * 127))


if __name__ == "__main__":
    unittest.main(verbosity=2)
