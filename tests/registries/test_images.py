"""Image references, ECR URIs and version tags: normalisation, full-match versions, deterministic choice, no crash."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kcd import images
from kcd.registries import ecruri

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "repo"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("docker.io/nginx", "docker.io/library/nginx"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx"),
        ("registry-1.docker.io/team/app", "docker.io/team/app"),
        ("team/app", "docker.io/team/app"),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app"),
        ("localhost/app", "localhost/app"),
        ("ghcr.io/org/sub/app", "ghcr.io/org/sub/app"),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app.web",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app.web",
        ),
    ],
)
def test_repository_names_are_normalised_like_docker_pull(text: str, repo: str) -> None:
    assert images.parse(text).repo == repo


def test_a_reference_keeps_registry_port_tag_and_digest() -> None:
    ref = images.parse(f"127.0.0.1:5000/team/app:env-prod@{DIGEST}")
    assert (ref.host, ref.path, ref.tag, ref.digest) == ("127.0.0.1:5000", "team/app", "env-prod", DIGEST)
    assert str(ref) == f"127.0.0.1:5000/team/app:env-prod@{DIGEST}"


def test_docker_hub_is_reached_at_its_api_host() -> None:
    assert images.parse("nginx").api_host == "registry-1.docker.io"
    assert images.parse("quay.io/a/b").api_host == "quay.io"


@pytest.mark.parametrize(
    "text",
    ["", " nginx", "Team/App", "app:", "app@sha256:123", "a//b", "app:-bad", "host:99999999/app", "app:" + "x" * 129],
)
def test_invalid_references_are_refused(text: str) -> None:
    with pytest.raises(images.InvalidReference):
        images.parse(text)


def test_a_repository_must_not_carry_a_tag() -> None:
    with pytest.raises(images.InvalidReference):
        images.parse_repo("team/app:v1")


def test_same_repo_compares_normalised_names() -> None:
    assert images.same_repo("nginx", "docker.io/library/nginx")
    assert not images.same_repo("nginx", "ghcr.io/library/nginx")
    assert not images.same_repo("nginx", "NOT VALID")


def test_the_image_for_a_digest_version_uses_at_never_colon() -> None:
    assert images.image_for("127.0.0.1:5000/team/app", DIGEST) == f"127.0.0.1:5000/team/app@{DIGEST}"
    assert images.image_for("127.0.0.1:5000/team/app", "abc1234") == "127.0.0.1:5000/team/app:abc1234"


def test_version_syntax_must_match_the_whole_tag() -> None:
    pattern = images.compile_syntax(None)
    assert images.is_version(pattern, "abc1234")
    assert not images.is_version(pattern, "env-prod-abcde")  # the original's unanchored search took this
    assert not images.is_version(pattern, "abc1234-dirty")
    assert not images.is_version(images.compile_syntax("v[0-9]+"), "v1x")


def test_an_invalid_version_syntax_is_reported() -> None:
    with pytest.raises(images.InvalidVersionSyntax):
        images.compile_syntax("[unclosed")


def test_the_watched_tag_is_never_its_own_version() -> None:
    assert images.choose_version(["env-prod"], re.compile(".*"), watched="env-prod").version is None


def test_ambiguity_picks_the_longest_then_smallest_tag_and_lists_the_others() -> None:
    full = "abc1234" + "0" * 33
    choice = images.choose_version(["bbbbbbb", full, "abc1234", "aaaaaaa"], images.compile_syntax(None))
    assert choice.version == full
    assert choice.others == ("aaaaaaa", "abc1234", "bbbbbbb")
    assert choice.ambiguous


@given(st.lists(st.from_regex(r"[0-9a-f]{5,9}|env-[a-z]{1,4}", fullmatch=True), max_size=8), st.randoms())
def test_the_chosen_version_does_not_depend_on_tag_order(tags: list[str], rnd: object) -> None:
    shuffled = list(tags)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    pattern = images.compile_syntax(None)
    assert images.choose_version(tags, pattern) == images.choose_version(shuffled, pattern)


@given(st.text(max_size=300))
def test_parsing_any_text_either_succeeds_or_raises_invalid_reference(text: str) -> None:
    try:
        ref = images.parse(text)
    except images.InvalidReference:
        return
    assert images.parse(str(ref)) == ref


_component = st.from_regex(r"[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}", fullmatch=True)
_host = st.sampled_from(["", "127.0.0.1:5000/", "ghcr.io/", "localhost:1/", "docker.io/", "a.b-c.example:443/"])
_tag = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))


@given(_host, st.lists(_component, min_size=1, max_size=4), _tag, st.booleans())
def test_valid_references_round_trip(host: str, parts: list[str], tag: str | None, with_digest: bool) -> None:
    assume(host or ("." not in parts[0] and parts[0] != "localhost"))  # else the first component is a host
    text = host + "/".join(parts) + (f":{tag}" if tag else "") + (f"@{DIGEST}" if with_digest else "")
    ref = images.parse(text)
    assert (ref.tag, ref.digest) == (tag, DIGEST if with_digest else None)
    assert ref.path.endswith("/".join(parts))
    assert images.parse(str(ref)) == ref


@given(st.text(max_size=60))
def test_any_version_syntax_compiles_or_is_reported(syntax: str) -> None:
    try:
        pattern = images.compile_syntax(syntax)
    except images.InvalidVersionSyntax:
        return
    images.choose_version(["abc1234", syntax], pattern)


@pytest.mark.parametrize(
    ("uri", "parts"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app", ("123456789012", "us-east-1", "app")),
        (
            "123456789012.dkr.ecr.eu-west-2.amazonaws.com/team/app.web_v2-x",
            ("123456789012", "eu-west-2", "team/app.web_v2-x"),
        ),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/a/b", ("123456789012", "us-gov-west-1", "a/b")),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/ns/app", ("123456789012", "cn-north-1", "ns/app")),
    ],
)
def test_ecr_uris_give_account_region_and_full_name(uri: str, parts: tuple[str, str, str]) -> None:
    repo = ecruri.parse(uri)
    assert repo is not None
    assert (repo.account, repo.region, repo.name) == parts


@pytest.mark.parametrize(
    "uri",
    [
        "docker.io/library/nginx",
        "1234.dkr.ecr.us-east-1.amazonaws.com/app",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/App",
        "123456789012xdkrxecr.us-east-1.amazonaws.com/app",
    ],
)
def test_other_repositories_are_not_ecr(uri: str) -> None:
    assert ecruri.parse(uri) is None


@given(st.text(max_size=200))
def test_ecr_uri_parsing_never_crashes(text: str) -> None:
    repo = ecruri.parse(text)
    assert repo is None or text.endswith(repo.name)
