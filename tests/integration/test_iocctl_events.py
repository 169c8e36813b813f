"""`iocctl events` lists stored events newest first, filtered exactly as
asked, as an aligned table or as JSON lines; `iocctl status` groups the
note.X counters under "notes". The database is made by iocd itself (so it
has iocd's schema, version 2), then known events are written into it with
sqlite3 and read back through iocctl."""
import datetime
import json
import os
import sqlite3
import subprocess
import unittest

from iocdtest import AIR_ADAPTER, IOCCTL, IocdTestCase


def ms(iso):
    """'2026-11-22T10:00:00.250Z' -> epoch ms."""
    t = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return int(t.timestamp() * 1000 + 0.5)


LONG = "Red light at Hung Vuong / Tran Phu, " + "x" * 40   # 76 characters

# (source, kind, severity, text, device, area, status, time, received, lat, lon, attributes)
EVENTS = [
    ("citizen", "pothole", 2, "Pothole on Hung Vuong", "", "ward-1", "open",
     "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.500Z", 13.98, 108.0,
     '{"reporter":"app","photo":"p1.jpg"}'),
    ("citizen", "pothole", 3, "Big pothole\x1b[31m red", "", "ward-2", "open",
     "2026-11-22T10:01:00.250Z", "2026-11-22T10:01:01Z", None, None, "{}"),
    ("traffic", "violation", 4, LONG, "CAM-7", "ward-1", "closed",
     "2026-11-22T10:01:00.250Z", "2026-11-22T10:01:02Z", 13.9, 108.1, '{"plate":"81A-123.45"}'),
    ("flood", "alarm", 5, "Water level high", "FL-1", "ward-3", "open",
     "2026-11-22T09:58:20Z", "2026-11-22T09:58:20Z", None, None, '{"level_m":"2.5"}'),
    ("citizen", "noise", 0, "Karaoke", "", "", "",
     "2026-11-22T09:56:40Z", "2026-11-22T09:56:41Z", None, None, '{"note":"tab\\there"}'),
    ("traffic", "violation", 1, "Speeding on Đường Lê Lợi", "CAM-7", "ward-2", "closed",
     "2026-11-22T09:55:00Z", "2026-11-22T09:55:00.001Z", 14.0, 108.25, '{"street":"Lê Lợi"}'),
]

# The JSON line of each event above, by id (1-based).
JSON = {
    1: '{"id":1,"time":"2026-11-22T10:00:00Z","received":"2026-11-22T10:00:00.500Z",'
       '"source":"citizen","kind":"pothole","severity":"warning","text":"Pothole on Hung Vuong",'
       '"device":"","area":"ward-1","status":"open","case":"","location":{"lat":13.98,"lon":108},'
       '"attributes":{"reporter":"app","photo":"p1.jpg"}}',
    2: '{"id":2,"time":"2026-11-22T10:01:00.250Z","received":"2026-11-22T10:01:01Z",'
       '"source":"citizen","kind":"pothole","severity":"minor",'
       '"text":"Big pothole\\u001b[31m red","device":"","area":"ward-2","status":"open","case":"",'
       '"location":null,"attributes":{}}',
    3: '{"id":3,"time":"2026-11-22T10:01:00.250Z","received":"2026-11-22T10:01:02Z",'
       '"source":"traffic","kind":"violation","severity":"major","text":"' + LONG + '",'
       '"device":"CAM-7","area":"ward-1","status":"closed","case":"","location":{"lat":13.9,"lon":108.1},'
       '"attributes":{"plate":"81A-123.45"}}',
    4: '{"id":4,"time":"2026-11-22T09:58:20Z","received":"2026-11-22T09:58:20Z",'
       '"source":"flood","kind":"alarm","severity":"critical","text":"Water level high",'
       '"device":"FL-1","area":"ward-3","status":"open","case":"","location":null,'
       '"attributes":{"level_m":"2.5"}}',
    5: '{"id":5,"time":"2026-11-22T09:56:40Z","received":"2026-11-22T09:56:41Z",'
       '"source":"citizen","kind":"noise","severity":"unspecified","text":"Karaoke",'
       '"device":"","area":"","status":"","case":"","location":null,"attributes":{"note":"tab\\there"}}',
    6: '{"id":6,"time":"2026-11-22T09:55:00Z","received":"2026-11-22T09:55:00.001Z",'
       '"source":"traffic","kind":"violation","severity":"info",'
       '"text":"Speeding on Đường Lê Lợi","device":"CAM-7","area":"ward-2","status":"closed","case":"",'
       '"location":{"lat":14,"lon":108.25},"attributes":{"street":"Lê Lợi"}}',
}

