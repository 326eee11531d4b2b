"""`make up` says what it waits for while it waits, instead of staying silent."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy.local import stack as stack_module
from deploy.local.parts import free_port
from deploy.local.processes import Launched
from deploy.local.stack import Stack, waiting_line


def test_the_waiting_line_names_the_parts_and_the_time(tmp_path: Path) -> None:
    ticket = Launched("ticket", 1, ("x",), tmp_path / "t.log", ready_url="http://h:1/readyz")
    catcher = Launched("smtp-catcher", 2, ("y",), tmp_path / "s.log")
    assert (
        waiting_line([ticket, catcher], 12.4) == "waiting for ticket /readyz, smtp-catcher (12 s)"
    )


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process to stand for a service (`is_alive` checks its command line)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield process
    process.kill()
    process.wait()


def _serve_ready_after(port: int, delay: float) -> None:
    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    def serve() -> None:
        time.sleep(delay)
        server = http.server.HTTPServer(("127.0.0.1", port), Ready)
        server.timeout = 5
        server.handle_request()
        server.server_close()

    threading.Thread(target=serve, daemon=True).start()


def test_progress_lines_come_while_a_service_is_not_ready(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module, "PROGRESS_INTERVAL", 0.3)
    port = free_port()
    _serve_ready_after(port, 1.2)
    stack = Stack(run_dir=tmp_path, host="127.0.0.1")
    argv = tuple(str(a) for a in sleeper.args)  # type: ignore[union-attr]
    ready_url = f"http://127.0.0.1:{port}/readyz"
    stack.launched.append(
        Launched("ticket", sleeper.pid, argv, tmp_path / "t.log", None, ready_url)
    )
    lines: list[str] = []

    stack_module._wait_until_ready(stack, timeout=10, progress=lines.append)

    assert lines, "no progress line while ticket was not ready"
    assert all(line.startswith("waiting for ticket /readyz (") for line in lines)
    assert lines[-1].endswith(" s)")
