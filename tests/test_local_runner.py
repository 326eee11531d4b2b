"""The local runner (`make up` / `make down`) against this run's database and exchange.

Everything runs for real: the relay, the services that exist so far, the SMTP catcher, on free
ports, with pid files and logs in a temporary run directory.
"""

from __future__ import annotations

import importlib.util
import os
import smtplib
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import pytest
from deploy.local.mailcatcher import list_mails
from deploy.local.processes import group_alive, is_alive
from deploy.local.stack import (
    SERVICES,
    ServiceSpec,
    StackError,
    free_ports,
    module_available,
    recorded,
    running_stack,
    start_stack,
    stop_stack,
)

from helpdesk_shared.messaging.topology import delete_topology

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def own_broker_names(
    amqp_url: str, exchange_name: str, queue_prefix: str
) -> AsyncIterator[tuple[str, str]]:
    """An exchange and queue prefix for this test only, deleted afterwards.

    The stack's relay publishes every event of its database and its consumers take from their
    queues: with names of their own they can neither steal nor add messages in other tests.
    """
    suffix = uuid.uuid4().hex[:8]
    names = (f"{exchange_name}.runner-{suffix}", f"{queue_prefix}-runner-{suffix}")
    yield names
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await delete_topology(channel, exchange=names[0], queue_prefix=names[1])


@pytest.fixture
def runner_env(
    service_env: dict[str, str],
    fresh_database_url: str,
    own_broker_names: tuple[str, str],
    tmp_path: Path,
) -> dict[str, str]:
    """This run's servers, a database and broker names of the test's own, free ports, a run dir."""
    env = {k: v for k, v in os.environ.items() if k not in {"SMTP_HOST", "SMTP_PORT"}}
    env.update(service_env)
    env["DATABASE_URL"] = fresh_database_url
    env["HELPDESK_EXCHANGE"], env["HELPDESK_QUEUE_PREFIX"] = own_broker_names
    env["HELPDESK_RUN_DIR"] = str(tmp_path / "run")
    env["HELPDESK_DEMO"] = "0"
    env["HELPDESK_READY_TIMEOUT"] = "120"  # a loaded CI machine starts Python slowly
    for spec in SERVICES:
        env[f"{spec.name.upper()}_PORT"] = str(free_port())
    env["SMTP_CATCHER_PORT"] = str(free_port())
    env["RELAY_METRICS_PORT"] = str(free_port())
    return env


@pytest.fixture
def run_dir(runner_env: dict[str, str]) -> Iterator[Path]:
    directory = Path(runner_env["HELPDESK_RUN_DIR"])
    yield directory
    stop_stack(directory)  # whatever happened in the test, leave nothing running


def runner(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.local.runner", command],
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
    expected = {s.name for s in SERVICES if module_available(s.module)} | {"smtp-catcher"}
    if module_available("helpdesk_shared.relay"):
        expected.add("relay")
    assert names == expected
    assert all(alive for _, alive in processes)
    for spec in SERVICES:
        port = runner_env[f"{spec.name.upper()}_PORT"]
        if spec.name in names:
            assert f"http://127.0.0.1:{port}" in started.stdout
            assert get(f"http://127.0.0.1:{port}/healthz") == 200
        else:
            assert f"{spec.name}: {spec.module} has no __main__ yet" in started.stdout
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
    one_service = tuple(s for s in SERVICES if module_available(s.module))[:1]
    with running_stack(
        run_dir, env=runner_env, ports=free_ports(), services=one_service, demo=True, timeout=120
    ) as stack:
        assert set(stack.urls) == {s.name for s in one_service}
        if importlib.util.find_spec("helpdesk_intake.demo") is not None:
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
