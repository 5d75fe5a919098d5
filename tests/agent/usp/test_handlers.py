"""Each USP Message against the handlers over a fake agent: answers, Errors, Notifies, audit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from agent.consent import Consent
from agent.usp.handlers import Handlers
from agent.usp.records import decode_record
from agent.usp.schema import Record
from protocol.catalogue import PingParams

from .helpers import AGENT_ID, CONTROLLER, ask, inventory, record, request, rig, settle


def _params(answer) -> dict[str, dict[str, str]]:
    results = answer.body.response.get_resp.req_path_results
    return {r.resolved_path: dict(r.result_params) for rp in results for r in rp.resolved_path_results}


async def test_get_a_partial_path_reads_the_inventory_structs(tmp_path: Path) -> None:
    r = rig(tmp_path)
    answer = await ask(r, request("get", param_paths=["Device.Hosts.Host."]))
    got = _params(answer)
    assert got["Device.Hosts.Host.1."]["HostName"] == "printer"
    assert got["Device.Hosts.Host.1."]["Active"] == "true"
    assert got["Device.Hosts.Host.1.IPv4Address.1."] == {"IPAddress": "10.0.0.2"}
    assert got["Device.Hosts.Host.2."]["PhysAddress"] == "66:77:88:99:aa:bb"


async def test_get_with_max_depth_wildcards_and_search(tmp_path: Path) -> None:
    r = rig(tmp_path)
    shallow = _params(await ask(r, request("get", param_paths=["Device.Hosts.Host.1."], max_depth=1)))
    assert list(shallow) == ["Device.Hosts.Host.1."]
    names = _params(await ask(r, request("get", param_paths=["Device.Hosts.Host.*.HostName"])))
    assert names == {
        "Device.Hosts.Host.1.": {"HostName": "printer"},
        "Device.Hosts.Host.2.": {"HostName": "tv"},
    }
    found = _params(
        await ask(r, request("get", param_paths=['Device.Hosts.Host.[HostName=="tv"].IPAddress']))
    )
    assert found == {"Device.Hosts.Host.2.": {"IPAddress": "10.0.0.3"}}


async def test_get_of_unknown_paths_is_7026_per_path(tmp_path: Path) -> None:
    r = rig(tmp_path)
    answer = await ask(
        r, request("get", param_paths=["Device.Nope.", "Device.Hosts.Host.1.Nope", "Device.Hosts.", "Bad"])
    )
    codes = [(p.requested_path, p.err_code) for p in answer.body.response.get_resp.req_path_results]
    assert codes == [
        ("Device.Nope.", 7026),
        ("Device.Hosts.Host.1.Nope", 7026),
        ("Device.Hosts.", 0),
        ("Bad", 7008),
    ]
    missing = await ask(r, request("get", param_paths=["Device.Hosts.Host.9."]))
    assert missing.body.response.get_resp.req_path_results[0].err_code == 7016


async def test_get_supported_dm_lists_commands_with_the_result_structs_names(tmp_path: Path) -> None:
    r = rig(tmp_path)
    answer = await ask(
        r,
        request("get_supported_dm", obj_paths=["Device."], return_commands=True, return_params=True,
                return_events=True),
    )  # fmt: skip
    objs = {
        o.supported_obj_path: o
        for o in answer.body.response.get_supported_dm_resp.req_obj_results[0].supported_objs
    }
    assert objs["Device.Hosts.Host.{i}."].is_multi_instance
    params = {p.param_name: p.value_type for p in objs["Device.Hosts.Host.{i}."].supported_params}
    assert params["Active"] == 2  # PARAM_BOOLEAN
    commands = {c.command_name: c for c in objs["Device.IP.Diagnostics."].supported_commands}
    assert set(commands) >= {"IPPing()", "TraceRoute()", "DownloadDiagnostics()", "UploadDiagnostics()"}
    assert "Host" in commands["IPPing()"].input_arg_names
    assert "AverageResponseTime" in commands["IPPing()"].output_arg_names
    assert "RouteHops.{i}.HostAddress" in commands["TraceRoute()"].output_arg_names
    assert commands["IPPing()"].command_type == 2  # CMD_ASYNC
    assert [e.event_name for e in objs["Device."].supported_events] == ["Boot!"]
    assert objs["Device.LocalAgent.Subscription.{i}."].access == 1  # OBJ_ADD_DELETE
    bad = await ask(r, request("get_supported_dm", obj_paths=["Device.Nope."]))
    assert bad.body.response.get_supported_dm_resp.req_obj_results[0].err_code == 7026


async def test_get_instances_and_supported_protocol(tmp_path: Path) -> None:
    r = rig(tmp_path)
    answer = await ask(r, request("get_instances", obj_paths=["Device.Hosts.Host."], first_level_only=True))
    insts = answer.body.response.get_instances_resp.req_path_results[0].curr_insts
    assert [(i.instantiated_obj_path, dict(i.unique_keys)) for i in insts] == [
        ("Device.Hosts.Host.1.", {"PhysAddress": "00:11:22:33:44:55"}),
        ("Device.Hosts.Host.2.", {"PhysAddress": "66:77:88:99:aa:bb"}),
    ]
    proto = await ask(r, request("get_supported_protocol", controller_supported_protocol_versions="1.4"))
    assert "1.4" in proto.body.response.get_supported_protocol_resp.agent_supported_protocol_versions


def _subscribe(notif: str, refs: str, sub_id: str = "sub-1") -> tuple[Any, list[dict[str, Any]]]:
    settings = [{"param": "Enable", "value": "true", "required": True},
                {"param": "ID", "value": sub_id, "required": True},
                {"param": "NotifType", "value": notif, "required": True},
                {"param": "ReferenceList", "value": refs, "required": True}]  # fmt: skip
    return request(
        "add", allow_partial=True, create_objs=[{"obj_path": "Device.LocalAgent.Subscription."}]
    ), settings


async def _add(r, notif: str, refs: str, sub_id: str = "sub-1"):
    msg, settings = _subscribe(notif, refs, sub_id)
    create = msg.body.request.add.create_objs[0]
    for s in settings:
        create.param_settings.add(**s)
    return await ask(r, msg)


async def test_add_get_and_delete_a_subscription(tmp_path: Path) -> None:
    r = rig(tmp_path)
    added = await _add(r, "OperationComplete", "Device.IP.Diagnostics.IPPing()")
    success = added.body.response.add_resp.created_obj_results[0].oper_status.oper_success
    assert success.instantiated_path == "Device.LocalAgent.Subscription.1."
    assert dict(success.unique_keys) == {"Recipient": CONTROLLER, "ID": "sub-1"}
    got = _params(await ask(r, request("get", param_paths=["Device.LocalAgent.Subscription.1."])))
    assert got["Device.LocalAgent.Subscription.1."]["NotifType"] == "OperationComplete"
    duplicate = await _add(r, "ValueChange", "Device.Hosts.", "sub-1")
    assert duplicate.body.response.add_resp.created_obj_results[0].oper_status.oper_failure.err_code == 7025
    deleted = await ask(r, request("delete", obj_paths=["Device.LocalAgent.Subscription.1."]))
    assert list(
        deleted.body.response.delete_resp.deleted_obj_results[0].oper_status.oper_success.affected_paths
    ) == ["Device.LocalAgent.Subscription.1."]
    assert r.handlers.subscriptions == {}


async def test_add_and_set_with_bad_values_are_typed_errors(tmp_path: Path) -> None:
    r = rig(tmp_path)
    bad_type = await _add(r, "Nonsense", "Device.Hosts.")
    assert bad_type.body.response.add_resp.created_obj_results[0].oper_status.oper_failure.err_code == 7012
    await _add(r, "ValueChange", "Device.Hosts.Host.*.Active")
    msg = request("set", allow_partial=False, update_objs=[{"obj_path": "Device.LocalAgent.Subscription.1."}])
    msg.body.request.set.update_objs[0].param_settings.add(param="Enable", value="maybe", required=True)
    answer = await ask(r, msg)
    assert answer.body.WhichOneof("msg_body") == "error" and answer.body.error.err_code == 7011
    msg = request("set", allow_partial=False, update_objs=[{"obj_path": "Device.Hosts.Host.1."}])
    msg.body.request.set.update_objs[0].param_settings.add(param="HostName", value="x", required=True)
    assert (await ask(r, msg)).body.error.err_code == 7013
    not_here = await ask(
        r, request("add", allow_partial=False, create_objs=[{"obj_path": "Device.Hosts.Host."}])
    )
    assert not_here.body.error.err_code == 7019


async def test_operate_is_asynchronous_and_completes_with_a_notify(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await _add(r, "OperationComplete", "Device.IP.Diagnostics.IPPing()", "NOTIFY@ping")
    args = {"Host": "10.0.0.2", "NumberOfRepetitions": "3", "Timeout": "500", "DSCP": "0"}
    msg = request(
        "operate", command="Device.IP.Diagnostics.IPPing()", command_key="k1", send_resp=True, input_args=args
    )
    answer = await ask(r, msg)
    result = answer.body.response.operate_resp.operation_results[0]
    assert result.req_obj_path == "Device.LocalAgent.Request.1"
    await settle(r)
    name, params = r.agent.ran[0]
    assert name == "ping" and isinstance(params, PingParams)
    assert (params.host, params.count, params.timeout_s) == ("10.0.0.2", 3, 0.5)
    ((notify, to_id),) = r.sent
    assert to_id == CONTROLLER and "@" not in notify.header.msg_id
    body = notify.body.request.notify
    assert body.subscription_id == "NOTIFY@ping"
    done = body.oper_complete
    assert (done.obj_path, done.command_name, done.command_key) == (
        "Device.IP.Diagnostics.",
        "IPPing()",
        "k1",
    )
    assert dict(done.req_output_args.output_args)["SuccessCount"] == "3"
    assert r.handlers.requests == {}


async def test_traceroute_outputs_are_flattened_tables(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await _add(r, "OperationComplete", "Device.IP.Diagnostics.", "all")
    await ask(r, request("operate", command="Device.IP.Diagnostics.TraceRoute()", input_args={"Host": "x"}))
    await settle(r)
    out = dict(r.sent[0][0].body.request.notify.oper_complete.req_output_args.output_args)
    assert out["RouteHops.1.HostAddress"] == "10.0.0.1" and out["RouteHops.1.RTTimes"] == "1,2"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"Host": "10.0.0.2", "Colour": "red"}, 7027),
        ({"Host": "10.0.0.2", "NumberOfRepetitions": "three"}, 7004),
        ({"Host": "10.0.0.2", "NumberOfRepetitions": "100000"}, 7012),
        ({"Host": "bad host!"}, 7012),
        ({}, 7012),
    ],
)
async def test_operate_with_bad_arguments_is_an_error(
    tmp_path: Path, args: dict[str, str], code: int
) -> None:
    r = rig(tmp_path)
    answer = await ask(r, request("operate", command="Device.IP.Diagnostics.IPPing()", input_args=args))
    assert answer.body.error.err_code == code
    assert r.agent.ran == []


async def test_operate_of_an_unknown_command_is_7026(tmp_path: Path) -> None:
    r = rig(tmp_path)
    answer = await ask(r, request("operate", command="Device.FactoryReset()"))
    assert answer.body.error.err_code == 7026


async def test_consent_gates_a_controller_like_the_cloud(tmp_path: Path) -> None:
    r = rig(tmp_path)
    bundle = request("operate", command="Device.X_HOMEDIAG-DEV_SupportBundle()", send_resp=True)
    refused = await ask(r, bundle)
    assert refused.body.error.err_code == 7006 and r.agent.ran == []
    r.consent[0] = Consent(granted_at=time.time() - 1, expires_at=time.time() + 60)
    allowed = await ask(r, bundle)
    assert allowed.body.response.operate_resp.operation_results[0].req_obj_path
    await settle(r)
    assert r.agent.ran[0][0] == "support_bundle"
    audit = r.audit.read()
    assert [(a["action"], a["outcome"]) for a in audit] == [
        ("operate", "refused"),
        ("operate", "started"),
        ("operate", "complete"),
    ]
    assert all(a["controller"] == CONTROLLER for a in audit) and audit[0]["code"] == 7006


async def test_a_viewer_may_read_but_not_operate(tmp_path: Path) -> None:
    r = rig(tmp_path, role="Viewer")
    assert (await ask(r, request("get", param_paths=["Device.DeviceInfo."]))).body.WhichOneof(
        "msg_body"
    ) == "response"
    answer = await ask(
        r, request("operate", command="Device.IP.Diagnostics.IPPing()", input_args={"Host": "a"})
    )
    assert answer.body.error.err_code == 7006


async def test_an_engine_failure_is_a_command_failure_notify(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await _add(r, "OperationComplete", "Device.")
    await ask(r, request("operate", command="Device.DNS.Diagnostics.NSLookupDiagnostics()",
                         input_args={"HostName": "example.com"}))  # fmt: skip
    await settle(r)
    failure = r.sent[0][0].body.request.notify.oper_complete.cmd_failure
    assert failure.err_code == 7022


async def test_value_change_on_host_active(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await _add(r, "ValueChange", "Device.Hosts.Host.*.Active", "vc")
    r.agent.data = inventory(active=False)  # before the first look: the baseline is at Add
    assert await r.handlers.check_value_changes() == 1
    change = r.sent[0][0].body.request.notify.value_change
    assert (change.param_path, change.param_value) == ("Device.Hosts.Host.1.Active", "false")
    assert await r.handlers.check_value_changes() == 0


async def test_boot_event(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await _add(r, "Event", "Device.Boot!", "boot")
    await r.handlers.boot()
    event = r.sent[0][0].body.request.notify.event
    assert (event.obj_path, event.event_name, event.params["Cause"]) == ("Device.", "Boot!", "LocalReboot")


async def test_session_context_and_unsupported_requests_are_errors(tmp_path: Path) -> None:
    r = rig(tmp_path)
    rec = Record(version="1.4", to_id=AGENT_ID, from_id=CONTROLLER)
    rec.session_context.payload.append(request("get", param_paths=["Device."]).SerializeToString())
    answer = await r.handlers.handle(decode_record(rec.SerializeToString(), AGENT_ID))
    assert answer is not None and answer.body.error.err_code == 7106
    notify = await ask(r, request("notify", subscription_id="x"))
    assert notify is not None
    assert notify.body.error.err_code == 7001
    assert await ask(r, request("get")) is not None
    assert decode_record(record(request("get")), AGENT_ID).msg_type == "GET"


async def test_persistent_subscriptions_survive_a_restart_and_hear_boot(tmp_path: Path) -> None:
    store = tmp_path / "subs.json"
    first = rig(tmp_path)
    first.handlers._store = store
    msg, settings = _subscribe("Event", "Device.Boot!", "boot")
    create = msg.body.request.add.create_objs[0]
    for s in [*settings, {"param": "Persistent", "value": "true", "required": True}]:
        create.param_settings.add(**s)
    await ask(first, msg)
    await _add(first, "ValueChange", "Device.Hosts.", "transient")
    assert store.exists()
    again = rig(tmp_path)
    restarted = Handlers(
        AGENT_ID, again.handlers.trust, again.agent, again.audit, again.handlers._notify, store=store
    )
    assert [s.ID for s in restarted.subscriptions.values()] == ["boot"]
    sent: list[Any] = []

    async def notify(m: Any, to_id: str) -> None:
        sent.append(m)

    restarted._notify = notify
    await restarted.boot()
    assert sent[0].body.request.notify.subscription_id == "boot"
    store.write_text("{not json")
    assert (
        Handlers(AGENT_ID, again.handlers.trust, again.agent, again.audit, notify, store=store).subscriptions
        == {}
    )


async def test_host_instance_numbers_stay_when_the_report_reorders(tmp_path: Path) -> None:
    r = rig(tmp_path)
    before = _params(await ask(r, request("get", param_paths=["Device.Hosts.Host.*.HostName"])))
    assert before == {
        "Device.Hosts.Host.1.": {"HostName": "printer"},
        "Device.Hosts.Host.2.": {"HostName": "tv"},
    }
    data = inventory()
    data["Hosts"]["Host"].reverse()  # the TV first now; the service still points at the printer (2)
    data["DNS"]["SD"]["Service"][0]["Host"] = ["Device.Hosts.Host.2"]
    r.agent.data = data
    after = _params(await ask(r, request("get", param_paths=["Device.Hosts.Host.*.HostName"])))
    assert after == before
    sd = _params(await ask(r, request("get", param_paths=["Device.DNS.SD.Service.1.Host"])))
    assert sd == {"Device.DNS.SD.Service.1.": {"Host": "Device.Hosts.Host.1"}}
