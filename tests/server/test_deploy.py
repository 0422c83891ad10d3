"""Deployment files: Kubernetes manifests checked against the Kubernetes schemas (offline), the
compose file and the Dockerfile read for what replicas behind a load balancer need; the image
is built and run only where a Docker daemon answers."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSION = "1.30"


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifests_are_valid(manifest):
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="needs the dev extra")
    for document in yaml.safe_load_all(manifest.read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_deployment_has_probes_resources_and_two_replicas():
    deployment = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "deployment.yaml").read_text())
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert deployment["spec"]["replicas"] >= 2
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    hpa = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "hpa.yaml").read_text())
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"] and hpa["spec"]["minReplicas"] >= 2


def test_compose_runs_replicas_behind_a_proxy():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    letters, proxy = compose["services"]["letters"], compose["services"]["proxy"]
    assert letters["deploy"]["replicas"] >= 2 and "/ready" in " ".join(letters["healthcheck"]["test"])
    assert proxy["depends_on"]["letters"]["condition"] == "service_healthy"
    assert "proxy_pass http://letters" in (ROOT / "deploy" / "nginx.conf").read_text()


def test_dockerfile_is_slim_non_root_base_install_with_a_readiness_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "USER letters" in dockerfile and "useradd" in dockerfile
    assert "-c requirements.lock ." in dockerfile and "[train]" not in dockerfile.split("RUN", 1)[1]
    assert "HEALTHCHECK" in dockerfile and "/ready" in dockerfile


def _docker_daemon() -> str | None:
    if not shutil.which("docker"):
        return "no docker client"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True)
    return None if info.returncode == 0 else "no Docker daemon answers (docker info failed)"


@pytest.mark.slow
def test_the_image_builds_and_becomes_healthy():
    reason = _docker_daemon()
    if reason:
        pytest.skip(reason)
    subprocess.run(["docker", "build", "-t", "handwritten-letters:test", str(ROOT)], check=True, timeout=1800)
    container = subprocess.run(["docker", "run", "-d", "-p", "127.0.0.1::8000", "handwritten-letters:test"],
                               check=True, capture_output=True, text=True).stdout.strip()
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            health = subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}", container],
                                    capture_output=True, text=True).stdout.strip()
            if health == "healthy":
                break
            time.sleep(2)
        assert health == "healthy"
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
