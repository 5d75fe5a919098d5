"""Blocking work the agent does for commands and probes runs on an executor, never on its loop:
the replay store's durable commit, the plan and the pinned keys, the inventory, the consent file."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import protocol
from agent import consent, files, identity, runner
from agent.clock import CloudClock
from agent.commands import Catalogue, CommandExecutor, CommandSpec, SeenCommands
from agent.discovery import CycleResult, Device, Inventory
from agent.probes import discovery as discovery_probe
from agent.probes.discovery import DiscoveryProbe
from agent.runner import Agent
from protocol import Command
from protocol.catalogue import CloudKeyParams, PlanParams

KEY = protocol.generate_private_key()


class Threads:
    """The threads a function was called on, and whether any of them ran the loop."""

    def __init__(self) -> None:
        self.loop_thread = threading.get_ident()
        self.seen: list[int] = []

    def note(self) -> None:
        self.seen.append(threading.get_ident())

    @property
    def off_the_loop(self) -> bool:
        return bool(self.seen) and self.loop_thread not in self.seen


async def _bundle(_params: Any) -> dict[str, Any]:
    return {}


async def test_the_replay_store_commits_off_the_loop(tmp_path: Path) -> None:
    threads = Threads()

    class Seen(SeenCommands):
        def claim(self, command_id: str, expires_at: float, now: float) -> bool:
            threads.note()
            return super().claim(command_id, expires_at, now)

    catalogue = Catalogue()
    catalogue.add(CommandSpec("support_bundle", _bundle))
    seen = Seen(tmp_path / "commands.sqlite")
    executor = CommandExecutor(catalogue, seen, CloudClock())
    try:
        now = time.time()
        command = Command(
            command_id=protocol.new_message_id(),
            name="support_bundle",
            params={},
            expires_at=now + 60,
            consent_until=now + 60,  # a session the cloud vouches for
        )
        envelope = protocol.decode_envelope(
            protocol.split(protocol.seal(KEY, agent="agent-1", body=command, sent=now))[0]
        )
        results = await asyncio.gather(executor.execute(envelope), executor.execute(envelope))
        statuses = sorted(r.status for r in results if r is not None)
        assert statuses == ["Complete", "Error_Replay"], "still at most once, from two threads"
        assert threads.off_the_loop and len(threads.seen) == 2
    finally:
        seen.close()


def _agent(tmp_path: Path, enrollment: identity.Enrollment | None = None) -> Any:
    agent: Any = SimpleNamespace(
        config=SimpleNamespace(state_dir=tmp_path),
        enrollment=enrollment,
        _state_writes=asyncio.Lock(),
        _reported_consent=None,
    )
    agent._change_enrollment = lambda change: Agent._change_enrollment(agent, change)
    return agent


async def test_the_plan_is_written_off_the_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = Threads()
    real = files.write_atomic

    def spy(path: Path, data: bytes, mode: int = 0o600) -> None:
        threads.note()
        real(path, data, mode)

    monkeypatch.setattr(runner, "write_atomic", spy)
    params = PlanParams(cap_bytes=10**9, cycle_start_day=1, timezone="UTC")
    assert await Agent._cmd_set_plan(_agent(tmp_path), params) == {"saved": True}
    assert (tmp_path / "plan.json").exists() and threads.off_the_loop


async def test_pinned_keys_are_saved_off_the_loop_and_none_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = Threads()
    real = identity.save_enrollment

    def slow_save(state_dir: Path, enrollment: identity.Enrollment) -> None:
        threads.note()
        time.sleep(0.02)  # long enough for the other command to come in meanwhile
        real(state_dir, enrollment)

    monkeypatch.setattr(runner, "save_enrollment", slow_save)
    first = protocol.public_key_text(protocol.generate_private_key())
    enrollment = identity.Enrollment("agent-1", "mqtt://127.0.0.1:1", "http://127.0.0.1:1", (first,), 0.0)
    agent = _agent(tmp_path, enrollment)
    agent._cloud_keys = enrollment.cloud_keys
    new = [protocol.public_key_text(protocol.generate_private_key()) for _ in range(2)]
    await asyncio.gather(*(Agent._cmd_trust_cloud_key(agent, CloudKeyParams(public_key=k)) for k in new))
    assert agent.enrollment.cloud_public_keys == (first, *new), "two trust commands at once keep both"
    assert threads.off_the_loop and len(threads.seen) == 2


async def test_the_consent_file_is_read_off_the_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = Threads()
    real = consent.load

    def spy(state_dir: Path) -> consent.Consent | None:
        threads.note()
        return real(state_dir)

    sent: list[Any] = []

    async def enqueue(kind: Any, body: Any) -> int:
        sent.append(body)
        return 1

    monkeypatch.setattr(consent, "load", spy)
    consent.grant(tmp_path, 30)
    agent = _agent(tmp_path)
    agent._enqueue = enqueue
    await Agent._report_consent_changes(agent)
    assert threads.off_the_loop and sent[0].samples[0].data["active"] is True


async def test_the_inventory_is_saved_off_the_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = Threads()
    real = Inventory.save

    def spy(self: Inventory) -> None:
        threads.note()
        real(self)

    async def fake_cycle(*_args: Any) -> CycleResult:
        return CycleResult(devices=[Device(mac="30:24:a9:7b:c2:20", ips=["10.0.0.20"], sources=["arp"])])

    monkeypatch.setattr(Inventory, "save", spy)
    monkeypatch.setattr(discovery_probe, "run_cycle", fake_cycle)
    probe = DiscoveryProbe({})
    probe.attach(tmp_path)
    result = await probe.run()
    assert result is not None and result.data["Hosts"]["HostNumberOfEntries"] == 1
    assert (tmp_path / "inventory.json").exists() and threads.off_the_loop
