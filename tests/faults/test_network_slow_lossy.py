"""The backend behind a slow and lossy network: slower, nothing lost, nothing hung, then back.

The relay and the four services run in a network namespace of this test (helpdesk_testkit.netlab)
and reach the machine's PostgreSQL and RabbitMQ through forwarders on the root side of the link;
the test's HTTP requests and notify's mails cross the link too. Traffic flows for a baseline, then
with every packet of the link delayed by `DELAY_MS` and `LOSS_PERCENT` of them dropped (both
directions), then with the link clear again. The fault suite's checks then count what was
accepted, stored, published, mailed and folded by metrics (tests/support/fault_harness.py). The
figures are printed as a `NETWORK-FIGURES {...}` line (`pytest tests/faults -m slow -rP -k
network`) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import pytest
from aiosmtpd.controller import Controller
from deploy.local.stack import Stack, start_stack
from fault_harness import FaultRun
from fault_servers import PrivatePostgres, SwitchableMailbox, free_port
from fault_traffic import NO_MAIL_TWICE, Traffic, Witness, assert_nothing_lost_or_doubled

from helpdesk_shared.db import IDLE_IN_TRANSACTION_TIMEOUT_MS, create_engine
from helpdesk_shared.migrations import upgrade_all
from helpdesk_testkit.forwarder import TcpForwarder
from helpdesk_testkit.netlab import Lab, lab_unavailable, namespace_exists, network_lab
from helpdesk_testkit.servers import create_database, with_database

pytestmark = pytest.mark.slow

DELAY_MS, LOSS_PERCENT = 50, 1
BASELINE_SECONDS, IMPAIRED_SECONDS, RESTORED_SECONDS = 10, 25, 10
#: The first requests open the services' pools and warm their caches (seconds each on a loaded
#: machine): they count for no phase, so the baseline is the backend's steady pace.
WARM_UP_SECONDS = 3
#: After the link is cleared, connections still back off from losses (retransmission timers):
#: requests started in this window count for no phase.
SETTLING_SECONDS = 2
#: How much slower than the baseline's median the restored median may be: the machine is shared
#: and loaded, so only a return to the same order of magnitude is asserted.
RESTORED_FACTOR = 4


def request_bound() -> float:
    """The longest a request may take before it counts as hung, from the configured timeouts:
    a request waits at most the pool's checkout timeout for a database connection, and PostgreSQL
    ends a transaction left idle (`IDLE_IN_TRANSACTION_TIMEOUT_MS`), so a stuck one fails."""
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1/none")
    checkout = float(engine.sync_engine.pool.timeout())  # type: ignore[attr-defined]
    return checkout + IDLE_IN_TRANSACTION_TIMEOUT_MS / 1000


@pytest.fixture
def lab() -> Iterator[Lab]:
    if reason := lab_unavailable():
        pytest.skip(reason)  # the one skip tests/conftest.py allows: no root, ip or namespaces
    with network_lab() as built:
        yield built
    assert not namespace_exists(built.namespace), "the lab's namespace outlived the test"


def _through(url: str, forwarder: TcpForwarder) -> str:
    """`url` with its host and port replaced by the forwarder's listening address."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@" if userinfo else ""
    return urlunsplit(
        parts._replace(netloc=f"{netloc}{forwarder.listen_host}:{forwarder.listen_port}")
    )


def _forwarder_to(lab: Lab, url: str, default_port: int) -> TcpForwarder:
    parts = urlsplit(url.replace("+asyncpg", ""))
    target = parts.hostname or "127.0.0.1"
    return TcpForwarder(lab.root_address, target, parts.port or default_port).start()


@pytest.fixture
async def witness_queue(runner_env: dict[str, str], amqp_url: str) -> AsyncIterator[str]:
    """The witness queue's name on the shared broker, deleted afterwards (own_broker_names
    deletes the consumers' queues, not this one)."""
    name = f"{runner_env['HELPDESK_QUEUE_PREFIX']}.witness"
    yield name
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


@pytest.fixture
def private_database_url(private_postgres: PrivatePostgres) -> str:
    """A migrated database on the fault suite's private PostgreSQL. Not the machine's: the log's
    readers see only below the oldest transaction still running in the whole cluster
    (`pg_snapshot_xmin`), and on the shared server a transaction of another run, open for
    minutes, once hid every event of this test until its checks gave up."""
    name = f"network_{uuid.uuid4().hex[:8]}"
    asyncio.run(create_database(private_postgres.admin_url, name))
    url = with_database(private_postgres.admin_url, name)
    upgrade_all(url)
    return url


