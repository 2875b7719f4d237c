"""Per-kind rollout checks on raw API bodies (kcd.engine.workload): every kind × update-strategy field.

Aspects: Deployment (RollingUpdate, Recreate, spec.paused, progress deadline, replica counts); StatefulSet
(RollingUpdate, partition, OnDelete, podManagementPolicy); DaemonSet (RollingUpdate, OnDelete); CronJob (the patch
is the rollout); which StatefulSets keep a broken pod on rollback; the pod selector; where each kind keeps its image.
"""

from __future__ import annotations

from typing import Any

import pytest

from kcd.engine import workload as wl

Body = dict[str, Any]

# (done, failed, paused, applied_only): one word per outcome the engine tells apart.
STATES = {
    "done": (True, False, False, False),
    "waiting": (False, False, False, False),
    "failed": (False, True, False, False),
    "paused": (False, False, True, False),
    "applied": (True, False, False, True),
}


def body(kind: str, spec: Body | None = None, status: Body | None = None, *, generation: int = 2) -> Body:
    """A workload as the API returns it; the controller has observed generation 2 unless `status` says otherwise."""
    return {
        "kind": kind,
        "metadata": {"name": "web", "generation": generation},
        "spec": spec if spec is not None else {},
        "status": {"observedGeneration": 2, **(status or {})},
    }


def deploy(want: int | None = 3, generation: int = 2, **status: Any) -> Body:
    """A Deployment of spec.replicas `want` (None: unset); keyword arguments are its status."""
    return body("Deployment", {} if want is None else {"replicas": want}, status, generation=generation)


def sts(want: int | None = 3, strategy: Body | None = None, **status: Any) -> Body:
    spec: Body = {} if want is None else {"replicas": want}
    if strategy is not None:
        spec["updateStrategy"] = strategy
    return body("StatefulSet", spec, status)


def ds(strategy: Body | None = None, **status: Any) -> Body:
    return body("DaemonSet", {"updateStrategy": strategy} if strategy is not None else {}, status)


def with_spec(b: Body, **spec: Any) -> Body:
    b["spec"].update(spec)
    return b


DEADLINE = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"}]
ROLLED: Body = {"updatedReplicas": 3, "replicas": 3, "availableReplicas": 3}
RECREATE = {"type": "Recreate"}
ONDELETE = {"type": "OnDelete"}
REV_DONE: Body = {"currentRevision": "web-2", "updateRevision": "web-2"}
REV_MOVING: Body = {"currentRevision": "web-1", "updateRevision": "web-2"}


def partition(n: int) -> Body:
    return {"type": "RollingUpdate", "rollingUpdate": {"partition": n}}


PAUSED_MESSAGE = "paused (spec.paused): the rollout continues when it is resumed"
CRONJOB_MESSAGE = "applied to the job template; the next scheduled job runs it"
ONDELETE_1_OF_3 = "OnDelete: 1 of 3 pods run the new template; delete the old pods to roll them"

