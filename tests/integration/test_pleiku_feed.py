"""The whole Pleiku feed: every subsystem iocd-sim publishes (JSON, SenML,
Sparkplug B, FIWARE NGSI-v2, line protocol, bare numbers, events), through
a real broker into iocd running the shipped config. Every message is routed
to its feed and accepted; every subsystem's series and events are stored."""
import json
import os
import subprocess
import time
import unittest

from iocdtest import IOCD_SIM, SOURCE_ROOT, Iocd, IocdTestCase, wait_until

FEEDS = ["air", "traffic", "water", "weather", "rain", "violations", "lighting", "bus", "fire",
         "reports", "parking"]


class PleikuFeedTest(IocdTestCase):
    def test_every_subsystem_flows(self):
        with open(os.path.join(SOURCE_ROOT, "config", "iocd.conf")) as f:
            conf = f.read()
        feeds = conf.split("# " + "-" * 75, 1)[1]
        d = self.iocd(feeds + "\n[aqi]\nadapter = air\n",
                      store="timezone = +07:00\n" + Iocd.KEEP_ALL).start()
        # Ten simulated minutes of the whole city, replayed fast.
        r = subprocess.run([IOCD_SIM, "--port", str(self.broker.port), "--seed", "3",
                            "--start", "2026-11-21T08:00:00+07:00", "--duration", "600",
                            "--quiet"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)

        def routed():
            st = d.status() or {}
            return sum(a.get("messages", 0) for a in st.get("adapters", {}).values())
        # "published N messages in ...", plus the edge node's NDEATH at exit.
        published = int(r.stdout.split()[1]) + 1
        self.assertGreater(published, 4000)
        wait_until(lambda: routed() == published, timeout=60,
                   what="iocd to route all %d messages" % published)

        st = d.status()
        by_feed = st["adapters"]
        for feed in FEEDS:
            self.assertIn(feed, by_feed)
            self.assertEqual({k: v for k, v in by_feed[feed]["rejects"].items() if v}, {},
                             "%s rejected messages: %s" % (feed, by_feed[feed]))
        self.assertEqual(st["iocd"]["rejects"].get("no_route", 0), 0)
        # Every subsystem produced something.
        for feed in ["air", "traffic", "water", "weather", "rain", "lighting", "bus", "parking"]:
            self.assertGreater(by_feed[feed]["observations"], 0, feed)
        self.assertGreater(by_feed["violations"]["events"], 0)
        self.assertGreater(by_feed["lighting"]["events"], 0)  # device_online at birth

        series = d.series()
        prefixes = {s.split("/", 1)[0] for s in series}
        self.assertTrue({"air", "traffic", "water", "weather", "rain", "lighting", "bus",
                         "parking", "violations"} <= prefixes, prefixes)
        self.assertIn("air/GL-AQ01/pm25", series)
        self.assertIn("weather/urn:dev:pleiku:GL-WS01/temperature", series)
        self.assertIn("lighting/GL-LC001/power", series)
        self.assertIn("parking/urn:ngsi-ld:OffStreetParking:GL-PK01/availablespotnumber", series)
        self.assertTrue(any(s.startswith("bus/81B-") and s.endswith("/speed") for s in series))
        self.assertTrue(any(s.startswith("violations/_all/event.") for s in series))
        # Events are listed for operators, newest first.
        ev = d.ctl("events", "--source", "violations", "--limit", "3", "--json").stdout
        rows = [json.loads(l) for l in ev.splitlines()]
        self.assertEqual(len(rows), 3)
        self.assertTrue(all(r["source"] == "violations" and r["area"] for r in rows))
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
