"""Owns: the unit's promises checked under a real systemd. A Debian 12
container boots with systemd as PID 1 (tests/integration/container.py: a
cached debootstrap tree, systemd-nspawn --boot, its own network namespace),
iocd goes in with `meson install --destdir` of the build under test (the
unit as shipped, systemd/iocd.service.in), mosquitto runs inside as
mosquitto.service, and every client (mosquitto_pub/sub, curl, iocctl,
systemctl, journalctl) runs inside through nsenter. In order:

1. `systemctl start iocd` stays "activating" while the broker is down
   (iocd cannot subscribe, so it sends no READY=1) and turns active only
   after it subscribed: the blocking start returns then, StatusText is the
   one READY=1 carries, and the unit became active after mosquitto did.
2. `systemctl restart` twice during a paced QoS 1 stream of numbered
   messages: each raw value stored exactly once, window counts and sums
   exact.
3. `systemctl reload`: a new [adapter] takes its topic, an invalid file is refused with
   file:line and the old configuration keeps working; MainPID unchanged.
4. SIGKILL: Restart=on-failure restarts it (NRestarts + 1, new MainPID),
   what was stored stays, what the broker queued meanwhile arrives once.
5. SIGSTOP (a hung loop): the watchdog kills it and it is restarted.
   WatchdogSec=2s through a drop-in so the test waits 2 s, not the
   shipped 30 s (checked to be back at 30 s afterwards).
6. `journalctl -u iocd IOCD_FEED=jrnl` gives exactly the rejects of that
   feed, with IOCD_REASON, IOCD_TOPIC and PRIORITY.
7. The sandboxed unit with every feature on (HTTP API, console, live stream,
   MQTT republish protobuf and JSON, closed windows, dead letter, VN_AQI,
   alerts) plus the sandboxed iocd-backup.service: each answers, and the
   journal of both units holds no SIGSYS, "Bad system call", permission
   error or error line.
8. Full disk: the state directory on an 8 MiB tmpfs filled to the last
   byte during a QoS 1 stream, back-pressure on, `systemctl restart`: the
   stop waits (iocd keeps retrying the flush) until TimeoutStopSec (5 s
   through a drop-in; 60 s shipped) and systemd kills it; the new iocd
   cannot start on the full disk (Restart=on-failure retries) until the
   space comes back. Lost: exactly what iocd held unwritten at the stop,
   and no more than [ingest] max_unwritten plus what was already read off
   the socket (the bound of README "What iocd promises"); none stored twice.

Skips (77) only when the environment cannot run a container: not root, no
systemd-nspawn or debootstrap (tools/deps.sh installs them), no user
namespaces (inside a chroot the kernel refuses them, and the unit's
PrivateUsers=yes needs them), the tree cannot be bootstrapped (no mirror),
or nspawn cannot boot it. The
first run bootstraps the tree (about a minute), later runs reuse it; see
container.py for where it is cached and how to clear it.
Registered only in a build without sanitizers (tools/test.sh runs it once),
in the suites `integration` and `container`; docs/container_test.md."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import container as ctr
from iocdtest import IOCCTL, IOCD, IOCD_SIM, wait_until

DB = "/var/lib/iocd/iocd.db"
CONF = "/etc/iocd/iocd.conf"
DROPIN = "/etc/systemd/system/iocd.service.d/50-test.conf"
DESCRIPTION = "iocd city operations centre daemon (MQTT ingest and aggregates)"
BOX = None  # the booted container, made by main()

BASE_CONF = """[mqtt]
host = 127.0.0.1
port = 1883
client_id = iocd-container
reconnect_min = 100ms
reconnect_max = 1s

[store]
timezone = +07:00
# The checks read stored windows back right away (the default waits 10 s).
window_write_delay = 0

[ingest]
dead_letter_topic = iocd/dead
%(ingest)s
[live]
json = true
windows = 1m

[http]
listen = 127.0.0.1:8080

[aqi]
adapter = air

[alert pm25_high]
type = threshold
match = air/+/pm25
above = 55
clear = 50
severity = major
text = PM2.5 above 55

[adapter air]
topic = pleiku/air/+/data
format = json
device = $.station
time = $.ts
metric.pm25 = $.pm25 ug/m3
metric.pm10 = $.pm10 ug/m3

