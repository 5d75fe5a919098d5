"""A CUPS scheduler of the PC's own, in its namespace, with every file under a test directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab import Lab

_CUPSD_CONF = """
Listen {sock}
LogLevel info
Browsing No
WebInterface No
DefaultAuthType None
DefaultPolicy lab
<Policy lab>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
<Location />
  Order allow,deny
  Allow all
</Location>
"""

_FILES_CONF = """
ServerRoot {root}/etc
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/tmp
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
"""


@contextmanager
def cupsd(home: Lab, host: str) -> Iterator[Path]:
    """Run cupsd in ``host``; yields its socket, for ``CUPS_SERVER``.

    Its files live outside pytest's private (0700) temporary tree: CUPS runs backends as the
    unprivileged ``lp`` user, which must reach the spooled job.
    """
    root = Path(tempfile.mkdtemp(prefix="homediag-cups-"))
    root.chmod(0o755)
    try:
        with _running(home, host, root) as sock:
            yield sock
    finally:
        if not os.environ.get("HOMEDIAG_KEEP_CUPS"):
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _running(home: Lab, host: str, root: Path) -> Iterator[Path]:
    for name in ("etc", "spool", "cache", "state", "tmp", "log"):
        (root / name).mkdir(parents=True, exist_ok=True)
    sock = root / "cups.sock"
    (root / "etc" / "cupsd.conf").write_text(textwrap.dedent(_CUPSD_CONF.format(sock=sock)))
    (root / "etc" / "cups-files.conf").write_text(textwrap.dedent(_FILES_CONF.format(root=root)))
    argv = [
        "cupsd",
        "-f",
        "-c",
        str(root / "etc" / "cupsd.conf"),
        "-s",
        str(root / "etc" / "cups-files.conf"),
    ]
    with (root / "cupsd.out").open("ab") as out:
        proc = home.popen(host, argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"cupsd did not start: {(root / 'cupsd.out').read_text()[-500:]}")
            time.sleep(0.1)
        yield sock
    finally:
        home.stop(proc)
