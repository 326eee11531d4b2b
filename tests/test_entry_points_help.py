"""Every command of the repository answers `--help` with its usage, exit 0, and does nothing else.

The commands are discovered, not listed: every module with an `if __name__ == "__main__"` block,
every package with a `__main__.py` and every `[project.scripts]` entry. A new command is therefore
checked as soon as it exists; `KNOWN` only guards the discovery itself (a discovery that silently
found nothing would pass everything).

Each runs in an empty temporary directory with `DATABASE_URL` naming a database that does not
exist and `AMQP_URL` a port nothing listens on: after `--help` the directory is still empty and
the database still does not exist (a migration, a demo load or a relay would have needed it).
"""

from __future__ import annotations

import ast
import asyncio
import os
import socket
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from helpdesk_shared.db import asyncpg_dsn
from helpdesk_testkit.servers import drop_database

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Where commands live; tests and virtual environments hold none of the repository's commands.
SEARCHED = ("shared", "services", "deploy", "bench", "examples")
SKIPPED_PARTS = {".venv", "tests", "__pycache__", "node_modules"}

#: A sample of what the discovery must find (see the module docs), with each tool's sub-commands.
KNOWN = {
    "helpdesk_shared.migrations.cli": (),
    "helpdesk_shared.relay": (),
    "helpdesk_shared.events.asyncapi": (),
    "helpdesk_shared.events.schema": (),
    "helpdesk_intake": (),
    "helpdesk_ticket": (),
    "helpdesk_notify": (),
    "helpdesk_metrics": (),
    "helpdesk_intake.entrypoints.cli": ("demo-data",),
    "helpdesk_ticket.entrypoints.cli": ("rebuild",),
    "helpdesk_notify.entrypoints.cli": ("digest",),
    "helpdesk_metrics.entrypoints.cli": ("replay",),
    "deploy.local.runner": ("up", "down", "status"),
    "deploy.local.demo_day": (),
    "deploy.local.servers": (),
    "deploy.local.token": (),
    "deploy.local.mailcatcher": (),
    "bench.run": (),
    "bench.load": (),
    "bench.ticket": (),
    "examples.subscriber.subscriber": (),
}
KNOWN_SCRIPTS = {"helpdesk-migrate", "helpdesk-relay"}


def _module_name(path: Path) -> str:
    """`services/x/src/helpdesk_x/a/b.py` -> `helpdesk_x.a.b`; `bench/load/__main__.py` ->
    `bench.load` (what `python -m` takes)."""
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if "src" in parts:
        parts = parts[parts.index("src") + 1 :]
    if parts[-1] == "__main__":
        parts = parts[:-1]
    return ".".join(parts)


def _runs_as_main(path: Path) -> bool:
    if path.name == "__main__.py":
        return True
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            return "__main__" in ast.unparse(node.test)
    return False


def _sub_commands(path: Path) -> tuple[str, ...]:
    """The argparse sub-commands the module declares (`add_parser("name", ...)`)."""
    return tuple(
        node.args[0].value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_parser"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def discover_modules() -> dict[str, tuple[str, ...]]:
    """Each module `python -m` runs, with its sub-commands (each is asked for `--help` too)."""
    found: dict[str, tuple[str, ...]] = {}
    for top in SEARCHED:
        for path in (REPO_ROOT / top).rglob("*.py"):
            if SKIPPED_PARTS.isdisjoint(path.relative_to(REPO_ROOT).parts) and _runs_as_main(path):
                found[_module_name(path)] = _sub_commands(path)
    return dict(sorted(found.items()))


def discover_scripts() -> list[str]:
    scripts: set[str] = set()
    pyprojects = [REPO_ROOT / "pyproject.toml", *REPO_ROOT.glob("*/pyproject.toml")]
    for pyproject in [*pyprojects, *REPO_ROOT.glob("services/*/pyproject.toml")]:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        scripts.update(project.get("scripts", {}))
    return sorted(scripts)


MODULES = discover_modules()
SCRIPTS = discover_scripts()
COMMANDS = [
    *([sys.executable, "-m", module] for module in MODULES),
    *([sys.executable, "-m", module, tool] for module, tools in MODULES.items() for tool in tools),
    *([str(Path(sys.executable).parent / script)] for script in SCRIPTS),
]


def test_the_discovery_finds_every_kind_of_command() -> None:
    assert set(KNOWN) <= set(MODULES), set(KNOWN) - set(MODULES)
    for module, tools in KNOWN.items():
        assert set(tools) <= set(MODULES[module]), (module, MODULES[module])
    assert set(SCRIPTS) >= KNOWN_SCRIPTS
    profiles = [m for m in MODULES if m.startswith("bench.") and "profile" in m]
    assert len(profiles) >= 3, profiles  # bench.profile_append, bench.profile_intake, ...


@dataclass(frozen=True)
class Answer:
    """What one command did when asked for `--help`."""

    returncode: int
    stdout: str
    stderr: str
    files: list[str]
    database_created: bool


@pytest.fixture(scope="module")
def answers(
    postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Answer]]:
    """Every command asked at once (a few at a time: each one mostly waits for its imports)."""
    created: list[str] = []

    def ask(argv: list[str]) -> Answer:
        cwd = tmp_path_factory.mktemp("help")
        name = f"helpdesk_help_{uuid.uuid4().hex[:10]}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
            "DATABASE_URL": f"{postgres_admin_url.rpartition('/')[0]}/{name}",
            "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{_closed_port()}/",
        }
        result = subprocess.run(
            [*argv, "--help"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
        exists = _database_exists(postgres_admin_url, name)
        if exists:
            created.append(name)
        files = sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*"))
        return Answer(result.returncode, result.stdout, result.stderr, files, exists)

    with ThreadPoolExecutor(max_workers=4) as pool:
        found = dict(zip(map(_name, COMMANDS), pool.map(ask, COMMANDS), strict=True))
    yield found
    for name in created:  # a command that broke the rule leaves nothing behind either
        asyncio.run(drop_database(postgres_admin_url, name))


def _database_exists(admin_url: str, name: str) -> bool:
    async def look() -> bool:
        connection = await asyncpg.connect(asyncpg_dsn(admin_url))
        try:
            found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        finally:
            await connection.close()
        return found is not None

    return asyncio.run(look())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _name(argv: list[str]) -> str:
    return Path(argv[0]).name if len(argv) == 1 else " ".join(argv[2:])


@pytest.mark.parametrize("command", [_name(argv) for argv in COMMANDS])
def test_help_answers_and_does_nothing(command: str, answers: dict[str, Answer]) -> None:
    answer = answers[command]
    assert answer.returncode == 0, answer.stderr
    assert "usage" in answer.stdout.lower(), answer.stdout
    assert answer.files == [], "--help wrote files"
    assert not answer.database_created, "--help created the database"
