"""OS interface names as TR-181 ``Device.IP.Interface.{i}`` references (agent/usage/interfaces.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent.usage import interfaces
from agent.usage.interfaces import interface_names, interface_path, link_type, oper_status


def test_paths_follow_the_kernels_ifindex_order() -> None:
    by_index = [name for _, name in sorted(socket.if_nameindex())]
    assert interface_names() == by_index
    for number, name in enumerate(by_index, start=1):
        assert interface_path(name) == f"Device.IP.Interface.{number}"
    assert interface_path("no-such-if0") == "", "TR-106's empty reference for an unknown name"


def test_an_unreadable_interface_list_is_no_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[tuple[int, str]]:
        raise OSError("no netlink")

    monkeypatch.setattr(socket, "if_nameindex", broken)
    assert interface_names() == [] and interface_path("lo") == ""


def _fake_sys(root: Path, name: str, **files: str) -> None:
    (root / name).mkdir(parents=True)
    for file, text in files.items():
        (root / name / file).write_text(text + "\n")


def test_status_and_link_type_from_sysfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interfaces, "SYS_NET", tmp_path)
    _fake_sys(tmp_path, "eth0", operstate="up", type="1")
    _fake_sys(tmp_path, "wlan0", operstate="dormant", type="1", wireless="")
    (tmp_path / "wlan0" / "wireless").unlink()
    (tmp_path / "wlan0" / "wireless").mkdir()
    _fake_sys(tmp_path, "br-lan", operstate="lowerlayerdown", type="1")
    (tmp_path / "br-lan" / "bridge").mkdir()
    _fake_sys(tmp_path, "tun0", operstate="unknown", type="65534")
    assert (oper_status("eth0"), link_type("eth0")) == ("Up", "Ethernet")
    assert (oper_status("wlan0"), link_type("wlan0")) == ("Dormant", "Wi-Fi")
    assert (oper_status("br-lan"), link_type("br-lan")) == ("LowerLayerDown", "Other")
    assert (oper_status("tun0", is_up=True), oper_status("tun0"), link_type("tun0")) == (
        "Up",
        "Unknown",
        "Other",
    )
    assert (oper_status("gone0"), link_type("gone0")) == ("Unknown", "Other")
