"""iocd as a Sparkplug B host application (docs/adapters.md, "Host
application duties"), against a real mosquitto with an edge-node script
(spb_edge.py) that encodes real Sparkplug B payloads:

- after an iocd restart the node's alias-only DATA is rejected and iocd asks
  for a rebirth (the exact NCMD decoded); the node answers with its BIRTHs
  and its next DATA is stored exactly;
- STATE: the birth is retained with online=true; SIGTERM publishes the death
  with the same timestamp; after SIGKILL the broker publishes the will;
- NDEATH marks the node's devices offline (exact states through the API),
  an NDEATH with an old bdSeq is ignored and counted, DDEATH marks one
  device offline;
- a sequence gap asks for a rebirth, at most once per rebirth_interval.
"""
import json
import signal
import time
import unittest

from iocdtest import IocdTestCase, wait_until
from spb_edge import EdgeNode, QosSubscriber, decode_ncmd, retained

T0 = 1795341840000    # 2026-11-22T10:04:00Z
W = "2026-11-22T10:04:00Z"
HOST = "ioc-pleiku"
STATE = "spBv1.0/STATE/" + HOST

ADAPTER = "[adapter plant]\ntopic = spBv1.0/+/+/#\nformat = sparkplug\n"
SPARKPLUG = "[sparkplug]\nhost_id = %s\n" % HOST


def now_ms():
    return int(time.time() * 1000)


class SparkplugHostCase(IocdTestCase):
    def setUp(self):
        super().setUp()
        self.edge = None

    def tearDown(self):
        if self.edge:
            self.edge.close()
        super().tearDown()

    def status(self, d):
        return d.status()["adapters"]["plant"]

    def window(self, d, series):
        """The 1m windows of `series`: (start, count, sum, min, max, last, last_time)."""
        return [(r["start"], r["count"], r["sum"], r["min"], r["max"], r["last"], r["last_time"])
                for r in d.query(series, "--resolution", "1m")]

    def devices(self, d):
        st, body = d.api("/api/v1/devices?match=plant/%2B")
        self.assertEqual(st, 200)
        return {x["device"]: x["state"] for x in body["devices"]}


class RebirthAfterRestartTest(SparkplugHostCase):
    def test_rebirth_after_restart(self):
        d = self.iocd(ADAPTER).start()
        self.edge = edge = EdgeNode(self.broker, self.dir)
        edge.births(T0)                              # seq 0, 1
        edge.ddata("Pump-1", T0 + 1000, 2.5, 301)    # seq 2
        d.wait_messages("plant", 3)
        self.assertEqual(edge.requests(), [])

        # iocd restarts: it no longer knows the aliases, the node goes on.
        d.restart()
        t_before = now_ms()
        edge.ddata("Pump-1", T0 + 2000, 0.5, 302)    # seq 3: alias-only, rejected
        wait_until(lambda: edge.requests(), what="iocd's Rebirth request")
        t_after = now_ms()
        d.wait_messages("plant", 4)
        ((ncmd, raw, was_retained, qos),) = edge.requests()
        # NCMD, QoS 0, not retained (Sparkplug 3.0, NCMD); payload timestamp
        # and metric timestamp the send time, no seq; one metric, by name.
        self.assertEqual((was_retained, qos), (False, 0))
        ts = ncmd[1][0]
        self.assertTrue(t_before <= ts <= t_after, (t_before, ts, t_after))
        self.assertEqual(ncmd, {1: [ts], 2: [{1: [b"Node Control/Rebirth"], 3: [ts], 4: [11],
                                              14: [1]}]})
        self.assertEqual(len(raw), 42)

        # The edge-node script answers with its BIRTHs; the next DATA decodes.
        self.assertEqual(edge.answer(T0 + 3000), 1)  # NBIRTH seq 0, DBIRTH seq 1
        edge.ddata("Pump-1", T0 + 4000, 1.75, 303)   # seq 2
        # 3 before the restart, the rejected DATA, iocd's own NCMD coming
        # back (no_route), NBIRTH, DBIRTH, DATA.
        d.wait_messages("plant", 8)
        time.sleep(0.3)
        self.assertEqual(len(edge.requests()), 1)   # nothing more to ask
        st = self.status(d)
        self.assertEqual((st["messages"], st["accepted"], st["commands"], st["rejects"],
                          st["notes"].get("seq_gap", 0)),
                         (8, 6, 1, {"missing_field": 1, "no_route": 1}, 0))
        # Exact values: the first BIRTH and DATA, nothing of the rejected DATA
        # (0.5, 302), then the BIRTH after the rebirth and the next DATA.
        self.assertEqual(self.window(d, "plant/Pump-1/Inputs.Pressure"),
                         [(W, 4, 2.25 + 2.5 + 2.25 + 1.75, 1.75, 2.5, 1.75,
                           "2026-11-22T10:04:04Z")])
        self.assertEqual(self.window(d, "plant/Pump-1/Level"),
                         [(W, 4, 300 + 301 + 300 + 303, 300, 303, 303, "2026-11-22T10:04:04Z")])
        self.assertEqual(self.window(d, "plant/PS-01/Supply_Voltage"),
                         [(W, 2, 25.0, 12.5, 12.5, 12.5, "2026-11-22T10:04:03Z")])
        self.assertIn("published 'spBv1.0/Pleiku/NCMD/PS-01': Rebirth request to Pleiku/PS-01: "
                      "DDATA without an NBIRTH seen for Pleiku/PS-01", d.log_text())


