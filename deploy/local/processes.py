"""Background processes with a pid file each, stopped as a whole process group.

The local runner starts every part of the backend as its own session (process group), so that
stopping one also stops whatever it spawned (uvicorn workers, say), and records it in a pid file so
that a later `make down`, from another shell, finds it again. A pid file also names the command it
started, so that a recycled pid belonging to some unrelated process is never signalled.
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
    """Start `argv` in a new session with stdout and stderr appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        process = subprocess.Popen(  # noqa: S603 - argv is built by the runner, not from input
            list(argv),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
        )
    launched = Launched(name, process.pid, tuple(argv), log, url=url, ready_url=ready_url)
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
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_alive(launched: Launched) -> bool:
    """True when the recorded pid still runs the recorded command (and is not a zombie)."""
    proc = Path(f"/proc/{launched.pid}")
    if not Path("/proc/self").exists():
        return _signal_zero(launched.pid)
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False
    if state in {"Z", "X"}:
        return False
    recorded = [a.encode() for a in launched.argv]
    return cmdline[: len(recorded)] == recorded


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
    """SIGTERM the process group, then SIGKILL what is left after `grace` seconds."""
    if not is_alive(launched) and not group_alive(launched.pid):
        return "not running"
    _signal_group(launched.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(launched.pid):
            return "stopped"
        time.sleep(0.1)
    _signal_group(launched.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and group_alive(launched.pid):
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
