"""The repository carries its own contracts: no code or document points at a document beside it
(the design brief, the source documents) or at a tracker's issue numbers, which a newcomer who
clones the repository cannot follow. The contracts are in `docs/contracts.md`, the users' rules in
`docs/desk-rules.md`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What a reference outside the repository looks like.
OUTSIDE = re.compile(
    r"DESIGN\.md|design brief|\bissues? #?\d+\b|\bseeds? ?0\d\d\b|\bseeds/|test_seed_\d",
    re.IGNORECASE,
)


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in listed if name]
    return [f for f in files if f.is_file() and f.name != "uv.lock" and f != Path(__file__)]


def test_no_file_cites_a_document_or_tracker_outside_the_repository() -> None:
    found = []
    for path in _tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "references outside the repository:\n" + "\n".join(found)


def test_the_pattern_catches_what_it_names() -> None:
    """The check itself can fail: each kind of reference it exists for is caught."""
    for cited in ("see DESIGN.md", "(issue 4)", "seed 002", "Seeds 000 and 001", "test_seed_001_x"):
        assert OUTSIDE.search(cited), cited
    for fine in ("docs/contracts.md", "an issue with the mail", "the seeded random order"):
        assert not OUTSIDE.search(fine), fine
