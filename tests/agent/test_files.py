"""The one atomic write of the agent (agent/files.py) and the one private-key file of both sides
(protocol/signing.py): whole or not at all, fsynced (file and directory), private from the first byte."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import protocol
from agent import files, identity
from agent.discovery import Inventory
from protocol import signing


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each fsync flushed: "file" or "dir"."""
    kinds: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        kinds.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return kinds


def test_write_atomic_replaces_the_file_and_flushes_it_and_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(b"old")
    kinds = _record_fsyncs(monkeypatch)
    files.write_atomic(path, b"new", 0o644)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~_umask()
    assert kinds == ["file", "dir"], "the data before the rename, the directory entry after it"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"], "no temporary file left"


def test_a_failed_write_atomic_leaves_the_old_file_and_no_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "status.json"
    path.write_bytes(b"old")

    def full_disk(_src: object, _dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        files.write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]


def test_writers_of_one_path_on_several_threads_never_mix(tmp_path: Path) -> None:
    path = tmp_path / "enrollment.json"
    payloads = [bytes([65 + n]) * 4096 for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda data: files.write_atomic(path, data), payloads))
    assert path.read_bytes() in payloads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enrollment.json"]


def test_every_agent_file_goes_through_the_one_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inventory was the one written without fsync."""
    kinds = _record_fsyncs(monkeypatch)
    Inventory(tmp_path / "inventory.json").update([], 0.0)
    assert (tmp_path / "inventory.json").exists() and kinds == ["file", "dir"]


def test_a_private_key_file_is_private_new_and_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = _record_fsyncs(monkeypatch)
    key = protocol.generate_private_key()
    path = tmp_path / "key.pem"
    signing.write_private_key_file(path, protocol.private_key_pem(key))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kinds == ["file", "dir"]
    stored = protocol.load_private_key_pem(path.read_bytes())
    assert protocol.public_key_text(stored) == protocol.public_key_text(key)
    with pytest.raises(FileExistsError):  # a second creator keeps the first key
        signing.write_private_key_file(path, b"other")
    assert protocol.load_private_key_pem(path.read_bytes()) is not None


def test_the_agents_keys_are_created_by_the_shared_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[str] = []
    real = signing.write_private_key_file

    def spy(path: Path, pem: bytes) -> None:
        created.append(path.name)
        real(path, pem)

    monkeypatch.setattr(identity, "write_private_key_file", spy)
    state = tmp_path / "state"
    key = identity.load_or_create_key(state)
    identity.load_or_create_tls_key(state)
    assert created == ["agent-key.pem", "tls-key.pem"]
    for name in created:
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600
    assert protocol.public_key_text(identity.load_or_create_key(state)) == protocol.public_key_text(key)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