[adapter stream]
topic = test/stream/+
format = json
device = $.d
time = $.t
time_format = ms
metric.n = $.n 1

[adapter jrnl]
topic = test/jrnl/+
format = json
device = $.d
time = $.t
time_format = ms
metric.n = $.n 1
%(adapters)s"""

EXTRA_ADAPTER = """
[adapter extra]
topic = test/extra/+
format = json
device = $.d
time = $.t
time_format = ms
metric.n = $.n 1
"""

MOSQUITTO_CONF = """# iocd's container test: the broker on the container's own loopback,
# queueing whatever iocd's persistent session misses.
listener 1883 127.0.0.1
allow_anonymous true
max_queued_messages 0
"""


def conf(ingest="", adapters=""):
    return BASE_CONF % {"ingest": ingest, "adapters": adapters}


def base_ms():
    """Two hours ago, on a whole minute: observation times of the streams."""
    return (int(time.time()) // 60 - 120) * 60000


def msg(device, t_ms, n):
    return json.dumps({"d": device, "t": t_ms, "n": n})


class ContainerTest(unittest.TestCase):
    maxDiff = None

    # --- helpers, all inside the container ---

    def sh(self, *argv, **kw):
        return BOX.run(list(argv), **kw)

    def systemctl(self, *args, check=True, timeout=90):
        return self.sh("systemctl", *args, check=check, timeout=timeout)

    def show(self, unit, *props):
        out = self.systemctl("show", unit, *["-p" + p for p in props]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def prop(self, name, unit="iocd"):
        return self.show(unit, name)[name]

    def cursor(self):
        """The journal's newest entry: read only what comes after it."""
        out = self.sh("journalctl", "-n", "1", "-o", "json", "--no-pager").stdout
        return json.loads(out.splitlines()[-1])["__CURSOR"]

    def journal(self, *args, after=None):
        argv = ["journalctl", "--no-pager", "-o", "cat"] + list(args)
        if after:
            argv.append("--after-cursor=" + after)
        return self.sh(*argv).stdout.splitlines()

    def publish(self, topic, lines):
        self.sh("mosquitto_pub", "-h", "127.0.0.1", "-q", "1", "-t", topic, "-l",
                input="\n".join(lines) + "\n")

    def http(self, path, timeout=10):
        r = self.sh("curl", "-sS", "-m", str(timeout), "-w", "\n%{http_code}",
                    "http://127.0.0.1:8080" + path, timeout=timeout + 10)
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    def metrics(self):
        _, body = self.http("/metrics")
        out = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    def windows(self, series, res="1m"):
        r = self.sh("iocctl", "--db", DB, "query", series, "--resolution", res, "--json",
                    check=False)
        if r.returncode != 0:
            return []
        return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

    def stored(self, series):
        """(count, sum) over the stored 1m windows of a series."""
        ws = self.windows(series)
        return sum(w["count"] for w in ws), sum(w["sum"] for w in ws)

    def raw(self, series):
        out = self.sh("iocctl", "--db", DB, "raw", series, "--json", "--limit", "0").stdout
        return [json.loads(l)["value"] for l in out.splitlines() if l.strip()]

    def wait_stored(self, series, n, timeout=60):
        wait_until(lambda: self.stored(series)[0] >= n, timeout=timeout,
                   what="%d samples of %s stored" % (n, series))
        time.sleep(1.5)  # a late duplicate would be in the next flush
        return self.stored(series)

    def set_conf(self, text):
        BOX.write(CONF, text)

    def set_dropin(self, text):
        if text:
            BOX.write(DROPIN, text)
        elif os.path.exists(os.path.join(BOX.root, DROPIN.lstrip("/"))):
            os.unlink(os.path.join(BOX.root, DROPIN.lstrip("/")))
        self.systemctl("daemon-reload")

    def ensure_active(self):
        self.systemctl("reset-failed", "iocd", check=False)
        self.systemctl("start", "iocd")
        self.assertEqual(self.prop("ActiveState"), "active")

    def stream(self, topic, lines, rate):
        """Publish `lines` at `rate` a second from a QoS 1 mosquitto_pub inside;
        returns (thread, process)."""
        pub = BOX.popen(["mosquitto_pub", "-h", "127.0.0.1", "-q", "1", "-t", topic, "-l"],
                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)

        def feed():
            t0 = time.monotonic()
            for i, line in enumerate(lines):
                pub.stdin.write((line + "\n").encode())
                if i % 50 == 49:
                    pub.stdin.flush()
                    ahead = (i + 1) / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
            pub.stdin.close()

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        self.addCleanup(lambda: pub.poll() is None and (pub.kill(), pub.wait()))
        return t, pub

    # --- the checks ---

    def test_1_start_is_active_only_after_ready(self):
        self.systemctl("stop", "mosquitto")
        cur = self.cursor()
        start = BOX.popen(["systemctl", "start", "iocd"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
        self.addCleanup(lambda: start.poll() is None and (start.kill(), start.wait()))
        wait_until(lambda: self.prop("MainPID") != "0", timeout=20, what="iocd's process")
        # Without a broker iocd cannot subscribe: no READY=1, so 3 s later the
        # unit is still starting and `systemctl start` still waits.
        for _ in range(6):
            time.sleep(0.5)
            st = self.show("iocd", "ActiveState", "SubState", "StatusText")
            self.assertEqual(st, {"ActiveState": "activating", "SubState": "start",
                                  "StatusText": ""})
            self.assertIsNone(start.poll())
        self.assertEqual([l for l in self.journal("-u", "iocd", after=cur) if "ready" in l], [])
        self.systemctl("start", "mosquitto")
        out = start.communicate(timeout=30)[0]
        self.assertEqual(start.returncode, 0, out)
        st = self.show("iocd", "ActiveState", "SubState", "StatusText", "NRestarts",
                       "ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic")
        self.assertEqual((st["ActiveState"], st["SubState"], st["StatusText"], st["NRestarts"]),
                         ("active", "running", "subscribed, ingesting", "0"))
        broker_up = int(self.prop("ActiveEnterTimestampMonotonic", "mosquitto"))
        self.assertGreater(int(st["ActiveEnterTimestampMonotonic"]), broker_up)
        self.assertGreaterEqual(int(st["ActiveEnterTimestampMonotonic"]) -
                                int(st["ExecMainStartTimestampMonotonic"]), 3000000)
        lines = self.journal("-u", "iocd", after=cur)
        self.assertIn("mqtt: subscribed to 3 topic filter(s)", lines)
        self.assertIn("iocd: ready: ingesting 3 feed(s)", lines)
        self.assertLess(lines.index("mqtt: subscribed to 3 topic filter(s)"),
                        lines.index("iocd: ready: ingesting 3 feed(s)"))
        print("start: activating while the broker was down, active %.3f s after mosquitto, "
              "%.1f s after its process started" %
              ((int(st["ActiveEnterTimestampMonotonic"]) - broker_up) / 1e6,
               (int(st["ActiveEnterTimestampMonotonic"]) -
                int(st["ExecMainStartTimestampMonotonic"])) / 1e6))

    def test_2_restart_under_a_qos1_stream_loses_and_doubles_nothing(self):
        self.ensure_active()
        n, b = 6000, base_ms()
        t, pub = self.stream("test/stream/s1", [msg("s1", b + i * 10, i) for i in range(n)],
                             rate=1000)
        pids = [self.prop("MainPID")]
        for _ in range(2):
            time.sleep(2.0)
            self.systemctl("restart", "iocd")
            pids.append(self.prop("MainPID"))
        t.join(60)
        self.assertEqual(pub.wait(60), 0)
        self.assertEqual(len(set(pids)), 3, pids)
        self.assertEqual(self.prop("NRestarts"), "0")
        self.assertEqual(self.wait_stored("stream/s1/n", n), (n, n * (n - 1) // 2))
        self.assertEqual(sorted(self.raw("stream/s1/n")), list(range(n)))
        print("restart: %d of %d stored once through 2 restarts" % (n, n))

    def test_3_reload(self):
        self.ensure_active()
        pid = self.prop("MainPID")
        self.addCleanup(lambda: (self.set_conf(conf()), self.systemctl("restart", "iocd")))
        cur = self.cursor()
        self.set_conf(conf(adapters=EXTRA_ADAPTER))
        self.systemctl("reload", "iocd")
        wait_until(lambda: any("reload: configuration applied" in l
                               for l in self.journal("-u", "iocd", after=cur)),
                   timeout=20, what="reload: configuration applied")
        b = base_ms()
        self.publish("test/extra/e1", [msg("e1", b + i * 1000, i) for i in range(5)])
        self.assertEqual(self.wait_stored("extra/e1/n", 5), (5, 10))
        # An invalid file: refused with file:line, the old one keeps working.
        good = conf(adapters=EXTRA_ADAPTER)
        bad_line = good.count("\n") + 4  # a blank line, [adapter broken], topic, format
        cur = self.cursor()
        self.set_conf(good + "\n[adapter broken]\ntopic = test/broken/+\nformat = nosuchformat\n")
        self.systemctl("reload", "iocd")
        pat = re.compile(r"reload: refused: %s:%d: \S" % (re.escape(CONF), bad_line))
        wait_until(lambda: any(pat.search(l) for l in self.journal("-u", "iocd", after=cur)),
                   timeout=20, what="reload: refused: %s:%d:" % (CONF, bad_line))
        self.publish("test/extra/e1", [msg("e1", b + (5 + i) * 1000, 5 + i) for i in range(3)])
        self.assertEqual(self.wait_stored("extra/e1/n", 8), (8, 28))
        self.assertEqual(self.show("iocd", "MainPID", "ActiveState", "NRestarts"),
                         {"MainPID": pid, "ActiveState": "active", "NRestarts": "0"})
        print("reload: [adapter extra] added (5 stored), invalid file refused at line %d "
              "(3 more stored), MainPID %s throughout" % (bad_line, pid))

    def test_4_sigkill_is_restarted_by_restart_on_failure(self):
        self.ensure_active()
        b = base_ms()
        self.publish("test/stream/k1", [msg("k1", b + i * 1000, i) for i in range(10)])
        self.assertEqual(self.wait_stored("stream/k1/n", 10), (10, 45))
        pid, restarts = self.prop("MainPID"), int(self.prop("NRestarts"))
        cur = self.cursor()
        self.sh("sh", "-c", "kill -KILL %s" % pid)
        # Published while iocd is down: the broker queues them for its session.
        self.publish("test/stream/k1", [msg("k1", b + (10 + i) * 1000, 10 + i) for i in range(5)])

        def restarted():
            st = self.show("iocd", "MainPID", "ActiveState", "NRestarts")
            return (st["ActiveState"] == "active" and st["NRestarts"] == str(restarts + 1)
                    and st["MainPID"] not in ("0", pid))
        wait_until(restarted, timeout=30, what="iocd restarted after SIGKILL")
        self.assertEqual(self.wait_stored("stream/k1/n", 15), (15, 105))
        lines = self.journal("-u", "iocd", after=cur)
        for want in ["iocd.service: Main process exited, code=killed, status=9/KILL",
                     "iocd.service: Failed with result 'signal'.",
                     "iocd.service: Scheduled restart job, restart counter is at %d."
                     % (restarts + 1)]:
            self.assertIn(want, lines)
        r = self.sh("iocctl", "check", DB, "--json")
        self.assertEqual(json.loads(r.stdout)["integrity"], "ok")
        print("SIGKILL: restarted by Restart=on-failure (NRestarts %d, MainPID %s -> %s), "
              "15 of 15 stored once" % (restarts + 1, pid, self.prop("MainPID")))

    def test_5_hung_loop_is_killed_by_the_watchdog(self):
        self.set_dropin("[Service]\nWatchdogSec=2s\n")
        self.addCleanup(self.set_dropin, None)
        self.systemctl("restart", "iocd")
        self.assertEqual(self.prop("WatchdogUSec"), "2s")
        b = base_ms()
        self.publish("test/stream/w1", [msg("w1", b + i * 1000, i) for i in range(5)])
        self.assertEqual(self.wait_stored("stream/w1/n", 5), (5, 10))
        pid, restarts = self.prop("MainPID"), int(self.prop("NRestarts"))
        cur = self.cursor()
        t0 = time.monotonic()
        self.sh("sh", "-c", "kill -STOP %s" % pid)
        wait_until(lambda: self.prop("NRestarts") == str(restarts + 1) and
                   self.prop("ActiveState") == "active", timeout=30,
                   what="the watchdog to restart a stopped iocd")
        took = time.monotonic() - t0
        self.assertNotIn(self.prop("MainPID"), ("0", pid))
        lines = self.journal("-u", "iocd", after=cur)
        want = ["iocd.service: Watchdog timeout (limit 2s)!",
                "iocd.service: Killing process %s (iocd) with signal SIGABRT." % pid]
        self.assertEqual([l for l in lines if l in want], want)
        # The kernel's core_pattern decides whether a core is dumped.
        self.assertTrue(any(re.fullmatch(r"iocd\.service: Main process exited, "
                                         r"code=(killed|dumped), status=6/ABRT", l)
                            for l in lines), lines)
        self.assertIn("iocd.service: Failed with result 'watchdog'.", lines)
        self.assertGreater(took, 1.0)
        self.publish("test/stream/w1", [msg("w1", b + (5 + i) * 1000, 5 + i) for i in range(5)])
        self.assertEqual(self.wait_stored("stream/w1/n", 10), (10, 45))
        self.set_dropin(None)
        self.systemctl("restart", "iocd")
        self.assertEqual(self.prop("WatchdogUSec"), "30s")  # as shipped
        print("watchdog: stopped iocd killed and restarted in %.1f s" % took)

    def test_6_journal_fields_filter(self):
        self.ensure_active()
        b = base_ms()
        for p in ["not json", json.dumps({"d": "j1"}), json.dumps({"d": "j1", "t": b, "n": "x"})]:
            self.sh("mosquitto_pub", "-h", "127.0.0.1", "-q", "1", "-t", "test/jrnl/j1", "-m", p)
        want = ["jrnl: rejected message on 'test/jrnl/j1': malformed: not valid JSON (at byte 0)",
                "jrnl: rejected message on 'test/jrnl/j1': missing_field: time $.t is missing",
                "jrnl: rejected message on 'test/jrnl/j1': wrong_type: $.n is a string"]
        wait_until(lambda: len(self.journal("-u", "iocd", "IOCD_FEED=jrnl")) >= 3, timeout=20,
                   what="3 journal entries with IOCD_FEED=jrnl")
        time.sleep(0.5)
        self.assertEqual(self.journal("-u", "iocd", "IOCD_FEED=jrnl"), want)
        self.assertEqual(self.journal("-u", "iocd", "IOCD_FEED=jrnl", "IOCD_REASON=wrong_type"),
                         want[2:])
        self.assertEqual(self.journal("-u", "iocd", "IOCD_TOPIC=test/jrnl/j1"), want)
        out = self.sh("journalctl", "--no-pager", "-u", "iocd", "IOCD_FEED=jrnl",
                      "-o", "json").stdout
        entries = [json.loads(l) for l in out.splitlines()]
        self.assertEqual([{k: e[k] for k in ("PRIORITY", "IOCD_FEED", "IOCD_TOPIC",
                                             "IOCD_REASON", "IOCD_SUBSYSTEM",
                                             "SYSLOG_IDENTIFIER", "_TRANSPORT")}
                          for e in entries],
                         [{"PRIORITY": "4", "IOCD_FEED": "jrnl", "IOCD_TOPIC": "test/jrnl/j1",
                           "IOCD_REASON": r, "IOCD_SUBSYSTEM": "jrnl",
                           "SYSLOG_IDENTIFIER": "iocd", "_TRANSPORT": "journal"}
                          for r in ("malformed", "missing_field", "wrong_type")])
        print("journal: IOCD_FEED=jrnl gives exactly its %d rejects" % len(want))

    def test_7_sandboxed_unit_with_every_feature(self):
        self.ensure_active()
        self.assertEqual(self.prop("FragmentPath"), "/lib/systemd/system/iocd.service")
        # Both end by themselves after 10 s (killing nsenter would leave
        # them running inside the container's PID namespace).
        sub = BOX.popen(["mosquitto_sub", "-h", "127.0.0.1", "-q", "1", "-F", "%t",
                         "-W", "10", "-t", "ioc/v1/obs/air/+", "-t", "ioc/v1/json/obs/air/#",
                         "-t", "ioc/v1/alert/#", "-t", "ioc/v1/window/#", "-t", "iocd/dead/#"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        sse = BOX.popen(["curl", "-sSN", "-m", "10",
                         "http://127.0.0.1:8080/api/v1/live?match=obs/air/%23"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)  # both subscribed
        # VN_AQI: hours H-4 and H-3 (H the current UTC hour) with PM2.5 30
        # and 40 (mean 35), PM10 50: hours H-3 and H-2 have 2 of their 3
        # latest hours, NowCast PM2.5 35 -> index 70 (tests/test_vn_aqi.py);
        # H-1 has 1 of 3, none.
        hour = int(time.time()) // 3600 * 3600
        iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))
        samples = []
        for h in (hour - 4 * 3600, hour - 3 * 3600):
            for minute, pm25 in ((10, 30.0), (40, 40.0)):
                samples.append(json.dumps({"station": "GL-SB1", "ts": iso(h + minute * 60),
                                           "pm25": pm25, "pm10": 50.0}))
        # The alert: another station above 55, now.
        samples.append(json.dumps({"station": "GL-SB2", "ts": iso(int(time.time())),
                                   "pm25": 80.0, "pm10": 20.0}))
        self.publish("pleiku/air/GL-SB1/data", samples)
        self.sh("mosquitto_pub", "-h", "127.0.0.1", "-q", "1", "-t", "pleiku/air/GL-SB1/data",
                "-m", "{broken")
        self.assertEqual(self.wait_stored("air/GL-SB1/pm25", 4), (4, 140.0))
        wait_until(lambda: len(self.windows("air/GL-SB1/vn_aqi", "1h")) == 2, timeout=30,
                   what="VN_AQI hours")
        self.assertEqual([(w["start"], w["count"], w["sum"])
                          for w in self.windows("air/GL-SB1/vn_aqi", "1h")],
                         [(iso(hour - 3 * 3600), 1, 70.0), (iso(hour - 2 * 3600), 1, 70.0)])
        code, body = self.http("/healthz")
        self.assertEqual((code, json.loads(body)["status"]), (200, "ok"))
        code, body = self.http("/api/v1/status")
        self.assertEqual(code, 200)
        self.assertIn("air", json.dumps(json.loads(body)))
        m = self.metrics()
        self.assertGreaterEqual(m["iocd_live_clients"], 1)
        code, body = self.http("/")
        self.assertEqual(code, 200)
        self.assertIn("<html", body.lower())
        code, body = self.http("/api/v1/alerts")
        self.assertEqual(code, 200)
        self.assertIn("pm25_high/air/GL-SB2/pm25", body)
        code, body = self.http("/api/v1/windows?series=air/GL-SB1/pm25&resolution=1h")
        self.assertEqual(code, 200)
        r = self.sh("iocctl", "--url", "http://127.0.0.1:8080", "status")
        self.assertIn("health:  ok", r.stdout)
        # The live stream and the republish saw it all.
        topics = set(sub.communicate(timeout=30)[0].split())
        events = sse.communicate(timeout=30)[0]
        for t in ["ioc/v1/obs/air/GL-SB1", "ioc/v1/obs/air/GL-SB2",
                  "ioc/v1/alert/pm25_high/air/GL-SB2", "iocd/dead/air"]:
            self.assertIn(t, topics)
        self.assertTrue(any(t.startswith("ioc/v1/json/obs/air/GL-SB1") for t in topics), topics)
        self.assertTrue(any(t.startswith("ioc/v1/window/1m/air/GL-SB") for t in topics), topics)
        self.assertIn("GL-SB1", events)
        self.assertIn("GL-SB2", events)
        # The sandboxed backup unit, as iocd's dynamic user.
        self.systemctl("start", "iocd-backup.service", timeout=120)
        self.assertEqual(self.show("iocd-backup", "Result", "ExecMainStatus"),
                         {"Result": "success", "ExecMainStatus": "0"})
        names = self.sh("ls", "/var/lib/iocd/backups").stdout.split()
        self.assertEqual(len(names), 1, names)
        r = self.sh("iocctl", "check", "/var/lib/iocd/backups/" + names[0], "--json")
        self.assertEqual(json.loads(r.stdout)["integrity"], "ok")
        # Nothing refused by the sandbox in any run so far.
        lines = self.journal("-u", "iocd", "-u", "iocd-backup")
        bad = [l for l in lines if re.search(r"SIGSYS|status=31|Bad system call|ermission denied|"
                                             r"not permitted|EACCES|EPERM|Read-only file system",
                                             l)]
        self.assertEqual(bad, [])
        # Test 3 refuses a bad file on purpose (logged as an error).
        self.assertEqual([l for l in self.journal("_SYSTEMD_UNIT=iocd.service", "-p", "err")
                          if "reload: refused: " not in l], [])
        self.assertEqual(self.journal("_SYSTEMD_UNIT=iocd-backup.service", "-p", "warning"), [])
        print("sandbox: /healthz ok, API, console, live stream, republish (%d topics), dead "
              "letter, VN_AQI 70 70, alert raised, iocd-backup ok; no SIGSYS or permission "
              "error in %d journal lines" % (len(topics), len(lines)))

    def test_8_full_disk_restart_loses_at_most_the_bound(self):
        max_unwritten, n = 2000, 12000
        self.systemctl("stop", "iocd")
        self.sh("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs",
                "/var/lib/private/iocd")

        def undo():
            self.systemctl("stop", "iocd", check=False)
            self.sh("umount", "-l", "/var/lib/private/iocd", check=False)
            self.set_conf(conf())
            self.set_dropin(None)
            self.systemctl("reset-failed", "iocd", check=False)
        self.addCleanup(undo)
        self.set_conf(conf(ingest="max_unwritten = %d\n" % max_unwritten))
        # The shipped stop timeout is 60 s; 5 s is enough to show it.
        self.set_dropin("[Service]\nTimeoutStopSec=5s\n")
        self.ensure_active()
        b = base_ms()
        self.publish("test/stream/f1", [msg("f1", b, -1)])
        self.wait_stored("stream/f1/n", 1)
        self.sh("sh", "-c", "dd if=/dev/zero of=/var/lib/private/iocd/filler bs=64k "
                "2>/dev/null; true")
        df = self.sh("df", "--output=avail", "/var/lib/private/iocd").stdout.split()
        self.assertEqual(df[-1], "0")
        t, pub = self.stream("test/stream/f1", [msg("f1", b + 10 + i * 10, i) for i in range(n)],
                             rate=2000)
        wait_until(lambda: self.metrics().get("iocd_backpressure") == 1.0, timeout=30,
                   what="back-pressure on")
        pid = self.prop("MainPID")
        cur = self.cursor()
        restart = BOX.popen(["systemctl", "restart", "iocd"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: restart.poll() is None and (restart.kill(), restart.wait()))
        wait_until(lambda: self.prop("ActiveState") == "deactivating", timeout=10,
                   what="the stop to begin")
        # iocd disconnected and holds what it read: that is all it can lose.
        held = self.metrics()["iocd_unwritten"]
        time.sleep(1.0)
        self.assertEqual((self.prop("ActiveState"), self.prop("MainPID")), ("deactivating", pid))
        self.assertEqual(self.metrics()["iocd_unwritten"], held)
        wait_until(lambda: self.prop("MainPID") != pid, timeout=30, what="the stop timeout")
        self.sh("rm", "/var/lib/private/iocd/filler")
        restart.communicate(timeout=60)
        t.join(60)
        self.assertEqual(pub.wait(60), 0)
        wait_until(lambda: self.prop("ActiveState") == "active", timeout=30,
                   what="iocd active again")
        # The broker's queue drains in bursts of max_unwritten (back-pressure
        # on and off): done once nothing is held and the count stays put.
        seen = []

        def drained():
            m = self.metrics()
            seen.append(self.stored("stream/f1/n")[0])
            return (m.get("iocd_unwritten") == 0.0 and m.get("iocd_backpressure") == 0.0
                    and len(seen) >= 4 and len(set(seen[-4:])) == 1)
        wait_until(drained, timeout=90, interval=1.0, what="the broker's queue drained")
        lines = self.journal("-u", "iocd", after=cur)
        self.assertIn("iocd: Terminated: stopping", lines)
        self.assertIn("iocd.service: State 'stop-sigterm' timed out. Killing.", lines)
        self.assertTrue(any(l.startswith("store: flush failed") for l in
                            lines[lines.index("iocd: Terminated: stopping"):]))
        values = [v for v in self.raw("stream/f1/n") if v >= 0]
        self.assertEqual(len(values), len(set(values)), "a message stored twice")
        lost = n - len(values)
        self.assertEqual(lost, held)
        self.assertLessEqual(lost, max_unwritten + 1000)
        retried = "Failed to start iocd.service - " + DESCRIPTION + "." in lines
        print("full disk + restart: stop timed out after 5 s and was killed; %d of %d lost "
              "(exactly what was held unwritten at the stop; bound %d + socket), none twice; "
              "%s" % (lost, n, max_unwritten,
                      "the new iocd failed on the full disk and Restart=on-failure started it "
                      "again" if retried else "the new iocd started once the space was back"))


def main():
    if os.geteuid() != 0:
        return "needs root (debootstrap, mount, systemd-nspawn)"
    for tool, pkg in (("systemd-nspawn", "systemd-container"), ("debootstrap", "debootstrap")):
        if not shutil.which(tool):
            return "no %s (package %s; tools/deps.sh installs it)" % (tool, pkg)
    # The unit's PrivateUsers=yes needs user namespaces; the kernel refuses
    # them to a process whose root is not its mount namespace's root (a
    # chroot), and so to a container nspawn boots from there. Known before
    # any bootstrap.
    r = subprocess.run(["unshare", "--user", "true"], capture_output=True, text=True)
    if r.returncode != 0:
        return ("this host cannot create user namespaces (%s), which the unit's "
                "PrivateUsers=yes needs (inside a chroot?)"
                % (r.stderr.strip() or "exit %d" % r.returncode))
    build = os.environ.get("MESON_BUILD_ROOT")
    if not build:
        raise SystemExit("MESON_BUILD_ROOT is not set: run through meson test")
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="iocd-container-")
    log = os.path.join(tmp, "debootstrap.log")
    packages = ctr.BASE_PACKAGES + ctr.library_packages([IOCD, IOCCTL, IOCD_SIM])
    try:
        tree, made = ctr.cached_tree(packages, log)
    except ctr.Unavailable as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return str(e)
    print("container tree: %s (%s in %.1f s)" % (tree, "bootstrapped" if made else "cached",
                                                  time.monotonic() - t0))
    global BOX
    BOX = ctr.Container(tree, os.path.join(tmp, "run"))
    os.makedirs(BOX.dir)
    try:
        BOX.make_root()
        BOX.install_build(build)
        BOX.write("/etc/mosquitto/conf.d/iocd-test.conf", MOSQUITTO_CONF)
        BOX.write(CONF, conf())
        t1 = time.monotonic()
        try:
            state = BOX.boot()
        except ctr.Unavailable as e:
            return str(e)
        print("booted: systemd %s in %.1f s (%s root)" % (state, time.monotonic() - t1,
                                                           "overlayfs" if BOX.overlay else "copied"))
        # The unit's PrivateUsers=yes needs a user namespace; the kernel
        # refuses one to a process whose root is not its mount namespace's
        # (nspawn run inside a chroot): such a host cannot run the unit.
        r = BOX.run(["unshare", "--user", "true"], check=False)
        if r.returncode != 0:
            return ("the container cannot create user namespaces (%s), which the unit's "
                    "PrivateUsers=yes needs: nspawn runs inside a chroot?"
                    % (r.stderr.strip() or "exit %d" % r.returncode))
        sys.stdout.flush()
        prog = unittest.main(verbosity=2, exit=False, argv=sys.argv[:1])
        ok = prog.result.wasSuccessful()
        if not ok:
            print("--- container journal (last 80 lines) ---")
            print(BOX.run(["journalctl", "--no-pager", "-n", "80"], check=False).stdout)
        print("total %.1f s" % (time.monotonic() - t0))
        return 0 if ok else 1
    finally:
        if os.environ.get("IOCD_TEST_KEEP"):
            BOX.poweroff()
            print("kept", tmp)
        else:
            BOX.destroy()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    rc = main()
    if isinstance(rc, str):
        print("SKIP: " + rc)
        sys.exit(77)
    sys.exit(rc)
