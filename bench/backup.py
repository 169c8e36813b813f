#!/usr/bin/env python3
"""Owns: the backup benchmark: how long `iocctl backup` takes on a large
database, and how much it holds up iocd's flush while iocd ingests.

Makes (once; bounded by --size-mb) a large database: iocd creates the
schema, then SQL fills `series` and daily `windows` rows with 200-byte
sketches until the file reaches the size. Then runs a real mosquitto and
iocd on it (flush every 200 ms) with a steady QoS 1 feed (--rate messages a
second over --stations stations, times of now, so every flush writes
fresh windows), polls iocd's /metrics every 20 ms for each flush's
duration, and runs each backup method in turn with --idle seconds of
plain ingest before and between:

  online        iocctl backup (SQLite's backup API, 1024 pages a step)
  online-pause  the same with --pause 5ms between steps
  vacuum        iocctl backup --method vacuum (VACUUM INTO)

Prints, per phase: the backup's wall time, size and rate, the flushes
committed meanwhile with their p50, p99 and max duration, and the largest
-wal file seen. Everything it starts is stopped by PID.

Usage: bench/backup.py [--db PATH] [--size-mb 1500] [--rate 1000]
                       [--stations 2000] [--idle 15] [--build DIR]
                       [--methods online,online-pause,vacuum] [--drop-caches]
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import iocdtest  # noqa: E402

ADAPTER = """[adapter air]
topic = bench/air/+/data
format = json
device = $.station
time = $.ts
metric.pm25 = $.pm25 ug/m3
"""
DAY_MS = 86400000
OLDEST_MS = 1735689600000  # 2025-01-01T00:00:00Z: days before any live window


def db_make(path, size_mb, log):
    """Fill the database iocd created at path until it reaches size_mb."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA synchronous=OFF")
    series = 20000
    db.execute("BEGIN")
    db.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
               "INSERT OR IGNORE INTO series(id, name, source, device, metric, unit, created_ms) "
               "SELECT 1000000 + i, 'old/D' || i || '/pm25', 'old', 'D' || i, 'pm25', 'ug/m3', "
               ":t FROM s", {"n": series, "t": OLDEST_MS})
    db.execute("COMMIT")
    day = 0
    while os.path.getsize(path) < size_mb * 1048576 and day < 400:
        # One day of every old series a transaction: sorted inserts, bounded memory.
        db.execute("BEGIN")
        db.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n) "
                   "INSERT INTO windows(series_id, res_s, start_ms, count, sum, sumsq, min, max, "
                   "first, first_ms, last, last_ms, jrnl, sketch) "
                   "SELECT 1000000 + i, 86400, :day, 1440, 1440.0 * 30, 1440.0 * 900, 1, 60, "
                   "30, :day, 30, :day + 86399000, 0, randomblob(200) FROM s",
                   {"n": series, "day": OLDEST_MS + day * DAY_MS})
        db.execute("COMMIT")
        day += 1
        if day % 20 == 0:
            log("  %d days, %.0f MiB" % (day, os.path.getsize(path) / 1048576))
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


def db_make_wrapper(path, size_mb, work, log):
    """Schema from iocd itself, then db_make."""
    broker = iocdtest.Broker(work).start()
    d = iocdtest.Iocd(work, broker, ADAPTER, db=path, name="make")
    try:
        d.start()
    finally:
        d.stop()
        broker.stop()
    db_make(path, size_mb, log)


class Poller(threading.Thread):
    """iocd's flushes from /metrics, and the -wal file's size, every 20 ms."""

    def __init__(self, iocd, wal):
        super().__init__(daemon=True)
        self.iocd, self.wal = iocd, wal
        self.flushes = []  # (time seen, duration s)
        self.wal_sizes = []  # (time, bytes)
        self.stop = threading.Event()

    def run(self):
        last = None
        while not self.stop.is_set():
            try:
                _, _, body = self.iocd.http("/metrics", timeout=5)
            except Exception:
                time.sleep(0.02)
                continue
            m = {}
            for line in body.decode().splitlines():
                if line.startswith(("iocd_flushes_total ", "iocd_flush_last_seconds ")):
                    k, v = line.split()
                    m[k] = float(v)
            now = time.monotonic()
            n = m.get("iocd_flushes_total")
            if last is not None and n is not None and n > last:
                self.flushes.append((now, m["iocd_flush_last_seconds"], int(n - last)))
            last = n
            try:
                self.wal_sizes.append((now, os.path.getsize(self.wal)))
            except OSError:
                pass
            time.sleep(0.02)

    def between(self, t0, t1):
        return ([d for t, d, _ in self.flushes if t0 <= t <= t1],
                sum(k for t, _, k in self.flushes if t0 <= t <= t1),
                max([s for t, s in self.wal_sizes if t0 <= t <= t1] or [0]))


