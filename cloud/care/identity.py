"""One device, one history: which MACs of a home are the same device after a MAC rotation.

Phones and laptops randomise their MAC (a locally administered address, IEEE 802 bit 0x02 of the
first octet) and rotate it: the old MAC falls silent and a new one appears with the same host name
and the same habits. Judged by MAC, that is a "silent" device and a "new" one. This rule merges a
rotated MAC into the device it replaced, on evidence that survives the rotation:

- a DNS-SD instance name both announced ("Anna's iPhone._companion-link._tcp"): enough alone;
- the DHCP/mDNS host name, when no other MAC of the home carries it at the same time (two phones
  both called "iPhone" are two phones), with the same kind (or one of them unknown) and not
  contradicted by the services each offers.

Never the vendor OUI: a randomised MAC has none. The old MAC must have fallen silent before (or
within ``ROTATION_OVERLAP_H`` of) the new one's first hour, because one device does not use two
MACs on one network for long. The function is pure (sightings in, a mapping out), so the cloud's
inventory can use the same rule on its own evidence (docs/care.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

#: A rotating phone may use both MACs for a few minutes around the change (the hour records of
#: both MACs then share one hour); longer than this and they are two devices.
ROTATION_OVERLAP_H: Final = 2
#: Host names that many devices carry, which identify nobody.
GENERIC_NAMES: Final = frozenset(
    {"", "android", "iphone", "ipad", "localhost", "unknown", "espressif", "galaxy", "phone", "laptop"}
)


@dataclass(frozen=True)
class Sighting:
    """What a home knows about one MAC: when it was seen and the evidence it gave."""

    mac: str
    first_seen: datetime
    last_seen: datetime
    name: str | None = None
    kind: str | None = None
    #: The inventory's flag; when unknown, the locally administered bit decides.
    randomized: bool | None = None
    instances: frozenset[str] = field(default_factory=frozenset)
    services: frozenset[str] = field(default_factory=frozenset)


def is_randomized(mac: str, flag: bool | None = None) -> bool:
    """The inventory's flag if it has one, else the locally administered bit (IEEE 802c)."""
    if flag is not None:
        return flag
    try:
        return bool(int(mac[:2], 16) & 0x02)
    except ValueError:
        return False


def _name_key(name: str | None) -> str:
    return (name or "").strip().lower()


def _evidence(old: Sighting, new: Sighting) -> bool:
    if old.instances & new.instances:
        return True
    name = _name_key(new.name)
    if name in GENERIC_NAMES or name != _name_key(old.name):
        return False
    if old.kind and new.kind and old.kind.lower() != new.kind.lower():
        return False
    # Both announce services and none in common: two devices that happen to share a name.
    return not (old.services and new.services and not old.services & new.services)


def _overlaps(a: Sighting, b: Sighting) -> bool:
    """Seen at the same time for longer than a rotation takes."""
    slack = timedelta(hours=ROTATION_OVERLAP_H)
    return a.first_seen < b.last_seen - slack and b.first_seen < a.last_seen - slack


def merge_rotations(sightings: Iterable[Sighting]) -> dict[str, str]:
    """Map every MAC of one home to the MAC of the device it belongs to (its newest MAC).

    A MAC is merged into the one that followed it when the newer MAC is randomised, the older one
    fell silent before it appeared, and the evidence matches exactly one candidate; an ambiguous
    match (two silent MACs called "Anna's phone") merges nothing. Chains (three rotations) follow.
    """
    ordered: Sequence[Sighting] = sorted(sightings, key=lambda s: (s.first_seen, s.mac))
    successor: dict[str, str] = {}
    taken: set[str] = set()
    for new in ordered:
        if not is_randomized(new.mac, new.randomized):
            continue
        # The name must be this device's alone while it is on the network.
        name = _name_key(new.name)
        if any(
            o.mac != new.mac and _name_key(o.name) == name and _overlaps(o, new) for o in ordered
        ) and not any(new.instances):
            continue
        matches = [
            old
            for old in ordered
            if old.mac != new.mac
            and old.mac not in taken
            and old.first_seen < new.first_seen
            and old.last_seen <= new.first_seen + timedelta(hours=ROTATION_OVERLAP_H)
            and _evidence(old, new)
        ]
        if len(matches) == 1:
            successor[matches[0].mac] = new.mac
            taken.add(matches[0].mac)
    out: dict[str, str] = {}
    for sighting in ordered:
        mac = sighting.mac
        seen = {mac}
        while mac in successor and successor[mac] not in seen:
            mac = successor[mac]
            seen.add(mac)
        out[sighting.mac] = mac
    return out
