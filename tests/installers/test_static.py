"""Static checks of every installer: shellcheck, the launchd plist, the OpenWrt init script and
package recipes, the Windows service configuration and the PowerShell scripts."""

from __future__ import annotations

import json
import plistlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.installers import powershell
from tests.installers.conftest import require

INSTALLERS = Path(__file__).resolve().parents[2] / "installers"
OPENWRT = INSTALLERS / "openwrt"
INIT_SCRIPT = OPENWRT / "homediag-agent" / "files" / "homediag-agent.init"
CAPS = ("CAP_NET_ADMIN", "CAP_NET_RAW")
#: Packages of the OpenWrt packages feed (lang/python and base) the recipes may depend on; the
#: rest must be built by a recipe of ours (python3-msgspec, python3-aiomqtt, python3-netaddr).
OPENWRT_FEED = {
    "python3-light", "python3-asyncio", "python3-logging", "python3-sqlite3", "python3-urllib",
    "python3-email", "python3-openssl", "python3-uuid", "python3-ctypes", "python3-cryptography",
    "python3-psutil", "python3-paho-mqtt", "python3-zeroconf", "python3-defusedxml", "python3-dns",
    "python3-pyroute2", "procd-ujail",
}  # fmt: skip
#: procd_set_param keys procd's instance handler knows (procd/service/instance.c).
PROCD_PARAMS = {
    "command", "env", "data", "limits", "file", "netdev", "respawn", "watch", "error", "nice",
    "term_timeout", "reload_signal", "stdout", "stderr", "user", "group", "pidfile", "seccomp",
    "capabilities", "no_new_privs", "jail", "extroot", "facility", "console",
}  # fmt: skip


def shell_scripts() -> list[Path]:
    """Every file under installers/ that starts with a #!/bin/sh or bash line."""
    return sorted(
        p
        for p in INSTALLERS.rglob("*")
        if p.is_file() and re.match(rb"#!\s*/(usr/)?bin/(env )?(ba)?sh\b", p.read_bytes()[:40])
    )


