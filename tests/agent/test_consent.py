"""Consent on the device against the cloud's word: a revoke here ends a session the cloud vouched
for, unless the cloud sealed the command after the revoke (a newer grant in the portal)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import protocol
from agent import consent
from agent.clock import CloudClock
from agent.commands import Catalogue, CommandExecutor, CommandRefused, CommandSpec, SeenCommands
from protocol import Command, Envelope

KEY = protocol.generate_private_key()
AGENT = "agent-1"


async def _bundle(_params: Any) -> dict[str, Any]:
    return {}


@pytest.fixture
def clock() -> CloudClock:
    return CloudClock()


@pytest.fixture
def executor(tmp_path: Path, clock: CloudClock) -> Iterator[CommandExecutor]:
    catalogue = Catalogue()
    catalogue.add(CommandSpec("support_bundle", _bundle))
    seen = SeenCommands(tmp_path / "seen.sqlite")
    yield CommandExecutor(catalogue, seen, clock, local_consent=lambda: consent.load(tmp_path))
    seen.close()


def _command(sent: float, consent_until: float | None) -> tuple[Envelope, Command]:
    command = Command(
        command_id=protocol.new_message_id(),
        name="support_bundle",
        params={},
        expires_at=sent + 300,
        consent_until=consent_until,
    )
    payload = protocol.seal(KEY, agent=AGENT, body=command, sent=sent)
    return protocol.decode_envelope(protocol.split(payload)[0]), command


def _refused(executor: CommandExecutor, envelope: Envelope, command: Command) -> str | None:
    try:
        executor.check(envelope, command)
    except CommandRefused as exc:
        return exc.status
    return None


def test_vouched_session_runs_without_a_local_grant(executor: CommandExecutor) -> None:
    now = time.time()
    assert _refused(executor, *_command(now, now + 600)) is None
    assert _refused(executor, *_command(now, None)) == "Error_ConsentRequired"


def test_local_revoke_after_the_command_was_sealed_ends_the_vouched_session(
    executor: CommandExecutor, tmp_path: Path
) -> None:
    now = time.time()
    sealed_before = _command(now - 10, now + 600)
    consent.grant(tmp_path, 60, now=now - 120)
    consent.revoke(tmp_path, now=now - 5)
    assert _refused(executor, *sealed_before) == "Error_ConsentRequired"
    # Sealed after the revoke: the subscriber granted again in the portal, and the cloud says so.
    assert _refused(executor, *_command(now, now + 600)) is None


def test_local_grant_runs_and_its_revoke_stops_it(executor: CommandExecutor, tmp_path: Path) -> None:
    now = time.time()
    consent.grant(tmp_path, 10, now=now - 1)
    assert _refused(executor, *_command(now, None)) is None
    consent.revoke(tmp_path)
    assert _refused(executor, *_command(now, None)) == "Error_ConsentRequired"


def test_the_revoke_is_compared_on_the_clouds_clock(
    executor: CommandExecutor, clock: CloudClock, tmp_path: Path
) -> None:
    """An agent an hour behind the cloud: its revoke a few seconds ago is still after a command
    the cloud sealed a minute ago, though the cloud's stamp looks an hour newer here."""
    local = time.time()
    clock.observe(cloud_sent=local + 3600, local_received=local)
    consent.revoke(tmp_path, now=local - 5)
    cloud_now = local + 3600
    assert _refused(executor, *_command(cloud_now - 60, cloud_now + 600)) == "Error_ConsentRequired"
    assert _refused(executor, *_command(cloud_now, cloud_now + 600)) is None
