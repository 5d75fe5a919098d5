"""The USP Record and Message schemas (TR-369 1.4), built as protobuf descriptors in Python.

Written here from the field numbers TR-369 publishes (``usp-record-1-4.proto``,
``usp-msg-1-4.proto``), not copied from them: no ``.proto`` file, no ``protoc`` and no generated
``_pb2`` module; the ``protobuf`` package makes the classes from the descriptors at import. Only the
messages this agent reads or writes are here (no Register/Deregister, no STOMP/WebSocket/UDS connect
records: an agent never receives those). Names are flattened (``GetResp.RequestedPathResult`` is
``GetRespRequestedPathResult``): protobuf's wire format has numbers and types, never names, so
records stay byte-compatible with every other USP endpoint.

Each table row is ``(name, number, type)``; a type in lower case is a scalar, ``*`` in front means
``repeated``, ``map`` is ``map<string, string>``, ``enum:Name`` an enum, anything else a message;
a fourth item names the ``oneof`` the field belongs to.
"""

from __future__ import annotations

from typing import Any, Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_Field = tuple[str, int, str] | tuple[str, int, str, str]

_RECORD_PACKAGE: Final = "usp_record"
_MSG_PACKAGE: Final = "usp"

_RECORD_ENUMS: dict[str, list[str]] = {
    "PayloadSecurity": ["PLAINTEXT", "TLS12"],
    "PayloadSARState": ["NONE", "BEGIN", "INPROCESS", "COMPLETE"],
    "MQTTVersion": ["V3_1_1", "V5"],
}

_RECORD: dict[str, list[_Field]] = {
    "Record": [
        ("version", 1, "string"),
        ("to_id", 2, "string"),
        ("from_id", 3, "string"),
        ("payload_security", 4, "enum:PayloadSecurity"),
        ("mac_signature", 5, "bytes"),
        ("sender_cert", 6, "bytes"),
        ("no_session_context", 7, "NoSessionContextRecord", "record_type"),
        ("session_context", 8, "SessionContextRecord", "record_type"),
        ("mqtt_connect", 10, "MQTTConnectRecord", "record_type"),
        ("disconnect", 12, "DisconnectRecord", "record_type"),
    ],
    "NoSessionContextRecord": [("payload", 2, "bytes")],
    "SessionContextRecord": [
        ("session_id", 1, "uint64"),
        ("sequence_id", 2, "uint64"),
        ("expected_id", 3, "uint64"),
        ("retransmit_id", 4, "uint64"),
        ("payload_sar_state", 5, "enum:PayloadSARState"),
        ("payloadrec_sar_state", 6, "enum:PayloadSARState"),
        ("payload", 7, "*bytes"),
    ],
    "MQTTConnectRecord": [("version", 1, "enum:MQTTVersion"), ("subscribed_topic", 2, "string")],
    "DisconnectRecord": [("reason", 1, "string"), ("reason_code", 2, "fixed32")],
}

#: ``Header.MsgType`` in number order (ERROR is 0 ... GET_SUPPORTED_PROTO_RESP is 18).
MSG_TYPES: Final = [
    "ERROR", "GET", "GET_RESP", "NOTIFY", "SET", "SET_RESP", "OPERATE", "OPERATE_RESP", "ADD",
    "ADD_RESP", "DELETE", "DELETE_RESP", "GET_SUPPORTED_DM", "GET_SUPPORTED_DM_RESP", "GET_INSTANCES",
    "GET_INSTANCES_RESP", "NOTIFY_RESP", "GET_SUPPORTED_PROTO", "GET_SUPPORTED_PROTO_RESP",
]  # fmt: skip

_MSG_ENUMS: dict[str, list[str]] = {
    "MsgType": MSG_TYPES,
    "ParamAccessType": ["PARAM_READ_ONLY", "PARAM_READ_WRITE", "PARAM_WRITE_ONLY"],
    "ObjAccessType": ["OBJ_READ_ONLY", "OBJ_ADD_DELETE", "OBJ_ADD_ONLY", "OBJ_DELETE_ONLY"],
    "ParamValueType": [
        "PARAM_UNKNOWN",
        "PARAM_BASE_64",
        "PARAM_BOOLEAN",
        "PARAM_DATE_TIME",
        "PARAM_DECIMAL",
        "PARAM_HEX_BINARY",
        "PARAM_INT",
        "PARAM_LONG",
        "PARAM_STRING",
        "PARAM_UNSIGNED_INT",
        "PARAM_UNSIGNED_LONG",
    ],
    "ValueChangeType": ["VALUE_CHANGE_UNKNOWN", "VALUE_CHANGE_ALLOWED", "VALUE_CHANGE_WILL_IGNORE"],
    "CmdType": ["CMD_UNKNOWN", "CMD_SYNC", "CMD_ASYNC"],
}

