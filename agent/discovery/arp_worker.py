"""The ARP sweep's worker process: reads a JSON request on stdin, writes ``[[ip, mac], ...]``.

Separate so that scapy (and its ~50 MB) lives only as long as one sweep. Needs CAP_NET_RAW.
Only the layers it needs are imported, not ``scapy.all`` (a fifth of the start-up time).
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    request = json.loads(sys.stdin.read(1 << 20))
    interface = str(request["interface"])
    targets = [str(t) for t in request["targets"]][:4096]
    rate = max(1.0, float(request["rate_pps"]))
    wait_s = min(10.0, max(0.1, float(request["wait_s"])))

    from scapy.config import conf  # noqa: PLC0415
    from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415
    from scapy.sendrecv import srp  # noqa: PLC0415

    conf.verb = 0
    frames = [Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=t) for t in targets]
    try:
        # A kernel (BPF) filter: on a busy or flooded LAN, replies must not drown in other traffic.
        answered, _ = srp(
            frames, iface=interface, timeout=wait_s, inter=1.0 / rate, verbose=False, filter="arp"
        )
    except Exception:  # no filter compiler (scapy asks tcpdump): unfiltered, slower under load
        answered, _ = srp(frames, iface=interface, timeout=wait_s, inter=1.0 / rate, verbose=False)
    found: dict[str, str] = {}
    for _sent, reply in answered:
        if ARP in reply and reply[ARP].op == 2:
            found.setdefault(str(reply[ARP].psrc), str(reply[ARP].hwsrc))
    json.dump(sorted(found.items()), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
