"""Premium remote setup: add a discovered printer to this PC's CUPS, driverless, and print a test page.

Runs only as the ``add_printer`` command inside a remote-assistance session the subscriber approved
(the catalogue marks it ``consent``). Never a shell: ``lpadmin`` and ``lp`` are run with argument
lists whose values the catalogue has already bounded (an ``ipp(s)://`` URI and a queue name of
letters, digits, ``-`` and ``_``). The queue uses the IPP Everywhere model (``-m everywhere``): CUPS
asks the printer for its capabilities, so no driver is installed. ``CUPS_SERVER`` in the agent's
environment chooses the scheduler, as for any CUPS client.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import time
import urllib.parse
from typing import Any

from .commands import CommandRefused
from .discovery.on_demand import home_address
from .subprocesses import communicate

#: How long to wait for the test page to leave the PC's queue.
TEST_PAGE_TIMEOUT_S = 75.0
_OUTPUT_LIMIT = 500


TITLE = "homediag test page"


def make_test_page(title: str) -> bytes:
    """A one-page PDF saying who printed it and when: sent raw, so no filter is needed on the PC."""
    text = re.sub(r"[()\\\\]", "", f"{title} - {time.strftime('%Y-%m-%d %H:%M:%S')}")
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


async def _run(
    argv: list[str], *, stdin: bytes | None = None, timeout_s: float = 60.0, limit: int = _OUTPUT_LIMIT
) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, "LC_ALL": "C"},  # lpstat's words ("Alerts:") are parsed: untranslated
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    done = await communicate(proc, stdin, timeout_s)  # killed on timeout or cancellation: no orphan
    if done is None:
        return -1, f"{argv[0]} did not finish in {timeout_s:.0f} s"
    return proc.returncode or 0, done[0].decode(errors="replace").strip()[:limit]


async def add_printer(uri: str, name: str) -> dict[str, Any]:
    """Create (or update) queue ``name`` for ``uri`` and print a test page; TR-181-style statuses."""
    result: dict[str, Any] = {"Queue": name, "DeviceURI": uri, "Model": "IPP Everywhere (driverless)"}
    # The same bound as printer_check: a queue to a public or loopback address would have this PC
    # send documents out of the home, or to a service of its own. CommandRefused("Error_Refused").
    try:
        host = urllib.parse.urlsplit(uri).hostname or ""
    except ValueError as exc:
        raise CommandRefused("Error_InvalidParameters", f"not a URI: {exc}") from exc
    await home_address(host, "add_printer")
    try:
        code, out = await _run(["lpadmin", "-p", name, "-E", "-v", uri, "-m", "everywhere"])
    except FileNotFoundError:
        return {**result, "Status": "Error_NoCUPS", "Message": "CUPS (lpadmin) is not installed on this PC"}
    if code != 0:
        return {**result, "Status": "Error_PrinterSetup", "Message": out or f"lpadmin exited {code}"}
    code, out = await _run(["lp", "-d", name, "-o", "raw", "-t", TITLE, "-"], stdin=make_test_page(TITLE))
    job = re.search(r"request id is (\S+)", out)
    if code != 0 or job is None:
        return {**result, "Status": "Error_TestPage", "Message": out or f"lp exited {code}"}
    result["TestPageJob"] = job.group(1)
    result["TestPageState"] = await _wait_for_job(name, job.group(1))
    result["Status"] = "Complete" if result["TestPageState"] == "completed" else "Error_TestPage"
    return result


async def _wait_for_job(queue: str, job: str) -> str:
    """``completed`` once the job has left the PC for the printer; ``aborted: …`` or ``canceled: …``
    when CUPS gave up on it; else what it is still doing when the wait ends."""
    deadline = time.monotonic() + TEST_PAGE_TIMEOUT_S
    while True:
        # The whole listing: every earlier job of the queue comes before this one's lines.
        _code, out = await _run(["lpstat", "-l", "-W", "completed", "-o", queue], timeout_s=10, limit=1 << 20)
        ended = job_end(out, job)
        if ended is not None:
            return ended
        if time.monotonic() > deadline:
            _code, out = await _run(["lpstat", "-l", "-o", queue], timeout_s=10)
            return f"not completed after {TEST_PAGE_TIMEOUT_S:.0f} s: {out[:200]}"
        await asyncio.sleep(0.5)


def job_end(listing: str, job: str) -> str | None:
    """How ``job`` ended, from ``lpstat -l -W completed``; None while it has not.

    CUPS's ``completed`` jobs include the aborted and canceled ones (which-jobs=completed is every
    terminal state), told apart only by the job's state reasons on its ``Alerts:`` line.
    """
    lines = listing.splitlines()
    for at, line in enumerate(lines):
        if line.split()[:1] != [job]:
            continue
        details = dict(
            detail.strip().partition(": ")[::2]
            for detail in itertools.takewhile(lambda text: text[:1].isspace(), lines[at + 1 :])
        )
        reasons = details.get("Alerts", "").split()
        for end in ("aborted", "canceled"):
            if any(end in reason for reason in reasons):
                return f"{end}: {details.get('Status') or ' '.join(reasons)}"[:200]
        return "completed"
    return None
