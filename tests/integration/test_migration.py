"""Every schema version that ever landed migrates to the current one at
start, keeping its data: a version-1 database (tests/data/schema_v1.sql,
the fixture of the first release's schema) is copied to
PATH.pre-migration-UNIXTIME, opened by iocd, migrated, and its windows
keep merging; a version-2
database gets the devices table (v3), and an alert it stored as raised is
restored and clears against that raise; a version-4 database's device rows
get their position columns (v5); a version-5 database gets the state
tables (v6) and takes state samples."""
import glob
import json
import os
import sqlite3
import time
import unittest

from iocdtest import AIR_ADAPTER, SOURCE_ROOT, IocdTestCase, air, wait_until

CURRENT = 6


class MigrationTest(IocdTestCase):
    def test_v1_database_migrates_and_keeps_merging(self):
        d = self.iocd(AIR_ADAPTER)
        with open(os.path.join(SOURCE_ROOT, "tests", "data", "schema_v1.sql")) as f:
            con = sqlite3.connect(d.db)
            con.executescript(f.read())
            con.close()
        d.start()
        con = sqlite3.connect(d.db)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], CURRENT)
        self.assertEqual(con.execute("SELECT count(*) FROM events").fetchone()[0], 0)
        con.close()
        self.assertIn("database migrated to schema version 2", d.log_text())
        self.assertIn("database migrated to schema version 6", d.log_text())
        # The version-1 database was copied, untouched, before migrating.
        backups = glob.glob(d.db + ".pre-migration-*")
        self.assertEqual(len(backups), 1, backups)
        self.assertIn("schema version 1: copied to %s before migrating" % backups[0],
                      d.log_text())
        con = sqlite3.connect(backups[0])
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 1)
        self.assertEqual(con.execute("SELECT count(*), sum(count), sum(sum) FROM windows")
                         .fetchone(), (3, 6, 68.25))
        self.assertEqual(con.execute("SELECT name FROM sqlite_master WHERE name = 'events'")
                         .fetchall(), [])
        con.close()
        w = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        self.assertEqual([(x["start"], x["count"], x["sum"]) for x in w],
                         [("2026-11-20T10:00:00Z", 2, 22.75)])
        # A late sample merges into the migrated window; counters keep adding.
        self.broker.publish("pleiku/air/GL-AQ01/data", [air("GL-AQ01", "2026-11-20T10:00:45Z", 1.0)])
        d.wait_messages("air", 3)
        w = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        self.assertEqual([(x["count"], x["sum"], x["min"], x["last"]) for x in w],
                         [(3, 23.75, 1.0, 1.0)])
        self.assertEqual(d.series(), ["air/GL-AQ01/pm25"])
        self.assertEqual(d.stop(), 0)

    def test_no_migration_without_the_copy(self):
        """When the copy before migrating cannot be written, iocd refuses to
        start, saying why, and leaves the database at its version."""
        d = self.iocd(AIR_ADAPTER)
        with open(os.path.join(SOURCE_ROOT, "tests", "data", "schema_v1.sql")) as f:
            con = sqlite3.connect(d.db)
            con.executescript(f.read())
            con.close()
        # Every name the copy could take in the next minute already exists
        # (VACUUM INTO never overwrites).
        now = int(time.time())
        blockers = [d.db + ".pre-migration-%d" % t for t in range(now - 1, now + 60)]
        for b in blockers:
            with open(b, "w") as f:
                f.write("not a database\n")
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(15), 1)
        log = d.log_text()
        self.assertRegex(log, r"copying the version 1 database to %s\.pre-migration-\d+ before "
                              r"migrating: file is not a database; nothing was migrated"
                         % d.db.replace(".", r"\."))
        con = sqlite3.connect(d.db)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 1)
        con.close()
        for b in blockers:
            os.remove(b)
        d.proc = None
        d.logf.close()
        d.start()
        self.assertEqual(len(glob.glob(d.db + ".pre-migration-*")), 1)
        self.assertEqual(d.stop(), 0)

    def test_v2_database_gets_devices_and_keeps_its_raised_alert(self):
        rule = "[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nabove = 55\nclear = 50\n"
        d = self.iocd(AIR_ADAPTER + rule).start()
        self.assertEqual(d.stop(), 0)
        # A version-2 database is the current schema without the devices
        # table (version 3) and the events' case column (version 4).
        t_ms = (int(time.time()) // 60 - 5) * 60000
        attrs = {"id": "pm25_high/air/GL-AQ01/pm25", "rule": "pm25_high",
                 "series": "air/GL-AQ01/pm25", "state": "raised", "value": "61.5",
                 "threshold": "55", "raised_ms": str(t_ms)}
        con = sqlite3.connect(d.db)
        con.executescript("DROP TABLE devices; DROP INDEX events_by_case; "
                          "ALTER TABLE events DROP COLUMN case_id; DROP TABLE state_windows; "
                          "DROP TABLE state_series; PRAGMA user_version = 2;")
        con.execute("INSERT INTO events(source, kind, severity, text, device, area, status, "
                    "time_ms, received_ms, attributes) VALUES ('iocd', 'alert', 2, 'high', "
                    "'GL-AQ01', '', 'raised', ?, ?, ?)", (t_ms, t_ms, json.dumps(attrs)))
        con.commit()
        con.close()
        d.restart()
        self.assertIn("database migrated to schema version 5", d.log_text())
        self.assertIn("restored 0 device(s) and 1 raised alert(s)", d.log_text())
        con = sqlite3.connect(d.db)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], CURRENT)
        self.assertEqual([(r[1], r[2], r[3], r[5]) for r in
                          con.execute("PRAGMA table_info(devices)").fetchall()],
                         [("source", "TEXT", 1, 1), ("device", "TEXT", 1, 2),
                          ("first_seen_ms", "INTEGER", 1, 0), ("last_seen_ms", "INTEGER", 1, 0),
                          ("interval_ms", "INTEGER", 1, 0), ("messages", "INTEGER", 1, 0),
                          ("state", "TEXT", 1, 0), ("lat", "REAL", 0, 0), ("lon", "REAL", 0, 0),
                          ("position_ms", "INTEGER", 0, 0)])
        self.assertEqual(con.execute("SELECT count(*) FROM devices").fetchone()[0], 0)
        con.close()
        active = d.api("/api/v1/alerts")[1]["active"]
        self.assertEqual([(a["id"], a["value"], a["raised_ms"]) for a in active],
                         [("pm25_high/air/GL-AQ01/pm25", 61.5, t_ms)])
        # The device speaks: its row is written; 40 clears the restored alert.
        ts = t_ms // 1000 + 60
        self.broker.publish("pleiku/air/GL-AQ01/data", [air("GL-AQ01", ts, 40.0)])

        def stored():
            con = sqlite3.connect(d.db)
            try:
                return (con.execute("SELECT source, device, interval_ms, messages, state "
                                    "FROM devices").fetchall(),
                        con.execute("SELECT status, time_ms, json_extract(attributes, "
                                    "'$.raised_ms') FROM events WHERE source = 'iocd' ORDER "
                                    "BY id").fetchall())
            finally:
                con.close()
        wait_until(lambda: len(stored()[1]) == 2, what="the clear stored")
        self.assertEqual(stored(), ([("air", "GL-AQ01", 60000, 1, "online")],
                                    [("raised", t_ms, str(t_ms)),
                                     ("cleared", ts * 1000, str(t_ms))]))
        self.assertEqual(d.api("/api/v1/alerts")[1]["active"], [])
        self.assertEqual(d.stop(), 0)

    def test_v4_database_gets_device_positions(self):
        """Version 5 adds each device's last reported position to its row
        (docs/registry.md): a version-4 database keeps its devices, with no
        position, and a located message then stores one."""
        ngsi = "[adapter parking]\ntopic = city/parking/+\nformat = ngsi\n"
        d = self.iocd(ngsi).start()
        self.assertEqual(d.stop(), 0)
        con = sqlite3.connect(d.db)
        con.executescript("ALTER TABLE devices DROP COLUMN lat; ALTER TABLE devices DROP COLUMN "
                          "lon; ALTER TABLE devices DROP COLUMN position_ms; "
                          "DROP TABLE state_windows; DROP TABLE state_series; "
                          "PRAGMA user_version = 4;")
        t_ms = int(time.time() * 1000) - 60000
        con.execute("INSERT INTO devices VALUES ('parking', 'GL-PK01', ?, ?, 30000, 7, 'online')",
                    (t_ms - 600000, t_ms))
        con.commit()
        con.close()
        d.restart()
        self.assertIn("database migrated to schema version 5", d.log_text())
        self.assertIn("restored 1 device(s)", d.log_text())
        self.assertEqual(len(glob.glob(d.db + ".pre-migration-*")), 1)
        con = sqlite3.connect(d.db)
        self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], CURRENT)
        self.assertEqual(con.execute("SELECT source, device, messages, lat, lon, position_ms "
                                     "FROM devices").fetchall(),
                         [("parking", "GL-PK01", 7, None, None, None)])
        con.close()
        dev = d.api("/api/v1/devices")[1]["devices"]
        self.assertEqual([(x["device"], x["messages"], "lat" in x) for x in dev],
                         [("GL-PK01", 7, False)])
        ent = {"id": "GL-PK01", "type": "OffStreetParking",
               "availableSpotNumber": {"type": "Number", "value": 3},
               "location": {"type": "geo:json",
                            "value": {"type": "Point", "coordinates": [108.0123, 13.9876]}}}
        self.broker.publish("city/parking/notify", [json.dumps({"subscriptionId": "s1",
                                                                 "data": [ent]})])

        def stored():
            con = sqlite3.connect(d.db)
            try:
                return con.execute("SELECT device, messages, lat, lon FROM devices").fetchall()
            finally:
                con.close()
        wait_until(lambda: stored() == [("GL-PK01", 8, 13.9876, 108.0123)],
                   what="the position stored (%r)" % (stored(),))
        self.assertEqual(d.stop(), 0)

    def test_newer_database_is_refused(self):
        d = self.iocd(AIR_ADAPTER)
        con = sqlite3.connect(d.db)
        con.execute("PRAGMA user_version = 99")
        con.close()
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(10), 1)
        self.assertIn("database schema version 99 is newer than this iocd knows (%d)" % CURRENT,
                      d.log_text())


    def test_v5_database_gets_state_tables(self):
        """Version 6 adds the state series' tables (docs/states.md): a
        version-5 database keeps its windows and then stores state windows."""
        conf = ("[adapter lights]\ntopic = city/lights/+\nformat = json\ndevice = $.id\n"
                "time = $.ts\nmetric.status = $.status\nstates = status\n")
        d = self.iocd(conf).start()
        self.broker.publish("city/lights/L1", ['{"id":"L1","ts":"2026-11-20T10:00:00Z",'
                                               '"status":5}'])
        d.wait_messages("lights", 1)
        self.assertEqual(d.stop(), 0)
        con = sqlite3.connect(d.db)
        con.executescript("DROP TABLE state_windows; DROP TABLE state_series; "
                          "PRAGMA user_version = 5;")
        con.close()
        d.restart()
        self.assertIn("database migrated to schema version 6", d.log_text())
        self.assertEqual(len(glob.glob(d.db + ".pre-migration-*")), 1)
        self.assertEqual([(w["count"], w["sum"]) for w in d.query("lights/L1/status")], [(1, 5)])
        # The numeric series stays numeric; a state of a new device is a state.
        self.broker.publish("city/lights/L2", ['{"id":"L2","ts":"2026-11-20T10:00:00Z",'
                                               '"status":"on"}',
                                               '{"id":"L2","ts":"2026-11-20T10:00:30Z",'
                                               '"status":"off"}'])
        d.wait_messages("lights", 3)
        wait_until(lambda: sqlite3.connect(d.db).execute(
            "SELECT state, ms, entries, transitions FROM state_windows WHERE res_s = 60 AND "
            "start_ms = 1795168800000 ORDER BY state").fetchall()
            == [("off", 30000, 1, 1), ("on", 30000, 1, 0)],
            what="the state windows")
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
