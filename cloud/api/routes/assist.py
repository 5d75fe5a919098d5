"""Assisted setup and playbooks for CSRs: the driverless printer guide (playbooks join here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from ... import audit, playbooks
from ...errors import CommandRefused
from ...printer_setup import guide
from ...remote import FINAL_STATES, issue
from ...sentences import AGENT_OFFLINE, NO_SUCH_AGENT
from ...storage.assistance import CommandRecord
from ..auth import Principal, StaffDep, check_may_send, load_agent
from ..deps import ObjectId, get_publisher
from ..models import Input

STEP_TIMEOUT_S = 60.0

router = APIRouter(tags=["assist"])


@router.get("/printer-setup")
def printer_setup(
    _: StaffDep,
    # No pattern: guide() parses the URI and says in words what a printer URI looks like.
    uri: str = Query(min_length=8, max_length=2048, description="the printer's IPP URI"),
    name: str = Query("printer", pattern=r"^[A-Za-z0-9_-]{1,64}$"),
) -> dict[str, Any]:
    """How to add this printer on each system, driverless, and the remote command that does it."""
    return guide(uri, name)  # a SetupError is a 422 in words (cloud/api/errors.py)


#: What a refusal of each field says (``x-sentence``, cloud/api/errors.py): the host and address
#: fields are the ones people get wrong, and pydantic would quote the pattern.
_HOST = "a host name or an IP address (letters, digits, '.', ':', '-' and '_'), at most 253 characters"
_IPP = "the uri must be a printer address starting with ipp:// or ipps://, without spaces"
_WEB = "the download url must be an address starting with http:// or https://, without spaces"


class PrinterPlaybook(Input):
    uri: str = Field(
        min_length=8, max_length=2048, pattern=r"^ipps?://[^\s]+$", json_schema_extra={"x-sentence": _IPP}
    )


class SlowInternetPlaybook(Input):
    gateway: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9.:_-]+$",
        json_schema_extra={"x-sentence": f"the gateway must be {_HOST}"},
    )
    internet: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9.:_-]+$",
        json_schema_extra={"x-sentence": f"the internet host must be {_HOST}"},
    )
    name: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9.:_-]+$",
        json_schema_extra={"x-sentence": f"the name to look up must be {_HOST}"},
    )
    #: The cloud's own speed-test endpoint; a throughput test is run only when given.
    download_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://[^\s]+$", json_schema_extra={"x-sentence": _WEB}
    )


def _runner(request: Request, agent_id: str, principal: Principal) -> playbooks.Run:
    """Each step is a command like a CSR's own: validated, audited, signed, expiring."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    ingest = get_publisher(request)
    actor = audit.Actor(f"{principal.username} (playbook)", principal.user_id, principal.tenant_id)

    async def run(name: str, params: dict[str, Any]) -> playbooks.Step:
        step = playbooks.Step(name, params)
        try:
            check_may_send(principal, name)
        except HTTPException as exc:
            step.status, step.result = "Error_Refused", {"reason": str(exc.detail)}
            return step

        def _issue() -> tuple[str, bytes | None]:
            key = request.app.state.keys.get().active  # a stat of the key files, maybe a read
            with sessions() as session:
                try:
                    issued = issue(
                        session,
                        key,
                        actor=actor,
                        agent_id=agent_id,
                        name=name,
                        params=params,
                        ttl_s=STEP_TIMEOUT_S,
                        wait=False,
                        policy=request.app.state.settings.tier_policy,
                    )
                finally:
                    session.commit()  # refusals are audited too
                return issued.record.id, issued.payload

        try:
            step.command_id, payload = await run_in_threadpool(_issue)
        except CommandRefused as exc:
            step.status, step.result = "Error_Refused", {"reason": str(exc)}
            return step
        if payload is not None and (ingest is None or not await ingest.publish_command(agent_id, payload)):
            step.status, step.result = "Error_Other", {"reason": "the broker is not connected"}
            return step

        def _load() -> tuple[str, dict[str, Any]] | None:
            with sessions() as session:
                record = session.get(CommandRecord, step.command_id)
                if record is None or record.state not in FINAL_STATES:
                    return None
                return record.status or record.state, dict(record.result or {})

        done = await playbooks.wait_for_result(_load, STEP_TIMEOUT_S)
        if done is None:
            step.status, step.result = "Error_Timeout", {"reason": "no result in time"}
        else:
            step.status, step.result = done
        return step

    return run


def _online(request: Request, agent_id: str, principal: Principal) -> None:
    with request.app.state.sessions() as session:
        agent = load_agent(session, principal, agent_id)
        if agent.revoked:
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=NO_SUCH_AGENT)
        if not agent.online:
            raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=AGENT_OFFLINE)


@router.post("/agents/{agent_id}/playbooks/printer-wont-print")
async def printer_wont_print(
    agent_id: ObjectId, body: PrinterPlaybook, request: Request, principal: StaffDep
) -> dict[str, Any]:
    """printer_check, ping and the PC's Wi-Fi link, read into one finding with its evidence."""
    await run_in_threadpool(_online, request, agent_id, principal)
    finding = await playbooks.printer_wont_print(_runner(request, agent_id, principal), body.uri)
    return finding.as_dict()


@router.post("/agents/{agent_id}/playbooks/internet-is-slow")
async def internet_is_slow(
    agent_id: ObjectId, body: SlowInternetPlaybook, request: Request, principal: StaffDep
) -> dict[str, Any]:
    """Home network vs gateway vs beyond, loss, DNS, and a throughput test when asked for."""
    await run_in_threadpool(_online, request, agent_id, principal)
    finding = await playbooks.internet_is_slow(
        _runner(request, agent_id, principal), body.gateway, body.internet, body.name, body.download_url
    )
    return finding.as_dict()
