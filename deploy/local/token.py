"""Print a development bearer token (HS256, `HELPDESK_JWT_SECRET`) to try the APIs by hand.

    uv run python -m deploy.local.token demo.alpha requester
    uv run python -m deploy.local.token agent1 agent --level 1 --groups desk
    uv run python -m deploy.local.token chef manager

Production tokens come from the identity provider (RS256, `HELPDESK_JWKS_URL`).
"""

from __future__ import annotations

import argparse
import sys

from helpdesk_shared.auth import issue_token
from helpdesk_shared.settings import CommonSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.token")
    parser.add_argument("sub", help="the login (`sub` claim)")
    parser.add_argument("roles", nargs="+", help="requester, agent, manager, admin, service")
    parser.add_argument("--level", type=int, default=None, help="support level (agents)")
    parser.add_argument("--groups", default="", help="support groups, comma-separated")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    groups = [g for g in args.groups.split(",") if g] or None
    token = issue_token(
        CommonSettings(),
        args.sub,
        args.roles,
        level=args.level,
        groups=groups,
        ttl_seconds=args.ttl,
    )
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