class StateTest(SparkplugHostCase):
    def state(self):
        got = retained(self.broker, STATE)
        self.assertIsNotNone(got, "no retained STATE")
        payload, flag = got
        self.assertTrue(flag)
        return json.loads(payload)

    def test_birth_death_and_will(self):
        sub = QosSubscriber(self.broker, STATE)
        try:
            t0 = now_ms()
            d = self.iocd(ADAPTER, extra=SPARKPLUG).start()
            sub.wait(1, what="STATE birth")
            t1 = now_ms()
            (topic, payload, was_retained, qos), = sub.snapshot()
            birth = json.loads(payload)
            T = birth["timestamp"]
            self.assertTrue(t0 <= T <= t1, (t0, T, t1))
            # Exactly the specification's JSON, QoS 1, retained.
            self.assertEqual(payload, b'{"online":true,"timestamp":%d}' % T)
            self.assertEqual((topic, was_retained, qos), (STATE, False, 1))
            self.assertEqual(self.state(), {"online": True, "timestamp": T})
            st, body = d.api("/api/v1/status")
            self.assertEqual(body["sparkplug"], {
                "state_topic": STATE, "online": True, "timestamp": T, "births": 1,
                "deaths": 0, "answered": 0, "failures": 0})

            # A death on the topic while iocd is online (a late will, another
            # client): iocd publishes its birth again, same timestamp.
            self.broker.publish(STATE, ['{"online":false,"timestamp":%d}' % (T - 5)])
            sub.wait(3, what="the death and iocd's answer")
            self.assertEqual([json.loads(p) for _, p, _, _ in sub.snapshot()[1:3]],
                             [{"online": False, "timestamp": T - 5},
                              {"online": True, "timestamp": T}])
            wait_until(lambda: self.state() == {"online": True, "timestamp": T},
                       what="the retained birth again")
            self.assertEqual(d.api("/api/v1/status")[1]["sparkplug"]["answered"], 1)
            # STATE is not data: no adapter saw these messages.
            self.assertEqual(d.counter("plant", "messages"), 0)

            # SIGTERM: the death, published before the DISCONNECT, same T.
            self.assertEqual(d.stop(signal.SIGTERM), 0)
            sub.wait(4, what="the STATE death at SIGTERM")
            self.assertEqual(sub.snapshot()[3][1], b'{"online":false,"timestamp":%d}' % T)
            self.assertEqual(sub.snapshot()[3][3], 1)
            self.assertEqual(self.state(), {"online": False, "timestamp": T})
            self.assertIn('host application offline: {"online":false,"timestamp":%d}' % T,
                          d.log_text())

            # Started again: a new, later timestamp; then SIGKILL: the broker
            # publishes the will, the death with that timestamp.
            d.ready_count_before = d.log_text().count("subscribed to")
            d.start()
            sub.wait(5, what="the second birth")
            birth2 = json.loads(sub.snapshot()[4][1])
            T2 = birth2["timestamp"]
            self.assertEqual(birth2, {"online": True, "timestamp": T2})
            self.assertGreater(T2, T)
            self.assertEqual(self.state(), {"online": True, "timestamp": T2})
            d.stop(signal.SIGKILL)
            sub.wait(6, timeout=30, what="the will after SIGKILL")
            (topic, payload, _, qos) = sub.snapshot()[5]
            self.assertEqual((topic, payload, qos),
                             (STATE, b'{"online":false,"timestamp":%d}' % T2, 1))
            self.assertEqual(self.state(), {"online": False, "timestamp": T2})
            self.assertEqual(len(sub.snapshot()), 6)
        finally:
            sub.stop()

    def test_birth_after_reconnect(self):
        from iocdtest import Broker
        d = self.iocd(ADAPTER, extra=SPARKPLUG).start()
        T = wait_until(lambda: d.status() and d.api("/api/v1/status")[1]["sparkplug"]["online"]
                       and d.api("/api/v1/status")[1]["sparkplug"]["timestamp"],
                       what="the first birth")
        self.assertEqual(self.state(), {"online": True, "timestamp": T})
        # The broker restarts without persistence: the retained STATE is
        # gone; iocd reconnects and publishes a new birth, a later T.
        port = self.broker.port
        self.broker.stop()
        self.broker = Broker(self.dir, port=port).start()
        sub = QosSubscriber(self.broker, STATE)
        try:
            got = wait_until(lambda: [json.loads(p) for _, p, _, _ in sub.snapshot()
                                      if json.loads(p)["timestamp"] > T] and
                             [json.loads(p) for _, p, _, _ in sub.snapshot()],
                             timeout=30, what="the birth after the reconnect")
            T2 = got[-1]["timestamp"]
            self.assertGreater(T2, T)
            # Before it, at most the copy of the old birth that libmosquitto
            # sends again after a reconnect (iocd's answer to its own will,
            # see below): never a death, never after the new birth.
            self.assertIn(got, ([{"online": True, "timestamp": T2}],
                                [{"online": True, "timestamp": T},
                                 {"online": True, "timestamp": T2}]))
            self.assertEqual(self.state(), {"online": True, "timestamp": T2})
            # One birth per connect; mosquitto may also deliver iocd's own
            # will to iocd as it shuts down, which iocd answers with a birth
            # that the closing connection loses (counted as answered).
            st = d.api("/api/v1/status")[1]
            self.assertEqual((st["broker"]["connects"],
                              st["sparkplug"]["births"] - st["sparkplug"]["answered"]), (2, 2))
        finally:
            sub.stop()

    def test_no_host_id_no_state(self):
        sub = QosSubscriber(self.broker, "spBv1.0/STATE/#")
        try:
            d = self.iocd(ADAPTER).start()
            self.assertEqual(d.stop(signal.SIGTERM), 0)
            time.sleep(0.3)
            self.assertEqual(sub.snapshot(), [])
            self.assertNotIn("sparkplug", d.status())
        finally:
            sub.stop()

    def test_bad_host_id_refused(self):
        import subprocess
        from iocdtest import IOCD
        d = self.iocd(ADAPTER, extra="[sparkplug]\nhost_id = a/b\n")
        r = subprocess.run([IOCD, "--check-config", "--config", d.conf], capture_output=True,
                           text=True, timeout=30)
        line = [i + 1 for i, l in enumerate(open(d.conf).read().splitlines())
                if l == "host_id = a/b"][0]
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocd: %s:%d: [sparkplug] host_id: 'a/b' contains '/', '+' or '#' "
                             "(it is one topic level)\n" % (d.conf, line)))


