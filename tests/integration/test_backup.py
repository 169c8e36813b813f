"""Owns: the test of `iocctl backup` and `iocctl check` (docs/backup.md).

A real mosquitto and iocd; a publisher sends one air-quality sample per
second of observation time (pm25 = 1, so each 1 min window holds 60) at
about 400 msg/s, without a pause, while `iocctl backup` copies the
database in one-page steps 200 ms apart, so the copy spans dozens of
iocd's flushes. The backup must pass `iocctl check`, hold every sample
iocd had committed before the backup started, and be one snapshot: its
windows are exactly those of the first C samples for one C (60, 60, ...,
C mod 60), never a torn mix. VACUUM INTO (--method vacuum) the same.
Refusals: an existing FILE, a damaged file, a newer schema, a file that is
no database, each with its exit code and message."""
import json
import os
import sqlite3
import subprocess
import threading
import time
import unittest

from iocdtest import AIR_ADAPTER, IOCCTL, IocdTestCase, air, wait_until

BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z
SERIES = "air/GL-B1/pm25"
N = 8000
RATE = 400.0


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def ctl(*args):
    return subprocess.run([IOCCTL] + list(args), capture_output=True, text=True, timeout=120)


def windows(db, res):
    r = ctl("--db", db, "query", SERIES, "--resolution", res, "--json")
    assert r.returncode == 0, r.stderr
    return [(w["start"], w["count"], w["sum"]) for w in map(json.loads, r.stdout.splitlines())]


def expected(c, res_s):
    """The windows of the first c samples (one a second from BASE_MS)."""
    out = []
    for k in range(0, c, res_s):
        n = min(res_s, c - k)
        out.append((iso(BASE_MS + k * 1000), n, float(n)))
    return out


def day_count(db):
    """The samples stored (the one day window's count); 0 before the first."""
    r = ctl("--db", db, "query", SERIES, "--resolution", "1d", "--json")
    if r.returncode == 1 and "no such series" in r.stderr:
        return 0
    assert r.returncode == 0, r.stderr
    w = [json.loads(l)["count"] for l in r.stdout.splitlines()]
    return w[0] if w else 0


class BackupTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.iocd(AIR_ADAPTER)
        self.d.start()
        self.sent = 0
        self.stop_feed = threading.Event()

    def feed(self):
        pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/air/GL-B1/data", "-l"],
                               stdin=subprocess.PIPE)
        t0 = time.monotonic()
        for i in range(N):
            if self.stop_feed.is_set():
                break
            pub.stdin.write((air("GL-B1", iso(BASE_MS + i * 1000), 1) + "\n").encode())
            if i % 20 == 19:
                pub.stdin.flush()
                ahead = (i + 1) / RATE - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            self.sent = i + 1
        pub.stdin.close()
        pub.wait(60)

    def flushes(self):
        st, _, body = self.d.http("/metrics")
        for line in body.decode().splitlines():
            if line.startswith("iocd_flushes_total "):
                return int(line.split()[1])
        raise AssertionError("no iocd_flushes_total")

    def backup_while_writing(self, *args):
        feeder = threading.Thread(target=self.feed, daemon=True)
        feeder.start()
        try:
            wait_until(lambda: day_count(self.d.db) >= 600, timeout=30, what="600 stored")
            committed = day_count(self.d.db)  # committed before the backup starts
            flushes, sent = self.flushes(), self.sent
            out = os.path.join(self.dir, "backup.db")
            r = ctl("--db", self.d.db, "backup", out, "--json", *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            after = day_count(self.d.db)
            report = json.loads(r.stdout)
            during = self.flushes() - flushes, self.sent - sent
        finally:
            self.stop_feed.set()
            feeder.join(60)
        return out, committed, after, report, during

    def check_backup(self, out, committed, after):
        r = ctl("check", out, "--json")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        c = json.loads(r.stdout)
        self.assertEqual((c["integrity"], c["schema_version"], c["series"]), ("ok", 6, 1))
        count = day_count(out)
        self.assertTrue(committed <= count <= after, (committed, count, after))
        self.assertEqual(windows(out, "1m"), expected(count, 60))
        self.assertEqual(windows(out, "1h"), expected(count, 3600))
        newest = expected(count, 60)[-1][0]
        self.assertEqual(c["newest"], {"1m": newest,
                                       "1h": iso(BASE_MS + (count - 1) // 3600 * 3600000),
                                       "1d": "2026-11-22T00:00:00Z"})
        self.assertEqual(c["windows"], len(expected(count, 60)) + len(expected(count, 3600)) + 1)
        # The backup is one self-contained file (no -wal beside it).
        self.assertFalse(os.path.exists(out + "-wal"))
        self.assertFalse(os.path.exists(out + ".tmp"))
        return count

    def test_online_backup_while_writing(self):
        t0 = int(time.time() * 1000)
        out, committed, after, rep, (flushes, published) = self.backup_while_writing(
            "--pages", "1", "--pause", "200ms")
        self.assertEqual((rep["method"], rep["restarts"], rep["file"]), ("online", 0, out))
        self.assertGreaterEqual(rep["snapshot_ms"], t0)
        self.assertEqual(rep["steps"], rep["pages"])
        self.assertEqual(rep["bytes"], os.path.getsize(out))
        # The copy spanned many commits and the publisher never paused.
        self.assertGreater(rep["seconds"], 1.0)
        self.assertGreaterEqual(flushes, 5)
        self.assertGreaterEqual(published, 200)
        count = self.check_backup(out, committed, after)
        # iocd itself lost nothing meanwhile: every sample sent is stored once.
        wait_until(lambda: day_count(self.d.db) == self.sent, timeout=30, what="all stored")
        self.assertEqual(windows(self.d.db, "1m"), expected(self.sent, 60))
        self.assertLess(count, self.sent)

    def test_vacuum_into_while_writing(self):
        out, committed, after, rep, _ = self.backup_while_writing("--method", "vacuum")
        self.assertEqual((rep["method"], rep["restarts"], rep["steps"]), ("vacuum", 0, 0))
        self.assertEqual(rep["bytes"], os.path.getsize(out))
        self.check_backup(out, committed, after)

    def test_refusals(self):
        self.broker.publish("pleiku/air/GL-B1/data",
                            [air("GL-B1", iso(BASE_MS + i * 1000), 1) for i in range(100)])
        wait_until(lambda: day_count(self.d.db) == 100, what="100 stored")
        self.d.stop()
        good = os.path.join(self.dir, "good.db")
        self.assertEqual(ctl("--db", self.d.db, "backup", good).returncode, 0)
        r = ctl("--db", self.d.db, "backup", good)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "iocctl: backup: %s: exists; give a new file name\n" % good))
        r = ctl("backup")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("iocctl: backup needs a FILE name\n"))
        r = ctl("--db", self.d.db, "backup", good + "2", "--method", "vacuum", "--pages", "8")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith(
            "iocctl: --pages and --pause apply to --method online only\n"))
        r = ctl("check", good, "--pages", "8")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("iocctl: option --pages does not apply to 'check'\n"))

        # A newer schema: exit 4.
        newer = os.path.join(self.dir, "newer.db")
        self.assertEqual(ctl("--db", self.d.db, "backup", newer).returncode, 0)
        with sqlite3.connect(newer) as db:
            db.execute("PRAGMA user_version = 99")
        r = ctl("check", newer)
        self.assertEqual((r.returncode, r.stderr), (4, "iocctl: check: schema version 99; this "
                         "iocctl reads 2 to 6 (written by a newer iocd)\n"))
        # Not a database at all: exit 1.
        text = os.path.join(self.dir, "notes.txt")
        with open(text, "w") as f:
            f.write("not a database\n" * 500)
        r = ctl("check", text)
        self.assertEqual((r.returncode, r.stderr), (1, "iocctl: database error (read the schema "
                         "version): file is not a database\n"))
        r = ctl("check", os.path.join(self.dir, "missing.db"))
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.endswith("missing.db: No such file or directory\n"))

        # Damage in the last cell of an index page: exit 3, the problems on stderr.
        bad = os.path.join(self.dir, "bad.db")
        self.assertEqual(ctl("--db", self.d.db, "backup", bad).returncode, 0)
        with sqlite3.connect(bad) as db:
            page = db.execute("SELECT rootpage FROM sqlite_master "
                              "WHERE name = 'windows_by_age'").fetchone()[0]
            size = db.execute("PRAGMA page_size").fetchone()[0]
        with open(bad, "r+b") as f:
            f.seek(page * size - 8)
            damaged = bytes(b ^ 0x55 for b in f.read(4))
            f.seek(page * size - 8)
            f.write(damaged)
        r = ctl("check", bad, "--json")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"file": bad, "integrity": "damaged",
                                                "schema_version": 6})
        self.assertRegex(r.stderr, r"^(iocctl: check: .*\n){1,}$")
        self.assertIn("missing from index windows_by_age", r.stderr)


class ScheduledBackupTest(IocdTestCase):
    """systemd/iocd-backup (what iocd-backup.service runs): a checked copy
    per run, the newest IOCD_BACKUP_KEEP kept, while iocd runs."""

    def test_rotation(self):
        d = self.iocd(AIR_ADAPTER)
        d.start()
        self.broker.publish("pleiku/air/GL-B1/data",
                            [air("GL-B1", iso(BASE_MS + i * 1000), 1) for i in range(90)])
        wait_until(lambda: day_count(d.db) == 90, what="90 stored")
        script = os.path.join(os.environ.get("MESON_BUILD_ROOT", "build"), "systemd",
                              "iocd-backup")
        out = os.path.join(self.dir, "backups")
        env = dict(os.environ, IOCD_DB=d.db, IOCD_BACKUP_DIR=out, IOCD_BACKUP_KEEP="2",
                   IOCCTL=IOCCTL)
        names, logs = [], []
        for run in range(3):
            if run:
                time.sleep(1.1)  # names are to the second
            r = subprocess.run(["sh", script], capture_output=True, text=True, env=env,
                               timeout=60)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            names.append(r.stdout.split()[1].rstrip(":"))
            logs.append(r.stdout)
        self.assertEqual(sorted(os.listdir(out)), [os.path.basename(n) for n in names[1:]])
        for n in names:
            self.assertRegex(os.path.basename(n), r"^iocd-\d{8}T\d{6}Z\.db$")
        self.assertEqual(logs[2].splitlines()[1], "iocd-backup: removed %s (keeping 2)"
                         % names[0])
        for n in names[1:]:
            self.assertEqual(day_count(n), 90)
            self.assertEqual(ctl("check", n).returncode, 0)
        r = subprocess.run(["sh", script], capture_output=True, text=True,
                           env=dict(env, IOCD_BACKUP_KEEP="0"), timeout=60)
        self.assertEqual((r.returncode, r.stderr), (2, "iocd-backup: IOCD_BACKUP_KEEP must be "
                                                       "a whole number > 0, not '0'\n"))


if __name__ == "__main__":
    unittest.main()
