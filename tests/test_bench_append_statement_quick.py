"""A seconds-long smoke of `python -m bench.append_statement`: every variant of the 10-event
statement stores its 10 rows in the throwaway database (one that stored nothing would look
cheap, so the tool refuses to report it) and is reported with its two figures. No timing is
asserted."""

from __future__ import annotations

import argparse
import re

from bench.append_statement import main_async, variants

from helpdesk_shared.settings import CommonSettings


async def test_every_variant_is_reported_with_its_cpu_and_explain_times() -> None:
    args = argparse.Namespace(
        rounds=2, statements=2, prefill=300, database_url=CommonSettings().database_url
    )
    report = await main_async(args)
    lines = report.splitlines()[1:]
    assert [line[:44].rstrip() for line in lines] == [v.label for v in variants()]
    assert all(re.search(r"\d+ us \(\d\.\d\dx\) \| +\d+ us$", line) for line in lines), report