@pytest.fixture
def network_run(
    lab: Lab,
    runner_env: dict[str, str],
    run_dir: Path,
    private_database_url: str,
    amqp_url: str,
    witness_queue: str,
) -> Iterator[FaultRun]:
    """The backend in the lab's namespace, reaching the servers and the test's SMTP server across
    the link; the checks read the store and the witness queue directly, off the link."""
    database_url = private_database_url
    forwarders = [_forwarder_to(lab, database_url, 5432), _forwarder_to(lab, amqp_url, 5672)]
    mailbox, smtp_port = SwitchableMailbox(), free_port()
    controller = Controller(mailbox, hostname=lab.root_address, port=smtp_port)
    controller.start()
    stack: Stack | None = None
    try:
        env = dict(runner_env)
        env["DATABASE_URL"] = _through(database_url, forwarders[0])
        env["AMQP_URL"] = _through(amqp_url, forwarders[1])
        env["SMTP_HOST"], env["SMTP_PORT"] = lab.root_address, str(smtp_port)
        witness = Witness(amqp_url, env["HELPDESK_EXCHANGE"], witness_queue)
        asyncio.run(witness.declare())
        stack = lab.run_inside(
            lambda: start_stack(run_dir, env=env, host=lab.inner_address, demo=True, timeout=180)
        )
        yield FaultRun(stack, env, database_url, mailbox, witness)
    finally:
        if stack is not None:
            stack.stop()
        controller.stop()
        for forwarder in forwarders:
            forwarder.stop()


async def test_slow_and_lossy_network(network_run: FaultRun, lab: Lab) -> None:
    await network_run.mark_baseline()
    traffic = network_run.traffic()
    traffic.timeout, traffic.read_back = request_bound(), True
    running = asyncio.create_task(traffic.run())
    try:
        for phase, seconds in _phases():
            if phase == "impaired":
                await asyncio.to_thread(lab.link.impair, DELAY_MS, LOSS_PERCENT)
            if phase == "settling":
                await asyncio.to_thread(lab.link.clear)
            traffic.phase = phase
            await asyncio.sleep(seconds)
    finally:
        traffic.stop.set()
        await running
    figures = await network_run.verify("slow-lossy-network", traffic)
    medians = _report(lab, traffic)
    assert_nothing_lost_or_doubled(figures, NO_MAIL_TWICE)
    _assert_answered_in_time(traffic)
    # Preconditions: the link did slow the requests down (one round trip is 2 x DELAY_MS).
    assert medians["impaired"] >= 2 * DELAY_MS / 1000, medians
    assert medians["restored"] <= RESTORED_FACTOR * medians["baseline"], medians


def _phases() -> list[tuple[str, float]]:
    return [
        ("warm-up", WARM_UP_SECONDS),
        ("baseline", BASELINE_SECONDS),
        ("impaired", IMPAIRED_SECONDS),
        ("settling", SETTLING_SECONDS),
        ("restored", RESTORED_SECONDS),
    ]


def _assert_answered_in_time(traffic: Traffic) -> None:
    """Every request answered within the bound (no timeout, no connection error), and no 500:
    a dependency too slow to answer gives 503 with Retry-After and problem details, nothing else."""
    transport_errors = {k: n for k, n in traffic.statuses.items() if not k.isdigit()}
    assert not transport_errors, f"requests without an answer: {transport_errors}"
    slowest = max(max(seconds) for seconds in traffic.latencies.values())
    assert slowest <= traffic.timeout, f"a request took {slowest:.1f} s"
    assert not traffic.unactionable, traffic.unactionable


def _report(lab: Lab, traffic: Traffic) -> dict[str, float]:
    medians = {p: statistics.median(s) for p, s in traffic.latencies.items() if s}
    figures = {
        "link": lab.link.kind,
        "delay_ms": DELAY_MS,
        "loss_percent": LOSS_PERCENT,
        "request_bound_s": traffic.timeout,
        "requests": {p: len(s) for p, s in traffic.latencies.items()},
        "median_ms": {p: round(m * 1000, 1) for p, m in medians.items()},
        "max_ms": {p: round(max(s) * 1000, 1) for p, s in traffic.latencies.items() if s},
        "statuses": dict(traffic.statuses),
    }
    print("NETWORK-FIGURES " + json.dumps(figures, sort_keys=True))
    return medians


def test_network_lab_impairs_only_its_link_and_leaves_nothing_behind() -> None:
    """The kit itself: PostgreSQL's answer across the impaired link takes at least a round trip
    of the delay, on the root namespace's `lo` it does not, and a failure inside the lab still
    removes the namespace and its devices."""
    if reason := lab_unavailable():
        pytest.skip(reason)
    namespaces: list[str] = []
    with pytest.raises(RuntimeError, match="failure inside the lab"):
        _impair_then_fail(namespaces)
    assert namespaces, "the lab was never built"
    assert not namespace_exists(namespaces[0])
    devices = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    assert namespaces[0].rsplit("-", 1)[1] not in devices.stdout


def _impair_then_fail(namespaces: list[str]) -> None:
    with network_lab() as lab:
        namespaces.append(lab.namespace)
        forwarder = TcpForwarder(lab.root_address, "127.0.0.1", 5432).start()
        try:
            lab.link.impair(DELAY_MS, 0)
            address = (lab.root_address, forwarder.listen_port)
            across = lab.run_inside(lambda: _answer_seconds(*address))
            direct = _answer_seconds("127.0.0.1", 5432)
            assert across >= 2 * DELAY_MS / 1000 > direct, (across, direct)
        finally:
            forwarder.stop()
        raise RuntimeError("failure inside the lab")


def _answer_seconds(host: str, port: int) -> float:
    """Connect and get PostgreSQL's one-byte answer to an SSLRequest: two round trips."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
        sock.recv(1)
    return time.monotonic() - started
