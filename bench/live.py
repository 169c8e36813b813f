#!/usr/bin/env python3
"""bench/live.py — iocd's live feed under load: SSE clients and latency.

One broker, one iocd (the air, traffic and water feeds of config/iocd.conf,
100 ms flushes, the default [live] republish of protobuf + JSON) for the
whole run. Two parts:

1. Live-stream clients at the simulator's full rate. For each K (0 first and
   last: the baseline), K Server-Sent-Events clients stream
   /api/v1/live?types=obs while `iocd-sim --rate 0` publishes N messages
   (QoS 1) and a bare `mosquitto_sub` takes the same topics. The clients are
   plain sockets spread over a few reader processes (selectors, HTTP/1.0 so
   the stream is not chunked), each counting `event: obs` records. Reported
   per K: iocd's ingest rate (N over the time until /metrics counts N
   messages), the bare subscriber's rate, the obs items each client received
   against iocd_live_items_total{type="obs"}, iocd_live_dropped_total, and
   the ratios of iocd's rate to the 0-client baseline and to the bare
   subscriber. A K "keeps up" when every client got every item, nothing was
   dropped and the ingest rate is at least 0.95 of the baseline.

2. Publish -> live latency. While the simulator runs at a moderate steady
   rate, then at full rate, the benchmark publishes M marker observations
   (`pleiku/air/BENCH/data`, station BENCH-<phase>-<n>, pm25 = n) through one
   long-running `mosquitto_pub -l` fed line by line, noting time.monotonic()
   right after each line is written and flushed. One SSE client
   (match=obs/air/+/pm25) and one `mosquitto_sub` on the default batched
   republish (ioc/v1/obs/air/+), both in one reader process, note when each
   marker arrives. Reported: median, p90, p99 and max latency in ms, and
   markers lost.

Bounded: N messages per K, M markers per latency phase, a timeout on every
wait; every process it starts is stopped by its PID.

Usage: bench/live.py [--build DIR] [--count N] [--clients 1,4,16,64,128]
                     [--readers R] [--markers M] [--marker-rate R]
                     [--moderate-rate R] [--latency-clients K]
                     [--client-buffer SIZE] [--cap S]
                     [--extra-config TEXT] [--skip-latency] [--skip-clients]
"""
import argparse
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import iocdtest  # noqa: E402

OBS = b"\nevent: obs\n"
DROPPED = b"\nevent: dropped\n"
WAIT = 120.0  # upper bound of any single wait


# ---------------------------------------------------------------------------
# Reader processes (this script run with --reader / --latency-reader)

def sse_request(port, query):
    # HTTP/1.0: h2o sends the stream unchunked and closes at its end, so the
    # bytes on the socket are the event stream itself.
    return ("GET /api/v1/live?%s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
            "Accept: text/event-stream\r\n\r\n" % (query, port)).encode()


