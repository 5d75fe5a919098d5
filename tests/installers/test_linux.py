"""The Linux installer for real: into a throw-away root, enrolled with a real cloud on loopback,
run as its unit says (the homediag user, CAP_NET_RAW and CAP_NET_ADMIN only), upgraded in place,
uninstalled without a trace. Nothing here touches the host's /etc, /opt, users or systemd."""

from __future__ import annotations

import json
import pwd
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.installers.sandbox import (
    LINUX,
    UNIT_PATH,
    SystemRoot,
    cap_mask,
    parse_unit,
    proc_status,
    stop,
    walk_new,
)
from tests.support import CloudProcess, wait_for

STATE = "var/lib/homediag"
SITE = "opt/homediag/venv/lib/python3.11/site-packages"
Wheelhouse = tuple[Path, dict[str, Path]]


def outbox_meta(state: Path) -> dict[str, int]:
    with sqlite3.connect(state / "outbox.sqlite") as db:
        return {str(k): int(v) for k, v in db.execute("SELECT key, value FROM meta")}


def test_the_unit_grants_only_what_the_probes_need() -> None:
    service = parse_unit((LINUX / "homediag-agent.service").read_text())["Service"]
    assert service["User"] == ["homediag"]
    assert cap_mask(service["AmbientCapabilities"]) == cap_mask(["CAP_NET_RAW CAP_NET_ADMIN"])
    assert cap_mask(service["CapabilityBoundingSet"]) == cap_mask(["CAP_NET_RAW CAP_NET_ADMIN"])
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/homediag",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelTunables": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK AF_PACKET",
    }
    assert {k: service[k][-1] for k in expected} == expected
    assert service["SystemCallFilter"][0] == "@system-service"
    assert "PrivateUsers" not in service, "capabilities in a private user namespace miss the host's network"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--code", "7KQ2-M9XD"], "--code and --cloud go together"),
        (["--cloud", "http://127.0.0.1:1"], "--code and --cloud go together"),
        (["--source"], "--source needs a value"),
        (["--frobnicate"], "unknown option --frobnicate"),
        (["--upgrade"], "nothing to upgrade"),
    ],
)
def test_install_refuses_what_it_cannot_do(system_root: SystemRoot, args: list[str], error: str) -> None:
    with pytest.raises(AssertionError, match=error):
        system_root.run_script("install.sh", *args)
    assert system_root.user() is None and not (system_root.path / "opt/homediag").exists()


def verify_installed_unit(system_root: SystemRoot) -> None:
    """systemd's own checks of the installed unit, where its paths exist (inside the namespace)."""
    unit = f"/{UNIT_PATH}"
    verify = system_root.in_namespace(f"systemd-analyze verify {unit}")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout + verify.stderr == "", "systemd-analyze verify found something to say"
    security = system_root.in_namespace(f"systemd-analyze security --offline=yes {unit}")
    assert security.returncode == 0, security.stderr
    found = re.search(r"Overall exposure level for homediag-agent\.service: ([\d.]+)", security.stdout)
    assert found, security.stdout[-2000:]
    assert float(found.group(1)) <= 2.5, security.stdout


