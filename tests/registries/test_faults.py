"""Faults from a faulty registry on 127.0.0.1: errors are typed, retried only when worth it, and never trusted."""

from __future__ import annotations

import pytest

from kcd import images, registries
from kcd.registries.ocitransport import parse_challenge, retry_after_seconds
from tests.registries.conftest import OciFactory, Sleeps
from tests.registries.faulty import FaultyRegistry

HEX = images.compile_syntax(None)


def test_server_errors_are_retried_then_reported_as_transient(
    faulty: FaultyRegistry, oci_client: OciFactory, sleeps: Sleeps
) -> None:
    faulty.push("one", "env-prod")
    faulty.fault = "500"
    with pytest.raises(registries.Transient, match="server error 500"):
        oci_client(faulty.host, attempts=3).digest("env-prod")
    assert len(faulty.requests("HEAD")) == 3
    assert len(sleeps) == 2 and all(0 < s <= 8 for s in sleeps)


def test_one_server_error_is_absorbed_by_a_retry(faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    digest = faulty.push("one", "env-prod")
    faulty.queue.append("500")
    assert oci_client(faulty.host, attempts=3).digest("env-prod") == digest


def test_a_timeout_is_transient(faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    faulty.push("one", "env-prod")
    faulty.fault, faulty.delay = "timeout", 2.0
    with pytest.raises(registries.Transient, match="Timeout"):
        oci_client(faulty.host, attempts=1, timeout=(1.0, 0.5)).digest("env-prod")


def test_a_429_longer_than_we_may_wait_is_handed_to_the_caller_at_once(
    faulty: FaultyRegistry, oci_client: OciFactory, sleeps: Sleeps
) -> None:
    faulty.push("one", "env-prod")
    faulty.fault, faulty.retry_after = "429", 120
    with pytest.raises(registries.RateLimited) as caught:
        oci_client(faulty.host, attempts=3, max_wait=60).digest("env-prod")
    assert caught.value.retry_after == 120
    assert len(faulty.requests()) == 1
    assert sleeps == []


def test_a_short_429_is_waited_out_as_told(faulty: FaultyRegistry, oci_client: OciFactory, sleeps: Sleeps) -> None:
    digest = faulty.push("one", "env-prod")
    faulty.queue.append("429")
    faulty.retry_after = 7
    assert oci_client(faulty.host, attempts=3, max_wait=60).digest("env-prod") == digest
    assert sleeps == [7]


@pytest.mark.parametrize("fault", ["malformed", "oversized", "digest-mismatch"])
def test_an_untrustworthy_manifest_is_a_bad_response(
    fault: str, faulty: FaultyRegistry, oci_client: OciFactory
) -> None:
    digest = faulty.push("one", "env-prod", "abc1234")
    faulty.fault = fault
    with pytest.raises(registries.BadResponse):
        oci_client(faulty.host).version_tags("env-prod", digest, HEX)


def test_a_head_announcing_a_malformed_digest_is_a_bad_response(faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    faulty.push("one", "env-prod")
    faulty.queue.append("malformed")  # the HEAD announces the digest of a body that is not a manifest: fine for HEAD
    reg = oci_client(faulty.host)
    reg.digest("env-prod")
    faulty.fault = "digest-mismatch"
    with pytest.raises(registries.BadResponse, match="does not match"):
        reg.manifest("env-prod")


@pytest.mark.parametrize("fault", ["malformed", "oversized"])
def test_a_broken_tag_list_is_a_bad_response(fault: str, faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    faulty.push("one", "env-prod")
    faulty.fault = fault
    with pytest.raises(registries.BadResponse):
        oci_client(faulty.host).list_tags()


def test_tag_lists_are_followed_across_link_pages(faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    for i in range(7):
        faulty.push(f"img{i}", f"v{i}")
    faulty.page_size = 3
    assert oci_client(faulty.host).list_tags() == [f"v{i}" for i in range(7)]
    assert len(faulty.requests("GET")) == 3


def test_only_version_candidates_are_asked_for_their_digest(faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    digest = faulty.push("new", "env-prod", "abc1234", "latest", "not-a-version")
    faulty.push("old", "fff0000")
    reg = oci_client(faulty.host)
    assert registries.resolve(reg, "env-prod", HEX) == registries.Candidate(version="abc1234", digest=digest)
    asked = sorted(path.rsplit("/", 1)[1] for _, path in faulty.requests("HEAD"))
    assert asked == ["abc1234", "env-prod", "fff0000"]


def test_known_version_digests_are_not_asked_again(faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    faulty.push("one", "env-prod", "aaa0001")
    reg = oci_client(faulty.host)
    first = registries.resolve(reg, "env-prod", HEX)
    second_digest = faulty.push("two", "env-prod", "bbb0002")
    faulty.log.clear()
    second = registries.resolve(reg, "env-prod", HEX, previous=first)
    assert second == registries.Candidate(version="bbb0002", digest=second_digest)
    assert [p.rsplit("/", 1)[1] for _, p in faulty.requests("HEAD")] == ["env-prod", "bbb0002"]


def test_a_capped_resolution_finishes_on_the_next_call(faulty: FaultyRegistry, oci_client: OciFactory) -> None:
    for i in range(5):
        faulty.push(f"old{i}", f"aaa000{i}")
    digest = faulty.push("new", "env-prod", "fff9999")
    reg = oci_client(faulty.host, max_heads=3)
    with pytest.raises(registries.Transient, match="unfinished"):
        registries.resolve(reg, "env-prod", HEX)
    assert registries.resolve(reg, "env-prod", HEX).version == "fff9999"
    assert reg.digest("env-prod") == digest


def test_challenge_parameters_are_parsed_as_quoted_strings() -> None:
    scheme, params = parse_challenge('Bearer realm="http://a/token",service="reg",scope="repository:x/y:pull,push"')
    assert scheme == "bearer"
    assert params == {"realm": "http://a/token", "service": "reg", "scope": "repository:x/y:pull,push"}


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 00:01:00 GMT", now=1767225600.0) == 60.0
    assert retry_after_seconds("soon") is None


def test_a_registry_without_digest_headers_is_read_by_hashing_the_manifest(
    faulty: FaultyRegistry, oci_client: OciFactory
) -> None:
    digest = faulty.push("one", "env-prod")
    faulty.fault = "no-digest"
    assert oci_client(faulty.host).digest("env-prod") == digest
    assert [m for m, _ in faulty.requests()] == ["HEAD", "GET"]
