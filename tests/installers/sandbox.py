"""A throw-away system root for the Linux installer, and the agent run there as its unit says.

``install.sh --root DIR`` installs into ``DIR`` as if it were ``/``: the user goes into
``DIR/etc/passwd`` (``useradd --root``), the venv into ``DIR/opt/homediag``, and so on. To run what
was installed at the paths it was installed for, a process enters a private mount namespace where
overlays put ``DIR/etc``, ``DIR/opt`` and ``DIR/var/lib`` over the host's ``/etc``, ``/opt`` and
``/var/lib``: inside, the installation is where the unit expects it, and the host sees none of it
(every write lands in ``DIR``). systemd does not run here, so the unit's user, groups, capabilities,
``NoNewPrivileges``, environment, working directory and umask are applied with ``setpriv`` as
systemd would apply them; the sandboxing options it cannot emulate are checked by
``systemd-analyze verify`` and ``systemd-analyze security`` instead.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.installers.wheelhouse import offline_pip_env

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "installers" / "linux"
UNIT_PATH = "etc/systemd/system/homediag-agent.service"
#: Mounted over the host's directories inside the namespace (DIR/x over /x).
OVERLAID = ("etc", "opt", "var/lib")
#: Files shadow-utils rewrites on every useradd/userdel on any system (backups, the lock):
#: part of the base system, so their presence is compared but not their content.
SHADOW_UTILS_FILES = ("etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-", "etc/.pwd.lock")
#: What systemd sets for a service with ``User=`` before adding ``Environment=``.
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Entry:
    kind: str
    mode: int
    uid: int
    gid: int
    content: str


class SystemRoot:
    """A minimal root file system in a world-traversable temporary directory.

    World-traversable because the agent's own user must reach its files inside it (pytest's
    ``tmp_path`` is 0700 root).
    """

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="homediag-root-"))
        self.base.chmod(0o755)
        self.path = self.base / "root"
        self.work = self.base / "overlay-work"
        etc = self.path / "etc"
        for d in ("etc/systemd/system", "usr/local/bin", "usr/sbin", "opt", "var/lib", "tmp"):
            (self.path / d).mkdir(parents=True)
        (self.path / "tmp").chmod(0o1777)
        (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (etc / "group").write_text("root:x:0:\n")
        (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
        (etc / "gshadow").write_text("root:*::\n")
        for name in ("shadow", "gshadow"):
            (etc / name).chmod(0o640)
        for name in ("passwd", "group", "shadow", "gshadow"):
            shutil.copy2(etc / name, etc / f"{name}-")
        (etc / ".pwd.lock").touch(mode=0o600)
        if Path("/etc/login.defs").exists():
            shutil.copy2("/etc/login.defs", etc / "login.defs")
        # System ids no host account or group has, so the agent's processes and files here are
        # nobody else's on the host's kernel.
        low = free_system_id_block()
        with (etc / "login.defs").open("a") as fh:
            for key in ("UID", "GID"):
                fh.write(f"SYS_{key}_MIN {low}\nSYS_{key}_MAX {low + 9}\n")
        nologin = self.path / "usr/sbin/nologin"
        shutil.copy2(shutil.which("nologin") or "/usr/sbin/nologin", nologin)

    def cleanup(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    # --- the installers ---------------------------------------------------------------------------

    def run_script(self, script: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["sh", str(LINUX / script), "--root", str(self.path), *args],
            capture_output=True,
            text=True,
            timeout=180,
            env=offline_pip_env(),
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"{script} {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def install(self, wheel: Path, wheelhouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_script(
            "install.sh", "--source", str(wheel), "--no-index", "--find-links", str(wheelhouse), *args
        )

    def uninstall(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_script("uninstall.sh", *args)

    # --- what is there ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for dirpath, dirnames, filenames in os.walk(self.path):
            for name in dirnames + filenames:
                full = Path(dirpath) / name
                rel = str(full.relative_to(self.path))
                st = full.lstat()
                if stat.S_ISLNK(st.st_mode):
                    kind, content = "link", os.readlink(full)
                elif stat.S_ISDIR(st.st_mode):
                    kind, content = "dir", ""
                else:
                    kind = "file"
                    content = (
                        "" if rel in SHADOW_UTILS_FILES else hashlib.sha256(full.read_bytes()).hexdigest()
                    )
                out[rel] = Entry(kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, content)
        return out

    def user(self, name: str = "homediag") -> tuple[int, int] | None:
        for line in (self.path / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2]), int(fields[3])
        return None

    def group_exists(self, name: str = "homediag") -> bool:
        return any(line.split(":")[0] == name for line in (self.path / "etc/group").read_text().splitlines())

    def unit(self) -> dict[str, list[str]]:
        return parse_unit((self.path / UNIT_PATH).read_text())["Service"]

    # --- inside the namespace ---------------------------------------------------------------------

    def _overlay_script(self) -> list[str]:
        lines = ["set -e"]
        for i, d in enumerate(OVERLAID):
            work = self.work / str(i)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            options = f"lowerdir=/{d},upperdir={self.path / d},workdir={work}"
            lines.append(f"mount -t overlay homediag-test -o {options} /{d}")
        return lines

    def in_namespace(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a shell command as root where the installation sits at its real paths."""
        script = "\n".join([*self._overlay_script(), command])
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_service(self, log: Path) -> subprocess.Popen[bytes]:
        """Start ExecStart the way systemd would for the installed unit (one PID: every step execs)."""
        service = self.unit()
        user, group = service["User"][-1], service["Group"][-1]
        ambient = caps_for_setpriv(service["AmbientCapabilities"])
        bounding = caps_for_setpriv(service["CapabilityBoundingSet"])
        home = next(
            line.split(":")[5]
            for line in (self.path / "etc/passwd").read_text().splitlines()
            if line.split(":")[0] == user
        )
        env = [f"PATH={SERVICE_PATH}", f"HOME={home}", f"USER={user}", f"LOGNAME={user}", "LANG=C.UTF-8"]
        for entry in service.get("Environment", []):
            env += shlex.split(entry)
        setpriv = ["setpriv", "--reuid", user, "--regid", group, "--init-groups"]
        setpriv += [
            f"--inh-caps=-all,{ambient}",
            f"--ambient-caps={ambient}",
            f"--bounding-set=-all,{bounding}",
        ]
        if service.get("NoNewPrivileges", ["no"])[-1] == "yes":
            setpriv.append("--no-new-privs")
        command = [*setpriv, "env", "-i", *env, *shlex.split(service["ExecStart"][-1])]
        lines = self._overlay_script()
        lines.append(f"cd {shlex.quote(service.get('WorkingDirectory', ['/'])[-1])}")
        lines.append(f"umask {service.get('UMask', ['0022'])[-1]}")
        lines.append("exec " + shlex.join(command))
        with log.open("ab") as fh:
            return subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines)],
                stdout=fh,
                stderr=fh,
            )


