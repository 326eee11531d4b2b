"""The parts of the local stack, their ports and whether they can run yet.

Kept apart from the start/stop logic so that tests and tools can pick ports without starting
anything.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runner's `down` needs only the standard library
    from helpdesk_shared.messaging.topology import ConsumerQueue


@dataclass(frozen=True)
class ServiceSpec:
    """An HTTP service: `python -m <module>` listening on its port."""

    name: str
    module: str
    default_port: int


SERVICES = (
    ServiceSpec("intake", "helpdesk_intake", 8001),
    ServiceSpec("ticket", "helpdesk_ticket", 8002),
    ServiceSpec("notify", "helpdesk_notify", 8003),
    ServiceSpec("metrics", "helpdesk_metrics", 8004),
)
RELAY_MODULE = "helpdesk_shared.relay"
#: Intake's tools; `DEMO_COMMAND` loads the demo data.
DEMO_MODULE = "helpdesk_intake.entrypoints.cli"
DEMO_COMMAND = ("demo-data",)
SMTP_CATCHER_DEFAULT_PORT = 1025
RELAY_METRICS_DEFAULT_PORT = 8005


def consumer_queues(services: tuple[ServiceSpec, ...] = SERVICES) -> list[ConsumerQueue]:
    """The queue of each installed service that consumes events: the `QUEUE` its
    `entrypoints/consumer.py` declares (name and bindings)."""
    queues = []
    for spec in services:
        module = f"{spec.module}.entrypoints.consumer"
        if module_exists(module):
            queues.append(importlib.import_module(module).QUEUE)
    return queues


def relay_consumers(queues: Sequence[ConsumerQueue]) -> str:
    """`RELAY_CONSUMERS` for these queues: the relay declares them before its first publish."""
    return json.dumps({queue.name: list(queue.bindings) for queue in queues})


def module_available(module: str) -> bool:
    """True when `python -m <module>` can run (the package has a `__main__`)."""
    return module_exists(f"{module}.__main__")


def module_exists(module: str) -> bool:
    """True when `module` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def resolve_ports(
    env: Mapping[str, str],
    overrides: Mapping[str, int] | None = None,
    services: tuple[ServiceSpec, ...] = SERVICES,
) -> dict[str, int]:
    """Each service's port: `overrides`, else `<NAME>_PORT` in `env`, else the default."""
    ports = {}
    for spec in services:
        raw = env.get(f"{spec.name.upper()}_PORT")
        ports[spec.name] = int(raw) if raw else spec.default_port
    smtp_raw, relay_raw = env.get("SMTP_CATCHER_PORT"), env.get("RELAY_METRICS_PORT")
    ports["smtp"] = int(smtp_raw) if smtp_raw else SMTP_CATCHER_DEFAULT_PORT
    ports["relay"] = int(relay_raw) if relay_raw else RELAY_METRICS_DEFAULT_PORT
    ports.update(overrides or {})
    return ports


def parse_ports(text: str) -> dict[str, int]:
    """`intake=18001,ticket=18002` -> {"intake": 18001, "ticket": 18002}."""
    known = {spec.name for spec in SERVICES} | {"smtp", "relay"}
    ports = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name not in known or not value.isdigit():
            raise ValueError(f"bad port setting {item!r}: expected NAME=PORT with NAME in {known}")
        ports[name] = int(value)
    return ports


def free_port(host: str = "127.0.0.1") -> int:
    """One port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(host: str = "127.0.0.1") -> dict[str, int]:
    """A free port for every part (tests: never the contract ports 8001-8004)."""
    sockets = [socket.socket() for _ in (*SERVICES, "smtp", "relay")]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        ports = [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    names = [spec.name for spec in SERVICES] + ["smtp", "relay"]
    return dict(zip(names, ports, strict=True))


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
