"""What this agent serves under ``Device.``: the objects as Structs, the commands and the events.

``Device.Hosts.`` and ``Device.DNS.SD.`` *are* ``protocol.samples.inventory``'s ``Hosts`` and
``DNSSD`` (what the discovery probe reports to the cloud, rooted at ``Device.``), and each
command's output arguments *are* its result Struct (``protocol.samples.decode.RESULT_DATA``):
nothing here restates their fields. The objects that exist only for USP (``LocalAgent``,
``MQTT.Client``, ``DeviceInfo``) are Structs with TR-181 names.
"""

from __future__ import annotations

from typing import Final

import msgspec

from protocol.samples.decode import RESULT_DATA
from protocol.samples.fields import Count
from protocol.samples.inventory import DNSSD, Hosts
from protocol.tr181 import vendor

from .datamodel import Argument, Command, SchemaObject, schema_of


class DeviceInfo(msgspec.Struct, frozen=True, kw_only=True):
    Manufacturer: str = "homediag"
    ManufacturerOUI: str = ""
    ProductClass: str = "homediag-agent"
    SerialNumber: str = ""
    SoftwareVersion: str = ""
    UpTime: Count = 0


class Diagnostics(msgspec.Struct, frozen=True, kw_only=True):
    """Holds commands only (``IPPing()``, ...): their results are output arguments, not state."""


class DNS(msgspec.Struct, frozen=True, kw_only=True):
    SD: DNSSD = msgspec.field(default_factory=DNSSD)
    Diagnostics: Diagnostics = msgspec.field(default_factory=Diagnostics)


class IP(msgspec.Struct, frozen=True, kw_only=True):
    Diagnostics: Diagnostics = msgspec.field(default_factory=Diagnostics)


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.LocalAgent.Subscription.{i}`` (TR-181), as a controller's Add made it."""

    Enable: bool = False
    ID: str = ""
    Recipient: str = ""
    NotifType: str = ""
    ReferenceList: list[str] = []
    Persistent: bool = False
    NotifRetry: bool = False
    CreationDate: str = "0001-01-01T00:00:00Z"


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.LocalAgent.Request.{i}``: an asynchronous Operate still running."""

    Originator: str = ""
    Command: str = ""
    CommandKey: str = ""
    Status: str = "Active"


class Controller(msgspec.Struct, frozen=True, kw_only=True):
    EndpointID: str = ""
    Enable: bool = True
    AssignedRole: str = ""


class Role(msgspec.Struct, frozen=True, kw_only=True):
    Enable: bool = True
    Name: str = ""


class ControllerTrust(msgspec.Struct, frozen=True, kw_only=True):
    RoleNumberOfEntries: Count = 0
    Role: dict[int, Role] = {}


class LocalAgent(msgspec.Struct, frozen=True, kw_only=True):
    EndpointID: str = ""
    SoftwareVersion: str = ""
    UpTime: Count = 0
    SupportedProtocols: str = "MQTT"
    SubscriptionNumberOfEntries: Count = 0
    RequestNumberOfEntries: Count = 0
    ControllerNumberOfEntries: Count = 0
    #: Tables a controller changes keep their instance numbers: keyed, not positional.
    Subscription: dict[int, Subscription] = {}
    Request: dict[int, Request] = {}
    Controller: dict[int, Controller] = {}
    ControllerTrust: ControllerTrust = msgspec.field(default_factory=ControllerTrust)


class MQTTClient(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.MQTT.Client.{i}``: the MQTT 5 connection USP runs over."""

    Enable: bool = True
    Status: str = "Disabled"
    BrokerAddress: str = ""
    BrokerPort: Count = 0
    ProtocolVersion: str = "5.0"
    TransportProtocol: str = "TCP/IP"
    ClientID: str = ""
    KeepAliveTime: Count = 30
    ResponseInformation: str = ""
    #: Records dropped as TR-369 says (bad, oversized, for another endpoint): a vendor counter.
    DroppedRecords: Count = msgspec.field(default=0, name=vendor("DroppedRecords"))


