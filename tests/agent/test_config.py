"""Agent configuration: file, environment overrides, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent import ConfigError, load_config
from agent.probes import ProbeConfigError, create
from agent.usage.interfaces import interface_path


def test_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('state_dir = "/tmp/x"\n[link]\nkeepalive_s = 10\n[probes.netdev]\ninterval_s = 5\n')
    config = load_config(
        path,
        environ={
            "HOMEDIAG_AGENT_LINK__RESEND_AFTER_S": "7",
            "HOMEDIAG_AGENT_PROBES__NETDEV__INTERVAL_S": "2.5",
            "HOMEDIAG_AGENT_LOG_LEVEL": "debug",
        },
    )
    assert config.state_dir == Path("/tmp/x")
    assert config.link.keepalive_s == 10
    assert config.link.resend_after_s == 7.0
    assert config.probes["netdev"]["interval_s"] == 2.5
    assert config.log_level == "DEBUG"


@pytest.mark.parametrize(
    "text",
    [
        "nonsense = 1\n",
        "[link]\nkeepalive_s = 'ten'\n",
        "[link]\nunknown = 1\n",
        "[outbox]\nmax_messages = 1\n",
        "[link]\nmax_inflight = 100000\n",
        "probes = 3\n",
        "this is not toml",
    ],
)
def test_bad_files_are_config_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_config(path, environ={})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(tmp_path / "absent.toml", environ={})


@pytest.mark.parametrize(
    "options", [{"interval_s": 0}, {"interval_s": "often"}, {"bogus": 1}, {"interfaces": "eth0"}]
)
def test_probe_options_are_validated(options: dict[str, object]) -> None:
    with pytest.raises(ProbeConfigError):
        create("netdev", options)
    with pytest.raises(ProbeConfigError):
        create("no-such-probe", {})


async def test_netdev_reports_tr181_counters() -> None:
    probe = create("netdev", {"interfaces": ["lo"]})
    result = await probe.run()
    assert result is not None and result.status == "Complete"
    table = result.data["Interface"]
    assert result.data["InterfaceNumberOfEntries"] == len(table)
    by_name = {row["Name"]: (n, row) for n, row in enumerate(table, start=1)}
    number, lo = by_name["lo"]
    assert interface_path("lo") == f"Device.IP.Interface.{number}", "the table is numbered as references are"
    assert lo["Stats"]["BytesSent"] >= 0 and lo["Type"] == "Loopback" and lo["Status"] == "Up"
    assert all("Stats" not in row for name, (_n, row) in by_name.items() if name != "lo"), (
        "a row the options leave out keeps its place, without counters"
    )
