"""The local runner (`make up` / `make down`) against this run's database and exchange.

Everything runs for real: the relay, the services that exist so far, the SMTP catcher, on free
ports, with pid files and logs in a temporary run directory.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from deploy.local.mailcatcher import list_mails
from deploy.local.parts import free_port, port_open
from deploy.local.processes import group_alive, is_alive
from deploy.local.stack import (
    SERVICES,
    ServiceSpec,
    StackError,
    free_ports,
    recorded,
    running_stack,
    start_stack,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def runner(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return runner_with([command], env)


def runner_with(arguments: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.local.runner", *arguments],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
        return int(response.status)


def test_up_starts_what_exists_and_down_leaves_nothing(
    runner_env: dict[str, str], run_dir: Path
) -> None:
    started = runner("up", runner_env)
    assert started.returncode == 0, started.stderr + started.stdout
    processes = recorded(run_dir)
    names = {launched.name for launched, _ in processes}
    # Every part, always: a service that lost its `__main__` is a failure, not a smaller stack.
    assert names == {s.name for s in SERVICES} | {"smtp-catcher", "relay"}
    assert all(alive for _, alive in processes)
    for spec in SERVICES:
        port = runner_env[f"{spec.name.upper()}_PORT"]
        assert f"http://127.0.0.1:{port}" in started.stdout
        assert get(f"http://127.0.0.1:{port}/healthz") == 200
    assert (run_dir / "logs" / "smtp-catcher.log").exists()

    assert runner("status", runner_env).returncode == 0
    again = runner("up", runner_env)
    assert again.returncode == 0
    assert "already running" in again.stdout

    stopped = runner("down", runner_env)
    assert stopped.returncode == 0, stopped.stderr
    for launched, _ in processes:
        assert not is_alive(launched)
        assert not group_alive(launched.pid)
    assert list(run_dir.glob("*.pid")) == []
    assert "nothing to stop" in runner("down", runner_env).stdout


def test_start_stack_gives_urls_and_a_working_mail_catcher(
    runner_env: dict[str, str], run_dir: Path
) -> None:
    one_service = SERVICES[:1]
    with running_stack(
        run_dir, env=runner_env, ports=free_ports(), services=one_service, demo=True, timeout=120
    ) as stack:
        assert set(stack.urls) == {s.name for s in one_service}
        assert stack.demo is not None, stack.skipped
        for url in stack.urls.values():
            assert get(f"{url}/readyz") == 200
        assert stack.smtp is not None
        with smtplib.SMTP(*stack.smtp, timeout=10) as smtp:
            smtp.sendmail(
                "desk@dsi.example.fr",
                ["user@dsi.example.fr"],
                b"From: desk@dsi.example.fr\r\nTo: user@dsi.example.fr\r\n"
                b"Subject: Demande enregistree\r\n\r\nBonjour.\r\n",
            )
        [mail] = list_mails(stack.mail_dir)
        assert mail.subject == "Demande enregistree"
        assert mail.recipients == "user@dsi.example.fr"
    assert not any(is_alive(launched) for launched in stack.launched)
    assert list(run_dir.glob("*.pid")) == []


def test_an_external_smtp_server_is_used_instead_of_the_catcher(
    runner_env: dict[str, str], run_dir: Path
) -> None:
    env = {**runner_env, "SMTP_HOST": "smtp.dsi.example.fr", "SMTP_PORT": "25"}
    stack = start_stack(run_dir, env=env, services=(), timeout=120)
    try:
        assert stack.smtp is None
        assert "smtp-catcher" not in {launched.name for launched in stack.launched}
    finally:
        stack.stop()


def test_a_part_that_dies_at_start_stops_the_rest_and_shows_its_log(
    runner_env: dict[str, str], run_dir: Path
) -> None:
    broken = ServiceSpec("broken", "venv", free_port())  # `python -m venv` exits: no ENV_DIR
    missing = ServiceSpec("ghost", "helpdesk_ghost", free_port())
    with pytest.raises(StackError, match="broken exited during start-up") as failure:
        start_stack(run_dir, env=runner_env, services=(missing, broken), timeout=120)
    assert "ENV_DIR" in str(failure.value)
    assert "(exit code " in str(failure.value)
    assert not any(alive for _, alive in recorded(run_dir))
    assert list(run_dir.glob("*.pid")) == []


def test_a_port_in_use_is_named_before_anything_starts(
    runner_env: dict[str, str], run_dir: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(StackError, match=f"port {port} \\(smtp\\) is already in use"):
            start_stack(run_dir, env=runner_env, ports={"smtp": port}, services=())
    assert recorded(run_dir) == []


def test_replicas_run_behind_one_address_each_with_two_relays(
    runner_env: dict[str, str], run_dir: Path
) -> None:
    started = runner_with(["up", "--replicas", "2"], runner_env)
    assert started.returncode == 0, started.stderr + started.stdout
    processes = {launched.name: launched for launched, _ in recorded(run_dir)}
    replicas = {f"{s.name}-{i}" for s in SERVICES for i in (1, 2)}
    proxies = {f"{s.name}-proxy" for s in SERVICES}
    assert set(processes) == replicas | proxies | {"relay-1", "relay-2", "smtp-catcher"}
    shown = runner("status", runner_env).stdout
    for name in processes:
        assert name in shown
    # One relay publishes, the other waits for its advisory lock.
    assert shown.count(", active") == 1, shown
    assert shown.count(", standby") == 1, shown

    ticket = f"http://127.0.0.1:{runner_env['TICKET_PORT']}"
    assert processes["ticket-proxy"].url == ticket
    os.killpg(processes["ticket-1"].pid, signal.SIGKILL)
    # Its last threads may still hold the listening socket for a moment after the process shows
    # as dead: a connection landing then is cut, as with any killed server.
    dead_port = int(str(processes["ticket-1"].url).rsplit(":", 1)[1])
    while group_alive(processes["ticket-1"].pid) or port_open("127.0.0.1", dead_port):
        time.sleep(0.05)
    # Each request on a new connection: the proxy skips the dead replica.
    assert [get(f"{ticket}/readyz") for _ in range(4)] == [200] * 4
    assert "ticket-1" in runner("status", runner_env).stdout
    assert runner("status", runner_env).returncode == 1  # a dead replica is reported

    assert runner("down", runner_env).returncode == 0
    assert not any(group_alive(launched.pid) for launched in processes.values())
