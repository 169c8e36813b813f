#!/usr/bin/env python3
"""bench/ingest.py — iocd's sustained ingest rate beside a bare mosquitto_sub.

One run, one broker: iocd (the three simulator feeds, 100 ms flushes) and a
bare `mosquitto_sub` subscribe to the same topics at QoS 1; `iocd-sim`
publishes N messages as fast as the broker takes them (QoS 1, up to 1000 in
flight). Reported: the rate at which each subscriber received (iocd: had
decoded, aggregated *and committed to SQLite*) all N messages, and their
ratio. Bounded: N messages, and a 300 s limit on every wait.

With --backlog, the N messages are first queued by the broker for both
(persistent) sessions while neither subscriber runs; then both start at
once and drain the backlog. That measures how fast each subscriber can take
messages, whatever the publisher's speed.

Usage: bench/ingest.py [--count N] [--backlog] [--build DIR]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import iocdtest  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--backlog", action="store_true")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    iocdtest.IOCD = os.path.join(args.build, "daemon", "iocd")
    iocdtest.IOCCTL = os.path.join(args.build, "tools", "iocctl")
    sim = os.path.join(args.build, "tools", "iocd-sim")
    n = args.count

    work = tempfile.mkdtemp(prefix="iocd-bench-")
    broker = iocdtest.Broker(work).start()
    with open(os.path.join(ROOT, "config", "iocd.conf")) as f:
        feeds = f.read().split("# ---------------------------------------------------------------------------", 1)[1]
    d = iocdtest.Iocd(work, broker, feeds, flush="100ms")
    try:
        d.start()
        sub_cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                   "-t", "pleiku/#", "-c", "-i", "bench-sub"]
        # 54,000 devices (--scale 1000): at full speed each still reports only
        # every few seconds, so no two messages of a device share a timestamp
        # (the payloads carry second-precision times; repeats would be
        # dropped as duplicates).
        publish = [sim, "--port", str(broker.port), "--feeds", "air,traffic,water",
                   "--scale", "1000", "--rate", "0",
                   "--count", str(n),
                   "--qos", "1", "--seed", "1", "--quiet"]
        if args.backlog:
            # Register both persistent sessions, then queue N messages for them.
            subprocess.run(sub_cmd + ["-W", "1"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
            d.stop()
            tp = time.monotonic()
            subprocess.run(publish, capture_output=True, text=True, timeout=300, check=True)
            t_pub = time.monotonic() - tp
            t0 = time.monotonic()
            sub = subprocess.Popen(sub_cmd + ["-C", str(n)], stdout=subprocess.DEVNULL)
            d.ready_count_before = d.log_text().count("subscribed to")
            d.start(wait_ready=False)
        else:
            sub = subprocess.Popen(sub_cmd + ["-C", str(n)], stdout=subprocess.DEVNULL)
            time.sleep(0.5)  # let mosquitto_sub subscribe
            t0 = time.monotonic()
            subprocess.run(publish, capture_output=True, text=True, timeout=300, check=True)
            t_pub = time.monotonic() - t0
        sub.wait(300)
        t_sub = time.monotonic() - t0

        def total():
            st = d.status() or {}
            return sum(a.get("messages", 0) for a in st.get("adapters", {}).values())
        iocdtest.wait_until(lambda: total() >= n, timeout=300, interval=0.02,
                            what="iocd to store %d messages" % n)
        t_iocd = time.monotonic() - t0
        st = d.status()
        obs = sum(a.get("observations", 0) for a in st["adapters"].values())
        rejects = sum(sum(a.get("rejects", {}).values()) for a in st["adapters"].values())
        rss_kb = 0
        with open("/proc/%d/status" % d.proc.pid) as f:
            m = re.search(r"VmHWM:\s+(\d+)", f.read())
            rss_kb = int(m.group(1)) if m else 0
        print("mode                     %s" % ("backlog drain" if args.backlog else "live"))
        print("messages                 %d (%d observations stored, %d rejected)" % (n, obs, rejects))
        print("iocd-sim published       %8.0f msg/s  (%.2f s)" % (n / t_pub, t_pub))
        print("bare mosquitto_sub       %8.0f msg/s  (%.2f s)" % (n / t_sub, t_sub))
        print("iocd (stored in SQLite)  %8.0f msg/s  (%.2f s, incl. up to 100 ms flush)" % (n / t_iocd, t_iocd))
        print("ratio iocd / mosquitto_sub  %.2f" % (t_sub / t_iocd))
        print("iocd peak RSS            %d KiB" % rss_kb)
        print("iocd flushes             %d" % st["iocd"].get("flushes", 0))
    finally:
        d.stop()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
