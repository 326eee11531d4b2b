"""A point-to-point IP link whose packets a user-space process delays and drops: netem's stand-in.

Where the kernel has no `sch_netem` (the qdisc is built neither in nor as a module), `tc` cannot
delay or drop packets. This process owns two TUN devices and copies every IP packet read from one
into the other, after `delay` seconds and unless a draw below `loss` drops it: a real link for
the kernel on both sides, so TCP sees real latency, real losses and retransmits them itself.
Order is kept (one FIFO per direction, as netem without jitter).

Run as `python -m helpdesk_testkit.lossy_link <outer> <inner>` by `netlab.TunLink`. It creates
both devices in its own network namespace, prints `ready`, then reads commands on stdin, one a
line: `<delay in ms> <loss in %>` sets the impairment (`0 0` clears it). It exits when stdin
closes, so the link never outlives the test that started it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import os
import random
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
#: Larger than any packet on a link of MTU 1500 (and than the 64 KiB a TUN device can hand over).
READ_SIZE = 65_536


def open_tun(name: str) -> int:
    """A non-blocking file descriptor of a new TUN device `name` (raw IP packets, no header)."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    request = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, request)
    os.set_blocking(fd, False)
    return fd


class Impairment:
    """The delay and loss applied now; read by both directions on every packet."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.loss = 0.0

    def set(self, line: str) -> None:
        delay_ms, loss_percent = (float(part) for part in line.split())
        self.delay, self.loss = delay_ms / 1000, loss_percent / 100


class Direction:
    """Packets read from `source`, written to `target` once due, in the order read."""

    def __init__(self, loop: asyncio.AbstractEventLoop, source: int, target: int) -> None:
        self.loop, self.source, self.target = loop, source, target
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.timer: asyncio.TimerHandle | None = None

    def on_readable(self, impairment: Impairment) -> None:
        while True:
            try:
                packet = os.read(self.source, READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                return  # the device went away (the namespace was deleted): nothing to copy
            if impairment.loss and random.random() < impairment.loss:
                continue
            self.queue.append((time.monotonic() + impairment.delay, packet))
            if self.timer is None:
                self.flush()

    def flush(self) -> None:
        self.timer = None
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            with contextlib.suppress(OSError):  # full or gone: a drop, as on a real link
                os.write(self.target, self.queue.popleft()[1])
        if self.queue:
            self.timer = self.loop.call_at(self.loop.time() + self.queue[0][0] - now, self.flush)


async def serve(outer: str, inner: str) -> None:
    loop = asyncio.get_running_loop()
    fds = open_tun(outer), open_tun(inner)
    impairment = Impairment()
    for source, target in (fds, fds[::-1]):
        direction = Direction(loop, source, target)
        loop.add_reader(source, direction.on_readable, impairment)
    done = asyncio.Event()
    stdin = sys.stdin.buffer

    def on_command() -> None:
        line = stdin.readline()
        if not line:
            done.set()
            return
        impairment.set(line.decode())
        print(f"set {line.decode().strip()}", flush=True)

    loop.add_reader(stdin.fileno(), on_command)
    print("ready", flush=True)
    await done.wait()


def main() -> None:
    outer, inner = sys.argv[1:3]
    asyncio.run(serve(outer, inner))


if __name__ == "__main__":
    main()
