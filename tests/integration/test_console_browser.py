"""The operator console end to end in headless Chromium.

Starts a real mosquitto, iocd on the shipped feed config with an [alert]
rule and [http] on a free loopback port, three hours of replayed air-quality
history (iocd-sim --start, ending ten minutes ago) and a live traffic feed
(iocd-sim in real time), then runs tests/browser/console.test.mjs with node:
Debian's Chromium driven by playwright-core opens the console that iocd
serves and checks live values, an alert raised within 2 s, a major and a
critical alert styled and labelled apart, device counts,
the VI/EN toggle, the chart and its statistics against the API, a silence
made in the console keeping one station's stale alert from the webhook
receiver this file runs ([notify ops]) while the other's arrives, the map
without tiles, and the
reconnect after iocd is stopped and started (this file does the stopping
and starting when the script asks, over its stdin/stdout). With accounts
(a users file made with iocctl: operator lan, viewer minh): the login
form, the operator's acknowledgement of the fire alert with their name
on it, and a viewer who cannot acknowledge.

Skips (exit 77) only when node or Chromium is absent; tools/test.sh
installs both, and `npm ci` the pinned playwright-core.
Screenshots: $IOCD_ARTIFACTS (default BUILD/artifacts).
"""
import http.server
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

from iocdtest import IOCCTL, IOCD_SIM, SOURCE_ROOT, IocdTestCase, free_port, wait_until

