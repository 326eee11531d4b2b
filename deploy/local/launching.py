"""What the local stack launches: the relays, each service's replicas and the proxy in front of
them, each recorded in a pid file with its environment (a test restarting a killed part starts
it exactly as the runner did).

With one replica (the default) a service listens on its own port, as it always did. With `N > 1`
the service's replicas `<name>-1` ... `<name>-N` listen on free ports and `<name>-proxy`
(deploy/local/proxy.py) listens on the service's port, so clients and the other services keep one
address per service; and two relays run, `relay-1` and `relay-2`: one publishes (it holds the
advisory lock), the other waits to take over.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.parts import (
    RELAY_MODULE,
    ServiceSpec,
    consumer_queues,
    free_port,
    module_available,
    relay_consumers,
)
from deploy.local.processes import Launched, is_alive, read_pid_file, spawn, stop

PROXY_MODULE = "deploy.local.proxy"
#: Relays started with replicas: one active, one waiting for the advisory lock.
REPLICATED_RELAYS = 2


class StackError(RuntimeError):
    """The stack could not be started; the message says which part and shows its log."""


@dataclass
class Stack:
    """A started backend: where each part is, and how to stop it."""

    run_dir: Path
    host: str
    #: Each service's one address (its proxy when it has replicas).
    urls: dict[str, str] = field(default_factory=dict)
    #: Each service's replicas: name (`ticket-1`) -> its own URL (empty without replicas).
    replicas: dict[str, dict[str, str]] = field(default_factory=dict)
    smtp: tuple[str, int] | None = None
    relay_metrics_url: str | None = None
    #: Every relay's metrics URL (`relay_metrics_url` is the first).
    relay_metrics_urls: dict[str, str] = field(default_factory=dict)
    #: The demo loader's last output line, when it ran.
    demo: str | None = None
    launched: list[Launched] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: The environment each part was started with, by name (to start it again the same way).
    environments: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def mail_dir(self) -> Path:
        return self.run_dir / "mail"

    def stop(self) -> dict[str, str]:
        """Stop what this stack started, and reap the children of this process."""
        outcome = {}
        for launched in reversed(self.launched):
            outcome[launched.name] = stop(launched)
            (self.run_dir / f"{launched.name}.pid").unlink(missing_ok=True)
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return outcome


def launch(
    stack: Stack,
    name: str,
    argv: list[str],
    env: dict[str, str],
    url: str | None = None,
    ready_url: str | None = None,
) -> None:
    pid_file = stack.run_dir / f"{name}.pid"
    previous = read_pid_file(pid_file)
    if previous is not None and is_alive(previous):
        raise StackError(f"{name} is already running (pid {previous.pid}): run `make down` first")
    log = stack.run_dir / "logs" / f"{name}.log"
    launched, process = spawn(
        name, argv, env=env, log=log, pid_file=pid_file, url=url, ready_url=ready_url
    )
    stack.launched.append(launched)
    stack.processes.append(process)
    stack.environments[name] = dict(env)


def start_relays(stack: Stack, env: dict[str, str], metrics_port: int, replicas: int) -> None:
    """The relay has no API: its Prometheus endpoint tells that it started."""
    if not module_available(RELAY_MODULE):
        stack.skipped.append(f"relay: {RELAY_MODULE} has no __main__ yet")
        return
    count = 1 if replicas == 1 else REPLICATED_RELAYS
    for index in range(1, count + 1):
        name = "relay" if count == 1 else f"relay-{index}"
        port = metrics_port if index == 1 else free_port(stack.host)
        url = f"http://{stack.host}:{port}/metrics"
        own_env = {**env, "RELAY_METRICS_PORT": str(port)}
        own_env.setdefault("RELAY_CONSUMERS", relay_consumers(consumer_queues()))
        launch(stack, name, [sys.executable, "-m", RELAY_MODULE], own_env, url, url)
        stack.relay_metrics_urls[name] = url
    stack.relay_metrics_url = next(iter(stack.relay_metrics_urls.values()))


def start_service(
    stack: Stack, spec: ServiceSpec, env: dict[str, str], port: int, replicas: int
) -> None:
    """The service on `port`, or its replicas on free ports behind a proxy on `port`."""
    if not module_available(spec.module):
        stack.skipped.append(f"{spec.name}: {spec.module} has no __main__ yet")
        return
    url = f"http://{stack.host}:{port}"
    stack.urls[spec.name] = url
    if replicas == 1:
        _start_replica(stack, spec, spec.name, env, port)
        return
    own: dict[str, str] = {}
    for index in range(1, replicas + 1):
        name = f"{spec.name}-{index}"
        own[name] = _start_replica(stack, spec, name, env, free_port(stack.host))
    stack.replicas[spec.name] = own
    argv = [sys.executable, "-m", PROXY_MODULE, "--listen", f"{stack.host}:{port}"]
    for replica_url in own.values():
        argv += ["--backend", replica_url.removeprefix("http://")]
    launch(stack, f"{spec.name}-proxy", argv, _with_repo_on_path(env), url, f"{url}/readyz")


def _start_replica(
    stack: Stack, spec: ServiceSpec, name: str, env: dict[str, str], port: int
) -> str:
    url = f"http://{stack.host}:{port}"
    # Services read `<NAME>_HOST`/`<NAME>_PORT` (or plain `HOST`/`PORT`): set both spellings.
    own_env = {**env, "HOST": stack.host, "PORT": str(port)}
    own_env[f"{spec.name.upper()}_HOST"] = stack.host
    own_env[f"{spec.name.upper()}_PORT"] = str(port)
    launch(stack, name, [sys.executable, "-m", spec.module], own_env, url, f"{url}/readyz")
    return url


def start_smtp_catcher(stack: Stack, env: dict[str, str], port: int) -> None:
    if env.get("SMTP_HOST") or env.get("SMTP_PORT"):
        return
    argv = [sys.executable, "-m", "deploy.local.mailcatcher", "serve"]
    argv += ["--host", stack.host, "--port", str(port), "--dir", str(stack.mail_dir)]
    launch(stack, "smtp-catcher", argv, _with_repo_on_path(env))
    stack.smtp = (stack.host, port)


def _with_repo_on_path(env: dict[str, str]) -> dict[str, str]:
    """The catcher and the proxy live in this repository's `deploy` package, not an installed
    one."""
    repo_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(filter(None, [repo_root, env.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": python_path}
