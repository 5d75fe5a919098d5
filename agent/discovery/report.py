"""``homediag-agent discover``: JSON for machines, a table for people, progress on stderr."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

from .cycle import CycleResult, SweepOptions, run_cycle
from .inventory import stable_key


def as_json(result: CycleResult) -> dict[str, Any]:
    for device in result.devices:
        device.key = device.key or stable_key(device)
    return {
        "devices": [d.to_cli() for d in result.devices],
        "methods": dict(result.methods),
        "counters": dict(result.counters),
        "duration_s": result.duration_s,
        "interfaces": result.interfaces,
    }


def table(result: CycleResult) -> str:
    """Fixed-width columns; every field was sanitised in discovery, and is cut to its column here."""
    columns = (("IP", 15), ("MAC", 17), ("KIND", 9), ("NAME", 24), ("VENDOR", 24), ("SEEN BY", 16))
    lines = ["  ".join(title.ljust(width) for title, width in columns)]
    for d in result.devices:
        printer = ""
        if d.printer:
            reasons = ",".join(d.printer.get("state_reasons", [])[:2])
            printer = f"  printer {d.printer.get('state', '?')}" + (f" ({reasons})" if reasons else "")
        name = (
            d.hostname
            or (d.upnp.friendly_name if d.upnp else "")
            or (d.services[0].name if d.services else "")
        )
        vendor = d.vendor or ("(private MAC)" if d.random_mac else "")
        row = (d.ips[0] if d.ips else "", d.mac, d.kind, name, vendor, ",".join(d.sources))
        lines.append(
            "  ".join(str(v)[:w].ljust(w) for v, (_t, w) in zip(row, columns, strict=True)) + printer
        )
        for svc in d.services[:8]:
            lines.append(f"{'':17}{svc.type} {svc.name[:48]!r} port {svc.port}")
    errors = {m: s for m, s in result.methods.items() if s != "Complete"}
    if errors:
        lines.append("methods: " + "; ".join(f"{m} {s}" for m, s in errors.items()))
    if result.counters:
        lines.append("bad input: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counters.items())))
    return "\n".join(lines)


def discover(
    timeout_s: float,
    interface: str | None,
    as_json_output: bool,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    def progress(message: str) -> None:
        if not as_json_output:
            print(f"... {message}", file=err, flush=True)

    result = asyncio.run(run_cycle(timeout_s, interface, SweepOptions(), progress))
    if as_json_output:
        json.dump(as_json(result), out, indent=2, ensure_ascii=True)
        out.write("\n")
    else:
        print(table(result), file=out)
    return 0 if result.devices or "all" not in result.methods else 1
