"""Webhook notifications of alert changes ([notify NAME], docs/alerts.md
"Notifications"), against a real HTTP receiver started by the test on a
free 127.0.0.1 port (Python's http.server, recording method, path,
headers and the exact body; it can answer 500 or be down), a real
mosquitto and a real iocd:

* the exact default JSON body and a template body for a raise, an
  acknowledgement (POST /api/v1/alerts/ack) and a clear, with the
  channel's header and X-Iocd-Notification-Id;
* retries after the receiver was down and after a 500, delivered once;
  a 400 is a permanent failure, never retried;
* no duplicate across a clean restart with a notification pending: the
  same id, delivered exactly once;
* a receiver that never answers blocks neither the loop nor a clean stop;
* the rate limit: N + k raises in a burst, N delivered, k counted;
* a silenced alert is not notified (counted as suppressed);
* the bounded queue: overflow counted, the oldest dropped, what is kept
  is delivered after a restart;
* a reload that removes a channel drops its pending notifications,
  counted;
* bad [notify] sections refused by --check-config with file:line.
"""
import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

from iocdtest import AIR_ADAPTER, IOCD, IocdTestCase, air, free_port, wait_until
from test_alert_lifecycle import post

T0 = 1795330800000  # 2026-11-22T07:00:00Z
RULE = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nabove = 55\nclear = 50\n"
        "severity = major\ntext = PM2.5 above 55\n")
ID = "pm25_high/air/pk-01/pm25"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Receiver:
    """A webhook receiver on 127.0.0.1:port recording every request;
    answers[i] is the status of the i-th request (then 200)."""

    def __init__(self, port=None, answers=()):
        self.port = port or free_port()
        self.answers = list(answers)
        self.requests = []
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec.lock:
                    rec.requests.append({"method": self.command, "path": self.path,
                                         "headers": {k.lower(): v for k, v in self.headers.items()},
                                         "body": body})
                    status = rec.answers.pop(0) if rec.answers else 200
                out = b'{"ok":true}' if status == 200 else b'{"ok":false}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    def got(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]

    def bodies(self, path=None):
        return [json.loads(r["body"]) for r in self.got(path)]


def metrics(d):
    """{(name, channel): value} of the notification figures in /metrics."""
    st, _, body = d.http("/metrics")
    out = {}
    for line in body.decode().splitlines():
        m = re.match(r'^(iocd_notifications_\w+)(?:\{channel="([^"]*)"\})? (\S+)$', line)
        if m:
            out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


def figure(d, name, channel):
    return metrics(d).get(("iocd_notifications_" + name, channel), 0)


def channel(name, port, extra="", path=None):
    return "[notify %s]\nurl = http://127.0.0.1:%d%s\n%s\n" % (name, port, path or "/" + name,
                                                                extra)