def test_install_enroll_run_upgrade_uninstall(
    system_root: SystemRoot, wheelhouse: Wheelhouse, tmp_path: Path
) -> None:
    directory, wheels = wheelhouse
    root = system_root.path
    state = root / STATE
    base_system = system_root.snapshot()
    cloud = CloudProcess(tmp_path)
    cloud.start()
    agent: subprocess.Popen[bytes] | None = None
    try:
        # --- install and enroll in one step ---------------------------------------------------
        system_root.install(
            wheels["homediag"], directory, "--cloud", cloud.api_url, "--code", cloud.pairing_code()
        )
        assert (root / SITE / "homediag-0.1.0.dist-info").is_dir()
        script = (root / "opt/homediag/venv/bin/homediag-agent").read_text()
        assert script.startswith("#!/opt/homediag/venv/bin/python\n")
        # A --root install is a true staging: the throw-away root's path leaks into no file.
        for path in [*(root / "opt/homediag/venv/bin").iterdir(), root / "opt/homediag/venv/pyvenv.cfg"]:
            if path.is_file() and not path.is_symlink():
                assert str(root).encode() not in path.read_bytes(), path
        user = system_root.user()
        assert user is not None, "no homediag user in the root's /etc/passwd"
        uid, gid = user
        assert 0 < uid < 1000, "not a system user"
        assert uid not in {pw.pw_uid for pw in pwd.getpwall()}, "the test's uid is a host account's"
        entry = next(x for x in (root / "etc/passwd").read_text().splitlines() if x.startswith("homediag:"))
        assert entry.split(":")[5:] == ["/nonexistent", "/usr/sbin/nologin"]
        assert not (root / "nonexistent").exists()
        st = state.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o700)
        for name in ("agent-key.pem", "enrollment.json", "tls-key.pem"):
            st = (state / name).stat()
            assert (st.st_uid, st.st_mode & 0o077) == (uid, 0), f"{name} is not the agent's own"
        venv = root / "opt/homediag/venv"
        assert venv.stat().st_uid == 0 and not venv.stat().st_mode & 0o022, "the agent could rewrite itself"
        enrollment = (state / "enrollment.json").read_bytes()
        identity = (state / "agent-key.pem").read_bytes()
        agent_id = json.loads(enrollment)["agent_id"]
        verify_installed_unit(system_root)
        with pytest.raises(AssertionError, match="already installed"):
            system_root.install(wheels["homediag"], directory)

        # --- run as the unit says: the dedicated user with two capabilities ----------------------
        agent = system_root.start_service(tmp_path / "agent.log")

        def telemetry() -> object:
            if agent is not None and agent.poll() is not None:
                raise AssertionError((tmp_path / "agent.log").read_text()[-3000:])
            return cloud.get(f"/api/v1/agents/{agent_id}/telemetry/latest")["probes"].get("netdev")

        netdev = wait_for(telemetry, 30, "telemetry from the installed agent")
        assert netdev["status"] == "Complete"
        status = proc_status(agent.pid)
        assert status["Uid"].split() == [str(uid)] * 4
        assert status["Gid"].split() == [str(gid)] * 4
        assert set(status["Groups"].split()) <= {str(gid)}
        only = cap_mask(["CAP_NET_RAW CAP_NET_ADMIN"])
        caps = {k: int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
        assert caps == dict.fromkeys(caps, only), {k: hex(v) for k, v in caps.items()}
        assert status["NoNewPrivs"] == "1"
        cmdline = Path(f"/proc/{agent.pid}/cmdline").read_bytes().split(b"\0")
        assert b"/opt/homediag/venv/bin/homediag-agent" in cmdline
        assert (state / "outbox.sqlite").stat().st_uid == uid
        # Footprint guard (installers/README.md): about 45 MB; scapy at start-up would double it.
        assert int(status["VmRSS"].split()[0]) < 100 * 1024, status["VmRSS"]
        stop(agent)
        stored_before = cloud.report_keys(agent_id)
        assert stored_before

        # --- upgrade in place: new software, same identity, same outbox ----------------------------
        config = (root / "etc/homediag/agent.toml").read_bytes()
        meta = outbox_meta(state)
        system_root.install(wheels["homediag-next"], directory, "--upgrade")
        assert (root / SITE / "homediag-0.1.1.dist-info").is_dir()
        assert not (root / SITE / "homediag-0.1.0.dist-info").exists()
        assert not (root / "opt/homediag/venv.new").exists()
        assert (state / "enrollment.json").read_bytes() == enrollment
        assert (state / "agent-key.pem").read_bytes() == identity
        assert outbox_meta(state) == meta
        assert (root / "etc/homediag/agent.toml").read_bytes() == config
        agent = system_root.start_service(tmp_path / "agent.log")
        wait_for(
            lambda: len(cloud.report_keys(agent_id)) > len(stored_before), 30, "reports after the upgrade"
        )
        stop(agent)
        keys = cloud.report_keys(agent_id)
        assert {epoch for epoch, _ in keys} == {meta["epoch"]}, "the upgrade started a new outbox epoch"
        assert len(keys) == len(set(keys))
    finally:
        stop(agent)
        cloud.stop()

    # --- uninstall, keeping the identity: only the state is left, and it is root's -----------------
    system_root.uninstall("--keep-identity")
    left = set(walk_new(base_system, system_root.snapshot()))
    assert left, "--keep-identity kept nothing"
    assert {p.split("/")[:3] == ["var", "lib", "homediag"] for p in left} == {True}, sorted(left)
    assert (state / "enrollment.json").read_bytes() == enrollment
    assert {(p.stat().st_uid, p.stat().st_gid) for p in [state, *state.iterdir()]} == {(0, 0)}
    assert system_root.user() is None and not system_root.group_exists()

    # --- a reinstall carries on as the same agent ------------------------------------------------
    system_root.install(wheels["homediag"], directory)
    user = system_root.user()
    assert user is not None
    assert state.stat().st_uid == user[0] and (state / "agent-key.pem").stat().st_uid == user[0]
    # The installed CLI at its real path: rewritten shebang, default config, the kept identity.
    cli = system_root.in_namespace("/opt/homediag/venv/bin/homediag-agent status --json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["agent_id"] == agent_id
    assert json.loads(cli.stdout)["state_dir"] == "/var/lib/homediag"

    # --- uninstall: nothing left behind ------------------------------------------------------------
    system_root.uninstall()
    after = system_root.snapshot()
    assert sorted(walk_new(base_system, after)) == []
    assert sorted(set(base_system) - set(after)) == []