_FAILURE: list[_Field] = [("err_code", 1, "fixed32"), ("err_msg", 2, "string")]

_MSG: dict[str, list[_Field]] = {
    "Msg": [("header", 1, "Header"), ("body", 2, "Body")],
    "Header": [("msg_id", 1, "string"), ("msg_type", 2, "enum:MsgType")],
    "Body": [
        ("request", 1, "Request", "msg_body"),
        ("response", 2, "Response", "msg_body"),
        ("error", 3, "Error", "msg_body"),
    ],
    "Request": [
        ("get", 1, "Get", "req_type"),
        ("get_supported_dm", 2, "GetSupportedDM", "req_type"),
        ("get_instances", 3, "GetInstances", "req_type"),
        ("set", 4, "Set", "req_type"),
        ("add", 5, "Add", "req_type"),
        ("delete", 6, "Delete", "req_type"),
        ("operate", 7, "Operate", "req_type"),
        ("notify", 8, "Notify", "req_type"),
        ("get_supported_protocol", 9, "GetSupportedProtocol", "req_type"),
    ],
    "Response": [
        ("get_resp", 1, "GetResp", "resp_type"),
        ("get_supported_dm_resp", 2, "GetSupportedDMResp", "resp_type"),
        ("get_instances_resp", 3, "GetInstancesResp", "resp_type"),
        ("set_resp", 4, "SetResp", "resp_type"),
        ("add_resp", 5, "AddResp", "resp_type"),
        ("delete_resp", 6, "DeleteResp", "resp_type"),
        ("operate_resp", 7, "OperateResp", "resp_type"),
        ("notify_resp", 8, "NotifyResp", "resp_type"),
        ("get_supported_protocol_resp", 9, "GetSupportedProtocolResp", "resp_type"),
    ],
    "Error": [*_FAILURE, ("param_errs", 3, "*ErrorParamError")],
    "ErrorParamError": [("param_path", 1, "string"), ("err_code", 2, "fixed32"), ("err_msg", 3, "string")],
    # -- Get
    "Get": [("param_paths", 1, "*string"), ("max_depth", 2, "fixed32")],
    "GetResp": [("req_path_results", 1, "*GetRespRequestedPathResult")],
    "GetRespRequestedPathResult": [
        ("requested_path", 1, "string"),
        ("err_code", 2, "fixed32"),
        ("err_msg", 3, "string"),
        ("resolved_path_results", 4, "*GetRespResolvedPathResult"),
    ],
    "GetRespResolvedPathResult": [("resolved_path", 1, "string"), ("result_params", 2, "map")],
    # -- GetSupportedDM
    "GetSupportedDM": [
        ("obj_paths", 1, "*string"),
        ("first_level_only", 2, "bool"),
        ("return_commands", 3, "bool"),
        ("return_events", 4, "bool"),
        ("return_params", 5, "bool"),
        ("return_unique_key_sets", 6, "bool"),
    ],
    "GetSupportedDMResp": [("req_obj_results", 1, "*SupportedDMRequestedObjectResult")],
    "SupportedDMRequestedObjectResult": [
        ("req_obj_path", 1, "string"),
        ("err_code", 2, "fixed32"),
        ("err_msg", 3, "string"),
        ("data_model_inst_uri", 4, "string"),
        ("supported_objs", 5, "*SupportedObjectResult"),
    ],
    "SupportedObjectResult": [
        ("supported_obj_path", 1, "string"),
        ("access", 2, "enum:ObjAccessType"),
        ("is_multi_instance", 3, "bool"),
        ("supported_commands", 4, "*SupportedCommandResult"),
        ("supported_events", 5, "*SupportedEventResult"),
        ("supported_params", 6, "*SupportedParamResult"),
        ("divergent_paths", 7, "*string"),
        ("unique_key_sets", 8, "*SupportedUniqueKeySet"),
    ],
    "SupportedParamResult": [
        ("param_name", 1, "string"),
        ("access", 2, "enum:ParamAccessType"),
        ("value_type", 3, "enum:ParamValueType"),
        ("value_change", 4, "enum:ValueChangeType"),
    ],
    "SupportedCommandResult": [
        ("command_name", 1, "string"),
        ("input_arg_names", 2, "*string"),
        ("output_arg_names", 3, "*string"),
        ("command_type", 4, "enum:CmdType"),
    ],
    "SupportedEventResult": [("event_name", 1, "string"), ("arg_names", 2, "*string")],
    "SupportedUniqueKeySet": [("key_names", 1, "*string")],
    # -- GetInstances
    "GetInstances": [("obj_paths", 1, "*string"), ("first_level_only", 2, "bool")],
    "GetInstancesResp": [("req_path_results", 1, "*InstancesRequestedPathResult")],
    "InstancesRequestedPathResult": [
        ("requested_path", 1, "string"),
        ("err_code", 2, "fixed32"),
        ("err_msg", 3, "string"),
        ("curr_insts", 4, "*CurrInstance"),
    ],
    "CurrInstance": [("instantiated_obj_path", 1, "string"), ("unique_keys", 2, "map")],
    # -- GetSupportedProtocol
    "GetSupportedProtocol": [("controller_supported_protocol_versions", 1, "string")],
    "GetSupportedProtocolResp": [("agent_supported_protocol_versions", 1, "string")],
    # -- Add
    "Add": [("allow_partial", 1, "bool"), ("create_objs", 2, "*AddCreateObject")],
    "AddCreateObject": [("obj_path", 1, "string"), ("param_settings", 2, "*ParamSetting")],
    "ParamSetting": [("param", 1, "string"), ("value", 2, "string"), ("required", 3, "bool")],
    "AddResp": [("created_obj_results", 1, "*CreatedObjectResult")],
    "CreatedObjectResult": [("requested_path", 1, "string"), ("oper_status", 2, "AddOperationStatus")],
    "AddOperationStatus": [
        ("oper_failure", 1, "OperationFailure", "oper_status"),
        ("oper_success", 2, "AddOperationSuccess", "oper_status"),
    ],
    "OperationFailure": _FAILURE,
    "AddOperationSuccess": [
        ("instantiated_path", 1, "string"),
        ("param_errs", 2, "*ParameterError"),
        ("unique_keys", 3, "map"),
    ],
    "ParameterError": [("param", 1, "string"), ("err_code", 2, "fixed32"), ("err_msg", 3, "string")],
    # -- Delete
    "Delete": [("allow_partial", 1, "bool"), ("obj_paths", 2, "*string")],
    "DeleteResp": [("deleted_obj_results", 1, "*DeletedObjectResult")],
    "DeletedObjectResult": [("requested_path", 1, "string"), ("oper_status", 2, "DeleteOperationStatus")],
    "DeleteOperationStatus": [
        ("oper_failure", 1, "OperationFailure", "oper_status"),
        ("oper_success", 2, "DeleteOperationSuccess", "oper_status"),
    ],
    "DeleteOperationSuccess": [
        ("affected_paths", 1, "*string"),
        ("unaffected_path_errs", 2, "*UnaffectedPathError"),
    ],
    "UnaffectedPathError": [
        ("unaffected_path", 1, "string"),
        ("err_code", 2, "fixed32"),
        ("err_msg", 3, "string"),
    ],
    # -- Set
    "Set": [("allow_partial", 1, "bool"), ("update_objs", 2, "*SetUpdateObject")],
    "SetUpdateObject": [("obj_path", 1, "string"), ("param_settings", 2, "*ParamSetting")],
    "SetResp": [("updated_obj_results", 1, "*UpdatedObjectResult")],
    "UpdatedObjectResult": [("requested_path", 1, "string"), ("oper_status", 2, "SetOperationStatus")],
    "SetOperationStatus": [
        ("oper_failure", 1, "SetOperationFailure", "oper_status"),
        ("oper_success", 2, "SetOperationSuccess", "oper_status"),
    ],
    "SetOperationFailure": [*_FAILURE, ("updated_inst_failures", 3, "*UpdatedInstanceFailure")],
    "UpdatedInstanceFailure": [("affected_path", 1, "string"), ("param_errs", 2, "*ParameterError")],
    "SetOperationSuccess": [("updated_inst_results", 1, "*UpdatedInstanceResult")],
    "UpdatedInstanceResult": [
        ("affected_path", 1, "string"),
        ("param_errs", 2, "*ParameterError"),
        ("updated_params", 3, "map"),
    ],
    # -- Operate
    "Operate": [
        ("command", 1, "string"),
        ("command_key", 2, "string"),
        ("send_resp", 3, "bool"),
        ("input_args", 4, "map"),
    ],
    "OperateResp": [("operation_results", 1, "*OperationResult")],
    "OperationResult": [
        ("executed_command", 1, "string"),
        ("req_obj_path", 2, "string", "operation_resp"),
        ("req_output_args", 3, "OutputArgs", "operation_resp"),
        ("cmd_failure", 4, "CommandFailure", "operation_resp"),
    ],
    "OutputArgs": [("output_args", 1, "map")],
    "CommandFailure": _FAILURE,
    # -- Notify
    "Notify": [
        ("subscription_id", 1, "string"),
        ("send_resp", 2, "bool"),
        ("event", 3, "NotifyEvent", "notification"),
        ("value_change", 4, "NotifyValueChange", "notification"),
        ("obj_creation", 5, "NotifyObjectCreation", "notification"),
        ("obj_deletion", 6, "NotifyObjectDeletion", "notification"),
        ("oper_complete", 7, "NotifyOperationComplete", "notification"),
        ("on_board_req", 8, "NotifyOnBoardRequest", "notification"),
    ],
    "NotifyEvent": [("obj_path", 1, "string"), ("event_name", 2, "string"), ("params", 3, "map")],
    "NotifyValueChange": [("param_path", 1, "string"), ("param_value", 2, "string")],
    "NotifyObjectCreation": [("obj_path", 1, "string"), ("unique_keys", 2, "map")],
    "NotifyObjectDeletion": [("obj_path", 1, "string")],
    "NotifyOperationComplete": [
        ("obj_path", 1, "string"),
        ("command_name", 2, "string"),
        ("command_key", 3, "string"),
        ("req_output_args", 4, "OutputArgs", "operation_resp"),
        ("cmd_failure", 5, "CommandFailure", "operation_resp"),
    ],
    "NotifyOnBoardRequest": [
        ("oui", 1, "string"),
        ("product_class", 2, "string"),
        ("serial_number", 3, "string"),
        ("agent_supported_protocol_versions", 4, "string"),
    ],
    "NotifyResp": [("subscription_id", 1, "string")],
}

