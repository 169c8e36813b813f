"""Hostile HTTP input never crashes iocd or stalls its loop: thousands of
seeded random requests (bad methods, paths, query strings with binary,
percent-escapes and huge values, bogus Last-Event-ID and Authorization
headers, foreign or malformed Host values, truncated requests) against the
real server, each answered with an error status or a closed connection,
while ingest goes on and the stored data stays exact."""
import json
import random
import socket
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air, wait_until

ENDPOINTS = ["/api/v1/series", "/api/v1/windows", "/api/v1/latest", "/api/v1/devices",
             "/api/v1/alerts", "/api/v1/status", "/api/v1/live", "/metrics", "/healthz", "/",
             "/app.js", "/../../etc/passwd", "/api/v1/", "/api/v2/series", "//", "/%00"]
KEYS = ["series", "resolution", "from", "to", "limit", "offset", "rolling", "step", "match",
        "q", "types", "state", "last_event_id", "access_token", "x"]


def rand_text(rng, n):
    kind = rng.randrange(5)
    if kind == 0:
        return "".join(rng.choice("abc/+#-_.:0123456789") for _ in range(n))
    if kind == 1:
        return "".join("%%%02X" % rng.randrange(256) for _ in range(n))
    if kind == 2:
        return rng.choice(["-1", "0", "1e999", "NaN", "99999999999999999999", "1m", "0s",
                           "2026-11-22T07:00:00Z", "2026-13-45T99:99:99Z", "obs,alert",
                           "bogus", "", "%", "%zz", "air/+/pm25", "#", "+/+/+"])
    if kind == 3:
        return "".join(chr(rng.randrange(0x21, 0x7f)) for _ in range(n)).replace(" ", "")
    return "A" * (n * 1000)


def request(rng):
    method = rng.choice(["GET"] * 6 + ["POST", "HEAD", "DELETE", "GE\x00T", "PRI"])
    path = rng.choice(ENDPOINTS)
    if rng.random() < 0.8:
        params = ["%s=%s" % (rng.choice(KEYS), rand_text(rng, rng.randrange(1, 40)))
                  for _ in range(rng.randrange(1, 6))]
        path += "?" + "&".join(params)
    headers = ["Host: 127.0.0.1"]
    if rng.random() < 0.1:  # the Host check: foreign, malformed or loopback names
        headers = ["Host: " + rng.choice(["evil.example", "localhost:%d" % rng.randrange(70000),
                                          "[::1", "127.0.0.1:", rand_text(rng, 20)])]
    if rng.random() < 0.3:
        headers.append("Last-Event-ID: " + rand_text(rng, rng.randrange(1, 30)))
    if rng.random() < 0.2:
        headers.append("Authorization: " + rng.choice(["Bearer ", "Bearer x", "Basic abc",
                                                       "Bearer " + "t" * 5000]))
    if rng.random() < 0.05:
        headers.append("Content-Length: " + rng.choice(["-5", "999999999999", "abc"]))
    raw = ("%s %s HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n" %
           (method, path, "\r\n".join(headers))).encode("latin-1", "replace")
    if rng.random() < 0.05:
        raw = raw[:rng.randrange(1, len(raw))]  # truncated: the client gives up
    if rng.random() < 0.03:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    return raw


def send(port, raw):
    """Send raw; the status code of the answer, or None when the server closed
    the connection without one. Streams are cut after their headers."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(raw)
        if not raw.endswith(b"\r\n\r\n"):
            s.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        if not data.startswith(b"HTTP/1.1 "):
            return None
        return int(data[9:12])
    except TimeoutError:
        raise AssertionError("no answer within 5 s: the server stalled")
    except OSError:  # reset, broken pipe, not connected: the server hung up
        return None
    finally:
        s.close()


class HttpRobustTest(IocdTestCase):
    def test_random_requests(self):
        d = self.iocd(AIR_ADAPTER).start()
        rng = random.Random(20261122)
        seen = {}
        for i in range(1500):
            st = send(d.http_port, request(rng))
            seen[st] = seen.get(st, 0) + 1
            self.assertIn(st, (None, 200, 400, 401, 403, 404, 405, 413, 414, 421, 431, 503),
                          "request %d" % i)
            if i % 100 == 0:  # the loop keeps turning: ingest goes on in between
                self.broker.publish("pleiku/air/pk-01/data",
                                    [air("pk-01", 1795330800 + i, float(i))])
        self.assertTrue(d.alive())
        self.assertEqual(d.http("/healthz")[0], 200)
        wait_until(lambda: d.api("/api/v1/status")[1]["adapters"]["air"]["observations"] == 15,
                   what="15 observations")
        r = d.ctl("query", "air/pk-01/pm25", "--resolution", "1h", "--from",
                  "2026-11-22T00:00:00Z", "--to", "2026-11-23T00:00:00Z", "--json")
        w = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([(x["count"], x["sum"], x["min"], x["max"]) for x in w],
                         [(15, float(sum(range(0, 1500, 100))), 0.0, 1400.0)])
        # Every kind of answer was exercised.
        print("answers:", sorted(seen.items(), key=lambda kv: str(kv[0])))
        self.assertGreater(seen.get(400, 0), 100)
        self.assertGreater(seen.get(404, 0), 50)
        self.assertGreater(seen.get(200, 0), 50)
        self.assertGreater(seen.get(421, 0), 20)


if __name__ == "__main__":
    unittest.main()
