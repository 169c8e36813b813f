"""One declaration per config key: the key tables in the source (core.c,
config.c's adapter keys, each adapter's ops->keys, alert_rules.c) are what
`iocd --help-config` prints, and neither docs/configuration.md (generated),
config/iocd.conf's key list, the key tables of docs/adapters.md and
docs/alerts.md, nor the embedded defaults may drift from them."""
import os
import re
import subprocess
import sys
import unittest

from iocdtest import IOCD, SOURCE_ROOT

sys.path.insert(0, os.path.join(SOURCE_ROOT, "tools"))
import gen_config_docs  # noqa: E402

FORMATS = ["json", "senml", "sparkplug", "ngsi", "influx", "text", "event"]


def help_markdown():
    return subprocess.run([IOCD, "--help-config", "--markdown"], capture_output=True, text=True,
                          check=True, timeout=30).stdout


def tables(markdown):
    """{"[mqtt]": ["host", ...], "[adapter NAME] format = json": [...], ...} in order."""
    out, title = {}, None
    for line in markdown.splitlines():
        if line.startswith("### "):
            title = line[4:]
            out[title] = []
        elif line.startswith("| `"):
            out[title].append(line.split("`")[1])
    return out


def read(rel):
    with open(os.path.join(SOURCE_ROOT, rel), encoding="utf-8") as f:
        return f.read()


