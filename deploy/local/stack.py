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
from pathlib import Path
from typing import Any

from deploy.local.launching import (
    Stack,
    StackError,
    start_relays,
    start_service,
    start_smtp_catcher,
)
from deploy.local.parts import (
    DEMO_COMMAND,
    DEMO_MODULE,
    RELAY_MODULE,
    SERVICES,
    ServiceSpec,
    free_ports,
    module_available,
    module_exists,
    parse_ports,
    port_open,
    resolve_ports,
)
from deploy.local.processes import Launched, is_alive, read_pid_file, stop, tail

__all__ = [
    "SERVICES",
    "AlreadyRunning",
    "ServiceSpec",
    "Stack",
    "StackError",
    "free_ports",
    "http_ok",
    "metrics_text",
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


class AlreadyRunning(StackError):
    """The run directory records live processes: a second `up` would fight over the ports."""


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
    replicas: int = 1,
) -> Stack:
    """Start the relay, an SMTP catcher (if needed) and each available service; wait for ready.

    With `replicas > 1`, every service runs that many replicas behind a proxy on its port, and two
    relays run (deploy/local/launching.py).

    `env` is the environment passed to every process (default: this process's). On failure,
    everything started so far is stopped and `StackError` carries the failing part's log tail.
    `progress`, when given, receives a line every `PROGRESS_INTERVAL` seconds while a part is
    awaited (`make up` prints them), so a slow start does not look like a hang.
    """
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, not {replicas}")
    running = [launched.name for launched, alive in recorded(run_dir) if alive]
    if running:
        raise AlreadyRunning(f"already running: {', '.join(running)} (make down stops them)")
    base_env = dict(os.environ if env is None else env)
    chosen = resolve_ports(base_env, ports, services)
    require_free_ports(host, chosen, base_env, services)
    stack = Stack(run_dir=run_dir, host=host)
    try:
        start_smtp_catcher(stack, base_env, chosen["smtp"])
        child_env = _child_env(base_env, stack, host, chosen, services)
        start_relays(stack, child_env, chosen["relay"], replicas)
        for spec in services:
            start_service(stack, spec, child_env, chosen[spec.name], replicas)
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


def require_free_ports(
    host: str, ports: Mapping[str, int], env: Mapping[str, str], services: tuple[ServiceSpec, ...]
) -> None:
    """Say which port is taken and how to choose another, rather than a bind error in a log."""
    wanted = {spec.name: ports[spec.name] for spec in services if module_available(spec.module)}
    if module_available(RELAY_MODULE):
        wanted["relay"] = ports["relay"]
    if not (env.get("SMTP_HOST") or env.get("SMTP_PORT")):
        wanted["smtp"] = ports["smtp"]
    variables = {"smtp": "SMTP_CATCHER_PORT", "relay": "RELAY_METRICS_PORT"}
    by_port: dict[int, list[str]] = {}
    for name, port in wanted.items():
        by_port.setdefault(port, []).append(name)
    shared = {port: names for port, names in by_port.items() if len(names) > 1}
    if shared:
        # The second part would fail to bind while the first answers its readiness checks.
        raise StackError(f"one port for several parts: {shared}: give each its own")
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


def _wait_until_ready(stack: Stack, timeout: float, progress: Progress | None = None) -> None:
    """Every service's `/readyz` answers 200, the catcher accepts connections, nothing died."""
    started = time.monotonic()
    deadline = started + timeout
    next_report = started + PROGRESS_INTERVAL
    pending = {launched.name: launched for launched in stack.launched}
    while pending:
        for name, launched in list(pending.items()):
            ended = _exit_status(stack, launched)
            if ended is not None:
                raise StackError(
                    f"{name} exited during start-up ({ended}); {launched.log}:\n"
                    f"{tail(launched.log)}"
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


def metrics_text(url: str) -> str | None:
    """The body `url` answers with (a Prometheus endpoint), or None when it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local http URL
            return bytes(response.read()).decode(errors="replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None


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


def _exit_status(stack: Stack, launched: Launched) -> str | None:
    """How `launched` ended, or None while it runs.

    The runner's own child handle says it for what this stack started (its exit code, or the
    signal that killed it, for the error message); `/proc` answers for anything else.
    """
    for process in stack.processes:
        if process.pid == launched.pid:
            code = process.poll()
            if code is None:
                return None
            return f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    return None if is_alive(launched) else "no longer running"
