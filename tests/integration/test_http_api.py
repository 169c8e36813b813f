"""iocd's HTTP API (docs/api.md) through a real broker and a real iocd: the
exact JSON of every REST endpoint (series, windows, rolling, latest, devices,
alerts with the stored raise/clear history, status, healthz), /metrics, the
embedded console, errors, the live stream (filter, ids, Last-Event-ID
catch-up, a prompt end on SIGTERM), the bearer token, and the refusal to
listen on a non-loopback address without one."""
import json
import os
import re
import signal
import socket
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air, free_port, wait_until

T0 = 1795330800000  # 2026-11-22T07:00:00Z
RULE = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nstat = mean\n"
        "window = 1h\nabove = 55\nclear = 50\nseverity = major\n"
        "text = PM2.5 1 h mean above 55\n")


def iso(ms):
    import datetime
    s = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")
    return s + (".%03dZ" % (ms % 1000) if ms % 1000 else "Z")


class SSE:
    """A raw live-stream client: HTTP/1.0, so the body is the stream itself."""

    def __init__(self, port, query="", headers=""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(("GET /api/v1/live%s HTTP/1.0\r\n%s\r\n" % (query, headers)).encode())
        self.buf = b""
        self.eof = False
        self.read_until(lambda: b"\r\n\r\n" in self.buf, what="response head")
        self.head, self.body = self.buf.split(b"\r\n\r\n", 1)

    def _read(self, timeout):
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return
        if not d:
            self.eof = True
        self.buf += d
        if hasattr(self, "head"):
            self.body = self.buf.split(b"\r\n\r\n", 1)[1]

    def read_until(self, pred, timeout=10, what="stream data"):
        end = time.monotonic() + timeout
        while not pred():
            if self.eof or time.monotonic() > end:
                raise AssertionError("timed out (or EOF) waiting for %s: %r" % (what, self.buf))
            self._read(0.2)

    def events(self):
        """Complete records: [(id, event, data dict or None)], comments skipped."""
        out = []
        for rec in self.body.decode().split("\n\n")[:-1]:
            f = {}
            for line in rec.split("\n"):
                if line.startswith(":") or not line:
                    continue
                k, _, v = line.partition(": ")
                f[k] = v
            if "event" in f:
                data = json.loads(f["data"]) if "data" in f else None
                out.append((f.get("id"), f["event"], data))
        return out

    def close(self):
        self.sock.close()


class HttpApiTest(IocdTestCase):
    def start_with_data(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        t = T0 // 1000
        # pk-02: rolling 1 h means 40, 50, 60 (raise), 52.5, 46 (clear).
        for i, v in enumerate([40, 60, 80, 30, 20]):
            self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t + 60 * i, v, 27.5)])
            time.sleep(0.15)
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 10, 35.25)])
        wait_until(lambda: d.api("/api/v1/series")[1]["total"] == 3, what="3 series stored")
        wait_until(lambda: len(d.api("/api/v1/alerts?from=0")[1]["history"]) == 1
                   and d.api("/api/v1/alerts?from=0")[1]["history"][0]["cleared"],
                   what="raise and clear stored")
        wait_until(lambda: len(d.api("/api/v1/windows?series=air/pk-02/pm25&from=%d&to=%d"
                                     % (T0, T0 + 600000))[1]["windows"]) == 5,
                   what="5 windows of pk-02")
        return d

    def test_rest_endpoints(self):
        d = self.start_with_data()
        started = time.time() * 1000

        st, body = d.api("/api/v1/series")
        self.assertEqual(st, 200)
        for s in body["series"]:
            self.assertLessEqual(abs(s.pop("created_ms") - started), 60000)
            self.assertRegex(s.pop("created"), r"^2\d{3}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
        self.assertEqual(body, {"total": 3, "series": [
            {"name": "air/pk-01/pm25", "source": "air", "device": "pk-01", "metric": "pm25",
             "unit": "ug/m3"},
            {"name": "air/pk-02/pm25", "source": "air", "device": "pk-02", "metric": "pm25",
             "unit": "ug/m3"},
            {"name": "air/pk-02/temperature", "source": "air", "device": "pk-02",
             "metric": "temperature", "unit": "Cel"}]})
        st, body = d.api("/api/v1/series?match=air/%2B/pm25&q=PK-0&limit=1&offset=1")
        self.assertEqual((st, body["total"], [s["name"] for s in body["series"]]),
                         (200, 2, ["air/pk-02/pm25"]))

        st, body = d.api("/api/v1/windows?series=air/pk-02/pm25&from=%d&to=%d"
                         % (T0, T0 + 600000))
        self.assertEqual(st, 200)
        self.assertEqual(body, {
            "series": "air/pk-02/pm25", "unit": "ug/m3", "resolution": "1m", "res_s": 60,
            "windows": [{"start": iso(T0 + 60000 * i), "start_ms": T0 + 60000 * i, "count": 1,
                         "sum": v, "mean": v, "min": v, "max": v, "stddev": 0, "first": v,
                         "last": v, "p50": v, "p90": v, "p95": v, "p99": v}
                        for i, v in enumerate([40, 60, 80, 30, 20])]})
        # 1 h windows: one, all five samples
        st, body = d.api("/api/v1/windows?series=air/pk-02/pm25&resolution=1h&from=%s&to=%s"
                         % ("2026-11-22T07:00:00Z", "2026-11-22T08:00:00Z"))
        self.assertEqual(st, 200)
        w = body["windows"]
        self.assertEqual((body["resolution"], body["res_s"], len(w)), ("1h", 3600, 1))
        self.assertEqual((w[0]["count"], w[0]["sum"], w[0]["mean"], w[0]["min"], w[0]["max"],
                          w[0]["first"], w[0]["last"]), (5, 230, 46, 20, 80, 40, 20))
        self.assertAlmostEqual(w[0]["stddev"], (sum((x - 46) ** 2 for x in
                                                    [40, 60, 80, 30, 20]) / 5) ** 0.5, places=9)
        self.assertLessEqual(abs(w[0]["p50"] - 40) / 40, 0.01)   # rank 2 of 20 30 40 60 80
        self.assertLessEqual(abs(w[0]["p90"] - 60) / 60, 0.01)   # rank 3

        # rolling 2 min every minute
        st, body = d.api("/api/v1/windows?series=air/pk-02/pm25&rolling=2m&step=1m"
                         "&from=%d&to=%d" % (T0, T0 + 300000))
        self.assertEqual(st, 200)
        pts = body.pop("points")
        self.assertEqual(body, {"series": "air/pk-02/pm25", "unit": "ug/m3", "resolution": "1m",
                                "res_s": 60, "rolling": "2m", "step": "1m"})
        self.assertEqual([(p["end"], p["end_ms"], p["count"], p["sum"], p["mean"], p["min"],
                           p["max"], p["stddev"], p["first"], p["last"]) for p in pts],
                         [(iso(T0 + 60000), T0 + 60000, 1, 40, 40, 40, 40, 0, 40, 40),
                          (iso(T0 + 120000), T0 + 120000, 2, 100, 50, 40, 60, 10, 40, 60),
                          (iso(T0 + 180000), T0 + 180000, 2, 140, 70, 60, 80, 10, 60, 80),
                          (iso(T0 + 240000), T0 + 240000, 2, 110, 55, 30, 80, 25, 80, 30),
                          (iso(T0 + 300000), T0 + 300000, 2, 50, 25, 20, 30, 5, 30, 20)])

        st, body = d.api("/api/v1/latest?match=air/pk-02/%2B")
        self.assertEqual((st, body), (200, {"series": [
            {"series": "air/pk-02/pm25", "source": "air", "device": "pk-02", "metric": "pm25",
             "unit": "ug/m3", "value": 20, "time": iso(T0 + 240000), "time_ms": T0 + 240000},
            {"series": "air/pk-02/temperature", "source": "air", "device": "pk-02",
             "metric": "temperature", "unit": "Cel", "value": 27.5, "time": iso(T0 + 240000),
             "time_ms": T0 + 240000}]}))

        # Paged: limit=1 gives the same two series one per page, in the
        # same order, and the last page has no "next".
        pages, after = [], None
        while len(pages) < 10:
            st, page = d.api("/api/v1/latest?match=air/pk-02/%2B&limit=1" +
                             ("&after=" + after if after is not None else ""))
            self.assertEqual(st, 200)
            self.assertLessEqual(len(page["series"]), 1)
            pages.append([x["series"] for x in page["series"]])
            if "next" not in page:
                break
            self.assertTrue(page["next"].isdigit(), page)
            after = page["next"]
        self.assertEqual([n for p in pages for n in p],
                         ["air/pk-02/pm25", "air/pk-02/temperature"])
        self.assertEqual(pages[0], ["air/pk-02/pm25"])
        self.assertEqual(d.api("/api/v1/latest?limit=0"),
                         (400, {"error": "bad parameter (match, limit 1..2000, after)"}))

        st, body = d.api("/api/v1/devices?match=air/%2B&state=online")
        self.assertEqual(st, 200)
        for dev in body["devices"]:
            self.assertLessEqual(abs(dev["last_seen_ms"] - time.time() * 1000), 60000)
            self.assertEqual(dev.pop("last_seen"), iso(dev.pop("last_seen_ms")))
            self.assertGreater(dev.pop("interval_ms"), 0)
        # In the order the devices were first seen (pk-02's messages came first).
        self.assertEqual(body, {"devices": [
            {"source": "air", "device": "pk-02", "state": "online", "messages": 5,
             "registered": False},
            {"source": "air", "device": "pk-01", "state": "online", "messages": 1,
             "registered": False}]})
        self.assertEqual(d.api("/api/v1/devices?state=stale"), (200, {"devices": []}))
        # Paged like /latest: one device a page, then no "next".
        st, p1 = d.api("/api/v1/devices?match=air/%2B&limit=1")
        self.assertEqual((st, [x["device"] for x in p1["devices"]]), (200, ["pk-02"]))
        st, p2 = d.api("/api/v1/devices?match=air/%2B&limit=1&after=" + p1["next"])
        self.assertEqual((st, [x["device"] for x in p2["devices"]]), (200, ["pk-01"]))
        self.assertNotIn("next", p2)
        self.assertEqual(d.api("/api/v1/devices?limit=0"),
                         (400, {"error": "bad parameter (limit 1..2000, after)"}))

        st, body = d.api("/api/v1/alerts?from=2026-11-22T06:00:00Z&to=2026-11-22T08:00:00Z")
        self.assertEqual((st, body), (200, {"active": [], "history": [
            {"id": "pm25_high/air/pk-02/pm25", "rule": "pm25_high", "series": "air/pk-02/pm25",
             "severity": "major", "raised": iso(T0 + 120000), "raised_ms": T0 + 120000,
             "cleared": iso(T0 + 240000), "cleared_ms": T0 + 240000, "value": 60,
             "threshold": 55, "text": "PM2.5 1 h mean above 55",
             "transitions": [
                 {"action": "raised", "time": iso(T0 + 120000), "time_ms": T0 + 120000},
                 {"action": "cleared", "time": iso(T0 + 240000), "time_ms": T0 + 240000}]}]}))
        # raise time outside [from, to): nothing
        self.assertEqual(d.api("/api/v1/alerts?from=2026-11-22T07:03:00Z&to=2026-11-22T08:00:00Z"),
                         (200, {"active": [], "history": []}))

        st, body = d.api("/api/v1/status")
        self.assertEqual(st, 200)
        self.assertEqual((body["version"], body["series"], body["alerts_active"],
                          body["devices"], body["broker"]["state"], body["live"]),
                         ("0.1.0", 3, 0, {"air": {"online": 2, "stale": 0, "offline": 0}},
                          "connected", {"clients": 0, "sent": 0, "dropped": 0}))
        self.assertEqual((body["adapters"]["air"]["messages"],
                          body["adapters"]["air"]["observations"]), (6, 11))
        st, body = d.api("/healthz")
        self.assertEqual((st, body["status"], body["broker"]), (200, "ok", "connected"))

        # errors
        self.assertEqual(d.api("/api/v1/windows?series=air/nope/x"),
                         (404, {"error": "no such series: air/nope/x"}))
        self.assertEqual(d.api("/api/v1/windows?series=air/pk-02/pm25&resolution=5m"),
                         (400, {"error": "the series has no 5m windows"}))
        self.assertEqual(d.api("/api/v1/windows?series=air/pk-02/pm25&rolling=7s&step=1s"),
                         (400, {"error": "no stored resolution divides both rolling and step"}))
        self.assertEqual(d.api("/api/v1/series?limit=100000"),
                         (400, {"error": "bad parameter (match, q, limit 1..10000, offset)"}))
        self.assertEqual(d.api("/api/v1/bogus"), (404, {"error": "no such endpoint"}))

        st, hdr, text = d.http("/metrics")
        hdr = {k.lower(): v for k, v in hdr.items()}
        self.assertEqual((st, hdr["content-type"]),
                         (200, "text/plain; version=0.0.4; charset=utf-8"))
        text = text.decode()
        self.assertIn("\niocd_live_clients 0\n", text)
        self.assertIn("\niocd_http_unauthorized_total 0\n", text)
        self.assertIn("\niocd_live_dropped_total 0\n", text)
        n = int(re.search(r"\niocd_http_requests_total (\d+)\n", text).group(1))
        self.assertGreaterEqual(n, 20)

        # the embedded console
        for path, ctype, needle in [("/", "text/html; charset=utf-8", b"<html"),
                                    ("/app.js", "text/javascript; charset=utf-8", b"/api/v1/"),
                                    ("/style.css", "text/css; charset=utf-8", b"{")]:
            st, hdr, body = d.http(path)
            hdr = {k.lower(): v for k, v in hdr.items()}
            self.assertEqual((st, hdr["content-type"]), (200, ctype), path)
            self.assertIn(needle, body)
        self.assertEqual(d.http("/nope.html")[0], 404)

    def test_live_stream(self):
        d = self.iocd(AIR_ADAPTER).start()
        s = SSE(d.http_port, "?match=obs/air/pk-01/%23&types=obs")
        self.addCleanup(s.close)
        head = s.head.decode().lower()
        self.assertTrue(head.startswith("http/1.1 200"), head)
        for h in ("content-type: text/event-stream", "cache-control: no-cache",
                  "x-accel-buffering: no"):
            self.assertIn("\r\n" + h, head)
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t, 11)])
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 35.25, 27.5)])
        s.read_until(lambda: len(s.events()) == 2, what="two pk-01 observations")
        ev = s.events()
        self.assertEqual([e[1] for e in ev], ["obs", "obs"])
        run, seq = ev[0][0].split("-")
        self.assertRegex(run, r"^[0-9a-f]+$")
        self.assertEqual(ev[1][0], "%s-%d" % (run, int(seq) + 1))
        data = ev[0][2]
        self.assertLessEqual(abs(data.pop("received_ms") - time.time() * 1000), 10000)
        self.assertEqual(data, {"type": "obs", "series": "air/pk-01/pm25", "source": "air",
                                "device": "pk-01", "metric": "pm25", "unit": "ug/m3",
                                "value": 35.25, "time": iso(T0), "time_ms": T0})
        self.assertEqual(ev[1][2]["series"], "air/pk-01/temperature")
        st, body = d.api("/api/v1/status")
        self.assertEqual(body["live"], {"clients": 1, "sent": 2, "dropped": 0})
        last_id = ev[1][0]
        s.close()

        # Items while away are caught up on with Last-Event-ID, then live ones.
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 60, 36)])
        wait_until(lambda: d.api("/api/v1/latest?match=air/pk-01/pm25")[1]["series"][0]["value"]
                   == 36, what="the observation while away")
        s2 = SSE(d.http_port, "?match=obs/air/pk-01/pm25", "Last-Event-ID: %s\r\n" % last_id)
        self.addCleanup(s2.close)
        s2.read_until(lambda: len(s2.events()) == 1, what="catch-up")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 120, 37)])
        s2.read_until(lambda: len(s2.events()) == 2, what="live after catch-up")
        self.assertEqual([(e[1], e[2]["value"]) for e in s2.events()], [("obs", 36), ("obs", 37)])
        # A wrong run: reset.
        s3 = SSE(d.http_port, "", "Last-Event-ID: 1-5\r\n")
        self.addCleanup(s3.close)
        s3.read_until(lambda: len(s3.events()) == 1, what="reset")
        self.assertEqual(s3.events(), [(None, "reset", {"run": run})])
        s3.close()

        # SIGTERM with a stream open: the stream ends and iocd exits promptly.
        t0 = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        s2.read_until(lambda: s2.eof, timeout=5, what="end of stream")
        self.assertEqual(d.proc.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - t0, 5)

    def test_token(self):
        port = free_port()
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 127.0.0.1:%d\ntoken = s3cret\n" % port)
        d.http_port = port
        d.start()
        self.assertEqual(d.api("/api/v1/status")[0], 401)
        self.assertEqual(d.api("/api/v1/status", token="wrong"),
                         (401, {"error": "unauthorized"}))
        self.assertEqual(d.http("/metrics")[0], 401)
        self.assertEqual(d.http("/api/v1/live?access_token=nope")[0], 401)
        # the page and /healthz need no token
        self.assertEqual(d.http("/")[0], 200)
        self.assertEqual(d.api("/healthz")[0], 200)
        self.assertEqual(d.api("/api/v1/status", token="s3cret")[0], 200)
        st, _, text = d.http("/metrics", token="s3cret")
        self.assertEqual(st, 200)
        self.assertIn("\niocd_http_unauthorized_total 4\n", text.decode())
        # the live stream takes the token as ?access_token= too (EventSource)
        s = SSE(d.http_port, "?access_token=s3cret")
        self.addCleanup(s.close)
        self.assertTrue(s.head.startswith(b"HTTP/1.1 200"), s.head)

    def test_non_loopback_needs_token(self):
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 0.0.0.0:%d\n" % free_port())
        d.start(wait_ready=False)
        self.assertNotEqual(d.proc.wait(timeout=10), 0)
        self.assertIn("is not a loopback address: set [http] token", d.log_text())


if __name__ == "__main__":
    unittest.main()
