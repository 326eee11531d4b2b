"""Test support shared by every package's tests: real servers, isolated per run.

A development package (installed with the `dev` group), so that shared's runtime package ships no
pytest, testcontainers or test helpers. `plugin` is loaded for the whole repository by
`-p helpdesk_testkit.plugin` in the root pytest configuration; `servers` finds or starts the
PostgreSQL and RabbitMQ servers (also used by `make up`'s server check); `broker` helps tests
that publish or consume; `upcasting` bumps a real event's schema for one test; `stalling` is a
server that never answers and a proxy that stalls a real one, for the tests of the timeouts;
`netlab`, `lossy_link` and `forwarder` put the backend behind a slow and lossy link (the network
scenario).
"""
