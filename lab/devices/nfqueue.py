"""A minimal nfnetlink_queue client: bind a queue, read packet ids, issue verdicts.

Only what the impairer needs, in pure Python with :mod:`struct` so that the lab needs no C extension.
Message layouts are those of ``linux/netfilter/nfnetlink_queue.h``; numbers in nfnetlink attributes
are big-endian, netlink headers are host-endian.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator

from ..const import NFQUEUE_MAX_PACKETS
from ..errors import LabError

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_NO_ENOBUFS = 5
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_DROP = 0
NF_ACCEPT = 1

_NLMSGHDR = struct.Struct("=IHHII")
_NFGENMSG = struct.Struct("=BBH")
_NLATTR = struct.Struct("=HH")


class NfQueueError(LabError):
    """The kernel refused to bind or configure the queue (raised in the impairer process only)."""


def _attr(kind: int, data: bytes) -> bytes:
    length = _NLATTR.size + len(data)
    return _NLATTR.pack(length, kind) + data + b"\0" * (-length % 4)


class NfQueue:
    """One bound queue. ``fileno()`` makes it usable with :mod:`selectors`."""

    def __init__(self, queue_num: int, *, max_len: int = NFQUEUE_MAX_PACKETS) -> None:
        self.queue_num = queue_num
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self._sock.bind((0, 0))
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        # A full receive buffer drops packets (the kernel counts them) rather than failing recv().
        self._sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
        self._seq = 0
        self._request(_attr(NFQA_CFG_CMD, struct.pack("=BxH", NFQNL_CFG_CMD_BIND, 0)))
        self._request(_attr(NFQA_CFG_PARAMS, struct.pack(">IBxxx", 0, NFQNL_COPY_META)))
        self._request(_attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack(">I", max_len)))

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def packet_ids(self) -> Iterator[int]:
        """Ids of the packets in one read from the socket."""
        data = self._sock.recv(1 << 16)
        packet_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, kind = _NLMSGHDR.unpack_from(data, offset)[:2]
            if length < _NLMSGHDR.size:
                break
            if kind == packet_type:
                pos = offset + _NLMSGHDR.size + _NFGENMSG.size
                while pos + _NLATTR.size <= offset + length:
                    alen, akind = _NLATTR.unpack_from(data, pos)
                    if alen < _NLATTR.size:
                        break
                    if akind & 0x7FFF == NFQA_PACKET_HDR:
                        yield struct.unpack_from(">I", data, pos + _NLATTR.size)[0]
                    pos += (alen + 3) & ~3
            offset += (length + 3) & ~3

    def verdict(self, packet_id: int, verdict: int) -> None:
        self._send(NFQNL_MSG_VERDICT, 0, _attr(NFQA_VERDICT_HDR, struct.pack(">II", verdict, packet_id)))

    def _send(self, msg: int, flags: int, payload: bytes) -> None:
        self._seq += 1
        body = _NFGENMSG.pack(socket.AF_UNSPEC, 0, socket.htons(self.queue_num)) + payload
        header = _NLMSGHDR.pack(
            _NLMSGHDR.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, NLM_F_REQUEST | flags, self._seq, 0
        )
        self._sock.send(header + body)

    def _request(self, payload: bytes) -> None:
        self._send(NFQNL_MSG_CONFIG, NLM_F_ACK, payload)
        data = self._sock.recv(1 << 16)
        kind = _NLMSGHDR.unpack_from(data)[1]
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from("=i", data, _NLMSGHDR.size)
            if err:
                raise NfQueueError(f"nfqueue {self.queue_num} configuration refused: {os.strerror(-err)}")