def free_system_id_block() -> int:
    """The first of ten system ids (500-989) that no host user or group uses."""
    used = {pw.pw_uid for pw in pwd.getpwall()} | {gr.gr_gid for gr in grp.getgrall()}
    for low in range(500, 990, 10):
        if not used & set(range(low, low + 10)):
            return low
    raise AssertionError("no free block of system ids on this host")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section -> key -> every value given (later ones win or add, per key)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"a key outside a section: {line}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def caps_for_setpriv(values: list[str]) -> str:
    """``CAP_NET_RAW CAP_NET_ADMIN`` -> ``+net_raw,+net_admin``."""
    names = [word for value in values for word in value.split()]
    assert names and all(n.startswith("CAP_") for n in names), names
    return ",".join(f"+{n.removeprefix('CAP_').lower()}" for n in names)


def cap_mask(values: list[str]) -> int:
    """The kernel's bit mask for capability names (linux/capability.h numbering)."""
    numbers = {"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13}
    mask = 0
    for word in (w for v in values for w in v.split()):
        mask |= 1 << numbers[word]
    return mask


def proc_status(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def walk_new(before: dict[str, Entry], after: dict[str, Entry]) -> Iterator[str]:
    """Paths that appeared or changed between two snapshots."""
    for path, entry in sorted(after.items()):
        if before.get(path) != entry:
            yield path