_FD = descriptor_pb2.FieldDescriptorProto
_SCALARS: Final = {
    "string": _FD.TYPE_STRING,
    "bytes": _FD.TYPE_BYTES,
    "bool": _FD.TYPE_BOOL,
    "fixed32": _FD.TYPE_FIXED32,
    "uint64": _FD.TYPE_UINT64,
}


def _file(
    name: str, package: str, messages: dict[str, list[_Field]], enums: dict[str, list[str]]
) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
    for enum_name, values in enums.items():
        enum = proto.enum_type.add(name=enum_name)
        for number, value in enumerate(values):
            # proto3 enum values share their file's scope: prefix them so two enums may share a name.
            enum.value.add(name=f"{enum_name}_{value}", number=number)
    for msg_name, fields in messages.items():
        message = proto.message_type.add(name=msg_name)
        oneofs: list[str] = []
        for spec in fields:
            field_name, number, kind = spec[0], spec[1], spec[2]
            field = message.field.add(name=field_name, number=number, json_name=_camel(field_name))
            field.label = _FD.LABEL_REPEATED if kind.startswith("*") else _FD.LABEL_OPTIONAL
            kind = kind.lstrip("*")
            if kind == "map":
                entry = message.nested_type.add(name=_camel(field_name, upper=True) + "Entry")
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=_FD.TYPE_STRING, label=_FD.LABEL_OPTIONAL)
                entry.field.add(name="value", number=2, type=_FD.TYPE_STRING, label=_FD.LABEL_OPTIONAL)
                field.label = _FD.LABEL_REPEATED
                field.type = _FD.TYPE_MESSAGE
                field.type_name = f".{package}.{msg_name}.{entry.name}"
            elif kind in _SCALARS:
                field.type = _SCALARS[kind]
            elif kind.startswith("enum:"):
                field.type = _FD.TYPE_ENUM
                field.type_name = f".{package}.{kind[5:]}"
            else:
                field.type = _FD.TYPE_MESSAGE
                field.type_name = f".{package}.{kind}"
            if len(spec) == 4:
                oneof = spec[3]
                if oneof not in oneofs:
                    oneofs.append(oneof)
                    message.oneof_decl.add(name=oneof)
                field.oneof_index = oneofs.index(oneof)
    return proto


