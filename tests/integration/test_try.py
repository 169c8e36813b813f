"""`iocd --try ADAPTER FILE` shows an integrator exactly what one payload
becomes under the current config, or why it is rejected."""
import json
import os
import subprocess
import tempfile
import unittest

from iocdtest import IOCD

NOW = "1795350000000"  # 2026-11-22T12:20:00Z, a fixed clock


class TryTest(unittest.TestCase):
    def run_try(self, name, payload, *extra, conf=None):
        d = tempfile.mkdtemp(prefix="iocd-try-")
        path = os.path.join(d, "payload")
        with open(path, "wb") as f:
            f.write(payload.encode() if isinstance(payload, str) else payload)
        args = [IOCD]
        if conf:
            cpath = os.path.join(d, "t.conf")
            with open(cpath, "w") as f:
                f.write(conf)
            args += ["-c", cpath]
        env = dict(os.environ, IOCD_FAKE_NOW_MS=NOW)
        return subprocess.run(args + ["--try", name, path] + list(extra), capture_output=True,
                              text=True, env=env, timeout=30)

    def test_accepted_payload_prints_each_observation(self):
        r = self.run_try("water", '{"gauge":"GL-WL01","t":1795349564,"level_cm":123.4,"battery_v":3.61}',
                         "--topic", "pleiku/water/GL-WL01/level")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([json.loads(l) for l in r.stdout.splitlines()], [
            {"observation": "water/GL-WL01/level", "value": 123.4, "unit": "cm",
             "observed": "2026-11-22T12:12:44Z", "received": "2026-11-22T12:20:00Z",
             "quality": "good"},
            {"observation": "water/GL-WL01/battery", "value": 3.61, "unit": "V",
             "observed": "2026-11-22T12:12:44Z", "received": "2026-11-22T12:20:00Z",
             "quality": "good"},
        ])

    def test_default_topic_replaces_wildcards(self):
        r = self.run_try("water", '{"t":1795349564,"level_cm":1}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout.splitlines()[0])["observation"], "water/x/level")

    def test_rejections_say_why(self):
        r = self.run_try("air", '{"station":"GL-AQ01","ts":"2026-11-22T17:04:05+07:00","pm25":"12"}')
        self.assertEqual((r.returncode, r.stdout), (1, "rejected: wrong_type: $.pm25 is a string\n"))
        r = self.run_try("air", b"\x00\x01garbage")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stdout.startswith("rejected: malformed: "), r.stdout)
        # Decoded, but the pipeline would refuse it: shown per sample.
        r = self.run_try("air", '{"station":"GL-AQ01","ts":"2026-11-22T12:30:00Z","pm25":1}')
        self.assertEqual(r.returncode, 1)
        line = json.loads(r.stdout)
        self.assertEqual((line["rejected"], line["detail"]),
                         ("future_time", "time 2026-11-22T12:30:00Z is 600 s in the future"))

    def test_commands_are_shown_not_sent(self):
        # Alias-only Sparkplug DATA without a BIRTH: rejected, and the Rebirth
        # request iocd would publish is printed (nothing is published).
        from spb_edge import sp_metric, sp_payload
        r = self.run_try("lighting", sp_payload(1795349990000, 4, [sp_metric(alias=10,
                                                                            double_value=1.5)]),
                         "--topic", "spBv1.0/pleiku-lighting/DDATA/cab-01/lamp-1")
        self.assertEqual((r.returncode, r.stdout), (1,
            "rejected: missing_field: alias 10 unknown: no BIRTH seen for "
            "pleiku-lighting/cab-01/lamp-1\n"
            "command: spBv1.0/pleiku-lighting/NCMD/cab-01 (42 bytes, QoS 0): Rebirth request to "
            "pleiku-lighting/cab-01: DDATA without an NBIRTH seen for pleiku-lighting/cab-01\n"))

    def test_usage_errors(self):
        r = self.run_try("nope", "{}")
        self.assertEqual((r.returncode, r.stderr),
                         (2, "iocd: --try: no [adapter nope] in the embedded defaults\n"))
        r = subprocess.run([IOCD, "--try", "air"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--try needs ADAPTER and PAYLOAD-FILE", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
