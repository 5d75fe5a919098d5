"""Benchmark: CPU time and peak memory of the agent's connectivity diagnostics, in the virtual home.

    sudo .venv/bin/python tests/bench/bench_connectivity.py [--duration 10] [--rates 0,100]

1. A 10-second DownloadDiagnostics (4 connections) from the PC against the cloud's speed-test
   router served from the ISP namespace, once per WAN rate (0 = unshaped veth, else a tbf cap).
2. IPPing of every address of the home's /24 (254 hosts: 6 answer, the rest do not exist) three
   times each, all at once.

Each runs in a fresh interpreter inside the PC's namespace, as ``homediag-agent diagnose`` would;
CPU time is that process's user+system time (``getrusage``), peak memory its maximum resident set
(``ru_maxrss``), also given relative to the same interpreter after its imports. Not a test: it
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab import CLOUD_ADDRESS, Lab, missing_prerequisites

PORT = 8080
_SERVER = textwrap.dedent(
    """
    import sys
    import uvicorn
    from fastapi import FastAPI
    from cloud.api.routes import speedtest
    app = FastAPI()
    app.include_router(speedtest.router, prefix="/api/v1")
    uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), log_level="warning")
    """
)

_MEASURE = textwrap.dedent(
    """
    import asyncio, json, resource, sys, time
    from agent.connectivity.ipping import ip_ping
    from agent.connectivity.transfer import download_diagnostics
    base = resource.getrusage(resource.RUSAGE_SELF)
    kind, arg = sys.argv[1], sys.argv[2]
    started = time.monotonic()
    if kind == "download":
        result = asyncio.run(download_diagnostics(arg, duration_s=float(sys.argv[3]), busy_sample_s=0))
        summary = {k: result.data.get(k) for k in ("X_HOMEDIAG-DEV_ThroughputMbps", "TestBytesReceived")}
    else:
        async def sweep():
            hosts = [f"{arg}.{i}" for i in range(1, 255)]
            return await asyncio.gather(*(ip_ping(h, count=3, interval_s=0.2, timeout_s=1) for h in hosts))
        results = asyncio.run(sweep())
        summary = {
            "hosts": len(results),
            "answered": sum(1 for r in results if r.data.get("SuccessCount")),
            "echoes": 3 * len(results),
        }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "status": result.status if kind == "download" else "Complete",
        "wall_s": round(time.monotonic() - started, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime - base.ru_utime - base.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "peak_over_imports_mb": round((usage.ru_maxrss - base.ru_maxrss) / 1024, 1),
        **summary,
    }))
    """
)


def measure(lab: Lab, *args: str) -> dict[str, object]:
    out = lab.exec("pc", [sys.executable, "-c", _MEASURE, *args], timeout_s=120).stdout
    result: dict[str, object] = json.loads(out)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rates", default="0,100", help="WAN caps in Mbit/s; 0 = unshaped")
    args = parser.parse_args()
    reasons = missing_prerequisites()
    if reasons:
        print("cannot build the lab here: " + "; ".join(reasons), file=sys.stderr)
        return 2
    with Lab() as lab:
        server = lab.popen("isp", [sys.executable, "-c", _SERVER, CLOUD_ADDRESS, str(PORT)])
        deadline = time.monotonic() + 20
        while lab.exec("pc", [sys.executable, "-I", "-c", _connect()], check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit("speed-test server did not start")
            time.sleep(0.2)
        url = f"http://{CLOUD_ADDRESS}:{PORT}/api/v1/speedtest/download"
        for rate in (float(r) for r in args.rates.split(",")):
            if rate:
                lab.limit_wan(rate)
            else:
                lab.clear_wan_limit()
            figures = measure(lab, "download", url, str(args.duration))
            print(
                json.dumps(
                    {"test": f"download {args.duration:g} s", "wan_mbit": rate or "unshaped", **figures}
                )
            )
        lab.clear_wan_limit()
        figures = measure(lab, "sweep", "10.213.0")
        print(json.dumps({"test": "ping /24 x3", **figures}))
        lab.stop(server)
    return 0


def _connect() -> str:
    return f"import socket; socket.create_connection(('{CLOUD_ADDRESS}', {PORT}), 1).close()"


if __name__ == "__main__":
    sys.exit(main())