def test_every_installer_script_is_found() -> None:
    names = {str(p.relative_to(INSTALLERS)) for p in shell_scripts()}
    assert {
        "linux/install.sh",
        "linux/uninstall.sh",
        "macos/install.sh",
        "macos/uninstall.sh",
        "openwrt/homediag-agent/files/homediag-agent.init",
        "openwrt/homediag-agent/files/homediag-enroll",
    } <= names


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: str(p.relative_to(INSTALLERS)))
def test_shellcheck(script: Path) -> None:
    require(shutil.which("shellcheck") is not None, "shellcheck is not installed (./dev test installs it)")
    # POSIX sh for all: OpenWrt has BusyBox ash, macOS's /bin/sh is a POSIX mode.
    result = subprocess.run(
        ["shellcheck", "--shell=sh", "--severity=style", str(script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    assert script.stat().st_mode & 0o111, f"{script.name} is not executable"


# --- macOS -------------------------------------------------------------------------------------------


def test_launchd_plist() -> None:
    path = INSTALLERS / "macos" / "net.homediag.agent.plist"
    with path.open("rb") as fh:
        plist = plistlib.load(fh)
    assert plist["Label"] == path.stem
    program = plist["ProgramArguments"]
    assert program[0] == "/usr/local/homediag/venv/bin/homediag-agent"
    assert program[-1] == "run" and program[program.index("--config") + 1] == "/etc/homediag/agent.toml"
    assert plist["UserName"] == "homediag" and plist["GroupName"] == "homediag"
    assert plist["KeepAlive"] is True and plist["RunAtLoad"] is True
    assert plist["Umask"] == 0o077
    for key in ("StandardOutPath", "StandardErrorPath", "WorkingDirectory"):
        assert plist[key].startswith("/"), key
    # The installer makes what the plist names: the user (alias), the directories.
    installer = (INSTALLERS / "macos" / "install.sh").read_text()
    assert "ALIAS=homediag" in installer and "RecordName" in installer
    assert f"STATE_DIR={plist['WorkingDirectory']}" in installer
    assert f"LOG_DIR={Path(plist['StandardOutPath']).parent}" in installer
    assert "VENV=$PREFIX/venv" in installer and "PREFIX=/usr/local/homediag" in installer


# --- OpenWrt -----------------------------------------------------------------------------------------

STUBS = """
procd_open_instance() { echo "open $*"; }
procd_close_instance() { echo "close"; }
procd_set_param() { key=$1; shift; echo "param $key $*"; }
logger() { echo "logger $*"; }
"""


def run_start_service(state_dir: Path) -> list[str]:
    """start_service() of the init script under dash, with procd's functions stubbed."""
    script = f"{STUBS}\n. {INIT_SCRIPT}\nSTATE_DIR={state_dir}\nstart_service\n"
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True, timeout=30)
    return [line.strip() for line in result.stdout.splitlines()]


def test_openwrt_init_script_uses_procd(tmp_path: Path) -> None:
    text = INIT_SCRIPT.read_text()
    assert text.startswith("#!/bin/sh /etc/rc.common\n")
    assert re.search(r"(?m)^USE_PROCD=1$", text) and re.search(r"(?m)^START=\d+$", text)
    assert re.search(r"(?m)^start_service\(\) \{$", text)
    # Not enrolled: no instance, a word in the log instead of a respawn loop.
    assert [line.split()[0] for line in run_start_service(tmp_path)] == ["logger"]
    (tmp_path / "enrollment.json").write_text("{}")
    calls = run_start_service(tmp_path)
    assert calls[0] == "open" and calls[-1] == "close"
    params = {line.split()[1]: line.split()[2:] for line in calls[1:-1]}
    assert all(line.startswith("param ") for line in calls[1:-1]), calls
    assert set(params) <= PROCD_PARAMS, set(params) - PROCD_PARAMS
    assert params["command"] == ["/usr/bin/homediag-agent", "--config", "/etc/homediag/agent.toml", "run"]
    assert params["user"] == ["homediag"] and params["group"] == ["homediag"]
    assert params["respawn"] and all(n.isdigit() for n in params["respawn"])
    assert params["no_new_privs"] == ["1"]
    caps_path = params["capabilities"][0]
    caps = json.loads((OPENWRT / "homediag-agent/files/homediag-agent.capabilities.json").read_text())
    assert set(caps) == {"bounding", "effective", "permitted", "inheritable", "ambient"}
    assert all(sorted(v) == list(CAPS) for v in caps.values()), caps
    makefile = (OPENWRT / "homediag-agent" / "Makefile").read_text()
    assert f"homediag-agent.capabilities.json $(1){caps_path}" in makefile


def makefile_depends(text: str) -> set[str]:
    joined = text.replace("\\\n", " ")
    return {d.lstrip("+") for m in re.findall(r"(?m)^\s*DEPENDS:=(.*)", joined) for d in m.split()}


@pytest.mark.parametrize("recipe", sorted(OPENWRT.glob("*/Makefile")), ids=lambda p: p.parent.name)
def test_openwrt_recipe(recipe: Path) -> None:
    text = recipe.read_text()
    assert re.search(r"(?m)^include \$\(TOPDIR\)/rules\.mk$", text)
    for var in ("PKG_NAME", "PKG_VERSION", "PKG_RELEASE", "PKG_LICENSE", "PKG_HASH"):
        assert re.search(rf"(?m)^{var}:=\S", text), var
    assert re.search(r"(?m)^PKG_NAME:=" + re.escape(recipe.parent.name) + "$", text)
    assert "$(eval $(call BuildPackage," in text
    # make wants tabs before recipe lines.
    for line in text.splitlines():
        if line.lstrip().startswith(("$(INSTALL_", "$(CP)")):
            assert line.startswith("\t"), line
    for name in re.findall(r"\./files/([\w.-]+)", text):
        assert (recipe.parent / "files" / name).is_file(), name
    ours = {re.sub(r"^python-", "python3-", p.parent.name) for p in OPENWRT.glob("*/Makefile")} | {
        "homediag-agent"
    }
    unknown = makefile_depends(text) - OPENWRT_FEED - ours
    assert not unknown, f"neither in the OpenWrt feed nor built here: {unknown}"


def test_openwrt_agent_depends_on_what_the_agent_imports() -> None:
    depends = makefile_depends((OPENWRT / "homediag-agent" / "Makefile").read_text())
    for needed in ("python3-light", "python3-cryptography", "python3-psutil", "python3-msgspec"):
        assert needed in depends
    assert {"python3-aiomqtt", "python3-paho-mqtt", "python3-sqlite3", "python3-asyncio"} <= depends


# --- Windows -----------------------------------------------------------------------------------------


def test_winsw_service_configuration() -> None:
    root = ET.parse(INSTALLERS / "windows" / "homediag-agent-service.xml").getroot()
    assert root.tag == "service"
    assert root.findtext("id") == "homediag-agent"
    assert root.findtext("executable") == r"%BASE%\venv\Scripts\homediag-agent.exe"
    arguments = root.findtext("arguments") or ""
    assert arguments.endswith(" run") and "--config" in arguments
    assert root.findtext("serviceaccount/username") == r"NT AUTHORITY\LocalService"
    assert root.find("onfailure") is not None and root.findtext("startmode") == "Automatic"
    installer = (INSTALLERS / "windows" / "install.ps1").read_text()
    # WinSW reads the XML named like its own executable.
    assert "'homediag-agent-service.exe'" in installer and "'homediag-agent-service.xml'" in installer


@pytest.mark.parametrize("script", ["install.ps1", "uninstall.ps1"])
def test_powershell(script: Path | str) -> None:
    path = INSTALLERS / "windows" / str(script)
    report = powershell.check(path.read_text())
    assert report.errors == [], report.errors
    pwsh = shutil.which("pwsh")
    if pwsh is None:
        return  # PowerShell is not in Debian: the structural check above is what CI runs.
    command = (
        "$errors = $null; "
        "[void][System.Management.Automation.Language.Parser]::"
        f"ParseFile('{path}', [ref]$null, [ref]$errors); "
        "$errors | ForEach-Object { $_.ToString() }"
    )
    result = subprocess.run(
        [pwsh, "-NoProfile", "-Command", command], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "", result.stdout


def test_the_powershell_checker_finds_faults() -> None:
    header = (
        "#Requires -RunAsAdministrator\nparam(\n)\nSet-StrictMode -Version Latest\n"
        "$ErrorActionPreference = 'Stop'\n"
    )
    assert powershell.check(header + '$a = 1\nWrite-Host "$a"\n').errors == []
    assert "is never closed" in powershell.check(header + "if ($true) {\n").errors[0]
    assert "$b is read" in powershell.check(header + 'Write-Host "x $b"\n').errors[0]
    assert "unterminated string" in powershell.check(header + "Write-Host 'x\n").errors[0]
    unsafe = powershell.check("#Requires -RunAsAdministrator\nparam(\n)\n").errors
    assert "missing Set-StrictMode -Version Latest" in unsafe
