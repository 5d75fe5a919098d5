"""Vendor of a MAC address from the IEEE OUI registry, as shipped inside ``netaddr``.

netaddr carries the IEEE's ``oui.txt`` with an offset index, so a lookup works offline and is as
current as the installed netaddr (a maintained package, refreshed with its releases), not a table
of ours. We read its files directly (see :func:`_registry`).
A locally administered address (IEEE 802 U/L bit, bit 1 of the first octet) is chosen by the device,
randomised per network by iOS, Android and Windows, so it names no vendor: we claim none.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def normalise_mac(mac: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` or "" when ``mac`` is not a unicast EUI-48."""
    text = mac.strip().lower().replace("-", ":")
    if not _MAC.match(text):
        return ""
    if int(text[:2], 16) & 0x01 or text in ("00:00:00:00:00:00",):
        return ""  # multicast/broadcast, or the all-zero placeholder of incomplete neighbour entries
    return text


def is_locally_administered(mac: str) -> bool:
    return bool(mac) and bool(int(mac[:2], 16) & 0x02)


_cache: dict[int, str] = {}
_CACHE_MAX = 4096


def _registry() -> tuple[Path, Path] | None:
    """netaddr's copy of the IEEE registry and its offset index, found without importing netaddr.

    netaddr's own lookup loads the whole index into a dict (about 12 MB resident for the life of
    the process); reading the index file once per cycle for the few OUIs we meet costs nothing kept.
    """
    spec = importlib.util.find_spec("netaddr")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))) / "eui"
    idx, txt = base / "oui.idx", base / "oui.txt"
    return (idx, txt) if idx.is_file() and txt.is_file() else None


def _org(record: bytes) -> str:
    # First line of an IEEE record: "30-24-A9   (hex)\t\tHP Inc."
    first = record.decode("utf-8", "replace").splitlines()[0] if record else ""
    return first.split("(hex)", 1)[1].strip() if "(hex)" in first else ""


def prefetch(macs: list[str]) -> None:
    """Look every OUI of ``macs`` up in one pass over the registry's index."""
    wanted = {int(m[:8].replace(":", ""), 16) for m in map(normalise_mac, macs) if m}
    wanted -= set(_cache)
    if not wanted:
        return
    found: dict[int, str] = dict.fromkeys(wanted, "")
    files = _registry()
    if files is not None:
        try:
            offsets: dict[int, tuple[int, int]] = {}
            with files[0].open("rb") as index:
                for line in index:
                    head, _, rest = line.partition(b",")
                    if head.isdigit() and int(head) in wanted:
                        raw_offset, _, raw_size = rest.partition(b",")
                        offsets.setdefault(int(head), (int(raw_offset), int(raw_size)))
            with files[1].open("rb") as registry:
                for oui, (offset, size) in offsets.items():
                    registry.seek(offset)
                    found[oui] = _org(registry.read(min(size, 4096)))
        except (OSError, ValueError):
            return
    if len(_cache) + len(found) > _CACHE_MAX:
        _cache.clear()
    _cache.update(found)


def vendor(mac: str) -> str:
    """The registered organisation of ``mac``'s OUI, or "" (unknown, or a random MAC)."""
    mac = normalise_mac(mac)
    if not mac or is_locally_administered(mac):
        return ""
    oui = int(mac[:8].replace(":", ""), 16)
    if oui not in _cache:
        prefetch([mac])
    return _cache.get(oui, "")
