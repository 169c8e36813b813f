"""iocctl tail, alerts and status through iocd's HTTP API: what they print is
what the API returns."""
import json
import subprocess
import time
import unittest

from iocdtest import AIR_ADAPTER, IOCCTL, IocdTestCase, air, wait_until

T0 = 1795330800  # 2026-11-22T07:00:00Z, in seconds
RULE = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nabove = 55\nclear = 50\n"
        "severity = major\ntext = PM2.5 above 55\n")


class IocctlLiveTest(IocdTestCase):
    def ctl_api(self, d, *args, timeout=30):
        return subprocess.run([IOCCTL, "--url", "http://127.0.0.1:%d" % d.http_port] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def tail(self, d, *args):
        before = d.api("/api/v1/status")[1]["live"]["clients"]
        p = subprocess.Popen([IOCCTL, "--url", "http://127.0.0.1:%d" % d.http_port, "tail"] +
                             list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        # The stream is open once iocd counts the client.
        wait_until(lambda: d.api("/api/v1/status")[1]["live"]["clients"] == before + 1,
                   what="tail to connect")
        return p

    def test_tail_follows_the_live_feed(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        js = self.tail(d, "--match", "obs/air/+/pm25", "--count", "2", "--json")
        tx = self.tail(d, "--types", "obs,alert", "--count", "3")
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0, 20.5, 27.0),
                                                      air("pk-01", T0 + 60, 70.0)])
        out, err = js.communicate(timeout=20)
        self.assertEqual((js.returncode, err), (0, ""))
        items = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([(i["series"], i["value"], i["time_ms"]) for i in items],
                         [("air/pk-01/pm25", 20.5, T0 * 1000),
                          ("air/pk-01/pm25", 70, (T0 + 60) * 1000)])
        out, err = tx.communicate(timeout=20)
        self.assertEqual((tx.returncode, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            "2026-11-22T07:00:00Z obs air/pk-01/pm25 20.5 ug/m3",
            "2026-11-22T07:00:00Z obs air/pk-01/temperature 27 Cel",
            "2026-11-22T07:01:00Z obs air/pk-01/pm25 70 ug/m3",
        ])

    def test_tail_prints_alerts(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        p = self.tail(d, "--match", "alert/#", "--count", "2")
        self.broker.publish("pleiku/air/pk-03/data", [air("pk-03", T0, 80.0),
                                                      air("pk-03", T0 + 60, 40.0)])
        out, err = p.communicate(timeout=20)
        self.assertEqual((p.returncode, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            "2026-11-22T07:00:00Z alert RAISED pm25_high/air/pk-03/pm25 major value 80 "
            "threshold 55: PM2.5 above 55",
            "2026-11-22T07:01:00Z alert cleared pm25_high/air/pk-03/pm25 major value 40 "
            "threshold 50: PM2.5 above 55",
        ])

    def test_alerts_prints_the_api(self):
        d = self.iocd(AIR_ADAPTER + RULE).start()
        self.broker.publish("pleiku/air/pk-04/data", [air("pk-04", T0, 80.0),
                                                      air("pk-04", T0 + 60, 40.0),
                                                      air("pk-04", T0 + 120, 90.0)])
        # Raised, cleared, raised again: one active, two in the history once stored.
        wait_until(lambda: len(d.api("/api/v1/alerts?from=2026-11-22T00:00:00Z")[1]["history"])
                   == 2, what="alert history")
        st, api = d.api("/api/v1/alerts?from=2026-11-22T00:00:00Z")
        self.assertEqual(st, 200)
        r = self.ctl_api(d, "alerts", "--from", "2026-11-22T00:00:00Z", "--json")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(json.loads(r.stdout), api)
        self.assertEqual([a["id"] for a in api["active"]], ["pm25_high/air/pk-04/pm25"])
        self.assertEqual([(h["raised"], h["cleared"]) for h in api["history"]],
                         [("2026-11-22T07:02:00Z", None),
                          ("2026-11-22T07:00:00Z", "2026-11-22T07:01:00Z")])
        r = self.ctl_api(d, "alerts", "--from", "2026-11-22T00:00:00Z")
        self.assertEqual(r.returncode, 0)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["STATE", "RAISED", "CLEARED", "SEVERITY", "VALUE",
                                            "THRESHOLD", "ALERT"])
        self.assertEqual([line.split() for line in lines[1:]], [
            ["ACTIVE", "2026-11-22T07:02:00Z", "-", "major", "90", "55",
             "pm25_high/air/pk-04/pm25"],
            ["raised", "2026-11-22T07:02:00Z", "-", "major", "90", "55",
             "pm25_high/air/pk-04/pm25"],
            ["cleared", "2026-11-22T07:00:00Z", "2026-11-22T07:01:00Z", "major", "80", "55",
             "pm25_high/air/pk-04/pm25"],
            ["1", "active,", "2", "in", "the", "history"],
        ])

    def test_status_prints_the_api(self):
        d = self.iocd(AIR_ADAPTER).start()
        self.broker.publish("pleiku/air/pk-05/data", [air("pk-05", T0, 12.0), "not json"])
        wait_until(lambda: d.api("/api/v1/status")[1]["adapters"]["air"]["messages"] == 2,
                   what="2 messages")
        _, api = d.api("/api/v1/status")
        r = self.ctl_api(d, "status", "--json")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        got = json.loads(r.stdout)
        for k in ("now_ms", "flush", "live"):  # change between two requests
            got.pop(k)
            api.pop(k)
        self.assertEqual(got, api)
        self.assertEqual(got["adapters"]["air"],
                         {"messages": 2, "accepted": 1, "observations": 1, "events": 0,
                          "rejects": {"malformed": 1}})
        self.assertEqual(got["devices"], {"air": {"online": 1, "stale": 0, "offline": 0}})
        # --config finds the API through [http] listen; text form.
        r = subprocess.run([IOCCTL, "--config", d.conf, "status"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("iocd 0.1.0 at http://127.0.0.1:%d, up " %
                                            d.http_port), lines[0])
        self.assertEqual(lines[1], "broker:  connected (1 connects)")
        self.assertIn("air                   2          1            1        0  malformed=1",
                      lines)
        self.assertEqual(lines[-1].split(), ["air", "1", "0", "0"])
        # With the daemon stopped, status falls back to the database.
        d.stop()
        r = subprocess.run([IOCCTL, "--config", d.conf, "status", "--json"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "iocctl: iocd is not answering at http://127.0.0.1:%d; "
                                   "status from the database\n" % d.http_port)
        self.assertEqual(json.loads(r.stdout)["adapters"]["air"]["messages"], 2)
        # An explicit --url that does not answer is an error.
        r = self.ctl_api(d, "status")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocctl: iocd is not answering at http://127.0.0.1:%d\n" %
                          d.http_port))


if __name__ == "__main__":
    unittest.main()
