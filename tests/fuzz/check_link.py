"""tests/fuzz/check_link.py — checks that a fuzz replay binary links only
what its target tests (the fuzz-link-NAME tests, suite 'fuzz').

Owns nothing but its own reading of the binary: `nm -l --defined-only`
names the source file of every symbol the binary defines (the builds carry
debug information), and every file of this project must be one of:

* an adapter target NAME: adapters/NAME.c, adapters/batch.c,
  adapters/common.c, daemon/base/*, the generated protos (build dir
  proto/), tests/fuzz/fuzz_NAME.c, fuzz_common.h and replay.c; of the
  adapters' ops exactly iocd_adapter_NAME, and no registry
  (iocd_adapter_find);
* sketch: daemon/aggregate/sketch.c, tests/fuzz/fuzz_sketch.c and replay.c;
* json_scan: daemon/base/json_scan.c, tests/fuzz/fuzz_json_scan.c and
  replay.c;
* users: daemon/config/users.c, daemon/base/*, tests/fuzz/fuzz_users.c and
  replay.c;
* units: daemon/base/* (units.c), tests/fuzz/fuzz_units.c and replay.c;
* registry: daemon/config/registry.c, daemon/base/*,
  tests/fuzz/fuzz_registry.c and replay.c;
* properties: daemon/ingest/properties.c, adapters/batch.c, daemon/base/*,
  the generated protos, tests/fuzz/fuzz_properties.c and replay.c; no
  adapter;
* template: daemon/base/* (with template.c), tests/fuzz/fuzz_template.c and
  replay.c.

Usage: check_link.py NAME BINARY SOURCE_ROOT BUILD_ROOT
"""
import os
import subprocess
import sys
import unittest

ADAPTERS = ["json", "senml", "sparkplug", "ngsi", "influx", "text", "event"]


def symbol_files(binary, source_root, build_root):
    """The names of all the binary's defined symbols, and {symbol:
    project-relative file} for those nm can place in this project's files
    ('build:' prefixes generated ones)."""
    out = subprocess.run(["nm", "-l", "--defined-only", binary], capture_output=True, text=True,
                         check=True).stdout
    names, found = set(), {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        names.add(parts[2])
        if len(parts) < 4:
            continue
        name, where = parts[2], parts[3]
        path = os.path.normpath(where.rsplit(":", 1)[0])
        if path.startswith(build_root + os.sep):
            found[name] = "build:" + os.path.relpath(path, build_root)
        elif path.startswith(source_root + os.sep):
            found[name] = os.path.relpath(path, source_root)
    return names, found


def allowed(name, rel):
    fuzz = {"tests/fuzz/replay.c", "tests/fuzz/fuzz_%s.c" % name, "tests/fuzz/fuzz_common.h"}
    if rel in fuzz:
        return True
    if name == "sketch":
        return rel == "daemon/aggregate/sketch.c"
    if name == "json_scan":
        return rel == "daemon/base/json_scan.c"
    if name == "users":
        return rel == "daemon/config/users.c" or rel.startswith("daemon/base/")
    if name in ("template", "units"):
        return rel.startswith("daemon/base/")
    if name == "registry":
        return rel == "daemon/config/registry.c" or rel.startswith("daemon/base/")
    if name == "properties":
        return (rel in {"daemon/ingest/properties.c", "adapters/batch.c"}
                or rel.startswith("daemon/base/") or rel.startswith("build:proto/"))
    own = {"adapters/%s.c" % name, "adapters/%s_config.c" % name}  # decode and config halves
    return (rel in own | {"adapters/batch.c", "adapters/common.c"}
            or rel.startswith("daemon/base/") or rel.startswith("build:proto/"))


class FuzzLinkTest(unittest.TestCase):
    def test_links_only_what_it_tests(self):
        name, binary = ARGS[0], ARGS[1]
        source_root = os.path.realpath(ARGS[2])
        build_root = os.path.realpath(ARGS[3])
        names, found = symbol_files(binary, source_root, build_root)
        self.assertTrue(found, "no symbol with a source file: built without -g?")
        stray = sorted("%s (%s)" % (sym, rel) for sym, rel in found.items()
                       if not allowed(name, rel))
        self.assertEqual(stray, [])
        files = set(found.values())
        if name == "sketch":
            self.assertIn("daemon/aggregate/sketch.c", files)
            return
        if name == "json_scan":
            self.assertIn("daemon/base/json_scan.c", files)
            return
        if name == "users":
            self.assertIn("daemon/config/users.c", files)
            return
        if name == "template":
            self.assertIn("daemon/base/template.c", files)
            return
        if name == "units":
            self.assertIn("daemon/base/units.c", files)
            return
        if name == "registry":
            self.assertIn("daemon/config/registry.c", files)
            return
        if name == "properties":
            self.assertIn("daemon/ingest/properties.c", files)
            self.assertFalse([s for s in names if s.startswith("iocd_adapter_")
                              and s[len("iocd_adapter_"):] in ADAPTERS])
            return
        self.assertIn("adapters/%s.c" % name, files)
        ops = sorted(s for s in names if s in {"iocd_adapter_" + a for a in ADAPTERS})
        self.assertEqual(ops, ["iocd_adapter_" + name])
        self.assertNotIn("iocd_adapter_find", names)


if __name__ == "__main__":
    ARGS = sys.argv[1:5]
    if len(ARGS) != 4:
        sys.exit(__doc__)
    unittest.main(argv=sys.argv[:1])
