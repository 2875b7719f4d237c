"""What the syncer writes as the candidate: tied to the KCD spec it resolved (kcd.io/candidate-source), rewritten
when that spec changes, and only ever a valid OCI tag or a digest."""

from __future__ import annotations

import logging

import pytest

from kcd.model import CANDIDATE_DIGEST, CANDIDATE_SOURCE, CANDIDATE_TIME, CANDIDATE_VERSION
from tests.sidecar.fakes import DIGEST_A, DIGEST_B, Clock, FakeApi, FakeRegistry, kcd, make_syncer

REPO = "127.0.0.1:5000/team/app"


@pytest.fixture
def reg() -> FakeRegistry:  # env-qa too: candidates of another tag
    r = FakeRegistry()
    r.push(DIGEST_A, "abc1234", "env-prod", "env-qa")
    return r


def test_the_candidate_source_is_the_image_repo_and_tag_the_syncer_resolved(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    make_syncer(api, reg, clock).step()
    assert api.annotations[CANDIDATE_SOURCE] == f"{REPO}:env-prod"


def test_an_edited_tag_rewrites_the_candidate_even_when_it_names_the_same_image(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd())
    syncer = make_syncer(api, reg, clock)
    syncer.step()
    api.kcd = kcd(tag="env-qa")
    clock.now += 60
    syncer.step()
    assert len(api.patches) == 2
    assert api.patches[1] == {
        CANDIDATE_VERSION: "abc1234",
        CANDIDATE_DIGEST: DIGEST_A,
        CANDIDATE_TIME: "2027-01-15T08:01:00Z",
        CANDIDATE_SOURCE: f"{REPO}:env-qa",
    }


def test_an_edited_image_repo_rewrites_the_candidate_source(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    syncer = make_syncer(api, reg, clock)
    syncer.step()
    api.kcd = kcd(repo="127.0.0.1:5000/team/mirror")
    clock.now += 60
    syncer.step()
    assert api.annotations[CANDIDATE_SOURCE] == "127.0.0.1:5000/team/mirror:env-prod"


def test_a_candidate_written_without_a_source_gets_one_after_a_restart(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd(), annotations={CANDIDATE_VERSION: "abc1234", CANDIDATE_DIGEST: DIGEST_A, CANDIDATE_TIME: "t"})
    make_syncer(api, reg, clock).step()
    assert api.annotations[CANDIDATE_SOURCE] == f"{REPO}:env-prod"


def test_an_unchanged_spec_and_image_write_the_candidate_once(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    syncer = make_syncer(api, reg, clock)
    for _ in range(3):
        syncer.step()
        clock.now += 60
    assert len(api.patches) == 1


@pytest.mark.parametrize(
    ("tags", "syntax", "digest"),
    [
        (["v" * 129], "v+", DIGEST_A),  # an OCI tag has at most 128 characters (ECR allows 300)
        (["-abc1234"], "-[0-9a-f]+", DIGEST_A),  # nor may it start with "-"
        ([], "[0-9a-f]+", "sha256:abc"),  # no version tag, and the digest the registry gave is not one
    ],
    ids=["too-long", "leading-dash", "bad-digest"],
)
def test_a_version_that_is_neither_an_oci_tag_nor_a_digest_is_logged_and_not_written(
    tags: list[str], syntax: str, digest: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    reg = FakeRegistry()
    reg.push(digest, "env-prod", *tags)
    api = FakeApi(kcd(versionSyntax=syntax))
    syncer = make_syncer(api, reg, clock)
    with caplog.at_level(logging.WARNING, logger="kcd.syncer"):
        syncer.step()
    assert api.patches == []
    assert any("not a valid" in r.getMessage() for r in caplog.records)


def test_after_an_invalid_version_the_next_valid_one_is_written(clock: Clock) -> None:
    reg = FakeRegistry()
    reg.push(DIGEST_A, "env-prod", "-abc1234")
    api = FakeApi(kcd(versionSyntax="-?[0-9a-f]+"))
    syncer = make_syncer(api, reg, clock)
    syncer.step()
    reg.push(DIGEST_B, "env-prod", "def5678")
    clock.now += 60
    syncer.step()
    assert (api.annotations[CANDIDATE_VERSION], api.annotations[CANDIDATE_DIGEST]) == ("def5678", DIGEST_B)
