"""`bench.intake_rows`: the in-flight row compares medians of rounds where the two levels take
turns, so one fast or slow window (a neighbour's burst, a fresh server) does not decide it."""

from __future__ import annotations

import pytest
from bench import intake_rows
from bench.bench_intake import BASELINE, INTAKE, Result
from bench.intake_rows import FEW, MANY, _rows, alternated
from bench.intake_servers import Server


def _result(rate: float, name: str = INTAKE, errors: int = 0) -> Result:
    return Result(
        name, None, requests=int(rate), seconds=1.0, latencies_ms=[1.0, 2.0], errors=errors
    )


def _paced() -> dict[str, Result]:
    return {BASELINE: _result(150, BASELINE), INTAKE: _result(150)}


def test_the_row_compares_the_medians_not_the_best_rounds() -> None:
    levels = {
        FEW: [_result(100), _result(300), _result(110)],
        MANY: [_result(105), _result(90), _result(120)],
    }
    row = _rows(levels, _paced(), 1.0, 3)[0]
    assert (row.figure, row.baseline) == (105, 110)
    assert not row.met
    levels[MANY].append(_result(115))
    levels[FEW].append(_result(95))
    row = _rows(levels, _paced(), 1.0, 4)[0]
    assert (row.figure, row.baseline) == (110, 105)
    assert row.met


def test_an_error_at_64_in_flight_fails_the_row_whatever_the_rates() -> None:
    levels = {FEW: [_result(100)], MANY: [_result(200, errors=1)]}
    assert not _rows(levels, _paced(), 1.0, 1)[0].met


async def test_the_levels_take_turns_after_an_uncounted_warm_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    async def saturate(server: Server, clients: int, total: int) -> Result:
        calls.append(clients)
        return _result(len(calls))

    monkeypatch.setattr(intake_rows, "saturate", saturate)
    server = Server(INTAKE, "http://127.0.0.1:1", 0, {})
    levels = await alternated(server, 100, 3)
    assert calls == [MANY, FEW, MANY, MANY, FEW, FEW, MANY]
    assert [r.rate for r in levels[FEW]] == [2, 5, 6]
    assert [r.rate for r in levels[MANY]] == [3, 4, 7]
