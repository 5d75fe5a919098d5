"""Records in: every record TR-369 says to drop is dropped (typed), never a crash."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.usp.errors import RecordDropped
from agent.usp.records import decode_record, encode_record
from agent.usp.schema import Msg, Record

from .helpers import AGENT_ID, CONTROLLER, record, request


def test_a_request_round_trips() -> None:
    incoming = decode_record(record(request("get", param_paths=["Device.Hosts."])), AGENT_ID)
    assert incoming.from_id == CONTROLLER and incoming.msg_type == "GET" and incoming.msg_id == "REQ@1"
    assert list(incoming.msg.body.request.get.param_paths) == ["Device.Hosts."]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\xff\xff\xff\xff", "could not be parsed"),
        (b"", "another endpoint"),  # an empty record has no to_id
    ],
)
def test_malformed_records_are_dropped(data: bytes, why: str) -> None:
    with pytest.raises(RecordDropped, match=why):
        decode_record(data, AGENT_ID)


def test_a_record_for_another_endpoint_is_ignored() -> None:
    data = record(request("get", param_paths=["Device."]), to_id="os::000000-someone-else")
    with pytest.raises(RecordDropped, match="another endpoint"):
        decode_record(data, AGENT_ID)


def test_an_oversized_record_is_dropped() -> None:
    big = request("get", param_paths=["Device." + "A" * 1000] * 100)
    with pytest.raises(RecordDropped, match="over the limit"):
        decode_record(record(big), AGENT_ID, max_bytes=64 * 1024)


def test_a_malformed_message_inside_a_good_record_is_dropped() -> None:
    rec = Record(version="1.4", to_id=AGENT_ID, from_id=CONTROLLER)
    rec.no_session_context.payload = b"\x0a\xff\x01"
    with pytest.raises(RecordDropped, match="message could not be parsed"):
        decode_record(rec.SerializeToString(), AGENT_ID)


def test_a_message_without_msg_id_cannot_be_answered() -> None:
    msg = request("get", msg_id="", param_paths=["Device."])
    with pytest.raises(RecordDropped, match="msg_id"):
        decode_record(record(msg), AGENT_ID)


def test_connect_records_and_secured_payloads_are_dropped() -> None:
    rec = Record(version="1.4", to_id=AGENT_ID, from_id=CONTROLLER)
    rec.mqtt_connect.subscribed_topic = "x"
    with pytest.raises(RecordDropped, match="mqtt_connect"):
        decode_record(rec.SerializeToString(), AGENT_ID)
    rec = Record(version="1.4", to_id=AGENT_ID, from_id=CONTROLLER, payload_security=1)
    rec.no_session_context.payload = Msg().SerializeToString()
    with pytest.raises(RecordDropped, match="secured"):
        decode_record(rec.SerializeToString(), AGENT_ID)


def test_answers_are_records_from_us_to_the_controller() -> None:
    data = encode_record(request("get"), version="1.3", own_id=AGENT_ID, to_id=CONTROLLER)
    rec = Record.FromString(data)
    assert (rec.version, rec.from_id, rec.to_id) == ("1.3", AGENT_ID, CONTROLLER)
    assert rec.WhichOneof("record_type") == "no_session_context"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_are_a_record_or_a_typed_drop(data: bytes) -> None:
    with contextlib.suppress(RecordDropped):
        decode_record(data, AGENT_ID)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_random_payloads_in_a_good_record_are_a_message_or_a_typed_drop(payload: bytes) -> None:
    rec = Record(version="1.4", to_id=AGENT_ID, from_id=CONTROLLER)
    rec.no_session_context.payload = payload
    with contextlib.suppress(RecordDropped):
        decode_record(rec.SerializeToString(), AGENT_ID)
