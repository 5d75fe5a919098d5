"""The API's device model stays in step with the protocol's Host and Service (one contract)."""

from __future__ import annotations

import msgspec

from agent.discovery import Service as FoundService
from cloud.api.routes.devices import HOST_FIELDS, HOST_NAMES, DevicePublic, ServicePublic, _service
from protocol.samples import Host, Service


def test_service_public_has_exactly_the_protocol_services_fields() -> None:
    assert set(ServicePublic.model_fields) == set(Service.__struct_fields__)


def test_device_public_names_every_field_of_the_protocol_host() -> None:
    host_fields = set(Host.__struct_fields__)
    assert set(HOST_FIELDS) | set(HOST_NAMES.values()) == host_fields
    own = {"printer_state", "printer_reason"}
    assert set(DevicePublic.model_fields) == set(HOST_FIELDS) | set(HOST_NAMES) | own


def test_a_service_the_agent_sends_reads_back_the_same() -> None:
    wire = FoundService("_ipp._tcp", "Office Printer", 631, {"ty": "HP"}).to_wire()
    public = _service(msgspec.to_builtins(wire))
    assert public is not None
    assert public.model_dump() == msgspec.to_builtins(wire)
    assert _service({"Port": "six"}) is None