BROWSER_DIR = os.path.join(SOURCE_ROOT, "tests", "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE = shutil.which("node")
HISTORY_S = 3 * 3600 - 600      # replayed air history: from 3 h ago to 10 min ago

ALERT = """[alert pm25_high]
type = threshold
match = air/+/pm25
above = 300
clear = 100
severity = critical
text = PM2.5 above 300 ug/m3

[alert pm25_major]
type = threshold
match = air/GL-AQ99/pm25
above = 200
clear = 100
severity = major
text = PM2.5 above 200 ug/m3 at the test station

[alert fire_major]
type = event
match = fire/+
min_severity = major

[alert air_stale_97]
type = stale
match = air/GL-AQ97
multiple = 3

[alert air_stale_96]
type = stale
match = air/GL-AQ96
multiple = 3
"""


class Hooks(http.server.ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1: records every POST's body (JSON)
    and answers GET /received with the list, for the browser script."""
    daemon_threads = True

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def do_GET(self):
                with outer.lock:
                    data = json.dumps(outer.received).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def artifacts_dir():
    if os.environ.get("IOCD_ARTIFACTS"):
        return os.environ["IOCD_ARTIFACTS"]
    root = os.environ.get("MESON_BUILD_ROOT") or os.path.join(SOURCE_ROOT, "build")
    return os.path.join(root, "artifacts")


def http_up(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class ConsoleBrowserTest(IocdTestCase):
    def setUp(self):
        super().setUp()
        self._procs = []

    def tearDown(self):
        for p in self._procs:
            if p.poll() is None:
                try:
                    # node was started in its own session: its Chromium too.
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    p.kill()
                p.wait(10)
        super().tearDown()

    def spawn(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        self._procs.append(p)
        return p

    def ensure_playwright(self):
        if os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
            return
        r = subprocess.run(["npm", "ci", "--prefix", BROWSER_DIR, "--no-audit", "--no-fund"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, "npm ci in tests/browser failed:\n" + r.stdout + r.stderr)

    def test_console_in_chromium(self):
        self.run_console()

    def test_console_with_accounts(self):
        # Named accounts and the shared token: the console asks to log in;
        # an operator acknowledges, a viewer cannot (docs/api.md).
        self.run_console(token="s3cr3t-console", accounts=True)

    def run_console(self, token=None, accounts=False):
        """The whole scenario; with `token`, iocd requires it (this side's
        API reads send it); with `accounts`, a users file made by iocctl
        holds an operator (lan) and a viewer (minh), whose tokens the
        browser logs in with."""
        self.ensure_playwright()
        users_env = {}
        users_conf = ""
        if accounts:
            users = os.path.join(self.dir, "users")
            for name, role in (("lan", "operator"), ("minh", "viewer")):
                r = subprocess.run([IOCCTL, "users", "add", name, "--role", role, "--file", users],
                                   capture_output=True, text=True, timeout=30, check=True)
                users_env["IOCD_%s_TOKEN" % ("OPERATOR" if role == "operator" else "VIEWER")] = \
                    r.stdout.strip()
            users_env.update(IOCD_OPERATOR="lan", IOCD_VIEWER="minh")
            users_conf = "users_file = %s\n" % users
        with open(os.path.join(SOURCE_ROOT, "config", "iocd.conf")) as f:
            feeds = f.read().split("# " + "-" * 75, 1)[1]
        port = free_port()
        # The simulator's device registry: the map places its devices.
        registry = os.path.join(self.dir, "pleiku-registry.csv")
        subprocess.run([IOCD_SIM, "--write-registry", registry], check=True, timeout=30,
                       capture_output=True)
        # Two wards' outlines, and one roll-up per ward of the registry
        # ([group] with {area}; under its own source so the air rules above
        # do not match it), the map showing its latest value per ward.
        areas = os.path.join(self.dir, "wards.geojson")
        with open(areas, "w", encoding="utf-8") as f:
            json.dump({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"name": "Hội Thương"},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [107.990, 13.975], [108.010, 13.975], [108.010, 13.990],
                     [107.990, 13.990], [107.990, 13.975]]]}},
                {"type": "Feature", "properties": {"name": "Ia Kring"},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [107.980, 13.980], [107.9895, 13.980], [107.9895, 13.995],
                     [107.980, 13.995], [107.980, 13.980]]]}}]}, f, ensure_ascii=False)
        wards = ("[group ward_pm25]\nkind = merged\nmembers = air/+/pm25\n"
                 "series = city/ward:{area}/pm25\n")
        # The stale rules' raises go to a webhook receiver of this test.
        hooks = Hooks()
        self.addCleanup(hooks.server_close)
        self.addCleanup(hooks.shutdown)
        notify = ("[notify ops]\nurl = http://127.0.0.1:%d/hook\nrules = air_stale_96, air_stale_97\n"
                  "on = raised\n" % hooks.server_address[1])
        # No tiles: the page may load nothing from another origin.
        d = self.iocd(feeds, extra=ALERT + notify + wards + "[devices]\nregistry = %s\n" % registry + "[http]\nlisten = 127.0.0.1:%d\nmap_tiles =\nmap_areas = %s\nmap_area_value = city/ward:{area}/pm25\n%s%s" % (
            port, areas, "token = %s\n" % token if token else "", users_conf))
        d.start()
        wait_until(lambda: http_up(port), timeout=10, what="iocd's HTTP server")

        # History for the chart: air stations every 10 s for ~3 h, in the past.
        start_ms = int(time.time() * 1000) - 3 * 3600 * 1000
        r = subprocess.run([IOCD_SIM, "--port", str(self.broker.port), "--feeds", "air",
                            "--seed", "3", "--start", str(start_ms), "--duration", str(HISTORY_S),
                            "--quiet"], capture_output=True, text=True, timeout=120, check=True)
        n = int(r.stdout.split("published ", 1)[1].split()[0]) if "published " in r.stdout \
            else int(r.stderr.split("published ", 1)[1].split()[0])
        self.assertGreater(n, 8 * 1000)
        d.wait_messages("air", n, timeout=60)

        # A live feed: three traffic counters twice a second, wall-clock times.
        self.spawn([IOCD_SIM, "--port", str(self.broker.port), "--feeds", "traffic",
                    "--traffic", "3", "--interval-traffic", "0.5", "--quiet"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        d.wait_messages("traffic", 3, timeout=20)
        # Street-light cabinets over Sparkplug: "status" is a state series.
        self.spawn([IOCD_SIM, "--port", str(self.broker.port), "--feeds", "lighting",
                    "--lighting", "2", "--interval-lighting", "1", "--quiet"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        d.wait_messages("lighting", 3, timeout=20)

        env = dict(os.environ, IOCD_URL="http://127.0.0.1:%d" % port,
                   IOCD_MQTT_PORT=str(self.broker.port), IOCD_ARTIFACTS=artifacts_dir(),
                   IOCD_CHART_SERIES="air/GL-AQ01/pm25",
                   IOCD_LIVE_SERIES="traffic/GL-TC001/vehicles",
                   IOCD_STATE_SERIES="lighting/GL-LC001/status", CHROMIUM=CHROMIUM, IOCD_TOKEN=token or "",
                   IOCD_HOOKS_URL="http://127.0.0.1:%d/received" % hooks.server_address[1],
                   **users_env)
        node = self.spawn([NODE, os.path.join(BROWSER_DIR, "console.test.mjs")], cwd=BROWSER_DIR,
                          env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
        lines = queue.Queue()

        def reader():
            for line in node.stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)
        threading.Thread(target=reader, daemon=True).start()

        def reply(text):
            node.stdin.write(text + "\n")
            node.stdin.flush()

        out = []
        deadline = time.monotonic() + 300
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("the browser test ran over 300 s:\n" + "\n".join(out))
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                break
            out.append(line)
            print(line, flush=True)
            if line == "@@ stop":
                self.assertEqual(d.stop(), 0, "iocd stops cleanly")
                wait_until(lambda: not http_up(port), timeout=10, what="the HTTP port to close")
                reply("stopped")
            elif line == "@@ start":
                d.ready_count_before = d.log_text().count("subscribed to")
                d.start()
                wait_until(lambda: http_up(port), timeout=10, what="iocd's HTTP server again")
                reply("started")
        rc = node.wait(30)
        node.stdin.close()
        node.stdout.close()
        text = "\n".join(out)
        self.assertEqual(rc, 0, "console.test.mjs failed:\n" + text + "\n--- iocd log tail:\n"
                         + d.log_text()[-3000:])
        self.assertIn(" passed, 0 failed", text)
        self.assertNotIn("FAIL", text)


if __name__ == "__main__":
    if not NODE or not os.access(CHROMIUM, os.X_OK):
        print("SKIP: node (%s) or Chromium (%s) is not installed" % (NODE, CHROMIUM))
        sys.exit(77)
    unittest.main()
