#!/usr/bin/env python3
"""bench/run.py — iocd's ingest beside the bare MQTT clients, a fresh broker per row.

Owns the benchmark of the speed issue, end to end, with nothing but the
standard library, the build folder and mosquitto: it starts every process
it measures, on 127.0.0.1 only, and stops exactly those, by PID.

Rows, interleaved inside each repetition (so every ratio compares runs of
the same moment), each with its own mosquitto on a free port:
  mosquitto_sub  `mosquitto_sub -C N`, output to /dev/null: the reference rate
  count          build/bench/bench-count: a libmosquitto client that only
                 counts: the reference CPU per message
  iocd           build/daemon/iocd, one [adapter aq] json section mapping the
                 ten fields; besides the broker, database and HTTP port only
                 [mqtt] qos is set (to the row's QoS); all else default
  iocd-norepub   the same with [live] prefix = (no MQTT republish)
  iocd-base      with --baseline DIR: DIR/daemon/iocd, configured as `iocd`
                 (another build, e.g. the commit before an optimisation,
                 measured interleaved with this one: an A/B in the same run)
The load is build/bench/bench-pub: N messages of a 13-field air-quality JSON
payload (10,000 sensors, 10 numbers, an ISO-8601 time near now) on
pleiku/env/aq/<id>, published as fast as the broker takes them, at the
row's QoS (bench-pub --inflight, default 1000, at QoS 1).

Modes:
  live     the subscriber is up; the publisher sends N; rate = N / (first
           message published -> the subscriber has all N)
  backlog  the subscriber connects once with a persistent session and leaves;
           N are published and queued by the broker (max_queued_messages 0,
           queue_qos0_messages on); rate = N / (the subscriber starts again ->
           it has all N)
iocd "has" a message once it received, aggregated and committed it: /metrics
iocd_messages_total >= N, and iocd_unwritten and iocd_pending_samples are 0
(samples reach the database with the next flush, [store] flush_interval 1 s
by default, so the rate includes up to one flush interval).

Columns: msg/s; vs_sub, the rate over mosquitto_sub's in the same repetition;
cpu_us, the subscriber's CPU (user + system, all threads) per message over
the measured span; vs_count, that over the counting client's; rss_mib, the
subscriber's peak RSS (VmHWM, read while it runs); broker_s, the broker's CPU seconds
during the span. The table gives medians over the repetitions.

Usage: bench/run.py [--count N] [--reps R] [--qos 0,1] [--mode live,backlog]
                    [--rows mosquitto_sub,count,iocd,iocd-norepub,iocd-base]
                    [--baseline DIR]
                    [--build DIR] [--timeout SECONDS] [--inflight K]
Exits 1 if any row did not complete.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = ["mosquitto_sub", "count", "iocd", "iocd-norepub", "iocd-base"]
TOPIC = "pleiku/env/aq/+"
PERSISTENT_ID = "bench-sub"
CLK_TCK = os.sysconf("SC_CLK_TCK")

AQ_ADAPTER = """[adapter aq]
topic = pleiku/env/aq/+
format = json
device = $.sensor_id
time = $.ts
metric.pm25 = $.pm25 ug/m3
metric.pm10 = $.pm10 ug/m3
metric.no2 = $.no2 ug/m3
metric.o3 = $.o3 ug/m3
metric.co = $.co mg/m3
metric.temperature = $.temp_c Cel
metric.humidity = $.humidity %
metric.pressure = $.pressure_hpa hPa
metric.battery = $.battery_v V
metric.rssi = $.rssi dBm
"""


class RowFailed(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid):
    """utime + stime of a live process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def wait_for(pred, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise RowFailed("timed out after %.0f s waiting for %s" % (timeout, what))


class Started:
    """Every process this run started, so that each is stopped by its PID."""

    def __init__(self):
        self.procs = []

    def popen(self, cmd, **kw):
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, timeout=15):
        if p.returncode is None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p)


