#!/usr/bin/env python3
"""Make docket's man pages.

Command pages take NAME, SYNOPSIS and OPTIONS from the built binary's own
help (`docket help CMD`, which prints the command table), so options and
synopses cannot drift from what the program parses; DESCRIPTION comes from
docs/man/docket-CMD.txt. docket-ledger(5) and docket-workflow(5) are made
from ledger/FORMAT.md and docs/workflow-language.md.

usage: mkman.py DOCKET_BINARY OUTDIR
"""
import os
import re
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATE = "2026"


def esc(s):
    s = s.replace("\\", "\\e")
    s = re.sub(r"^([.'])", r"\\&\1", s, flags=re.M)
    return s.replace("-", "\\-")


def para_text(text):
    """Plain text to roff: blank-line paragraphs; indented lines verbatim."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = block.split("\n")
        if all(l.startswith("    ") or not l.strip() for l in lines):
            out.append(".PP\n.nf\n.RS 4\n" +
                       "\n".join(esc(l[4:]) for l in lines) + "\n.RE\n.fi")
        else:
            out.append(".PP\n" + esc(" ".join(l.strip() for l in lines)))
    return "\n".join(out)


def help_of(docket, cmd):
    txt = subprocess.run([docket, "help", cmd], capture_output=True,
                         text=True, check=True).stdout
    lines = txt.split("\n")
    synopsis = lines[0][len("usage: "):]
    summary = lines[2]
    opts = []
    for l in lines[4:]:
        m = re.match(r"^    (\S.*?)\s{2,}(\S.*)$", l)
        if m:
            opts.append((m.group(1), m.group(2)))
    return synopsis, summary, opts


def commands(docket):
    txt = subprocess.run([docket, "-h"], capture_output=True, text=True,
                         check=True).stdout
    block = txt.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [(l.split()[0], l.split(None, 1)[1]) for l in block.split("\n")
            if l.strip()]


def exit_codes(docket):
    txt = subprocess.run([docket, "-h"], capture_output=True, text=True,
                         check=True).stdout
    block = txt.split("exit codes:\n", 1)[1]
    rows = []
    for l in block.split("\n"):
        m = re.match(r"^\s+(\d+)\s+(.*)$", l)
        if m:
            rows.append(m.groups())
    return rows


def exit_section(docket):
    return ".SH EXIT STATUS\n" + "\n".join(
        ".TP\n.B %s\n%s" % (c, esc(d)) for c, d in exit_codes(docket))


def command_page(docket, cmd):
    synopsis, summary, opts = help_of(docket, cmd)
    desc_file = os.path.join(SRC, "docs", "man", "docket-%s.txt" % cmd)
    desc = open(desc_file).read() if os.path.exists(desc_file) else summary
    page = [".TH DOCKET\\-%s 1 \"%s\" \"docket\" \"docket manual\"" %
            (cmd.upper(), DATE),
            ".SH NAME", "docket\\-%s \\- %s" % (cmd, esc(summary)),
            ".SH SYNOPSIS", ".B %s" % esc(synopsis),
            ".SH DESCRIPTION", para_text(desc), ".SH OPTIONS"]
    for left, text in opts:
        page.append(".TP\n.B %s\n%s" % (esc(left), esc(text)))
    page.append(exit_section(docket))
    page.append(".SH SEE ALSO\n.BR docket (1),\n.BR docket\\-ledger (5),\n"
                ".BR docket\\-workflow (5)")
    return "\n".join(page) + "\n"


def main_page(docket):
    desc = open(os.path.join(SRC, "docs", "man", "docket.txt")).read()
    page = [".TH DOCKET 1 \"%s\" \"docket\" \"docket manual\"" % DATE,
            ".SH NAME",
            "docket \\- run support workflows under a policy, with a "
            "verifiable ledger",
            ".SH SYNOPSIS",
            ".B docket [\\-\\-version] [\\-\\-exec\\-path] [\\-h] COMMAND "
            "[ARGS]",
            ".SH DESCRIPTION", para_text(desc), ".SH COMMANDS"]
    for name, summary in commands(docket):
        page.append(".TP\n.BR docket\\-%s (1)\n%s" % (name, esc(summary)))
    page.append(exit_section(docket))
    page.append(".SH SEE ALSO\n.BR docket\\-ledger (5),\n"
                ".BR docket\\-workflow (5),\n.BR git (1)")
    return "\n".join(page) + "\n"


def md_page(md_path, name, section, title):
    text = open(md_path).read()
    out = [".TH %s %s \"%s\" \"docket\" \"docket manual\"" %
           (name.upper().replace("-", "\\-"), section, DATE),
           ".SH NAME", "%s \\- %s" % (name.replace("-", "\\-"), esc(title))]
    lines = text.split("\n")
    i = 0
    para = []

    def flush():
        if para:
            out.append(".PP\n" + esc(" ".join(para)))
            para.clear()
    while i < len(lines):
        l = lines[i]
        if l.startswith("```"):
            flush()
            i += 1
            block = []
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(esc(lines[i]))
                i += 1
            out.append(".PP\n.nf\n.RS 4\n" + "\n".join(block) + "\n.RE\n.fi")
        elif l.startswith("# "):
            flush()
        elif l.startswith("## "):
            flush()
            out.append(".SH " + esc(l[3:].upper()))
        elif l.startswith("### ") or l.startswith("#### "):
            flush()
            out.append(".SS " + esc(l.lstrip("#").strip()))
        elif l.startswith("|") or l.startswith("    "):
            flush()
            block = []
            while i < len(lines) and (lines[i].startswith("|") or
                                      lines[i].startswith("    ")):
                if not re.match(r"^\|[-| :]+\|$", lines[i]):
                    block.append(esc(lines[i]))
                i += 1
            out.append(".PP\n.nf\n" + "\n".join(block) + "\n.fi")
            continue
        elif not l.strip():
            flush()
        elif l.startswith("- ") or l.startswith("* "):
            flush()
            para.append(l[2:].strip())
            out.append(".IP \\(bu 2")
        else:
            para.append(l.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    docket, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    pages = {"docket.1": main_page(docket)}
    for name, _ in commands(docket):
        pages["docket-%s.1" % name] = command_page(docket, name)
    pages["docket-ledger.5"] = md_page(
        os.path.join(SRC, "ledger", "FORMAT.md"), "docket-ledger", 5,
        "the docket ledger format")
    wl = os.path.join(SRC, "docs", "workflow-language.md")
    if os.path.exists(wl):
        pages["docket-workflow.5"] = md_page(wl, "docket-workflow", 5,
                                             "the docket workflow language")
    for fname, text in pages.items():
        with open(os.path.join(outdir, fname), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
