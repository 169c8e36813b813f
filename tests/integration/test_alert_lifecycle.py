"""The alert lifecycle operators act on (docs/alerts.md, docs/api.md):
POST /api/v1/alerts/ack, /assign and /resolve on a raised alert, each
applied once, published live with its actor and note, stored as a
transition of the alert's history, and kept across a restart; a second
acknowledgement is 409, an unknown id 404, a body that is not JSON 415, a
GET 405. With a token, a request without it changes nothing (401) and the
actor is the token's account, admin. Races: eight publishers at once and
eight concurrent acknowledgements, then a reload and a restart, give one
raise and one acknowledgement."""
import json
import signal
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

from iocdtest import AIR_ADAPTER, IOCCTL, IocdTestCase, air, wait_until
from test_http_api import SSE

T0 = 1795330800000  # 2026-11-22T07:00:00Z
RULE = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nabove = 55\nclear = 50\n"
        "severity = major\ntext = PM2.5 above 55\n")
ID = "pm25_high/air/pk-01/pm25"


def post(d, action, body, token=None, ctype="application/json", path="/api/v1/alerts/"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request("http://127.0.0.1:%d%s%s" % (d.http_port, path, action),
                                 data=data, method="POST")
    req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class AlertLifecycleTest(IocdTestCase):
    def test_duplicate_raise_races(self):
        """One active alert per rule and subject: 8 publishers at once, 8
        concurrent acknowledgements, a reload and a restart give one raise
        and one acknowledgement, stored once."""
        d = self.iocd(AIR_ADAPTER + RULE).start()
        t = T0 // 1000

        def publisher(k):
            lines = b"".join(air("pk-01", t + k * 100 + i, 60 + i).encode() + b"\n"
                             for i in range(25))
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                            "-q", "1", "-t", "pleiku/air/pk-01/data", "-l", "-i", "race-%d" % k],
                           input=lines, check=True, timeout=60)
        pubs = [threading.Thread(target=publisher, args=(k,)) for k in range(8)]
        for p in pubs:
            p.start()
        for p in pubs:
            p.join()
        d.wait_messages("air", 200)
        [first] = d.api("/api/v1/alerts")[1]["active"]
        # Raised by whichever publisher's first reading came first.
        self.assertEqual(first["id"], ID)
        self.assertIn(first["raised_ms"], [(t + k * 100) * 1000 for k in range(8)])

        answers = []

        def acker(k):
            answers.append(post(d, "ack", {"id": ID, "note": "ca %d" % k})[0])
        ackers = [threading.Thread(target=acker, args=(k,)) for k in range(8)]
        for a in ackers:
            a.start()
        for a in ackers:
            a.join()
        self.assertEqual(sorted(answers), [200] + [409] * 7)

        # A reload with the rule unchanged and a restart keep the one alert.
        n = d.log_text().count("reload: configuration applied")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log_text().count("reload: configuration applied") > n,
                   what="the reload")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 900, 70)])
        d.wait_messages("air", 201)
        time.sleep(0.3)  # stored with the next flush
        d.restart()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t + 901, 71)])
        d.wait_messages("air", 1)
        [a] = d.api("/api/v1/alerts")[1]["active"]
        self.assertEqual((a["id"], a["raised_ms"], a["acknowledged_by"]),
                         (ID, first["raised_ms"], "local"))
        time.sleep(0.3)
        rows = d.api("/api/v1/events?source=iocd&kind=alert")[1]["events"]
        self.assertEqual([r["status"] for r in rows], ["acknowledged", "raised"])

    def test_ack_assign_resolve_with_history_and_restart(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        s = SSE(d.http_port, "?types=alert")
        self.addCleanup(s.close)
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 60)])
        s.read_until(lambda: len(s.events()) == 1, what="the raise")

        st, body = post(d, "ack", {"id": ID, "note": "đang kiểm tra"})
        self.assertEqual(st, 200, body)
        self.assertEqual((body["id"], body["action"], body["actor"]), (ID, "acknowledged", "local"))
        self.assertEqual((body["alert"]["state"], body["alert"]["acknowledged_by"],
                          body["alert"]["acknowledged_note"], body["alert"]["value"]),
                         ("raised", "local", "đang kiểm tra", 60))
        ack_ms = body["alert"]["acknowledged_ms"]
        st, again = post(d, "ack", {"id": ID})
        self.assertEqual((st, again["error"], again["alert"]["acknowledged_by"]),
                         (409, "already acknowledged", "local"))
        # iocctl's verb: the same POST.
        r = subprocess.run([IOCCTL, "--config", d.conf, "alerts", "assign", ID, "--assignee",
                            "Nguyễn Văn A", "--note", "ca đêm"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "%s assigned by local\n" % ID, ""))
        r = subprocess.run([IOCCTL, "--config", d.conf, "alerts", "ack", ID], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr.split(": HTTP ")[-1]),
                         (1, "409: already acknowledged\n"))
        r = subprocess.run([IOCCTL, "--config", d.conf, "alerts", "assign", ID],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr.split("\n")[0]),
                         (2, "iocctl: alerts assign needs --assignee NAME"))
        s.read_until(lambda: len(s.events()) == 3, what="two actions live")
        live = [e[2] for e in s.events()]
        self.assertEqual([(a["state"], a.get("action"), a.get("actor"), a.get("note"))
                          for a in live],
                         [("raised", None, None, None),
                          ("raised", "acknowledged", "local", "đang kiểm tra"),
                          ("raised", "assigned", "local", "ca đêm")])
        self.assertEqual(live[2]["assignee"], "Nguyễn Văn A")

        # Acknowledgement and assignment survive a restart.
        time.sleep(0.3)  # stored with the next flush
        d.restart()
        [a] = d.api("/api/v1/alerts")[1]["active"]
        self.assertEqual((a["id"], a["acknowledged_by"], a["acknowledged_ms"],
                          a["acknowledged_note"], a["assignee"], a["raised_ms"]),
                         (ID, "local", ack_ms, "đang kiểm tra", "Nguyễn Văn A", T0))
        # Resolved by hand: cleared, with who and why.
        st, body = post(d, "resolve", {"id": ID, "note": "đã xử lý"})
        self.assertEqual((st, body["action"], body["alert"]), (200, "resolved", None))
        self.assertEqual(d.api("/api/v1/alerts")[1]["active"], [])
        st, gone = post(d, "resolve", {"id": ID})
        self.assertEqual((st, gone["error"]), (404, "no active alert with this id"))

        def history():
            return d.api("/api/v1/alerts?from=2026-11-22T00:00:00Z")[1]["history"]
        wait_until(lambda: history() and history()[0]["cleared"] is not None,
                   what="the resolve stored")
        [h] = history()
        self.assertEqual(h["raised_ms"], T0)
        steps = [(x["action"], x.get("actor"), x.get("note"), x.get("assignee"))
                 for x in h["transitions"]]
        self.assertEqual(steps, [("raised", None, None, None),
                                 ("acknowledged", "local", "đang kiểm tra", None),
                                 ("assigned", "local", "ca đêm", "Nguyễn Văn A"),
                                 ("resolved", "local", "đã xử lý", None)])
        rows = d.api("/api/v1/events?source=iocd&kind=alert")[1]["events"]
        self.assertEqual([r["status"] for r in rows],
                         ["resolved", "assigned", "acknowledged", "raised"])
        self.assertEqual(rows[0]["text"], "pm25_high: air/pk-01/pm25 resolved by local: đã xử lý")

    def test_silences(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        s = SSE(d.http_port, "?types=alert")
        self.addCleanup(s.close)
        st, body = post(d, "", {"device": "pk-01", "duration": "2h", "reason": "bảo trì trạm"},
                        path="/api/v1/silences")
        self.assertEqual(st, 200, body)
        sil = body["silence"]
        self.assertEqual((sil["rule"], sil["source"], sil["device"], sil["area"], sil["by"],
                          sil["reason"], sil["until_ms"] - sil["created_ms"]),
                         ("", "", "pk-01", "", "local", "bảo trì trạm", 7200000))
        self.assertEqual([x["id"] for x in d.api("/api/v1/silences")[1]["silences"]], [sil["id"]])
        t = T0 // 1000
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", t, 60)])
        self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t, 61)])
        s.read_until(lambda: len(s.events()) == 2, what="two raises")
        got = {e[2]["id"]: e[2].get("silenced", False) for e in s.events()}
        self.assertEqual(got, {ID: True, "pm25_high/air/pk-02/pm25": False})
        # Recorded like any alert, marked silenced.
        def stored():
            return {r["attributes"]["id"]: r["attributes"].get("silenced")
                    for r in d.api("/api/v1/events?source=iocd&kind=alert")[1]["events"]}
        wait_until(lambda: len(stored()) == 2, what="both raises stored")
        self.assertEqual(stored(), {ID: "true", "pm25_high/air/pk-02/pm25": None})
        # iocctl lists it.
        r = subprocess.run([IOCCTL, "--config", d.conf, "alerts", "silences", "--json"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual([x["id"] for x in json.loads(r.stdout)["silences"]], [sil["id"]])
        # Kept across a restart, then lifted.
        d.restart()
        [again] = d.api("/api/v1/silences")[1]["silences"]
        self.assertEqual((again["id"], again["until_ms"], again["reason"]),
                         (sil["id"], sil["until_ms"], "bảo trì trạm"))
        self.assertIn("restored 1 active silence(s)", d.log_text())
        r = subprocess.run([IOCCTL, "--config", d.conf, "alerts", "unsilence", sil["id"]],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "silence %s lifted until %s\n" % (sil["id"], sil["until"])))
        r = subprocess.run([IOCCTL, "--config", d.conf, "alerts", "silence", "--rule",
                            "pm25_high", "--for", "30m", "--reason", "thử"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout.startswith("silence s")), (0, True))
        [new] = d.api("/api/v1/silences")[1]["silences"]
        self.assertEqual((new["rule"], new["reason"], new["until_ms"] - new["created_ms"]),
                         ("pm25_high", "thử", 1800000))
        st, body = post(d, "lift", {"id": new["id"]}, path="/api/v1/silences/")
        self.assertEqual((st, body["lifted_by"], body["silence"]["id"]), (200, "local", new["id"]))
        self.assertEqual(d.api("/api/v1/silences")[1]["silences"], [])
        self.assertEqual(post(d, "lift", {"id": sil["id"]}, path="/api/v1/silences/")[0], 404)
        d.restart()
        self.assertEqual(d.api("/api/v1/silences")[1]["silences"], [])
        # Refusals.
        for body, why in [({"duration": "1h", "reason": "x"}, "a silence names at least one"),
                          ({"device": "x", "reason": "x"}, "duration:"),
                          ({"device": "x", "duration": "1h"}, "reason:"),
                          ({"device": "x", "duration": "soon", "reason": "x"}, "duration:")]:
            st, answer = post(d, "", body, path="/api/v1/silences")
            self.assertEqual(st, 400, body)
            self.assertTrue(answer["error"].startswith(why), answer)

    def test_refusals(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        self.assertEqual(post(d, "ack", {"id": "nope/air/x/pm25"})[0], 404)
        self.assertEqual(post(d, "ack", b"id=x", ctype="text/plain")[0], 415)
        self.assertEqual(post(d, "ack", b"{not json")[0], 400)
        self.assertEqual(post(d, "ack", {"note": "no id"})[0], 400)
        self.assertEqual(post(d, "assign", {"id": ID})[0], 400)  # to is required
        self.assertEqual(post(d, "ack", {"id": ID, "note": "x" * 501})[0], 400)
        self.assertEqual(d.http("/api/v1/alerts/ack")[0], 405)

    def test_token_is_the_admin_account(self):
        d = self.iocd(AIR_ADAPTER + RULE, extra="[http]\nlisten = 127.0.0.1:0\n")
        # a token on a loopback bind of its own port
        from iocdtest import free_port
        d.http_port = free_port()
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace("listen = 127.0.0.1:0\n",
                                 "listen = 127.0.0.1:%d\ntoken = s3cret\n" % d.http_port))
        d.start()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 70)])
        wait_until(lambda: d.api("/api/v1/alerts", token="s3cret")[1]["active"],
                   what="the raise")
        self.assertEqual(post(d, "ack", {"id": ID})[0], 401)
        self.assertEqual(post(d, "ack", {"id": ID}, token="wrong")[0], 401)
        [a] = d.api("/api/v1/alerts", token="s3cret")[1]["active"]
        self.assertNotIn("acknowledged_by", a)
        st, body = post(d, "ack", {"id": ID}, token="s3cret")
        self.assertEqual((st, body["actor"], body["alert"]["acknowledged_by"]),
                         (200, "admin", "admin"))


if __name__ == "__main__":
    unittest.main()
