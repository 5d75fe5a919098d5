"""Running commands for the lab, with their failures translated into :class:`~lab.errors.CommandError`.

Only ``ip`` runs in the root namespace (to add, enter and delete namespaces); everything that touches
interfaces, routes, sysctls or rules runs inside a namespace through ``ip netns exec``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence

from .const import COMMAND_TIMEOUT_S
from .errors import CommandError


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input_text: str | None = None,
    timeout_s: float = COMMAND_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env=None if env is None else dict(env),
            stdin=None if input_text is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, -1, _text(exc.stdout), f"timed out after {timeout_s} s") from exc
    except OSError as exc:
        raise CommandError(argv, -1, "", str(exc)) from exc
    if check and done.returncode != 0:
        raise CommandError(argv, done.returncode, done.stdout, done.stderr)
    return done


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    """Plain ``ip netns exec``: for configuration commands that need no private /etc or /run."""
    return ["ip", "netns", "exec", netns, *argv]


def ip_batch(commands: Sequence[str], *, netns: str | None = None) -> None:
    """Many ``ip`` commands in one process: building a home is dominated by process start-up."""
    if not commands:
        return
    argv = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    run(argv, input_text="".join(f"{c}\n" for c in commands))


def write_sysctls(netns: str, values: Mapping[str, str]) -> None:
    """Write ``net.*`` sysctls of one namespace (they are per namespace) without needing procps."""
    if not values:
        return
    script = 'while [ $# -gt 1 ]; do printf "%s\\n" "$2" > "/proc/sys/$1" || exit 1; shift 2; done'
    args = [part for key, value in values.items() for part in (key.replace(".", "/"), value)]
    run(in_netns(netns, ["sh", "-c", script, "sh", *args]))


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
