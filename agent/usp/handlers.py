"""The USP Messages a controller sends, answered from the data model (TR-369 section "Messages").

Get (partial paths, wildcards, search expressions, ``max_depth``), GetSupportedDM, GetInstances,
GetSupportedProtocol, Add/Set/Delete of ``Device.LocalAgent.Subscription.{i}.``, and Operate:
asynchronous, tracked in ``Device.LocalAgent.Request.{i}.`` and answered by a Notify
OperationComplete to the controller's subscriptions. Notifications: ``Boot!``, ValueChange (any
parameter, ``Device.Hosts.Host.{i}.Active`` in particular), OperationComplete.

Nothing a controller sends can raise out of :meth:`Handlers.handle`: a bad path or argument is
the Error TR-369 names, and a bug is 7003 (internal error), logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pathlib
import time
import typing
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
import msgspec.inspect as mi

from protocol import ProtocolError
from protocol.catalogue import CATALOGUE, Params, decode_params
from protocol.tr181 import vendor

from ..files import write_atomic
from . import const
from .audit import Audit
from .datamodel import (
    Command,
    Node,
    SchemaObject,
    argument_names,
    flatten,
    node_of,
    resolve,
    supported_objects,
    walk,
)
from .device import (
    COMMANDS,
    EVENTS,
    NOTIF_TYPES,
    REQUEST_PATH,
    SCHEMA,
    SUBSCRIPTION_PATH,
    SUBSCRIPTION_WRITABLE,
    DeviceInfo,
    LocalAgent,
    MQTTClient,
    Request,
    Subscription,
)
from .errors import ArgumentError, MessageError, PathError, UspError
from .paths import Path, parse, schema_path
from .records import ERR_SESSION_CONTEXT_NOT_ALLOWED, Incoming, error_msg, new_msg
from .schema import enum_value
from .trust import Trust

_LOGGER = logging.getLogger(__name__)
HOST_PATH = "Device.Hosts.Host."
DATA_MODEL_URI = "urn:broadband-forum-org:tr-181-2-19-1"
_SCHEMA_PATHS = dict(supported_objects(SCHEMA))


class AgentView(Protocol):
    """What the agent gives USP: its data as it has it, and its command catalogue."""

    def inventory(self) -> Mapping[str, Any]:
        """The last full discovery data (``Hosts``, ``DNS``), rooted at ``Device.``; ``{}`` if none."""

    def device_info(self) -> DeviceInfo: ...

    def mqtt_client(self) -> MQTTClient: ...

    async def run(self, catalogue_name: str, params: Params) -> dict[str, Any]:
        """Run a catalogue command's handler (the agent's own engines) and return its outputs."""


Notifier = Callable[[Any, str], Awaitable[None]]


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bool(text: str) -> bool:
    """TR-106 boolean: ``true``/``false``/``1``/``0``; else 7011 (invalid type)."""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ArgumentError(f"{text[:32]!r} is not a boolean", const.ERR_INVALID_TYPE)


class Handlers:
    def __init__(
        self,
        endpoint_id: str,
        trust: Trust,
        view: AgentView,
        audit: Audit,
        notify: Notifier,
        *,
        store: pathlib.Path | None = None,
    ) -> None:
        self.endpoint_id = endpoint_id
        self.trust = trust
        self.view = view
        self.audit = audit
        self._notify = notify
        self.started = time.monotonic()
        #: Persistent subscriptions are kept here across restarts (TR-181 ``Persistent``).
        self._store = store
        self.subscriptions: dict[int, Subscription] = load_subscriptions(store)
        self.requests: dict[int, Request] = {}
        self._next_subscription = itertools.count(max(self.subscriptions, default=0) + 1)
        self._next_request = itertools.count(1)
        #: A host's key (its vendor Key, else MAC, else address) -> its instance number here.
        self._host_numbers: dict[str, int] = {}
        self._next_host = itertools.count(1)
        self._notify_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        #: Last values seen per ValueChange subscription: instance -> {param path: value}.
        self._watched: dict[int, dict[str, str]] = {}
        self.errors = 0
        self._requests: dict[str, Callable[[str, Any], Awaitable[Any]]] = {
            "get": self._get,
            "get_supported_dm": self._get_supported_dm,
            "get_instances": self._get_instances,
            "get_supported_protocol": self._get_supported_protocol,
            "add": self._add,
            "set": self._set,
            "delete": self._delete,
            "operate": self._operate,
        }

    # -- the data model ------------------------------------------------------------------------

    def root(self) -> Node:
        """The instantiated model now, from the agent's own data (never a copy kept here)."""
        inventory = self.view.inventory()
        local = LocalAgent(
            EndpointID=self.endpoint_id,
            SoftwareVersion=self.view.device_info().SoftwareVersion,
            UpTime=int(time.monotonic() - self.started),
            SubscriptionNumberOfEntries=len(self.subscriptions),
            RequestNumberOfEntries=len(self.requests),
            ControllerNumberOfEntries=1,
            Subscription=dict(self.subscriptions),
            Request=dict(self.requests),
        )
        data = {
            "DeviceInfo": msgspec.to_builtins(self.view.device_info()),
            **self._numbered(inventory.get("Hosts", {}), inventory.get("DNS", {})),
            "LocalAgent": msgspec.to_builtins(local) | self._trust_tables(),
            "MQTT": {"ClientNumberOfEntries": 1, "Client": [msgspec.to_builtins(self.view.mqtt_client())]},
        }
        return node_of(data, SCHEMA)

    def _numbered(self, hosts: Any, dns: Any) -> dict[str, Any]:
        """Hosts under instance numbers that stay theirs (TR-369: a number names one object), while
        the report numbers them by position; the services' ``Host`` references follow."""
        rows = hosts.get("Host") if isinstance(hosts, dict) else None
        if not isinstance(rows, list):
            return {"Hosts": hosts, "DNS": dns}
        table: dict[int, Any] = {}
        renumbered: dict[str, str] = {}
        for position, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                continue
            key = str(row.get(vendor("Key")) or row.get("PhysAddress") or row.get("IPAddress") or position)
            number = self._host_numbers.get(key)
            if number is None or number in table:
                number = self._host_numbers[key] = next(self._next_host)
            table[number] = row
            renumbered[f"{HOST_PATH}{position}"] = f"{HOST_PATH}{number}"
        if len(self._host_numbers) > const.MAX_KNOWN_HOSTS:  # forget hosts the report forgot
            current = {
                str(r.get(vendor("Key")) or r.get("PhysAddress") or r.get("IPAddress"))
                for r in table.values()
            }
            self._host_numbers = {k: n for k, n in self._host_numbers.items() if k in current}
        return {"Hosts": {**hosts, "Host": dict(sorted(table.items()))}, "DNS": _rereference(dns, renumbered)}

    def _trust_tables(self) -> dict[str, Any]:
        controller = {
            "EndpointID": self.trust.controller_id,
            "Enable": True,
            "AssignedRole": "Device.LocalAgent.ControllerTrust.Role.1",
        }
        role = {"Enable": True, "Name": self.trust.role}
        return {
            "Controller": {1: controller},
            "ControllerTrust": {"RoleNumberOfEntries": 1, "Role": {1: role}},
        }

    # -- dispatch ------------------------------------------------------------------------------

    async def handle(self, incoming: Incoming) -> Any | None:
        """The answer to one Message (None when none is due: a response, ``send_resp`` false)."""
        body = incoming.msg.body
        kind = body.WhichOneof("msg_body")
        if kind != "request":
            return None  # NotifyResp and errors from the controller need no answer
        request = body.request
        req = request.WhichOneof("req_type") or "none"
        if incoming.session_context:
            return error_msg(
                incoming.msg_id, ERR_SESSION_CONTEXT_NOT_ALLOWED, "session context is not supported"
            )
        try:
            if req in ("get", "get_supported_dm", "get_instances", "get_supported_protocol"):
                self.trust.check_read()
            handler = self._requests.get(req)
            if handler is None:
                raise MessageError(f"{req} is not supported by this agent", const.ERR_MESSAGE_NOT_SUPPORTED)
            answer: Any = await handler(incoming.msg_id, getattr(request, req))
            if req in ("add", "set", "delete"):
                await self._save()
            if req != "operate":
                await self.audit.record(
                    incoming.from_id, req, "ok", paths=_paths_of(req, getattr(request, req))
                )
            return answer
        except UspError as exc:
            where = {"command": request.operate.command[:256]} if req == "operate" else {}
            await self.audit.record(
                incoming.from_id, req, "refused", code=exc.code, reason=exc.message[:256],
                paths=_paths_of(req, getattr(request, req, None)), **where,
            )  # fmt: skip
            return error_msg(incoming.msg_id, exc)
        except Exception:  # a bug must not end the MTP loop; the controller hears 7003
            self.errors += 1
            _LOGGER.exception("USP %s failed", req)
            return error_msg(incoming.msg_id, const.ERR_INTERNAL, "internal error")

    async def _save(self) -> None:
        if self._store is None:
            return
        kept = {n: s for n, s in self.subscriptions.items() if s.Persistent}
        try:
            await asyncio.to_thread(write_atomic, self._store, msgspec.json.encode(kept), 0o600)
        except OSError as exc:
            _LOGGER.warning("cannot keep the persistent USP subscriptions: %s", exc)

    # -- Get -----------------------------------------------------------------------------------

    async def _get(self, msg_id: str, get: Any) -> Any:
        paths = _bounded(get.param_paths)
        root = self.root()
        msg = new_msg(msg_id, "GET_RESP")
        msg.body.response.get_resp.SetInParent()  # an empty answer is still this answer
        for text in paths:
            result = msg.body.response.get_resp.req_path_results.add(requested_path=text)
            try:
                for resolved, params in self._get_one(root, parse(text), get.max_depth):
                    result.resolved_path_results.add(resolved_path=resolved, result_params=params)
            except UspError as exc:
                del result.resolved_path_results[:]
                result.err_code, result.err_msg = exc.code, exc.message
        return msg

    def _get_one(self, root: Node, path: Path, max_depth: int) -> list[tuple[str, dict[str, str]]]:
        if path.kind in ("command", "event"):
            raise PathError(f"{path.text[:120]} is a {path.kind}: Get reads objects and parameters")
        objects = resolve(root, path)
        if path.kind == "param":
            schema = _schema_at(path)
            if path.leaf not in schema.params:
                raise PathError(f"{path.text[:120]} is not a parameter of this agent's data model")
            return [(p, {path.leaf: n.params[path.leaf]}) for p, n in objects if path.leaf in n.params]
        out = []
        for base, node in objects:
            base_depth = base.count(".")
            for sub_path, sub in walk(node, base):
                if max_depth and sub_path.count(".") - base_depth >= max_depth:
                    continue
                if sub.params:
                    out.append((sub_path, dict(sub.params)))
        return out

    # -- GetSupportedDM, GetInstances, GetSupportedProtocol ------------------------------------

    async def _get_supported_dm(self, msg_id: str, req: Any) -> Any:
        msg = new_msg(msg_id, "GET_SUPPORTED_DM_RESP")
        msg.body.response.get_supported_dm_resp.SetInParent()  # an empty answer is still this answer
        for text in _bounded(req.obj_paths):
            result = msg.body.response.get_supported_dm_resp.req_obj_results.add(req_obj_path=text)
            start = _supported_path(text)
            if start is None:
                result.err_code, result.err_msg = const.ERR_INVALID_PATH, f"{text[:120]} is not supported"
                continue
            result.data_model_inst_uri = DATA_MODEL_URI
            depth = start.count(".")
            for obj_path, obj in _SCHEMA_PATHS.items():
                if not obj_path.startswith(start):
                    continue
                extra = obj_path.count(".") - depth - (1 if obj.multi else 0)
                if req.first_level_only and extra > 1:
                    continue
                self._describe(result.supported_objs.add(), obj_path, obj, req)
        return msg

    def _describe(self, out: Any, obj_path: str, obj: SchemaObject, req: Any) -> None:
        out.supported_obj_path = obj_path
        out.is_multi_instance = obj.multi
        out.access = enum_value("ObjAccessType", "OBJ_ADD_DELETE" if obj.add_delete else "OBJ_READ_ONLY")
        if req.return_params:
            for name, kind in obj.params.items():
                access = "PARAM_READ_WRITE" if name in obj.writable else "PARAM_READ_ONLY"
                out.supported_params.add(
                    param_name=name,
                    access=enum_value("ParamAccessType", access),
                    value_type=enum_value("ParamValueType", f"PARAM_{kind}"),
                    value_change=enum_value("ValueChangeType", "VALUE_CHANGE_ALLOWED"),
                )  # fmt: skip
        if req.return_commands:
            for command in COMMANDS.values():
                if command.object_path == obj_path:
                    out.supported_commands.add(
                        command_name=command.name,
                        input_arg_names=[a.name for a in command.inputs],
                        output_arg_names=_output_names(command),
                        command_type=enum_value("CmdType", "CMD_ASYNC" if command.is_async else "CMD_SYNC"),
                    )
        if req.return_events:
            for event, args in EVENTS.items():
                if event.rsplit(".", 1)[0] + "." == obj_path:
                    out.supported_events.add(event_name=event.rsplit(".", 1)[1], arg_names=list(args))
        if req.return_unique_key_sets and obj.unique_keys:
            out.unique_key_sets.add(key_names=list(obj.unique_keys))

    async def _get_instances(self, msg_id: str, req: Any) -> Any:
        msg = new_msg(msg_id, "GET_INSTANCES_RESP")
        msg.body.response.get_instances_resp.SetInParent()  # an empty answer is still this answer
        root = self.root()
        for text in _bounded(req.obj_paths):
            result = msg.body.response.get_instances_resp.req_path_results.add(requested_path=text)
            try:
                path = parse(text)
                if path.kind != "object":
                    raise PathError(f"{text[:120]} is not an object path")
                for base, node in resolve(root, path):
                    # Instances only (a path ending in a number); first_level_only: the named ones.
                    for sub_path, sub in walk(node, base):
                        if not _ends_in_instance(sub_path) or (req.first_level_only and sub_path != base):
                            continue
                        inst = result.curr_insts.add(instantiated_obj_path=sub_path)
                        for key in _SCHEMA_PATHS[schema_path(sub_path)].unique_keys:
                            if key in sub.params:
                                inst.unique_keys[key] = sub.params[key]
            except UspError as exc:
                del result.curr_insts[:]
                result.err_code, result.err_msg = exc.code, exc.message
        return msg

    async def _get_supported_protocol(self, msg_id: str, _req: Any) -> Any:
        msg = new_msg(msg_id, "GET_SUPPORTED_PROTO_RESP")
        msg.body.response.get_supported_protocol_resp.SetInParent()  # an empty answer is still this answer
        msg.body.response.get_supported_protocol_resp.agent_supported_protocol_versions = ",".join(
            const.SUPPORTED_VERSIONS
        )
        return msg

    # -- Subscriptions: Add, Set, Delete -------------------------------------------------------

    async def _add(self, msg_id: str, add: Any) -> Any:
        msg = new_msg(msg_id, "ADD_RESP")
        msg.body.response.add_resp.SetInParent()  # an empty answer is still this answer
        for create in list(add.create_objs)[: const.MAX_PATHS_PER_REQUEST]:
            result = msg.body.response.add_resp.created_obj_results.add(requested_path=create.obj_path)
            try:
                number, sub = self._new_subscription(create)
            except UspError as exc:
                if not add.allow_partial:
                    raise
                failure = result.oper_status.oper_failure
                failure.err_code, failure.err_msg = exc.code, exc.message
                continue
            success = result.oper_status.oper_success
            success.instantiated_path = f"{SUBSCRIPTION_PATH}{number}."
            success.unique_keys.update({"Recipient": sub.Recipient, "ID": sub.ID})
        return msg

    def _new_subscription(self, create: Any) -> tuple[int, Subscription]:
        path = parse(create.obj_path)
        if path.kind != "object" or schema_path(create.obj_path.rstrip(".") + ".") != SUBSCRIPTION_PATH:
            known = _supported_path(create.obj_path) is not None
            raise PathError(
                f"{create.obj_path[:120]}: only {SUBSCRIPTION_PATH} can be added to",
                const.ERR_NOT_CREATABLE if known else const.ERR_INVALID_PATH,
            )
        if len(self.subscriptions) >= const.MAX_SUBSCRIPTIONS:
            raise UspError(f"at most {const.MAX_SUBSCRIPTIONS} subscriptions", const.ERR_RESOURCES_EXCEEDED)
        values = {s.param: s.value for s in create.param_settings}
        sub = self._subscription(
            Subscription(Recipient=self.trust.controller_id, CreationDate=_now_text()), values
        )
        if sub.ID and any(s.ID == sub.ID for s in self.subscriptions.values()):
            raise UspError(f"a subscription with ID {sub.ID[:64]!r} exists", const.ERR_DUPLICATE_KEY)
        # Numbered only once valid, and never reused (TR-369: an instance number names one object).
        number = next(self._next_subscription)
        if not sub.ID:
            sub = msgspec.structs.replace(sub, ID=f"homediag-{number}")
        self.subscriptions[number] = sub
        # The baseline is the model when the controller subscribed, so a change right after counts.
        self._watched[number] = _watched_values(self.root(), sub) if sub.NotifType == "ValueChange" else {}
        return number, sub

    def _subscription(self, current: Subscription, values: Mapping[str, str]) -> Subscription:
        """``current`` with the controller's parameter settings applied, each checked."""
        changes: dict[str, Any] = {}
        for name, text in values.items():
            if name not in SUBSCRIPTION_WRITABLE:
                known = name in SCHEMA.objects["LocalAgent"].objects["Subscription"].params
                raise ArgumentError(
                    f"{name[:64]} cannot be set",
                    const.ERR_NOT_WRITABLE if known else const.ERR_UNSUPPORTED_PARAMETER,
                )
            if len(text) > 1024:
                raise ArgumentError(f"{name} is longer than 1024 characters", const.ERR_INVALID_VALUE)
            if name in ("Enable", "Persistent", "NotifRetry"):
                changes[name] = _bool(text)
            elif name == "NotifType":
                if text not in NOTIF_TYPES:
                    raise ArgumentError(
                        f"NotifType must be one of {', '.join(NOTIF_TYPES)}", const.ERR_INVALID_VALUE
                    )
                changes[name] = text
            elif name == "ReferenceList":
                refs = [r.strip() for r in text.split(",") if r.strip()]
                for ref in refs:
                    parse(ref)  # 7008 if it is not a path at all
                changes[name] = refs
            else:
                changes[name] = text
        return msgspec.structs.replace(current, **changes)

    async def _set(self, msg_id: str, set_: Any) -> Any:
        msg = new_msg(msg_id, "SET_RESP")
        msg.body.response.set_resp.SetInParent()  # an empty answer is still this answer
        for update in list(set_.update_objs)[: const.MAX_PATHS_PER_REQUEST]:
            result = msg.body.response.set_resp.updated_obj_results.add(requested_path=update.obj_path)
            try:
                path = parse(update.obj_path)
                if path.kind != "object":
                    raise PathError(f"{update.obj_path[:120]} is not an object path")
                objects = resolve(self.root(), path)
                values = {s.param: s.value for s in update.param_settings}
                targets = []
                for base, _node in objects:
                    if not base.startswith(SUBSCRIPTION_PATH):
                        schema = _SCHEMA_PATHS[schema_path(base)]
                        known = [v for v in values if v in schema.params]
                        raise ArgumentError(
                            f"{base}: nothing here can be set",
                            const.ERR_NOT_WRITABLE if known else const.ERR_UNSUPPORTED_PARAMETER,
                        )
                    number = int(base[len(SUBSCRIPTION_PATH) :].rstrip("."))
                    targets.append((base, number, self._subscription(self.subscriptions[number], values)))
            except UspError as exc:
                if not set_.allow_partial:
                    raise
                failure = result.oper_status.oper_failure
                failure.err_code, failure.err_msg = exc.code, exc.message
                continue
            for base, number, sub in targets:
                self.subscriptions[number] = sub
                self._watched.pop(number, None)
                done = result.oper_status.oper_success.updated_inst_results.add(affected_path=base)
                done.updated_params.update(values)
        return msg

    async def _delete(self, msg_id: str, delete: Any) -> Any:
        msg = new_msg(msg_id, "DELETE_RESP")
        msg.body.response.delete_resp.SetInParent()  # an empty answer is still this answer
        for text in _bounded(delete.obj_paths):
            result = msg.body.response.delete_resp.deleted_obj_results.add(requested_path=text)
            try:
                path = parse(text)
                if path.kind != "object" or not text.startswith(SUBSCRIPTION_PATH):
                    raise PathError(f"{text[:120]}: only {SUBSCRIPTION_PATH}{{i}}. can be deleted")
                gone = [base for base, _n in resolve(self.root(), path) if base != SUBSCRIPTION_PATH]
            except UspError as exc:
                if not delete.allow_partial:
                    raise
                failure = result.oper_status.oper_failure
                failure.err_code, failure.err_msg = exc.code, exc.message
                continue
            for base in gone:
                number = int(base[len(SUBSCRIPTION_PATH) :].rstrip("."))
                self.subscriptions.pop(number, None)
                self._watched.pop(number, None)
            result.oper_status.oper_success.affected_paths.extend(gone)
        return msg

    # -- Operate -------------------------------------------------------------------------------

    async def _operate(self, msg_id: str, operate: Any) -> Any | None:
        originator = self.trust.controller_id
        command = COMMANDS.get(operate.command)
        if command is None:
            path = parse(operate.command)  # 7008 when it is no path at all
            raise PathError(f"{path.text[:120]} is not a command of this agent")
        # The consent file is read off the loop (a small file, but a disk can hang).
        await asyncio.to_thread(self.trust.check_operate, command.catalogue)
        params = operate_params(command, dict(operate.input_args))
        if len(self.requests) >= const.MAX_REQUESTS:
            raise UspError(f"{const.MAX_REQUESTS} commands are running already", const.ERR_RESOURCES_EXCEEDED)
        number = next(self._next_request)
        self.requests[number] = Request(
            Originator=originator, Command=command.path, CommandKey=operate.command_key
        )
        await self.audit.record(
            originator, "operate", "started", command=command.path, request=f"{REQUEST_PATH}{number}",
            input_args=dict(operate.input_args),
        )  # fmt: skip
        task = asyncio.create_task(self._complete(number, command, params, operate.command_key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if not operate.send_resp:
            return None
        msg = new_msg(msg_id, "OPERATE_RESP")
        msg.body.response.operate_resp.SetInParent()  # an empty answer is still this answer
        result = msg.body.response.operate_resp.operation_results.add(executed_command=command.path)
        result.req_obj_path = f"{REQUEST_PATH}{number}"
        return msg

    async def _complete(self, number: int, command: Command, params: Params, command_key: str) -> None:
        """Run the command, then tell the subscribed controller (Notify OperationComplete)."""
        failure: tuple[int, str] | None = None
        outputs: dict[str, str] = {}
        try:
            timeout_s = CATALOGUE[command.catalogue].timeout_s
            result = await asyncio.wait_for(self.view.run(command.catalogue, params), timeout=timeout_s)
            outputs = flatten(node_of(result))
        except TimeoutError:
            failure = (const.ERR_COMMAND_FAILURE, "the command timed out")
        except UspError as exc:
            failure = (exc.code, exc.message)
        except Exception as exc:  # an engine's bug is the controller's 7022, not the agent's end
            _LOGGER.exception("USP command %s failed", command.path)
            failure = (const.ERR_COMMAND_FAILURE, type(exc).__name__)
        finally:
            self.requests.pop(number, None)
        await self.audit.record(
            self.trust.controller_id, "operate", "failed" if failure else "complete", command=command.path,
            request=f"{REQUEST_PATH}{number}", status=outputs.get("Status", ""),
        )  # fmt: skip
        for sub_number, sub in self._matching("OperationComplete", command.path):
            notify = self._notify_msg(sub)
            complete = notify.body.request.notify.oper_complete
            complete.obj_path, complete.command_name = command.object_path, command.name
            complete.command_key = command_key
            if failure is None:
                complete.req_output_args.output_args.update(outputs)
            else:
                complete.cmd_failure.err_code, complete.cmd_failure.err_msg = failure
            await self._send(notify, sub, sub_number)

    # -- notifications -------------------------------------------------------------------------

    def _matching(self, notif_type: str, path: str) -> list[tuple[int, Subscription]]:
        """Enabled subscriptions of ``notif_type`` whose ReferenceList covers ``path``."""
        return [
            (n, s)
            for n, s in self.subscriptions.items()
            if s.Enable and s.NotifType == notif_type and any(_covers(ref, path) for ref in s.ReferenceList)
        ]

    def _notify_msg(self, sub: Subscription) -> Any:
        # No "@" in the id: controllers (usp-js) tell their own request ids by it.
        msg = new_msg(f"notify-{next(self._notify_ids)}", "NOTIFY")
        msg.body.request.notify.subscription_id = sub.ID
        msg.body.request.notify.send_resp = sub.NotifRetry
        return msg

    async def _send(self, msg: Any, sub: Subscription, number: int) -> None:
        try:
            await self._notify(msg, sub.Recipient)
        except UspError as exc:
            _LOGGER.warning("notification of subscription %d not sent: %s", number, exc.message)

    async def boot(self, cause: str = "LocalReboot") -> None:
        """``Device.Boot!`` to the subscriptions for it (TR-181: after every start)."""
        for number, sub in self._matching("Event", "Device.Boot!"):
            msg = self._notify_msg(sub)
            event = msg.body.request.notify.event
            event.obj_path, event.event_name = "Device.", "Boot!"
            event.params.update(
                {"CommandKey": "", "Cause": cause, "FirmwareUpdated": "false", "ParameterMap": "{}"}
            )
            await self._send(msg, sub, number)

    async def check_value_changes(self) -> int:
        """Notify every watched parameter whose value changed since the last look; the count sent."""
        watching = [
            (n, s) for n, s in self.subscriptions.items() if s.Enable and s.NotifType == "ValueChange"
        ]
        if not watching:
            return 0
        root = self.root()
        sent = 0
        for number, sub in watching:
            now = _watched_values(root, sub)
            before = self._watched.get(number)
            self._watched[number] = now
            if before is None:
                continue  # a subscription enabled by Set: the first look sets the baseline
            for param_path, value in now.items():
                if before.get(param_path, value) != value:
                    msg = self._notify_msg(sub)
                    change = msg.body.request.notify.value_change
                    change.param_path, change.param_value = param_path, value
                    await self._send(msg, sub, number)
                    sent += 1
        return sent

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


def load_subscriptions(path: pathlib.Path | None) -> dict[int, Subscription]:
    """The persistent subscriptions saved by an earlier run; none if unreadable (logged)."""
    if path is None or not path.exists():
        return {}
    try:
        return msgspec.json.decode(path.read_bytes(), type=dict[int, Subscription])
    except (OSError, msgspec.DecodeError) as exc:
        _LOGGER.warning("ignoring %s: %s", path, exc)
        return {}


# -- helpers ---------------------------------------------------------------------------------------


def operate_params(command: Command, args: Mapping[str, str]) -> Params:
    """Operate's input arguments as the catalogue command's parameters, checked by the catalogue.

    An unknown argument is 7027; text that is not the parameter's type 7004; a value out of the
    catalogue's bounds 7012 with the catalogue's own sentence (protocol/catalogue.py)."""
    by_name = {a.name: a for a in command.inputs}
    schema = CATALOGUE[command.catalogue].params
    hints = typing.get_type_hints(schema)
    params: dict[str, Any] = {}
    for name, text in args.items():
        if name in command.ignored:
            continue
        argument = by_name.get(name)
        if argument is None:
            raise ArgumentError(
                f"{command.name}() has no input argument {name[:64]!r}", const.ERR_INVALID_COMMAND_ARGS
            )
        params[argument.param] = _typed(argument.param, text, hints.get(argument.param), argument.scale)
    try:
        return decode_params(command.catalogue, params)
    except ProtocolError as exc:
        raise ArgumentError(str(exc), const.ERR_INVALID_VALUE) from exc


def _typed(param: str, text: str, hint: Any, scale: float) -> Any:
    kind = mi.type_info(hint) if hint is not None else mi.StrType()
    while isinstance(kind, mi.Metadata | mi.UnionType):
        kind = (
            kind.type
            if isinstance(kind, mi.Metadata)
            else next(t for t in kind.types if not isinstance(t, mi.NoneType))
        )
    try:
        if isinstance(kind, mi.IntType):
            return int(text)
        if isinstance(kind, mi.FloatType):  # the model's arguments are whole (milli)seconds
            return float(int(text)) * scale
    except ValueError:
        raise ArgumentError(
            f"{param}: {text[:32]!r} is not a whole number", const.ERR_INVALID_ARGUMENTS
        ) from None
    return text


def _bounded(paths: Any) -> list[str]:
    items = list(paths)
    if len(items) > const.MAX_PATHS_PER_REQUEST:
        raise UspError(f"at most {const.MAX_PATHS_PER_REQUEST} paths a request", const.ERR_RESOURCES_EXCEEDED)
    return items


def _paths_of(req: str, body: Any) -> list[str]:
    for attr in ("param_paths", "obj_paths"):
        if hasattr(body, attr):
            return [p[:256] for p in list(getattr(body, attr))[:16]]
    if req == "operate":
        return [body.command[:256]]
    if req == "add":
        return [c.obj_path[:256] for c in list(body.create_objs)[:16]]
    if req == "set":
        return [u.obj_path[:256] for u in list(body.update_objs)[:16]]
    return []


def _schema_at(path: Path) -> SchemaObject:
    text = "Device." + "".join(
        "{i}." if not isinstance(s, str) or s == "*" else f"{s}." for s in path.segments
    )
    if text in _SCHEMA_PATHS:
        return _SCHEMA_PATHS[text]
    raise PathError(f"{path.text[:120]} is not in this agent's data model")


def _supported_path(text: str) -> str | None:
    """The supported-DM path a GetSupportedDM obj_path names (``Device.Hosts.Host.`` -> ``...{i}.``)."""
    if not text.startswith("Device.") or not text.endswith("."):
        return None
    normal = ".".join("{i}" if p.isdigit() or p == "*" else p for p in text.split("."))
    for candidate in (normal, normal + "{i}."):
        if candidate in _SCHEMA_PATHS:
            return candidate
    return None


def _ends_in_instance(path: str) -> bool:
    return path.rstrip(".").rsplit(".", 1)[-1].isdigit()


def _covers(reference: str, path: str) -> bool:
    """A ReferenceList entry names ``path`` itself or an object above it (``Device.IP.``)."""
    if reference == path:
        return True
    if not reference.endswith("."):
        return False
    return path.startswith(reference) or schema_path(path).startswith(schema_path(reference))


def _rereference(dns: Any, renumbered: Mapping[str, str]) -> Any:
    """``dns`` with each service's ``Host`` references to the renumbered host instances."""
    sd = dns.get("SD") if isinstance(dns, dict) else None
    if not isinstance(sd, dict) or not isinstance(sd.get("Service"), list):
        return dns
    services: list[Any] = sd["Service"]
    fixed = []
    for service in services:
        refs = service.get("Host") if isinstance(service, dict) else None
        if isinstance(refs, list):
            fixed.append({**service, "Host": [renumbered.get(str(r).rstrip("."), r) for r in refs]})
        else:
            fixed.append(service)
    return {**dns, "SD": {**sd, "Service": fixed}}


def _watched_values(root: Node, sub: Subscription) -> dict[str, str]:
    now: dict[str, str] = {}
    for ref in sub.ReferenceList:
        with contextlib.suppress(UspError):
            now |= _param_values(root, parse(ref))
    return now


def _param_values(root: Node, path: Path) -> dict[str, str]:
    """Every parameter a reference names, by full path (a partial path: every one under it)."""
    out: dict[str, str] = {}
    for base, node in resolve(root, path):
        if path.kind == "param":
            if path.leaf in node.params:
                out[base + path.leaf] = node.params[path.leaf]
        elif path.kind == "object":
            for sub_path, sub in walk(node, base):
                out |= {sub_path + k: v for k, v in sub.params.items()}
    return out


def _output_names(command: Command) -> list[str]:
    return ["Status", *[n for n in argument_names(command.outputs) if n != "Status"]]