def reader_main(port, query, nsock):
    """Opens nsock SSE streams and counts their obs and dropped records.
    stdin commands: `count` -> one JSON line; `stop` -> exit."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(nsock):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.sendall(sse_request(port, query))
        s.setblocking(False)
        st = {"sock": s, "head": b"", "status": None, "tail": b"", "obs": 0, "dropped": 0,
              "bytes": 0, "closed": False, "hello": False}
        socks.append(st)
        sel.register(s, selectors.EVENT_READ, st)
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    ready_sent = False
    out = sys.stdout
    L = len(OBS) - 1
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if not ready_sent and all(st["hello"] or st["closed"] for st in socks):
            bad = [st["status"] for st in socks if st["status"] != 200]
            out.write("ready %s\n" % json.dumps({"bad": bad}))
            out.flush()
            ready_sent = True
        for key, _ in sel.select(timeout=1.0):
            st = key.data
            if st is None:
                line = sys.stdin.readline()
                cmd = line.strip()
                if cmd == "count" or cmd == "":
                    out.write(json.dumps({
                        "obs": [x["obs"] for x in socks],
                        "dropped": [x["dropped"] for x in socks],
                        "bytes": sum(x["bytes"] for x in socks),
                        "closed": sum(1 for x in socks if x["closed"]),
                        "status": [x["status"] for x in socks]}) + "\n")
                    out.flush()
                if cmd == "stop" or line == "":
                    for x in socks:
                        x["sock"].close()
                    return
                continue
            try:
                data = st["sock"].recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                st["closed"] = True
                st["hello"] = True
                sel.unregister(st["sock"])
                continue
            st["bytes"] += len(data)
            if st["status"] is None:
                st["head"] += data
                i = st["head"].find(b"\r\n\r\n")
                if i < 0:
                    continue
                m = re.match(rb"HTTP/1\.[01] (\d+)", st["head"])
                st["status"] = int(m.group(1)) if m else -1
                data = b"\n" + st["head"][i + 4:]
                st["head"] = b""
            if not st["hello"] and b"retry:" in data:
                st["hello"] = True
            buf = st["tail"] + data
            st["obs"] += buf.count(OBS)
            st["dropped"] += buf.count(DROPPED)
            st["tail"] = buf[-L:]
    return


def latency_reader_main(port, broker_port, k=1):
    """`k` SSE streams (obs/air/+/pm25) and one mosquitto_sub on the default
    republish (one ioc.v1.Batch a message on ioc/v1/obs/SOURCE/DEVICE: the
    marker is the topic's last level); notes time.monotonic() of each
    BENCH- marker's arrival on each.
    stdin: `progress` -> {"sse_hello": all streams greeted, "sse": markers
    the slowest stream has, "mqtt": markers};
    `stop` -> prints {"sse": [{station: [t, value]} per stream], "mqtt": {station: t}}."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(k):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(sse_request(port, "match=obs/air/%2B/pm25&types=obs"))
        s.setblocking(False)
        socks.append(s)
    sub = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p",
                            str(broker_port), "-q", "0", "--nodelay",
                            "-t", "ioc/v1/obs/air/+", "-F", "%t"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.set_blocking(sub.stdout.fileno(), False)
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    sel.register(sub.stdout, selectors.EVENT_READ, "mqtt")
    sel.register(sys.stdin, selectors.EVENT_READ, "cmd")
    sse, mqtt = [{} for _ in socks], {}
    sbufs, mbuf = [b"" for _ in socks], b""
    hellos = [False for _ in socks]
    mqtt_lines = 0
    deadline = time.monotonic() + 3600
    try:
        while time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1.0):
                if key.data == "cmd":
                    line = sys.stdin.readline()
                    cmd = line.strip()
                    if cmd == "progress":
                        sys.stdout.write(json.dumps({"sse_hello": all(hellos),
                                                     "sse": min(len(x) for x in sse),
                                                     "mqtt": len(mqtt),
                                                     "mqtt_lines": mqtt_lines}) + "\n")
                        sys.stdout.flush()
                        continue
                    sys.stdout.write(json.dumps({"sse": sse, "mqtt": mqtt}) + "\n")
                    sys.stdout.flush()
                    return
                if isinstance(key.data, int):
                    c = key.data
                    try:
                        data = socks[c].recv(1 << 20)
                    except BlockingIOError:
                        continue
                    t = time.monotonic()
                    if not data:
                        sel.unregister(socks[c])
                        continue
                    if not hellos[c] and b"retry:" in data:
                        hellos[c] = True
                    sbufs[c] += data
                    *recs, sbufs[c] = sbufs[c].split(b"\n\n")
                    for r in recs:
                        if b'"device":"BENCH-' not in r:
                            continue
                        i = r.find(b"data: ")
                        j = json.loads(r[i + 6:].split(b"\n", 1)[0])
                        sse[c][j["device"]] = [t, j["value"]]
                else:
                    try:
                        data = os.read(sub.stdout.fileno(), 1 << 20)
                    except BlockingIOError:
                        continue
                    t = time.monotonic()
                    if not data:
                        sel.unregister(sub.stdout)
                        continue
                    mbuf += data
                    *lines, mbuf = mbuf.split(b"\n")
                    mqtt_lines += len(lines)
                    for ln in lines:
                        if b"/BENCH-" in ln:
                            mqtt[ln.decode().split("/")[-1]] = t
    finally:
        for s in socks:
            s.close()
        sub.terminate()
        try:
            sub.wait(5)
        except subprocess.TimeoutExpired:
            sub.kill()
            sub.wait(5)