class Broker:
    def __init__(self, started, workdir):
        self.started = started
        self.port = free_port()
        self.log = os.path.join(workdir, "mosquitto.log")
        conf = os.path.join(workdir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nqueue_qos0_messages true\n"
                    "log_dest stderr\nlog_type error\nlog_type warning\nlog_type subscribe\n"
                    % self.port)
        # The log goes through stderr (unbuffered): a broker started as root writes as
        # the mosquitto user, who may not open a file in our folder.
        with open(self.log, "wb") as log:
            self.proc = started.popen(["mosquitto", "-c", conf], stdout=log,
                                      stderr=subprocess.STDOUT)
        wait_for(self._accepting, 10, "mosquitto to listen")

    def _accepting(self):
        if self.proc.poll() is not None:
            raise RowFailed("mosquitto exited with %s" % self.proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def subscriptions(self):
        """SUBSCRIBEs to TOPIC the broker has logged."""
        try:
            with open(self.log) as f:
                return sum(1 for line in f if line.rstrip().endswith(" " + TOPIC))
        except OSError:
            return 0

    def cpu(self):
        return cpu_s(self.proc.pid)

    def wait_idle(self, timeout):
        """Until the broker's CPU time stops growing (it has taken in what it was sent)."""
        deadline = time.monotonic() + timeout
        last = self.cpu()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.cpu()
            if now == last:
                return
            last = now

    def stop(self):
        self.started.stop(self.proc)


class ChildWatch:
    """Waits for a child in a thread: its exit time, status and rusage."""

    def __init__(self, proc, on_exit=None):
        self.proc = proc
        self.on_exit = on_exit
        self.t_end = None
        self.rusage = None
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self):
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.t_end = time.time()
        if self.on_exit:
            self.on_exit()
        self.rusage = ru
        self.proc.returncode = os.waitstatus_to_exitcode(status)

    def join(self, timeout):
        self.thread.join(timeout)
        return not self.thread.is_alive()


class Iocd:
    def __init__(self, started, args, workdir, broker, qos, republish, build=None):
        self.started = started
        self.exe = os.path.join(build or args.build, "daemon", "iocd")
        self.http = free_port()
        self.conf = os.path.join(workdir, "iocd.conf")
        self.log = os.path.join(workdir, "iocd.log")
        self.proc = None
        with open(self.conf, "w") as f:
            f.write("[mqtt]\nhost = 127.0.0.1\nport = %d\nqos = %d\n\n" % (broker.port, qos))
            f.write("[store]\npath = %s\n\n" % os.path.join(workdir, "iocd.db"))
            f.write("[http]\nlisten = 127.0.0.1:%d\n\n" % self.http)
            if not republish:
                f.write("[live]\nprefix =\n\n")
            f.write(AQ_ADAPTER)

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = self.started.popen([self.exe, "--config", self.conf], stdout=log,
                                           stderr=subprocess.STDOUT)
        return self.proc

    def metrics(self):
        """/metrics as {name: value summed over labels}; None while it does not answer."""
        if self.proc.poll() is not None:
            raise RowFailed("iocd exited with %s; see %s" % (self.proc.returncode, self.log))
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.http,
                                        timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return None
        out = {}
        for line in text.splitlines():
            if not line or line[0] == "#":
                continue
            name, _, value = line.rpartition(" ")
            name = name.split("{", 1)[0]
            try:
                out[name] = out.get(name, 0.0) + float(value)
            except ValueError:
                pass
        return out

    def stop(self):
        if self.proc:
            self.started.stop(self.proc, timeout=30)


def client_cmd(args, row, port, qos, n, persistent, register=False):
    if row == "mosquitto_sub":
        cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", TOPIC, "-q", str(qos)]
        if persistent:
            cmd += ["-c", "-i", PERSISTENT_ID]
        return cmd + (["-E"] if register else ["-C", str(n), "-W", str(int(args.timeout))])
    cmd = [os.path.join(args.build, "bench", "bench-count"), "--port", str(port), "--qos",
           str(qos), "--count", str(n), "--timeout", str(args.timeout)]
    if persistent:
        cmd += ["--id", PERSISTENT_ID]
    return cmd + (["--register"] if register else [])


def publish(started, args, broker, qos, workdir):
    out = os.path.join(workdir, "pub.out")
    with open(out, "w") as f:
        p = started.popen([os.path.join(args.build, "bench", "bench-pub"), "--port",
                           str(broker.port), "--qos", str(qos), "--count", str(args.count),
                           "--inflight", str(args.inflight), "--timeout", str(args.timeout)],
                          stdout=f, stderr=subprocess.STDOUT)
    return p, out


def publish_result(started, p, out, timeout):
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        started.stop(p)
        raise RowFailed("the publisher did not finish in %.0f s" % timeout)
    started.stop(p)
    with open(out) as f:
        text = f.read()
    if p.returncode != 0:
        raise RowFailed("the publisher failed: %s" % text.strip())
    kv = dict(w.split("=", 1) for w in text.split() if "=" in w)
    return float(kv["start_epoch"]), float(kv["rate"])


