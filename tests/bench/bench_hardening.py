"""Benchmark: peak RSS of a real cloud under hostile request bodies and parallel logins (issue 17).

    .venv/bin/python tests/bench/bench_hardening.py [--ref 76d473c] [--bodies 20] [--body-mib 100]

This tree and ``--ref`` (checked out into a temporary git worktree, run with the same interpreter
and packages) each run as a real `homediag-cloud serve` process, one after the other in one run.
Against each, three phases, with the peak reset between them (``/proc/PID/clear_refs``):

- ``bodies``: that many parallel unauthenticated ``POST /api/v1/enrollments`` of a ``--body-mib`` JSON
  document (a pairing code that long), sent in 1 MiB pieces until the server answers;
- ``logins``: ``--logins`` right-password logins of as many accounts, released together;
- ``guesses``: ``--logins`` wrong passwords for one account, released together (how many were
  checked, i.e. answered 400, against the lockout's limit of 5).

Figures: the process's VmHWM during the phase, the answers by status, and for the bodies the bytes
answered. A watchdog kills a process past ``--cap-mib`` (the machine is shared). Not a test: it
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import CloudProcess  # noqa: E402

MIB = 1024 * 1024
PASSWORD = "a password of the bench"


class TreeCloud(CloudProcess):
    """`serve` from one source tree: that tree first on the path, and as the working directory."""

    def __init__(self, workdir: Path, tree: Path) -> None:
        super().__init__(workdir)
        self.tree = tree
        self.env.update(
            PYTHONPATH=str(tree),
            HOMEDIAG_LOG_LEVEL="WARNING",
            HOMEDIAG_CARE_INTERVAL_S="0",
            HOMEDIAG_RETENTION_INTERVAL_S="0",
        )

    def cli(self, *args: str) -> str:
        raise NotImplementedError  # everything goes through the API

    def start(self) -> None:
        args = [sys.executable, "-m", "cloud", "--state-dir", str(self.state_dir), "--db", self.db_url]
        args += ["serve", "--port", str(self.api_port), "--broker-port", str(self.broker_port)]
        with (self.workdir / "cloud.log").open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=self.env, cwd=self.tree)
        deadline = time.monotonic() + 60
        while not self._up():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cloud did not start: {self.log_tail()}")
            time.sleep(0.2)

    def _up(self) -> bool:
        try:
            return self._ready()
        except AssertionError as exc:
            raise RuntimeError(str(exc)) from exc

    def proc_status(self, key: str) -> int:
        """A /proc/PID/status figure in KiB (0 once the process is gone)."""
        assert self.proc is not None
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
        except FileNotFoundError:
            return 0
        for line in text.splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def reset_peak(self) -> None:
        assert self.proc is not None
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux >= 4.0)


class Watchdog:
    """Kills the cloud if its RSS passes the cap; remembers that it did."""

    def __init__(self, cloud: TreeCloud, cap_mib: int) -> None:
        self.cloud = cloud
        self.cap_kib = cap_mib * 1024
        self.killed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog")

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            if self.cloud.proc_status("VmRSS") > self.cap_kib:
                assert self.cloud.proc is not None
                self.cloud.proc.kill()
                self.killed = True
                return


def _post_body(port: int, nbytes: int) -> tuple[int, int]:
    """One hostile body; (status, bytes answered). Stops sending once an answer is readable."""
    prefix, suffix = b'{"code": "', b'", "public_key": "x"}'
    filler = nbytes - len(prefix) - len(suffix)
    head = (
        f"POST /api/v1/enrollments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {nbytes}\r\nConnection: close\r\n\r\n"
    ).encode()
    pieces = [head + prefix] + [b"A" * MIB] * (filler // MIB) + [b"A" * (filler % MIB) + suffix]
    answer = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
            for piece in pieces:
                if select.select([sock], [], [], 0)[0]:
                    break
                try:
                    sock.sendall(piece)
                except (BrokenPipeError, ConnectionResetError):
                    break
            total = 0
            with sock.makefile("rb") as reply:
                first = reply.readline()
                answer += first
                while data := reply.read(MIB):
                    total += len(data)
    except (ConnectionResetError, TimeoutError):
        pass
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, len(answer) + (total if status else 0)


def _login(url: str, form: dict[str, str]) -> int:
    request = urllib.request.Request(url + "/api/v1/auth/token", data=urllib.parse.urlencode(form).encode())
    try:
        with urllib.request.urlopen(request, timeout=300) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)
    except OSError:
        return 0  # the process was killed


def _together(n: int, call: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        start.wait()
        out[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def _phase(cloud: TreeCloud, cap_mib: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    if cloud.proc is None or cloud.proc.poll() is not None:
        return {"skipped": "the process was killed in an earlier phase"}
    cloud.reset_peak()
    baseline = cloud.proc_status("VmRSS") / 1024
    started = time.monotonic()
    with Watchdog(cloud, cap_mib) as dog:
        figures = work()
    peak = cloud.proc_status("VmHWM") / 1024
    return {
        **figures,
        "baseline_mib": round(baseline, 1),
        "peak_mib": f"> {cap_mib} (killed)" if dog.killed else round(peak, 1),
        "seconds": round(time.monotonic() - started, 1),
    }


def measure(tree: Path, workdir: Path, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    workdir.mkdir(parents=True)
    cloud = TreeCloud(workdir, tree)
    cloud.start()
    try:
        assert cloud.post("/api/v1/tenants", {"id": "acme"})[0] == 201
        for n in range(args.logins):
            login = {"username": f"csr-{n}", "role": "csr", "password": PASSWORD, "tenant": "acme"}
            assert cloud.post("/api/v1/users", login)[0] == 201
        out: dict[str, dict[str, Any]] = {}

        def bodies() -> dict[str, Any]:
            answers = _together(args.bodies, lambda _i: _post_body(cloud.api_port, args.body_mib * MIB))
            return {
                "statuses": dict(Counter(s for s, _ in answers)),
                "answered_mib": round(max(n for _, n in answers) / MIB, 1),
            }

        def logins() -> dict[str, Any]:
            statuses = _together(
                args.logins,
                lambda i: _login(
                    cloud.api_url, {"tenant": "acme", "username": f"csr-{i}", "password": PASSWORD}
                ),
            )
            return {"statuses": dict(Counter(statuses))}

        def guesses() -> dict[str, Any]:
            wrong = {"tenant": "acme", "username": "csr-0", "password": "not the password"}
            statuses = _together(args.logins, lambda _i: _login(cloud.api_url, wrong))
            return {"statuses": dict(Counter(statuses)), "checked": statuses.count(400)}

        for name, work in (("bodies", bodies), ("logins", logins), ("guesses", guesses)):
            out[name] = _phase(cloud, args.cap_mib, work)
            print(json.dumps({"tree": str(tree), "phase": name, **out[name]}), flush=True)
        return out
    finally:
        cloud.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="76d473c", help="the previous release (a git revision)")
    parser.add_argument("--bodies", type=int, default=20)
    parser.add_argument("--body-mib", type=int, default=100)
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--cap-mib", type=int, default=10240, help="kill a cloud whose RSS passes this")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="homediag-bench-hardening-") as tmp:
        work = Path(tmp)
        previous = work / "previous"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(previous), args.ref],
            check=True,
            capture_output=True,
        )
        try:
            for label, tree in ((f"previous {args.ref}", previous), ("this tree", ROOT)):
                results[label] = measure(tree, work / label.replace(" ", "_"), args)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(previous)], check=False
            )
    print()
    print("| phase | version | answers | peak RSS MiB (at start) | ratio to previous |")
    print("|---|---|---|---:|---:|")
    before = results[f"previous {args.ref}"]
    for label, phases in results.items():
        for name, row in phases.items():
            peak = row.get("peak_mib")
            old = before[name].get("peak_mib")
            ratio = (
                f"{peak / old:.2f}"
                if label == "this tree" and isinstance(peak, float) and isinstance(old, float)
                else ""
            )
            answers = row.get("statuses", row.get("skipped"))
            print(f"| {name} | {label} | {answers} | {peak} ({row.get('baseline_mib')}) | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
