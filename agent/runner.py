"""The agent's runtime: one asyncio loop running the probes on their schedules,
sealing their results into the outbox, and the link that drains it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import platform
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import msgspec

import protocol
from protocol import BrokerAddress, Hello, Kind, ProbeName, Sample, TelemetryBatch, tr181
from protocol.catalogue import (
    AddPrinterParams,
    CloudKeyParams,
    DiscoverParams,
    NoParams,
    PlanParams,
    RunProbeParams,
)
from protocol.cycles import zone
from protocol.samples import ConsentData, PinnedKeys, PlanSaved, RunProbeResult

from . import consent as consent_store
from . import probes, revocation
from .clock import CloudClock
from .commands import Catalogue, CommandExecutor, CommandRefused, CommandSpec, SeenCommands
from .config import AgentConfig
from .connectivity import diagnostics
from .const import AGENT_VERSION, COMMANDS_FILE, OUTBOX_FILE, PLAN_FILE, STATUS_FILE, STATUS_WRITE_INTERVAL_S
from .discovery import on_demand as discovery_commands
from .enroll import renew_certificate
from .errors import AgentError, ConfigError, OutboxError
from .files import write_atomic
from .identity import (
    Enrollment,
    certificate_needs_renewal,
    ensure_state_dir,
    load_enrollment,
    load_or_create_key,
    save_enrollment,
    tls_files,
)
from .link import Link
from .outbox import AsyncOutbox, Outbox
from .printing import add_printer
from .probes.discovery import DiscoveryProbe
from .result import wire
from .usage.billing import cycle_report

_LOGGER = logging.getLogger(__name__)


class RecentLog(logging.Handler):
    """The last lines the agent logged, for the support bundle (never secrets: we log none)."""

    def __init__(self, size: int = 200) -> None:
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=size)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record)[:500])


RECENT_LOG = RecentLog()
logging.getLogger("agent").addHandler(RECENT_LOG)


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        ensure_state_dir(config.state_dir)
        self.enrollment = load_enrollment(config.state_dir)
        self.key = load_or_create_key(config.state_dir)
        self.agent_id = self.enrollment.agent_id
        self.probes: dict[str, probes.Probe] = {}
        self.disabled: dict[str, str] = {}
        for name, options in config.probes.items():
            probe = probes.create(name, options)
            if not probe.enabled:
                self.disabled[name] = "disabled in configuration"
                continue
            reason = probe.unavailable_reason()
            if reason:
                _LOGGER.warning("probe %s disabled: %s", name, reason)
                self.disabled[name] = reason
                continue
            probe.attach(config.state_dir)
            self.probes[name] = probe
        self.last_results: dict[str, dict[str, Any]] = {}
        #: Each probe's last data that is not marked unchanged (USP serves the discovery inventory).
        self.last_data: dict[str, dict[str, Any]] = {}
        self.certificate_renewals = 0
        self.outbox_errors = 0
        #: None at start, so a consent given before the agent started is reported too.
        self._reported_consent: consent_store.Consent | None = None
        self.outbox = AsyncOutbox(
            Outbox(
                config.state_dir / OUTBOX_FILE,
                max_messages=config.outbox.max_messages,
                max_bytes=config.outbox.max_bytes,
            )
        )
        try:
            broker = BrokerAddress.parse(config.link.broker_url or self.enrollment.broker_url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self._cloud_keys = self.enrollment.cloud_keys
        self.revocation = revocation.load(config.state_dir, self.agent_id)
        self._probe_tasks: list[asyncio.Task[None]] = []
        #: Commands that write the state directory (plan, pinned keys) write in the order they came.
        self._state_writes = asyncio.Lock()
        self.clock = CloudClock()
        self.commands = CommandExecutor(
            self._catalogue(),
            SeenCommands(config.state_dir / COMMANDS_FILE),
            self.clock,
            local_consent=lambda: consent_store.load(self.config.state_dir),
        )
        self.link = Link(
            agent_id=self.agent_id,
            broker=broker,
            key=self.key,
            cloud_keys=lambda: self._cloud_keys,
            outbox=self.outbox,
            config=config.link,
            clock=self.clock,
            tls=tls_files(config.state_dir),
            on_connect=self._send_hello,
            on_command=self._on_command,
            on_revoked=self._on_revoked,
            revoked=self.revocation.reason if self.revocation else None,
        )

    # -- commands ------------------------------------------------------------------

    def _catalogue(self) -> Catalogue:
        catalogue = Catalogue()
        catalogue.add(CommandSpec("run_probe", self._cmd_run_probe))
        catalogue.add(CommandSpec("support_bundle", self._cmd_support_bundle))
        catalogue.add(CommandSpec("set_plan", self._cmd_set_plan))
        catalogue.add(CommandSpec("trust_cloud_key", self._cmd_trust_cloud_key))
        catalogue.add(CommandSpec("retire_cloud_key", self._cmd_retire_cloud_key))
        catalogue.add(CommandSpec("usage_snapshot", self._cmd_usage_snapshot))
        catalogue.add(CommandSpec("add_printer", self._cmd_add_printer))
        catalogue.add(CommandSpec("discover", self._cmd_discover))
        catalogue.add(CommandSpec("printer_check", discovery_commands.printer_check_command))
        catalogue.add(CommandSpec("ping", diagnostics.ping_command))
        catalogue.add(CommandSpec("traceroute", diagnostics.traceroute_command))
        catalogue.add(CommandSpec("dns_lookup", diagnostics.dns_lookup_command))
        catalogue.add(CommandSpec("http_check", diagnostics.http_check_command))
        catalogue.add(CommandSpec("download_test", diagnostics.download_test_command))
        catalogue.add(CommandSpec("upload_test", diagnostics.upload_test_command))
        return catalogue

    async def _on_command(self, envelope: protocol.Envelope) -> None:
        result = await self.commands.execute(envelope, progress=self._enqueue_result)
        if result is not None:
            await self._enqueue(Kind.RESULT, result)

    async def _cmd_support_bundle(self, _params: NoParams) -> dict[str, Any]:
        """What a technician needs to see: status, recent log lines and probe results; no keys."""
        return {"status": await self.status(), "log": list(RECENT_LOG.lines)}

    async def _cmd_set_plan(self, params: PlanParams) -> dict[str, Any]:
        try:
            zone(params.timezone)
        except protocol.ProtocolError as exc:
            raise CommandRefused("Error_InvalidParameters", str(exc)) from exc
        async with self._state_writes:
            await asyncio.to_thread(
                write_atomic, self.config.state_dir / PLAN_FILE, msgspec.json.encode(params), 0o644
            )
        return wire(PlanSaved(saved=True))

    async def _enqueue_result(self, result: protocol.CommandResult) -> None:
        await self._enqueue(Kind.RESULT, result)

    async def _cmd_usage_snapshot(self, _params: NoParams) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, cycle_report, self.config.state_dir, time.time())

    async def _cmd_add_printer(self, params: AddPrinterParams) -> dict[str, Any]:
        return await add_printer(params.uri, params.name)

    async def _cmd_discover(self, params: DiscoverParams) -> dict[str, Any]:
        """A cycle now, within the sweep settings the operator gave the ``discovery`` probe (if any)."""
        probe = self.probes.get(ProbeName.DISCOVERY)
        if probe is None and ProbeName.DISCOVERY in self.config.probes:  # disabled: its settings still hold
            probe = probes.create(ProbeName.DISCOVERY, self.config.probes[ProbeName.DISCOVERY])
        if isinstance(probe, DiscoveryProbe):
            return await discovery_commands.discover_command(params, probe.interface, probe.sweep)
        return await discovery_commands.discover_command(params)

    async def _cmd_run_probe(self, params: RunProbeParams) -> dict[str, Any]:
        probe = self.probes.get(params.probe)
        if probe is None:
            raise CommandRefused("Error_Refused", f"probe {params.probe!r} is not running on this agent")
        result = await probe.run_now()
        return wire(RunProbeResult(probe=params.probe, status=result.status, data=result.data))

    async def _change_enrollment(self, change: Callable[[Enrollment], Enrollment]) -> None:
        """Apply ``change`` and save it (off the loop); one at a time, so none is lost."""
        async with self._state_writes:
            enrollment = change(self.enrollment)
            await asyncio.to_thread(save_enrollment, self.config.state_dir, enrollment)
            self.enrollment = enrollment
            self._cloud_keys = enrollment.cloud_keys

    async def _cmd_trust_cloud_key(self, params: CloudKeyParams) -> dict[str, Any]:
        try:
            protocol.load_public_key(params.public_key)
        except protocol.ProtocolError as exc:
            raise CommandRefused("Error_InvalidParameters", str(exc)) from exc
        await self._change_enrollment(lambda e: e.trusting(params.public_key))
        return wire(PinnedKeys(pinned=list(self.enrollment.cloud_public_keys)))

    async def _cmd_retire_cloud_key(self, params: CloudKeyParams) -> dict[str, Any]:
        try:
            await self._change_enrollment(lambda e: e.retiring(params.public_key))
        except ConfigError as exc:
            raise CommandRefused("Error_Refused", str(exc)) from exc
        return wire(PinnedKeys(pinned=list(self.enrollment.cloud_public_keys)))

    async def _on_revoked(self, revoked: protocol.Revoked, told_at: float) -> None:
        """Keep the cloud's word across restarts and stop measuring: nothing would be accepted."""
        record = revocation.Revocation(self.agent_id, revoked.reason, told_at, revoked.revoked_at)
        self.revocation = record
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, revocation.save, self.config.state_dir, record
            )
        except OSError as exc:
            _LOGGER.warning("cannot record the revocation: %s", exc)
        for task in self._probe_tasks:
            task.cancel()

    async def _send_hello(self) -> None:
        if await self.outbox.has_pending(Kind.HELLO):
            return
        hello = Hello(
            agent_version=AGENT_VERSION,
            platform=f"{platform.system()}-{platform.machine()}".lower(),
            hostname=socket.gethostname()[:255],
            capabilities=sorted(self.probes),
            probes=sorted(probes.registered()),
        )
        await self._enqueue(Kind.HELLO, hello)

    async def _enqueue(self, kind: Kind, body: protocol.Body) -> int | None:
        def build(epoch: int, seq: int, dropped_total: int) -> bytes:
            sealed_body = body
            if isinstance(body, TelemetryBatch) and dropped_total:
                sealed_body = TelemetryBatch(samples=body.samples, dropped=dropped_total)
            return protocol.seal(self.key, agent=self.agent_id, body=sealed_body, epoch=epoch, seq=seq)

        try:
            seq = await self.outbox.put(kind, build)
        except OutboxError as exc:
            self.outbox_errors += 1
            level = (
                logging.WARNING if self.outbox_errors == 1 or self.outbox_errors % 100 == 0 else logging.DEBUG
            )
            _LOGGER.log(level, "%s (%d so far)", exc, self.outbox_errors)
            return None
        self.link.wake()
        return seq

    async def _probe_loop(self, probe: probes.Probe) -> None:
        loop = asyncio.get_running_loop()
        next_run = loop.time()
        while True:
            started = time.time()
            try:
                result = await asyncio.wait_for(probe.run(), timeout=max(30.0, probe.interval_s))
            except TimeoutError:
                result = probes.ProbeResult.error("Error_Timeout", "the probe did not finish in time")
            except Exception as exc:  # a probe bug must not stop the agent
                _LOGGER.exception("probe %s crashed", probe.name)
                result = probes.ProbeResult.error("Error_Internal", f"{type(exc).__name__}: {exc}")
            if result is not None:
                sample = Sample(probe=probe.name, at=started, status=result.status, data=result.data)
                self.last_results[probe.name] = {"at": started, "status": result.status}
                if result.status == "Complete" and not result.data.get(tr181.vendor("Unchanged")):
                    self.last_data[probe.name] = result.data
                if await self._enqueue(Kind.TELEMETRY, TelemetryBatch(samples=[sample])) is not None:
                    await probe.delivered(result)
            # Fixed-rate schedule that skips missed ticks instead of bursting.
            next_run += probe.interval_s
            now = loop.time()
            if next_run < now:
                next_run = now + probe.interval_s
            await asyncio.sleep(next_run - now)

    async def status(self) -> dict[str, Any]:
        stats = await self.outbox.stats(self.config.link.resend_after_s)
        return {
            "agent_id": self.agent_id,
            "pid": os.getpid(),
            "updated_at": time.time(),
            "broker": str(self.link.broker),
            "link": {"state": self.link.state.value, **asdict(self.link.counters)},
            "commands": {"allowed": self.commands.catalogue.names(), "refused": self.commands.refused},
            "cloud_clock_offset_s": self.clock.offset_s,
            "certificate_renewals": self.certificate_renewals,
            "outbox_errors": self.outbox_errors,
            "outbox": asdict(stats),
            "revoked": asdict(self.revocation) if self.revocation else None,
            "probes": {
                **{
                    n: {"enabled": True, "interval_s": p.interval_s, "last": self.last_results.get(n)}
                    for n, p in self.probes.items()
                },
                **{n: {"enabled": False, "reason": r} for n, r in self.disabled.items()},
            },
        }

    async def _renewal_loop(self) -> None:
        """Renew the client certificate before it expires, without an operator."""
        loop = asyncio.get_running_loop()
        while True:
            if certificate_needs_renewal(self.config.state_dir, time.time()):
                try:
                    await loop.run_in_executor(
                        None, renew_certificate, self.config.state_dir, self.enrollment
                    )
                    self.certificate_renewals += 1
                    _LOGGER.info("client certificate renewed; used from the next connection")
                except AgentError as exc:
                    _LOGGER.warning("certificate renewal failed, will retry: %s", exc)
            await asyncio.sleep(self.config.link.renew_check_s)

    async def _report_consent_changes(self) -> None:
        """Tell the cloud when the subscriber grants or revokes remote assistance on this device."""
        current = await asyncio.to_thread(consent_store.load, self.config.state_dir)
        if current == self._reported_consent:
            return
        self._reported_consent = current
        now = time.time()
        data = ConsentData(
            active=current is not None and current.active(now),
            granted_at=current.granted_at if current else None,
            expires_at=current.expires_at if current else None,
            # The cloud orders a revoke here against a grant in the portal (cloud/consent.py).
            revoked=current.revoked if current else False,
        )
        sample = Sample(probe=ProbeName.CONSENT, at=now, status="Complete", data=wire(data))
        await self._enqueue(Kind.TELEMETRY, TelemetryBatch(samples=[sample]))

    async def _status_loop(self) -> None:
        path = self.config.state_dir / STATUS_FILE
        while True:
            await self._report_consent_changes()
            data = json.dumps(await self.status(), indent=2).encode()
            try:
                await asyncio.get_running_loop().run_in_executor(None, write_atomic, path, data, 0o644)
            except OSError as exc:  # a full disk must not stop the agent; status is best effort
                _LOGGER.debug("cannot write %s: %s", path, exc)
            await asyncio.sleep(STATUS_WRITE_INTERVAL_S)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set (or SIGTERM/SIGINT when none is given)."""
        loop = asyncio.get_running_loop()
        if stop is None:
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        _LOGGER.info("agent %s starting; probes: %s", self.agent_id, ", ".join(sorted(self.probes)) or "none")
        tasks = [asyncio.create_task(self.link.run(), name="link")]
        if self.config.usp.enabled:  # imported only when on: the agent without USP stays small
            from .usp import serve as serve_usp  # noqa: PLC0415 - protobuf only when USP is on

            tasks.append(asyncio.create_task(serve_usp(self), name="usp"))  # never returns nor raises
        if self.revocation is None:
            self._probe_tasks = [
                asyncio.create_task(self._probe_loop(p), name=f"probe:{n}") for n, p in self.probes.items()
            ]
        else:
            _LOGGER.error(
                "this agent was revoked by its provider (%s); enroll it again", self.revocation.reason
            )
        tasks.append(asyncio.create_task(self._status_loop(), name="status"))
        if tls_files(self.config.state_dir) is not None:
            tasks.append(asyncio.create_task(self._renewal_loop(), name="renewal"))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            _LOGGER.info("agent %s stopping", self.agent_id)
            tasks += self._probe_tasks  # not waited on above: a revocation cancels them
            for task in tasks:
                if task.get_name() != "link":
                    task.cancel()
            await self.link.stop()
            for task in [*tasks, stopper]:
                task.cancel()
            for task in [*tasks, stopper]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.outbox.close()
