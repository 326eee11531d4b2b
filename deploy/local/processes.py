"""Background processes with a pid file each, stopped as a whole process group.

The local runner starts every part of the backend as its own session (process group), so that
stopping one also stops whatever it spawned (uvicorn workers, say), and records it in a pid file so
that a later `make down`, from another shell, finds it again. A pid file also records when the
kernel started the process: a pid is reused once its process is gone (numbers wrap at `pid_max`,
32768 by default), and a pid with its start time names one process for good, so that a recycled
pid, or the process group a newcomer leads under a recycled number, is never signalled. The command
line is no witness: it reads empty for an instant while the kernel loads the new program (after
`Popen` has returned), and names the interpreter of a script.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Launched:
    """A started process, as recorded in its pid file."""

    name: str
    pid: int
    argv: tuple[str, ...]
    log: Path
    #: Where it serves (printed by `make up`).
    url: str | None = None
    #: What answers 200 once it is ready (`/readyz` of a service).
    ready_url: str | None = None
    #: When the kernel started it (clock ticks since boot, `/proc/<pid>/stat`); None in a pid file
    #: written before it was recorded, or without `/proc`.
    started: int | None = None


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    pid_file: Path,
    url: str | None = None,
    ready_url: str | None = None,
    cwd: Path | None = None,
) -> tuple[Launched, subprocess.Popen[bytes]]:
    """Start `argv` in a new session with stdout and stderr appended to `log`.

    Python children write unbuffered and dump their stacks on a fatal signal (unless `env` says
    otherwise), so that a part that dies at start-up leaves in its log what it printed and where
    it crashed, rather than losing them with its buffer.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        process = subprocess.Popen(  # noqa: S603 - argv is built by the runner, not from input
            list(argv),
            env={"PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
        )
    # Our child, not reaped yet: its pid cannot have been given to another process.
    started = start_time(process.pid)
    launched = Launched(name, process.pid, tuple(argv), log, url, ready_url, started)
    write_pid_file(pid_file, launched)
    return launched, process


def write_pid_file(pid_file: Path, launched: Launched) -> None:
    record = {
        "name": launched.name,
        "pid": launched.pid,
        "argv": list(launched.argv),
        "log": str(launched.log),
        "url": launched.url,
        "ready_url": launched.ready_url,
        "started": launched.started,
    }
    pid_file.write_text(json.dumps(record, indent=2) + "\n")


def read_pid_file(pid_file: Path) -> Launched | None:
    """The recorded process, or None when the file is missing or unreadable."""
    try:
        record = json.loads(pid_file.read_text())
        return Launched(
            name=str(record["name"]),
            pid=int(record["pid"]),
            argv=tuple(str(a) for a in record["argv"]),
            log=Path(record["log"]),
            url=record.get("url"),
            ready_url=record.get("ready_url"),
            started=None if record.get("started") is None else int(record["started"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_alive(launched: Launched) -> bool:
    """True when the recorded process still runs (not a zombie, and not a newcomer on its pid)."""
    if not Path("/proc/self").exists():
        return _signal_zero(launched.pid)
    fields = _stat_fields(launched.pid)
    if fields is None or fields[0] in {"Z", "X"}:
        return False
    if launched.started is not None:
        return int(fields[19]) == launched.started
    return _runs_recorded_command(launched)


def start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot; None once it is gone or without `/proc`."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def owns_group(launched: Launched) -> bool:
    """True while the process group the recorded process leads is still there and still ours.

    A group outlives its leader while any member runs, and the kernel gives no new process the
    number meanwhile; so the group is ours when its number is held by our leader (alive or a
    zombie) or by no process at all. A number held by another process is a recycled pid whose
    owner leads a group of its own (a part started by a later `make up`, say): not ours.
    """
    if not group_alive(launched.pid):
        return False
    fields = _stat_fields(launched.pid)
    if fields is None:
        return True
    if launched.started is not None:
        return int(fields[19]) == launched.started
    return fields[0] in {"Z", "X"} or _runs_recorded_command(launched)


def group_alive(pgid: int) -> bool:
    """True while any process of the group (the session the runner started) remains."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _group_has_live_member(pgid)


def stop(launched: Launched, grace: float = STOP_GRACE_SECONDS) -> str:
    """SIGTERM the process group, then SIGKILL what is left after `grace` seconds.

    Ownership is checked before each signal: a group that ended may have its number reused.
    """
    if not owns_group(launched):
        return "not running"
    _signal_group(launched.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not owns_group(launched):
            return "stopped"
        time.sleep(0.1)
    if owns_group(launched):
        _signal_group(launched.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and owns_group(launched):
        time.sleep(0.05)
    return "killed"


def tail(log: Path, lines: int = 30) -> str:
    """The last lines of a log file, for an error message."""
    try:
        content = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(content[-lines:])


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat_fields(pid: int) -> list[str] | None:
    """`/proc/<pid>/stat` after the command name (state first, start time at index 19)."""
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _runs_recorded_command(launched: Launched) -> bool:
    """For a pid file without a start time: the recorded command is on the pid's command line."""
    try:
        cmdline = Path(f"/proc/{launched.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    recorded = [a.encode() for a in launched.argv]
    return cmdline[: len(recorded)] == recorded


def _group_has_live_member(pgid: int) -> bool:
    """`killpg(pgid, 0)` also succeeds for zombies: look for a member that is not one."""
    proc = Path("/proc")
    if not (proc / "self").exists():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in {"Z", "X"}:
            return True
    return False
