"""The syncer's poll decisions with in-memory fakes: what it writes, when it asks the registry, how it reads its KCD,
and that only one replica polls. (Backoff: test_syncer_backoff.py; the candidate's source: test_syncer_candidates.py)"""

from __future__ import annotations

import pytest

from kcd.model import CANDIDATE_DIGEST, CANDIDATE_SOURCE, CANDIDATE_TIME, CANDIDATE_VERSION
from sidecar import leases
from tests.sidecar.fakes import DIGEST_A, DIGEST_B, Clock, FakeApi, FakeRegistry, kcd
from tests.sidecar.fakes import make_syncer as _syncer

SOURCE = "127.0.0.1:5000/team/app:env-prod"


def test_the_first_poll_annotates_the_workload_with_version_digest_time_and_source(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd())
    delay = _syncer(api, reg, clock).step()
    assert api.annotations == {
        CANDIDATE_VERSION: "abc1234",
        CANDIDATE_DIGEST: DIGEST_A,
        CANDIDATE_TIME: "2027-01-15T08:00:00Z",
        CANDIDATE_SOURCE: SOURCE,
    }
    assert delay == 60.0  # rng 0.5: the jitter's middle


def test_an_unchanged_tag_writes_nothing_and_asks_the_registry_once(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    syncer = _syncer(api, reg, clock)
    syncer.step()
    reg.calls.clear()
    for _ in range(3):
        clock.now += 60
        syncer.step()
    assert len(api.patches) == 1
    assert reg.calls == ["digest env-prod"] * 3


def test_a_moved_tag_is_annotated_on_the_next_poll(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    syncer = _syncer(api, reg, clock)
    syncer.step()
    reg.push(DIGEST_B, "def5678", "env-prod")
    clock.now += 60
    syncer.step()
    assert (api.annotations[CANDIDATE_VERSION], api.annotations[CANDIDATE_DIGEST]) == ("def5678", DIGEST_B)


def test_an_annotation_already_on_the_workload_is_not_rewritten_after_a_restart(
    reg: FakeRegistry, clock: Clock
) -> None:
    on_workload = {
        CANDIDATE_VERSION: "abc1234",
        CANDIDATE_DIGEST: DIGEST_A,
        CANDIDATE_TIME: "t",
        CANDIDATE_SOURCE: SOURCE,
    }
    api = FakeApi(kcd(), annotations=on_workload)
    _syncer(api, reg, clock).step()
    assert api.patches == []


def test_without_a_version_tag_the_digest_is_the_candidate(clock: Clock) -> None:
    reg = FakeRegistry()
    reg.push(DIGEST_A, "env-prod", "not-hex")
    api = FakeApi(kcd())
    _syncer(api, reg, clock).step()
    assert api.annotations[CANDIDATE_VERSION] == DIGEST_A


def test_version_syntax_is_matched_in_full(clock: Clock) -> None:
    reg = FakeRegistry()
    reg.push(DIGEST_A, "env-prod", "release-12", "12")
    api = FakeApi(kcd(versionSyntax="[0-9]+"))
    _syncer(api, reg, clock).step()
    assert api.annotations[CANDIDATE_VERSION] == "12"


def test_a_changed_kcd_is_followed_on_the_next_poll(reg: FakeRegistry, clock: Clock) -> None:
    reg.push(DIGEST_B, "def5678", "env-qa")
    api = FakeApi(kcd())
    syncer = _syncer(api, reg, clock)
    syncer.step()
    api.kcd = kcd(tag="env-qa", interval=30)
    clock.now += 60
    assert syncer.step() == 30.0
    assert api.annotations[CANDIDATE_VERSION] == "def5678"


def test_a_kcd_without_a_tag_is_reported_and_retried(reg: FakeRegistry, clock: Clock) -> None:
    body = kcd()
    del body["spec"]["tag"]
    syncer = _syncer(FakeApi(body), reg, clock)
    syncer.step()
    assert syncer.failures == 1 and reg.calls == []


@pytest.mark.parametrize("interval", [1, 4])
def test_a_poll_interval_below_the_crds_minimum_of_5_s_is_a_bad_kcd(
    interval: int, reg: FakeRegistry, clock: Clock
) -> None:
    syncer = _syncer(FakeApi(kcd(interval=interval)), reg, clock)
    syncer.step()
    assert syncer.failures == 1 and reg.calls == []


def test_without_a_poll_interval_the_crds_default_of_60_s_applies(reg: FakeRegistry, clock: Clock) -> None:
    assert _syncer(FakeApi(kcd(interval=None)), reg, clock).step() == 60.0


def test_a_version_syntax_re2_refuses_is_a_bad_kcd(reg: FakeRegistry, clock: Clock) -> None:
    syncer = _syncer(FakeApi(kcd(versionSyntax="(?=abc)[0-9a-f]+")), reg, clock)  # a look-ahead: Perl only
    syncer.step()
    assert syncer.failures == 1 and reg.calls == []


def test_only_the_lease_holder_polls_among_three_replicas(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    replicas = [_syncer(api, reg, clock, pod=f"pod-{i}") for i in range(3)]
    for _ in range(5):
        for syncer in replicas:
            syncer.step()
        clock.now += 60
    assert [s.leader for s in replicas] == [True, False, False]
    assert reg.calls.count("digest env-prod") == 5


def test_a_replica_takes_over_when_the_holder_stops_renewing(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    first, second = _syncer(api, reg, clock, pod="pod-a"), _syncer(api, reg, clock, pod="pod-b")
    first.step()
    second.step()
    clock.now += leases.duration_for(60) + 1  # pod-a died without releasing
    second.step()
    assert second.leader
    assert leases.holder(api.leases[first.settings.lease]) == "pod-b"


def test_a_released_lease_is_taken_at_once(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    first, second = _syncer(api, reg, clock, pod="pod-a"), _syncer(api, reg, clock, pod="pod-b")
    first.step()
    first.release()
    clock.now += 1
    second.step()
    assert second.leader and not first.leader
    assert reg.closed


def test_a_lost_lease_race_is_not_leadership(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd())
    first = _syncer(api, reg, clock, pod="pod-a")
    first.step()
    api.leases[first.settings.lease]["metadata"]["resourceVersion"] = "999"  # another writer got in between
    clock.now += 60
    first.step()
    assert not first.leader
    assert first.failures == 1


def test_health_follows_the_promised_next_step(reg: FakeRegistry, clock: Clock) -> None:
    syncer = _syncer(FakeApi(kcd()), reg, clock)
    delay = syncer.step()
    clock.now += delay + 60
    assert syncer.healthy()
    clock.now += 200
    assert not syncer.healthy()


def test_long_workload_names_give_valid_lease_names() -> None:
    name = leases.lease_name("Deployment", "x" * 250)
    assert len(name) <= 63 and name.startswith("kcd-syncer-deployment-")
    assert name != leases.lease_name("Deployment", "x" * 249)
