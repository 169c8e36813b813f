"""The tree's dependency rules (README "Layout", docs/layout.md).

Every `#include "..."` of daemon/, adapters/ and tools/ is read and checked:

* a folder includes only the folders its stage may use (ALLOWED below), so
  data flows one way: mqtt → ingest → adapters → pipeline → aggregate,
  alerts, live → store → query → http, with base/ under everything;
* daemon/base/ includes nothing above it, adapters/ only daemon/base/,
  adapters/ and the generated protos;
* iocctl (tools/iocctl*) reads the database through daemon/query/ and its
  config through the core-key loader (with the users file's parser,
  daemon/config/users.h, for `iocctl users`), never the daemon's stages;
* no two modules (a .c with its .h) include each other, directly or around
  a longer circle.

A failure names the file, line and offending include.
"""
import os
import re
import subprocess
import unittest

from iocdtest import SOURCE_ROOT

GENERATED = {"ioc/v1/ioc.pb-c.h", "sparkplug_b/sparkplug_b.pb-c.h", "iocd_build.h"}

BASE = {"daemon/base"}
ALLOWED = {
    "daemon/base": BASE,
    "adapters": BASE | {"adapters", "@proto"},
    "daemon/config": BASE | {"adapters", "daemon/config"},
    "daemon/aggregate": BASE | {"adapters", "daemon/config", "daemon/aggregate"},
    "daemon/alerts": BASE | {"daemon/config", "daemon/aggregate", "daemon/alerts"},
    "daemon/store": BASE | {"daemon/config", "daemon/aggregate", "daemon/alerts", "daemon/store"},
    "daemon/query": BASE | {"daemon/aggregate", "daemon/query"},
    "daemon/live": BASE | {"@proto", "daemon/config", "daemon/aggregate", "daemon/alerts",
                           "daemon/store", "daemon/live"},
    "daemon/notify": BASE | {"daemon/config", "daemon/alerts", "daemon/notify"},
    "daemon/pipeline": BASE | {"adapters", "daemon/config", "daemon/aggregate", "daemon/alerts",
                               "daemon/store", "daemon/live", "daemon/pipeline"},
    "daemon/ingest": BASE | {"adapters", "daemon/config", "daemon/pipeline", "daemon/ingest"},
    "daemon/mqtt": BASE | {"@proto", "daemon/config", "daemon/live", "daemon/mqtt"},
    "daemon/http": BASE | {"daemon/config", "daemon/live", "daemon/mqtt", "daemon/pipeline",
                           "daemon/query", "daemon/http"},
    "daemon": None,  # main.c: only wiring, may include every stage
}


def folder_of(path):
    parts = path.split("/")
    if parts[0] == "daemon":
        return "daemon/" + parts[1] if len(parts) > 2 else "daemon"
    return parts[0]


def sources():
    """Every .c and .h below daemon/, adapters/ and tools/ (read from the
    file system: a release tarball has no git)."""
    out = []
    for top in ("daemon", "adapters", "tools"):
        for root, dirs, files in os.walk(os.path.join(SOURCE_ROOT, top)):
            dirs[:] = [d for d in dirs if d not in ("node_modules", "__pycache__")]
            out += [os.path.relpath(os.path.join(root, f), SOURCE_ROOT) for f in files
                    if f.endswith((".c", ".h"))]
    return sorted(out)


def includes(path):
    with open(os.path.join(SOURCE_ROOT, path), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m:
                yield n, m.group(1)


def is_iocctl(path):
    return path.startswith("tools/iocctl")


class LayoutTest(unittest.TestCase):
    def test_folder_rules(self):
        bad = []
        for p in sources():
            src = folder_of(p)
            if src == "tools" and not is_iocctl(p):
                continue  # iocd-sim and the embedder are separate programs
            for n, inc in includes(p):
                if inc in GENERATED:
                    target = "@proto" if inc != "iocd_build.h" else "@build"
                elif "/" not in inc:
                    bad.append("%s:%d: #include \"%s\": includes carry their path" % (p, n, inc))
                    continue
                elif os.path.exists(os.path.join(SOURCE_ROOT, inc)):
                    target = folder_of(inc)
                elif os.path.exists(os.path.join(os.path.dirname(os.path.join(SOURCE_ROOT, p)),
                                                 inc)):
                    target = folder_of(os.path.normpath(os.path.join(os.path.dirname(p), inc)))
                else:
                    bad.append("%s:%d: #include \"%s\": no such file" % (p, n, inc))
                    continue
                if is_iocctl(p):
                    ok = (target in ("daemon/base", "daemon/query", "@build")
                          or inc in ("daemon/config/core.h", "daemon/config/users.h")
                          or inc.startswith("tools/"))
                else:
                    if target == "@build":
                        ok = src in ("daemon", "daemon/store", "daemon/http")
                    else:
                        allowed = ALLOWED.get(src)
                        ok = allowed is None or target in allowed
                if not ok:
                    bad.append("%s:%d: #include \"%s\": %s may not use %s"
                               % (p, n, inc, src if not is_iocctl(p) else "iocctl", target))
        self.assertEqual(bad, [], "\n" + "\n".join(bad))

    def test_no_include_circle(self):
        # A module is a .c with its .h; an edge A -> B when A's files include B's header.
        graph = {}
        for p in sources():
            mod = os.path.splitext(p)[0]
            for n, inc in includes(p):
                if inc in GENERATED or not os.path.exists(os.path.join(SOURCE_ROOT, inc)):
                    continue
                dep = os.path.splitext(inc)[0]
                if dep != mod:
                    graph.setdefault(mod, {}).setdefault(dep, "%s:%d" % (p, n))
        state, stack, circles = {}, [], []

        def visit(m):
            state[m] = 1
            stack.append(m)
            for d in sorted(graph.get(m, {})):
                if state.get(d) == 1:
                    cyc = stack[stack.index(d):] + [d]
                    circles.append(" -> ".join("%s (%s)" % (a, graph[a][b])
                                               for a, b in zip(cyc, cyc[1:])))
                elif d not in state:
                    visit(d)
            stack.pop()
            state[m] = 2

        for m in sorted(graph):
            if m not in state:
                visit(m)
        self.assertEqual(circles, [], "\n" + "\n".join(circles))

    def test_iocctl_links_no_daemon_stage(self):
        iocctl = os.environ.get("IOCCTL")
        if not iocctl:
            self.skipTest("IOCCTL not set (run through meson test)")
        libs = subprocess.run(["ldd", iocctl], capture_output=True, text=True).stdout
        self.assertNotIn("libmosquitto", libs)
        self.assertNotIn("libuv", libs)
        self.assertNotIn("libh2o", libs)
        syms = subprocess.run(["nm", "--defined-only", iocctl], capture_output=True,
                              text=True).stdout.split()
        decoders = sorted(x for x in syms if x.startswith(("iocd_adapter", "iocd_pipeline",
                                                           "iocd_mqtt", "iocd_http_")))
        self.assertEqual(decoders, [])

    def test_rules_are_checked(self):
        # The checker itself: a made-up adapter include of the pipeline fails.
        self.assertNotIn("daemon/pipeline", ALLOWED["adapters"])
        self.assertEqual(folder_of("daemon/base/arena.c"), "daemon/base")
        self.assertEqual(folder_of("daemon/main.c"), "daemon")
        self.assertGreater(len(sources()), 60)


if __name__ == "__main__":
    unittest.main()