def iocd_done(d, n):
    def pred():
        m = d.metrics()
        if (m and m.get("iocd_messages_total", 0) >= n and m.get("iocd_unwritten", 1) == 0
                and m.get("iocd_pending_samples", 1) == 0):
            return m
        return None
    return pred


def run_row(started, args, mode, qos, row, workdir):
    """One row on a fresh broker; returns its measurements."""
    n = args.count
    broker = Broker(started, workdir)
    backlog = mode == "backlog"
    res = {"row": row, "mode": mode, "qos": qos}
    try:
        is_iocd = row.startswith("iocd")
        d = Iocd(started, args, workdir, broker, qos, row != "iocd-norepub",
                 args.baseline if row == "iocd-base" else None) if is_iocd else None
        subs_before = broker.subscriptions()

        if backlog:
            # Register the persistent session, leave, queue N for it.
            if is_iocd:
                d.start()
                wait_for(lambda: broker.subscriptions() > subs_before, 20, "iocd to subscribe")
                d.stop()
            else:
                p = started.popen(client_cmd(args, row, broker.port, qos, n, True, True),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    raise RowFailed("%s did not register its session" % row)
                started.stop(p)
            pub, out = publish(started, args, broker, qos, workdir)
            _, res["pub_rate"] = publish_result(started, pub, out, args.timeout)
            broker.wait_idle(30)
            broker_cpu0 = broker.cpu()
            t0 = time.time()
            sub = d.start() if is_iocd else started.popen(
                client_cmd(args, row, broker.port, qos, n, True), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            sub_cpu0 = 0.0
        else:
            if is_iocd:
                sub = d.start()
            else:
                sub = started.popen(client_cmd(args, row, broker.port, qos, n, False),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(lambda: broker.subscriptions() > subs_before, 20, row + " to subscribe")
            if is_iocd:
                wait_for(d.metrics, 20, "iocd's /metrics")
            sub_cpu0 = cpu_s(sub.pid)
            broker_cpu0 = broker.cpu()
            pub, out = publish(started, args, broker, qos, workdir)

        broker_cpu = {}
        if is_iocd:
            m = wait_for(iocd_done(d, n), args.timeout, "iocd to commit %d messages" % n)
            t_end = time.time()
            broker_cpu["end"] = broker.cpu()
            res["cpu_s"] = cpu_s(sub.pid) - sub_cpu0
            res["rss_kib"] = hwm_kib(sub.pid)
            bad = m.get("iocd_rejects_total", 0) + m.get("iocd_duplicates_total", 0)
            if bad or m.get("iocd_observations_total", 0) < 10 * n:
                raise RowFailed("iocd stored %d observations of %d, %d rejects or duplicates"
                                % (m.get("iocd_observations_total", 0), 10 * n, bad))
        else:
            w = ChildWatch(sub, on_exit=lambda: broker_cpu.__setitem__("end", broker.cpu()))
            # ru_maxrss of a child counts the memory of the forking Python
            # too: read the client's own VmHWM while it runs instead.
            deadline = time.monotonic() + args.timeout + 10
            hwm = 0
            while not w.join(0.05) and time.monotonic() < deadline:
                try:
                    hwm = max(hwm, hwm_kib(sub.pid))
                except (OSError, ValueError):
                    pass
            if not w.join(0):
                started.stop(sub)
                w.join(10)
                raise RowFailed("%s did not receive %d messages in time" % (row, n))
            started.stop(sub)
            if sub.returncode != 0:
                raise RowFailed("%s exited with %s before receiving %d" % (row, sub.returncode, n))
            t_end = w.t_end
            res["cpu_s"] = w.rusage.ru_utime + w.rusage.ru_stime - sub_cpu0
            res["rss_kib"] = hwm
        if backlog:
            res["elapsed"] = t_end - t0
        else:
            start_epoch, res["pub_rate"] = publish_result(started, pub, out, args.timeout)
            res["elapsed"] = t_end - start_epoch
        res["rate"] = n / res["elapsed"] if res["elapsed"] > 0 else float("nan")
        res["broker_s"] = broker_cpu["end"] - broker_cpu0
        if d:
            d.stop()
        return res
    finally:
        started.stop_all()


def fmt_row(r):
    return ("%-7s qos%d %-13s %9.0f msg/s %7.1f us/msg %7.1f MiB  broker %6.2f s  (pub %.0f msg/s)"
            % (r["mode"], r["qos"], r["row"], r["rate"], r["cpu_s"] * 1e6 / r["n"],
               r["rss_kib"] / 1024, r["broker_s"], r["pub_rate"]))


def summary(results, modes, qoss, rows):
    def med(xs):
        return statistics.median(xs) if xs else float("nan")
    print()
    print("%-7s %-3s %-13s %9s %7s %8s %8s %8s %8s" % (
        "mode", "qos", "row", "msg/s", "vs_sub", "cpu_us", "vs_count", "rss_mib", "broker_s"))
    missing = 0
    for mode in modes:
        for qos in qoss:
            for row in rows:
                mine = [r for r in results if (r["mode"], r["qos"], r["row"]) == (mode, qos, row)]
                if not mine:
                    missing += 1
                    print("%-7s %-3d %-13s  (no completed run)" % (mode, qos, row))
                    continue
                vs_sub, vs_count = [], []
                for r in mine:
                    for ref, out, key in (("mosquitto_sub", vs_sub, "rate"),
                                          ("count", vs_count, "cpu_s")):
                        base = [b for b in results if (b["mode"], b["qos"], b["row"], b["rep"])
                                == (mode, qos, ref, r["rep"])]
                        if base and base[0][key] > 0:
                            out.append(r[key] / base[0][key])
                print("%-7s %-3d %-13s %9.0f %7.2f %8.1f %8.2f %8.1f %8.2f" % (
                    mode, qos, row, med([r["rate"] for r in mine]), med(vs_sub),
                    med([r["cpu_s"] * 1e6 / r["n"] for r in mine]), med(vs_count),
                    med([r["rss_kib"] / 1024 for r in mine]), med([r["broker_s"] for r in mine])))
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--count", type=int, default=300000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--mode", default="live,backlog")
    ap.add_argument("--rows", default="mosquitto_sub,count,iocd,iocd-norepub")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--baseline", default=None,
                    help="another build whose daemon/iocd is the row iocd-base")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="limit of every wait, seconds (default 300)")
    ap.add_argument("--inflight", type=int, default=1000, help="publisher's QoS 1 window")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if args.baseline:
        args.baseline = os.path.abspath(args.baseline)
    qoss = [int(q) for q in args.qos.split(",")]
    modes = args.mode.split(",")
    rows = args.rows.split(",")
    if (args.count < 1 or args.reps < 1 or any(q not in (0, 1) for q in qoss)
            or any(m not in ("live", "backlog") for m in modes)
            or any(r not in ROWS for r in rows)):
        ap.error("bad --count, --reps, --qos, --mode or --rows")
    if ("iocd-base" in rows) != bool(args.baseline):
        ap.error("the row iocd-base and --baseline DIR go together")
    if args.baseline and not os.access(os.path.join(args.baseline, "daemon/iocd"), os.X_OK):
        ap.error("no daemon/iocd in %s" % args.baseline)
    for exe in ("daemon/iocd", "bench/bench-pub", "bench/bench-count"):
        if not os.access(os.path.join(args.build, exe), os.X_OK):
            ap.error("no %s in %s (build first: ninja -C %s)" % (exe, args.build, args.build))
    for tool in ("mosquitto", "mosquitto_sub"):
        if not shutil.which(tool):
            ap.error("%s is not on PATH" % tool)

    print("N=%d reps=%d qos=%s mode=%s, %d CPUs, load %s" % (
        args.count, args.reps, args.qos, args.mode, os.cpu_count(),
        open("/proc/loadavg").read().split()[0]))
    started = Started()
    work = tempfile.mkdtemp(prefix="iocd-bench-")
    results = []
    try:
        for rep in range(1, args.reps + 1):
            for mode in modes:
                for qos in qoss:
                    for row in rows:
                        rowdir = os.path.join(work, "%d-%s-%d-%s" % (rep, mode, qos, row))
                        os.mkdir(rowdir)
                        try:
                            r = run_row(started, args, mode, qos, row, rowdir)
                        except RowFailed as e:
                            print("rep %d %-7s qos%d %-13s FAILED: %s" % (rep, mode, qos, row, e),
                                  flush=True)
                            continue
                        r["rep"], r["n"] = rep, args.count
                        results.append(r)
                        print("rep %d %s" % (rep, fmt_row(r)), flush=True)
                        shutil.rmtree(rowdir, ignore_errors=True)
    finally:
        started.stop_all()
    missing = summary(results, modes, qoss, rows)
    failed = len(modes) * len(qoss) * len(rows) * args.reps - len(results)
    if failed:
        print("\n%d runs failed; their folders are kept under %s" % (failed, work))
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
