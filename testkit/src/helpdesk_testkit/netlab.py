"""A network namespace joined to the root one by a link the test can slow down and make lossy.

The backend's processes run in the namespace; the test, the machine's PostgreSQL and RabbitMQ
stay in the root namespace, whose interfaces (and `lo`, shared with every other test on the
machine) are never impaired. Only this run's link is: names and /30 addresses are unique per run.

Two kinds of link, the same addresses and behaviour:

* `VethLink`: a veth pair with `tc ... netem` on both ends, where the kernel has `sch_netem`;
* `TunLink`: two TUN devices joined by `helpdesk_testkit.lossy_link`, a process that delays and
  drops packets itself, for kernels built without netem (`tc` answers "Specified qdisc kind is
  unknown").

`lab_unavailable()` says why neither can run here (not root, no `ip`, no namespaces); the
scenario skips with that reason and only that one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

#: The prefix of every skip reason of this module (tests/conftest.py allows exactly these).
UNAVAILABLE = "network lab unavailable"
CLONE_NEWNET = 0x40000000
#: Where the link's /30 is drawn from: private, and unused by the machine (checked per draw).
ADDRESS_POOL = ipaddress.IPv4Network("10.213.0.0/16")
T = TypeVar("T")


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an `ip`/`tc` command; a failure raises with its stderr (what went wrong, said once)."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


def netem_available() -> bool:
    """True when `tc` can add a netem qdisc (tried on a veth in a throw-away namespace)."""
    probe = f"hdprobe{uuid.uuid4().hex[:8]}"
    if sh("ip", "netns", "add", probe, check=False).returncode != 0:
        return False
    try:
        sh("ip", "-n", probe, "link", "add", "name", "pa", "type", "veth", "peer", "name", "pb")
        added = sh("tc", "-n", probe, "qdisc", "add", "dev", "pa", "root", "netem", "delay", "1ms",
                   check=False)  # fmt: skip
        return added.returncode == 0
    finally:
        sh("ip", "netns", "delete", probe, check=False)


def lab_unavailable() -> str | None:
    """Why no network lab can be built here, or None when one can."""
    if os.geteuid() != 0:
        return f"{UNAVAILABLE}: not root (network namespaces and links need CAP_NET_ADMIN)"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"{UNAVAILABLE}: {', '.join(missing)} not installed (iproute2)"
    probe = f"hdprobe{uuid.uuid4().hex[:8]}"
    created = sh("ip", "netns", "add", probe, check=False)
    if created.returncode != 0:
        return f"{UNAVAILABLE}: `ip netns add` fails: {created.stderr.strip()}"
    sh("ip", "netns", "delete", probe, check=False)
    if not netem_available() and not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        return f"{UNAVAILABLE}: the kernel has neither sch_netem nor /dev/net/tun"
    return None


def free_link_addresses() -> tuple[str, str]:
    """(root side, namespace side) of a /30 from `ADDRESS_POOL` no interface or route uses."""
    listed = sh("ip", "-o", "-4", "addr", "show").stdout + sh("ip", "-4", "route").stdout
    used = set(listed.replace("/", " ").split())
    subnets = list(ADDRESS_POOL.subnets(new_prefix=30))
    for subnet in random.sample(subnets, 64):
        root, inner = (str(host) for host in subnet.hosts())
        if root not in used and inner not in used:
            return root, inner
    raise RuntimeError(f"no free /30 found in {ADDRESS_POOL}")


class Link(Protocol):
    """The impairable link between the root namespace and the lab's."""

    kind: str

    def impair(self, delay_ms: float, loss_percent: float) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Lab:
    """A namespace, its link, and the two ends' addresses."""

    namespace: str
    root_address: str
    inner_address: str
    link: Link

    def run_inside(self, work: Callable[[], T]) -> T:
        """`work()` in a thread that joined the namespace: sockets it opens and processes it
        starts live there. Only that thread changes namespace (a network namespace belongs to a
        thread), and it ends with `work`, so the rest of the test stays in the root namespace."""
        outcome: list[T] = []
        failure: list[BaseException] = []

        def inside() -> None:
            try:
                enter_namespace(self.namespace)
                outcome.append(work())
            except BaseException as error:  # noqa: BLE001 - raised again in the caller
                failure.append(error)

        thread = threading.Thread(target=inside, name=f"in-{self.namespace}")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]
        return outcome[0]


