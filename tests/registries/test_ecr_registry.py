"""The ECR client against moto's ECR API on 127.0.0.1: resolution, tagger operations, errors, and lazy boto3."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import boto3
import pytest

from kcd import images, registries
from kcd.registries import ecr
from tests.env import pusher
from tests.env.ecr import MotoEcr

HEX = images.compile_syntax(None)


@pytest.fixture
def ecr_env(moto_ecr: MotoEcr, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoEcr]:
    for key, value in moto_ecr.env().items():
        monkeypatch.setenv(key, value)
    yield moto_ecr


def _repo(moto_ecr: MotoEcr, name: str | None = None) -> str:
    name = name or f"team/app.web_{uuid.uuid4().hex[:6]}"
    moto_ecr.client().create_repository(repositoryName=name)
    return name


def test_a_watched_tag_resolves_from_one_describe_images(ecr_env: MotoEcr) -> None:
    name = _repo(ecr_env)
    pushed = pusher.push_ecr(ecr_env.client(), name, ["abc1234", "env-prod"])
    reg = registries.for_repo(ecr_env.repo_uri(name))
    assert isinstance(reg, ecr.EcrRegistry)
    assert registries.resolve(reg, "env-prod", HEX) == registries.Candidate(version="abc1234", digest=pushed.digest)


def test_moving_the_tag_gives_the_new_version(ecr_env: MotoEcr) -> None:
    name = _repo(ecr_env)
    pusher.push_ecr(ecr_env.client(), name, ["aaa1111", "env-prod"])
    reg = registries.for_repo(ecr_env.repo_uri(name))
    first = registries.resolve(reg, "env-prod", HEX)
    second = pusher.push_ecr(ecr_env.client(), name, ["bbb2222", "env-prod"])
    assert registries.resolve(reg, "env-prod", HEX, previous=first) == registries.Candidate("bbb2222", second.digest)


def test_an_image_without_a_version_tag_is_deployed_by_digest(ecr_env: MotoEcr) -> None:
    name = _repo(ecr_env)
    pushed = pusher.push_ecr(ecr_env.client(), name, ["env-prod", "release-x"])
    candidate = registries.resolve(registries.for_repo(ecr_env.repo_uri(name)), "env-prod", HEX)
    assert candidate.version == pushed.digest


def test_a_missing_tag_or_repository_is_not_found(ecr_env: MotoEcr) -> None:
    name = _repo(ecr_env)
    with pytest.raises(registries.NotFound):
        registries.for_repo(ecr_env.repo_uri(name)).digest("env-prod")
    with pytest.raises(registries.NotFound):
        registries.for_repo(ecr_env.repo_uri("team/none")).digest("env-prod")


def test_tags_are_added_read_and_removed(ecr_env: MotoEcr) -> None:
    name = _repo(ecr_env)
    pushed = pusher.push_ecr(ecr_env.client(), name, ["abc1234"])
    reg = registries.for_repo(ecr_env.repo_uri(name))
    reg.add_tags("abc1234", ["qa", "prod"])
    reg.add_tags("abc1234", ["qa"])  # already there: not an error
    assert reg.tags_of("abc1234") == ["abc1234", "prod", "qa"]
    reg.remove_tags(["qa"])
    assert reg.tags_of("prod") == ["abc1234", "prod"]
    assert reg.digest("prod") == pushed.digest


def test_tagging_a_missing_version_is_not_found(ecr_env: MotoEcr) -> None:
    name = _repo(ecr_env)
    with pytest.raises(registries.NotFound, match="no image tagged"):
        registries.for_repo(ecr_env.repo_uri(name)).add_tags("nope123", ["qa"])


def test_boto3_is_imported_only_for_ecr_repositories() -> None:
    code = (
        "import sys; from kcd import registries; "
        "registries.for_repo('127.0.0.1:5000/team/app'); print('boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=dict(os.environ))
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 400, registries.RateLimited),
        ("AccessDeniedException", 400, registries.AuthError),
        ("ServerException", 500, registries.Transient),
        ("RepositoryNotFoundException", 400, registries.NotFound),
    ],
)
def test_ecr_errors_become_typed_registry_errors(code: str, status: int, error: type[Exception]) -> None:
    from botocore.stub import Stubber

    client = boto3.client(
        "ecr",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
    )  # a Stubber answers every call: nothing is sent
    stub = Stubber(client)
    stub.add_client_error("describe_images", service_error_code=code, http_status_code=status)
    with stub, pytest.raises(error, match=code):
        ecr.EcrRegistry("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app", client=client).digest("env-prod")