DEPLOYMENTS = [
    pytest.param(deploy(generation=3, conditions=DEADLINE), "waiting", "observe", id="deploy-unobserved-old-deadline"),
    pytest.param(
        deploy(conditions=DEADLINE, updatedReplicas=1), "failed", "progress deadline exceeded", id="deploy-deadline"
    ),
    pytest.param(
        deploy(updatedReplicas=1, replicas=3), "waiting", "1 of 3 replicas updated", id="deploy-updated-lt-want"
    ),
    pytest.param(deploy(updatedReplicas=3, replicas=4), "waiting", "1 old replicas pending", id="deploy-old-pending"),
    pytest.param(
        deploy(**ROLLED | {"availableReplicas": 2}), "waiting", "2 of 3 updated", id="deploy-available-lt-updated"
    ),
    pytest.param(deploy(0), "done", "0 replicas available", id="deploy-replicas-0"),
    pytest.param(deploy(None), "waiting", "0 of 1 replicas updated", id="deploy-replicas-unset-waits-for-1"),
    pytest.param(
        deploy(None, updatedReplicas=1, replicas=1, availableReplicas=1),
        "done",
        "1 replicas available",
        id="deploy-replicas-unset",
    ),
    pytest.param(deploy(**ROLLED), "done", "3 replicas available", id="deploy-rolling-done"),
    pytest.param(
        with_spec(deploy(), strategy=RECREATE), "waiting", "0 of 3 replicas updated", id="deploy-recreate-old-gone"
    ),
    pytest.param(
        with_spec(deploy(**ROLLED), strategy=RECREATE), "done", "3 replicas available", id="deploy-recreate-done"
    ),
    pytest.param(
        with_spec(deploy(updatedReplicas=0, replicas=3), paused=True), "paused", PAUSED_MESSAGE, id="deploy-paused"
    ),
    pytest.param(
        with_spec(deploy(conditions=DEADLINE), paused=True), "paused", PAUSED_MESSAGE, id="deploy-paused-deadline"
    ),
    pytest.param(
        with_spec(deploy(**ROLLED), paused=True), "done", "3 replicas available", id="deploy-paused-but-rolled-out"
    ),
    pytest.param(with_spec(deploy(**ROLLED), paused=False), "done", "3 replicas available", id="deploy-paused-false"),
]

STATEFULSETS = [
    pytest.param(
        sts(updatedReplicas=3, readyReplicas=3, **REV_DONE), "done", "3 replicas ready", id="sts-rolling-default-done"
    ),
    pytest.param(
        sts(3, {"type": "RollingUpdate"}, readyReplicas=3, updatedReplicas=3, **REV_DONE),
        "done",
        "3 replicas ready",
        id="sts-rolling-explicit-done",
    ),
    pytest.param(
        with_spec(sts(readyReplicas=3, updatedReplicas=3, **REV_DONE), podManagementPolicy="Parallel"),
        "done",
        "3 replicas ready",
        id="sts-parallel-done",
    ),
    pytest.param(
        body("StatefulSet", {"replicas": 3}, {"observedGeneration": 1}),
        "waiting",
        "observe",
        id="sts-rolling-unobserved",
    ),
    pytest.param(
        sts(updatedReplicas=1, readyReplicas=3, **REV_MOVING),
        "waiting",
        "1 of 3 replicas updated",
        id="sts-rolling-partial",
    ),
    pytest.param(
        sts(updatedReplicas=3, readyReplicas=3, **REV_MOVING),
        "waiting",
        "update revision to become current",
        id="sts-rolling-rev-moving",
    ),
    pytest.param(
        sts(updatedReplicas=3, readyReplicas=2, **REV_DONE),
        "waiting",
        "2 of 3 replicas ready",
        id="sts-rolling-not-ready",
    ),
    pytest.param(
        sts(None, updatedReplicas=1, readyReplicas=1, **REV_DONE), "done", "1 replicas ready", id="sts-replicas-unset"
    ),
    pytest.param(sts(0, **REV_DONE), "done", "0 replicas ready", id="sts-replicas-0"),
    pytest.param(
        sts(3, partition(2), updatedReplicas=1, readyReplicas=3, **REV_MOVING),
        "done",
        "3 replicas ready",
        id="sts-partition-2-of-3-done",
    ),
    pytest.param(
        sts(3, partition(2), readyReplicas=3, **REV_MOVING),
        "waiting",
        "0 of 1 replicas updated",
        id="sts-partition-2-of-3-none",
    ),
    pytest.param(
        sts(3, partition(2), updatedReplicas=1, readyReplicas=2, **REV_MOVING),
        "waiting",
        "2 of 3",
        id="sts-partition-2-of-3-not-ready",
    ),
    pytest.param(
        sts(3, partition(3), readyReplicas=3, **REV_MOVING),
        "failed",
        "partition 3 >= replicas 3",
        id="sts-partition-eq-replicas",
    ),
    pytest.param(
        sts(3, partition(5), readyReplicas=3, **REV_MOVING),
        "failed",
        "lower the partition",
        id="sts-partition-gt-replicas",
    ),
    pytest.param(sts(0, partition(1), **REV_DONE), "done", "0 replicas ready", id="sts-partition-no-replicas"),
    pytest.param(
        sts(3, ONDELETE, updatedReplicas=1, readyReplicas=3, **REV_MOVING),
        "waiting",
        ONDELETE_1_OF_3,
        id="sts-ondelete-1-of-3",
    ),
    pytest.param(sts(3, ONDELETE, **REV_MOVING), "waiting", "0 of 3 pods run the new template", id="sts-ondelete-none"),
    pytest.param(
        sts(3, ONDELETE, updatedReplicas=3, readyReplicas=2, **REV_MOVING),
        "waiting",
        "2 of 3 pods ready",
        id="sts-ondelete-not-ready",
    ),
    # kubernetes/kubernetes#73492: under OnDelete the controller never promotes currentRevision (fixed by #136833).
    pytest.param(
        sts(3, ONDELETE, updatedReplicas=3, readyReplicas=3, **REV_MOVING),
        "done",
        "all 3",
        id="sts-ondelete-done-stale-current-revision",
    ),
    pytest.param(
        sts(3, ONDELETE, updatedReplicas=3, readyReplicas=3, **REV_DONE), "done", "all 3", id="sts-ondelete-done"
    ),
    pytest.param(
        body("StatefulSet", {"replicas": 3, "updateStrategy": ONDELETE}, {"observedGeneration": 1}),
        "waiting",
        "observe",
        id="sts-ondelete-unobserved",
    ),
]

