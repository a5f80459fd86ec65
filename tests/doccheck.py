#!/usr/bin/env python3
"""doccheck.py - the documentation check of tests/docs.bats.

  doccheck.py options TOOL MANPAGE OPTDUMP_SO [EXCEPTION...]
      The long options TOOL accepts (its getopt_long tables, read by the
      LD_PRELOAD shim OPTDUMP_SO while it runs --help), the ones its --help
      names and the ones its man page documents (the tags of its .TP
      lists) must be the same set; every short option is in both too; and
      no option the page or --help names is refused as unrecognized by the
      tool itself. An EXCEPTION is a long option the tool accepts that
      neither names (internal ones); it must stay so.
  doccheck.py exits ERROR_H TOOL MANPAGE
      Every exit status the man page's EXIT STATUS section and the tool's
      --help name is one of ERROR_H's enum coren_exit (or 128+signal), with
      a description that fits it, and both name the same codes.
  doccheck.py table ERROR_H COREN_7
      coren(7) lists exactly the codes of enum coren_exit.
  doccheck.py mentions OPTDUMP_SO TOOL... MANPAGE... -- FOREIGN...
      Every --option a man page mentions anywhere is accepted by one of the
      TOOLs, or is another program's option listed in FOREIGN.
  doccheck.py readme README MANPAGE...
      Every man page is in the README's documentation list.

Prints what is wrong and exits 1, or exits 0 silently.
"""

import os
import re
import subprocess
import sys
import tempfile

OPTION = re.compile(r"(?<![\w-])--([a-z0-9][a-z0-9-]*[a-z0-9])")
SHORT = re.compile(r"(?<![\w-])-([A-Za-z0-9])(?![\w-])")


def roff_text(line):
    """A roff line as plain text (font changes, escapes and requests gone)."""
    line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)
    line = line.replace("\\-", "-").replace("\\(aq", "'").replace("\\(dq", '"')
    line = line.replace("\\e", "\\").replace("\\&", "").replace("\\ ", " ")
    m = re.match(r"\.(B|I|BR|BI|IB|RB|IR|RI|SM)\s+(.*)", line)
    if m:
        args = re.findall(r'"([^"]*)"|(\S+)', m.group(2))
        sep = "" if len(m.group(1)) == 2 else " "
        line = sep.join(a or b for a, b in args)
    elif line.startswith("."):
        return ""
    return line


def section(path, name):
    """The raw lines of a man page's section NAME (.SH NAME), or []."""
    lines, on = [], False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".SH "):
                on = line[4:].strip().strip('"') == name
                continue
            if on:
                lines.append(line)
    return lines


