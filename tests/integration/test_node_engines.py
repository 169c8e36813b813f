"""The console's browser test runs on the Node.js that Debian 12 ships.

tools/deps.sh installs Debian's `nodejs` when no node is on PATH; on a
fresh Debian 12 that is 18.20.4 (bookworm-security; bookworm shipped
18.13.0 and the point releases moved it to 18.19.0). A browser driver whose
package-lock.json demands a newer Node (playwright-core 1.62 and later say
">=20") makes test_console_browser fail on such a machine while it passes
on one with a newer node on PATH, as CI's has. This test reads every
`engines.node` constraint in tests/browser/package-lock.json and fails,
naming the package, when one of them refuses Debian 12's Node.

Where apt knows Debian's nodejs candidate (apt-cache policy), that version
is checked as well.
"""
import json
import os
import re
import subprocess
import unittest

from iocdtest import SOURCE_ROOT

LOCK = os.path.join(SOURCE_ROOT, "tests", "browser", "package-lock.json")
DEBIAN12_NODES = ["18.19.0", "18.20.4"]


def parse_version(text):
    m = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text.strip())
    if not m:
        raise ValueError("not a version: %r" % text)
    return tuple(int(x or 0) for x in m.groups())


def satisfies(version, constraint):
    """npm's engines grammar as far as lock files use it: alternatives
    joined by '||', each a space-separated list of comparators
    (>=, >, <=, <, =, ^, ~ or a bare version, x-ranges such as 18.x)."""
    v = parse_version(version)
    for alt in constraint.split("||"):
        ok = True
        for comp in alt.split():
            m = re.match(r"^(>=|<=|>|<|=|\^|~)?\s*v?([\d.xX*]+)$", comp)
            if not m:
                raise ValueError("unsupported engines constraint %r" % constraint)
            op, ver = m.group(1) or "=", m.group(2)
            parts = ver.split(".")
            if op == "=" and any(p in ("x", "X", "*") for p in parts):
                fixed = [int(p) for p in parts if p not in ("x", "X", "*")]
                ok = ok and list(v[:len(fixed)]) == fixed
                continue
            c = parse_version(ver)
            if op == ">=":
                ok = ok and v >= c
            elif op == ">":
                ok = ok and v > c
            elif op == "<=":
                ok = ok and v <= c
            elif op == "<":
                ok = ok and v < c
            elif op == "^":
                ok = ok and v >= c and v[0] == c[0]
            elif op == "~":
                ok = ok and v >= c and v[:2] == c[:2]
            else:
                ok = ok and v == c
        if ok:
            return True
    return False


def debian_candidate():
    try:
        out = subprocess.run(["apt-cache", "madison", "nodejs"], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        cols = [c.strip() for c in line.split("|")]
        if len(cols) >= 3 and "debian.org" in cols[2] and "bookworm" in cols[2]:
            return cols[1].split("+")[0].split("~")[0]
    return None


class NodeEnginesTest(unittest.TestCase):
    def test_grammar(self):
        self.assertTrue(satisfies("18.20.4", ">=18"))
        self.assertFalse(satisfies("18.20.4", ">=20"))
        self.assertTrue(satisfies("18.20.4", "^14.17.0 || ^16.10.0 || >=18.0.0"))
        self.assertFalse(satisfies("18.20.4", "^16.10.0 || >=19"))
        self.assertTrue(satisfies("18.19.0", ">=18.0.0 <19"))
        self.assertFalse(satisfies("18.19.0", ">=18.20"))
        self.assertTrue(satisfies("18.19.0", "18.x"))
        self.assertFalse(satisfies("20.1.0", "18.x"))

    def test_lock_accepts_debian12_node(self):
        with open(LOCK) as f:
            lock = json.load(f)
        versions = list(DEBIAN12_NODES)
        cand = debian_candidate()
        if cand:
            versions.append(cand)
        checked = 0
        for name, pkg in sorted(lock.get("packages", {}).items()):
            constraint = (pkg.get("engines") or {}).get("node")
            if not constraint:
                continue
            checked += 1
            for v in versions:
                self.assertTrue(satisfies(v, constraint),
                                "%s %s needs node %s; Debian 12 ships %s"
                                % (name or "(root)", pkg.get("version"), constraint, v))
        # playwright-core declares its engines; a lock without it is not the one we test.
        self.assertGreaterEqual(checked, 1)
        self.assertIn("node_modules/playwright-core", lock["packages"])


if __name__ == "__main__":
    unittest.main()
