#!/usr/bin/env python3
"""Owns: the man pages iocd(8), iocctl(1) and iocd.conf(5), made at build
time from a roff template (man/*.in, the prose) and what the programs say
of themselves, so the pages cannot drift from the source:

  @KEYS@      every configuration key with its default and meaning: the
              tables of `iocd --help-config --markdown`, read through
              gen_config_docs.generated (the same path as
              docs/configuration.md)
  @SYNOPSIS@  the Usage: lines of PROGRAM --help
  @HELP@      the rest of PROGRAM --help: its option and command lists
              (as .TP items) and its closing notes
  @VERSION@   PROGRAM --version's version

Usage: gen_man.py TEMPLATE OUTPUT --iocd IOCD [--program PROGRAM]

PROGRAM (default IOCD) is the one whose --help fills @SYNOPSIS@ and @HELP@.
tests/integration/test_man_pages.py renders the pages and checks them.
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_config_docs  # noqa: E402


def roff_text(s):
    """s as roff text inside a line: backslashes, dashes and non-ASCII
    characters escaped (so groff needs no preconv), a leading . or '
    protected."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\e")
        elif ch == "-":
            out.append("\\-")
        elif ord(ch) > 127:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    t = "".join(out)
    if t.startswith((".", "'")):
        t = "\\&" + t
    return t


def roff_code(s):
    """Markdown inline code (`x`) as bold, the rest as text."""
    parts = s.split("`")
    return "".join(("\\fB%s\\fR" % roff_text(p)) if i % 2 else roff_text(p)
                   for i, p in enumerate(parts))


def markdown_cells(row):
    """The cells of one Markdown table row (| a | b | c |)."""
    return [c.strip() for c in row.strip().strip("|").split(" | ")]


def keys_roff(markdown):
    """The key tables as roff: one .SS per table, one .TP per key whose tag
    is `key = default` (an empty default as (empty), as --help-config
    prints it), or the key alone when it has no default."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("### "):
            lines += [".SS " + roff_text(line[4:])]
        elif line.startswith("| `"):
            key, default, meaning = markdown_cells(line)
            key = key.strip("`")
            default = default[1:-1] if default.startswith("`") else default
            if default == '""':
                default = "(empty)"
            tag = "\\fB%s\\fR" % roff_text(key)
            if default != "\u2014":  # "—": no default (a key the section must give)
                tag += " = \\fI%s\\fR" % roff_text(default)
            lines += [".TP", tag, roff_code(meaning)]
    return "\n".join(lines)


def item_split(body):
    """[tag, text] of one list line: split at the first run of two or more
    spaces, or for an option whose text follows one space
    ("--interval-traffic S seconds between ..."), after its argument words
    (upper case, <...> or {...})."""
    m = re.match(r"(\S.*?)(?:\s{2,}(.*))?$", body)
    if m.group(2) is not None or not body.startswith("-"):
        return [m.group(1), (m.group(2) or "").strip()]
    words = body.split(" ")
    n = 1
    while n < len(words) and (words[n].startswith("-") or
                              re.match(r"^([A-Z][A-Z0-9_.-]*|<[^>]*>|\{[^}]*\}),?$", words[n])):
        n += 1
    return [" ".join(words[:n]), " ".join(words[n:])]


def help_parse(text):
    """PROGRAM --help as (synopsis lines, [(heading or None, items, prose)]):
    items are [tag, text] pairs of the indented option and command lists,
    prose the other paragraphs' lines."""
    synopsis, blocks = [], []
    for para in re.split(r"\n\s*\n", text.strip("\n")):
        lines = para.splitlines()
        if lines[0].startswith("Usage:"):
            # "Usage:" and its indented continuations; a description that
            # follows at once is the template's to say.
            synopsis = [lines[0].replace("Usage:", "", 1).strip()]
            synopsis += [line.strip() for line in lines[1:] if line.startswith(" ")]
            continue
        heading = None
        if not lines[0].startswith(" ") and lines[0].endswith(":"):
            heading, lines = lines[0][:-1], lines[1:]
        if lines and not lines[0].startswith(" "):
            blocks.append((heading, [], lines))
            continue
        items = []
        for line in lines:
            indent = len(line) - len(line.lstrip())
            body = line.strip()
            if (indent <= 6 and body.startswith("-")) or indent == 2:
                items.append(item_split(body))
            elif items and not items[-1][1] and body.startswith("["):
                items[-1][0] += " " + body
            elif items:
                items[-1][1] = (items[-1][1] + " " + body).strip()
        blocks.append((heading, items, []))
    return synopsis, blocks


def help_roff(text):
    """(@SYNOPSIS@, @HELP@) of a --help text."""
    synopsis, blocks = help_parse(text)
    syn = []
    for line in synopsis:  # "iocd [-c FILE] ...": the name in bold
        name, _, rest = line.partition(" ")
        syn += [".B " + roff_text(name), roff_text(rest), ".br"]
    out = []
    for heading, items, prose in blocks:
        if items:
            # Commands: a section; Options (or none): OPTIONS; any other
            # heading ("Connection:"): a subsection of OPTIONS.
            title = (heading or "Options").split(" (")[0]
            if title in ("Commands", "Options"):
                out += [".SH " + title.upper()]
            else:
                if ".SH OPTIONS" not in out:
                    out += [".SH OPTIONS"]
                out += [".SS " + roff_text(title)]
            if heading and " (" in heading:
                out += [roff_text(heading[heading.index(" (") + 2:].rstrip(")").capitalize()) + "."]
            for tag, body in items:
                out += [".TP", "\\fB%s\\fR" % roff_text(tag), roff_text(body)]
        elif heading is None and not out:
            continue  # the one-line description: the template says it
        else:
            if not out or not out[-1].startswith(".SH NOTES"):
                out += [".SH NOTES"]
            para = []
            for line in prose:
                if re.match(r"[A-Z][A-Za-z ]*:", line) and para:
                    out += [".PP", roff_text(" ".join(para))]
                    para = []
                para.append(line.strip())
            out += [".PP", roff_text(" ".join(para))]
    return "\n".join(syn[:-1]), "\n".join(out)


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("output")
    ap.add_argument("--iocd", required=True)
    ap.add_argument("--program")
    a = ap.parse_args()
    program = a.program or a.iocd
    with open(a.template, encoding="utf-8") as f:
        page = f.read()
    version = run([program, "--version"]).split()[-1]
    page = page.replace("@VERSION@", roff_text(version))
    if "@KEYS@" in page:
        page = page.replace("@KEYS@", keys_roff(gen_config_docs.generated(a.iocd)))
    if "@HELP@" in page or "@SYNOPSIS@" in page:
        synopsis, body = help_roff(run([program, "--help"]))
        page = page.replace("@SYNOPSIS@", synopsis).replace("@HELP@", body)
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    main()
