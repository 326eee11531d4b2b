"""Start and stop the whole backend as local processes: the relay, the services, an SMTP catcher.

`start_stack` is what `make up` runs and what tests call to get a running backend of their own
(their database, exchange and free ports); `stop_stack` is `make down`. Everything the stack
starts is recorded under its run directory (pid files, `logs/`, `mail/`), so stopping needs
nothing but that directory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.parts import (
    DEMO_COMMAND,
    DEMO_MODULE,
    RELAY_MODULE,
    SERVICES,
    ServiceSpec,
    consumer_queues,
    free_ports,
    module_available,
    module_exists,
    parse_ports,
    port_open,
    relay_consumers,
    resolve_ports,
)
from deploy.local.processes import Launched, is_alive, read_pid_file, spawn, stop, tail

__all__ = [
    "SERVICES",
    "AlreadyRunning",
    "ServiceSpec",
    "Stack",
    "StackError",
    "free_ports",
    "http_ok",
    "module_available",
    "parse_ports",
    "recorded",
    "resolve_ports",
    "running_stack",
    "start_stack",
    "stop_stack",
]

DEFAULT_TIMEOUT_SECONDS = 60.0
#: Seconds between two progress lines while the stack waits for its parts.
PROGRESS_INTERVAL = 5.0
#: Where progress lines go (`make up`: printed).
Progress = Callable[[str], None]


class StackError(RuntimeError):
    """The stack could not be started; the message says which part and shows its log."""


class AlreadyRunning(StackError):
    """The run directory records live processes: a second `up` would fight over the ports."""


@dataclass
class Stack:
    """A started backend: where each part is, and how to stop it."""

    run_dir: Path
    host: str
    urls: dict[str, str] = field(default_factory=dict)
    smtp: tuple[str, int] | None = None
    relay_metrics_url: str | None = None
    #: The demo loader's last output line, when it ran.
    demo: str | None = None
    launched: list[Launched] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

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


def start_stack(
    run_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    ports: Mapping[str, int] | None = None,
    host: str = "127.0.0.1",
    services: tuple[ServiceSpec, ...] = SERVICES,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    demo: bool = False,
    progress: Progress | None = None,
) -> Stack:
    """Start the relay, an SMTP catcher (if needed) and each available service; wait for ready.

    `env` is the environment passed to every process (default: this process's). On failure,
    everything started so far is stopped and `StackError` carries the failing part's log tail.
    `progress`, when given, receives a line every `PROGRESS_INTERVAL` seconds while a part is
    awaited (`make up` prints them), so a slow start does not look like a hang.
    """
    running = [launched.name for launched, alive in recorded(run_dir) if alive]
    if running:
        raise AlreadyRunning(f"already running: {', '.join(running)} (make down stops them)")
    base_env = dict(os.environ if env is None else env)
    chosen = resolve_ports(base_env, ports, services)
    _require_free_ports(host, chosen, base_env, services)
    stack = Stack(run_dir=run_dir, host=host)
    try:
        _start_smtp_catcher(stack, base_env, chosen["smtp"])
        child_env = _child_env(base_env, stack, host, chosen, services)
        _start_relay(stack, child_env, chosen["relay"])
        for spec in services:
            _start_service(stack, spec, child_env, chosen[spec.name])
        _wait_until_ready(stack, timeout, progress)
        if demo and module_exists(DEMO_MODULE):
            if progress is not None:
                progress("loading the demo data")
            _run_demo(stack, child_env, timeout)
    except BaseException:
        stack.stop()
        raise
    return stack


@contextlib.contextmanager
def running_stack(run_dir: Path, **options: Any) -> Iterator[Stack]:
    """`start_stack(run_dir, **options)` for the duration of a `with` block (tests)."""
    stack = start_stack(run_dir, **options)
    try:
        yield stack
    finally:
        stack.stop()


def stop_stack(run_dir: Path) -> dict[str, str]:
    """Stop every process recorded under `run_dir` (idempotent): name -> what happened."""
    outcome = {}
    for pid_file in sorted(run_dir.glob("*.pid")):
        launched = read_pid_file(pid_file)
        if launched is not None:
            outcome[launched.name] = stop(launched)
        pid_file.unlink(missing_ok=True)
    return outcome


def recorded(run_dir: Path) -> list[tuple[Launched, bool]]:
    """What the run directory says is started, and whether each is still alive."""
    found = []
    for pid_file in sorted(run_dir.glob("*.pid")):
        launched = read_pid_file(pid_file)
        if launched is not None:
            found.append((launched, is_alive(launched)))
    return found


def _launch(
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


def _start_smtp_catcher(stack: Stack, env: Mapping[str, str], port: int) -> None:
    if env.get("SMTP_HOST") or env.get("SMTP_PORT"):
        return
    argv = [sys.executable, "-m", "deploy.local.mailcatcher", "serve"]
    argv += ["--host", stack.host, "--port", str(port), "--dir", str(stack.mail_dir)]
    # The catcher lives in this repository's `deploy` package, not in an installed one.
    repo_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(filter(None, [repo_root, env.get("PYTHONPATH")]))
    _launch(stack, "smtp-catcher", argv, {**env, "PYTHONPATH": python_path})
    stack.smtp = (stack.host, port)


def _require_free_ports(
    host: str, ports: Mapping[str, int], env: Mapping[str, str], services: tuple[ServiceSpec, ...]
) -> None:
    """Say which port is taken and how to choose another, rather than a bind error in a log."""
    wanted = {spec.name: ports[spec.name] for spec in services if module_available(spec.module)}
    if module_available(RELAY_MODULE):
        wanted["relay"] = ports["relay"]
    if not (env.get("SMTP_HOST") or env.get("SMTP_PORT")):
        wanted["smtp"] = ports["smtp"]
    variables = {"smtp": "SMTP_CATCHER_PORT", "relay": "RELAY_METRICS_PORT"}
    for name, port in wanted.items():
        if port_open(host, port):
            variable = variables.get(name, f"{name.upper()}_PORT")
            raise StackError(
                f"port {port} ({name}) is already in use on {host}: stop what listens there"
                f" or choose another port ({variable}=... or --ports {name}=...)"
            )


def _child_env(
    base: Mapping[str, str],
    stack: Stack,
    host: str,
    ports: Mapping[str, int],
    services: tuple[ServiceSpec, ...],
) -> dict[str, str]:
    """The environment passed through, plus where the SMTP catcher and the services are."""
    env = dict(base)
    if stack.smtp is not None:
        env["SMTP_HOST"], env["SMTP_PORT"] = stack.smtp[0], str(stack.smtp[1])
    for spec in services:
        env[f"{spec.name.upper()}_PORT"] = str(ports[spec.name])
        env[f"HELPDESK_{spec.name.upper()}_URL"] = f"http://{host}:{ports[spec.name]}"
    return env


def _start_relay(stack: Stack, env: dict[str, str], metrics_port: int) -> None:
    """The relay has no API: its Prometheus endpoint tells that it started."""
    if not module_available(RELAY_MODULE):
        stack.skipped.append(f"relay: {RELAY_MODULE} has no __main__ yet")
        return
    url = f"http://{stack.host}:{metrics_port}/metrics"
    own_env = {**env, "RELAY_METRICS_PORT": str(metrics_port)}
    own_env.setdefault("RELAY_CONSUMERS", relay_consumers(consumer_queues()))
    _launch(stack, "relay", [sys.executable, "-m", RELAY_MODULE], own_env, url, url)
    stack.relay_metrics_url = url


def _start_service(stack: Stack, spec: ServiceSpec, env: dict[str, str], port: int) -> None:
    if not module_available(spec.module):
        stack.skipped.append(f"{spec.name}: {spec.module} has no __main__ yet")
        return
    url = f"http://{stack.host}:{port}"
    # Services read `<NAME>_HOST`/`<NAME>_PORT` (or plain `HOST`/`PORT`): set both spellings.
    own_env = {**env, "HOST": stack.host, "PORT": str(port)}
    own_env[f"{spec.name.upper()}_HOST"] = stack.host
    own_env[f"{spec.name.upper()}_PORT"] = str(port)
    argv = [sys.executable, "-m", spec.module]
    _launch(stack, spec.name, argv, own_env, url, f"{url}/readyz")
    stack.urls[spec.name] = url


def _wait_until_ready(stack: Stack, timeout: float, progress: Progress | None = None) -> None:
    """Every service's `/readyz` answers 200, the catcher accepts connections, nothing died."""
    started = time.monotonic()
    deadline = started + timeout
    next_report = started + PROGRESS_INTERVAL
    pending = {launched.name: launched for launched in stack.launched}
    while pending:
        for name, launched in list(pending.items()):
            if not is_alive(launched):
                raise StackError(
                    f"{name} exited during start-up; {launched.log}:\n{tail(launched.log)}"
                )
            if _is_ready(stack, launched):
                del pending[name]
        if not pending:
            break
        if time.monotonic() > deadline:
            name, launched = next(iter(pending.items()))
            raise StackError(
                f"{name} not ready after {timeout:.0f} s; {launched.log}:\n{tail(launched.log)}"
            )
        if progress is not None and time.monotonic() >= next_report:
            next_report += PROGRESS_INTERVAL
            progress(waiting_line(pending.values(), time.monotonic() - started))
        time.sleep(0.2)


def waiting_line(pending: Iterable[Launched], elapsed: float) -> str:
    """What `make up` prints while it waits: the parts not ready yet and for how long."""
    awaited = [
        f"{launched.name} /readyz"
        if (launched.ready_url or "").endswith("/readyz")
        else launched.name
        for launched in pending
    ]
    return f"waiting for {', '.join(awaited)} ({elapsed:.0f} s)"


def _is_ready(stack: Stack, launched: Launched) -> bool:
    if launched.ready_url is not None:
        return http_ok(launched.ready_url)
    if launched.name == "smtp-catcher" and stack.smtp is not None:
        return port_open(*stack.smtp)
    return True


def http_ok(url: str) -> bool:
    """True when `url` answers 200 (a readiness probe)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _run_demo(stack: Stack, env: dict[str, str], timeout: float) -> None:
    """Load demo data through the services (written by the intake team), logged to demo.log."""
    log = stack.run_dir / "logs" / "demo.log"
    with log.open("ab") as out:
        result = subprocess.run(  # noqa: S603 - fixed module name
            [sys.executable, "-m", DEMO_MODULE, *DEMO_COMMAND],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=max(timeout, 120.0),
            check=False,
        )
    if result.returncode != 0:
        stack.skipped.append(f"demo data: failed (exit {result.returncode}), see {log}")
        return
    stack.demo = (tail(log, 1) or "loaded").strip()
