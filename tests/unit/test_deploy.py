"""deploy/ is what an operator runs: the manifests are valid Kubernetes, every Secret
key they use is documented, and every command compose runs exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import kubernetes_validate
import pytest
import yaml

from connector.cli import build_parser
from connector.config import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.30.0"  # the oldest version the manifests promise to run on


def manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path.name, document))
    return found


def by_kind_and_name(kind: str, name: str) -> dict[str, Any]:
    return next(d for _, d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name)


def containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = document.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


@pytest.mark.parametrize(("name", "document"), manifests(), ids=lambda v: str(v)[:40])
def test_every_manifest_is_valid_kubernetes(name: str, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    listed = set(yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"])
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files - {"secret.example.yaml"}


def test_the_roles_web_worker_and_migration() -> None:
    web = by_kind_and_name("Deployment", "connector-web")
    assert web["spec"]["replicas"] >= 2
    (container,) = containers(web)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CONNECTOR_SCHEDULER"] == "false"
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert container["command"] == ["gunicorn"]
    worker = by_kind_and_name("Deployment", "connector-worker")
    args = containers(worker)[0]["args"]
    assert args[0] == "worker"
    assert build_parser().parse_args(args).metrics_port == 9100
    migrate = by_kind_and_name("Job", "connector-migrate")
    assert containers(migrate)[0]["args"] == ["db", "upgrade"]
    # Nothing else migrates.
    for _, document in manifests():
        if document["metadata"]["name"] != "connector-migrate":
            assert all(c.get("args") != ["db", "upgrade"] for c in containers(document))


def test_every_secret_key_the_manifests_use_is_documented() -> None:
    used = {
        ref["secretKeyRef"]["key"]
        for _, document in manifests()
        for container in containers(document)
        for env in container.get("env", [])
        if (ref := env.get("valueFrom")) and "secretKeyRef" in ref
    }
    assert "console-secret-key" in used
    example = yaml.safe_load((KUBERNETES / "secret.example.yaml").read_text())
    assert set(example["stringData"]) == used
    for where in (DEPLOY / "README.md", KUBERNETES / "secret.example.yaml"):
        # The command and its continuation lines (ending in a backslash).
        command = re.search(
            r"kubectl create secret generic connector-secrets((?:[^\n]*\\\n)*[^\n]*)",
            where.read_text(),
        )
        assert command, f"{where.name} shows no kubectl create secret command"
        keys = set(re.findall(r"--from-literal=([a-z-]+)=", command.group(1)))
        assert keys == used, (where.name, keys ^ used)


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_every_compose_command_exists() -> None:
    services = compose()["services"]
    checked = 0
    for name, service in services.items():
        if service.get("image") != "ldap-scim-connector:local":
            continue
        entrypoint = service.get("entrypoint", ["connector"])
        command = service["command"]
        if entrypoint == ["gunicorn"]:
            config = command[command.index("-c") + 1]
            assert config == "/opt/connector/gunicorn.conf.py"
            assert (
                "COPY deploy/gunicorn.conf.py /opt/connector/gunicorn.conf.py"
                in (DEPLOY / "Dockerfile").read_text()
            )
            wsgi = re.search(
                r'wsgi_app = "([\w.]+):app"', (DEPLOY / "gunicorn.conf.py").read_text()
            )
            assert wsgi and importlib.util.find_spec(wsgi.group(1)) is not None
        else:
            assert entrypoint == ["connector"]
            # The CLI's own parser reads the command: words and options must exist.
            parsed = build_parser().parse_args(command)
            assert callable(parsed.func), f"compose service {name!r}: `connector {command}`"
        checked += 1
    assert checked >= 3


def test_web_and_workers_start_after_the_migration_and_serve_no_jobs() -> None:
    services = compose()["services"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["web"]["environment"]["CONNECTOR_SCHEDULER"] == "false"
    assert services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]


def test_the_compose_ldap_source_is_the_bundled_directory() -> None:
    settings = load_settings(
        {"CONNECTOR_CONFIG": str(DEPLOY / "connector.toml"), "LDAP_BIND_PASSWORD": "x"}
    )
    (source,) = settings.sources.ldap
    assert urlparse(source.urls[0]).hostname in compose()["services"]
    assert source.bind_password_env in compose()["x-connector-env"]