class DeathTest(SparkplugHostCase):
    def test_ndeath_marks_devices_offline(self):
        d = self.iocd(ADAPTER).start()
        self.edge = edge = EdgeNode(self.broker, self.dir, devices=("Pump-1", "Valve-3"),
                                    bdseq=5)
        edge.births(T0)
        edge.ddata("Pump-1", T0 + 1000, 2.5, 301)
        edge.ddata("Valve-3", T0 + 1000, 3.5, 401)
        d.wait_messages("plant", 5)
        self.assertEqual(self.devices(d), {"PS-01": "online", "Pump-1": "online",
                                           "Valve-3": "online"})
        # The will of an earlier session (bdSeq 4) arrives late: ignored.
        edge.ndeath(bdseq=4)
        d.wait_messages("plant", 6)
        self.assertEqual(self.status(d)["rejects"], {"stale": 1})
        self.assertEqual(self.devices(d), {"PS-01": "online", "Pump-1": "online",
                                           "Valve-3": "online"})
        # DDEATH: that device only.
        edge.ddeath("Valve-3", T0 + 2000)
        d.wait_messages("plant", 7)
        self.assertEqual(self.devices(d), {"PS-01": "online", "Pump-1": "online",
                                           "Valve-3": "offline"})
        # The node's own death (bdSeq 5): the node and every device.
        edge.ndeath()
        d.wait_messages("plant", 8)
        self.assertEqual(self.devices(d), {"PS-01": "offline", "Pump-1": "offline",
                                           "Valve-3": "offline"})
        st = self.status(d)
        self.assertEqual((st["messages"], st["accepted"], st["events"], st["rejects"]),
                         (8, 7, 3 + 1 + 2, {"stale": 1}))
        rows = [json.loads(l) for l in d.ctl("events", "--json", "--kind",
                                             "device_offline").stdout.splitlines()]
        self.assertEqual(sorted((r["device"], r["text"]) for r in rows), [
            ("PS-01", "edge node Pleiku/PS-01 offline"),
            ("Pump-1", "device Pleiku/PS-01/Pump-1 offline (NDEATH of its edge node)"),
            ("Valve-3", "device Pleiku/PS-01/Valve-3 offline")])
        self.assertIn("rejected message on 'spBv1.0/Pleiku/NDEATH/PS-01': stale: NDEATH of "
                      "Pleiku/PS-01: bdSeq 4 "
                      "is not the 5 of its NBIRTH (a death from an earlier session); ignored",
                      d.log_text())


