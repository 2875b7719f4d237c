"""How the syncer backs off, with a fake clock: registry failures and API-server failures are each backed off on
their own schedule, so an outage of one party never keeps the syncer from the other for longer than it must:

- a failing registry is asked again after interval × 2ⁿ (at most 10 min, at least its Retry-After);
- a failing API server is retried after 5 s × 2ⁿ, never more than the poll interval, so detection resumes within one
  interval of its return;
- the first successful poll resets both.
"""

from __future__ import annotations

import pytest

from kcd import registries
from kcd.model import CANDIDATE_SOURCE, CANDIDATE_VERSION
from sidecar import kubeapi, leases
from tests.sidecar.fakes import Clock, FakeApi, FakeRegistry, Loops, kcd, make_syncer, run

API_DOWN = kubeapi.ApiError("GET: 503", 503)


@pytest.mark.parametrize(
    "error", [registries.Transient("500"), registries.BadResponse("digest mismatch"), registries.AuthError("denied")]
)
def test_a_failing_registry_is_asked_again_after_exponentially_growing_waits_and_nothing_is_written(
    error: Exception, reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd(), clock=clock)
    syncer = make_syncer(api, reg, clock)
    reg.fail = error
    assert run([syncer], reg, clock, 1000) == [0, 60, 180, 420, 900]
    assert api.patches == []
    reg.fail = None
    clock.now += 600
    syncer.step()
    assert api.annotations[CANDIDATE_VERSION] == "abc1234"


def test_the_registry_backoff_is_capped_at_ten_minutes(reg: FakeRegistry, clock: Clock) -> None:
    reg.fail = registries.Transient("down")
    asked = run([make_syncer(FakeApi(kcd(), clock=clock), reg, clock)], reg, clock, 6000)
    assert max(b - a for a, b in zip(asked, asked[1:], strict=False)) == 600


def test_a_rate_limited_registry_is_not_asked_again_before_its_retry_after(reg: FakeRegistry, clock: Clock) -> None:
    syncer = make_syncer(FakeApi(kcd(), clock=clock), reg, clock, rng=0.0)  # the lowest jitter
    reg.fail = registries.RateLimited("429", retry_after=300)
    assert run([syncer], reg, clock, 400) == [0, 300]


def test_during_a_registry_backoff_the_poller_keeps_its_lease(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd(), clock=clock)
    replicas = [make_syncer(api, reg, clock, pod="pod-a"), make_syncer(api, reg, clock, pod="pod-b")]
    reg.fail = registries.Transient("down")
    asked = run(replicas, reg, clock, 1400)
    assert asked == [0, 60, 180, 420, 900]  # one schedule: the other replica never took over and started its own
    assert leases.holder(api.leases[replicas[0].settings.lease]) == "pod-a"


def test_an_api_outage_never_delays_the_next_poll_beyond_the_interval(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd(), clock=clock)
    syncer = make_syncer(api, reg, clock)
    api.fail = API_DOWN
    delays = []
    while sum(delays) < 1000:
        delays.append(syncer.step())
        clock.now += delays[-1]
    assert delays[:5] == [5, 10, 20, 40, 60]
    assert max(delays) == 60
    assert api.patches == []


def test_after_an_api_outage_the_candidate_is_written_within_one_interval(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd(), clock=clock, outages=[(clock.now, clock.now + 1000)])
    syncer = make_syncer(api, reg, clock)
    asked = run([syncer], reg, clock, 2000)
    assert 1000 <= asked[0] <= 1060
    assert api.annotations[CANDIDATE_VERSION] == "abc1234"


def test_api_failures_do_not_lengthen_the_registry_backoff(reg: FakeRegistry, clock: Clock) -> None:
    reg.fail = registries.Transient("down")
    api = FakeApi(kcd(), clock=clock, outages=[(clock.now + 170, clock.now + 200)])
    asked = run([make_syncer(api, reg, clock)], reg, clock, 800)
    assert asked[:2] == [0, 60]
    assert 200 <= asked[2] <= 260  # the registry was due at 180: asked within an interval of the API's return
    assert asked[3] - asked[2] == 240  # its third failure waits 4 × interval, the registry's own schedule


def test_the_first_successful_poll_resets_both_backoffs(reg: FakeRegistry, clock: Clock) -> None:
    api = FakeApi(kcd(), clock=clock)
    syncer = make_syncer(api, reg, clock)
    reg.fail = registries.Transient("down")
    run([syncer], reg, clock, 500)  # four registry failures
    api.fail = API_DOWN
    for _ in range(3):
        clock.now += syncer.step()
    api.fail = reg.fail = None
    clock.now += 600
    syncer.step()
    reg.fail = registries.Transient("down again")
    assert syncer.step() == 60  # the registry's first wait again
    reg.fail, api.fail = None, API_DOWN
    assert syncer.step() == 5  # the API's first wait again


def test_an_edited_image_repo_is_polled_without_waiting_out_the_old_repos_backoff(
    reg: FakeRegistry, clock: Clock
) -> None:
    api = FakeApi(kcd(), clock=clock)
    loops = Loops([make_syncer(api, reg, clock)], reg, clock)
    reg.fail = registries.NotFound("team/app")  # a typo in imageRepo, say
    assert loops.run(500) == [0, 60, 180, 420]  # the old repository is next due at 900
    api.kcd, reg.fail = kcd(repo="127.0.0.1:5000/team/app2"), None
    asked = loops.run(120)
    assert asked and asked[0] <= 60
    assert api.annotations[CANDIDATE_SOURCE] == "127.0.0.1:5000/team/app2:env-prod"


def test_a_bad_kcd_is_read_again_within_one_interval(reg: FakeRegistry, clock: Clock) -> None:
    body = kcd()
    del body["spec"]["tag"]
    api = FakeApi(body, clock=clock)
    syncer = make_syncer(api, reg, clock)
    delays = [syncer.step() for _ in range(10)]
    assert max(delays) <= 60