class NotifyTest(IocdTestCase):
    def receiver(self, **kw):
        r = Receiver(**kw)
        self.addCleanup(r.stop)
        return r

    def test_exact_payloads_raise_ack_clear(self):
        r = self.receiver().start()
        tpl = ('{"chat_id": "-100123", "text": "[{severity}] {text} {state}: {device} '
               '{value} (> {threshold}) {actor} {note} {time}"}')
        conf = (AIR_ADAPTER + RULE
                + channel("all", r.port, "rate_limit = 0\nheader.X-Api-Key = file:api.key\n")
                + channel("tg", r.port, "template = %s\nheader.Authorization = Bearer s3cr\u00e9t\n"
                          "rules = pm25_high\nmin_severity = major\n" % tpl))
        with open(os.path.join(self.dir, "api.key"), "w") as f:
            f.write("k-42\n")  # its first line, read relative to the config file
        d = self.iocd(conf).start()
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 60)])
        wait_until(lambda: len(r.got()) == 2, what="the raise on both channels")
        st, body = post(d, "ack", {"id": ID, "note": "đang \"kiểm\" tra"})
        self.assertEqual(st, 200, body)
        ack_ms = body["alert"]["acknowledged_ms"]
        wait_until(lambda: len(r.got()) == 4, what="the acknowledgement on both channels")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 60, 40)])
        wait_until(lambda: len(r.got()) == 6, what="the clear on both channels")
        time.sleep(0.3)
        self.assertEqual(len(r.got()), 6)

        def iso(ms):
            s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
            return s + (".%03dZ" % (ms % 1000) if ms % 1000 else "Z")

        reqs = r.got("/all")
        for q in reqs + r.got("/tg"):
            self.assertEqual(q["method"], "POST")
            self.assertTrue(UUID.match(q["headers"]["x-iocd-notification-id"]), q["headers"])
            self.assertEqual(q["headers"]["content-type"], "application/json")
            self.assertTrue(q["headers"]["user-agent"].startswith("iocd/"))
            self.assertEqual(q["headers"]["content-length"], str(len(q["body"])))
        self.assertEqual([q["headers"].get("x-api-key") for q in reqs], ["k-42"] * 3)
        self.assertNotIn("x-api-key", r.got("/tg")[0]["headers"])
        ids = [q["headers"]["x-iocd-notification-id"] for q in reqs + r.got("/tg")]
        self.assertEqual(len(set(ids)), 6)
        common = {"channel": "all", "id": ID, "rule": "pm25_high", "severity": "major",
                  "text": "PM2.5 above 55", "source": "air", "device": "pk-01",
                  "series": "air/pk-01/pm25", "raised": "2026-11-22T07:00:00Z", "assignee": ""}
        want = [
            dict(common, state="raised", action="", value=60, threshold=55,
                 time="2026-11-22T07:00:00Z", actor="", note=""),
            dict(common, state="acknowledged", action="acknowledged", value=60, threshold=55,
                 time=iso(ack_ms), actor="local", note="đang \"kiểm\" tra"),
            dict(common, state="cleared", action="", value=40, threshold=50,
                 time="2026-11-22T07:01:00Z", actor="", note=""),
        ]
        got = [json.loads(q["body"]) for q in reqs]
        for g, q, w in zip(got, reqs, want):
            self.assertEqual(g.pop("notification_id"), q["headers"]["x-iocd-notification-id"])
            self.assertEqual(g, w)
        # Field order is part of the format: exactly these bytes.
        self.assertEqual(reqs[0]["body"].decode(),
                         '{"notification_id":"%s","channel":"all","id":"%s","rule":"pm25_high",'
                         '"state":"raised","action":"","severity":"major",'
                         '"text":"PM2.5 above 55","source":"air","device":"pk-01",'
                         '"series":"air/pk-01/pm25","value":60,"threshold":55,'
                         '"time":"2026-11-22T07:00:00Z","raised":"2026-11-22T07:00:00Z",'
                         '"actor":"","note":"","assignee":""}'
                         % (reqs[0]["headers"]["x-iocd-notification-id"], ID))
        tg = r.got("/tg")
        self.assertEqual([q["headers"]["authorization"] for q in tg],
                         ["Bearer s3cr\u00e9t".encode().decode("latin-1")] * 3)
        self.assertEqual([q["body"].decode() for q in tg], [
            '{"chat_id": "-100123", "text": "[major] PM2.5 above 55 raised: pk-01 60 (> 55)   '
            '2026-11-22T07:00:00Z"}',
            '{"chat_id": "-100123", "text": "[major] PM2.5 above 55 acknowledged: pk-01 60 '
            '(> 55) local đang \\"kiểm\\" tra %s"}' % iso(ack_ms),
            '{"chat_id": "-100123", "text": "[major] PM2.5 above 55 cleared: pk-01 40 (> 50)   '
            '2026-11-22T07:01:00Z"}',
        ])
        m = metrics(d)
        for ch in ("all", "tg"):
            self.assertEqual((m[("iocd_notifications_sent_total", ch)],
                              m[("iocd_notifications_failed_total", ch)],
                              m[("iocd_notifications_retries_total", ch)],
                              m[("iocd_notifications_pending", ch)]), (3, 0, 0, 0))
        st = d.api("/api/v1/status")[1]["notify"]
        self.assertEqual(st["all"], {"sent": 3, "failed": 0, "retries": 0, "rate_limited": 0,
                                     "queue_dropped": 0, "suppressed": 0, "pending": 0})

    def test_on_and_filters(self):
        """`on` picks the changes, `rules` and `min_severity` the alerts."""
        r = self.receiver().start()
        conf = (AIR_ADAPTER + RULE
                + "[alert pm25_watch]\ntype = threshold\nmatch = air/+/pm25\nabove = 30\n"
                  "severity = minor\n"
                + channel("acks", r.port, "on = acknowledged assigned\n")
                + channel("major", r.port, "min_severity = major\non = raised\n")
                + channel("watch", r.port, "rules = pm25_watch\non = raised cleared\n"))
        d = self.iocd(conf).start()
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 60)])
        wait_until(lambda: len(r.got()) == 2, what="two raises")
        self.assertEqual(post(d, "assign", {"id": ID, "to": "Lan"})[0], 200)
        wait_until(lambda: len(r.got()) == 3, what="the assignment")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 60, 10)])
        wait_until(lambda: len(r.got()) == 4, what="the watch clear")
        time.sleep(0.5)
        got = sorted((q["path"], b["rule"], b["state"]) for q, b in
                     zip(r.got(), r.bodies()))
        self.assertEqual(got, [("/acks", "pm25_high", "assigned"),
                               ("/major", "pm25_high", "raised"),
                               ("/watch", "pm25_watch", "cleared"),
                               ("/watch", "pm25_watch", "raised")])
        self.assertEqual(r.bodies("/acks")[0]["assignee"], "Lan")

    def test_retry_after_receiver_down_then_500(self):
        port = free_port()
        conf = AIR_ADAPTER + RULE + channel("ops", port, "retry_min = 1s\nretry_max = 1s\n")
        d = self.iocd(conf).start()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 60)])
        wait_until(lambda: figure(d, "retries_total", "ops") >= 1, what="a failed attempt")
        self.assertEqual(figure(d, "pending", "ops"), 1)
        # Just after a failed attempt the next is 1 s away: the receiver
        # comes up in between, so the count of failures while down is exact.
        before = figure(d, "retries_total", "ops")
        wait_until(lambda: figure(d, "retries_total", "ops") > before, what="another failure")
        retries_down = figure(d, "retries_total", "ops")
        r = self.receiver(port=port, answers=[500]).start()
        wait_until(lambda: figure(d, "sent_total", "ops") == 1, what="the delivery")
        time.sleep(1.0)  # nothing more comes
        got = r.got()
        self.assertEqual(len(got), 2)  # the 500, then the one answered 200
        self.assertEqual(got[0]["body"], got[1]["body"])
        self.assertEqual(got[0]["headers"]["x-iocd-notification-id"],
                         got[1]["headers"]["x-iocd-notification-id"])
        self.assertEqual(json.loads(got[1]["body"])["state"], "raised")
        m = metrics(d)
        self.assertEqual((m[("iocd_notifications_sent_total", "ops")],
                          m[("iocd_notifications_failed_total", "ops")],
                          m[("iocd_notifications_retries_total", "ops")],
                          m[("iocd_notifications_pending", "ops")]),
                         (1, 0, retries_down + 1, 0))
        self.assertIn("channel 'ops': notification", d.log_text())

    def test_4xx_is_permanent(self):
        r = self.receiver(answers=[400, 404]).start()
        conf = AIR_ADAPTER + RULE + channel("ops", r.port, "retry_min = 100ms\n")
        d = self.iocd(conf).start()
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 60)])
        self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t, 61)])
        wait_until(lambda: figure(d, "failed_total", "ops") == 2, what="two refusals")
        time.sleep(0.6)
        self.assertEqual(len(r.got()), 2)
        self.assertEqual((figure(d, "retries_total", "ops"), figure(d, "sent_total", "ops"),
                          figure(d, "pending", "ops")), (0, 0, 0))
        self.assertIn("refused (HTTP 400: {\"ok\":false}); not retried", d.log_text())

    def test_no_duplicate_after_restart(self):
        port = free_port()
        conf = AIR_ADAPTER + RULE + channel("ops", port, "retry_min = 200ms\nretry_max = 400ms\n")
        d = self.iocd(conf).start()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 60)])
        wait_until(lambda: figure(d, "retries_total", "ops") >= 1, what="a failed attempt")
        self.assertEqual(d.stop(), 0)
        with sqlite3.connect(d.db + "-notify") as q:
            rows = q.execute("SELECT channel, uid, attempts > 0, body FROM notification").fetchall()
        self.assertEqual(len(rows), 1)
        chan, uid, tried, body = rows[0]
        self.assertEqual((chan, tried, json.loads(body)["notification_id"]), ("ops", 1, uid))
        r = self.receiver(port=port).start()
        d.restart()
        wait_until(lambda: len(r.got()) == 1, what="the pending notification")
        time.sleep(1.0)  # and nothing else: the restored alert is not raised again
        [q] = r.got()
        self.assertEqual(q["headers"]["x-iocd-notification-id"], uid)
        self.assertEqual(q["body"], body)
        self.assertEqual(figure(d, "sent_total", "ops"), 1)
        with sqlite3.connect(d.db + "-notify") as qc:
            self.assertEqual(qc.execute("SELECT count(*) FROM notification").fetchone()[0], 0)
        # A second clean restart sends nothing again.
        d.restart()
        time.sleep(1.0)
        self.assertEqual(len(r.got()), 1)

    def test_slow_receiver_blocks_nothing(self):
        """A receiver that accepts and never answers: the loop keeps
        serving, a clean stop does not wait for the attempt's timeout, and
        the notification stays queued, its attempt not counted."""
        import socket
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        self.addCleanup(srv.close)
        conf = AIR_ADAPTER + RULE + channel("ops", srv.getsockname()[1], "timeout = 5m\n")
        d = self.iocd(conf).start()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 60)])
        srv.settimeout(10)
        conn, _ = srv.accept()
        self.addCleanup(conn.close)
        t = time.monotonic()
        self.assertEqual(d.api("/api/v1/status")[0], 200)
        self.assertEqual(len(d.api("/api/v1/alerts")[1]["active"]), 1)
        self.assertLess(time.monotonic() - t, 2)
        self.assertEqual(figure(d, "pending", "ops"), 1)
        t = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t, 5)
        with sqlite3.connect(d.db + "-notify") as q:
            self.assertEqual(q.execute("SELECT count(*), max(attempts) FROM notification")
                             .fetchone(), (1, 0))

    def test_rate_limit(self):
        r = self.receiver().start()
        conf = AIR_ADAPTER + RULE + channel("ops", r.port, "rate_limit = 3/1m\n")
        d = self.iocd(conf).start()
        t = T0 // 1000
        for i in range(1, 6):
            self.broker.publish("pleiku/air/pk-0%d/data" % i, [air("pk-0%d" % i, t, 60 + i)])
        wait_until(lambda: figure(d, "rate_limited_total", "ops") == 2, what="two over the limit")
        wait_until(lambda: figure(d, "sent_total", "ops") == 3, what="three delivered")
        time.sleep(0.5)
        self.assertEqual(sorted(b["device"] for b in r.bodies()), ["pk-01", "pk-02", "pk-03"])
        self.assertEqual(d.log_text().count("channel 'ops': rate limit of 3 per 60 s reached"), 1)

    def test_silenced_alert_not_notified(self):
        r = self.receiver().start()
        conf = AIR_ADAPTER + RULE + channel("ops", r.port)
        d = self.iocd(conf).start()
        st, body = post(d, "", {"device": "pk-01", "duration": "1h", "reason": "bảo trì"},
                        path="/api/v1/silences")
        self.assertEqual(st, 200, body)
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 60)])
        self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t, 61)])
        wait_until(lambda: figure(d, "suppressed_total", "ops") == 1, what="the silenced raise")
        wait_until(lambda: len(r.got()) == 1, what="the other raise")
        time.sleep(0.5)
        self.assertEqual([b["device"] for b in r.bodies()], ["pk-02"])
        self.assertEqual(figure(d, "sent_total", "ops"), 1)

    def test_bounded_queue(self):
        port = free_port()
        conf = AIR_ADAPTER + RULE + channel("ops", port, "queue_max = 2\nrate_limit = 0\n"
                                                          "retry_min = 1h\nretry_max = 1h\n")
        d = self.iocd(conf).start()
        t = T0 // 1000
        for i in range(1, 6):
            self.broker.publish("pleiku/air/pk-0%d/data" % i, [air("pk-0%d" % i, t, 60 + i)])
        wait_until(lambda: figure(d, "queue_dropped_total", "ops") == 3, what="three dropped")
        self.assertEqual(figure(d, "pending", "ops"), 2)
        self.assertIn("channel 'ops': queue full (queue_max 2)", d.log_text())
        self.assertEqual(d.stop(), 0)
        # The newest two are kept; after a restart they are sent at once.
        r = self.receiver(port=port).start()
        d.restart()
        wait_until(lambda: len(r.got()) == 2, what="the two kept")
        self.assertEqual([b["device"] for b in r.bodies()], ["pk-04", "pk-05"])

    def test_reload_drops_a_removed_channels_queue(self):
        r = self.receiver().start()
        down = free_port()
        conf = AIR_ADAPTER + RULE
        d = self.iocd(conf + channel("gone", down, "retry_min = 1h\nretry_max = 1h\n")
                      + channel("ops", r.port)).start()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 60)])
        wait_until(lambda: figure(d, "retries_total", "gone") == 1 and len(r.got()) == 1,
                   what="one failed attempt and one delivery")
        with open(d.conf) as f:
            text = f.read().replace(channel("gone", down, "retry_min = 1h\nretry_max = 1h\n"), "")
        with open(d.conf, "w") as f:
            f.write(text)
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: metrics(d).get(("iocd_notifications_orphaned_total", None)) == 1,
                   what="the removed channel's notification dropped")
        self.assertNotIn(("iocd_notifications_sent_total", "gone"), metrics(d))
        self.assertEqual(figure(d, "sent_total", "ops"), 1)
        self.assertIn("1 pending notification(s) of channel 'gone' dropped", d.log_text())


