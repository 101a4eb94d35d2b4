"""Delay and random loss for a kernel without the netem qdisc: a tiny netem in user space over NFQUEUE.

Some kernels (this project's CI VMs among them) are built without ``sch_netem`` but with netfilter's
NFQUEUE target. iptables rules in a participant's namespace hand its packets to queue ``--queue``; this
process, run inside that namespace (``ip netns exec NS python -m tests.nfqueue_netem ...``), holds each
packet for ``--delay-ms`` and then accepts it, or drops it with probability ``--loss``. A constant delay
keeps the packets' order, as netem does. It speaks nfnetlink_queue directly (a few structs over a netlink
socket, see linux/netfilter/nfnetlink_queue.h), asking for packet metadata only, never the payload.

The rules use ``--queue-bypass``: when this process is gone, packets flow again instead of being dropped.
"""

from __future__ import annotations

import argparse
import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2


def _attr(kind: int, payload: bytes) -> bytes:
    body = struct.pack("=HH", 4 + len(payload), kind) + payload
    return body + b"\0" * (-len(body) % 4)


def _message(msg: int, queue: int, attrs: bytes, seq: int, flags: int = NLM_F_REQUEST) -> bytes:
    # nfgenmsg: family, version (NFNETLINK_V0), the queue number in network order.
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq, 0) + body


def _attrs(data: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    while len(data) >= 4:
        length, kind = struct.unpack_from("=HH", data)
        if length < 4:
            break
        found[kind & 0x3FFF] = data[4:length]
        data = data[(length + 3) & ~3 :]
    return found


class Queue:
    """One bound nfnetlink queue: packet ids in, verdicts out."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, 0))
        self.seq = 0
        self._configure(_attr(NFQA_CFG_CMD, struct.pack("=BBH", NFQNL_CFG_CMD_BIND, 0, 0)))
        self._configure(_attr(NFQA_CFG_PARAMS, struct.pack(">IB", 0, NFQNL_COPY_META)))

    def _configure(self, attrs: bytes) -> None:
        self.seq += 1
        self.sock.send(_message(NFQNL_MSG_CONFIG, self.number, attrs, self.seq, NLM_F_REQUEST | NLM_F_ACK))
        reply = self.sock.recv(65536)
        kind = struct.unpack_from("=H", reply, 4)[0]
        if kind == NLMSG_ERROR and (error := struct.unpack_from("=i", reply, 16)[0]) != 0:
            raise OSError(-error, f"binding NFQUEUE {self.number} failed: {socket.errno.errorcode.get(-error, error)}")

    def packet_ids(self) -> list[int]:
        """The ids of the packets that arrived (non-blocking: call when the socket is readable)."""
        data = self.sock.recv(1 << 16)
        ids = []
        while len(data) >= 16:
            length, kind = struct.unpack_from("=IH", data)
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                header = _attrs(data[20:length]).get(NFQA_PACKET_HDR)
                if header is not None:
                    ids.append(struct.unpack_from(">I", header)[0])
            data = data[(length + 3) & ~3 :]
        return ids

    def verdict(self, packet_id: int, verdict: int) -> None:
        self.seq += 1
        attrs = _attr(NFQA_VERDICT_HDR, struct.pack(">II", verdict, packet_id))
        self.sock.send(_message(NFQNL_MSG_VERDICT, self.number, attrs, self.seq))


def run(queue: Queue, delay: float, loss: float, rng: random.Random) -> None:
    held: list[tuple[float, int]] = []  # (due, packet id), in arrival order for a constant delay
    while True:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else 1.0
        readable, _, _ = select.select([queue.sock], [], [], timeout)
        if readable:
            now = time.monotonic()
            for packet_id in queue.packet_ids():
                if rng.random() < loss:
                    queue.verdict(packet_id, NF_DROP)
                else:
                    heapq.heappush(held, (now + delay, packet_id))
        now = time.monotonic()
        while held and held[0][0] <= now:
            queue.verdict(heapq.heappop(held)[1], NF_ACCEPT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--loss", type=float, default=0.0, help="probability of dropping each packet (0-1)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    queue = Queue(args.queue)
    print("ready", flush=True)  # the caller adds its iptables rules after this line
    run(queue, args.delay_ms / 1000, args.loss, random.Random(args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
