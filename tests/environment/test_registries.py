"""The local registries and moto ECR behave like the real services the syncer will talk to."""

from __future__ import annotations

import pytest
import requests

from tests.env import pusher
from tests.env.ecr import MotoEcr
from tests.env.registry import SERVICE, Registry

pytestmark = pytest.mark.registry


def test_pushed_image_digest_is_read_back_with_a_head_request(registry: Registry) -> None:
    client = pusher.RegistryClient(registry.url, registry.credentials())
    pushed = pusher.push_image(client, "team/app", ["abc1234", "env-prod"])
    assert client.head_digest("team/app", "env-prod") == pushed.digest
    assert client.head_digest("team/app", "abc1234") == pushed.digest
    assert pushed.digest == pusher.digest_of(pushed.manifest)


def test_moving_a_tag_changes_the_digest_it_resolves_to(registry: Registry) -> None:
    client = pusher.RegistryClient(registry.url, registry.credentials())
    first = pusher.push_image(client, "team/moving", ["v1", "env-prod"])
    second = pusher.push_image(client, "team/moving", ["v2", "env-prod"])
    assert first.digest != second.digest
    assert client.head_digest("team/moving", "env-prod") == second.digest
    assert client.head_digest("team/moving", "v1") == first.digest


def test_multi_arch_index_resolves_to_the_index_digest(registry: Registry) -> None:
    client = pusher.RegistryClient(registry.url, registry.credentials())
    pushed = pusher.push_index(client, "team/multi", ["abc1234"])
    resp = client.request("HEAD", "/v2/team/multi/manifests/abc1234", headers={"Accept": pusher.ACCEPT})
    assert resp.headers["Content-Type"] == pusher.OCI_INDEX
    assert resp.headers["Docker-Content-Digest"] == pushed.digest


def test_auth_modes_refuse_requests_without_credentials(registry: Registry) -> None:
    resp = requests.head(f"{registry.url}/v2/team/app/manifests/env-prod", timeout=10)
    if registry.mode == "anonymous":
        assert resp.status_code in (200, 404)
    else:
        assert resp.status_code == 401
        scheme = resp.headers["WWW-Authenticate"].split()[0]
        assert scheme == {"htpasswd": "Basic", "token": "Bearer"}[registry.mode]


@pytest.mark.parametrize("registry", ["token"], indirect=True)
def test_token_mode_goes_through_challenge_token_and_retry(registry: Registry) -> None:
    assert registry.issuer is not None
    challenge = requests.get(f"{registry.url}/v2/team/flow/tags/list", timeout=10)
    assert challenge.status_code == 401
    params = pusher._challenge(challenge.headers["WWW-Authenticate"])
    assert params == {"realm": registry.issuer.url, "service": SERVICE, "scope": "repository:team/flow:pull"}
    issued_before = len(registry.issuer.requests)
    token = requests.get(
        params["realm"],
        params={"service": params["service"], "scope": params["scope"]},
        auth=registry.credentials(),
        timeout=10,
    ).json()["token"]
    assert len(registry.issuer.requests) == issued_before + 1
    retry = requests.get(
        f"{registry.url}/v2/team/flow/tags/list", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert retry.status_code == 404  # authorised: the repository simply does not exist yet
    assert retry.json()["errors"][0]["code"] == "NAME_UNKNOWN"


@pytest.mark.parametrize("registry", ["htpasswd", "token"], indirect=True)
def test_a_wrong_password_is_refused(registry: Registry) -> None:
    client = pusher.RegistryClient(registry.url, (registry.user, "wrong"))
    with pytest.raises(requests.HTTPError):
        pusher.push_image(client, "team/denied", ["x1"])


def test_image_put_into_moto_ecr_is_described_by_tag(moto_ecr: MotoEcr) -> None:
    ecr = moto_ecr.client()
    ecr.create_repository(repositoryName="team/ecr-app")
    pushed = pusher.push_ecr(ecr, "team/ecr-app", ["abc1234", "env-prod"])
    detail = ecr.describe_images(repositoryName="team/ecr-app", imageIds=[{"imageTag": "env-prod"}])["imageDetails"][0]
    assert detail["imageDigest"] == pushed.digest
    assert sorted(detail["imageTags"]) == ["abc1234", "env-prod"]
    assert moto_ecr.repo_uri("team/ecr-app").startswith("123456789012.dkr.ecr.")
