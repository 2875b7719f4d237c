"""The OCI client against the local docker-registry in all three auth modes (anonymous, htpasswd, Bearer token)."""

from __future__ import annotations

import pytest

from kcd import images, registries
from kcd.registries import oci
from tests.env import pusher
from tests.env.registry import Registry

pytestmark = pytest.mark.registry
HEX = images.compile_syntax(None)


def _client(registry: Registry, repo: str) -> oci.OciRegistry:
    reg = registries.for_repo(f"{registry.host}/{repo}", docker_config=registry.docker_config())
    assert isinstance(reg, oci.OciRegistry)
    return reg


def test_a_watched_tag_resolves_to_its_version_tag_and_digest(registry: Registry) -> None:
    pushed = pusher.push_image(
        pusher.RegistryClient(registry.url, registry.credentials()), "team/res", ["abc1234", "env-prod"]
    )
    reg = _client(registry, "team/res")
    assert registries.resolve(reg, "env-prod", HEX) == registries.Candidate(version="abc1234", digest=pushed.digest)


def test_moving_the_tag_gives_the_new_version(registry: Registry) -> None:
    push = pusher.RegistryClient(registry.url, registry.credentials())
    pusher.push_image(push, "team/move", ["aaa1111", "env-prod"])
    reg = _client(registry, "team/move")
    first = registries.resolve(reg, "env-prod", HEX)
    second_push = pusher.push_image(push, "team/move", ["bbb2222", "env-prod"])
    second = registries.resolve(reg, "env-prod", HEX, previous=first)
    assert (first.version, second.version, second.digest) == ("aaa1111", "bbb2222", second_push.digest)


def test_a_multi_arch_index_resolves_to_the_index_digest(registry: Registry) -> None:
    pushed = pusher.push_index(
        pusher.RegistryClient(registry.url, registry.credentials()), "team/multi", ["ccc3333", "env-prod"]
    )
    candidate = registries.resolve(_client(registry, "team/multi"), "env-prod", HEX)
    assert candidate == registries.Candidate(version="ccc3333", digest=pushed.digest)


def test_a_docker_v2_manifest_resolves_like_an_oci_one(registry: Registry) -> None:
    push = pusher.RegistryClient(registry.url, registry.credentials())
    pushed = pusher.push_image(push, "team/docker", ["ddd4444", "latest"], media_type=pusher.DOCKER_MANIFEST)
    assert registries.resolve(_client(registry, "team/docker"), "latest", HEX).digest == pushed.digest


def test_without_a_version_tag_the_digest_is_the_version(registry: Registry) -> None:
    pushed = pusher.push_image(
        pusher.RegistryClient(registry.url, registry.credentials()), "team/noversion", ["env-prod", "nothex"]
    )
    candidate = registries.resolve(_client(registry, "team/noversion"), "env-prod", HEX)
    assert candidate.version == candidate.digest == pushed.digest
    assert images.image_for(f"{registry.host}/team/noversion", candidate.version).endswith(f"@{pushed.digest}")


def test_an_unchanged_tag_costs_one_head_request(registry: Registry) -> None:
    pusher.push_image(
        pusher.RegistryClient(registry.url, registry.credentials()), "team/steady", ["eee5555", "env-prod"]
    )
    reg = _client(registry, "team/steady")
    previous = registries.resolve(reg, "env-prod", HEX)
    before = reg.transport.requests_sent
    for _ in range(3):
        assert registries.resolve(reg, "env-prod", HEX, previous=previous) is previous
    assert reg.transport.requests_sent - before == 3


@pytest.mark.parametrize("registry", ["token"], indirect=True)
def test_a_bearer_token_is_fetched_once_and_reused(registry: Registry) -> None:
    assert registry.issuer is not None
    pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/tok", ["fff6666", "env-prod"])
    reg = _client(registry, "team/tok")
    hits = len(registry.issuer.requests)
    previous = registries.resolve(reg, "env-prod", HEX)
    for _ in range(3):
        registries.resolve(reg, "env-prod", HEX, previous=previous)
    assert len(registry.issuer.requests) - hits == 1


def test_a_missing_tag_is_not_found(registry: Registry) -> None:
    pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/some", ["v1"])
    with pytest.raises(registries.NotFound):
        _client(registry, "team/some").digest("no-such-tag")


@pytest.mark.parametrize("registry", ["htpasswd"], indirect=True)
def test_without_credentials_a_basic_auth_registry_refuses(registry: Registry) -> None:
    pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/private", ["v1"])
    with pytest.raises(registries.AuthError, match="none are configured"):
        registries.for_repo(f"{registry.host}/team/private").digest("v1")


@pytest.mark.parametrize("registry", ["token"], indirect=True)
def test_an_anonymous_token_reads_like_docker_hub_but_cannot_push(registry: Registry) -> None:
    pushed = pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/public", ["v1"])
    reg = registries.for_repo(f"{registry.host}/team/public")
    assert reg.digest("v1") == pushed.digest
    with pytest.raises(registries.AuthError):
        reg.add_tags("v1", ["qa"])


@pytest.mark.parametrize("registry", ["htpasswd", "token"], indirect=True)
def test_a_wrong_password_is_an_auth_error(registry: Registry) -> None:
    pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/wrongpw", ["v1"])
    config = {"auths": {registry.host: {"username": registry.user, "password": "wrong"}}}
    with pytest.raises(registries.AuthError):
        registries.for_repo(f"{registry.host}/team/wrongpw", docker_config=config).digest("v1")


def test_tags_are_added_read_back_and_a_single_tag_removal_is_refused_clearly(registry: Registry) -> None:
    pushed = pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/tagger", ["abc9999"])
    reg = _client(registry, "team/tagger")
    reg.add_tags("abc9999", ["qa", "prod"])
    assert reg.tags_of("abc9999") == ["abc9999", "prod", "qa"]
    assert reg.digest("prod") == pushed.digest
    with pytest.raises(registries.Unsupported, match="deletes manifests by digest only"):
        reg.remove_tags(["qa"])
    assert reg.digest("qa") == pushed.digest
