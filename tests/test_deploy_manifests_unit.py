"""The deployment files say what the docs promise: health checks, order, probes, limits, replicas.

No Docker engine or cluster is needed: the files are read as data (this machine has neither).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy.local.parts import SERVICES, consumer_queues

from helpdesk_shared.settings import CommonSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
K8S = REPO_ROOT / "deploy" / "k8s"
HTTP_SERVICES = [spec.name for spec in SERVICES]


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return data


def k8s_objects() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    objects = []
    for resource in kustomization["resources"]:
        objects += [o for o in yaml.safe_load_all((K8S / resource).read_text()) if o]
    return objects


def deployment(name: str) -> dict[str, Any]:
    for obj in k8s_objects():
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no Deployment {name}")


def test_compose_runs_every_part_with_health_checks_and_order() -> None:
    services = load_compose()["services"]
    expected = {"postgres", "rabbitmq", "mailpit", "migrate", "relay", "prometheus", "grafana"}
    assert expected | set(HTTP_SERVICES) <= set(services)
    for name in ["postgres", "rabbitmq", "mailpit", "relay", "prometheus", "grafana"]:
        assert "healthcheck" in services[name], name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in [*HTTP_SERVICES, "relay"]:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["rabbitmq"]["condition"] == "service_healthy", name


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.name)
def test_compose_service_runs_its_module_on_its_port(spec: Any) -> None:
    service = load_compose()["services"][spec.name]
    assert service["command"] == ["python", "-m", spec.module]
    assert service["environment"]["PORT"] == str(spec.default_port)
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    assert any(str(spec.default_port) in port for port in service["ports"])


def test_compose_mounts_the_monitoring_configuration() -> None:
    services = load_compose()["services"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    grafana = " ".join(services["grafana"]["volumes"])
    assert "./deploy/grafana/provisioning" in grafana
    assert "./deploy/grafana/dashboards" in grafana


@pytest.mark.parametrize("name", HTTP_SERVICES)
def test_k8s_http_services_are_replicated_probed_and_limited(name: str) -> None:
    spec = deployment(name)["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["enableServiceLinks"] is False
    [container] = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    sources = {next(iter(s)) for s in container["envFrom"]}
    assert sources == {"configMapRef", "secretRef"}


def test_k8s_runs_a_single_relay() -> None:
    spec = deployment("relay")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"
    [container] = spec["template"]["spec"]["containers"]
    assert container["command"] == ["helpdesk-relay"]
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])


def test_k8s_has_config_secret_and_migration_job() -> None:
    kinds = {(o["kind"], o["metadata"]["name"]) for o in k8s_objects()}
    assert ("ConfigMap", "helpdesk-config") in kinds
    assert ("Secret", "helpdesk-secrets") in kinds
    assert ("Job", "helpdesk-migrate") in kinds


def _declared_queues() -> dict[str, list[str]]:
    """What the consuming services declare: queue name -> bindings."""
    queues = {queue.name: list(queue.bindings) for queue in consumer_queues()}
    assert set(queues) == {"notify", "metrics"}
    return queues


def test_compose_relay_declares_the_queues_the_consumers_declare() -> None:
    relay = load_compose()["services"]["relay"]
    assert json.loads(relay["environment"]["RELAY_CONSUMERS"]) == _declared_queues()


def test_k8s_relay_declares_the_queues_the_consumers_declare() -> None:
    [container] = deployment("relay")["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert json.loads(env["RELAY_CONSUMERS"]) == _declared_queues()


def test_k8s_schedules_the_daily_digest() -> None:
    [cron] = [o for o in k8s_objects() if o["kind"] == "CronJob"]
    assert cron["metadata"]["name"] == "notify-digest"
    spec = cron["spec"]
    minute, hour, *every_day = spec["schedule"].split()
    assert (minute.isdigit(), hour.isdigit(), every_day) == (True, True, ["*", "*", "*"])
    assert spec["timeZone"] == "Europe/Paris"
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    assert container["command"] == ["python", "-m", "helpdesk_notify.entrypoints.cli", "digest"]
    assert {next(iter(s)) for s in container["envFrom"]} == {"configMapRef", "secretRef"}
    config = next(o for o in k8s_objects() if o["kind"] == "ConfigMap")
    assert "NOTIFY_DIGEST_HOUR" not in config["data"]  # the CronJob is the schedule


def test_k8s_migration_job_can_be_applied_again_with_a_new_image() -> None:
    """A Job's template is immutable: it deletes itself soon after finishing, and the release
    procedure deletes it before applying (deploy/k8s/README.md)."""
    [job] = [o for o in k8s_objects() if o["kind"] == "Job"]
    assert 0 < job["spec"]["ttlSecondsAfterFinished"] <= 3600
    readme = (K8S / "README.md").read_text()
    assert "kubectl -n helpdesk delete job helpdesk-migrate --ignore-not-found" in readme


def test_compose_schedules_the_digest_and_can_run_it() -> None:
    services = load_compose()["services"]
    assert "NOTIFY_DIGEST_HOUR" in services["notify"]["environment"]
    digest = services["digest"]
    assert digest["command"] == ["python", "-m", "helpdesk_notify.entrypoints.cli", "digest"]
    assert digest["profiles"] == ["tools"]


def test_compose_demo_plays_the_demo_day() -> None:
    demo = load_compose()["services"]["demo"]
    assert demo["profiles"] == ["demo"]
    assert "python -m deploy.local.demo_day" in " ".join(demo["command"])
    assert "./deploy:/app/deploy:ro" in demo["volumes"]  # the image holds no deploy/
    for url in ("INTAKE", "TICKET", "METRICS"):
        assert demo["environment"][f"HELPDESK_{url}_URL"].startswith("http://")


def test_rabbitmq_is_a_supported_release() -> None:
    image = load_compose()["services"]["rabbitmq"]["image"]
    name, tag = image.split(":")
    major, minor = (int(part) for part in tag.split("-")[0].split(".")[:2])
    assert name == "rabbitmq"
    assert (major, minor) >= (4, 1), image


def test_grafana_admin_password_comes_from_the_environment() -> None:
    environment = load_compose()["services"]["grafana"]["environment"]
    password = environment["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${GRAFANA_ADMIN_PASSWORD:?"), password


def test_the_k8s_settings_pass_the_services_settings_validation() -> None:
    """RS256 needs the JWKS URL, the audience and the issuer: a ConfigMap without one of them
    would leave every pod crash-looping at start-up."""
    config = next(o for o in k8s_objects() if o["kind"] == "ConfigMap")
    settings = CommonSettings(**{k.lower(): v for k, v in config["data"].items()})
    assert settings.helpdesk_jwt_algorithm == "RS256"
    assert settings.helpdesk_jwt_audience
    assert settings.helpdesk_jwt_issuer
