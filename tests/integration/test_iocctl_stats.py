"""`iocctl query` quantiles, `query --rolling` and `raw`, end to end: known
samples go through a real broker into a real iocd, and come back out of
iocctl exactly (count, sum, min, max, mean, first, last, raw times and
values) or within the sketch's documented 1 % bound (quantiles, against the
exact quantiles at rank floor(q * (n - 1)), the same convention). Then the
database is damaged on purpose to check the error paths."""
import datetime
import json
import math
import os
import random
import sqlite3
import struct
import subprocess
import unittest

from iocdtest import AIR_ADAPTER, IOCCTL, Iocd, IocdTestCase, air

TOPIC = "pleiku/air/ST1/data"
SERIES = "air/ST1/pm25"
ALPHA = 0.01


def ms(iso):
    """'2026-11-20T10:00:00.250Z' -> epoch ms."""
    t = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return int(t.timestamp() * 1000 + 0.5)


def iso(t_ms):
    """epoch ms -> iocctl's time format (ms only when nonzero)."""
    t = datetime.datetime.fromtimestamp(t_ms // 1000, datetime.timezone.utc)
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    return s + (".%03dZ" % (t_ms % 1000) if t_ms % 1000 else "Z")


def num(v):
    """A double as iocctl writes it in JSON (these values need no %.17g)."""
    return "%.15g" % v


T0 = ms("2026-11-20T10:00:00Z")
# 1..100 within one minute, every 0.5 s.
UNIFORM = [(T0 + 500 * i, float(i + 1)) for i in range(100)]
# A skewed minute: a zero, many small values and a long tail (all exact
# in binary, so every sum is exact whatever the order of additions).
SKEW_VALUES = ([0.0] + [1.0] * 30 + [2.0] * 10 + [3.5] * 5 +
               [10.25, 20.5, 41.0, 82.0, 164.0, 328.0, 656.0, 1312.0, 2624.0, 5248.0])
SKEW = [(ms("2026-11-20T10:01:00Z") + 1000 * k, v) for k, v in enumerate(SKEW_VALUES)]
OTHER = [
    (ms("2026-11-20T08:10:00Z"), 4.0),
    (ms("2026-11-20T08:50:30.250Z"), 6.5),
    (ms("2026-11-20T11:05:00Z"), 12.0),
    (ms("2026-11-20T11:59:59.999Z"), 0.5),
    (ms("2026-11-20T16:00:00Z"), 7.0),
    (ms("2026-11-20T16:30:00Z"), 9.0),
]
SAMPLES = sorted(UNIFORM + SKEW + OTHER)

QUANTILE_KEYS = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def exact_quantile(values, q):
    v = sorted(values)
    return v[int(math.floor(q * (len(v) - 1)))]


def stats_of(samples):
    vals = [v for _, v in samples]
    n = len(vals)
    first = min(samples, key=lambda s: s[0])
    last = max(samples, key=lambda s: s[0])
    return {"count": n, "sum": sum(vals), "min": min(vals), "max": max(vals),
            "mean": sum(vals) / n, "first": first[1], "first_time": iso(first[0]),
            "last": last[1], "last_time": iso(last[0])}


class IocctlStatsTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.iocd(AIR_ADAPTER, store=Iocd.KEEP_ALL + "timezone = +07:00\n").start()
        shuffled = list(SAMPLES)
        random.Random(7).shuffle(shuffled)  # out of order on purpose
        self.broker.publish(TOPIC, [air("ST1", iso(t), v) for t, v in shuffled])
        self.d.wait_messages("air", len(SAMPLES))

    def ctl(self, *args, env=None):
        r = subprocess.run([IOCCTL, "--db", self.d.db] + list(args), capture_output=True,
                           text=True, timeout=60,
                           env=dict(os.environ, **env) if env else None)
        return r.returncode, r.stdout, r.stderr

    def json_lines(self, *args, env=None):
        rc, out, err = self.ctl(*args, "--json", env=env)
        self.assertEqual((rc, err), (0, ""), args)
        return [json.loads(l) for l in out.splitlines()]

    def assert_quantiles(self, row, values, extra=()):
        for key, q in list(QUANTILE_KEYS.items()) + [("q%g" % q, q) for q in extra]:
            x = exact_quantile(values, q)
            self.assertIsNotNone(row[key], key)
            self.assertLessEqual(abs(row[key] - x), ALPHA * abs(x) * (1 + 1e-12),
                                 "%s: %r vs exact %r" % (key, row[key], x))
            self.assertGreaterEqual(row[key], min(values))
            self.assertLessEqual(row[key], max(values))

    # --- query: quantiles of stored windows ---

    def test_query_quantiles(self):
        rows = self.json_lines("query", SERIES, "--resolution", "1m", "--quantile", "0.999",
                               "--quantile", "0.25", "--quantile", "0", "--quantile", "1",
                               "--quantile", "0.2500", "--from", "2026-11-20T10:00:00Z",
                               "--to", "2026-11-20T10:02:00Z")
        self.assertEqual([r["start"] for r in rows],
                         ["2026-11-20T10:00:00Z", "2026-11-20T10:01:00Z"])
        self.assertEqual(list(rows[0]), [
            "series", "resolution_s", "start", "end", "count", "sum", "min", "max", "mean",
            "stddev", "p50", "p90", "p95", "p99", "q0.999", "q0.25", "q0", "q1", "first",
            "first_time", "last", "last_time", "unit"])
        for row, data in zip(rows, [UNIFORM, SKEW]):
            values = [v for _, v in data]
            want = stats_of(data)
            self.assertEqual({k: row[k] for k in want}, want)
            self.assert_quantiles(row, values, extra=(0.999, 0.25))
            self.assertEqual((row["q0"], row["q1"]), (min(values), max(values)))
        # 1..100: rank floor(0.5 * 99) = 49 is the value 50, and so on.
        self.assertEqual([exact_quantile(range(1, 101), q) for q in (0.5, 0.9, 0.95, 0.99)],
                         [50, 90, 95, 99])

        # The hour holds both minutes: its own sketch, not a merge done here.
        hour = self.json_lines("query", SERIES, "--resolution", "1h",
                               "--from", "2026-11-20T10:00:00Z", "--to", "2026-11-20T10:00:01Z")
        self.assertEqual(len(hour), 1)
        self.assertEqual(hour[0]["count"], len(UNIFORM) + len(SKEW))
        self.assert_quantiles(hour[0], [v for _, v in UNIFORM + SKEW])

        # Text: P50 P95 P99 after the existing columns, --quantile as Q columns.
        rc, out, err = self.ctl("query", SERIES, "--resolution", "1m", "--from",
                                "2026-11-20T10:00:00Z", "--to", "2026-11-20T10:01:00Z")
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["START", "COUNT", "MIN", "MAX", "MEAN", "LAST",
                                            "P50", "P95", "P99"])
        cells = lines[1].split()
        self.assertEqual(cells[:6], ["2026-11-20T10:00:00Z", "100", "1", "100", "50.5", "100"])
        for cell, x in zip(cells[6:], (50, 95, 99)):
            self.assertLessEqual(abs(float(cell) - x), ALPHA * x * 1.001)
        rc, out, err = self.ctl("query", SERIES, "--quantile", "0.999", "--to", "2026-11-20T09:00Z")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines()[0].split()[-4:], ["P50", "P95", "P99", "Q0.999"])

    # --- query --rolling ---

    def rolling_expected(self, rolling_ms, ends):
        want = []
        for e in ends:
            inside = [s for s in SAMPLES if e - rolling_ms <= s[0] < e]
            if inside:
                want.append((e, inside))
        return want

    def check_rolling(self, rows, rolling_ms, step_ms, res_s, ends):
        want = self.rolling_expected(rolling_ms, ends)
        self.assertEqual([r["end"] for r in rows], [iso(e) for e, _ in want])
        for row, (e, inside) in zip(rows, want):
            exp = stats_of(inside)
            self.assertEqual(
                {k: row[k] for k in ("series", "rolling_s", "step_s", "resolution_s", "start",
                                     "end")},
                {"series": SERIES, "rolling_s": rolling_ms // 1000, "step_s": step_ms // 1000,
                 "resolution_s": res_s, "start": iso(e - rolling_ms), "end": iso(e)})
            self.assertEqual({k: row[k] for k in exp}, exp, row["end"])
            vals = [v for _, v in inside]
            var = sum(v * v for v in vals) / len(vals) - exp["mean"] ** 2
            self.assertAlmostEqual(row["stddev"], math.sqrt(max(0.0, var)), delta=1e-9 * exp["max"])
            self.assert_quantiles(row, vals)
            self.assertEqual(row["unit"], "ug/m3")

    def test_rolling_exact(self):
        H = 3600000
        args = ("query", SERIES, "--rolling", "2h", "--step", "1h",
                "--from", "2026-11-20T09:00:00Z", "--to", "2026-11-20T18:00:00Z")
        rows = self.json_lines(*args)
        ends = [ms("2026-11-20T09:00:00Z") + k * H for k in range(10)]
        # Hand-computed: [07,09) and [08,10) hold the 08:xx samples, [09,11)
        # the two minutes at 10:00, [10,12) those and 11:xx, [11,13) 11:xx;
        # [12,14) [13,15) [14,16) are empty and skipped; [15,17) [16,18) 16:xx.
        self.assertEqual([(r["end"][11:16], r["count"], r["sum"]) for r in rows], [
            ("09:00", 2, 10.5), ("10:00", 2, 10.5),
            ("11:00", 156, 5050 + sum(SKEW_VALUES)),
            ("12:00", 158, 5050 + sum(SKEW_VALUES) + 12.5), ("13:00", 2, 12.5),
            ("17:00", 2, 16.0), ("18:00", 2, 16.0)])
        self.check_rolling(rows, 2 * H, H, 3600, ends)
        self.assertEqual(list(rows[0])[:12], ["series", "rolling_s", "step_s", "resolution_s",
                                              "start", "end", "count", "sum", "min", "max",
                                              "mean", "stddev"])
        self.assertEqual(list(rows[0])[12:], ["p50", "p90", "p95", "p99", "first", "first_time",
                                              "last", "last_time", "unit"])

        # The same windows merged from the 1-minute windows: the same numbers.
        rows_1m = self.json_lines(*args, "--resolution", "1m")
        self.check_rolling(rows_1m, 2 * H, H, 60, ends)
        strip = lambda r: {k: v for k, v in r.items()
                           if k not in ("resolution_s", "p50", "p90", "p95", "p99", "stddev")}
        self.assertEqual([strip(r) for r in rows_1m], [strip(r) for r in rows])

        # 90 min every 30 min: only 1m divides both.
        rows = self.json_lines("query", SERIES, "--rolling", "90m", "--step", "30m",
                               "--from", "2026-11-20T08:00:00Z", "--to", "2026-11-20T12:30:00Z",
                               "--quantile", "0.999")
        ends = [ms("2026-11-20T08:00:00Z") + k * H // 2 for k in range(10)]
        self.check_rolling(rows, 90 * 60000, 30 * 60000, 60, ends)
        self.assertIn("q0.999", rows[0])

        # Whole days start at local midnight (timezone +07:00): 17:00Z.
        rows = self.json_lines("query", SERIES, "--rolling", "1d", "--step", "1d",
                               "--from", "2026-11-19T00:00:00Z", "--to", "2026-11-21T00:00:00Z")
        self.check_rolling(rows, 86400000, 86400000, 86400,
                           [ms("2026-11-19T17:00:00Z"), ms("2026-11-20T17:00:00Z")])
        self.assertEqual([(r["start"], r["end"], r["count"]) for r in rows],
                         [("2026-11-19T17:00:00Z", "2026-11-20T17:00:00Z", len(SAMPLES))])

        # Defaults: --to is now rounded up to a step, --from 24 h before it.
        clock = {"IOCD_FAKE_NOW_MS": str(ms("2026-11-20T16:30:00Z"))}
        rows = self.json_lines("query", SERIES, "--rolling", "2h", "--step", "1h", env=clock)
        self.assertEqual([r["end"][11:16] for r in rows],
                         ["09:00", "10:00", "11:00", "12:00", "13:00", "17:00"])
        clock = {"IOCD_FAKE_NOW_MS": str(ms("2026-11-21T10:00:00Z"))}
        rows = self.json_lines("query", SERIES, "--rolling", "2h", "--step", "1h", env=clock)
        self.assertEqual([r["end"] for r in rows], ["2026-11-20T11:00:00Z",
                                                    "2026-11-20T12:00:00Z",
                                                    "2026-11-20T13:00:00Z",
                                                    "2026-11-20T17:00:00Z",
                                                    "2026-11-20T18:00:00Z"])

        # Text table.
        rc, out, err = self.ctl("query", SERIES, "--rolling", "2h", "--step", "1h",
                                "--from", "2026-11-20T09:00:00Z", "--to", "2026-11-20T10:00:00Z")
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["START", "END", "COUNT", "MIN", "MAX", "MEAN", "LAST",
                                            "P50", "P95", "P99"])
        self.assertEqual([l.split()[:7] for l in lines[1:]], [
            ["2026-11-20T07:00:00Z", "2026-11-20T09:00:00Z", "2", "4", "6.5", "5.25", "6.5"],
            ["2026-11-20T08:00:00Z", "2026-11-20T10:00:00Z", "2", "4", "6.5", "5.25", "6.5"]])

        # Nothing in range: empty, exit 0.
        self.assertEqual(self.json_lines("query", SERIES, "--rolling", "2h", "--step", "1h",
                                         "--from", "2026-11-21T00:00:00Z",
                                         "--to", "2026-11-22T00:00:00Z"), [])

    # --- raw ---

    def test_raw_exact(self):
        rc, out, err = self.ctl("raw", SERIES, "--json")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            '{"series":"%s","time":"%s","value":%s}' % (SERIES, iso(t), num(v))
            for t, v in SAMPLES])
        # [from, to) on observation time, then --limit: the earliest N.
        rows = self.json_lines("raw", SERIES, "--from", "2026-11-20T10:00:00.500Z",
                               "--to", "2026-11-20T10:00:02Z")
        self.assertEqual([(r["time"], r["value"]) for r in rows],
                         [("2026-11-20T10:00:00.500Z", 2), ("2026-11-20T10:00:01Z", 3),
                          ("2026-11-20T10:00:01.500Z", 4)])
        rows = self.json_lines("raw", SERIES, "--from", "2026-11-20T10:00:00Z", "--limit", "2")
        self.assertEqual([r["value"] for r in rows], [1, 2])
        rc, out, err = self.ctl("raw", SERIES, "--from", "2026-11-20T11:00:00Z",
                                "--to", "2026-11-20T12:00:00Z")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "TIME                      VALUE\n"
                              "2026-11-20T11:05:00Z         12\n"
                              "2026-11-20T11:59:59.999Z    0.5\n")
        # A duplicate (same series and time) is rejected by iocd: not in the journal.
        self.broker.publish(TOPIC, [air("ST1", iso(UNIFORM[0][0]), 999.0)])
        self.d.wait_messages("air", len(SAMPLES) + 1)
        self.assertEqual(self.d.counter("air", "reject.duplicate"), 1)
        rows = self.json_lines("raw", SERIES, "--to", "2026-11-20T10:00:00.500Z")
        self.assertEqual([(r["time"], r["value"]) for r in rows],
                         [("2026-11-20T08:10:00Z", 4), ("2026-11-20T08:50:30.250Z", 6.5),
                          ("2026-11-20T10:00:00Z", 1)])
        # Nothing in range: the header alone, or nothing; an unknown series is an error.
        self.assertEqual(self.ctl("raw", SERIES, "--from", "2026-11-21T00:00:00Z"),
                         (0, "TIME  VALUE\n", ""))
        self.assertEqual(self.json_lines("raw", SERIES, "--to", "2026-11-20T00:00:00Z"), [])
        rc, out, err = self.ctl("raw", "air/nope/pm25")
        self.assertEqual((rc, out, err), (1, "", "iocctl: no such series: air/nope/pm25\n"))

    # --- damaged and pre-v2 data, usage errors ---

    def test_errors_and_damage(self):
        rc, out, err = self.ctl("query", SERIES, "--rolling", "2h", "--step", "1h",
                                "--resolution", "5m")
        self.assertEqual((rc, out, err),
                         (1, "", "iocctl: series air/ST1/pm25 has no 5m windows; stored "
                                 "resolutions: 1m, 1h, 1d\n"))
        rc, out, err = self.ctl("query", SERIES, "--rolling", "90s", "--step", "1m")
        self.assertEqual((rc, out, err),
                         (1, "", "iocctl: series air/ST1/pm25 has no stored resolution that "
                                 "divides --rolling 90s and --step 1m; stored resolutions: "
                                 "1m, 1h, 1d\n"))
        rc, out, err = self.ctl("query", "air/nope/pm25", "--rolling", "2h", "--step", "1h")
        self.assertEqual((rc, out, err), (1, "", "iocctl: no such series: air/nope/pm25\n"))
        usage = [
            (["query", SERIES, "--rolling", "2h", "--step", "1h", "--resolution", "7m"],
             "iocctl: --rolling 2h and --step 1h must be whole multiples of --resolution 7m"),
            (["query", SERIES, "--rolling", "2h", "--step", "90s", "--resolution", "1m"],
             "iocctl: --rolling 2h and --step 90s must be whole multiples of --resolution 1m"),
            (["query", SERIES, "--rolling", "2h"], "iocctl: --rolling needs --step"),
            (["query", SERIES, "--step", "1h"], "iocctl: --step needs --rolling"),
            (["query", SERIES, "--rolling", "1500ms", "--step", "1h"],
             "iocctl: bad --rolling '1500ms' (expected whole seconds: 2h, 24h, 7d)"),
            (["query", SERIES, "--rolling", "2h", "--step", "0"],
             "iocctl: bad --step '0' (expected whole seconds: 1m, 1h, 1d)"),
            (["query", SERIES, "--quantile", "1.5"],
             "iocctl: bad --quantile '1.5' (expected a number from 0 to 1)"),
            (["query", SERIES, "--quantile", "p99"],
             "iocctl: bad --quantile 'p99' (expected a number from 0 to 1)"),
            (["query", SERIES, "--limit", "5"], "iocctl: option --limit does not apply to 'query'"),
            (["raw", SERIES, "--rolling", "2h"], "iocctl: option --rolling does not apply to 'raw'"),
            (["raw", SERIES, "--quantile", "0.5"],
             "iocctl: option --quantile does not apply to 'raw'"),
            (["raw", SERIES, "--resolution", "1m"],
             "iocctl: option --resolution does not apply to 'raw'"),
            (["raw", SERIES, "--limit", "-1"],
             "iocctl: bad --limit '-1' (expected a whole number, 0 for no limit)"),
            (["raw"], "iocctl: raw needs a SERIES name"),
            (["events", "--step", "1h"], "iocctl: option --step does not apply to 'events'"),
        ]
        for args, msg in usage:
            rc, out, err = self.ctl(*args)
            self.assertEqual((rc, out, err.split("\n\n")[0]), (2, "", msg), args)

        self.assertEqual(self.d.stop(), 0)
        con = sqlite3.connect(self.d.db)
        sid = con.execute("SELECT id FROM series WHERE name = ?", (SERIES,)).fetchone()[0]
        other = con.execute("SELECT id FROM series WHERE name = 'air/ST1/temperature'").fetchone()
        other = other[0] if other else sid + 1000

        # Windows stored before schema version 2 have no sketch: null quantiles,
        # and a rolling window over one has null quantiles too.
        con.execute("UPDATE windows SET sketch = NULL WHERE series_id = ? AND res_s = 3600 AND "
                    "start_ms = ?", (sid, ms("2026-11-20T08:00:00Z")))
        # A sketch that misses samples (a pre-v2 window continued under v2).
        one = con.execute("SELECT sketch FROM windows WHERE series_id = ? AND res_s = 60 AND "
                          "start_ms = ?", (sid, ms("2026-11-20T16:00:00Z"))).fetchone()[0]
        con.execute("UPDATE windows SET sketch = ? WHERE series_id = ? AND res_s = 3600 AND "
                    "start_ms = ?", (one, sid, ms("2026-11-20T16:00:00Z")))
        # Journal: a damaged entry outside the range asked (never read), and
        # ties in time ordered by journal id, then position.
        tie = ms("2026-11-21T00:00:00Z")
        con.execute("INSERT INTO journal VALUES (900002, ?, ?, ?, 1, ?)",
                    (tie, ms("2030-01-01T00:00:00Z"), ms("2030-01-01T00:00:00Z"), b"\0" * 19))
        blob = lambda rows: b"".join(struct.pack("<Iqd", *r) for r in rows)
        con.execute("INSERT INTO journal VALUES (900001, ?, ?, ?, 3, ?)",
                    (tie, tie, tie, blob([(sid, tie, 1.25), (other, tie, 99.0), (sid, tie, 2.5)])))
        con.execute("INSERT INTO journal VALUES (900000, ?, ?, ?, 1, ?)",
                    (tie, tie, tie, blob([(sid, tie, 0.75)])))
        con.commit()

        rows = self.json_lines("query", SERIES, "--resolution", "1h")
        by_start = {r["start"][11:16]: r for r in rows}
        self.assertEqual([by_start[h]["p50"] for h in ("08:00", "16:00")], [None, None])
        self.assertEqual(by_start["08:00"]["count"], 2)
        self.assertIsNotNone(by_start["10:00"]["p50"])
        rows = self.json_lines("query", SERIES, "--rolling", "2h", "--step", "1h",
                               "--from", "2026-11-20T09:00:00Z", "--to", "2026-11-20T11:00:00Z")
        self.assertEqual([(r["count"], r["p99"] is None) for r in rows],
                         [(2, True), (2, True), (156, False)])

        rows = self.json_lines("raw", SERIES, "--from", "2026-11-20T23:00:00Z",
                               "--to", "2026-11-22T00:00:00Z")
        self.assertEqual([(r["time"], r["value"]) for r in rows],
                         [("2026-11-21T00:00:00Z", 0.75), ("2026-11-21T00:00:00Z", 1.25),
                          ("2026-11-21T00:00:00Z", 2.5)])
        rc, out, err = self.ctl("raw", SERIES, "--from", "2029-12-31T00:00:00Z")
        self.assertEqual((rc, out, err), (1, "", "iocctl: journal entry 900002 is damaged "
                                                 "(19 bytes, not a multiple of 20)\n"))

        # A damaged sketch is an error naming the window.
        con.execute("UPDATE windows SET sketch = x'0102' WHERE series_id = ? AND res_s = 3600 "
                    "AND start_ms = ?", (sid, ms("2026-11-20T11:00:00Z")))
        con.commit()
        con.close()
        msg = ("iocctl: series air/ST1/pm25: the sketch of its 1h window at "
               "2026-11-20T11:00:00Z is damaged\n")
        for args in (["query", SERIES, "--resolution", "1h"],
                     ["query", SERIES, "--resolution", "1h", "--json",
                      "--from", "2026-11-20T11:00:00Z"],
                     ["query", SERIES, "--rolling", "2h", "--step", "1h",
                      "--from", "2026-11-20T12:00:00Z", "--to", "2026-11-20T12:00:00Z"]):
            rc, out, err = self.ctl(*args)
            self.assertEqual((rc, out, err), (1, "", msg), args)


if __name__ == "__main__":
    unittest.main(verbosity=2)