NOW = str(ms("2026-11-22T10:05:00Z"))  # the fixed clock for relative times


class IocctlEventsTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        # iocd creates the database (schema version 2) and stops cleanly.
        self.d = self.iocd(AIR_ADAPTER).start()
        self.assertEqual(self.d.stop(), 0)
        self.db = self.d.db
        con = sqlite3.connect(self.db)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 6)
        con.executemany(
            "INSERT INTO events(source, kind, severity, text, device, area, status, time_ms,"
            " received_ms, lat, lon, attributes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [e[:7] + (ms(e[7]), ms(e[8])) + e[9:] for e in EVENTS])
        con.commit()
        con.close()

    def ctl(self, *args, env=None):
        r = subprocess.run([IOCCTL, "--db", self.db] + list(args), capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, **env) if env else None)
        return r.returncode, r.stdout, r.stderr

    def ids(self, *args, env=None):
        """Ids printed by `events --json ARGS`, checking each line is exact."""
        rc, out, err = self.ctl("events", "--json", *args, env=env)
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        ids = [json.loads(l)["id"] for l in lines]
        self.assertEqual(lines, [JSON[i] for i in ids])
        self.assertTrue(out == "" or out.endswith("\n"))
        return ids

    def test_json_all_newest_first_ties_by_id(self):
        rc, out, err = self.ctl("events", "--json")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "".join(JSON[i] + "\n" for i in [3, 2, 1, 4, 5, 6]))
        # attributes is an object, location an object or null, every line valid JSON
        first = json.loads(out.splitlines()[0])
        self.assertEqual(list(first), ["id", "time", "received", "source", "kind", "severity",
                                       "text", "device", "area", "status", "case", "location",
                                       "attributes"])
        self.assertEqual(first["attributes"], {"plate": "81A-123.45"})

    def test_text_table(self):
        rc, out, err = self.ctl("events")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            "TIME                      SOURCE   KIND       SEVERITY     AREA    DEVICE  STATUS  TEXT",
            "2026-11-22T10:01:00.250Z  traffic  violation  major        ward-1  CAM-7   closed  "
            "Red light at Hung Vuong / Tran Phu, xxxxxxxxxxxxxxxxxxxxx...",
            "2026-11-22T10:01:00.250Z  citizen  pothole    minor        ward-2  -       open    "
            "Big pothole\\x1b[31m red",
            "2026-11-22T10:00:00Z      citizen  pothole    warning      ward-1  -       open    "
            "Pothole on Hung Vuong",
            "2026-11-22T09:58:20Z      flood    alarm      critical     ward-3  FL-1    open    "
            "Water level high",
            "2026-11-22T09:56:40Z      citizen  noise      unspecified  -       -       -       "
            "Karaoke",
            "2026-11-22T09:55:00Z      traffic  violation  info         ward-2  CAM-7   closed  "
            "Speeding on Đường Lê Lợi",
        ])
        self.assertTrue(out.endswith("\n"))
        # the long text is cut to 57 characters plus "...": 60 columns
        self.assertEqual(len(out.splitlines()[1].split("closed  ")[1]), 60)

    def test_text_filtered_and_empty(self):
        rc, out, err = self.ctl("events", "--kind", "alarm")
        self.assertEqual((rc, out, err), (0,
            "TIME                  SOURCE  KIND   SEVERITY  AREA    DEVICE  STATUS  TEXT\n"
            "2026-11-22T09:58:20Z  flood   alarm  critical  ward-3  FL-1    open    Water level high\n",
            ""))
        rc, out, err = self.ctl("events", "--source", "nobody")
        self.assertEqual((rc, out, err),
                         (0, "TIME  SOURCE  KIND  SEVERITY  AREA  DEVICE  STATUS  TEXT\n", ""))
        self.assertEqual(self.ctl("events", "--source", "nobody", "--json"), (0, "", ""))

    def test_filters(self):
        self.assertEqual(self.ids("--source", "citizen"), [2, 1, 5])
        self.assertEqual(self.ids("--kind", "violation"), [3, 6])
        self.assertEqual(self.ids("--source", "citizen", "--kind", "pothole"), [2, 1])
        self.assertEqual(self.ids("--source", "traffic", "--kind", "pothole"), [])
        self.assertEqual(self.ids("--area", "ward-2"), [2, 6])
        self.assertEqual(self.ids("--device", "CAM-7"), [3, 6])
        self.assertEqual(self.ids("--status", "open"), [2, 1, 4])
        self.assertEqual(self.ids("--status", "closed", "--area", "ward-1"), [3])
        # exact, case-sensitive matches; an empty value matches empty fields
        self.assertEqual(self.ids("--source", "Citizen"), [])
        self.assertEqual(self.ids("--area", "ward"), [])
        self.assertEqual(self.ids("--area", ""), [5])
        self.assertEqual(self.ids("--device", ""), [2, 1, 5])

    def test_severity_threshold(self):
        self.assertEqual(self.ids("--min-severity", "unspecified"), [3, 2, 1, 4, 5, 6])
        self.assertEqual(self.ids("--min-severity", "info"), [3, 2, 1, 4, 6])
        self.assertEqual(self.ids("--min-severity", "warning"), [3, 2, 1, 4])
        self.assertEqual(self.ids("--min-severity", "minor"), [3, 2, 4])
        self.assertEqual(self.ids("--min-severity", "major"), [3, 4])
        self.assertEqual(self.ids("--min-severity", "critical"), [4])
        self.assertEqual(self.ids("--min-severity", "major", "--source", "traffic",
                                  "--kind", "violation"), [3])

    def test_time_range(self):
        # --from inclusive, --to exclusive, on the event time
        self.assertEqual(self.ids("--from", "2026-11-22T09:58:20Z",
                                  "--to", "2026-11-22T10:01:00.250Z"), [1, 4])
        self.assertEqual(self.ids("--from", str(ms("2026-11-22T10:01:00.250Z"))), [3, 2])
        self.assertEqual(self.ids("--to", "2026-11-22T16:58:20+07:00"), [5, 6])
        self.assertEqual(self.ids("--from", "2026-11-22T10:00:00Z", "--to", "2026-11-22T10:00:00Z"),
                         [])
        self.assertEqual(self.ids("--source", "traffic", "--kind", "violation",
                                  "--from", "2026-11-22T09:55:00Z", "--to", "2026-11-22T10:00:00Z"),
                         [6])
        # relative to now (a fixed clock here), as `query` parses TIME
        clock = {"IOCD_FAKE_NOW_MS": NOW}
        self.assertEqual(self.ids("--from", "-5m", env=clock), [3, 2, 1])
        self.assertEqual(self.ids("--from", "-10m", "--to", "-5m", env=clock), [4, 5, 6])
        self.assertEqual(self.ids("--to", "now", env=clock), [3, 2, 1, 4, 5, 6])

    def test_limit(self):
        self.assertEqual(self.ids("--limit", "2"), [3, 2])
        self.assertEqual(self.ids("--limit", "1", "--source", "citizen"), [2])
        self.assertEqual(self.ids("--limit", "0"), [3, 2, 1, 4, 5, 6])
        rc, out, err = self.ctl("events", "--limit", "1")
        self.assertEqual(out.splitlines()[1:], [
            "2026-11-22T10:01:00.250Z  traffic  violation  major     ward-1  CAM-7   closed  "
            "Red light at Hung Vuong / Tran Phu, xxxxxxxxxxxxxxxxxxxxx..."])

    def test_default_limit_is_100(self):
        con = sqlite3.connect(self.db)
        base = ms("2026-11-21T00:00:00Z")
        con.executemany(
            "INSERT INTO events(source, kind, severity, text, device, area, status, time_ms,"
            " received_ms, lat, lon, attributes) VALUES"
            " ('bulk', 'tick', 1, 'n', '', '', '', ?, ?, NULL, NULL, '{}')",
            [(base + i * 1000, base + i * 1000) for i in range(120)])  # ids 7..126
        con.commit()
        con.close()

        def ids(*args):
            rc, out, err = self.ctl("events", "--json", "--source", "bulk", *args)
            self.assertEqual((rc, err), (0, ""))
            return [json.loads(l)["id"] for l in out.splitlines()]
        self.assertEqual(ids(), list(range(126, 26, -1)))
        self.assertEqual(ids("--limit", "0"), list(range(126, 6, -1)))
        self.assertEqual(ids("--limit", "120"), list(range(126, 6, -1)))
        self.assertEqual(ids("--limit", "5"), [126, 125, 124, 123, 122])
        rc, out, err = self.ctl("events")
        self.assertEqual(len(out.splitlines()), 101)  # header + 100

    def test_usage_errors(self):
        cases = [
            (["--min-severity", "severe"],
             "iocctl: bad --min-severity 'severe' (expected unspecified, info, warning, minor, "
             "major or critical)"),
            (["--min-severity", "Major"],
             "iocctl: bad --min-severity 'Major' (expected unspecified, info, warning, minor, "
             "major or critical)"),
            (["--min-severity", "4"],
             "iocctl: bad --min-severity '4' (expected unspecified, info, warning, minor, "
             "major or critical)"),
            (["--limit", "-1"], "iocctl: bad --limit '-1' (expected a whole number, 0 for no limit)"),
            (["--limit", "1.5"], "iocctl: bad --limit '1.5' (expected a whole number, 0 for no limit)"),
            (["--limit", ""], "iocctl: bad --limit '' (expected a whole number, 0 for no limit)"),
            (["--from", "yesterday"],
             "iocctl: bad --from time 'yesterday' (expected ISO-8601, epoch ms, now or -15m)"),
            (["--to", "12345"],
             "iocctl: bad --to time '12345' (expected ISO-8601, epoch ms, now or -15m)"),
            (["--resolution", "1m"], "iocctl: option --resolution does not apply to 'events'"),
            (["--match", "*"], "iocctl: option --match does not apply to 'events'"),
            (["--kind"], "iocctl: option --kind needs a value"),
            (["extra"], "iocctl: unexpected argument 'extra'"),
        ]
        for args, msg in cases:
            rc, out, err = self.ctl("events", *args)
            self.assertEqual((rc, out, err.split("\n\n")[0]), (2, "", msg), args)
            self.assertTrue(err.split("\n\n", 1)[1].startswith("Usage: iocctl "), args)
        for cmd, opt in [("series", "--source"), ("query", "--min-severity"), ("status", "--limit")]:
            args = [cmd] + (["air/x/pm25"] if cmd == "query" else []) + [opt, "x"]
            rc, out, err = self.ctl(*args)
            self.assertEqual((rc, out, err.split("\n\n")[0]),
                             (2, "", "iocctl: option %s does not apply to '%s'" % (opt, cmd)))

    def test_help_lists_events(self):
        r = subprocess.run([IOCCTL, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("  events [--source S] [--kind K] [--area A] [--device D] [--status S]\n",
                      r.stdout)

    def test_status_notes(self):
        con = sqlite3.connect(self.db)
        con.executemany(
            "INSERT OR REPLACE INTO counters(scope, name, value, updated_ms) VALUES (?, ?, ?, 0)",
            [("spb", "messages", 12), ("spb", "accepted", 11), ("spb", "observations", 40),
             ("spb", "events", 3), ("spb", "reject.malformed", 1), ("spb", "reject.bad_time", 0),
             ("spb", "note.seq_gap", 2), ("spb", "note.partial", 0),
             ("iocd", "dead_letters", 4), ("iocd", "dead_letter_drops", 1)])
        con.commit()
        con.close()
        rc, out, err = self.ctl("status", "--json")
        self.assertEqual((rc, err), (0, ""))
        st = json.loads(out)
        self.assertEqual(out, json.dumps(st, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.assertEqual(json.dumps(st["adapters"]["spb"], separators=(",", ":")),
                         '{"messages":12,"accepted":11,"observations":40,"events":3,'
                         '"rejects":{"bad_time":0,"malformed":1},'
                         '"notes":{"partial":0,"seq_gap":2}}')
        self.assertEqual((st["iocd"]["dead_letters"], st["iocd"]["dead_letter_drops"]), (4, 1))
        self.assertEqual((st["iocd"]["rejects"], st["iocd"]["notes"]), ({}, {}))
        self.assertEqual(list(st["iocd"])[-2:], ["rejects", "notes"])
        rc, out, err = self.ctl("status")
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("\nspb:            messages=12 accepted=11 observations=40 events=3 "
                      "reject.malformed=1 note.seq_gap=2\n", out)
        iocd_line = [l for l in out.splitlines() if l.startswith("iocd:")][0]
        self.assertTrue(iocd_line.startswith("iocd:           dead_letter_drops=1 dead_letters=4"),
                        iocd_line)


if __name__ == "__main__":
    unittest.main(verbosity=2)
