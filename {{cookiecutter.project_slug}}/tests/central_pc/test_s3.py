"""The scale-out path for artifacts: an S3-compatible bucket instead of the artifacts folder.

moto's standalone server stands in for AWS S3, Cloudflare R2 or MinIO on a free 127.0.0.1
port; the tracking server proxies every artifact into the bucket, with the keys taken from the
environment. A run is trained, registered (its files vetted and pinned) and verified back.
"""

from __future__ import annotations

import subprocess
import sys
import time

import boto3
import pytest
import requests

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.settings import load_settings
from {{ cookiecutter.package_name }}.tracking.model_files import fetch_verified
from {{ cookiecutter.package_name }}.tracking.model_registry import CHALLENGER

from ..central_pc_fixtures import server_of_its_own, unique
from ..orphans import dies_with_the_runner
from ..project import PLATFORM_CONFIG

KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto's own


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=dies_with_the_runner,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.3)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def bucket(s3_endpoint, monkeypatch) -> str:
    for key, value in {**KEYS, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = unique("team-artifacts")
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


def test_runs_and_registered_models_live_in_the_bucket(
    settings, bucket, s3_endpoint, tmp_path, monkeypatch
):
    destination = f"s3://{bucket}/mlflow"
    own = server_of_its_own(settings, tmp_path, monkeypatch, artifacts_destination=destination)
    with own as (server, team, client):
        train(team, {})
        registration = register_challenger(team)
        version = client.get_model_version_by_alias(team.model.registered_name, CHALLENGER)
        assert version.version == registration.version
        verified = fetch_verified(
            team.model.registered_name, version, tmp_path / "copy", cached=False
        )
        assert verified.digest == version.tags["mlops.model_files_sha256"]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    model_id = version.source.removeprefix("models:/")
    assert any(key.endswith(f"{model_id}/artifacts/MLmodel") for key in keys), keys
    assert not any(server.paths.artifacts_dir.rglob("MLmodel")), "nothing in the local folder"


@pytest.mark.parametrize(
    "destination", ["bucket-without-scheme", "s3://", "gs://other-cloud/x", "s3://key:secret@b/x"]
)
def test_a_bad_destination_is_refused(destination, tmp_path):
    text = PLATFORM_CONFIG.read_text(encoding="utf-8")
    text = text.replace('artifacts_destination = ""', f'artifacts_destination = "{destination}"')
    (tmp_path / "mlops.toml").write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match="artifacts_destination"):
        load_settings(tmp_path / "mlops.toml")
