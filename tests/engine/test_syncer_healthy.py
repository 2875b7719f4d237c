"""The SyncerHealthy condition, decided on plain data (kcd.engine.syncers through kcd.engine.rollout.decide): what it
says for each state of the syncers' Leases, and that it is written only when its status, reason or message change."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence

from kcd import syncerhealth
from kcd.engine.plan import Plan, WriteStatus
from kcd.engine.rollout import decide
from kcd.engine.view import View, Workload
from kcd.model import KCD, ConditionType, Reason, find_condition
from tests.engine.test_decide import NOW, apply, kcd, live, target


def health(
    *, polled: float = -10, error: str = "", since: float | None = None, duration: int = 150
) -> syncerhealth.Health:
    """A Lease renewed `polled` seconds from NOW, its last poll failed with `error` since `since` (seconds from NOW)."""
    at = NOW + datetime.timedelta(seconds=polled)
    return syncerhealth.Health(
        last_poll=at,
        last_success=None if error else at,
        error=error,
        error_since=NOW + datetime.timedelta(seconds=since) if since is not None else None,
        requests=4,
        holder="web-0",
        stale_after=2.0 * duration,
    )


def step(
    k: KCD,
    syncers: Mapping[str, syncerhealth.Health] | None,
    targets: Sequence[Workload] = (),
    now: datetime.datetime = NOW,
) -> Plan:
    return decide(View(k, tuple(targets) or (target(cand="aaaaa11"),), now, syncers=syncers))


def verdict(plan: Plan) -> tuple[str, str, str]:
    assert plan.status is not None, "no status write"
    found = find_condition(plan.status.conditions, ConditionType.SYNCER_HEALTHY)
    assert found is not None
    return found.status, found.reason, found.message


def test_every_selected_workload_polling_makes_the_condition_true() -> None:
    plan = step(kcd(live()), {"deployment/web": health()})
    assert verdict(plan) == ("True", Reason.SYNCERS_POLLING, "the last poll succeeded: deployment/web")


def test_a_failing_syncer_makes_it_false_naming_the_workload_the_error_and_when_it_began() -> None:
    failing = health(error="registry 401: unauthorized", since=-3600)
    plan = step(kcd(live()), {"deployment/web": failing})
    assert verdict(plan) == (
        "False",
        Reason.SYNCER_FAILING,
        "deployment/web: registry 401: unauthorized since 11:00 UTC",
    )


def test_a_lease_not_renewed_for_two_durations_makes_it_false_with_no_live_syncer() -> None:
    plan = step(kcd(live()), {"deployment/web": health(polled=-301, duration=150)})
    assert verdict(plan) == ("False", Reason.NO_LIVE_SYNCER, "deployment/web: no live syncer (last poll 11:54 UTC)")


def test_a_workload_without_a_lease_makes_it_unknown() -> None:
    plan = step(kcd(live()), {})
    assert verdict(plan) == ("Unknown", Reason.SYNCER_NOT_REPORTED, "deployment/web: no syncer has reported (no Lease)")


def test_a_failing_syncer_is_named_before_a_missing_lease() -> None:
    workloads = (target(cand="aaaaa11", name="api"), target(cand="aaaaa11", name="web"))
    plan = step(kcd(live()), {"deployment/web": health(error="registry timeout: ReadTimeout", since=0)}, workloads)
    assert verdict(plan)[:2] == ("False", Reason.SYNCER_FAILING)
    assert "deployment/api" not in verdict(plan)[2]


def test_a_cronjobs_lease_going_quiet_between_jobs_is_not_an_outage() -> None:
    cron = target(cand="aaaaa11", kind="CronJob", name="nightly")
    plan = step(kcd(live()), {"cronjob/nightly": health(polled=-86_400)}, (cron,))
    assert verdict(plan)[0] == "True"


def test_an_unchanged_verdict_costs_no_status_write_as_leases_renew_and_time_passes() -> None:
    k = apply(kcd(live()), step(kcd(live()), {"deployment/web": health()}))
    minute = NOW + datetime.timedelta(seconds=60)
    renewed = dataclasses.replace(health(), last_poll=minute, requests=9)
    plan = step(k, {"deployment/web": renewed}, now=minute + datetime.timedelta(seconds=5))
    assert plan.status is None and plan.events == ()


def test_a_failure_running_on_costs_no_status_write() -> None:
    failing = health(error="registry 401: unauthorized", since=-600)
    k = apply(kcd(live()), step(kcd(live()), {"deployment/web": failing}))
    later = NOW + datetime.timedelta(seconds=300)
    plan = step(k, {"deployment/web": dataclasses.replace(failing, last_poll=later)}, now=later)
    assert plan.status is None


def test_a_changed_verdict_is_written_by_itself_when_nothing_else_changed() -> None:
    k = apply(kcd(live()), step(kcd(live()), {"deployment/web": health()}))
    plan = step(k, {"deployment/web": health(error="registry 401: unauthorized", since=0)})
    assert verdict(plan)[0] == "False"
    assert plan.of(WriteStatus) and len(plan.of(WriteStatus)) == 1
    ready = find_condition(plan.status.conditions if plan.status else (), ConditionType.READY)
    assert ready is not None and ready.is_true  # the rest of the status stays as it was


def test_turning_false_announces_a_warning_event_and_recovering_a_normal_one() -> None:
    k = apply(kcd(live()), step(kcd(live()), {"deployment/web": health()}))
    failing = step(k, {"deployment/web": health(error="registry 401: unauthorized", since=0)})
    assert [(e.reason, e.warning) for e in failing.events] == [(Reason.SYNCER_FAILING, True)]
    recovered = step(apply(k, failing), {"deployment/web": health()})
    assert [(e.reason, e.warning) for e in recovered.events] == [(Reason.SYNCERS_POLLING, False)]


def test_the_condition_rides_on_the_status_write_a_rollout_makes_anyway() -> None:
    plan = step(kcd(live()), {"deployment/web": health()}, (target(cand="bbbbb22"),))
    assert plan.status is not None and plan.status.rollout is not None
    assert len(plan.of(WriteStatus)) == 1
    assert verdict(plan)[0] == "True"


def test_a_view_without_syncer_information_leaves_the_condition_as_it_was() -> None:
    k = apply(kcd(live()), step(kcd(live()), {"deployment/web": health(error="api 403: forbidden", since=0)}))
    plan = step(k, None)
    assert plan.status is None
