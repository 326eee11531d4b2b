"""`make up` / `make down` without a Docker engine: the backend as local background processes.

    python -m deploy.local.runner up [--ports intake=18001,smtp=2525] [--no-demo] [--timeout 60]
                                     [--replicas 2]
    python -m deploy.local.runner status
    python -m deploy.local.runner down

The environment is passed through to every process (`DATABASE_URL`, `AMQP_URL`,
`HELPDESK_JWT_SECRET`, `SMTP_HOST`, ...). Ports come from `--ports`, else `INTAKE_PORT`,
`TICKET_PORT`, `NOTIFY_PORT`, `METRICS_PORT`, `SMTP_CATCHER_PORT`, else 8001-8004 and 1025.
Pid files and logs go to `HELPDESK_RUN_DIR` (default `.run/`). `--replicas N` (or
`HELPDESK_REPLICAS`) runs N replicas of every service behind one address each, and two relays
(deploy/local/launching.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from deploy.local.stack import (
    DEFAULT_TIMEOUT_SECONDS,
    AlreadyRunning,
    Stack,
    StackError,
    http_ok,
    metrics_text,
    parse_ports,
    recorded,
    start_stack,
    stop_stack,
)


def run_dir() -> Path:
    return Path(os.environ.get("HELPDESK_RUN_DIR", ".run")).resolve()


def up(ports: str, timeout: float, demo: bool, replicas: int = 1) -> int:
    directory = run_dir()
    try:
        stack = start_stack(
            directory,
            ports=parse_ports(ports),
            timeout=timeout,
            demo=demo,
            progress=lambda line: print(line, flush=True),
            replicas=replicas,
        )
    except AlreadyRunning as running:
        print(f"{running}; `make down` then `make up` restarts it.")
        return status()
    except (StackError, ValueError) as error:
        print(f"make up failed: {error}", file=sys.stderr)
        print("everything it had started is stopped again.", file=sys.stderr)
        return 1
    print_summary(stack)
    return 0


def print_summary(stack: Stack) -> None:
    """Where everything is: URLs, API docs, mails, logs."""
    print("helpdesk backend is up.")
    for name, url in stack.urls.items():
        print(f"  {name:<8} {url}   docs {url}/docs   openapi {url}/openapi.json")
        for replica, replica_url in stack.replicas.get(name, {}).items():
            print(f"    {replica:<10} {replica_url} (behind {url})")
    for relay, metrics_url in stack.relay_metrics_urls.items():
        print(f"  {relay:<8} metrics {metrics_url}")
    if stack.smtp is not None:
        host, port = stack.smtp
        print(f"  smtp     {host}:{port} (catcher; mails in {stack.mail_dir},")
        print("           list them: uv run python -m deploy.local.mailcatcher list)")
    else:
        print(f"  smtp     {os.environ.get('SMTP_HOST')}:{os.environ.get('SMTP_PORT')} (external)")
    if stack.demo is not None:
        print(f"  demo     {stack.demo}")
    for note in stack.skipped:
        print(f"  skipped  {note}")
    print(f"  logs     {stack.run_dir / 'logs'}/<name>.log")
    print("stop it with: make down")


def down() -> int:
    outcome = stop_stack(run_dir())
    if not outcome:
        print("nothing to stop.")
    for name, what in outcome.items():
        print(f"{name}: {what}")
    return 0


def status() -> int:
    found = recorded(run_dir())
    if not found:
        print("not running (make up starts it).")
    for launched, alive in found:
        where = f" {launched.url}" if launched.url else ""
        state = "running" if alive else "DEAD"
        if alive and launched.ready_url is not None and not http_ok(launched.ready_url):
            state = "running, NOT READY"
        elif alive and launched.name.startswith("relay"):
            state += relay_role(launched.ready_url)
        print(f"{launched.name:<13} pid {launched.pid:<7} {state}{where}  log {launched.log}")
    return 0 if all(alive for _, alive in found) else 1


def relay_role(metrics_url: str | None) -> str:
    """`, active` or `, standby` from the relay's `helpdesk_relay_active` gauge (one publishes,
    the others wait for its advisory lock)."""
    text = metrics_text(metrics_url) if metrics_url else None
    for line in (text or "").splitlines():
        if line.startswith("helpdesk_relay_active "):
            return ", active" if float(line.split()[1]) == 1 else ", standby"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.runner")
    commands = parser.add_subparsers(dest="command", required=True)
    up_cmd = commands.add_parser("up", help="start the backend and wait until it is ready")
    up_cmd.add_argument("--ports", default="", help="NAME=PORT,... (intake, ticket, ..., smtp)")
    up_cmd.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("HELPDESK_READY_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)),
    )
    up_cmd.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    up_cmd.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("HELPDESK_REPLICAS", "1")),
        help="replicas of every service (behind one address each) and, above 1, two relays",
    )
    commands.add_parser("down", help="stop what `up` started")
    commands.add_parser("status", help="show what runs, where, and its log")
    args = parser.parse_args(argv)
    if args.command == "up":
        demo = not args.no_demo and os.environ.get("HELPDESK_DEMO", "1") != "0"
        return up(args.ports, args.timeout, demo, args.replicas)
    if args.command == "down":
        return down()
    return status()


if __name__ == "__main__":
    sys.exit(main())
