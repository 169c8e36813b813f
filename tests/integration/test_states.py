"""State series end to end (docs/states.md): one known on/off/fault sequence
published through the json, ngsi, senml and sparkplug adapters with payload
times, and the exact time per state, samples and transitions of every 1m and
1h window read back through iocctl and the HTTP API; the rejects
(bad_state, unknown_state, state_out_of_order, too_many_states, duplicate)
with their exact counters; a SIGKILL and restart in the middle of the
sequence with the same exact result; and a [group] counting the lights in
fault."""
import calendar
import json
import os
import signal
import subprocess
import time
import unittest

from iocdtest import IocdTestCase, Subscriber, pb_decode, wait_until
from spb_edge import DT_STRING, DT_UINT64, sp_metric, sp_payload

T0 = calendar.timegm((2026, 11, 20, 10, 0, 0)) * 1000
# (seconds after T0, state): on 0-20 s, off 20-50 s, on 50-70 s, fault
# 70-100 s, off from 100 s, carried 30 s ([states] carry) to 130 s.
SEQUENCE = [(0, "on"), (20, "off"), (50, "on"), (70, "fault"), (100, "off")]

CONFIG = """[states]
carry = 30s
metric.status = on, off, fault

[adapter lj]
topic = city/lj/+
format = json
device = $.id
time = $.ts
metric.status = $.status
metric.mode = $.mode
states = status, mode

[adapter ln]
topic = city/ln/+
format = ngsi
states = status

[adapter ls]
topic = city/ls/+
format = senml
states = status

[adapter lp]
topic = spBv1.0/+/+/#
format = sparkplug
states = status
"""


def iso(ms):
    s, frac = divmod(ms, 1000)
    t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return t + (".%03dZ" % frac if frac else "Z")


def st(ms, entries, transitions):
    return {"ms": ms, "entries": entries, "transitions": transitions}


# The windows the whole sequence leaves, by resolution: (start, transitions,
# entries, states).
EXPECTED = {
    "1m": [
        (T0, 2, 3, {"on": st(30000, 2, 1), "off": st(30000, 1, 1)}),
        (T0 + 60000, 2, 2, {"on": st(10000, 0, 0), "fault": st(30000, 1, 1),
                            "off": st(20000, 1, 1)}),
        (T0 + 120000, 0, 0, {"off": st(10000, 0, 0)}),
    ],
    "1h": [
        (T0, 4, 5, {"on": st(40000, 2, 1), "off": st(60000, 2, 2), "fault": st(30000, 1, 1)}),
    ],
}


class StatesCase(IocdTestCase):
    def start(self, extra=""):
        self.d = self.iocd(CONFIG, extra=extra).start()
        return self.d

    def pub(self, topic, payload):
        path = os.path.join(self.dir, "state.bin")
        with open(path, "wb") as f:
            f.write(payload if isinstance(payload, bytes) else payload.encode())
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                        "-q", "1", "-t", topic, "-f", path], check=True, timeout=60)

    # --- one state sample through each adapter ---

    def json_state(self, dev, ms, state, metric="status"):
        self.pub("city/lj/" + dev, json.dumps({"id": dev, "ts": iso(ms), metric: state}))

    def ngsi_state(self, dev, ms, state):
        self.pub("city/ln/" + dev, json.dumps({"id": dev, "type": "Streetlight",
                                               "status": state, "dateObserved": iso(ms)}))

    def senml_state(self, dev, ms, state):
        self.pub("city/ls/" + dev, json.dumps([{"bn": dev + ":", "n": "status", "vs": state,
                                                "t": ms / 1000}]))

    spb_seq = 0

    def spb_state(self, dev, ms, state):
        if self.spb_seq == 0:
            self.pub("spBv1.0/G/NBIRTH/E", sp_payload(ms, 0, [
                sp_metric("bdSeq", 0, ms, DT_UINT64, long_value=1)]))
            self.pub("spBv1.0/G/DBIRTH/E/" + dev, sp_payload(ms, 1, [
                sp_metric("status", 10, ms, DT_STRING, string_value=state)]))
            self.spb_seq = 2
            return
        self.pub("spBv1.0/G/DDATA/E/" + dev, sp_payload(ms, self.spb_seq, [
            sp_metric(alias=10, ts=ms, string_value=state)]))
        self.spb_seq += 1

    # --- reading back ---

    def ctl_windows(self, series, res):
        r = self.d.ctl("query", series, "--json", "--resolution", res, "--from",
                       iso(T0 - 3600000), "--to", iso(T0 + 86400000), check=False)
        if r.returncode != 0:
            self.assertIn("no such series", r.stderr)
            return []
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        return [(r["start_ms"], r["transitions"], r["entries"], r["states"]) for r in rows]

    def api_windows(self, series, res):
        code, body = self.d.api("/api/v1/windows?series=%s&resolution=%s&from=%d&to=%d"
                                % (series, res, T0 - 3600000, T0 + 86400000))
        self.assertEqual(code, 200, body)
        self.assertEqual(body["kind"], "state")
        return [(w["start_ms"], w["transitions"], w["entries"], w["states"])
                for w in body["windows"]]

    def assert_sequence(self, series):
        for res, want in EXPECTED.items():
            self.assertEqual(self.ctl_windows(series, res), want, (series, res))
            self.assertEqual(self.api_windows(series, res), want, (series, res))
        code, body = self.d.api("/api/v1/windows?series=%s&resolution=1m&from=%d&to=%d"
                                % (series, T0, T0 + 60000))
        self.assertEqual(body["latest"], {"state": "off", "time": iso(T0 + 100000),
                                          "time_ms": T0 + 100000})

    def wait_stored(self, series, entries):
        wait_until(lambda: sum(w[2] for w in self.ctl_windows(series, "1h")) == entries,
                   what="%d state samples of %s stored" % (entries, series))

    def wait_carried(self, series, ms):
        wait_until(lambda: sum(sum(s["ms"] for s in w[3].values())
                               for w in self.ctl_windows(series, "1h")) == ms,
                   what="%d ms of %s counted" % (ms, series))


