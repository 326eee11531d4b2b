"""`python -m bench.load [--minutes 10] [--rate N] [--replicas N] [--quick] [--plot PNG]`.

The load test. Starts a stack of its own (`--replicas 2`: the shape of `make up REPLICAS=2`) or
drives the one at `--run-dir`, started by `make up` with the same environment; offers the mix at
a fixed rate, prints the report and writes it into `docs/reliability.md` (`## Load`); `--plot`
draws each process's RSS and the p99 per minute against time (the soak's picture). Exits 1 when
any request failed or a reader did not catch up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.local.stack import recorded

from bench.load.report import render, write
from bench.load.run import LoadResult, Target, own_stack, run_load
from bench.load.timeline import plot
from helpdesk_testkit.servers import LOCAL_DATABASE_URL

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
QUICK_SECONDS, QUICK_RATE, QUICK_SAMPLE = 15.0, 10.0, 5.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    parser.add_argument("--rate", type=float, default=20.0, help="arrivals per second (20)")
    parser.add_argument("--quick", action="store_true", help="15 s at 10 req/s, not written")
    parser.add_argument("--run-dir", type=Path, help="drive the running stack recorded here")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--plot", type=Path, help="write RSS and p99 over time to this PNG")
    parser.add_argument(
        "--replicas", type=int, default=1, help="replicas of every service in its own stack (1)"
    )
    return parser.parse_args(argv)


def running_target(run_dir: Path) -> Target:
    """The stack `make up` started (pid files in `run_dir`), configured by this environment."""
    found = [launched for launched, alive in recorded(run_dir) if alive]
    urls = {
        launched.name: launched.url for launched in found if launched.url and launched.ready_url
    }
    return Target(
        urls={name: url for name, url in urls.items() if not url.endswith("/metrics")},
        pids={launched.name: launched.pid for launched in found if launched.name != "smtp-catcher"},
        database_url=os.environ.get("DATABASE_URL", LOCAL_DATABASE_URL),
        exchange=os.environ.get("HELPDESK_EXCHANGE", "helpdesk.events"),
        jwt_secret=os.environ["HELPDESK_JWT_SECRET"],
    )


async def _run(args: argparse.Namespace, seconds: float, rate: float, every: float) -> LoadResult:
    if args.run_dir is not None:
        return await run_load(running_target(args.run_dir), rate, seconds, every)
    async with own_stack(args.replicas) as target:
        return await run_load(target, rate, seconds, every)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        seconds, rate, every, mode = QUICK_SECONDS, QUICK_RATE, QUICK_SAMPLE, "quick"
    else:
        seconds, rate, every, mode = args.minutes * 60, args.rate, 30.0, "full"
    result = asyncio.run(_run(args, seconds, rate, every))
    command = "uv run --frozen python -m bench.load" + (
        " --quick" if args.quick else f" --minutes {args.minutes:g} --rate {args.rate:g}"
    )
    if args.replicas > 1:
        command += f" --replicas {args.replicas}"
    if args.plot is not None:
        command += f" --plot {args.plot}"
        title = f"{command} ({result.traffic.rate:g} req/s)"
        plot(result.traffic.timeline, result.memory, args.plot, title)
    text = render(result, command, mode)
    print(text)
    if not (args.quick or args.no_write):
        write(args.output, text)
    healthy = result.traffic.errors == 0 and result.lag_settled.settled
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