# ---------------------------------------------------------------------------
# The benchmark

def metrics(d):
    st, _, body = d.http("/metrics", timeout=10)
    if st != 200:
        raise AssertionError("/metrics: HTTP %d" % st)
    out = {}
    for line in body.decode().splitlines():
        if not line or line[0] == "#":
            continue
        k, _, v = line.rpartition(" ")
        out[k] = float(v)
    return out


def msgs(m):
    return sum(v for k, v in m.items() if k.startswith("iocd_messages_total{"))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        t = f.read()
    return {k: int(re.search(r"%s:\s+(\d+)" % k, t).group(1)) for k in ("VmRSS", "VmHWM")}


class Readers:
    """K SSE streams spread over up to R reader processes."""

    def __init__(self, port, k, nproc, query="types=obs"):
        self.procs = []
        nproc = max(1, min(nproc, k))
        for i in range(nproc):
            n = k // nproc + (1 if i < k % nproc else 0)
            p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--reader",
                                  str(port), query, str(n)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.procs.append(p)
        self.bad = []
        for p in self.procs:
            line = readline(p, 30, "a reader to connect")
            if not line.startswith("ready "):
                raise AssertionError("reader: %r" % line)
            self.bad += json.loads(line[6:])["bad"]

    def counts(self):
        obs, dropped, nbytes, closed = [], [], 0, 0
        for p in self.procs:
            p.stdin.write("count\n")
            p.stdin.flush()
        for p in self.procs:
            j = json.loads(readline(p, 30, "reader counts"))
            obs += j["obs"]
            dropped += j["dropped"]
            nbytes += j["bytes"]
            closed += j["closed"]
        return obs, dropped, nbytes, closed

    def stop(self):
        for p in self.procs:
            try:
                p.stdin.write("stop\n")
                p.stdin.flush()
            except OSError:
                pass
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def readline(p, timeout, what):
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
    line = p.stdout.readline()
    if not line:
        raise AssertionError("%s: the process exited (%s)" % (what, p.poll()))
    return line