class MQTT(msgspec.Struct, frozen=True, kw_only=True):
    ClientNumberOfEntries: Count = 1
    Client: list[MQTTClient] = []


class Device(msgspec.Struct, frozen=True, kw_only=True):
    DeviceInfo: DeviceInfo = msgspec.field(default_factory=DeviceInfo)
    Hosts: Hosts = msgspec.field(default_factory=Hosts)
    DNS: DNS = msgspec.field(default_factory=DNS)
    IP: IP = msgspec.field(default_factory=IP)
    LocalAgent: LocalAgent = msgspec.field(default_factory=LocalAgent)
    MQTT: MQTT = msgspec.field(default_factory=MQTT)


SUBSCRIPTION_PATH: Final = "Device.LocalAgent.Subscription."
REQUEST_PATH: Final = "Device.LocalAgent.Request."
#: TR-181 ``NotifType`` values.
NOTIF_TYPES: Final = ("ValueChange", "ObjectCreation", "ObjectDeletion", "OperationComplete", "Event")
#: Parameters a controller sets when it adds (or Sets) a Subscription.
SUBSCRIPTION_WRITABLE: Final = frozenset(
    {"Enable", "ID", "NotifType", "ReferenceList", "Persistent", "NotifRetry"}
)


def _schema() -> SchemaObject:
    root = schema_of(Device)
    root.objects["Hosts"].objects["Host"].unique_keys = ("PhysAddress",)
    subscription = root.objects["LocalAgent"].objects["Subscription"]
    subscription.add_delete, subscription.writable = True, SUBSCRIPTION_WRITABLE
    subscription.unique_keys = ("Recipient", "ID")
    return root


SCHEMA: Final = _schema()

COMMANDS: Final[dict[str, Command]] = {
    c.path: c
    for c in (
        Command(
            "Device.IP.Diagnostics.IPPing()",
            "ping",
            (
                Argument("Host", "host"),
                Argument("NumberOfRepetitions", "count"),
                Argument("Timeout", "timeout_s", 0.001),  # TR-181 milliseconds
            ),
            RESULT_DATA["ping"],
            ignored=("Interface", "ProtocolVersion", "DataBlockSize", "DSCP"),
        ),
        Command(
            "Device.IP.Diagnostics.TraceRoute()",
            "traceroute",
            (Argument("Host", "host"), Argument("MaxHopCount", "max_hops")),
            RESULT_DATA["traceroute"],
            ignored=("Interface", "ProtocolVersion", "NumberOfTries", "Timeout", "DataBlockSize", "DSCP"),
        ),
        Command(
            "Device.DNS.Diagnostics.NSLookupDiagnostics()",
            "dns_lookup",
            (Argument("HostName", "name"), Argument("DNSServer", "server")),
            RESULT_DATA["dns_lookup"],
            ignored=("Interface", "Timeout", "NumberOfRepetitions"),
        ),
        Command(
            "Device.IP.Diagnostics.DownloadDiagnostics()",
            "download_test",
            (Argument("DownloadURL", "url"), Argument("TimeBasedTestDuration", "duration_s")),
            RESULT_DATA["download_test"],
            ignored=("Interface", "DSCP", "EthernetPriority", "ProtocolVersion", "NumberOfConnections"),
        ),
        Command(
            "Device.IP.Diagnostics.UploadDiagnostics()",
            "upload_test",
            (Argument("UploadURL", "url"), Argument("TimeBasedTestDuration", "duration_s")),
            RESULT_DATA["upload_test"],
            ignored=("Interface", "DSCP", "EthernetPriority", "ProtocolVersion", "NumberOfConnections",
                     "TestFileLength"),
        ),
        # The support bundle is the catalogue's consent-gated command: a controller gets it only
        # while the subscriber's consent is active (agent/usp/trust.py).
        Command(f"Device.{vendor('SupportBundle')}()", "support_bundle", (), None),
    )
}  # fmt: skip

#: Events: name -> argument names (TR-181 ``Device.Boot!``).
EVENTS: Final[dict[str, tuple[str, ...]]] = {
    "Device.Boot!": ("CommandKey", "Cause", "FirmwareUpdated", "ParameterMap"),
}