def man_options(path, pattern=OPTION):
    """Options of the tags (.TP's next line) of the page: OPTIONS, and
    subsections like swarm-run(1)'s "The function"."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    opts = set()
    for i, line in enumerate(lines[:-1]):
        if line.startswith(".TP"):
            opts |= set(pattern.findall(roff_text(lines[i + 1])))
    return opts


def isolated_env(tmp):
    env = dict(os.environ)
    for k in ("COREN_CACHE_DIR", "XDG_CACHE_HOME", "HOME"):
        env[k] = tmp
    env.pop("LD_PRELOAD", None)
    return env


def run(argv, env, cwd):
    try:
        p = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None
    return p


def accepted_options(tool, shim, tmp):
    """(long options of the tool's getopt tables, their short options,
    its --help text)."""
    dump = os.path.join(tmp, "optdump")
    env = isolated_env(tmp)
    env["LD_PRELOAD"] = os.path.abspath(shim)
    env["ASAN_OPTIONS"] = "verify_asan_link_order=0"
    env["COREN_OPTDUMP"] = dump
    env["COREN_OPTDUMP_PROG"] = os.path.basename(tool)
    p = run([tool, "--help"], env, tmp)
    if p is None or p.returncode != 0:
        sys.exit("%s --help failed: %s" % (tool, p and p.stderr))
    opts, short = set(), set()
    if not os.path.exists(dump):
        sys.exit("%s: the shim saw no getopt_long call" % tool)
    with open(dump, encoding="utf-8") as f:
        for line in f:
            if line.startswith("-"):
                short |= set(re.sub(r"[^A-Za-z0-9]", "", line[1:]))
            else:
                opts.add(line.split()[0])
    if not opts:
        sys.exit("%s: the shim saw no getopt_long table" % tool)
    return opts, short, p.stdout


def refused(tool, option, tmp):
    """Whether the tool refuses --OPTION as unknown. The option gets a
    value and a bogus option follows, so that the tool stops at that
    one before it does anything."""
    p = run([tool, "--%s=doccheck" % option, "--doccheck-bogus-option"],
            isolated_env(tmp), tmp)
    if p is None:
        return False
    quoted = r"'--%s(=[^']*)?'" % re.escape(option)
    return re.search(r"(unrecognized|unknown|ambiguous)[^\n]*%s|"
                     r"%s[^\n]*(ambiguous|unrecognized|unknown)"
                     % (quoted, quoted), p.stderr) is not None


def check_options(tool, man, shim, *unlisted):
    name, tool = os.path.basename(tool), os.path.abspath(tool)
    with tempfile.TemporaryDirectory() as tmp:
        accepted, short, help_text = accepted_options(tool, shim, tmp)
        in_help = set(OPTION.findall(help_text))
        in_man = man_options(man)
        bad = []
        for o in unlisted:  # exceptions: accepted, and named nowhere
            o = o.lstrip("-")
            if o not in accepted or o in in_help or o in in_man:
                bad.append("%s: --%s is no longer an exception of the check:"
                           " remove it from tests/docs.bats" % (name, o))
            accepted.discard(o)
        for what, have, want in (("--help", in_help, accepted),
                                 (os.path.basename(man), in_man, accepted)):
            for o in sorted(want - have):
                bad.append("%s: --%s is accepted but not in %s"
                           % (name, o, what))
            for o in sorted(have - want):
                bad.append("%s: %s names --%s, which the tool does not accept"
                           % (name, what, o))
        # Short options: each one (but -h, coren(7)'s alias of --help) is
        # in --help and the page, and the page names no other.
        short -= {"h"}
        short_help = set(SHORT.findall(help_text))
        short_man = man_options(man, SHORT)
        for o in sorted(short - short_help):
            bad.append("%s: -%s is accepted but not in --help" % (name, o))
        for o in sorted(short - short_man):
            bad.append("%s: -%s is accepted but not in %s"
                       % (name, o, os.path.basename(man)))
        for o in sorted(short_man - short - {"h"}):
            bad.append("%s: %s names -%s, which the tool does not accept"
                       % (name, os.path.basename(man), o))
        for o in sorted(in_help | in_man):
            if refused(tool, o, tmp):
                bad.append("%s: refuses --%s as unknown" % (name, o))
    return bad


# The meaning of each exit code of enum coren_exit, as man pages and
# --help word it: (must match, must not match).
MEANINGS = {
    "OK": (r"success|\bok\b|\bdone\b|every message was answered|"
           r"no regression", None),
    "NEGATIVE": (r"regression|damage|negative", None),
    "USAGE": (r"usage|bad option|argument|configuration|I/O", r"plugin"),
    "PLUGIN": (r"plugin", None),
    "PARTIAL": (r"partial|some \w+ (failed|were answered with errors)", None),
    "RECORD": (r"bad (input|standard input|stdin|record)|input record", None),
    "INCONCLUSIVE": (r"inconclusive|no answer", None),
}


def exit_table(error_h):
    """{code: NAME} of enum coren_exit."""
    with open(error_h, encoding="utf-8") as f:
        text = f.read()
    body = re.search(r"enum coren_exit\s*{(.*?)}", text, re.S).group(1)
    return {int(v): n for n, v in
            re.findall(r"COREN_EXIT_([A-Z_]+)\s*=\s*(\d+)", body)}


def split_codes(text):
    """[(codes, description)] of a text like '0 ok, 2 usage; 130, 143 x'."""
    text = re.sub(r"\S+\(\d\)", "", text)  # references: dlopen(3)
    out, pending = [], []
    for clause in re.split(r"[;,.]\s+(?=\d+\b)|\n(?=\d+\s)", text):
        m = re.match(r"\s*(\d+(?:\s*(?:/|and)\s*\d+)*)\b\s*(.*)", clause, re.S)
        if not m:
            if out:
                out[-1] = (out[-1][0], out[-1][1] + " " + clause)
            continue
        codes = pending + [int(c) for c in re.findall(r"\d+", m.group(1))]
        if not m.group(2).strip():
            pending = codes
            continue
        pending = []
        out.append((codes, " ".join(m.group(2).split())))
    return out + ([(pending, "")] if pending else [])


def man_exits(path):
    text, ex = [], False
    for line in section(path, "EXIT STATUS"):
        if line.startswith(".EX"):
            ex = True
        elif line.startswith(".EE"):
            ex = False
        elif line.startswith(".TP"):
            text.append(";")
        elif not ex:
            text.append(roff_text(line))
    return split_codes("\n".join(t for t in text if t))


def help_exits(tool):
    tool = os.path.abspath(tool)
    with tempfile.TemporaryDirectory() as tmp:
        p = run([tool, "--help"], isolated_env(tmp), tmp)
    m = re.search(r"Exit status:(.*?)(?:\n\n|\bSee \S+\(\d\)|$)", p.stdout,
                  re.S)
    return split_codes(m.group(1)) if m else []


def check_codes(where, items, table):
    bad = []
    for codes, desc in items:
        for c in codes:
            if c in table:
                must, must_not = MEANINGS.get(table[c], (".", None))
                if not re.search(must, desc, re.I):
                    bad.append("%s: exit %d (%s) described as '%s'"
                               % (where, c, table[c], desc))
                if must_not and re.search(must_not, desc, re.I):
                    bad.append("%s: exit %d (%s) said to cover '%s'"
                               % (where, c, table[c], must_not))
            elif not (128 < c <= 128 + 64 and
                      re.search(r"interrupt|signal|SIG[A-Z]+|stopped", desc)):
                bad.append("%s: exit %d is not in enum coren_exit" % (where, c))
    return bad


def codes_of(items):
    return {c for codes, _ in items for c in codes}


def check_exits(error_h, tool, man):
    table = exit_table(error_h)
    in_man, in_help = man_exits(man), help_exits(tool)
    name = os.path.basename(tool)
    bad = check_codes(os.path.basename(man), in_man, table)
    bad += check_codes(name + " --help", in_help, table)
    if not in_man:
        bad.append("%s: no EXIT STATUS section" % man)
    if not in_help:
        bad.append("%s --help: no 'Exit status:'" % name)
    for c in sorted(codes_of(in_man) ^ codes_of(in_help)):
        bad.append("%s: exit %d is in only one of --help and %s"
                   % (name, c, os.path.basename(man)))
    return bad


def check_table(error_h, coren7):
    table = exit_table(error_h)
    items = man_exits(coren7)
    bad = check_codes("coren.7", items, table)
    for c in sorted(set(table) ^ codes_of(items)):
        bad.append("coren.7: exit %d is in only one of coren(7) and "
                   "enum coren_exit" % c)
    return bad


def check_mentions(shim, tools, pages, foreign):
    """Every --option any page mentions, in prose or examples, is one some
    coren tool accepts, or another program's, named in foreign."""
    accepted = set()
    for tool in tools:
        with tempfile.TemporaryDirectory() as tmp:
            accepted |= accepted_options(os.path.abspath(tool), shim, tmp)[0]
    bad = []
    for page in pages:
        with open(page, encoding="utf-8") as f:
            text = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "",
                          f.read().replace("\\-", "-"))
        for o in sorted(set(OPTION.findall(text)) - accepted - set(foreign)):
            bad.append("%s: mentions --%s, which no coren tool accepts"
                       % (os.path.basename(page), o))
    return bad


def check_readme(readme, pages):
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## Documentation\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m:
        return ["%s: no '## Documentation' section" % readme]
    listed = set(re.findall(r"([a-z][a-z-]*)\((\d)\)", m.group(1)))
    bad = []
    for page in pages:
        name, sec = os.path.basename(page).rsplit(".", 1)
        if (name, sec) not in listed:
            bad.append("README.md: %s(%s) is not in its documentation list"
                       % (name, sec))
    have = {os.path.basename(p) for p in pages}
    for name, sec in sorted(listed):
        if "%s.%s" % (name, sec) not in have:
            bad.append("README.md lists %s(%s), which man/ lacks" % (name, sec))
    return bad


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "options":
        bad = check_options(*args)
    elif cmd == "exits":
        bad = check_exits(*args)
    elif cmd == "table":
        bad = check_table(*args)
    elif cmd == "mentions":
        i = args.index("--")
        tools = [a for a in args[1:i] if not a.endswith(tuple("123456789"))]
        pages = [a for a in args[1:i] if a not in tools]
        bad = check_mentions(args[0], tools, pages, args[i + 1:])
    elif cmd == "readme":
        bad = check_readme(args[0], args[1:])
    else:
        sys.exit(__doc__)
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
