"""Alembic migration sets: the shared one (event store, infra tables) and one per service.

Each service registers a `MigrationSet` under the `helpdesk.migrations` entry point group; the
`helpdesk-migrate` command applies the shared set first, then every registered one. Each set keeps
its own version table, so services evolve their schemas independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TextIO

from alembic import command
from alembic.config import Config


@dataclass(frozen=True)
class MigrationSet:
    """An Alembic script directory and the schema whose tables it owns."""

    name: str
    script_location: str
    schema: str

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"

    def config(self, database_url: str, output: TextIO | None = None) -> Config:
        cfg = Config(output_buffer=output)
        cfg.set_main_option("script_location", self.script_location)
        cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
        cfg.attributes["migration_set"] = self
        return cfg

    def upgrade(self, database_url: str, revision: str = "head") -> None:
        command.upgrade(self.config(database_url), revision)

    def downgrade(self, database_url: str, revision: str = "base") -> None:
        command.downgrade(self.config(database_url), revision)

    def upgrade_sql(self, database_url: str, output: TextIO, revision: str = "head") -> None:
        """Write the SQL that upgrades an empty database to `revision`, without connecting
        (Alembic's offline mode): the URL only names the dialect."""
        command.upgrade(self.config(database_url, output), revision, sql=True)

    def downgrade_sql(self, database_url: str, output: TextIO, revision: str = "base") -> None:
        """Write the SQL that takes this set from its head down to `revision`, offline."""
        command.downgrade(self.config(database_url, output), f"head:{revision}", sql=True)


def migration_set_named(name: str) -> MigrationSet:
    """The registered set called `name`; KeyError naming the known ones otherwise."""
    found = {m.name: m for m in all_migration_sets()}
    if name not in found:
        raise KeyError(f"no migration set {name!r}; known: {', '.join(found)}")
    return found[name]


SHARED = MigrationSet(
    name="shared", script_location=str(Path(__file__).parent / "shared"), schema="eventstore"
)


def all_migration_sets() -> list[MigrationSet]:
    """The shared set, then every service's set, in name order."""
    found = [ep.load() for ep in entry_points(group="helpdesk.migrations")]
    services = sorted((m for m in found if isinstance(m, MigrationSet)), key=lambda m: m.name)
    return [SHARED, *services]


def upgrade_all(database_url: str) -> list[str]:
    """Apply every migration set; returns the names applied, in order."""
    applied = []
    for migration_set in all_migration_sets():
        migration_set.upgrade(database_url)
        applied.append(migration_set.name)
    return applied
