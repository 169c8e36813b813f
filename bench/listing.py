#!/usr/bin/env python3
"""bench/listing.py — does a large listing hold iocd's loop? /healthz latency
while /api/v1/latest is read, page by page, over many series.

One fresh mosquitto and one iocd (bench/run.py's air-quality adapter, all
else default) on free 127.0.0.1 ports. bench-pub sends one message from
each of --sensors sensors (10 metrics each: 10 x sensors series) and the
run waits until iocd has them all. Then, --rounds times: one thread reads
the whole listing (`/api/v1/latest?limit=L`, default the largest page, 2000, following "next") while
another process sends /healthz every 2 ms and times each answer. Prints the
listing's pages, items and wall time, and /healthz p50/p99/max in ms, over
all rounds. Every process it starts is stopped by its PID.

Usage: bench/listing.py [--build DIR] [--sensors N] [--rounds R]
"""
import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the broker, iocd and process helpers)


def get(port, path, timeout=30):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.read()


def probe(port, done, out):
    """/healthz every 2 ms until `done`; puts the list of latencies (ms)."""
    lat = []
    while not done.is_set():
        t0 = time.monotonic()
        get(port, "/healthz")
        lat.append((time.monotonic() - t0) * 1000)
        time.sleep(0.002)
    out.put(lat)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(run.ROOT, "build"))
    ap.add_argument("--sensors", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=2000, help="items per page (0: no listing, /healthz alone for 3 s)")
    args = ap.parse_args()
    args.timeout = 300
    args.inflight = 1000
    args.count = args.sensors
    started = run.Started()
    with tempfile.TemporaryDirectory() as work:
        try:
            broker = run.Broker(started, work)
            d = run.Iocd(started, args, work, broker, 1, True)
            d.start()
            run.wait_for(d.metrics, 30, "iocd to answer")
            run.wait_for(lambda: broker.subscriptions() >= 1, 30, "iocd to subscribe")
            p = started.popen([os.path.join(args.build, "bench", "bench-pub"), "--port",
                               str(broker.port), "--qos", "1", "--count", str(args.sensors),
                               "--sensors", str(args.sensors)],
                              stdout=open(os.devnull, "w"))
            p.wait(args.timeout)
            run.wait_for(run.iocd_done(d, args.sensors), args.timeout, "iocd to take all")
            series = int(d.metrics().get("iocd_series", 0))
            lat, pages, items, walls = [], 0, 0, []
            for _ in range(args.rounds):
                # The probe is its own process: in this one, decoding a page
                # would hold the interpreter lock and delay the probe.
                done = multiprocessing.Event()
                out = multiprocessing.Queue()
                th = multiprocessing.Process(target=probe, args=(d.http, done, out))
                th.start()
                t0 = time.monotonic()
                after = None
                if args.limit == 0:  # no listing: the idle baseline, 3 s
                    time.sleep(3)
                while args.limit:
                    page = json.loads(get(d.http, "/api/v1/latest?limit=%d" % args.limit +
                                          ("&after=" + after if after else "")))
                    pages += 1
                    items += len(page["series"])
                    after = page.get("next")
                    if not after:
                        break
                walls.append(time.monotonic() - t0)
                done.set()
                lat.extend(out.get(timeout=60))
                th.join()
            lat.sort()
            print("series %d, %d rounds: %d pages, %d items, listing %.2f s (median); "
                  "/healthz during it: %d probes, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
                  % (series, args.rounds, pages, items, statistics.median(walls), len(lat),
                     lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], lat[-1]))
        finally:
            started.stop_all()


if __name__ == "__main__":
    main()
