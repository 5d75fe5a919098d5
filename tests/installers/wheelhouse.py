"""An offline wheelhouse for the installer tests: the installers must never reach a package index.

homediag's own wheel is built from a copy of the source tree with the test venv's setuptools
(no build isolation, no index). Its dependencies are re-packed from the distributions installed
in the test venv: a wheel is a zip of the files its RECORD lists plus the ``.dist-info``, so the
installed files give back an equivalent wheel, compiled extensions included (the interpreters
share the ``cp311`` ABI). Only the closure of ``homediag[agent]`` is packed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PARTS = ("pyproject.toml", "README.md", "protocol", "agent", "cloud", "lab")


def build_homediag(out: Path, work: Path, version: str | None = None) -> Path:
    """Build homediag's wheel into ``out``; ``version`` overrides the one in pyproject.toml."""
    src = work / f"src-{version or 'as-is'}"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    for part in SOURCE_PARTS:
        origin = ROOT / part
        if origin.is_dir():
            shutil.copytree(origin, src / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, src / part)
    if version is not None:
        pyproject = src / "pyproject.toml"
        text, count = re.subn(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text())
        assert count == 1, "no version line in pyproject.toml"
        pyproject.write_text(text)
    before = set(out.glob("homediag-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        env=offline_pip_env(),
    )
    (built,) = set(out.glob("homediag-*.whl")) - before
    return built


def offline_pip_env() -> dict[str, str]:
    """The environment without the machine's pip settings (its indexes, find-links, constraints)."""
    import os  # noqa: PLC0415

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def agent_closure(homediag_wheel: Path) -> list[metadata.Distribution]:
    """The installed distributions ``homediag[agent]`` needs, as the freshly built wheel says."""
    environment = {k: str(v) for k, v in default_environment().items()}
    wanted: list[tuple[str, frozenset[str]]] = [("homediag", frozenset({"agent"}))]
    seen: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    while wanted:
        name, extras = wanted.pop()
        key = canonicalize_name(name)
        if (key, extras) in done:
            continue
        done.add((key, extras))
        if key == "homediag":
            # Not the installed (editable, possibly stale) metadata: the wheel the tests install.
            requires = _wheel_requires(homediag_wheel)
        else:
            seen[key] = dist = metadata.distribution(name)
            requires = dist.requires or []
        for line in requires:
            req = Requirement(line)
            if req.marker is not None and not any(
                req.marker.evaluate({**environment, "extra": extra}) for extra in (extras or {""})
            ):
                continue
            wanted.append((req.name, frozenset(req.extras)))
    return list(seen.values())


def _wheel_requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as whl:
        name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        text = whl.read(name).decode()
    return re.findall(r"(?m)^Requires-Dist: (.+)$", text)


def repack(dist: metadata.Distribution, out: Path) -> Path:
    """Zip an installed distribution back into a wheel."""
    base = Path(str(dist.locate_file("")))
    files = [f for f in dist.files or [] if not str(f).startswith("..") and "__pycache__" not in str(f)]
    info_dir = next(str(f).split("/")[0] for f in files if str(f).split("/")[0].endswith(".dist-info"))
    wheel_meta = (base / info_dir / "WHEEL").read_text()
    tags = re.findall(r"(?m)^Tag: (\S+)$", wheel_meta)
    tag = tags[0] if len(tags) == 1 else _compressed(tags)
    name = re.sub(r"[^\w\d.]+", "_", dist.metadata["Name"]).lower()
    path = out / f"{name}-{dist.version}-{tag}.whl"
    record: list[str] = []
    record_name = f"{info_dir}/RECORD"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for f in files:
            arcname = str(f)
            if arcname in (record_name, f"{info_dir}/INSTALLER", f"{info_dir}/direct_url.json"):
                continue
            data = (base / arcname).read_bytes()
            whl.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        record.append(f"{record_name},,")
        whl.writestr(record_name, "\n".join(record) + "\n")
    return path


def _compressed(tags: list[str]) -> str:
    """Several ``py-abi-plat`` tags as one compressed tag set (``py3-none-a.b``)."""
    parts = [t.split("-") for t in tags]
    return "-".join(".".join(dict.fromkeys(p[i] for p in parts)) for i in range(3))


def make_wheelhouse(out: Path) -> dict[str, Path]:
    """homediag 0.1.0 and a 0.1.1 to upgrade to, and every dependency of the agent."""
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".build"
    wheels = {
        "homediag": build_homediag(out, work),
        "homediag-next": build_homediag(out, work, version="0.1.1"),
    }
    shutil.rmtree(work)
    for dist in agent_closure(wheels["homediag"]):
        wheels[canonicalize_name(dist.metadata["Name"])] = repack(dist, out)
    return wheels
