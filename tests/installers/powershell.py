"""A small structural checker for the PowerShell installers, for machines without ``pwsh``.

PowerShell is not in Debian, so CI cannot parse the scripts with PowerShell's own parser (the
tests do when ``pwsh`` is on PATH). This catches what breaks such scripts most often: unbalanced
brackets and strings, and, because the scripts run under ``Set-StrictMode -Version Latest``,
variables read before anything sets them (a runtime error there, found here before it ships).
It is a lexer for the subset the installers use, not a PowerShell parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Set by PowerShell itself, not by the script.
AUTOMATIC = {
    "_",
    "args",
    "ErrorActionPreference",
    "false",
    "LASTEXITCODE",
    "null",
    "PSScriptRoot",
    "PSBoundParameters",
    "true",
}
PAIRS = {"(": ")", "{": "}", "[": "]"}
VARIABLE = re.compile(r"\$(?:\{(?P<braced>[^}]+)\}|(?P<name>[A-Za-z_][\w]*(?::[\w]+)?))")


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    variables_read: set[str] = field(default_factory=set)
    variables_set: set[str] = field(default_factory=set)


def _code_and_strings(text: str, report: Report) -> tuple[str, list[str]]:
    """Blank out comments and string contents (keeping line breaks); return expandable strings."""
    out: list[str] = []
    expandable: list[str] = []
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        if text.startswith("<#", i):
            end = text.find("#>", i + 2)
            if end < 0:
                report.errors.append(f"line {line}: unterminated block comment")
                return "".join(out), expandable
            chunk = text[i : end + 2]
            out.append("\n" * chunk.count("\n"))
            line += chunk.count("\n")
            i = end + 2
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith(("@'", '@"'), i) and text[i + 2 : i + 3] == "\n":
            quote = text[i + 1]
            end = text.find(f"\n{quote}@", i + 2)
            if end < 0:
                report.errors.append(f"line {line}: unterminated here-string")
                return "".join(out), expandable
            chunk = text[i : end + 3]
            if quote == '"':
                expandable.append(chunk)
            out.append('""' + "\n" * chunk.count("\n"))
            line += chunk.count("\n")
            i = end + 3
        elif ch in "'\"":
            j = i + 1
            while j < n:
                if ch == '"' and text[j] == "`":
                    j += 2
                    continue
                if text[j] == ch:
                    if text[j + 1 : j + 2] == ch:  # doubled quote escapes itself
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                report.errors.append(f"line {line}: unterminated string")
                return "".join(out), expandable
            chunk = text[i : j + 1]
            if ch == '"':
                expandable.append(chunk)
            out.append(ch + ch + "\n" * chunk.count("\n"))
            line += chunk.count("\n")
            i = j + 1
        else:
            if ch == "\n":
                line += 1
            out.append(ch)
            i += 1
    return "".join(out), expandable


def _check_brackets(code: str, report: Report) -> None:
    stack: list[tuple[str, int]] = []
    line = 1
    for ch in code:
        if ch == "\n":
            line += 1
        elif ch in PAIRS:
            stack.append((ch, line))
        elif ch in PAIRS.values():
            if not stack or PAIRS[stack[-1][0]] != ch:
                report.errors.append(f"line {line}: unexpected {ch!r}")
                return
            stack.pop()
    for opened, at in stack:
        report.errors.append(f"line {at}: {opened!r} is never closed")


def _names(text: str) -> set[str]:
    found = set()
    for match in VARIABLE.finditer(text):
        name = match.group("braced") or match.group("name")
        if name.lower().startswith(("env:", "script:", "global:")):
            continue
        found.add(name)
    return found


def check(text: str) -> Report:
    report = Report()
    code, expandable = _code_and_strings(text, report)
    if report.errors:
        return report
    _check_brackets(code, report)
    for required, why in (
        (r"(?m)^#Requires -RunAsAdministrator$", "#Requires -RunAsAdministrator"),
        (r"(?m)^Set-StrictMode -Version Latest$", "Set-StrictMode -Version Latest"),
        (r"(?m)^\$ErrorActionPreference = 'Stop'$", "$ErrorActionPreference = 'Stop'"),
        (r"(?m)^param\($", "a param( block"),
    ):
        if not re.search(required, text):
            report.errors.append(f"missing {why}")
    report.variables_read = _names(code) | {n for s in expandable for n in _names(s.replace("`$", ""))}
    assigned = {m.group(1) for m in re.finditer(r"\$(\w+)\s*(?:=|\+=)(?!=)", code)}
    loops = {m.group(1) for m in re.finditer(r"foreach\s*\(\s*\$(\w+)\s+in\b", code)}
    params = {m.group(1) for m in re.finditer(r"\[[\w.\[\]]+\]\s*\$(\w+)", code)}
    report.variables_set = assigned | loops | params
    known = {v.lower() for v in report.variables_set | AUTOMATIC}
    for name in sorted(report.variables_read):
        if name.lower() not in known:
            report.errors.append(f"${name} is read but never set (an error under Set-StrictMode)")
    return report
