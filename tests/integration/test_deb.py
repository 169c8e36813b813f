"""Owns: the Debian package's test. tools/package.sh builds the .deb from
this tree (dpkg-buildpackage -us -uc -b on a copy), the package is unpacked
into a clean root (dpkg-deb -x), and the programs run from there: iocd
--version, iocd --check-config on the packaged /etc/iocd/iocd.conf, iocctl
and iocd-sim. Also checked: what the package holds (conffile, units, man
pages, docs), that install enables iocd.service without starting it and
leaves the backup timer alone, and that purge removes the state directory
only with IOCD_PURGE_DATA=yes (debian/postrm run against a temporary root
through DPKG_ROOT).

Skips (77) only without dpkg-buildpackage or debhelper, which tools/deps.sh
installs. Registered only in a build without sanitizers (one package build
per tools/test.sh run)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from iocdtest import IOCD, SOURCE_ROOT

VERSION = subprocess.run([IOCD, "--version"], capture_output=True, text=True,
                         check=True).stdout.split()[-1]


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="iocd-deb-")
        out = os.path.join(cls.dir, "out")
        r = subprocess.run([os.path.join(SOURCE_ROOT, "tools", "package.sh"), out],
                           capture_output=True, text=True, timeout=1500)
        if r.returncode != 0:
            raise AssertionError("tools/package.sh failed:\n" + r.stdout + r.stderr)
        cls.deb = os.path.join(out, "iocd_%s_amd64.deb" % VERSION)
        cls.root = os.path.join(cls.dir, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True, timeout=60)
        cls.control = os.path.join(cls.dir, "control")
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_in_root(self, *argv, env=None):
        return subprocess.run([os.path.join(self.root, argv[0].lstrip("/"))] + list(argv[1:]),
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, **(env or {})))

    def control_file(self, name):
        with open(os.path.join(self.control, name)) as f:
            return f.read()

    def test_programs_run_from_the_root(self):
        r = self.run_in_root("/usr/sbin/iocd", "--version")
        self.assertEqual((r.returncode, r.stdout), (0, "iocd %s\n" % VERSION))
        conf = os.path.join(self.root, "etc/iocd/iocd.conf")
        state = os.path.join(self.root, "var/lib/iocd")
        r = self.run_in_root("/usr/sbin/iocd", "--check-config", "--config", conf,
                             env={"STATE_DIRECTORY": state})
        self.assertEqual((r.returncode, r.stdout + r.stderr),
                         (0, "%s: ok (11 feed(s), database %s/iocd.db)\n" % (conf, state)))
        r = self.run_in_root("/usr/bin/iocctl", "--version")
        self.assertEqual((r.returncode, r.stdout), (0, "iocctl %s\n" % VERSION))
        r = self.run_in_root("/usr/bin/iocd-sim", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("Usage: iocd-sim [OPTIONS]\n"))

    def test_contents(self):
        files = set()
        for top, _, names in os.walk(self.root):
            for n in names:
                files.add("/" + os.path.relpath(os.path.join(top, n), self.root))
        for f in ["/usr/sbin/iocd", "/usr/bin/iocctl", "/usr/bin/iocd-sim",
                  "/usr/libexec/iocd/iocd-backup", "/etc/iocd/iocd.conf",
                  "/lib/systemd/system/iocd.service", "/lib/systemd/system/iocd-backup.service",
                  "/lib/systemd/system/iocd-backup.timer", "/usr/share/man/man8/iocd.8.gz",
                  "/usr/share/man/man1/iocctl.1.gz", "/usr/share/man/man5/iocd.conf.5.gz",
                  "/usr/share/man/man1/iocd-sim.1.gz",
                  "/usr/share/doc/iocd/README.md", "/usr/share/doc/iocd/backup.md",
                  "/usr/share/doc/iocd/configuration.md", "/usr/share/doc/iocd/copyright"]:
            self.assertIn(f, files)
        self.assertEqual(self.control_file("conffiles"), "/etc/iocd/iocd.conf\n")
        with open(os.path.join(SOURCE_ROOT, "config", "iocd.conf")) as f, \
                open(os.path.join(self.root, "etc/iocd/iocd.conf")) as g:
            self.assertEqual(f.read(), g.read())
        with open(os.path.join(self.root, "lib/systemd/system/iocd.service")) as f:
            unit = f.read()
        for line in ["ExecStart=/usr/sbin/iocd --config ${CONFIGURATION_DIRECTORY}/iocd.conf",
                     "Documentation=file:///usr/share/doc/iocd/README.md", "DynamicUser=yes",
                     "StateDirectory=iocd", "Type=notify"]:
            self.assertIn(line + "\n", unit)
        if shutil.which("man"):
            r = subprocess.run(["man", "-l", os.path.join(self.root,
                                                          "usr/share/man/man5/iocd.conf.5.gz")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertIn("flush_interval = 1s", r.stdout)
        depends = subprocess.run(["dpkg-deb", "-f", self.deb, "Depends"], capture_output=True,
                                 text=True, check=True).stdout
        names = [d.split()[0] for d in depends.split(", ")]
        for lib in ["libmosquitto1", "libsqlite3-0", "libuv1", "libprotobuf-c1", "libsystemd0"]:
            self.assertIn(lib, names)

    def test_install_enables_without_starting(self):
        postinst = self.control_file("postinst")
        self.assertIn("deb-systemd-helper enable 'iocd.service'", postinst)
        # Started only by try-restart after an upgrade ("$2", the old version, set).
        self.assertNotIn("deb-systemd-invoke start", postinst)
        self.assertNotIn("deb-systemd-invoke $_dh_action", postinst)
        self.assertIn('if [ "$1" = "configure" ] && [ -n "$2" ]', postinst)
        self.assertIn("deb-systemd-invoke try-restart iocd.service iocd-backup.timer", postinst)
        # The backup timer is enabled only if the operator enabled it before.
        timer = postinst[postinst.index("'iocd-backup.timer'") - 200:]
        self.assertIn("if deb-systemd-helper debian-installed 'iocd-backup.timer'; then", timer)
        # Nothing is stopped before an upgrade (postinst restarts after it).
        self.assertFalse(os.path.exists(os.path.join(self.control, "preinst")))

    def test_purge_keeps_the_data_unless_asked(self):
        with open(os.path.join(SOURCE_ROOT, "debian", "postrm")) as f:
            ours = f.read()
        built = self.control_file("postrm")
        self.assertTrue(built.startswith(ours[:ours.index("#DEBHELPER#")]))
        for purge_data, kept in (("", True), ("no", True), ("yes", False)):
            root = tempfile.mkdtemp(dir=self.dir)
            os.makedirs(os.path.join(root, "var/lib/private/iocd/backups"))
            with open(os.path.join(root, "var/lib/private/iocd/iocd.db"), "w") as f:
                f.write("db")
            os.symlink("private/iocd", os.path.join(root, "var/lib/iocd"))
            env = dict(os.environ, DPKG_ROOT=root, IOCD_PURGE_DATA=purge_data)
            # "remove" never touches the data.
            r = subprocess.run(["sh", os.path.join(SOURCE_ROOT, "debian", "postrm"), "remove"],
                               capture_output=True, text=True, env=env, timeout=30)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
            r = subprocess.run(["sh", os.path.join(SOURCE_ROOT, "debian", "postrm"), "purge"],
                               capture_output=True, text=True, env=env, timeout=30)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertEqual(os.path.exists(os.path.join(root, "var/lib/private/iocd/iocd.db")),
                             kept)
            self.assertEqual(os.path.lexists(os.path.join(root, "var/lib/iocd")), kept)
            self.assertEqual(r.stdout, (
                "iocd: kept the state directory /var/lib/iocd (database and backups); remove it "
                "by hand, or purge with IOCD_PURGE_DATA=yes\n") if kept else
                "iocd: removed the state directory /var/lib/iocd (database and backups)\n")
            self.assertTrue(os.path.isdir(os.path.join(root, "var/lib/private")))


if __name__ == "__main__":
    if not (shutil.which("dpkg-buildpackage") and shutil.which("dh")):
        print("SKIP: dpkg-buildpackage or debhelper is not installed "
              "(tools/deps.sh installs dpkg-dev and debhelper)")
        sys.exit(77)
    unittest.main(verbosity=2)
