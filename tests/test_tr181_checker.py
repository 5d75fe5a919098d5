"""The TR-181 conformance checker (tests/tr181.py) against the real model: it loads what the
Broadband Forum wrote, and it catches each kind of deviation issue 19 lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.tr181 import UNKNOWN_TIME, VENDOR_PREFIX, vendor
from tests import tr181
from tests.tr181 import Checker, Deviation, UnknownKind, load_model, usp_deviations, vendor_names

PING = "Device.IP.Diagnostics.IPPing()"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "tr181.md"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(load_model())


def _ping(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "Status": "Complete",
        "IPAddressUsed": "10.213.0.1",
        "SuccessCount": 3,
        "FailureCount": 0,
        "AverageResponseTime": 2,
        "MinimumResponseTime": 1,
        "MaximumResponseTime": 3,
        "AverageResponseTimeDetailed": 2150,
    }
    data.update(extra)
    return data


def _paths(found: list[Deviation]) -> list[str]:
    return [d.path for d in found]


# --- the loader ---------------------------------------------------------------------------------


def test_ipping_output_times_are_unsigned_int_milliseconds() -> None:
    model = load_model()
    item = model[PING].outputs["AverageResponseTime"]
    assert item.syntax is not None
    assert (item.syntax.base, item.syntax.units, item.syntax.is_list) == (
        "unsignedInt",
        "milliseconds",
        False,
    )
    detailed = model[PING].outputs["AverageResponseTimeDetailed"].syntax
    assert detailed is not None and detailed.units == "microseconds"


def test_ipping_status_is_the_models_enumeration() -> None:
    syntax = load_model()[PING].outputs["Status"].syntax
    assert syntax is not None
    mandatory = [
        "Complete",
        "Error_CannotResolveHostName",
        "Error_NoRouteToHost",
        "Error_Internal",
        "Error_Other",
    ]
    assert set(mandatory) <= set(syntax.enums) <= {*mandatory, "Canceled", "Error"}


def test_traceroute_hops_are_a_table_with_a_list_of_unsigned_ints() -> None:
    outputs = load_model()["Device.IP.Diagnostics.TraceRoute()"].outputs
    assert outputs["RouteHops.{i}."].table
    rt = outputs["RouteHops.{i}.RTTimes"].syntax
    assert rt is not None and rt.is_list and rt.base == "unsignedInt"


def test_data_types_and_references_resolve_through_tr106_and_relative_paths() -> None:
    model = load_model()
    v4 = model["Device.Hosts.Host.{i}.IPv4Address.{i}.IPAddress"].syntax
    assert v4 is not None and (v4.data_type, v4.base) == ("IPv4Address", "string")
    assert v4.lengths == [(None, 15)], "IPv4Address narrows IPAddress's 45 characters"
    layer3 = model["Device.Hosts.Host.{i}.Layer3Interface"].syntax
    assert layer3 is not None and layer3.ref_type == "strong"
    assert layer3.ref_targets == ["Device.IP.Interface."], "##.IP.Interface. from Device.Hosts.Host.{i}."
    signal = model["Device.WiFi.EndPoint.{i}.Stats.SignalStrength"].syntax
    assert signal is not None and signal.base == "int" and signal.ranges == [(-200.0, 0.0, None)]
    change = model["Device.Hosts.Host.{i}.ActiveLastChange"].syntax
    assert change is not None and change.base == "dateTime"


def test_the_vendored_copy_is_the_shared_model() -> None:
    if not (tr181.SHARED / tr181.ROOT_FILE).is_file():
        pytest.skip(f"no shared copy at {tr181.SHARED} to compare with")
    shared, vendored = load_model(tr181.SHARED), load_model(tr181.VENDORED)
    assert vendored.source != shared.source
    assert vendored.items == shared.items
    assert vendored.missing == shared.missing


def test_the_loader_prefers_the_shared_copy_and_falls_back_to_the_vendored_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOMEDIAG_TR181_DIR", str(tmp_path))
    assert tr181.model_source() == str(tr181.VENDORED), "no model in the directory: the archive"
    (tmp_path / tr181.ROOT_FILE).write_text("<x/>")
    assert tr181.model_source() == str(tmp_path)


def test_a_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(tr181.ModelError, match="no tr-181"):
        load_model(tmp_path)


# --- the checker --------------------------------------------------------------------------------


def test_a_conforming_ping_result_has_no_deviation(checker: Checker) -> None:
    assert checker.check("ping", _ping(), status="Complete") == []


def test_float_milliseconds_are_flagged(checker: Checker) -> None:
    (found,) = checker.check("ping", _ping(AverageResponseTime=1.5))
    assert found.path == f"{PING}.AverageResponseTime"
    assert "float" in found.problem and "unsignedInt" in found.model


def test_out_of_range_and_mistyped_integers_are_flagged(checker: Checker) -> None:
    found = checker.check("ping", _ping(SuccessCount=-1, FailureCount=True, MinimumResponseTime=2**32))
    assert sorted(_paths(found)) == [
        f"{PING}.{n}" for n in ("FailureCount", "MinimumResponseTime", "SuccessCount")
    ]


def test_a_list_as_comma_string_is_flagged_and_as_array_accepted(checker: Checker) -> None:
    hop = {"Host": "gw", "HostAddress": "10.213.0.1", "ErrorCode": 0}
    bad = checker.check("traceroute", {"Status": "Complete", "RouteHops": [{**hop, "RTTimes": "1,2,3"}]})
    assert [(d.path, "comma-separated" in d.problem) for d in bad] == [
        ("Device.IP.Diagnostics.TraceRoute().RouteHops.1.RTTimes", True)
    ]
    assert checker.check("traceroute", {"RouteHops": [{**hop, "RTTimes": [1, 2, 3]}]}) == []
    (item,) = checker.check("traceroute", {"RouteHops": [{**hop, "RTTimes": [1, 2.5]}]})
    assert item.path.endswith("RTTimes[2]")


def test_datetimes_are_tr106_strings_never_null(checker: Checker) -> None:
    def host(change: Any) -> dict[str, Any]:
        return {"Hosts": {"Host": [{"ActiveLastChange": change}]}}

    assert checker.check("discovery", host("2026-12-02T16:00:00.123456Z")) == []
    assert checker.check("discovery", host(UNKNOWN_TIME)) == []
    (null,) = checker.check("discovery", host(None))
    assert null.path == "Device.Hosts.Host.1.ActiveLastChange" and UNKNOWN_TIME in null.problem
    for bad in ("2026-12-02 16:00:00", "2026-13-02T16:00:00Z", 1764691200.0):
        assert len(checker.check("discovery", host(bad))) == 1, bad


def test_a_value_outside_the_enumeration_is_flagged(checker: Checker) -> None:
    (found,) = checker.check("ping", _ping(Status="Error_Timeout"))
    assert (
        found.path == f"{PING}.Status"
        and "enumeration" in found.problem
        and "Error_NoRouteToHost" in found.model
    )


def test_the_envelope_status_is_checked_against_the_commands_status(checker: Checker) -> None:
    (found,) = checker.check("download", {}, status="Error_HouseholdBusy")
    assert "envelope status" in found.path and "Error_HouseholdBusy" in found.problem
    assert checker.check("download", {}, status="Complete") == []


def test_an_unknown_name_needs_the_vendor_prefix(checker: Checker) -> None:
    (found,) = checker.check("ping", _ping(LossPercent=0.0))
    assert found.path == f"{PING}.LossPercent" and VENDOR_PREFIX in found.problem
    extension = {vendor("LossPercent"): 0.5, vendor("Anything"): {"nested": [1, None]}}
    assert checker.check("ping", _ping(**extension)) == []


def test_everything_under_a_vendor_object_is_ours(checker: Checker) -> None:
    assert checker.check("http", {"whatever": 1.5, "Status": "Error_Mine"}) == []


def test_references_must_point_into_their_target_table(checker: Checker) -> None:
    def host(ref: str) -> dict[str, Any]:
        return {"Hosts": {"Host": [{"Layer3Interface": ref}]}}

    for good in ("Device.IP.Interface.1", "Device.IP.Interface.12.", ""):
        assert checker.check("discovery", host(good)) == [], good
    for bad in ("eth0", "Device.IP.Interface.", "Device.Ethernet.Interface.1", "Device.IP.Interface.x"):
        (found,) = checker.check("discovery", host(bad))
        assert (
            found.path == "Device.Hosts.Host.1.Layer3Interface" and "Device.IP.Interface." in found.model
        ), bad


def test_tables_are_arrays_and_their_counters_match(checker: Checker) -> None:
    rows = [{"HostName": "tv"}, {"HostName": "pc"}]
    assert checker.check("discovery", {"Hosts": {"HostNumberOfEntries": 2, "Host": rows}}) == []
    (count,) = checker.check("discovery", {"Hosts": {"HostNumberOfEntries": 3, "Host": rows}})
    assert count.path == "Device.Hosts.HostNumberOfEntries" and "3 but Host has 2" in count.problem
    (flat,) = checker.check("discovery", {"Hosts": rows})
    assert flat.path == "Device.Hosts." and "array where the model has an object" in flat.problem
    (single,) = checker.check("discovery", {"Hosts": {"Host": rows[0]}})
    assert "where the model has a table" in single.problem


def test_a_tr181_object_nested_in_a_vendor_object_is_checked(checker: Checker) -> None:
    lookup = {"Status": "Error_Timeout", "Result": [{"Status": "Success", "ResponseTime": 1.5}]}
    found = checker.check("dns", {"Lookups": [lookup]})
    assert [d.path.rsplit(".", 1)[-1] for d in found] == ["Status", "ResponseTime"]
    assert all("NSLookupDiagnostics()" in d.path for d in found)
    service = {"InstanceName": "Office", "Port": "631"}
    (port,) = checker.check("discovery", {"Hosts": {"Host": [{vendor("Services"): [service]}]}})
    assert port.path.endswith("Port") and "Device.DNS.SD.Service.{i}." in port.path


def test_a_kind_without_an_object_is_a_typed_error(checker: Checker) -> None:
    with pytest.raises(UnknownKind):
        checker.check("no-such-kind", {})
    (found,) = checker.check("ping", ["not", "an", "object"])
    assert "where the model has an object" in found.problem


# --- the CLI and the names we declare -----------------------------------------------------------


def test_cli_prints_deviations_and_exits_by_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad, broken = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "broken.json"
    good.write_text(json.dumps({"status": "Complete", "data": _ping()}))
    bad.write_text(json.dumps(_ping(AverageResponseTime=1.5)))
    broken.write_text("{")
    assert tr181.main(["ping", str(good)]) == 0
    assert tr181.main(["ping", str(good), "--status", "Error_Timeout"]) == 1
    assert tr181.main(["ping", str(bad)]) == 1
    assert "AverageResponseTime" in capsys.readouterr().out
    assert tr181.main(["ping", str(broken)]) == 2
    assert tr181.main(["no-such-kind", str(good)]) == 2
    assert "error:" in capsys.readouterr().err


def test_vendor_names_lists_the_structs_extensions() -> None:
    names = vendor_names()
    assert names, "the Structs declare vendor extensions"
    assert all(name.startswith(VENDOR_PREFIX) for name in names)
    assert all(where for where in names.values())


def test_docs_name_every_vendor_extension_the_structs_declare() -> None:
    text = DOCS.read_text()
    missing = [name for name in vendor_names() if name not in text]
    assert not missing, f"docs/tr181.md does not name: {', '.join(missing)}"


def test_usp_values_are_checked_as_text_of_their_type() -> None:
    model = load_model()
    good = {
        "Status": "Complete",
        "ResponseTime": "3",
        "RouteHops.1.HostAddress": "10.213.0.1",
        "RouteHops.1.RTTimes": "1,0,2",
        "X_HOMEDIAG-DEV_Method": "UDP",
    }
    assert usp_deviations(model, "Device.IP.Diagnostics.TraceRoute()", good) == []
    bad = {"ResponseTime": "2.5", "RouteHops.1.RTTimes": "1,fast", "Status": "Done", "Jitter": "1"}
    deviations = usp_deviations(model, "Device.IP.Diagnostics.TraceRoute()", bad)
    found = {d.path.rsplit(")", 1)[-1] for d in deviations}
    assert found == {"ResponseTime", "RouteHops.1.RTTimes", "Status", "Jitter"}
    hosts = {"Active": "true", "IPv4Address.1.IPAddress": "10.213.0.20", "ActiveLastChange": "yesterday"}
    (deviation,) = usp_deviations(model, "Device.Hosts.Host.{i}.", hosts)
    assert deviation.path.endswith("ActiveLastChange")
