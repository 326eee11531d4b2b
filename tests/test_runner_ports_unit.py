"""Unit tests of the local runner's port settings (no process is started)."""

from __future__ import annotations

import pytest
from deploy.local.stack import (
    SERVICES,
    StackError,
    module_available,
    parse_ports,
    require_free_ports,
    resolve_ports,
)


def test_defaults_are_the_contract_ports() -> None:
    ports = resolve_ports({})
    assert ports == {
        "intake": 8001,
        "ticket": 8002,
        "notify": 8003,
        "metrics": 8004,
        "smtp": 1025,
        "relay": 8005,
    }


def test_environment_then_option_override_the_defaults() -> None:
    env = {"INTAKE_PORT": "18001", "SMTP_CATCHER_PORT": "2525", "RELAY_METRICS_PORT": "19005"}
    ports = resolve_ports(env, parse_ports("intake=28001, ticket=28002"))
    assert ports["intake"] == 28001
    assert ports["ticket"] == 28002
    assert ports["smtp"] == 2525
    assert ports["relay"] == 19005
    assert ports["metrics"] == 8004


@pytest.mark.parametrize("text", ["intake", "intake=abc", "nothing=8000"])
def test_bad_port_settings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bad port setting"):
        parse_ports(text)


def test_a_package_without_main_is_not_runnable() -> None:
    assert module_available("venv")
    assert not module_available("json")
    assert not module_available("helpdesk_no_such_service")


def test_two_parts_given_one_port_are_refused_before_anything_starts() -> None:
    """Else the second part fails to bind while the first answers its readiness checks."""
    ports = {**resolve_ports({}), "intake": 47999, "notify": 47999}
    with pytest.raises(StackError, match="one port for several parts"):
        require_free_ports("127.0.0.1", ports, {"SMTP_HOST": "127.0.0.1"}, SERVICES)
