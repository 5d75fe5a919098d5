"""Issue 19's acceptance: everything the agent emits in real runs conforms to the official TR-181 model.

Every shipped probe runs as the runner runs it and every connectivity and discovery command runs
(with a ping nobody answers and a lookup against a server that is not there), inside the virtual
home; each sample and result is checked by ``tests.tr181`` against ``../shared/tr181`` (or the
vendored copy): names, types, ranges, enumerations, references, tables and their counters, and the
vendor prefix on every name the model lacks. One test per kind, so a failure names the kind and
lists its deviations. ``HOMEDIAG_TR181_DEVIATIONS=FILE`` writes all of them to FILE,
``HOMEDIAG_TR181_REPORTS=FILE`` the reports themselves (to rerun ``python -m tests.tr181`` on one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.probes import registered
from lab import Lab
from tests.tr181 import Checker, Deviation, load_model

from .real_reports import COMMANDS, Report, run_reports, speed_test

pytestmark = pytest.mark.lab

SAMPLE_KINDS = sorted(str(getattr(kind, "value", kind)) for kind in registered())
#: Why the real runs failed, once: pytest would otherwise run them again for every test.
_RUNS_FAILED: list[str] = []


@pytest.fixture(scope="module")
def reports(home: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Report]]:
    if _RUNS_FAILED:
        pytest.fail(_RUNS_FAILED[0])
    with speed_test(home) as speed:
        try:
            got = run_reports(home, speed, tmp_path_factory.mktemp("agent-state"))
        except Exception as exc:
            _RUNS_FAILED.append(f"the real runs failed: {exc}")
            raise
        yield got


@pytest.fixture(scope="module")
def deviations(reports: list[Report]) -> dict[str, list[Deviation]]:
    """Every report checked once: (sample|result):label -> its deviations (all runs of a kind)."""
    checker = Checker(load_model())
    found: dict[str, list[Deviation]] = {}
    for report in reports:
        if report.kind == "error":
            raised = report.data["traceback"].strip().splitlines()[-1]
            found.setdefault(f"{report.status}:{report.label}", []).append(
                Deviation("(run)", f"raised {raised}")
            )
            continue
        command = report.kind == "result"
        # A sample's envelope status is checked against its command's Status; a result's Status is its data's.
        status = None if command else report.status
        got = checker.check(report.name, report.data, status=status, command=command)
        found.setdefault(f"{report.kind}:{report.label}", []).extend(got)
    dump = os.environ.get("HOMEDIAG_TR181_REPORTS")
    if dump:
        Path(dump).write_text(json.dumps([r._asdict() for r in reports], indent=1))
    target = os.environ.get("HOMEDIAG_TR181_DEVIATIONS")
    if target:
        lines = [f"{case}\t{d}" for case, got in sorted(found.items()) for d in dict.fromkeys(got)]
        Path(target).write_text("\n".join(lines) + ("\n" if lines else ""))
    return found


def _message(case: str, got: list[Deviation]) -> str:
    unique = list(dict.fromkeys(got))
    return f"{case}: {len(unique)} deviations from TR-181:\n" + "\n".join(f"  {d}" for d in unique)


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_sample_kind_conforms_to_tr181(kind: str, deviations: dict[str, list[Deviation]]) -> None:
    case = f"sample:{kind}"
    assert case in deviations, f"no real {kind} sample was run"
    assert not deviations[case], _message(case, deviations[case])


@pytest.mark.parametrize("label", COMMANDS)
def test_command_result_conforms_to_tr181(label: str, deviations: dict[str, list[Deviation]]) -> None:
    case = f"result:{label}"
    assert case in deviations, f"no real {label} result was run"
    assert not deviations[case], _message(case, deviations[case])


def test_the_no_answer_cases_were_really_exercised(reports: list[Report]) -> None:
    """The edge cases are only worth checking when they happened: nothing answered, nothing listened."""
    by_label = {r.label: r for r in reports if r.kind == "result"}
    assert {"ping-no-answer", "dns_lookup-no-server"} <= set(by_label), "both runs raised"
    assert by_label["ping-no-answer"].data.get("SuccessCount", 0) == 0
    no_server = by_label["dns_lookup-no-server"].data
    assert no_server.get("SuccessCount", 0) == 0
    assert all(r.get("Status") != "Success" for r in no_server.get("Result", [])), no_server