def feed(port, rate, stations, stop):
    pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                            "-t", "bench/air/x/data", "-l"], stdin=subprocess.PIPE)
    rnd = random.Random(1)
    t0, i = time.monotonic(), 0
    while not stop.is_set():
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        pub.stdin.write(('{"station":"S%d","ts":"%s","pm25":%.1f}\n'
                         % (i % stations, ts, rnd.uniform(5, 80))).encode())
        i += 1
        if i % 50 == 0:
            pub.stdin.flush()
            ahead = i / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    pub.stdin.close()
    pub.wait(30)
    return i


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=os.path.join(ROOT, "build", "bench-backup", "big.db"))
    ap.add_argument("--size-mb", type=int, default=1500)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--idle", type=float, default=15)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--methods", default="online,online-pause,vacuum")
    ap.add_argument("--drop-caches", action="store_true",
                    help="empty the page cache before each backup (root): a cold read")
    a = ap.parse_args()
    iocdtest.IOCD = os.path.join(a.build, "daemon", "iocd")
    iocctl = os.path.join(a.build, "tools", "iocctl")
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    os.makedirs(os.path.dirname(os.path.abspath(a.db)), exist_ok=True)
    work = tempfile.mkdtemp(prefix="iocd-bench-backup-")
    if not os.path.exists(a.db) or os.path.getsize(a.db) < a.size_mb * 1048576 * 0.9:
        log("making %s (%d MiB)" % (a.db, a.size_mb))
        t = time.monotonic()
        db_make_wrapper(a.db, a.size_mb, work, log)
        log("made in %.0f s" % (time.monotonic() - t))
    size_mib = os.path.getsize(a.db) / 1048576

    broker = iocdtest.Broker(work, extra="max_queued_messages 0\n").start()
    d = iocdtest.Iocd(work, broker, ADAPTER, db=a.db, flush="200ms", store="")
    d.start()
    poller = Poller(d, a.db + "-wal")
    poller.start()
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(broker.port, a.rate, a.stations, stop),
                              daemon=True)
    feeder.start()
    rows = []
    try:
        time.sleep(a.idle)
        t0 = time.monotonic()
        time.sleep(a.idle)
        rows.append(("(no backup)", None, poller.between(t0, time.monotonic())))
        for method in a.methods.split(","):
            out = os.path.join(os.path.dirname(os.path.abspath(a.db)), "backup-%s.db" % method)
            if os.path.exists(out):
                os.unlink(out)
            args = {"online": [], "online-pause": ["--pause", "5ms"],
                    "vacuum": ["--method", "vacuum"]}[method]
            if a.drop_caches:
                os.sync()
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("3\n")
            t0 = time.monotonic()
            r = subprocess.run([iocctl, "--db", a.db, "backup", out, "--json"] + args,
                               capture_output=True, text=True)
            t1 = time.monotonic()
            if r.returncode != 0:
                raise SystemExit("backup failed: " + r.stderr)
            rep = json.loads(r.stdout)
            c = subprocess.run([iocctl, "check", out], capture_output=True, text=True)
            rows.append((method, rep, poller.between(t0, t1), c.returncode))
            os.unlink(out)
            time.sleep(a.idle)
    finally:
        stop.set()
        feeder.join(30)
        poller.stop.set()
        d.stop()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("database %.0f MiB, %s msg/s over %d stations, flush every 200 ms, %s page cache"
          % (size_mib, a.rate, a.stations, "cold" if a.drop_caches else "warm"))
    print("%-13s %8s %8s %8s %8s %8s %8s %8s %9s %6s" % (
        "phase", "backup_s", "MiB", "MiB/s", "flushes", "p50_ms", "p99_ms", "max_ms",
        "wal_MiB", "check"))
    for row in rows:
        name, rep, (durs, n, wal) = row[0], row[1], row[2]
        b = ("%8.2f %8.0f %8.0f" % (rep["seconds"], rep["bytes"] / 1048576,
                                    rep["bytes"] / 1048576 / rep["seconds"])) if rep else \
            "%8s %8s %8s" % ("-", "-", "-")
        print("%-13s %s %8d %8.1f %8.1f %8.1f %9.1f %6s" % (
            name, b, n, pct(durs, 0.5) * 1e3, pct(durs, 0.99) * 1e3, max(durs or [0]) * 1e3,
            wal / 1048576, row[3] if len(row) > 3 else "-"))


if __name__ == "__main__":
    main()
