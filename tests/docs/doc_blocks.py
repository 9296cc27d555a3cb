#!/usr/bin/env python3
"""The shell blocks of the documentation, as the docs test runs them.

A fenced block is run when its info string is sh, bash or shell; sh-norun marks
a shell block a reader runs but the test does not (real hardware, a tool Debian
does not ship, a build of the whole tree); any other info string (text, conf,
console, none) is not shell.  An untagged block that looks like commands is an
error, so that no recipe escapes the test by accident.

A document may name documents whose blocks must run first, in the same
directory, with a comment line of its own:
    <!-- docs-test: after signing.md -->

usage: doc_blocks.py lint FILE...     problems, one per line (exit 1 if any)
       doc_blocks.py script FILE      the runnable blocks as one bash script
       doc_blocks.py after FILE       the documents to run first, one per line
"""
import re
import sys

RUN = {"sh", "bash", "shell"}
NORUN = {"sh-norun", "bash-norun"}
# First words that make an untagged block look like commands.
COMMANDS = re.compile(r"^\s*(\$ |signet(-hsm)?\s+(?!\[)|openssl |apksigner |avbtool |"
                      r"pkcs11-tool |age(-keygen)? |export |cd |cmake |bash |ctest |"
                      r"ota_from_target_files |printf |echo )")

# Optional arguments in brackets: a usage synopsis, not commands to type.
SYNOPSIS = re.compile(r"\[--?[A-Za-z]")


def blocks(path):
    """(first line number, info string, lines) of each fenced block."""
    out, cur = [], None
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            s = line.rstrip("\n")
            m = re.match(r"^(\s*)(```+|~~~+)\s*([^\s`]*)", s)
            if cur is None and m:
                cur = (no, m.group(3).lower(), [], m.group(1), m.group(2))
            elif cur is not None and re.match(r"^\s*" + re.escape(cur[4]) + r"\s*$", s):
                out.append(cur[:3])
                cur = None
            elif cur is not None:
                indent = cur[3]
                cur[2].append(s[len(indent):] if s.startswith(indent) else s.lstrip())
    if cur is not None:
        out.append((cur[0], "unterminated", cur[2]))
    return out


def lint(paths):
    problems = []
    for p in paths:
        for no, info, lines in blocks(p):
            if info == "unterminated":
                problems.append(f"{p}:{no}: the block is never closed")
            elif (info == "" and not any(SYNOPSIS.search(l) for l in lines) and
                  any(COMMANDS.match(l) for l in lines if not l.lstrip().startswith("#"))):
                problems.append(f"{p}:{no}: an untagged block of commands: tag it ```sh (the docs "
                                f"test runs it) or ```sh-norun (it does not), or ```text if it is "
                                f"not shell")
    return problems


def script(path):
    parts = []
    for no, info, lines in blocks(path):
        if info in RUN:
            parts.append(f"docs_block {path}:{no}")
            parts.extend(lines)
    return "\n".join(parts) + "\n" if parts else ""


def after(path):
    with open(path, encoding="utf-8") as f:
        return re.findall(r"^<!--\s*docs-test:\s*after\s+(\S+)\s*-->\s*$", f.read(), re.M)


def main(argv):
    if len(argv) >= 3 and argv[1] == "lint":
        problems = lint(argv[2:])
        for p in problems:
            print(p)
        return 1 if problems else 0
    if len(argv) == 3 and argv[1] == "script":
        sys.stdout.write(script(argv[2]))
        return 0
    if len(argv) == 3 and argv[1] == "after":
        for a in after(argv[2]):
            print(a)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
