"""The console map's settings (docs/map.md): [http] map_tiles, map_attribution
and map_areas in /api/v1/meta, the areas' GeoJSON served byte for byte at
/api/v1/map/areas, the tile server's origin (a {s} label as *) in the
console's Content-Security-Policy and nowhere else, bad values refused
with file, line and reason, and a reload that changes them."""
import json
import os
import signal
import subprocess
import unittest

from iocdtest import AIR_ADAPTER, IOCD, IocdTestCase, free_port, wait_until

AREAS = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"name": "Hội Thương"},
     "geometry": {"type": "Polygon", "coordinates": [[[107.99, 13.97], [108.01, 13.97],
                                                      [108.01, 13.99], [107.99, 13.97]]]}}]}
CSP_HEAD = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:"
CSP_TAIL = "; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


class MapTest(IocdTestCase):
    def iocd_http(self, keys):
        port = free_port()
        d = self.iocd(AIR_ADAPTER, extra="[http]\nlisten = 127.0.0.1:%d\n%s" % (port, keys))
        d.http_port = port
        return d.start()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check_config(self, extra):
        path = self.write("check.conf", "[http]\nlisten = 127.0.0.1:8080\n" + extra)
        r = subprocess.run([IOCD, "--check-config", "--config", path], capture_output=True,
                           text=True, timeout=30)
        return path, r.returncode, r.stderr

    def test_settings_served_and_reloaded(self):
        body = json.dumps(AREAS, ensure_ascii=False, indent=1).encode()
        self.write("wards.geojson", body.decode())
        d = self.iocd_http("map_tiles = https://{s}.tile.example.org/{z}/{x}/{y}.png\n"
                           "map_attribution = © Bản đồ thử\nmap_areas = wards.geojson\n"
                           "map_area_value = air/ward:{area}/pm25\n")
        st, meta = d.api("/api/v1/meta")
        self.assertEqual((st, meta["map"]), (200, {
            "tiles": "https://{s}.tile.example.org/{z}/{x}/{y}.png",
            "attribution": "© Bản đồ thử", "areas": True,
            "area_value": "air/ward:{area}/pm25"}))
        st, headers, got = d.http("/api/v1/map/areas")
        self.assertEqual((st, headers["content-type"], got), (200, "application/geo+json", body))
        st, headers, _ = d.http("/")
        self.assertEqual(headers["content-security-policy"],
                         CSP_HEAD + " https://*.tile.example.org" + CSP_TAIL)
        st, headers, _ = d.http("/api/v1/status")
        self.assertEqual(headers["content-security-policy"],
                         "default-src 'none'; frame-ancestors 'none'")

        # Reload: no tiles, no areas.
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace("map_areas = wards.geojson\n", "")
                    .replace("map_area_value = air/ward:{area}/pm25\n", "")
                    .replace("map_tiles = https://{s}.tile.example.org/{z}/{x}/{y}.png\n",
                             "map_tiles =\n"))
        n = d.log_text().count("reload: configuration applied")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log_text().count("reload: configuration applied") > n,
                   what="the reload")
        self.assertEqual(d.api("/api/v1/meta")[1]["map"],
                         {"tiles": "", "attribution": "© Bản đồ thử", "areas": False,
                          "area_value": ""})
        st, _, got = d.http("/api/v1/map/areas")
        self.assertEqual((st, json.loads(got)), (404, {"error": "no [http] map_areas is configured"}))
        st, headers, _ = d.http("/")
        self.assertEqual(headers["content-security-policy"], CSP_HEAD + CSP_TAIL)

    def test_plain_host_origin(self):
        d = self.iocd_http("map_tiles = http://127.0.0.1:8111/t/{z}/{x}/{y}.png\n")
        st, headers, _ = d.http("/index.html")
        self.assertEqual(headers["content-security-policy"],
                         CSP_HEAD + " http://127.0.0.1:8111" + CSP_TAIL)

    def test_bad_values_refused(self):
        path, rc, err = self.check_config("map_tiles = https://tiles.example.org/{z}/{x}.png\n")
        self.assertEqual((rc, err), (1, "iocd: %s:3: [http] map_tiles: 'https://tiles.example.org"
                                        "/{z}/{x}.png' is not an http(s) URL template with {z}, "
                                        "{x} and {y} (empty: no tiles)\n" % path))
        path, rc, err = self.check_config("map_tiles = ftp://t/{z}/{x}/{y}\n")
        self.assertEqual(rc, 1)
        for bad in ("air/ward/pm25", "air/+/pm25", "air/{area}", "air/ward:{area}/pm25/x"):
            path, rc, err = self.check_config("map_area_value = %s\n" % bad)
            self.assertEqual((rc, err), (1, "iocd: %s:3: [http] map_area_value: '%s' is not a "
                                            "series SOURCE/DEVICE/METRIC with {area} (e.g. "
                                            "air/ward:{area}/pm25; empty: none)\n" % (path, bad)))
        self.write("bad.geojson", "{\"type\": \"Feature\",")
        path, rc, err = self.check_config("map_areas = bad.geojson\n")
        self.assertEqual((rc, err), (1, "iocd: %s:3: [http] map_areas: %s: not valid JSON\n" % (
            path, os.path.join(self.dir, "bad.geojson"))))
        self.write("list.geojson", "[1, 2]")
        path, rc, err = self.check_config("map_areas = list.geojson\n")
        self.assertEqual((rc, err), (1, "iocd: %s:3: [http] map_areas: %s: not a GeoJSON object "
                                        "(its \"type\" is not FeatureCollection, Feature or a "
                                        "geometry)\n" % (path, os.path.join(self.dir,
                                                                             "list.geojson"))))
        path, rc, err = self.check_config("map_areas = missing.geojson\n")
        self.assertEqual((rc, err), (1, "iocd: %s:3: [http] map_areas: %s: No such file or "
                                        "directory\n" % (path, os.path.join(self.dir,
                                                                              "missing.geojson"))))


if __name__ == "__main__":
    unittest.main()
