"""The ServiceBlueGreen strategy, step by step on plain data: setups it refuses, the switch, failures before and after.

The live Service `web` selects the colour whose pod labels carry its `colour` value; `web-test` is the verification
Service. Endpoints are pod names (a Deployment's pods are `<deployment>-<hash>-<id>`).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from kcd.engine.plan import PatchSelector, Plan, Scale, SetImage
from kcd.engine.rollout import decide
from kcd.engine.view import Candidate, Service, View, Workload
from kcd.engine.workload import Progress
from kcd.model import KCD, CurrStatus, Outcome, Phase, Reason, Verify, VerifyKind, parse_time
from tests.engine.test_decide import NOW, REPO, SOURCE, apply

OLD, NEW = f"{REPO}:aaaaa11", f"{REPO}:bbbbb22"


def bg_kcd(status: dict[str, Any] | None = None, *, scale_down: bool = False) -> KCD:
    return KCD.from_body(
        {
            "metadata": {"name": "web", "namespace": "prod", "generation": 1},
            "spec": {
                "imageRepo": REPO,
                "tag": "env-prod",
                "selector": {"kcdapp": "web"},
                "container": {"name": "app"},
                "timeoutSeconds": 600,
                "strategy": {
                    "kind": "ServiceBlueGreen",
                    "blueGreen": {
                        "serviceName": "web",
                        "verificationServiceName": "web-test",
                        "labelNames": ["colour"],
                        "scaleDown": scale_down,
                    },
                },
            },
            "status": status if status is not None else {"currStatus": "Success", "successVersion": "aaaaa11"},
        }
    )


def colour(name: str, value: str, image: str = OLD, *, replicas: int = 3, ready: bool = True, **kw: Any) -> Workload:
    cand = Candidate("bbbbb22", "sha256:" + "ab" * 32, parse_time("2026-11-26T11:59:00Z"), SOURCE, f"deployment/{name}")
    return Workload(
        kind="Deployment",
        name=name,
        image=image,
        progress=Progress(done=ready, message="m", **kw),
        candidate=cand if name == "web-blue" else None,
        template_labels={"app": "web", "colour": value},
        replicas=replicas,
        available=replicas if ready else 0,
    )


def svc(name: str, value: str, pods: tuple[str, ...]) -> Service:
    return Service(name, {"app": "web", "colour": value}, ready_pods=pods)


BLUE_PODS = ("web-blue-1-a", "web-blue-1-b", "web-blue-1-c")
GREEN_PODS = ("web-green-2-a", "web-green-2-b", "web-green-2-c")


def view(
    k: KCD,
    *,
    green: Workload | None = None,
    live: str = "blue",
    test: str = "blue",
    serving: str = "",
    now: datetime.datetime = NOW,
    **extra: Any,
) -> View:
    """`live`/`test`: the colour each Service selects; `serving`: whose pods the live Service's endpoints list
    (default: the colour it selects; the endpoint controller follows a selector change a moment later)."""
    workloads = (colour("web-blue", "blue"), green or colour("web-green", "green", replicas=0))
    live_pods = BLUE_PODS if (serving or live) == "blue" else GREEN_PODS
    test_pods = BLUE_PODS if test == "blue" else GREEN_PODS
    services = {"web": svc("web", live, live_pods), "web-test": svc("web-test", test, test_pods)}
    return View(k, extra.pop("workloads", workloads), now, services=extra.pop("services", services))


def reason(plan: Plan) -> str:
    assert plan.status is not None
    return next(c.reason for c in plan.status.conditions if c.type == "Ready")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"workloads": (colour("web-blue", "blue"),)}, "exactly two Deployments"),
        ({"services": {"web-test": svc("web-test", "blue", ())}}, "Service web not found"),
        (
            {
                "workloads": (
                    colour("web-blue", "blue"),
                    dataclasses.replace(colour("web-green", "x"), template_labels={}),
                )
            },
            "missing",
        ),
        (
            {
                "workloads": (
                    colour("web-blue", "blue"),
                    dataclasses.replace(colour("web-green", "blue"), name="web-green"),
                )
            },
            "same labelNames",
        ),
        ({"services": {"web": svc("web", "red", ()), "web-test": svc("web-test", "blue", ())}}, "selects neither"),
    ],
    ids=["one-deployment", "no-service", "label-missing", "same-colours", "selects-neither"],
)
def test_an_invalid_setup_is_stalled_with_what_to_change(change: dict[str, Any], words: str) -> None:
    plan = decide(view(bg_kcd(), **change))
    assert plan.status is not None and plan.status.rollout is None and plan.images == ()
    assert reason(plan) == Reason.INVALID_SPEC
    stalled = next(c for c in plan.status.conditions if c.type == "Stalled")
    assert stalled.status == "True" and words in stalled.message


def test_a_candidate_sets_up_the_idle_colour_and_points_the_verification_service_at_it() -> None:
    plan = decide(view(bg_kcd()))
    assert plan.status is not None and plan.status.rollout is not None
    r = plan.status.rollout
    assert (r.phase, r.live, r.idle) == (Phase.WAITING, "web-blue", "web-green")
    assert plan.of(SetImage) == (SetImage("Deployment", "web-green", "app", NEW),)
    assert plan.of(Scale) == (Scale("Deployment", "web-green", 3),)
    assert plan.of(PatchSelector) == (PatchSelector("web-test", {"colour": "green"}),)  # never the live Service


def _waiting() -> KCD:
    return apply(bg_kcd(), decide(view(bg_kcd())))


def test_the_live_service_is_not_switched_before_the_new_colour_is_ready_endpoints() -> None:
    k = _waiting()
    switch = PatchSelector("web", {"colour": "green"})
    not_ready = colour("web-green", "green", NEW, ready=False)
    assert switch not in decide(view(k, green=not_ready, test="green")).actions
    ready = colour("web-green", "green", NEW)
    assert switch not in decide(view(k, green=ready, test="blue")).actions  # verification endpoints: the old colour
    plan = decide(view(k, green=ready, test="green"))
    assert plan.of(PatchSelector) == (PatchSelector("web", {"colour": "green"}),)
    assert plan.status is not None and plan.status.rollout is not None and plan.status.rollout.switched_at


def test_the_switch_is_confirmed_by_endpoints_then_recorded_under_the_new_live_colour() -> None:
    k = _waiting()
    green = colour("web-green", "green", NEW)
    k = apply(k, decide(view(k, green=green, test="green")))  # switched
    still_old = decide(view(k, green=green, test="green", live="green", serving="blue"))
    assert still_old.status is None and still_old.actions == ()  # the old pods still serve: wait
    k = apply(k, decide(view(k, green=green, test="green", live="green")))
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.RECORDING
    done = decide(view(k, green=green, test="green", live="green"))
    assert done.status is not None and (done.status.curr_status, done.status.success_version) == (
        CurrStatus.SUCCESS,
        "bbbbb22",
    )
    assert [a.record.name for a in done.actions if hasattr(a, "record")] == ["web-green"]


def test_scale_down_waits_for_in_flight_requests_then_scales_the_old_colour_to_zero() -> None:
    k = apply(bg_kcd(scale_down=True), decide(view(bg_kcd(scale_down=True))))
    green = colour("web-green", "green", NEW)
    k = apply(k, decide(view(k, green=green, test="green")))
    k = apply(k, decide(view(k, green=green, test="green", live="green")))
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.SCALING_DOWN
    assert decide(view(k, green=green, test="green", live="green")).of(Scale) == ()
    later = NOW + datetime.timedelta(seconds=31)
    plan = decide(view(k, green=green, test="green", live="green", now=later))
    assert plan.of(Scale) == (Scale("Deployment", "web-blue", 0),)


def test_a_failure_before_the_switch_leaves_traffic_and_scales_the_idle_colour_down() -> None:
    k = apply(bg_kcd(scale_down=True), decide(view(bg_kcd(scale_down=True))))
    broken = colour("web-green", "green", NEW, ready=False, failed=True)
    plan = decide(view(k, green=broken, test="green"))
    assert plan.of(PatchSelector) == () and plan.of(Scale) == (Scale("Deployment", "web-green", 0),)
    k = apply(k, plan)
    done = decide(view(k, green=broken, test="green"))
    assert done.status is not None and done.status.curr_status is CurrStatus.FAILED
    assert "bbbbb22" in done.status.failed_versions and done.status.success_version == "aaaaa11"


def test_a_timeout_after_the_switch_switches_traffic_back_first() -> None:
    k = _waiting()
    green = colour("web-green", "green", NEW)
    k = apply(k, decide(view(k, green=green, test="green")))  # switched, but green never serves
    late = NOW + datetime.timedelta(seconds=601)
    plan = decide(
        view(k, green=green, test="green", live="green", now=late)
        if False
        else view(k, green=green, test="green", now=late)
    )
    k = apply(k, plan)
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.ROLLING_BACK
    back = decide(view(k, green=green, test="green", live="green", serving="blue", now=late))
    assert back.of(PatchSelector) == (PatchSelector("web", {"colour": "blue"}),)
    k = apply(k, decide(view(k, green=green, test="green", live="blue", now=late)))
    assert k.status.rollout is not None and k.status.rollout.outcome is Outcome.ROLLED_BACK


def test_only_the_live_colour_is_drift_corrected() -> None:
    k = bg_kcd({"currStatus": "Success", "successVersion": "aaaaa11", "currVersion": "aaaaa11"})
    idle_elsewhere = colour("web-green", "green", f"{REPO}:older", replicas=0)
    quiet = [w for w in view(k, green=idle_elsewhere).workloads]
    plan = decide(
        dataclasses.replace(
            view(k, green=idle_elsewhere), workloads=tuple(dataclasses.replace(w, candidate=None) for w in quiet)
        )
    )
    assert plan.of(SetImage) == ()
    edited = dataclasses.replace(colour("web-blue", "blue", f"{REPO}:by-hand"), candidate=None)
    plan = decide(view(k, workloads=(edited, idle_elsewhere)))
    assert plan.of(SetImage) == (SetImage("Deployment", "web-blue", "app", OLD),)


def test_a_failing_post_switch_check_during_the_bake_switches_traffic_back() -> None:
    from kcd.engine.view import Probe

    body_status = {"currStatus": "Success", "successVersion": "aaaaa11"}
    k = bg_kcd(body_status)
    spec = dataclasses.replace(
        k.spec,
        strategy=dataclasses.replace(
            k.spec.strategy,
            blue_green=dataclasses.replace(k.spec.strategy.blue_green, bake_seconds=60),
            verify=(Verify(kind=VerifyKind.HTTP, url="http://127.0.0.1:9/ok", timeout_seconds=5),),
        ),
    )
    k = dataclasses.replace(k, spec=spec)
    green = colour("web-green", "green", NEW)
    k = apply(k, decide(view(k)))  # set up
    k = apply(k, decide(view(k, green=green, test="green")))  # -> PostVerifying
    ok = Probe("http://127.0.0.1:9/ok", status=200)
    for _ in range(3):  # the check's start, its pass, then the switch
        k = apply(k, decide(dataclasses.replace(view(k, green=green, test="green"), probe=ok)))
    assert k.status.rollout is not None and k.status.rollout.switched_at
    baking = decide(dataclasses.replace(view(k, green=green, test="green", live="green"), probe=ok))
    assert baking.status is None and baking.in_flight  # serving, checks pass: baking
    bad = Probe("http://127.0.0.1:9/ok", status=503)
    k = apply(k, decide(dataclasses.replace(view(k, green=green, test="green", live="green"), probe=bad)))
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.ROLLING_BACK
    back = decide(view(k, green=green, test="green", live="green"))
    assert back.of(PatchSelector) == (PatchSelector("web", {"colour": "blue"}),)


def test_a_promotion_of_an_earlier_rollout_does_not_promote_the_next_one_started_in_the_same_second() -> None:
    from kcd.model import PROMOTE

    k = bg_kcd()
    spec = dataclasses.replace(
        k.spec,
        strategy=dataclasses.replace(
            k.spec.strategy,
            blue_green=dataclasses.replace(k.spec.strategy.blue_green, manual_promotion=True),
        ),
    )
    k = dataclasses.replace(k, spec=spec, annotations={PROMOTE: f"aaaaa11@{NOW.strftime('%Y-%m-%dT%H:%M:%SZ')}"})
    green = colour("web-green", "green", NEW)
    k = apply(k, decide(view(k)))
    k = apply(k, decide(view(k, green=green, test="green")))
    assert k.status.rollout is not None and k.status.rollout.phase is Phase.AWAITING_PROMOTION
    stale = decide(view(k, green=green, test="green"))
    assert stale.of(PatchSelector) == ()  # the old rollout's promotion does not count
    promoted = dataclasses.replace(k, annotations={PROMOTE: k.status.rollout.id})
    assert decide(view(promoted, green=green, test="green")).of(PatchSelector) == (
        PatchSelector("web", {"colour": "green"}),
    )