class NotifyConfigTest(unittest.TestCase):
    """Bad [notify] sections, refused with file:line and the reason."""

    BASE = (AIR_ADAPTER + RULE)

    def refused(self, section):
        import tempfile
        with tempfile.TemporaryDirectory(prefix="iocd-notify-") as tmp:
            path = os.path.join(tmp, "t.conf")
            with open(path, "w") as f:
                f.write(self.BASE + section)
            r = subprocess.run([IOCD, "--check-config", "--config", path], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 1, r.stdout)
            return r.stderr.replace(path, "t.conf").replace(tmp, "{dir}")

    def test_refusals(self):
        n = len((self.BASE).splitlines())  # the section header is on line n + 1
        cases = [
            ("[notify x]\nurl = ftp://example.org/\n",
             "%d: [notify x] url: 'ftp://example.org/' is not an http:// or https:// URL with a "
             "host" % (n + 2)),
            ("[notify x]\nurl = http:///path\n",
             "%d: [notify x] url: 'http:///path' is not an http:// or https:// URL with a host"
             % (n + 2)),
            ("[notify x]\nrules = pm25_high\n", "%d: [notify x] has no 'url'" % (n + 1)),
            ("[notify x]\nurl = http://127.0.0.1/\ncolour = red\n",
             "%d: unknown key 'colour' in [notify x]" % (n + 3)),
            ("[notify x]\nurl = http://127.0.0.1/\nmin_severity = urgent\n",
             "%d: [notify x] min_severity: 'urgent' is not info, warning, minor, major or "
             "critical" % (n + 3)),
            ("[notify x]\nurl = http://127.0.0.1/\nrules = pm25_high, pm10_high\n",
             "%d: [notify x] rules: no [alert pm10_high] section" % (n + 3)),
            ("[notify x]\nurl = http://127.0.0.1/\non = raised, escalated\n",
             "%d: [notify x] on: 'escalated' is not raised, acknowledged, assigned or cleared"
             % (n + 3)),
            ("[notify x]\nurl = http://127.0.0.1/\nrate_limit = 20 per minute\n",
             "%d: [notify x] rate_limit: '20 per minute' is not N/PERIOD (N 1..1000000, PERIOD "
             "1s..1d, e.g. 20/1m) or 0" % (n + 3)),
            ("[notify x]\nurl = http://127.0.0.1/\ntemplate = {\"t\": \"{rule} {devcie}\"}\n",
             "%d: [notify x] template: unknown placeholder {devcie} at byte 15 (known: "
             "{notification_id} {channel} {id} {rule} {state} {action} {severity} {text} "
             "{source} {device} {series} {value} {threshold} {time} {raised} {actor} {note} "
             "{assignee})" % (n + 3)),
            ("[notify x]\nurl = http://127.0.0.1/\nqueue_max = 0\n",
             "%d: [notify x] queue_max: '0' is not an integer in 1..1000000" % (n + 3)),
            ("[notify x]\nurl = http://127.0.0.1/\nretry_min = 1m\nretry_max = 10s\n",
             "%d: [notify x] retry_max: '10s' is not a duration from 1m to 1d" % (n + 4)),
            ("[notify x]\nurl = http://127.0.0.1/\nheader.X-Iocd-Notification-Id = 1\n",
             "%d: [notify x] header.X-Iocd-Notification-Id: iocd sets this header" % (n + 3)),
            ("[notify x]\nurl = file:missing-url\n",
             "%d: [notify x] url: cannot read {dir}/missing-url: No such file or directory"
             % (n + 2)),
            ("[notify x]\nurl = http://127.0.0.1/\n[notify x]\nurl = http://127.0.0.1/\n",
             "%d: [notify x] defined twice (first on line %d)" % (n + 3, n + 1)),
        ]
        for section, message in cases:
            with self.subTest(section=section):
                got = self.refused(section)
                self.assertEqual(got, "iocd: t.conf:%s\n" % message)

    def test_secret_from_file(self):
        import tempfile
        with tempfile.TemporaryDirectory(prefix="iocd-notify-") as tmp:
            with open(os.path.join(tmp, "tg.url"), "w") as f:
                f.write("https://api.telegram.org/bot123:ABC/sendMessage\n")
            path = os.path.join(tmp, "t.conf")
            with open(path, "w") as f:
                f.write(self.BASE + "[notify tg]\nurl = file:tg.url\n")
            r = subprocess.run([IOCD, "--check-config", "--config", path], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            # A header from a systemd credential, and refused without one.
            os.mkdir(os.path.join(tmp, "creds"))
            with open(os.path.join(tmp, "creds", "zalo"), "w") as f:
                f.write("tok-123\n")
            with open(path, "a") as f:
                f.write("header.access_token = credential:zalo\n")
            env = dict(os.environ, CREDENTIALS_DIRECTORY=os.path.join(tmp, "creds"))
            r = subprocess.run([IOCD, "--check-config", "--config", path], capture_output=True,
                               text=True, timeout=30, env=env)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            env.pop("CREDENTIALS_DIRECTORY")
            r = subprocess.run([IOCD, "--check-config", "--config", path], capture_output=True,
                               text=True, timeout=30, env=env)
            n = len(self.BASE.splitlines()) + 3
            self.assertEqual((r.returncode, r.stderr.replace(path, "t.conf")),
                             (1, "iocd: t.conf:%d: [notify tg] header.access_token: "
                                 "'credential:zalo' needs $CREDENTIALS_DIRECTORY (start iocd from "
                                 "systemd with LoadCredential=zalo:/path/to/file)\n" % n))


if __name__ == "__main__":
    unittest.main()