class StatesThroughAdapters(StatesCase):
    def test_sequence_through_every_adapter(self):
        self.start()
        feeds = [("lj/L1/status", self.json_state), ("ln/L1/status", self.ngsi_state),
                 ("ls/L1/status", self.senml_state), ("lp/L1/status", self.spb_state)]
        for series, send in feeds:
            for sec, state in SEQUENCE:
                send("L1", T0 + sec * 1000, state)
        for series, _ in feeds:
            self.wait_stored(series, 5)
            self.wait_carried(series, 130000)
        for series, _ in feeds:
            self.assert_sequence(series)
        # The text table: a row per window and state.
        out = self.d.ctl("query", "lj/L1/status", "--resolution", "1m", "--from", iso(T0),
                         "--to", iso(T0 + 60000)).stdout.splitlines()
        self.assertEqual([l.split() for l in out], [
            ["START", "STATE", "MS", "ENTRIES", "TRANSITIONS"],
            [iso(T0), "off", "30000", "1", "1"],
            [iso(T0), "on", "30000", "2", "1"]])
        # The journal's samples by name (their value is the state's index).
        raw = [json.loads(l) for l in self.d.ctl(
            "raw", "lp/L1/status", "--json", "--from", iso(T0)).stdout.splitlines()]
        self.assertEqual([(r["time"], r["state"]) for r in raw],
                         [(iso(T0 + sec * 1000), state) for sec, state in SEQUENCE])
        st = self.d.status()["adapters"]
        for a in ("lj", "ln", "ls", "lp"):
            self.assertEqual(st[a].get("rejects", {}), {}, a)
            self.assertEqual(st[a]["observations"], 5, a)
        # The live latest value is the state text.
        code, body = self.d.api("/api/v1/latest?match=%2B/L1/status")
        self.assertEqual(code, 200, body)
        self.assertEqual(sorted((s["series"], s["state"]) for s in body["series"]),
                         [(s, "off") for s in ("lj/L1/status", "ln/L1/status",
                                               "lp/L1/status", "ls/L1/status")])
        self.assertNotIn("value", body["series"][0])

    def test_rejects(self):
        self.start()
        for sec, state in SEQUENCE:
            self.json_state("L1", T0 + sec * 1000, state)
        self.wait_stored("lj/L1/status", 5)
        self.json_state("L1", T0 + 90000, "on")              # older than off at 100 s
        self.json_state("L1", T0 + 100000, "off")            # the same sample again
        self.json_state("L2", T0 + 1000, "half on")          # not a token
        self.json_state("L2", T0 + 2000, "x" * 33)           # too long
        self.json_state("L2", T0 + 3000, "blinking")         # not in [states] metric.status
        self.pub("city/lj/L1", json.dumps({"id": "L1", "ts": iso(T0 + 200000), "status": 5}))
        for i in range(17):                                  # 16 distinct states at most
            self.json_state("L3", T0 + i * 1000, "m%d" % i, metric="mode")
        want = {"state_out_of_order": 1, "duplicate": 1, "bad_state": 3, "unknown_state": 1,
                "too_many_states": 1}
        wait_until(lambda: self.d.status()["adapters"]["lj"].get("rejects") == want,
                   what="the rejects (%r)" % self.d.status()["adapters"]["lj"])
        self.assertEqual(self.d.status()["adapters"]["lj"]["observations"], 5 + 16)
        log = self.d.log_text()
        self.assertIn("rejected message on 'city/lj/L1': state_out_of_order", log)
        self.assertIn("rejected message on 'city/lj/L2': bad_state: L2/status: state 'half on' "
                      "is not 1 to 32 letters", log)
        self.assertIn("rejected message on 'city/lj/L2': unknown_state: L2/status: state "
                      "'blinking' is not in [states] metric.status", log)
        self.assertIn("rejected message on 'city/lj/L1': bad_state: L1/status is a state "
                      "series, not a number", log)
        self.assertIn("rejected message on 'city/lj/L3': too_many_states", log)
        # Nothing of it reached the windows.
        self.wait_carried("lj/L1/status", 130000)
        self.assert_sequence("lj/L1/status")
        self.assertNotIn("lj/L2/status", self.d.series())
        self.wait_stored("lj/L3/mode", 16)