def _camel(name: str, *, upper: bool = False) -> str:
    head, *rest = name.split("_")
    text = head + "".join(part.title() for part in rest)
    return text[0].upper() + text[1:] if upper else text


def _classes() -> dict[str, Any]:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file("homediag/usp-record.proto", _RECORD_PACKAGE, _RECORD, _RECORD_ENUMS))
    pool.Add(_file("homediag/usp-msg.proto", _MSG_PACKAGE, _MSG, _MSG_ENUMS))
    classes: dict[str, Any] = {}
    for package, messages in ((_RECORD_PACKAGE, _RECORD), (_MSG_PACKAGE, _MSG)):
        for name in messages:
            classes[name] = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
    return classes


_CLASSES: Final = _classes()

#: The message classes (protobuf's dynamic classes: their fields are typed ``Any`` to mypy).
Record: Final[Any] = _CLASSES["Record"]
Msg: Final[Any] = _CLASSES["Msg"]


def enum_value(enum: str, value: str) -> int:
    """The number of ``value`` in one of our enums (``enum_value("MsgType", "GET_RESP")`` is 2)."""
    table = _MSG_ENUMS.get(enum) or _RECORD_ENUMS[enum]
    return table.index(value)


def msg_type_name(number: int) -> str:
    return MSG_TYPES[number] if 0 <= number < len(MSG_TYPES) else f"UNKNOWN_{number}"
