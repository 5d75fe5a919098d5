"""The handlers fuzzed with hostile requests: every answer is a Message, nothing escapes, no
engine runs on input that failed its checks (the fake agent runs nothing real)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.usp.records import decode_record

from .helpers import AGENT_ID, record, request, rig

_text = st.text(max_size=80)
_pathish = st.one_of(
    _text,
    st.lists(st.sampled_from(["Device", "Hosts", "Host", "1", "*", "[Active==true]", "IPPing()", "Boot!",
                              "LocalAgent", "Subscription", "", "99", "[x"]), max_size=6).map(".".join),
)  # fmt: skip
_args = st.dictionaries(
    st.sampled_from(["Host", "NumberOfRepetitions", "Timeout", "MaxHopCount", "DSCP", "Nope", ""]),
    _text,
    max_size=4,
)


@st.composite
def _messages(draw: st.DrawFn) -> object:
    kind = draw(
        st.sampled_from(["get", "get_instances", "get_supported_dm", "delete", "operate", "add", "set"])
    )
    if kind == "get":
        return request(
            "get", param_paths=draw(st.lists(_pathish, max_size=4)), max_depth=draw(st.integers(0, 5))
        )
    if kind == "delete":
        return request(
            kind, obj_paths=draw(st.lists(_pathish, max_size=4)), allow_partial=draw(st.booleans())
        )
    if kind in ("get_instances", "get_supported_dm"):
        return request(kind, obj_paths=draw(st.lists(_pathish, max_size=4)))
    if kind == "operate":
        known = st.sampled_from(["Device.IP.Diagnostics.IPPing()", "Device.IP.Diagnostics.TraceRoute()"])
        command = draw(st.one_of(_pathish, known))
        return request("operate", command=command, input_args=draw(_args), send_resp=draw(st.booleans()))
    msg = request(kind, allow_partial=draw(st.booleans()))
    target = msg.body.request.add.create_objs if kind == "add" else msg.body.request.set.update_objs
    obj = target.add(obj_path=draw(st.one_of(_pathish, st.just("Device.LocalAgent.Subscription."))))
    names = st.sampled_from(["Enable", "ID", "NotifType", "ReferenceList", "X"])
    for name, value in draw(st.dictionaries(names, _text, max_size=4)).items():
        obj.param_settings.add(param=name, value=value)
    return msg


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_messages(), min_size=1, max_size=5))
async def test_hostile_requests_get_messages_never_exceptions(messages: list[object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        r = rig(Path(tmp))
        for msg in messages:
            answer = await r.handlers.handle(decode_record(record(msg), AGENT_ID))
            assert answer is None or answer.body.WhichOneof("msg_body") in ("response", "error")
            if answer is not None and answer.body.WhichOneof("msg_body") == "error":
                assert answer.body.error.err_code != 7003, answer  # no internal error
        assert r.handlers.errors == 0
        await r.handlers.close()
