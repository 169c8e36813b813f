"""`meson install` puts the binaries, the systemd unit and the example
config where a distribution expects them, and the installed unit passes
systemd-analyze verify when systemd's tools are present."""
import os
import shutil
import subprocess
import tempfile
import unittest

BUILD_ROOT = os.environ.get("MESON_BUILD_ROOT")


@unittest.skipUnless(BUILD_ROOT, "needs MESON_BUILD_ROOT (run through meson test)")
class InstallTest(unittest.TestCase):
    def test_install_layout(self):
        dest = tempfile.mkdtemp(prefix="iocd-install-")
        self.addCleanup(shutil.rmtree, dest, True)
        subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--no-rebuild", "--quiet",
                        "--destdir", dest], check=True, timeout=120, capture_output=True)
        files = set()
        for root, _, names in os.walk(dest):
            for n in names:
                files.add(os.path.relpath(os.path.join(root, n), dest))
        prefix = subprocess.run(["meson", "introspect", "--buildoptions", BUILD_ROOT],
                                capture_output=True, text=True, check=True).stdout
        import json
        opts = {o["name"]: o["value"] for o in json.loads(prefix)}
        p = opts["prefix"].lstrip("/")
        for f in ["sbin/iocd", "bin/iocctl", "bin/iocd-sim", "etc/iocd/iocd.conf"]:
            self.assertIn(os.path.join(p, f), files)
        units = [f for f in files if f.endswith("systemd/system/iocd.service")]
        self.assertEqual(len(units), 1, files)
        with open(os.path.join(dest, units[0])) as f:
            unit = f.read()
        self.assertIn("Type=notify\n", unit)
        self.assertIn("ExecStart=/%s/sbin/iocd --config ${CONFIGURATION_DIRECTORY}/iocd.conf\n" % p,
                      unit)
        for line in ["Restart=on-failure", "StateDirectory=iocd", "ConfigurationDirectory=iocd"]:
            self.assertIn(line + "\n", unit)
        if shutil.which("systemd-analyze"):
            local = os.path.join(dest, "iocd.service")
            with open(local, "w") as f:
                f.write(unit.replace("/%s/sbin/iocd" % p, os.path.join(dest, p, "sbin/iocd")))
            r = subprocess.run(["systemd-analyze", "verify", local], capture_output=True,
                               text=True, timeout=60)
            problems = [l for l in r.stderr.splitlines() if "iocd.service" in l]
            self.assertEqual(problems, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
