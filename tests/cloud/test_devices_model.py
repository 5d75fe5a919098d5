"""The API's device model stays in step with the protocol's Host and Service (one contract)."""

from __future__ import annotations

import msgspec

from agent.discovery import Service as FoundService
from cloud.api.routes.devices import (
    HOST_FIELDS,
    HOST_LEFT_OUT,
    HOST_NAMES,
    DevicePublic,
    ServicePublic,
    _service,
)
from protocol.samples import Host, Service


def test_service_public_has_exactly_the_protocol_services_fields_but_its_host_reference() -> None:
    assert set(ServicePublic.model_fields) == set(Service.__struct_fields__) - {"Host"}


def test_device_public_names_every_field_of_the_protocol_host() -> None:
    host_fields = set(Host.__struct_fields__)
    named = set(HOST_FIELDS) | set(HOST_NAMES.values()) | set(HOST_LEFT_OUT)
    assert named == host_fields
    assert not set(HOST_FIELDS) & set(HOST_LEFT_OUT)
    # Cloud-only: the printer's state, the services joined by reference, and the MACs the device
    # used before a rotation (TR-181's Host has one PhysAddress; the history is the cloud's).
    own = {"printer_state", "printer_reason", "services", "previous_macs"}
    assert set(DevicePublic.model_fields) == set(HOST_FIELDS) | set(HOST_NAMES) | own


def test_a_service_the_agent_sends_reads_back_the_same() -> None:
    found = FoundService("_ipp._tcp", "Office Printer", 631, {"ty": "HP"}, target="office.local.")
    wire = msgspec.to_builtins(found.to_wire(0.0))
    public = _service(wire)
    assert public is not None
    dumped = public.model_dump()
    assert dumped.pop("Type") == wire.pop("X_HOMEDIAG-DEV_Type") == "_ipp._tcp"
    assert dumped == wire
    assert _service({"Port": "six"}) is None


def test_a_service_stored_before_tr181_reads_in_todays_shape() -> None:
    old = {"InstanceName": "Office", "Port": 631, "TextRecord": {"rp": "ipp/print"}, "Type": "_ipp._tcp"}
    public = _service(old)
    assert public is not None and public.Type == "_ipp._tcp"
    assert [(t.Key, t.Value) for t in public.TextRecord] == [("rp", "ipp/print")]
    assert public.TextRecordNumberOfEntries == 1
