"""The runner's processes (deploy/local/processes.py): which process a pid file names, and that
stopping one never signals another that took its number.

Real processes throughout (a `sleep`, a shell, a Python child); a recycled pid is played by a
record of a dead part carrying the pid of a live newcomer, which is what a pid file looks like
to `make down` once the kernel has given the number away.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy.local.processes import Launched, group_alive, is_alive, read_pid_file, spawn, stop

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

SLEEP = shutil.which("sleep") or "/bin/sleep"


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """What a test spawned; killed (whole group) and reaped whatever the test did."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # ours and not reaped: the pid is ours
        process.wait()


def _spawn(
    tmp_path: Path,
    started: list[subprocess.Popen[bytes]],
    argv: list[str],
    env: dict[str, str] | None = None,
) -> Launched:
    name = f"part-{len(started)}"
    launched, process = spawn(
        name,
        argv,
        env=os.environ if env is None else env,
        log=tmp_path / "logs" / f"{name}.log",
        pid_file=tmp_path / f"{name}.pid",
    )
    started.append(process)
    return launched


def _output(launched: Launched) -> list[str]:
    """The lines a part wrote to its log (the launch line, which holds the command, left out)."""
    return [line for line in launched.log.read_text().splitlines() if not line.startswith("===")]


def test_a_part_is_alive_from_the_instant_popen_returns(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """`Popen` returns once the child closed its descriptors in `execve`, before the kernel set up
    the new program's arguments: its command line reads empty then, and a check by command line
    called a part that was starting dead. How often a check lands in that instant depends on the
    machine (about 1 spawn in 100 here, the pid file written in between; most spawns when checked
    at once): many spawns make a miss likely; the script test below misses on every run."""
    for _ in range(100):
        launched = _spawn(tmp_path, started, [SLEEP, "30"])
        assert is_alive(launched), f"pid {launched.pid} judged dead while starting"
        assert started[-1].poll() is None


def test_a_part_started_through_a_script_is_alive(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """A script runs as its interpreter (`/bin/sh script`): the command line is not the argv."""
    script = tmp_path / "serve"
    script.write_text(f"#!/bin/sh\nexec {SLEEP} 30\n")
    script.chmod(0o755)
    launched = _spawn(tmp_path, started, [str(script)])
    time.sleep(0.3)
    assert started[-1].poll() is None
    assert is_alive(launched)
    assert read_pid_file(tmp_path / f"{launched.name}.pid") == launched


def test_stop_leaves_alone_a_newcomer_on_a_dead_parts_pid(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """The newcomer runs the very same command in a session of its own, as a part restarted by a
    later `make up` (or a fault test) would: neither its command line nor its process group tell
    it from the dead part, only its start time does."""
    dead = _spawn(tmp_path, started, [SLEEP, "30"])
    os.killpg(dead.pid, signal.SIGKILL)
    started[-1].wait()
    time.sleep(0.05)  # a start time is in clock ticks: the newcomer starts ticks later
    newcomer = _spawn(tmp_path, started, [SLEEP, "30"])
    recycled = dataclasses.replace(dead, pid=newcomer.pid)  # the dead part's pid file, recycled

    assert not is_alive(recycled)
    assert stop(recycled, grace=1) == "not running"
    time.sleep(0.2)
    assert started[-1].poll() is None, f"newcomer ended: {started[-1].returncode}"
    assert is_alive(newcomer)


def test_stop_ends_what_a_dead_leader_left_in_its_group(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """While the group lives its number is not reused, so the group is still the part's."""
    launched = _spawn(tmp_path, started, ["/bin/sh", "-c", f"{SLEEP} 30 & echo started; wait"])
    deadline = time.monotonic() + 10
    while "started" not in _output(launched) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(launched.pid, signal.SIGKILL)  # the leader only
    started[-1].wait()
    assert not is_alive(launched)
    assert group_alive(launched.pid)

    assert stop(launched, grace=5) == "stopped"
    assert not group_alive(launched.pid)


def test_what_a_python_part_printed_before_it_died_is_in_its_log(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """A part killed at start-up leaves at least what it printed, not a log empty but for the
    launch line (its output is not held back in a buffer)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    code = "print('loading settings'); import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    launched = _spawn(tmp_path, started, [sys.executable, "-c", code], env=env)
    assert started[-1].wait(timeout=30) == -signal.SIGKILL
    assert "loading settings" in _output(launched)


def test_a_python_part_that_crashes_leaves_its_stack_in_its_log(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """A fatal signal (an abort in a C extension, say) ends a part without a Python traceback,
    unless its fault handler writes one."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    code = "import os\ndef load_settings():\n    os.abort()\nload_settings()"
    launched = _spawn(tmp_path, started, [sys.executable, "-c", code], env=env)
    assert started[-1].wait(timeout=30) == -signal.SIGABRT
    output = "\n".join(_output(launched))
    assert "Fatal Python error: Aborted" in output
    assert "load_settings" in output