def conf_sections(text):
    """[(header, [keys, commented '#key =' ones included])] of an INI text."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\[([^\]]+)\]\s*$", line)
        if m:
            out.append((m.group(1), []))
            continue
        m = re.match(r"#?([a-z_][a-z0-9_.]*) =", line)
        if m and out:
            out[-1][1].append(m.group(1))
    return out


def doc_keys(text, heading_re, header_re=r"\| key \|"):
    """Key names (first column, backticked) of the first table matching
    header_re after the heading matching heading_re."""
    start = re.search(heading_re, text, re.M).end()
    m = re.compile(r"^" + header_re + r".*\n\|[-| ]+\|\n((?:\|.*\n)*)", re.M).search(text, start)
    keys = []
    for row in m.group(1).splitlines():
        first = row.split("|")[1]
        if "(core)" in first:
            continue
        keys += re.findall(r"`([^`]+)`", first)
    return keys


def matches(pattern, key):
    """Key `key` is named by table row `pattern` ("metric.NAME" covers metric.*)."""
    if pattern.endswith(("NAME", "KEY", "FIELD")) and "." in pattern:
        return key.startswith(pattern[:pattern.index(".") + 1])
    return key == pattern


class ConfigKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.md = help_markdown()
        cls.tables = tables(cls.md)

    def test_tables_exact(self):
        t = self.tables
        self.assertEqual(list(t), ["[mqtt]", "[store]", "[ingest]", "[aqi]", "[live]", "[devices]",
                                   "[http]", "[log]", "[sparkplug]", "[adapter NAME]"]
                         + ["[adapter NAME] format = %s" % f for f in FORMATS] + ["[alert NAME]",
                                                                                 "[notify NAME]",
                                                                                 "[group NAME]",
                                                                                 "[units]",
                                                                                 "[states]"])
        self.assertEqual(t["[adapter NAME]"], ["topic", "format", "source", "resolutions",
                                               "max_series"])
        self.assertEqual(t["[adapter NAME] format = text"],
                         ["mode", "device", "metric", "unit", "time_key", "metric.KEY",
                          "unit.KEY"])
        self.assertEqual(t["[adapter NAME] format = influx"],
                         ["device", "metric", "precision", "location", "unit.FIELD"])
        self.assertEqual(t["[alert NAME]"],
                         ["type", "match", "stat", "window", "above", "below", "clear", "bands",
                          "hysteresis", "multiple", "severity", "text", "count", "per",
                          "min_severity", "area", "where"])
        self.assertEqual(t["[notify NAME]"],
                         ["url", "rules", "min_severity", "on", "template", "header.NAME",
                          "timeout", "retry_min", "retry_max", "rate_limit", "queue_max",
                          "tls_verify"])
        self.assertEqual(t["[group NAME]"],
                         ["kind", "members", "where", "series", "stat", "interval", "stale",
                          "state"])
        # + `states` of json, ngsi, senml and sparkplug, [group] state, [states],
        # [mqtt] socket_buffers, [store] flush_when_quiet
        self.assertEqual(sum(len(v) for v in t.values()),
                         83 + 1 + 5 + 13 + 4 + 3 + 5 + 5 + 7 + 17 + 17 + 12 + 7 + 2
                         + 4 + 1 + 2 + 1 + 1)
        self.assertEqual(t["[states]"], ["carry", "metric.NAME"])
        self.assertEqual(t["[units]"], ["series", "metric.NAME"])
        self.assertEqual(t["[sparkplug]"], ["host_id"])
        self.assertEqual(t["[adapter NAME] format = sparkplug"],
                         ["device_format", "max_devices", "max_metrics", "rebirth_interval",
                          "states"])
        self.assertIn("| `port` | `1883` | broker TCP port |\n", self.md)

    def test_plain_help_lists_the_same_keys(self):
        plain = subprocess.run([IOCD, "--help-config"], capture_output=True, text=True,
                               check=True, timeout=30).stdout
        names, section = {}, None
        for line in plain.splitlines():
            if line.startswith("["):
                section = line.split("  (")[0]
                names[section] = []
            elif line:
                names[section].append(line.split()[0])
        self.assertEqual(names, self.tables)

    def test_configuration_md_is_generated(self):
        text = read("docs/configuration.md")
        self.assertEqual(text, gen_config_docs.splice(text, self.md),
                         "docs/configuration.md drifted: run tools/gen_config_docs.py IOCD")

    def test_iocd_conf_lists_every_core_key(self):
        conf = conf_sections(read("config/iocd.conf"))
        core = {h[1:-1]: keys for h, keys in self.tables.items() if " " not in h}
        seen = {h: keys for h, keys in conf if h in core}
        self.assertEqual(list(seen), list(core))
        for section, keys in core.items():
            if section in ("units", "states"):
                # Rules, not settings: each line one of the two kinds, both shown.
                kinds = [[p for p in keys if matches(p, k)] for k in seen[section]]
                self.assertTrue(all(kinds), seen[section])
                self.assertEqual(sorted({k[0] for k in kinds}), sorted(keys))
                continue
            self.assertEqual(sorted(seen[section]), sorted(keys), "[%s]" % section)

    def test_iocd_conf_adapter_and_alert_keys_are_declared(self):
        conf = read("config/iocd.conf")
        common = self.tables["[adapter NAME]"]
        # The comment block listing the adapter section's own keys.
        listed = re.findall(r"^#   (\w+) ", conf, re.M)
        self.assertEqual(listed, common)
        n = 0
        for header, keys in conf_sections(conf):
            if header.startswith("adapter "):
                fmt = re.search(r"^format = (\w+)$",
                                conf[conf.index("[%s]" % header):], re.M).group(1)
                allowed = common + self.tables["[adapter NAME] format = %s" % fmt]
            elif header.startswith("alert "):
                allowed = self.tables["[alert NAME]"]
            elif header.startswith("group "):
                allowed = self.tables["[group NAME]"]
            else:
                continue
            for k in keys:
                n += 1
                self.assertTrue(any(matches(p, k) for p in allowed), "[%s] %s" % (header, k))
        # + the four [group NAME] examples, lighting's states
        self.assertEqual(n, 112 + 11 + 6 + 1)

    def test_adapters_md_tables(self):
        text = read("docs/adapters.md")
        for fmt in FORMATS:
            want = self.tables["[adapter NAME] format = %s" % fmt]
            got = doc_keys(text, r"^## The `%s` adapter" % fmt)
            self.assertEqual(sorted(set(got)), sorted(want), fmt)

    def test_groups_md_table(self):
        got = doc_keys(read("docs/groups.md"), r"^## Keys")
        self.assertEqual(got, self.tables["[group NAME]"])

    def test_alerts_md_table(self):
        got = doc_keys(read("docs/alerts.md"), r"^#", r"\| key \| types \|")
        self.assertEqual(got, self.tables["[alert NAME]"])

    def test_embedded_defaults_are_the_shipped_file(self):
        r = subprocess.run([IOCD, "--check-config"], capture_output=True, text=True, timeout=30)
        c = subprocess.run([IOCD, "--check-config", "--config",
                            os.path.join(SOURCE_ROOT, "config", "iocd.conf")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, c.returncode), (0, 0), r.stderr + c.stderr)
        self.assertEqual(r.stdout.split(":", 1)[1], c.stdout.split(":", 1)[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
