#!/usr/bin/env python3
"""Owns: the experiment behind iocctl backup's held read transaction
(docs/backup.md): a stepped online backup of a WAL database that another
process commits to every 200 ms, once as a plain loop of backup steps and
once inside one read transaction on the source, as iocctl does. Prints the
restarts (the pages left going up again) and the time each copy took.

Usage: bench/backup_restarts.py [--commits 100]
"""
import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
for i in range(int(sys.argv[2])):
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    time.sleep(0.2)
"""


def copy(src_path, dst_path, hold, commits):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, src_path, str(commits)])
    time.sleep(0.3)
    src = sqlite3.connect("file:%s?mode=ro" % src_path, uri=True, isolation_level=None)
    if hold:
        src.execute("BEGIN")
        src.execute("SELECT COUNT(*) FROM t").fetchone()  # the snapshot starts here
    dst = sqlite3.connect(dst_path)
    left = []

    def progress(status, remaining, total):
        left.append(remaining)
        time.sleep(0.02)

    t0 = time.monotonic()
    src.backup(dst, pages=1, progress=progress)
    seconds = time.monotonic() - t0
    writer.wait()
    restarts = sum(1 for a, b in zip(left, left[1:]) if b > a)
    return restarts, len(left), seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=100)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="iocd-backup-restarts-")
    src = os.path.join(work, "src.db")
    db = sqlite3.connect(src)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x)")
    db.executemany("INSERT INTO t VALUES (randomblob(500))", [()] * 500)
    db.commit()
    db.close()
    for hold in (False, True):
        dst = os.path.join(work, "copy-%d.db" % hold)
        restarts, steps, seconds = copy(src, dst, hold, a.commits)
        print("%-28s restarts %4d  steps %5d  %.1f s" % (
            "held read transaction:" if hold else "plain step loop:", restarts, steps, seconds))
    for f in os.listdir(work):
        os.unlink(os.path.join(work, f))
    os.rmdir(work)


if __name__ == "__main__":
    main()
