"""Owns: the man pages' test. iocd(8), iocctl(1), iocd.conf(5) and
iocd-sim(1), as the build made them (tools/gen_man.py), render with groff
without a warning and with man -l; iocd.conf(5) lists exactly the keys,
defaults and meanings of `iocd --help-config`, in its order; iocd(8), iocctl(1) and
iocd-sim(1) list every option and command of their --help.

Skips (77) only when groff or man is absent; tools/deps.sh installs both."""
import os
import re
import shutil
import subprocess
import sys
import unittest

from iocdtest import IOCCTL, IOCD, IOCD_SIM

BUILD = os.environ.get("MESON_BUILD_ROOT", "build")
PAGES = ["iocd.8", "iocctl.1", "iocd.conf.5", "iocd-sim.1"]


def page(name):
    return os.path.join(BUILD, "man", name)


def rendered(name):
    """The page as man -l shows it in a wide terminal, without formatting."""
    env = dict(os.environ, MANWIDTH="250", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
    out = subprocess.run(["man", "-l", page(name)], capture_output=True, text=True, env=env,
                         check=True, timeout=60)
    return out.stdout


def norm(s):
    return " ".join(s.split())


def man_keys(text):
    """[(section, "key = default" or "key", meaning)] of iocd.conf(5)'s KEYS."""
    out, section, entry = [], None, None
    body = text[text.index("\nKEYS\n"):text.index("\nEXAMPLE\n")]
    for line in body.splitlines():
        if re.match(r"^   \[", line):
            section = line.strip()
        elif section and re.match(r"^       \S", line):
            entry = [section, line.strip(), ""]
            out.append(entry)
        elif entry and line.strip():
            entry[2] = norm(entry[2] + " " + line)
    return out


def help_config_lines():
    """[(section, line)] of the plain `iocd --help-config`."""
    out, section = [], None
    text = subprocess.run([IOCD, "--help-config"], capture_output=True, text=True, check=True,
                          timeout=30).stdout
    for line in text.splitlines():
        if line.startswith("["):
            section = line.split("  (")[0]
        elif line.strip():
            out.append((section, norm(line)))
    return out


class ManPagesTest(unittest.TestCase):
    def test_render_without_warnings(self):
        for name in PAGES:
            with self.subTest(page=name):
                r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page(name)],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                title = name.rsplit(".", 1)[0].upper() + "(" + name.rsplit(".", 1)[1] + ")"
                self.assertTrue(rendered(name).lstrip().startswith(title))

    def test_conf_page_is_help_config(self):
        entries = man_keys(rendered("iocd.conf.5"))
        expected = help_config_lines()
        got = []
        for section, tag, meaning in entries:
            if " = " in tag:
                key, default = tag.split(" = ", 1)
                got.append((section, norm("%-20s default %-12s %s" % (key, default, meaning))))
            else:
                got.append((section, norm("%-20s %s" % (tag, meaning))))
        self.assertEqual(got, expected)
        # + [notify NAME], [group NAME], [units]; `states` of four formats, [group] state,
        # [states], [mqtt] socket_buffers, [store] flush_when_quiet
        self.assertEqual(len(got), 160 + 12 + 7 + 2 + 4 + 1 + 2 + 1 + 1)
        self.assertIn(("[store]", "flush_interval default 1s how often changed windows are "
                       "written, in one transaction, off the event loop"), got)

    def test_options_and_commands_listed(self):
        for name, program in (("iocd.8", IOCD), ("iocctl.1", IOCCTL), ("iocd-sim.1", IOCD_SIM)):
            text = rendered(name)
            helptext = subprocess.run([program, "--help"], capture_output=True, text=True,
                                      check=True, timeout=30).stdout
            options = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", helptext, re.M))
            with self.subTest(page=name):
                self.assertGreaterEqual(len(options), 8)
                for opt in sorted(options):
                    self.assertRegex(text, r"(?m)^       (-\w, )?" + re.escape(opt) + r"\b")
        commands = re.findall(r"^  ([a-z]+) ", subprocess.run(
            [IOCCTL, "--help"], capture_output=True, text=True, timeout=30).stdout, re.M)
        self.assertEqual(commands[:13], ["series", "query", "query", "raw", "events", "devices",
                                         "status", "alerts", "alerts", "alerts", "alerts",
                                         "alerts", "tail"])
        text = rendered("iocctl.1")
        commands_section = text[text.index("\nCOMMANDS\n"):text.index("\nOPTIONS\n")]
        for c in commands:
            self.assertRegex(commands_section, r"(?m)^       " + c + r"\b")


if __name__ == "__main__":
    if not (shutil.which("groff") and shutil.which("man")):
        print("SKIP: groff or man is not installed (tools/deps.sh installs groff-base, man-db)")
        sys.exit(77)
    unittest.main()