DS_ROLLED: Body = {"desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3}
DAEMONSETS = [
    pytest.param(ds(desiredNumberScheduled=0), "done", "desiredNumberScheduled 0", id="ds-rolling-no-nodes"),
    pytest.param(
        ds(**DS_ROLLED | {"updatedNumberScheduled": 1}), "waiting", "1 of 3 pods updated", id="ds-rolling-partial"
    ),
    pytest.param(
        ds(**DS_ROLLED | {"numberAvailable": 2}), "waiting", "2 of 3 pods available", id="ds-rolling-unavailable"
    ),
    pytest.param(ds(**DS_ROLLED), "done", "3 pods available", id="ds-rolling-done"),
    pytest.param(
        ds({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, **DS_ROLLED),
        "done",
        "3 pods available",
        id="ds-rolling-explicit-done",
    ),
    pytest.param(
        body("DaemonSet", {}, {"observedGeneration": 1, **DS_ROLLED}), "waiting", "observe", id="ds-rolling-unobserved"
    ),
    pytest.param(
        ds(ONDELETE, **DS_ROLLED | {"updatedNumberScheduled": 1}), "waiting", ONDELETE_1_OF_3, id="ds-ondelete-1-of-3"
    ),
    pytest.param(
        ds(ONDELETE, **DS_ROLLED | {"numberAvailable": 2}),
        "waiting",
        "OnDelete: 2 of 3 pods available",
        id="ds-ondelete-unavailable",
    ),
    pytest.param(ds(ONDELETE, **DS_ROLLED), "done", "all 3", id="ds-ondelete-done"),
    pytest.param(ds(ONDELETE, desiredNumberScheduled=0), "done", "desiredNumberScheduled 0", id="ds-ondelete-no-nodes"),
]

CRONJOBS = [
    pytest.param(body("CronJob", {"schedule": "*/5 * * * *"}), "applied", CRONJOB_MESSAGE, id="cronjob"),
    pytest.param(body("CronJob", {"suspend": True}), "applied", CRONJOB_MESSAGE, id="cronjob-suspended"),
]


@pytest.mark.parametrize(("workload", "state", "says"), DEPLOYMENTS + STATEFULSETS + DAEMONSETS + CRONJOBS)
def test_progress_tells_done_waiting_failed_paused_applied(workload: Body, state: str, says: str) -> None:
    p = wl.progress(workload)
    assert (p.done, p.failed, p.paused, p.applied_only) == STATES[state], p.message
    assert says in p.message


def test_progress_of_an_unmanaged_kind_is_a_failure_not_a_success() -> None:
    p = wl.progress(body("ReplicaSet", {"replicas": 1}))
    assert (p.done, p.failed) == (False, True)
    assert "ReplicaSet" in p.message


def test_progress_defaults_to_a_plain_rollout() -> None:
    assert wl.Progress(done=True) == wl.Progress(True, False, "", paused=False, applied_only=False)


@pytest.mark.parametrize(
    ("workload", "stuck"),
    [
        pytest.param(sts(updatedReplicas=1, readyReplicas=3, **REV_MOVING), True, id="sts-default-updating"),
        pytest.param(sts(updatedReplicas=3, readyReplicas=2, **REV_DONE), True, id="sts-default-not-ready"),
        pytest.param(sts(None, **REV_DONE), True, id="sts-replicas-unset-none-ready"),
        pytest.param(
            with_spec(
                sts(3, {"type": "RollingUpdate"}, readyReplicas=2, **REV_DONE), podManagementPolicy="OrderedReady"
            ),
            True,
            id="sts-explicit-orderedready",
        ),
        pytest.param(sts(3, partition(1), readyReplicas=3, **REV_MOVING), True, id="sts-partition-updating"),
        pytest.param(sts(readyReplicas=3, **REV_DONE), False, id="sts-healthy"),
        pytest.param(sts(0, **REV_DONE), False, id="sts-replicas-0"),
        pytest.param(
            with_spec(sts(readyReplicas=1, **REV_MOVING), podManagementPolicy="Parallel"), False, id="sts-parallel"
        ),
        pytest.param(sts(3, ONDELETE, readyReplicas=1, **REV_MOVING), False, id="sts-ondelete"),
        pytest.param(deploy(updatedReplicas=1, readyReplicas=1), False, id="deployment"),
        pytest.param(ds(desiredNumberScheduled=3, numberReady=1), False, id="daemonset"),
        pytest.param(body("CronJob"), False, id="cronjob"),
    ],
)
def test_stuck_on_rollback_only_for_an_ordered_rolling_statefulset_in_trouble(workload: Body, stuck: bool) -> None:
    assert wl.stuck_on_rollback(workload) is stuck


@pytest.mark.parametrize(
    ("spec", "labels"),
    [
        pytest.param(
            {"selector": {"matchLabels": {"app": "web", "tier": "db"}}}, {"app": "web", "tier": "db"}, id="match-labels"
        ),
        pytest.param(
            {"selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}, {}, id="expressions-only"
        ),
        pytest.param({"selector": None}, {}, id="null"),
        pytest.param({}, {}, id="none"),
    ],
)
def test_pod_selector_is_the_match_labels(spec: Body, labels: dict[str, str]) -> None:
    assert wl.pod_selector(body("StatefulSet", spec)) == labels


CONTAINERS = {"spec": {"containers": [{"name": "side", "image": "s:1"}, {"name": "app", "image": "a:1"}]}}


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        pytest.param("Deployment", {"template": CONTAINERS}, id="deployment"),
        pytest.param("StatefulSet", {"template": CONTAINERS}, id="statefulset"),
        pytest.param("DaemonSet", {"template": CONTAINERS}, id="daemonset"),
        pytest.param("CronJob", {"jobTemplate": {"spec": {"template": CONTAINERS}}}, id="cronjob"),
    ],
)
def test_each_kind_keeps_its_image_where_the_patch_sets_it(kind: str, spec: Body) -> None:
    workload = body(kind, spec)
    assert (wl.container_image(workload, "app"), wl.container_image(workload, "none")) == ("a:1", None)
    patched = body(kind, wl.image_patch(kind, "app", "a:2")["spec"])
    assert wl.container_image(patched, "app") == "a:2"
    assert wl.ref(workload) == f"{kind.lower()}/web"
