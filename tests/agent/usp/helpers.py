"""A USP agent's handlers over a fake agent: a small inventory, engines that answer at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from agent.consent import Consent
from agent.usp.audit import Audit
from agent.usp.device import DeviceInfo, MQTTClient
from agent.usp.handlers import Handlers
from agent.usp.records import decode_record, encode_record
from agent.usp.schema import Msg, Record, enum_value
from agent.usp.trust import Trust
from protocol.catalogue import Params
from protocol.samples.inventory import DNSSD, Host, HostAddress, Hosts, Service

AGENT_ID = "os::00D0B7-agent-1"
CONTROLLER = "self::test-controller"


def inventory(active: bool = True) -> dict[str, Any]:
    """Discovery data as the probe reports it (``Hosts``, ``DNS``), built from the real Structs."""
    hosts = Hosts(
        HostNumberOfEntries=2,
        Host=[
            Host(PhysAddress="00:11:22:33:44:55", IPAddress="10.0.0.2", HostName="printer", Active=active,
                 IPv4Address=[HostAddress(IPAddress="10.0.0.2")]),
            Host(PhysAddress="66:77:88:99:aa:bb", IPAddress="10.0.0.3", HostName="tv", Active=True),
        ],
    )  # fmt: skip
    sd = DNSSD(
        ServiceNumberOfEntries=1,
        Service=[Service(InstanceName="Office", Port=631, Host=["Device.Hosts.Host.1"])],
    )
    return {"Hosts": msgspec.to_builtins(hosts), "DNS": {"SD": msgspec.to_builtins(sd)}}


@dataclass
class FakeAgent:
    data: dict[str, Any] = field(default_factory=inventory)
    ran: list[tuple[str, Params]] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    def inventory(self) -> dict[str, Any]:
        return self.data

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(ManufacturerOUI="00D0B7", SerialNumber="agent-1", SoftwareVersion="0.1.0")

    def mqtt_client(self) -> MQTTClient:
        return MQTTClient(Status="Connected", BrokerAddress="127.0.0.1", BrokerPort=1883)

    async def run(self, name: str, params: Params) -> dict[str, Any]:
        self.ran.append((name, params))
        if name == "ping":
            return {"Status": "Complete", "Host": getattr(params, "host", ""), "SuccessCount": 3,
                    "AverageResponseTime": 1, "X_HOMEDIAG-DEV_LossPercent": 0.0}  # fmt: skip
        if name == "traceroute":
            return {"Status": "Complete", "RouteHopsNumberOfEntries": 1,
                    "RouteHops": [{"Host": "gw", "HostAddress": "10.0.0.1", "RTTimes": [1, 2]}]}  # fmt: skip
        if name == "support_bundle":
            return {"status": {"ok": True}}
        raise RuntimeError("engine bug")


@dataclass
class Rig:
    handlers: Handlers
    agent: FakeAgent
    sent: list[tuple[Any, str]]
    consent: list[Consent | None]
    audit: Audit


def rig(tmp_path: Path, role: str = "Diagnostics") -> Rig:
    sent: list[tuple[Any, str]] = []
    consent: list[Consent | None] = [None]

    async def notify(msg: Any, to_id: str) -> None:
        sent.append((msg, to_id))

    agent = FakeAgent()
    audit = Audit(tmp_path)
    trust = Trust(CONTROLLER, role, lambda: consent[0])
    return Rig(Handlers(AGENT_ID, trust, agent, audit, notify), agent, sent, consent, audit)


def request(kind: str, msg_id: str = "REQ@1", **fields: Any) -> Any:
    """A controller's request Msg: ``request("get", param_paths=[...])``."""
    msg = Msg()
    msg.header.msg_id = msg_id
    names = {"get_supported_dm": "GET_SUPPORTED_DM", "get_supported_protocol": "GET_SUPPORTED_PROTO"}
    msg.header.msg_type = enum_value("MsgType", names.get(kind, kind.upper()))
    body = getattr(msg.body.request, kind)
    body.SetInParent()
    for name, value in fields.items():
        target = getattr(body, name)
        if isinstance(value, dict) and hasattr(target, "update"):
            target.update(value)
        elif isinstance(value, list) and hasattr(target, "extend") and value and isinstance(value[0], str):
            target.extend(value)
        elif isinstance(value, list):
            for item in value:
                target.add(**item)
        else:
            setattr(body, name, value)
    return msg


def record(msg: Any, *, to_id: str = AGENT_ID, from_id: str = CONTROLLER) -> bytes:
    return encode_record(msg, version="1.4", own_id=from_id, to_id=to_id)


async def ask(r: Rig, msg: Any) -> Any:
    """The handlers' answer to ``msg`` after the full record round trip."""
    incoming = decode_record(record(msg), AGENT_ID)
    answer = await r.handlers.handle(incoming)
    if answer is None:
        return None
    data = encode_record(answer, version="1.4", own_id=AGENT_ID, to_id=CONTROLLER)
    back = Record.FromString(data)
    assert back.to_id == CONTROLLER and back.from_id == AGENT_ID
    return Msg.FromString(back.no_session_context.payload)


async def settle(r: Rig) -> None:
    """Let the asynchronous Operates finish."""
    for _ in range(50):
        if not r.handlers.requests:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0)
