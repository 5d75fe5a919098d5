"""The driverless setup guide refuses what is not a printer URI and never asks for a driver."""

from __future__ import annotations

import pytest

from cloud.printer_setup import SetupError, guide


def test_guide_for_an_ipp_printer() -> None:
    steps = guide("ipp://10.0.0.20:631/ipp/print", "office")
    assert steps["remote"]["params"] == {"uri": "ipp://10.0.0.20:631/ipp/print", "name": "office"}
    assert "http://10.0.0.20:631/ipp/print" in " ".join(steps["steps"]["windows"])
    assert "lpadmin -p office -E -v ipp://10.0.0.20:631/ipp/print -m everywhere" in steps["steps"]["linux"]
    quoted = guide("ipp://10.0.0.20/ipp/print?x=$(reboot);y", "office")["steps"]["linux"][1]
    assert "'ipp://10.0.0.20/ipp/print?x=$(reboot);y'" in quoted  # pasted into a shell, stays one word
    every = [s.lower() for v in steps["steps"].values() for s in v]
    assert not any("driver" in s and "download" in s for s in every)


@pytest.mark.parametrize(
    "uri", ["http://10.0.0.20/", "file:///etc/passwd", "ipp://", "socket://10.0.0.20:9100"]
)
def test_not_a_printer_uri(uri: str) -> None:
    with pytest.raises(SetupError):
        guide(uri)
