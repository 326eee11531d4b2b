"""Private PostgreSQL and RabbitMQ servers that the fault tests may stop and restart at will.

Other engineers and CI share the machine's servers (5432, 5672): breaking those would break
their runs. So the fault suite starts its own instances on free ports, in temporary directories,
and stops them whatever happens. An SMTP server whose answer can be switched to "try later".
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_ROOT = Path("/usr/lib/postgresql")
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def postgres_available() -> bool:
    return any(PG_ROOT.glob("*/bin/pg_ctl"))


def rabbitmq_available() -> bool:
    return (RABBIT_BIN / "rabbitmq-server").exists()


class PrivatePostgres:
    """A throw-away cluster (initdb, trust auth) run as the `postgres` OS user when we are root."""

    def __init__(self) -> None:
        self.bin = sorted(PG_ROOT.glob("*/bin"))[-1]
        self.base = Path(tempfile.mkdtemp(prefix="helpdesk-faults-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.admin_url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(
            argv, check=check, capture_output=True, text=True, timeout=START_TIMEOUT, cwd=self.base
        )

    def _options(self) -> str:
        return f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=200"

    def init_and_start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._ctl("start")

    def _ctl(self, action: str, *extra: str) -> None:
        log = str(self.base / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", *extra,
                  "-o", self._options(), action)  # fmt: skip

    def restart(self) -> None:
        """A fast restart: every session is cut, the server comes back on the same port."""
        self._ctl("restart", "-m", "fast")

    def postmaster_pid(self) -> int:
        """The server's process id (first line of `postmaster.pid`): a restart changes it."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)


class PrivateRabbitMQ:
    """A second RabbitMQ node (own name, ports, data and cookie); no plugins."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="helpdesk-faults-rmq-"))
        self.node = f"fault{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port = free_port(), free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        (self.base / "plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        self.env = {
            **os.environ,
            "HOME": str(self.base),  # its own Erlang cookie, created on first start
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
        }

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        argv = [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args]
        return subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self) -> None:
        """Start the node detached, then wait until it accepts AMQP connections."""
        subprocess.run(
            [str(RABBIT_BIN / "rabbitmq-server"), "-detached"],
            env=self.env, cwd=self.base, check=True, timeout=60, capture_output=True,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._ctl("await_startup", "--timeout", "10").returncode == 0 and port_open(
                self.port
            ):
                return
            time.sleep(0.5)
        raise RuntimeError(f"private RabbitMQ {self.node} did not start; see {self.base / 'log'}")

    def stop(self) -> None:
        """Stop and halt the node; wait until its port is closed."""
        self._ctl("stop", str(self.base / "pid"))
        deadline = time.monotonic() + 30
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)

    def unacknowledged(self, queue: str) -> int:
        """Messages of `queue` delivered to a consumer and not acknowledged yet (in its hands).

        A broker too slow to answer (a loaded machine) counts as none in hand: the caller looks
        again after a pause, until its deadline.
        """
        try:
            listing = self._ctl("list_queues", "-q", "--no-table-headers", "name",
                                "messages_unacknowledged", timeout=30)  # fmt: skip
        except subprocess.TimeoutExpired:
            return 0
        for line in listing.stdout.splitlines():
            name, _, count = line.rpartition("\t")
            if name.strip() == queue and count.strip().isdigit():
                return int(count)
        return 0

    def destroy(self) -> None:
        self.stop()
        self._kill_if_still_running()
        shutil.rmtree(self.base, ignore_errors=True)

    def _kill_if_still_running(self) -> None:
        """After a failed `stop`: SIGKILL our node's VM, checked by its name on the command line."""
        with contextlib.suppress(ValueError, OSError):
            pid = int((self.base / "pid").read_text().strip())
            if self.node.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


@dataclass
class SwitchableMailbox:
    """An aiosmtpd handler that accepts mail, or answers 451 (try later) while `refusing`."""

    refusing: bool = False
    refused: int = 0
    message_ids: Counter[str] = field(default_factory=Counter)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Mail refused for a while (fault test)"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.message_ids[str(parsed.get("Message-ID", "")).strip()] += 1
        return "250 Message accepted for delivery"