class StatesRestart(StatesCase):
    def test_sigkill_and_restart(self):
        d = self.start()
        for sec, state in SEQUENCE[:3]:
            self.json_state("L1", T0 + sec * 1000, state)
        self.wait_stored("lj/L1/status", 3)
        self.wait_carried("lj/L1/status", 80000)  # on from 50 s, carried 30 s
        d.stop(signal.SIGKILL)
        d.start()
        # Redelivered: a duplicate (the horizon came back from the journal);
        # older than the latest: out of order (the latest came back too).
        self.json_state("L1", T0 + 50000, "on")
        self.json_state("L1", T0 + 40000, "off")
        for sec, state in SEQUENCE[3:]:
            self.json_state("L1", T0 + sec * 1000, state)
        self.wait_stored("lj/L1/status", 5)
        self.wait_carried("lj/L1/status", 130000)
        self.assert_sequence("lj/L1/status")
        wait_until(lambda: self.d.status()["adapters"]["lj"].get("rejects") ==
                   {"duplicate": 1, "state_out_of_order": 1}, what="the restart's rejects")
        # A graceful stop and start changes nothing.
        d.restart()
        self.assert_sequence("lj/L1/status")


class StatesLive(StatesCase):
    def test_republished_with_the_state(self):
        self.start(extra="[live]\nper_metric = true\njson = true\n")
        s = Subscriber(self.broker, "ioc/v1/#")
        self.addCleanup(s.stop)
        time.sleep(0.3)
        self.json_state("L1", T0 + 20000, "off")
        s.wait(lambda m: len([x for x in m if "/obs/" in x[0]]) == 2, what="2 obs messages")
        got = {t: p for t, p, _ in s.snapshot() if "/obs/" in t}
        j = json.loads(got["ioc/v1/json/obs/lj/L1/status"])
        j.pop("received_ms")
        self.assertEqual(j, {"type": "obs", "series": "lj/L1/status", "source": "lj",
                             "device": "L1", "metric": "status", "unit": "", "state": "off",
                             "time": iso(T0 + 20000), "time_ms": T0 + 20000})
        pb = pb_decode(got["ioc/v1/obs/lj/L1/status"])
        self.assertEqual((pb[1], pb[2], pb[3], pb[6], pb[12]),
                         ([b"lj"], [b"L1"], [b"status"], [T0 + 20000], [b"off"]))
        self.assertNotIn(4, pb)  # no value


class StatesGroup(StatesCase):
    def test_count_in_fault(self):
        self.start(extra="[group lights_fault]\nkind = gauge\nmembers = lj/+/status\n"
                         "series = lj/city/fault\nstat = count\nstate = fault\n"
                         "interval = 1s\nstale = 1h\n")
        now = int(time.time() * 1000)
        self.json_state("L1", now - 5000, "fault")
        self.json_state("L2", now - 5000, "on")
        self.json_state("L3", now - 5000, "fault")

        def last():
            r = self.d.ctl("query", "lj/city/fault", "--json", "--resolution", "1m", check=False)
            rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            return rows[-1]["last"] if rows else None

        wait_until(lambda: last() == 2, what="2 lights in fault")
        self.json_state("L3", now - 4000, "on")
        wait_until(lambda: last() == 1, what="1 light in fault")
        code, body = self.d.api("/api/v1/latest?match=lj/city/fault")
        self.assertEqual(body["series"][0]["value"], 1)


if __name__ == "__main__":
    unittest.main()
