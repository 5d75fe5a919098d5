"""The ``discover``, ``printer_check`` and ``add_printer`` commands: settings kept, the home not left."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from agent import printing
from agent.commands import CommandRefused
from agent.discovery import CycleResult, SweepOptions
from agent.discovery import on_demand as discovery_commands
from agent.probes.discovery import DiscoveryProbe
from agent.runner import Agent
from protocol.catalogue import DiscoverParams, PrinterCheckParams

Calls = list[tuple[Any, ...]]


@pytest.fixture
def cycles(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls: list[tuple[Any, ...]] = []

    async def fake_cycle(*args: Any) -> CycleResult:
        calls.append(args)
        return CycleResult(devices=[])

    monkeypatch.setattr(discovery_commands, "run_cycle", fake_cycle)
    return calls


async def test_discover_keeps_the_configured_sweep_settings(cycles: Calls) -> None:
    probe = DiscoveryProbe({"arp_sweep": False, "rate_pps": 50, "interface": "br-lan"})
    agent: Any = SimpleNamespace(probes={"discovery": probe}, config=SimpleNamespace(probes={}))
    await Agent._cmd_discover(agent, DiscoverParams(timeout_s=4))
    timeout_s, interface, sweep = cycles[-1]
    assert (timeout_s, interface) == (4, "br-lan")
    assert sweep.enabled is False and sweep.rate_pps == 50


async def test_discover_keeps_the_settings_of_a_disabled_discovery_probe(cycles: Calls) -> None:
    config = SimpleNamespace(probes={"discovery": {"enabled": False, "arp_sweep": False}})
    agent: Any = SimpleNamespace(probes={}, config=config)
    await Agent._cmd_discover(agent, DiscoverParams())
    assert cycles[-1][2].enabled is False


async def test_discover_without_a_discovery_probe_uses_bounded_defaults(cycles: Calls) -> None:
    agent: Any = SimpleNamespace(probes={}, config=SimpleNamespace(probes={}))
    await Agent._cmd_discover(agent, DiscoverParams())
    assert cycles[-1][1:] == (None, SweepOptions())


@pytest.mark.parametrize(
    ("address", "home"),
    [
        ("192.168.1.20", True),
        ("10.0.0.20", True),
        ("169.254.3.4", True),
        ("fe80::1", True),
        ("fd00::20", True),
        ("8.8.8.8", False),
        ("127.0.0.1", False),
        ("127.9.9.9", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_what_is_in_the_home(address: str, home: bool) -> None:
    assert discovery_commands.in_the_home(ipaddress.ip_address(address)) is home


@pytest.mark.parametrize(
    "uri", ["ipp://127.0.0.1:631/ipp/print", "ipp://[::1]/ipp/print", "ipp://8.8.8.8/ipp/print"]
)
async def test_printer_check_refuses_loopback_and_public_addresses(uri: str) -> None:
    with pytest.raises(CommandRefused) as refused:
        await discovery_commands.printer_check_command(PrinterCheckParams(uri=uri))
    assert refused.value.status == "Error_Refused"


async def test_printer_check_asks_the_address_it_vetted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that resolves to the home once and elsewhere next (DNS rebinding) is asked at the first."""
    answers = iter(["10.0.0.20", "8.8.8.8"])
    asked: list[tuple[str, str | None]] = []

    async def getaddrinfo(host: str, *_args: Any, **_kw: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 0))]

    async def ask(uri: str, *, address: str | None = None, **_kw: Any) -> dict[str, Any]:
        asked.append((uri, address))
        return {"status": "Complete"}

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(discovery_commands, "get_printer_attributes", ask)
    await discovery_commands.printer_check_command(PrinterCheckParams(uri="ipp://printer.lan/ipp/print"))
    assert asked == [("ipp://printer.lan/ipp/print", "10.0.0.20")]


@pytest.mark.parametrize(
    "uri", ["ipp://8.8.8.8/ipp/print", "ipp://127.0.0.1:631/printers/x", "ipps://[::1]/ipp"]
)
async def test_add_printer_refuses_addresses_outside_the_home(
    monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    ran: list[list[str]] = []

    async def run(argv: list[str], **_kw: Any) -> tuple[int, str]:
        ran.append(argv)
        return 0, ""

    monkeypatch.setattr(printing, "_run", run)
    with pytest.raises(CommandRefused) as refused:
        await printing.add_printer(uri, "office")
    assert refused.value.status == "Error_Refused" and ran == [], "lpadmin never ran"


async def test_a_cancelled_cups_command_leaves_no_process() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    task = asyncio.create_task(printing._run(["sleep", "30"]))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()]
    assert [p for p in left if p.status() != psutil.STATUS_ZOMBIE] == []
