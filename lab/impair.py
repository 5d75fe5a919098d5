"""Delay, jitter and loss on what a host sends: netem where the kernel has it, NFQUEUE where it does not.

Both act at the egress of the host's interface, so a ping from an impaired host shows the delay once per
round trip. Kernels built without ``sch_netem`` (the CI machines' included) get the same semantics
from an iptables NFQUEUE rule in the host's namespace and :mod:`lab.devices.impairer`: the kernel holds
each packet until the impairer's verdict, which comes ``delay +- jitter`` later or never (loss). The
rule uses ``--queue-bypass``: if the impairer dies, traffic flows unimpaired instead of stopping.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .commands import run
from .const import NFQUEUE_NUM
from .errors import LabConfigError
from .prereqs import netem_available
from .services import SOURCE_ROOT, ServiceSpec, start

if TYPE_CHECKING:
    from .lab import Lab


@dataclass(frozen=True)
class Impairment:
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0

    def validated(self) -> Impairment:
        if self.delay_ms < 0 or self.jitter_ms < 0 or not 0 <= self.loss_pct <= 100:
            raise LabConfigError(f"impairment out of range: {self}")
        return self


@dataclass
class ImpairmentState:
    host: str
    ifname: str
    impairment: Impairment
    backend: str  # "netem" or "nfqueue"
    process: subprocess.Popen[bytes] | None = None


def apply_impairment(
    lab: Lab, host: str, impairment: Impairment, ifname: str | None = None
) -> ImpairmentState:
    links = lab.home.links_of(host)
    if not links:
        raise LabConfigError(f"host {host!r} has no link of its own to impair")
    if ifname is None:
        ifname = links[0].ifname
    elif ifname not in {link.ifname for link in links}:
        raise LabConfigError(f"host {host!r} has no link {ifname!r}")
    if netem_available():
        run(
            ["tc", "-n", lab.netns(host), "qdisc", "replace", "dev", ifname, "root", *_netem_args(impairment)]
        )
        return ImpairmentState(host, ifname, impairment, "netem")
    spec = ServiceSpec(
        host,
        "impairer",
        (
            sys.executable,
            "-m",
            "lab.devices.impairer",
            "--queue",
            str(NFQUEUE_NUM),
            "--delay-ms",
            str(impairment.delay_ms),
            "--jitter-ms",
            str(impairment.jitter_ms),
            "--loss-pct",
            str(impairment.loss_pct),
        ),
        ready=r"^ready",
        env={"PYTHONPATH": SOURCE_ROOT},
    )
    (running,) = start(lab, [spec])
    state = ImpairmentState(host, ifname, impairment, "nfqueue", running.process)
    try:
        lab.exec(host, ["iptables", "-t", "mangle", "-A", *_queue_rule(ifname)])
    except BaseException:
        lab.stop(running.process)
        raise
    return state


def clear_impairment(lab: Lab, state: ImpairmentState) -> None:
    if state.backend == "netem":
        run(["tc", "-n", lab.netns(state.host), "qdisc", "del", "dev", state.ifname, "root"], check=False)
        return
    lab.exec(state.host, ["iptables", "-t", "mangle", "-D", *_queue_rule(state.ifname)], check=False)
    # On SIGTERM the impairer lets every packet it still holds go at once: nothing is lost by clearing.
    if state.process is not None:
        lab.stop(state.process)


def _queue_rule(ifname: str) -> list[str]:
    return ["POSTROUTING", "-o", ifname, "-j", "NFQUEUE", "--queue-num", str(NFQUEUE_NUM), "--queue-bypass"]


def _netem_args(imp: Impairment) -> list[str]:
    args = ["netem", "limit", "100000"]
    if imp.delay_ms or imp.jitter_ms:
        args += ["delay", f"{imp.delay_ms}ms"]
        if imp.jitter_ms:
            args.append(f"{imp.jitter_ms}ms")
    if imp.loss_pct:
        args += ["loss", f"{imp.loss_pct}%"]
    return args