def stop_proc(p):
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def cpu_s(pid):
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def syscw(pid):
    """Write-type system calls the process has made (/proc/PID/io)."""
    try:
        with open("/proc/%d/io" % pid) as f:
            return int(re.search(r"syscw:\s+(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        return 0


def clients_phase(args, d, broker, sim, k, phase):
    """N messages at full rate with k SSE clients; returns a result dict.

    iocd's rate is N over the time until it has taken all N, or, when that
    takes longer than --cap seconds, the messages it took in those seconds
    (the clients then leave and iocd drains the rest before the next row)."""
    if k:
        free_slots(d, broker)
    readers = Readers(d.http_port, k, args.readers) if k else None
    sub = pub = None
    try:
        if readers and readers.bad:
            raise AssertionError("live stream refused: HTTP %s" % readers.bad)
        m0 = metrics(d)
        # Streams closed by the previous row's readers may still hold a slot
        # until iocd next writes to them (see stale_slots()).
        if k and m0.get("iocd_live_clients", 0) < k:
            raise AssertionError("iocd_live_clients = %s, expected at least %d"
                                 % (m0.get("iocd_live_clients"), k))
        n = args.count
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port),
                                "-q", "1", "-t", "pleiku/#", "-C", str(n),
                                "-i", "bench-sub-%d" % phase], stdout=subprocess.DEVNULL)
        time.sleep(0.5)  # let mosquitto_sub subscribe
        base = msgs(m0)
        w0 = syscw(d.proc.pid)
        cpu0 = {"iocd": cpu_s(d.proc.pid), "broker": cpu_s(broker.proc.pid),
                "readers": sum(cpu_s(p.pid) for p in readers.procs) if readers else 0.0}
        t0 = time.monotonic()
        pub = subprocess.Popen([sim, "--port", str(broker.port), "--feeds", "air,traffic,water",
                                "--scale", "1000", "--rate", "0", "--count", str(n),
                                "--qos", "1", "--seed", str(phase + 1), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t_sub = t_iocd = t_pub = None
        capped = False
        taken = 0
        deadline = t0 + WAIT
        while time.monotonic() < deadline and (t_sub is None or t_iocd is None or t_pub is None):
            now = time.monotonic()
            if t_pub is None and pub.poll() is not None:
                t_pub = now - t0
                if pub.returncode != 0:
                    raise AssertionError("iocd-sim failed: %s" % pub.stderr.read())
            if t_sub is None and sub.poll() is not None:
                t_sub = now - t0
            if t_iocd is None:
                if not d.alive():
                    raise AssertionError("iocd exited (%s) under load with %d clients:\n%s"
                                         % (d.proc.returncode, k, d.log_text()[-3000:]))
                taken = msgs(metrics(d)) - base
                now = time.monotonic()
                if taken >= n:
                    t_iocd = now - t0
                elif now - t0 >= args.cap:
                    t_iocd = now - t0
                    capped = True
            # /metrics costs iocd O(devices) (its per-state device gauges;
            # about 1 ms with 54,000 devices): poll it rarely while the end
            # is far, every 20 ms close to it.
            pause = 0.05
            if t_iocd is None:
                el = time.monotonic() - t0
                eta = (n - taken) * el / taken if taken else 1.0
                pause = max(0.02, min(0.5, eta / 3, args.cap - el))
            time.sleep(pause)
        if t_iocd is None or t_sub is None or t_pub is None:
            raise AssertionError("row K=%d did not finish within %d s (iocd %s, sub %s, sim %s)"
                                 % (k, WAIT, t_iocd, t_sub, t_pub))
        w1 = syscw(d.proc.pid)
        m1 = metrics(d)
        cpu1 = {"iocd": cpu_s(d.proc.pid), "broker": cpu_s(broker.proc.pid),
                "readers": sum(cpu_s(p.pid) for p in readers.procs) if readers else 0.0}
        emitted = m1['iocd_live_items_total{type="obs"}'] - m0['iocd_live_items_total{type="obs"}']
        # Every client at least at iocd's count at the end (or the cap), or no
        # progress for 3 s.
        obs, dropped_ev, nbytes, closed = [], [], 0, 0
        t_drain = time.monotonic()
        if readers:
            last, last_change = None, time.monotonic()
            while time.monotonic() - t_drain < 30:
                obs, dropped_ev, nbytes, closed = readers.counts()
                if min(obs) >= emitted:
                    break
                if obs != last:
                    last, last_change = obs, time.monotonic()
                elif time.monotonic() - last_change > 3:
                    break
                time.sleep(0.1)
        t_drain = time.monotonic() - t_drain
        m2 = metrics(d)
        if not capped:
            emitted = (m2['iocd_live_items_total{type="obs"}']
                       - m0['iocd_live_items_total{type="obs"}'])
        dropped = m2["iocd_live_dropped_total"] - m0["iocd_live_dropped_total"]
        if readers:
            readers.stop()
            readers = None
        if capped:  # iocd takes the rest without the clients before the next row
            iocdtest.wait_until(lambda: msgs(metrics(d)) - base >= n, timeout=WAIT,
                                interval=0.1, what="iocd to take the rest of the row")
        return {
            "k": k, "n": n, "cap": args.cap, "t_iocd": t_iocd, "t_sub": t_sub, "t_pub": t_pub,
            "taken": taken if capped else n, "capped": capped,
            "t_msgs": msgs(m1) - base,
            "rate": (taken if capped else n) / t_iocd, "sub_rate": n / t_sub, "emitted": emitted,
            "min_obs": min(obs) if obs else None, "max_obs": max(obs) if obs else None,
            "dropped": dropped, "dropped_events": sum(dropped_ev), "closed": closed,
            "bytes": nbytes, "drain": t_drain,
            "cpu": {x: cpu1[x] - cpu0[x] for x in cpu0},
            "rejects": sum(v for kk, v in m2.items() if kk.startswith("iocd_rejects_total"))
            - sum(v for kk, v in m0.items() if kk.startswith("iocd_rejects_total")),
            "republish_dropped": m2["iocd_republish_dropped_total"]
            - m0["iocd_republish_dropped_total"],
            "rss": rss_kb(d.proc.pid), "series": m2.get("iocd_series", 0),
            "syscw": w1 - w0,
        }
    finally:
        if readers:
            readers.stop()
        stop_proc(pub)
        stop_proc(sub)


def free_slots(d, broker):
    """Streams whose readers closed are noticed by iocd at its next write to
    them: publish a message now and then until no stream is counted."""
    deadline = time.monotonic() + 20
    n = 0
    while metrics(d).get("iocd_live_clients", 0) and time.monotonic() < deadline:
        n += 1
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
                        "-t", "pleiku/air/BENCH-SLOT/data",
                        "-m", json.dumps({"station": "BENCH-SLOT-%d" % n,
                                          "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                          "pm25": 1})],
                       check=True, timeout=10)
        time.sleep(0.3)


def stale_slots(d):
    """How long iocd keeps counting streams whose clients have gone, with no
    items flowing (it notices on its next write; a ping every 15 s)."""
    t0 = time.monotonic()
    first = metrics(d).get("iocd_live_clients", 0)
    while time.monotonic() - t0 < 20:
        if metrics(d).get("iocd_live_clients", 0) == 0:
            return "%d held, all freed after %.1f s" % (first, time.monotonic() - t0)
        time.sleep(0.1)
    return "%d held, %d still held after 20 s" % (first, metrics(d).get("iocd_live_clients", 0))


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    i = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[i]


def latency_phase(args, d, broker, sim, rate, tag):
    """Markers published while iocd-sim runs at `rate` msg/s (0: full rate)."""
    lat = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--latency-reader",
                            str(d.http_port), str(broker.port), str(args.latency_clients)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pubp = simp = None
    try:
        def progress():
            lat.stdin.write("progress\n")
            lat.stdin.flush()
            return json.loads(readline(lat, 10, "the latency reader"))
        # Both receivers connected before anything is published.
        iocdtest.wait_until(lambda: progress()["sse_hello"], timeout=10, interval=0.1,
                            what="the latency SSE client")
        time.sleep(0.5)  # mosquitto_sub to subscribe
        m = args.markers
        duration = m / args.marker_rate + 4
        simp = subprocess.Popen([sim, "--port", str(broker.port), "--feeds", "air,traffic,water",
                                 "--scale", "1000", "--rate", str(rate),
                                 "--duration", "%d" % (duration + 2),
                                 "--qos", "1", "--seed", "7", "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        pubp = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port),
                                 "-q", "1", "--nodelay", "-t", "pleiku/air/BENCH/data", "-l",
                                 "-i", "bench-markers-%s" % tag],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(2.0)  # the simulator up to speed, mosquitto_pub connected
        m0 = metrics(d)
        sent = {}
        t0 = time.monotonic()
        for i in range(m):
            target = t0 + i / args.marker_rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            station = "BENCH-%s-%d" % (tag, i)
            ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            pubp.stdin.write(('{"station":"%s","ts":"%s","pm25":%d}\n'
                              % (station, ts, i)).encode())
            pubp.stdin.flush()
            sent[station] = (time.monotonic(), i)
        t_last = time.monotonic()
        stop_proc(simp)  # the load ran while the markers were published
        # The stragglers: every marker on both paths, or no progress for 3 s (30 s at most).
        last, last_change = None, time.monotonic()
        while time.monotonic() - t_last < 30:
            if not d.alive():
                raise AssertionError("iocd exited (%s) during the latency phase:\n%s"
                                     % (d.proc.returncode, d.log_text()[-3000:]))
            p = progress()
            if p["sse"] >= m and p["mqtt"] >= m:
                break
            now = (p["sse"], p["mqtt"])
            if now != last:
                last, last_change = now, time.monotonic()
            elif time.monotonic() - last_change > 3:
                break
            time.sleep(0.2)
        m1 = metrics(d)
        lat.stdin.write("stop\n")
        lat.stdin.flush()
        res = json.loads(readline(lat, 30, "latency results"))
        sse_lat, mqtt_lat, bad_values = [], [], 0
        for st, (t, v) in sent.items():
            for got in res["sse"]:  # every client's latency counts
                if st in got:
                    ta, val = got[st]
                    sse_lat.append((ta - t) * 1000)
                    if val != v:
                        bad_values += 1
            if st in res["mqtt"]:
                mqtt_lat.append((res["mqtt"][st] - t) * 1000)
        return {"tag": tag, "rate": rate, "markers": m, "sse": sse_lat, "mqtt": mqtt_lat,
                "clients": args.latency_clients,
                "sse_n": min(len(got) for got in res["sse"]), "mqtt_n": len(mqtt_lat), "bad_values": bad_values,
                "pub_span": t_last - t0,
                "republish_dropped": m1["iocd_republish_dropped_total"]
                - m0["iocd_republish_dropped_total"],
                "republished": m1["iocd_republished_total"] - m0["iocd_republished_total"]}
    finally:
        if pubp:
            try:
                pubp.stdin.close()
            except OSError:
                pass
            try:
                pubp.wait(10)
            except subprocess.TimeoutExpired:
                stop_proc(pubp)
        stop_proc(simp)
        if lat.poll() is None:
            try:
                lat.wait(10)
            except subprocess.TimeoutExpired:
                lat.kill()
                lat.wait(5)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--count", type=int, default=40000,
                    help="messages published at full rate per client count (default 40000)")
    ap.add_argument("--clients", default="1,4,16,64,128",
                    help="SSE client counts to try, comma separated (a 0-client baseline "
                         "runs first and last)")
    ap.add_argument("--cap", type=float, default=15.0,
                    help="seconds a row measures iocd at most (default 15)")
    ap.add_argument("--readers", type=int, default=2, help="reader processes (default 2)")
    ap.add_argument("--client-buffer", default="1MiB", help="[http] client_buffer")
    ap.add_argument("--markers", type=int, default=1000, help="markers per latency phase")
    ap.add_argument("--marker-rate", type=float, default=200.0, help="markers per second")
    ap.add_argument("--moderate-rate", type=int, default=500,
                    help="simulator msg/s during the moderate latency phase")
    ap.add_argument("--extra-config", default="",
                    help="more iocd configuration, e.g. '[ingest]\\ndedup_horizon = 0' "
                         "(\\n: a new line)")
    ap.add_argument("--skip-clients", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--reader", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--latency-clients", type=int, default=1,
                    help="SSE clients the latency part streams to, each measured (default 1)")
    ap.add_argument("--latency-reader", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reader:
        return reader_main(int(args.reader[0]), args.reader[1], int(args.reader[2]))
    if args.latency_reader:
        return latency_reader_main(int(args.latency_reader[0]), int(args.latency_reader[1]),
                                   int(args.latency_reader[2]))

    iocdtest.IOCD = os.path.join(args.build, "daemon", "iocd")
    iocdtest.IOCCTL = os.path.join(args.build, "tools", "iocctl")
    sim = os.path.join(args.build, "tools", "iocd-sim")
    ks = [int(x) for x in args.clients.split(",") if x.strip()]
    started = time.monotonic()

    work = tempfile.mkdtemp(prefix="iocd-bench-live-")
    broker = iocdtest.Broker(work).start()
    with open(os.path.join(ROOT, "config", "iocd.conf")) as f:
        feeds = f.read().split("# ---------------------------------------------------------------------------", 1)[1]
    port = iocdtest.free_port()
    extra = ("[http]\nlisten = 127.0.0.1:%d\nmax_clients = %d\nclient_buffer = %s\n"
             % (port, max(ks + [1, args.latency_clients]) + 8, args.client_buffer))
    extra += "\n" + args.extra_config.replace("\\n", "\n") + "\n"
    d = iocdtest.Iocd(work, broker, feeds, extra=extra, flush="100ms")
    d.http_port = port
    rows, lats = [], []
    failure = None
    try:
        d.start()
        iocdtest.wait_until(lambda: d.http("/healthz")[0] == 200, timeout=10,
                            what="iocd's HTTP server")
        print("iocd %s, broker port %d, http port %d, %d messages per K at full rate, "
              "client_buffer %s, %d CPUs, load average %.1f"
              % (iocdtest.IOCD, broker.port, port, args.count, args.client_buffer,
                 os.cpu_count(), os.getloadavg()[0]), flush=True)
        if not args.skip_clients:
            plan = [0] + ks + [0]
            for i, k in enumerate(plan):
                time.sleep(1.5)  # a new second: no device timestamp repeats across phases
                r = clients_phase(args, d, broker, sim, k, i)
                rows.append(r)
                print("  K=%-4d iocd %7.0f msg/s  bare sub %7.0f msg/s  obs emitted %d  "
                      "client min/max %s/%s  dropped %d  (%.1f s)"
                      % (k, r["rate"], r["sub_rate"], r["emitted"], r["min_obs"], r["max_obs"],
                         r["dropped"], time.monotonic() - started), flush=True)
                if k and k == max(ks):
                    stale = stale_slots(d)
                    print("  live-stream slots after these %d clients closed (no items "
                          "flowing): %s" % (k, stale), flush=True)
        if not args.skip_latency:
            for rate, tag in ((args.moderate_rate, "m"), (0, "f")):
                time.sleep(1.5)
                r = latency_phase(args, d, broker, sim, rate, tag)
                lats.append(r)
                print("  latency sim %s: SSE %d/%d markers, MQTT %d/%d (%.1f s)"
                      % (rate or "full rate", r["sse_n"], r["markers"], r["mqtt_n"],
                         r["markers"], time.monotonic() - started), flush=True)
    except AssertionError as e:
        failure = str(e)
    finally:
        final = None
        try:
            if d.alive():
                final = metrics(d)
        except Exception:
            pass
        alive = d.alive()
        rss = rss_kb(d.proc.pid) if alive else None
        log_tail = d.log_text()[-2000:]
        try:
            rc = d.stop()
        except AssertionError as e:
            rc = str(e)
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(rows, lats, final, rss, rc, failure, log_tail, time.monotonic() - started)
    return 1 if failure else 0


def report(rows, lats, final, rss, rc, failure, log_tail, elapsed):
    best = None
    if rows:
        base_rows = [r for r in rows if r["k"] == 0]
        base = sum(r["rate"] for r in base_rows) / len(base_rows)
        base_w = sum(r["syscw"] / r["t_msgs"] for r in base_rows) / len(base_rows)
        print()
        print("Live-stream clients, iocd-sim --rate 0 (%d messages per row, iocd measured "
              "for at most %.0f s)" % (rows[0]["n"], rows[0]["cap"]))
        print("%5s %8s %8s %6s %6s %8s %9s %8s %8s %6s %9s %8s %9s %8s"
              % ("K", "iocd/s", "bare/s", "/base", "/bare", "obs", "client/s", "got-min",
                 "dropped", "drain", "cpu iocd", "us/msg", "readers", "keeps-up"))
        for r in rows:
            ratio = r["rate"] / base
            got = r["min_obs"]
            ok = r["k"] == 0 or (got >= r["emitted"] and r["dropped"] == 0 and ratio >= 0.95)
            if r["k"] and ok and (best is None or r["k"] > best):
                best = r["k"]
            per_client = (min(got, r["emitted"]) / (r["t_iocd"] + r["drain"])) if r["k"] else 0
            print("%5d %8.0f %8.0f %6.2f %6.2f %8d %9.0f %8s %8d %5.1fs %8.1fs %8.0f %8.1fs %8s"
                  % (r["k"], r["rate"], r["sub_rate"], ratio, r["rate"] / r["sub_rate"],
                     r["emitted"], per_client, "-" if got is None else got,
                     r["dropped"], r["drain"], r["cpu"]["iocd"],
                     r["cpu"]["iocd"] * 1e6 / max(1, r["taken"]), r["cpu"]["readers"],
                     "-" if r["k"] == 0 else ("yes" if ok else "no")
                     + (" (cap)" if r["capped"] else "")))
        print("  baseline = mean of the 0-client rows (%s msg/s); obs = "
              "iocd_live_items_total{type=\"obs\"} during the row; per-client/s = the slowest "
              "client's items over ingest+drain time; dropped = iocd_live_dropped_total; "
              "cpu = CPU seconds of iocd and of the reader processes during the row, us/msg = "
              "iocd's CPU per message taken (robust on a busy machine); (cap): "
              "iocd had not taken the N messages after --cap s, its rate is what it took by then"
              % " ".join("%.0f" % r["rate"] for r in base_rows))
        for r in rows:
            if r["rejects"] or r["republish_dropped"] or r["closed"] or r["dropped_events"]:
                print("  K=%d: rejects %d, republish dropped %d, streams closed by iocd %d, "
                      "'event: dropped' records %d"
                      % (r["k"], r["rejects"], r["republish_dropped"], r["closed"],
                         r["dropped_events"]))
        print("  iocd write syscalls per obs item and client (K>0: (syscw - syscw at K=0 per "
              "message) / (obs x K)): %s"
              % " ".join("%d:%.2f" % (r["k"], (r["syscw"] - r["t_msgs"] * base_w) /
                                      max(1, r["emitted"] * r["k"]))
                         for r in rows if r["k"]))
        print("  iocd RSS after each row (KiB): %s; series: %s"
              % (" ".join("%d:%d" % (r["k"], r["rss"]["VmRSS"]) for r in rows),
                 " ".join("%d" % r["series"] for r in rows)))
    for r in lats:
        print()
        print("Publish -> live latency, iocd-sim at %s, %d markers at %.0f/s over %.1f s"
              % ("%d msg/s" % r["rate"] if r["rate"] else "full rate", r["markers"],
                 r["markers"] / r["pub_span"] if r["pub_span"] else 0, r["pub_span"]))
        print("%-22s %6s %9s %9s %9s %9s %6s" % ("", "got", "median", "p90", "p99", "max", "lost"))
        for name, xs, n in (("SSE /api/v1/live x%d" % r["clients"], r["sse"], r["clients"]),
                            ("MQTT ioc/v1/obs/...", r["mqtt"], 1)):
            print("%-22s %6d %7.2fms %7.2fms %7.2fms %7.2fms %6d"
                  % (name, len(xs), pct(xs, 0.5), pct(xs, 0.9), pct(xs, 0.99),
                     max(xs) if xs else float("nan"), r["markers"] * n - len(xs)))
        print("  iocd republish during the markers: %d published, %d dropped "
              "(iocd_republish_dropped_total)" % (r["republished"], r["republish_dropped"]))
        if r["bad_values"]:
            print("  !! %d markers arrived with a wrong pm25 value" % r["bad_values"])
    print()
    if final:
        print("iocd at the end: live clients %d, live items sent %d, dropped %d, "
              "republished %d (dropped %d), RSS %s KiB (peak %s), exit status %s"
              % (final.get("iocd_live_clients", -1), final.get("iocd_live_items_sent_total", -1),
                 final.get("iocd_live_dropped_total", -1), final.get("iocd_republished_total", -1),
                 final.get("iocd_republish_dropped_total", -1),
                 rss["VmRSS"] if rss else "?", rss["VmHWM"] if rss else "?", rc))
    if failure:
        print("FAILED: %s" % failure)
        print("iocd log tail:\n%s" % log_tail)
    summary = []
    if rows:
        summary.append("largest K keeping up: %s" % (best if best is not None else "none"))
    for r in lats:
        summary.append("latency p50/p99 SSE (%d clients) %.1f/%.1f ms, MQTT %.1f/%.1f ms (sim %s)"
                       % (r["clients"], pct(r["sse"], 0.5), pct(r["sse"], 0.99),
                          pct(r["mqtt"], 0.5), pct(r["mqtt"], 0.99), r["rate"] or "full"))
    print("live: %s; %.0f s, load average %.1f%s"
          % ("; ".join(summary), elapsed, os.getloadavg()[0], "; FAILED" if failure else ""))


if __name__ == "__main__":
    sys.exit(main() or 0)
