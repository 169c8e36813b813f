"""iocd's command line: --version, --check-config on the shipped and on bad
configs (refused with file, line and reason), and the same refusal at
start."""
import os
import subprocess
import tempfile
import unittest

from iocdtest import IOCCTL, IOCD, SOURCE_ROOT

GOOD_ADAPTER = "[adapter air]\ntopic = a/+/b\nformat = json\ndevice = $.id\nmetric.x = $.x\n"


class ConfigCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="iocd-cfg-")

    def run_iocd(self, *args):
        return subprocess.run([IOCD] + list(args), capture_output=True, text=True, timeout=30)

    def check(self, text):
        path = os.path.join(self.dir, "t.conf")
        with open(path, "w") as f:
            f.write(text)
        return path, self.run_iocd("--check-config", "--config", path)

    def assert_refused(self, text, message):
        path, r = self.check(text)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "iocd: %s:%s\n" % (path, message))
        # Starting with it is refused the same way, before touching anything.
        r2 = subprocess.run([IOCD, "--config", path], capture_output=True, text=True, timeout=30)
        self.assertEqual((r2.returncode, r2.stderr), (1, r.stderr))

    def test_version(self):
        r = self.run_iocd("--version")
        self.assertEqual((r.returncode, r.stdout), (0, "iocd 0.1.0\n"))
        r = subprocess.run([IOCCTL, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout), (0, "iocctl 0.1.0\n"))

    def test_iocctl_finds_database_through_config(self):
        db = os.path.join(self.dir, "x.db")
        path, r = self.check("[store]\npath = %s\n" % db + GOOD_ADAPTER)
        # No database yet: iocctl says so and names it, exit 1.
        r = subprocess.run([IOCCTL, "--config", path, "series"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn(db, r.stderr)
        import sqlite3
        con = sqlite3.connect(db)
        con.executescript("PRAGMA user_version=2; CREATE TABLE series(id INTEGER PRIMARY KEY, "
                          "name TEXT, source TEXT, device TEXT, metric TEXT, unit TEXT, "
                          "created_ms INTEGER); CREATE TABLE windows(series_id, res_s, start_ms, "
                          "count, sum, sumsq, min, max, first, first_ms, last, last_ms);"
                          "INSERT INTO series VALUES(1,'air/A/pm25','air','A','pm25','ug/m3',0);")
        con.close()
        r = subprocess.run([IOCCTL, "--config", path, "series", "--json"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout),
                         (0, '{"series":"air/A/pm25","source":"air","device":"A",'
                             '"metric":"pm25","unit":"ug/m3"}\n'))

    def test_shipped_config_is_valid(self):
        conf = os.path.join(SOURCE_ROOT, "config", "iocd.conf")
        r = self.run_iocd("--check-config", "--config", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "%s: ok (11 feed(s), database iocd.db)\n" % conf)

    def test_embedded_defaults_are_valid(self):
        env = dict(os.environ, STATE_DIRECTORY="/var/lib/iocd")
        r = subprocess.run([IOCD, "--check-config"], capture_output=True, text=True, env=env,
                           timeout=30)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "(defaults): ok (11 feed(s), database /var/lib/iocd/iocd.db)\n"))

    def test_unknown_key(self):
        self.assert_refused("[mqtt]\nhost = x\nhots = y\n" + GOOD_ADAPTER,
                            "3: unknown key 'hots' in [mqtt]")

    def test_unknown_key_in_adapter(self):
        self.assert_refused(GOOD_ADAPTER + "colour = blue\n",
                            "6: unknown key 'colour' in [adapter air]")

    def test_bad_values(self):
        self.assert_refused("[mqtt]\nport = 70000\n" + GOOD_ADAPTER,
                            "2: [mqtt] port: '70000' is not an integer in 1..65535")
        self.assert_refused("# c\n[store]\nflush_interval = soon\n" + GOOD_ADAPTER,
                            "3: [store] flush_interval: 'soon' is not a duration between 50ms "
                            "and 1m (units: ms, s, m, h, d)")
        self.assert_refused("[store]\nresolutions = 1m 90s\n" + GOOD_ADAPTER,
                            "2: [store] resolutions: '90s' must be a larger whole multiple of "
                            "the resolution before it")
        self.assert_refused("[mqtt]\nclean_session = maybe\n" + GOOD_ADAPTER,
                            "2: [mqtt] clean_session: 'maybe' is not true or false")
        self.assert_refused("[log]\nlevel = loud\n" + GOOD_ADAPTER,
                            "2: [log] level: 'loud' is not one of error, warning, notice, info, "
                            "debug")

    def test_structure_errors(self):
        self.assert_refused("[mqtt\n", "1: section header without closing ']'")
        self.assert_refused("host = x\n", "1: key outside of any [section]")
        self.assert_refused("[broker]\n" + GOOD_ADAPTER,
                            "1: unknown section [broker] (known: mqtt, store, ingest, aqi, live, "
                            "devices, http, log, sparkplug, adapter NAME, alert NAME, notify NAME, "
                            "group NAME, units, states)")
        self.assert_refused("[mqtt]\nport = 1\nport = 2\n" + GOOD_ADAPTER,
                            "3: key 'port' given twice (first on line 2)")
        self.assert_refused("[adapter air]\nformat = json\n",
                            "1: [adapter air] has no 'topic'")
        self.assert_refused("[adapter air]\ntopic = a/b+/c\nformat = json\n",
                            "2: topic 'a/b+/c': '+' must stand alone in its level")
        self.assert_refused(GOOD_ADAPTER + GOOD_ADAPTER,
                            "6: [adapter air] defined twice (first on line 1)")

    def test_unknown_format_lists_known(self):
        path, r = self.check("[adapter air]\ntopic = a\nformat = xml\n")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(
            "iocd: %s:3: [adapter air] format: unknown format 'xml' (one of: json" % path),
            r.stderr)

    def test_no_adapters_and_missing_file(self):
        path, r = self.check("[mqtt]\nhost = x\n")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocd: %s: no [adapter NAME] section: iocd would subscribe to "
                             "nothing\n" % path))
        r = self.run_iocd("--check-config", "--config", "/nonexistent/iocd.conf")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocd: /nonexistent/iocd.conf: cannot open: No such file or "
                             "directory\n"))

    def test_binary_file_refused(self):
        path = os.path.join(self.dir, "bin.conf")
        with open(path, "wb") as f:
            f.write(b"[mqtt]\x00\x01\x02")
        r = self.run_iocd("--check-config", "--config", path)
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocd: %s: binary file (contains NUL bytes)\n" % path))


if __name__ == "__main__":
    unittest.main(verbosity=2)
