"""Commands from the cloud: an allowlist of typed, bounded actions, never a shell.

A command runs only if every check holds, in this order:

1. it is sealed by a cloud key this agent pinned, addressed to this agent, on its own
   command topic (checked in :mod:`agent.link` before it gets here);
2. its name is in the shared catalogue (protocol/catalogue.py) and implemented here, and its
   parameters decode into that command's schema (unknown or out-of-range ones are refused);
3. its lifetime (``expires_at - sent``) is at most :data:`MAX_COMMAND_TTL_S`;
4. it has not expired by the **cloud's** clock, as estimated from signed acks, so an
   agent whose own clock is hours off still refuses an expired command;
5. a command marked ``consent`` runs only in a remote-assistance session: granted on the
   device (agent/consent.py) or vouched for by the cloud (``consent_until``). A revoke on the
   device after the cloud sealed the command beats the cloud's word: the cloud may not have
   heard of it yet;
6. its ``command_id`` was never seen before; seen ids are kept in SQLite until they
   expire, so a replay is refused even after a restart.

The id is recorded before the command runs: a command runs at most once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

import protocol
from protocol import Command, CommandResult, Envelope
from protocol.catalogue import CATALOGUE, CommandDef, decode_params

from .clock import CloudClock
from .consent import Consent
from .errors import AgentError

_LOGGER = logging.getLogger(__name__)

#: Longest lifetime a command may ask for; bounds the replay store too.
MAX_COMMAND_TTL_S = 3600.0
#: How far ahead of the cloud's clock a command's ``sent`` may be (clock estimate error).
MAX_FUTURE_S = 300.0
MAX_CONCURRENT = 4
DEFAULT_TIMEOUT_S = 120.0

P = TypeVar("P", bound=msgspec.Struct)


class CommandRefused(AgentError):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SeenCommands:
    """Command ids already accepted, kept until their command would have expired anyway.

    :meth:`claim` blocks (a durable SQLite commit): the executor calls it on a worker thread, and
    the lock keeps two threads' transactions on the one connection apart.
    """

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (command_id TEXT PRIMARY KEY, expires_at REAL)")
        self._lock = threading.Lock()

    def claim(self, command_id: str, expires_at: float, now: float) -> bool:
        """Record the id; False if it was already there (a replay)."""
        with self._lock, self._db:
            self._db.execute("DELETE FROM seen WHERE expires_at < ?", (now - MAX_COMMAND_TTL_S,))
            cur = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (command_id, expires_at))
        return cur.rowcount == 1

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class CommandSpec(Generic[P]):
    """This agent's implementation of a catalogue command (protocol/catalogue.py)."""

    name: str
    handler: Callable[[P], Awaitable[dict[str, Any]]]

    @property
    def definition(self) -> CommandDef:
        return CATALOGUE[self.name]


class Catalogue:
    """The allowlist: nothing outside it runs."""

    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec[Any]] = {}

    def add(self, spec: CommandSpec[Any]) -> None:
        if spec.name not in CATALOGUE:
            raise ValueError(f"{spec.name!r} is not in the command catalogue")
        if spec.name in self._specs:
            raise ValueError(f"command {spec.name!r} registered twice")
        self._specs[spec.name] = spec

    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str) -> CommandSpec[Any]:
        try:
            return self._specs[name]
        except KeyError:
            raise CommandRefused("Error_UnknownCommand", f"{name!r} is not an allowed command") from None


class CommandExecutor:
    def __init__(
        self,
        catalogue: Catalogue,
        seen: SeenCommands,
        clock: CloudClock,
        local_consent: Callable[[], Consent | None] = lambda: None,
    ) -> None:
        self.catalogue = catalogue
        self._seen = seen
        self._clock = clock
        self._local_consent = local_consent
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self.refused = 0

    def check(self, envelope: Envelope, command: Command) -> tuple[CommandSpec[Any], Any]:
        """Every check of the module docstring; blocking (the consent file, the replay store)."""
        spec = self.catalogue.get(command.name)
        try:
            params = decode_params(command.name, command.params)
        except protocol.ProtocolError as exc:
            raise CommandRefused("Error_InvalidParameters", str(exc)) from exc
        if command.expires_at - envelope.sent > MAX_COMMAND_TTL_S:
            raise CommandRefused("Error_Refused", f"lifetime over {MAX_COMMAND_TTL_S:.0f} s")
        now = self._clock.now()
        if envelope.sent > now + MAX_FUTURE_S:
            raise CommandRefused("Error_Refused", "issued in the future")
        if command.expires_at <= now:
            raise CommandRefused("Error_Expired", f"expired {now - command.expires_at:.0f} s ago")
        if spec.definition.consent:
            local = self._local_consent()
            granted_here = local is not None and local.active(time.time())
            if not (granted_here or self._vouched(envelope, command, local, now)):
                raise CommandRefused(
                    "Error_ConsentRequired", "needs a remote-assistance session the subscriber approved"
                )
        if not self._seen.claim(command.command_id, command.expires_at, now):
            raise CommandRefused("Error_Replay", "this command was already received")
        return spec, params

    def _vouched(self, envelope: Envelope, command: Command, local: Consent | None, now: float) -> bool:
        """The cloud's word for a session, unless the device revoked after the cloud sealed it."""
        if command.consent_until is None or command.consent_until <= now:
            return False
        revoked_at = local.revoked_at if local is not None else None
        return revoked_at is None or self._clock.at(revoked_at) < envelope.sent

    async def execute(
        self, envelope: Envelope, progress: Callable[[CommandResult], Awaitable[None]] | None = None
    ) -> CommandResult | None:
        """Run one command; None when it cannot even be answered (undecodable body).

        ``progress`` hears a ``Running`` result as soon as the checks pass, before the work starts.
        """
        try:
            command = protocol.decode_body(envelope, Command)
        except protocol.ProtocolError as exc:
            self.refused += 1
            _LOGGER.warning("undecodable command: %s", exc)
            return None
        try:
            spec, params = await asyncio.to_thread(self.check, envelope, command)
        except CommandRefused as exc:
            self.refused += 1
            _LOGGER.warning("refused command %s (%s): %s", command.name[:40], exc.status, exc.reason)
            return CommandResult(
                command_id=command.command_id, status=exc.status, data={"reason": exc.reason}
            )
        _LOGGER.info("running command %s (%s)", command.name, command.command_id)
        async with self._slots:
            if progress is not None:
                await progress(CommandResult(command.command_id, "Running", {"name": command.name}))
            try:
                data = await asyncio.wait_for(spec.handler(params), timeout=spec.definition.timeout_s)
            except TimeoutError:
                return CommandResult(command.command_id, "Error_Timeout", {"reason": "the command timed out"})
            except CommandRefused as exc:
                return CommandResult(command.command_id, exc.status, {"reason": exc.reason})
            except Exception as exc:  # a handler bug is reported, not fatal
                _LOGGER.exception("command %s failed", command.name)
                return CommandResult(
                    command.command_id, "Error_Internal", {"reason": f"{type(exc).__name__}"}
                )
        return CommandResult(command_id=command.command_id, status="Complete", data=data)
