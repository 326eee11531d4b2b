"""`python -m bench.ticket.profiled_server FILE <uvicorn arguments>`: uvicorn under a profiler
switched by signals, so that the profile holds only the measured window (not imports, start-up
and warm-up): SIGUSR1 starts cProfile, SIGUSR2 stops it and writes its stats to FILE."""

from __future__ import annotations

import argparse
import cProfile
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import uvicorn


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ticket.profiled_server", description=__doc__
    )
    parser.add_argument("file", help="where SIGUSR2 writes the profile's stats")
    parser.add_argument("uvicorn", nargs=argparse.REMAINDER, help="uvicorn's own arguments")
    args = parser.parse_args(argv)
    path, arguments = args.file, args.uvicorn
    profiler = cProfile.Profile()

    def start(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["uvicorn", *arguments]
    uvicorn.main()


if __name__ == "__main__":
    main()
