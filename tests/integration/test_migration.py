"""Every schema version that ever landed migrates to the current one at
start, keeping its data: a version-1 database (tests/data/schema_v1.sql)
is opened by iocd, migrated, and its windows keep merging."""
import os
import sqlite3
import unittest

from iocdtest import AIR_ADAPTER, SOURCE_ROOT, IocdTestCase, air

CURRENT = 2


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

    def test_newer_database_is_refused(self):
        d = self.iocd(AIR_ADAPTER)
        con = sqlite3.connect(d.db)
        con.execute("PRAGMA user_version = 99")
        con.close()
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(10), 1)
        self.assertIn("database schema version 99 is newer than this iocd knows (%d)" % CURRENT,
                      d.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
