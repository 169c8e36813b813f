"""Device status and raised alerts survive an iocd restart: a raised alert is
neither raised again nor forgotten (its clear pairs with the stored raise),
its rolling window is refilled from the stored windows (the mean after the
restart covers the samples before it, in event time),
and a device seen before the restart is listed after it and goes stale and
offline by time without sending anything — after SIGTERM (state as of the
drain) and after SIGKILL (state as of the last flush)."""
import json
import signal
import sqlite3
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, Subscriber, air, wait_until

# These tests check the per-item layout of the republish (one message per
# observation, and the JSON twin), which the defaults no longer send: the
# batched default is test_live_feed's test_default_batches_one_message_each.
TWIN = "per_metric = true\njson = true\n"

RULE = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nstat = mean\n"
        "window = 1h\nabove = 55\nclear = 50\nseverity = major\n"
        "text = PM2.5 1 h mean above 55\n")
DEVICES = "[devices]\ndefault_interval = 1s\nstale_multiple = 2\noffline_multiple = 4\n"


def iso(ms):
    import datetime
    s = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")
    return s + (".%03dZ" % (ms % 1000) if ms % 1000 else "Z")


class LiveRestartTest(IocdTestCase):
    def sub(self, *topics):
        s = Subscriber(self.broker, *topics)
        self.addCleanup(s.stop)
        time.sleep(0.3)  # let it subscribe
        return s

    def restart(self, d, sig):
        """Stop iocd with `sig` (by its PID) and start it again on the same database."""
        if sig == signal.SIGTERM:
            self.assertEqual(d.stop(), 0)
        else:
            self.assertEqual(d.stop(sig), -sig)
        return d.start()

    def db_rows(self, d, sql):
        con = sqlite3.connect(d.db)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def test_raised_alert_is_not_raised_again_and_clears_once(self):
        d = self.iocd(AIR_ADAPTER + RULE, extra="[live]\n" + TWIN).start()
        s = self.sub("ioc/v1/json/alert/#", "ioc/v1/json/obs/air/pk-02/pm25")
        # Ten minutes ago, on a whole minute: inside the 30 days iocd looks back.
        t0 = (int(time.time()) // 60 - 10) * 60
        t0_ms = t0 * 1000
        # Rolling 1 h means 40, 50, 60: raised at t0 + 120 s.
        for i, v in enumerate([40, 60, 80]):
            self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t0 + 60 * i, v)])
        s.wait(lambda m: len([x for x in m if "/alert/" in x[0]]) == 1, what="the raise")
        raise_item = s.json("ioc/v1/json/alert/")[0][1]
        self.assertEqual((raise_item["state"], raise_item["value"], raise_item["raised_ms"]),
                         ("raised", 60, t0_ms + 120000))
        self.restart(d, signal.SIGTERM)
        self.assertIn("restored 1 device(s) and 1 raised alert(s)", d.log_text())
        # Restored as it was, without publishing anything.
        st, body = d.api("/api/v1/alerts")
        self.assertEqual(st, 200)
        self.assertEqual([(a["id"], a["state"], a["severity"], a["value"], a["threshold"],
                           a["time_ms"], a["raised_ms"]) for a in body["active"]],
                         [("pm25_high/air/pk-02/pm25", "raised", "major", 60, 55,
                           t0_ms + 120000, t0_ms + 120000)])
        # The window is refilled from the stored 1-minute windows (40, 60,
        # 80): with 70 the mean is 250 / 4 = 62.5, still above: no new
        # raise. (Before, the window started empty: 70.)
        self.assertIn("alert windows of 1 series refilled from 3 stored windows",
                      d.log_text())
        self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t0 + 180, 70)])
        s.wait(lambda m: len([x for x in m if "/obs/" in x[0]]) == 4, what="the 4th obs")
        st, body = d.api("/api/v1/alerts")
        self.assertEqual([(a["state"], a["value"], a["time_ms"], a["raised_ms"])
                          for a in body["active"]],
                         [("raised", 62.5, t0_ms + 180000, t0_ms + 120000)])
        # 20: 270 / 5 = 54 > 50, still raised (an empty window would have
        # cleared at (70 + 20) / 2 = 45); then 0: 270 / 6 = 45 <= 50:
        # cleared, once, paired with the stored raise.
        self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t0 + 240, 20)])
        s.wait(lambda m: len([x for x in m if "/obs/" in x[0]]) == 5, what="the 5th obs")
        st, body = d.api("/api/v1/alerts")
        self.assertEqual([(a["state"], a["value"]) for a in body["active"]], [("raised", 54)])
        self.broker.publish("pleiku/air/pk-02/data", [air("pk-02", t0 + 300, 0)])
        s.wait(lambda m: len([x for x in m if "/alert/" in x[0]]) == 2, what="the clear")
        time.sleep(1.0)  # nothing more comes
        alerts = [p for _, p in s.json("ioc/v1/json/alert/")]
        self.assertEqual(len(alerts), 2)
        cleared = alerts[1]
        self.assertEqual((cleared["id"], cleared["state"], cleared["value"],
                          cleared["threshold"], cleared["time_ms"], cleared["raised_ms"]),
                         ("pm25_high/air/pk-02/pm25", "cleared", 45, 50, t0_ms + 300000,
                          t0_ms + 120000))
        st, body = d.api("/api/v1/alerts")
        self.assertEqual(body["active"], [])

        def history():
            h = d.api("/api/v1/alerts")[1]["history"]
            return h if h and h[0]["cleared_ms"] is not None else None
        h = wait_until(history, what="the clear in the history")
        self.assertEqual(h, [{"id": "pm25_high/air/pk-02/pm25", "rule": "pm25_high",
                              "series": "air/pk-02/pm25", "severity": "major",
                              "raised": iso(t0_ms + 120000), "raised_ms": t0_ms + 120000,
                              "cleared": iso(t0_ms + 300000), "cleared_ms": t0_ms + 300000,
                              "value": 60, "threshold": 55,
                              "text": "PM2.5 1 h mean above 55",
                              "transitions": [
                                  {"action": "raised", "time": iso(t0_ms + 120000),
                                   "time_ms": t0_ms + 120000},
                                  {"action": "cleared", "time": iso(t0_ms + 300000),
                                   "time_ms": t0_ms + 300000}]}])
        self.assertEqual(self.db_rows(d, "SELECT status, time_ms FROM events WHERE source = "
                                         "'iocd' AND kind = 'alert' ORDER BY id"),
                         [("raised", t0_ms + 120000), ("cleared", t0_ms + 300000)])
        # A second restart restores nothing: the latest change is a clear.
        self.restart(d, signal.SIGTERM)
        self.assertEqual(d.api("/api/v1/alerts")[1]["active"], [])
        self.assertEqual(d.stop(), 0)

    def check_device_survives(self, sig):
        d = self.iocd(AIR_ADAPTER, extra="[live]\n" + TWIN + DEVICES).start()
        s = self.sub("ioc/v1/json/status/#")
        self.broker.publish("pleiku/air/pk-07/data", [air("pk-07", int(time.time()), 10.0)])
        s.wait(lambda m: len(m) == 1, what="online")
        before = json.loads(s.snapshot()[0][1])
        self.assertEqual(before["state"], "online")
        # The row is written by the next flush (100 ms): what a SIGKILL keeps.
        wait_until(lambda: self.db_rows(d, "SELECT count(*) FROM devices")[0][0] == 1,
                   what="the device row")
        restarted_ms = int(time.time() * 1000)
        self.restart(d, sig)
        # Listed at once, as seen before the restart.
        st, body = d.api("/api/v1/devices")
        self.assertEqual(st, 200)
        self.assertEqual([(x["source"], x["device"], x["last_seen_ms"], x["interval_ms"],
                           x["messages"]) for x in body["devices"]],
                         [("air", "pk-07", before["last_seen_ms"], 1000, 1)])
        # Without a message: stale after 2 s of silence, offline after 4 s
        # (stale may already have come from the first run if it was slow to stop).
        s.wait(lambda m: json.loads(m[-1][1])["state"] == "offline", timeout=15,
               what="offline after the restart")
        time.sleep(1.2)  # nothing more comes
        # After connecting, the restarted iocd also sends every restored
        # device's state once more: repeats of a state are expected.
        items = []
        for _, p, _ in s.snapshot():
            x = json.loads(p)
            if not items or items[-1]["state"] != x["state"]:
                items.append(x)
        self.assertEqual([x["state"] for x in items], ["online", "stale", "offline"])
        self.assertEqual({(x["source"], x["device"], x["last_seen_ms"]) for x in items},
                         {("air", "pk-07", before["last_seen_ms"])})
        self.assertGreaterEqual(items[2]["time_ms"], restarted_ms)
        self.assertGreaterEqual(items[2]["time_ms"], before["last_seen_ms"] + 4000)
        self.assertEqual(d.api("/api/v1/devices?state=offline")[1]["devices"][0]["device"],
                         "pk-07")
        # The new state is stored too.
        wait_until(lambda: self.db_rows(d, "SELECT state FROM devices") == [("offline",)],
                   what="offline stored")
        self.assertEqual(self.db_rows(d, "SELECT source, device, first_seen_ms, last_seen_ms, "
                                         "interval_ms, messages FROM devices"),
                         [("air", "pk-07", before["last_seen_ms"], before["last_seen_ms"],
                           1000, 1)])
        self.assertEqual(d.stop(), 0)

    def test_device_survives_sigterm(self):
        self.check_device_survives(signal.SIGTERM)

    def test_device_survives_sigkill(self):
        self.check_device_survives(signal.SIGKILL)


if __name__ == "__main__":
    unittest.main(verbosity=2)