def enter_namespace(name: str) -> None:
    """Move the calling thread into the network namespace `name` (`ip netns` keeps its handle)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name} failed")
    finally:
        os.close(fd)


@contextlib.contextmanager
def network_lab(prefer_netem: bool = True) -> Iterator[Lab]:
    """A namespace with `lo` up and a link to the root namespace; everything deleted on exit,
    whatever happened (the link first, then the namespace and whatever still ran in it)."""
    suffix = uuid.uuid4().hex[:8]
    namespace = f"helpdesk-net-{suffix}"
    root_address, inner_address = free_link_addresses()
    sh("ip", "netns", "add", namespace)
    link: Link | None = None
    try:
        sh("ip", "-n", namespace, "link", "set", "lo", "up")
        names = (f"hd{suffix}r", f"hd{suffix}n")
        if prefer_netem and netem_available():
            link = VethLink(namespace, *names)
        else:
            link = TunLink(namespace, *names)
        _address(namespace, names, root_address, inner_address)
        yield Lab(namespace, root_address, inner_address, link)
    finally:
        if link is not None:
            link.close()
        sh("ip", "netns", "delete", namespace, check=False)


def _address(namespace: str, names: tuple[str, str], root: str, inner: str) -> None:
    """Point-to-point addresses on both ends, then both ends up."""
    sh("ip", "addr", "add", root, "peer", f"{inner}/32", "dev", names[0])
    sh("ip", "-n", namespace, "addr", "add", inner, "peer", f"{root}/32", "dev", names[1])
    sh("ip", "link", "set", names[0], "up")
    sh("ip", "-n", namespace, "link", "set", names[1], "up")
    _wait_until_up(names[0])


def _wait_until_up(device: str, within: float = 10) -> None:
    """Wait for the carrier: a first SYN sent before it would wait a retransmission (1 s).
    A veth end is `up` once its peer is; a TUN device says `unknown` (it has no carrier)."""
    state = Path(f"/sys/class/net/{device}/operstate")
    deadline = time.monotonic() + within
    while state.read_text().strip() not in {"up", "unknown"}:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{device} not up after {within} s")
        time.sleep(0.05)


class VethLink:
    """A veth pair; netem on both ends delays (and drops) each direction."""

    kind = "veth+netem"

    def __init__(self, namespace: str, outer: str, inner: str) -> None:
        self.namespace, self.outer, self.inner = namespace, outer, inner
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", namespace)

    def impair(self, delay_ms: float, loss_percent: float) -> None:
        netem = ("netem", "delay", f"{delay_ms}ms", "loss", f"{loss_percent}%")
        sh("tc", "qdisc", "replace", "dev", self.outer, "root", *netem)
        sh("tc", "-n", self.namespace, "qdisc", "replace", "dev", self.inner, "root", *netem)

    def clear(self) -> None:
        sh("tc", "qdisc", "del", "dev", self.outer, "root", check=False)
        sh("tc", "-n", self.namespace, "qdisc", "del", "dev", self.inner, "root", check=False)

    def close(self) -> None:
        self.clear()
        sh("ip", "link", "del", self.outer, check=False)  # takes its peer with it


class TunLink:
    """Two TUN devices joined by the `lossy_link` process; the inner one moved to the namespace.

    The process creates both in the root namespace (a TUN device keeps its file descriptor when
    moved), then `ip link set ... netns` moves the inner one. Commands go through its stdin.
    """

    kind = "tun+lossy_link"

    def __init__(self, namespace: str, outer: str, inner: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed module, generated names
            [sys.executable, "-m", "helpdesk_testkit.lossy_link", outer, inner],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            self._expect("ready")
            sh("ip", "link", "set", inner, "netns", namespace)
        except BaseException:
            self.close()
            raise

    def _expect(self, answer: str) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != answer:
            raise RuntimeError(f"lossy_link answered {line!r}, expected {answer!r}")

    def _send(self, delay_ms: float, loss_percent: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{delay_ms} {loss_percent}\n")
        self.process.stdin.flush()
        self._expect(f"set {delay_ms} {loss_percent}")

    def impair(self, delay_ms: float, loss_percent: float) -> None:
        self._send(delay_ms, loss_percent)

    def clear(self) -> None:
        self._send(0, 0)

    def close(self) -> None:
        """Closing stdin ends the process, which removes both devices with their descriptors."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def namespace_exists(name: str) -> bool:
    return Path(f"/run/netns/{name}").exists()
