"""Child processes the agent waits on (the ARP worker, CUPS tools, ``iw``): bounded, never orphaned."""

from __future__ import annotations

import asyncio
import contextlib


async def communicate(
    proc: asyncio.subprocess.Process, data: bytes | None, timeout_s: float
) -> tuple[bytes, bytes] | None:
    """``proc.communicate(data)`` within ``timeout_s``; None on timeout. On a timeout or our own
    cancellation the child is killed and reaped (shielded, so no zombie is left) before we return."""
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), timeout_s)
    except BaseException as exc:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await asyncio.shield(proc.wait())
        if isinstance(exc, TimeoutError):
            return None
        raise
    return out or b"", err or b""