class SeqGapTest(SparkplugHostCase):
    INTERVAL = 4.0

    def test_gap_rebirth_rate_limited(self):
        d = self.iocd(ADAPTER + "rebirth_interval = 4s\n").start()
        self.edge = edge = EdgeNode(self.broker, self.dir)
        edge.births(T0)                                   # seq 0, 1
        edge.ddata("Pump-1", T0 + 1000, 2.5, 301)         # seq 2
        d.wait_messages("plant", 3)
        # Six gaps in a row, well within one interval.
        start = time.monotonic()
        for i in range(6):
            edge.ddata("Pump-1", T0 + 2000 + i, 1.0, 310 + i, seq=10 + 10 * i)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, self.INTERVAL - 1, "publishing took too long to test the window")
        # 3 + 6 DATA + iocd's one NCMD coming back.
        d.wait_messages("plant", 10)
        time.sleep(0.5)
        reqs = edge.requests()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(decode_ncmd(reqs[0][1])[2][0][1], [b"Node Control/Rebirth"])
        first = time.monotonic()
        st = self.status(d)
        self.assertEqual((st["notes"]["seq_gap"], st["notes"]["rebirth_limited"],
                          st["commands"]), (6, 5, 1))
        self.assertEqual(st["accepted"], 9)  # gaps are still decoded
        # After the interval, the next gap asks again.
        time.sleep(max(0.0, self.INTERVAL + 0.5 - (time.monotonic() - first)))
        edge.ddata("Pump-1", T0 + 3000, 1.0, 320, seq=200)
        wait_until(lambda: len(edge.requests()) == 2, what="the second Rebirth request")
        d.wait_messages("plant", 12)
        st = self.status(d)
        self.assertEqual((st["notes"]["seq_gap"], st["notes"]["rebirth_limited"],
                          st["commands"]), (7, 5, 2))
        self.assertIn("rebirth_limited on 'spBv1.0/Pleiku/DDATA/PS-01/Pump-1': no Rebirth "
                      "requested from Pleiku/PS-01 (sequence gap: expected seq 21, got 30): "
                      "asked ", d.log_text())


if __name__ == "__main__":
    unittest.main(verbosity=2)
