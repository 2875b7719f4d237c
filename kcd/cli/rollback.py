"""`kcd rollout rollback`: ask the controller to roll a KCD back, by annotating the KCD (the CLI never writes status).

The request is three annotations: kcd.io/rollback-to (the target version), kcd.io/rollback-requested-at (its id: the
controller carries out each value once and records it in status.lastRollback) and kcd.io/rollback-by (who asked).
The controller holds the versions rolled away from in status.heldVersions, so the next poll does not bring them back,
and rolls out the target like any version. The hold is sticky: `kcd rollout clear` lifts it.

Without --to the target is the previous live version: the newest Success in the history of the KCD's workloads that
is not the live version, nor held, nor quarantined.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import yaml

from kcd import history, images
from kcd.cli import kubeconfig_option
from kcd.cli.common import api_failure, connect, namespace_option, update_kcd
from kcd.cli.rollout import rollout
from kcd.errors import ApiError
from kcd.kube.api import WORKLOADS, Body, Kube
from kcd.kube.cluster import ConfigMapHistory
from kcd.model import KCD, ROLLBACK_BY, ROLLBACK_REQUESTED_AT, ROLLBACK_TO, Outcome, SpecError, format_time, parse_time

_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _version(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not (images.is_tag(value) or images.is_digest(value)):
        raise click.BadParameter(f"{value!r} is not a valid tag or sha256 digest")
    return value


def _previous(kube: Kube, kcd: KCD) -> str:
    """The newest successful version in the KCD's workloads' history that the KCD may go back to."""
    skip = {kcd.status.success_version, *kcd.status.held_versions, *kcd.status.failed_versions}
    try:
        workloads = [w for res in WORKLOADS.values() for w in kube.list(res, kcd.namespace, labels=kcd.spec.selector)]
        records = [r for w in workloads for r in ConfigMapHistory(kube).load(kcd.namespace, w["metadata"]["name"])]
    except ApiError as err:
        raise api_failure(err) from None
    # Other KCDs may have managed these workloads before; their versions are not this KCD's to go back to.
    ours = [r for r in records if r.kcd in ("", kcd.name) and r.outcome is Outcome.SUCCESS and r.version not in skip]
    if not ours:
        names = ", ".join(f"{w['kind'].lower()}/{w['metadata']['name']}" for w in workloads) or "none selected"
        raise click.ClickException(
            f"no previous version of {kcd.key} in the history of its workloads ({names}); name one with --to"
        )
    return max(ours, key=_when).version


def _when(record: history.Record) -> datetime.datetime:
    return parse_time(record.time) or _EPOCH


def _rolled_away_from(kcd: KCD, target: str) -> list[str]:
    """What the controller will hold: the live version and the one in flight with its digest, less the target."""
    current = kcd.status.rollout
    versions = (kcd.status.success_version, current.version if current else "", current.digest if current else "")
    return [v for v in dict.fromkeys(versions) if v and v != target]


def _requested_at(kcd: KCD, now: datetime.datetime) -> str:
    """Now, or just after the previous request: the controller carries out each value once, so a new request (even
    one made in the same second) must carry a new, later time."""
    previous = parse_time(kcd.annotations.get(ROLLBACK_REQUESTED_AT, ""))
    if previous is not None and previous >= now.replace(microsecond=0):
        now = previous + datetime.timedelta(seconds=1)
    return format_time(now)


def _kubeconfigs(kubeconfig: str | None) -> Iterator[dict[str, Any]]:
    """The kubeconfig files the connection reads, in kubectl's order of precedence (missing or unreadable: skipped)."""
    paths = [kubeconfig] if kubeconfig else (os.environ.get("KUBECONFIG") or "~/.kube/config").split(os.pathsep)
    for path in filter(None, paths):
        try:
            loaded = yaml.safe_load(Path(path).expanduser().read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(loaded, dict):
            yield loaded


def _requester(kubeconfig: str | None) -> str:
    """Who asked, for the controller's Event: the user of the kubeconfig's current context, else $USER."""
    if kubeconfig or not os.environ.get("KUBERNETES_SERVICE_HOST"):  # in a pod the connection is the pod's own
        files = list(_kubeconfigs(kubeconfig))
        current = next((f["current-context"] for f in files if f.get("current-context")), None)
        contexts = [c for f in files for c in f.get("contexts") or [] if isinstance(c, dict)]
        found = next((c.get("context") or {} for c in contexts if c.get("name") == current), {})
        if isinstance(found, dict) and found.get("user"):
            return str(found["user"])
    return os.environ.get("USER") or "unknown"


def _requesting(to: str | None, by: str, kube: Kube) -> Callable[[Body], Body]:
    def decide(body: Body) -> Body:
        kcd = _parse(body)
        target = to or _previous(kube, kcd)
        if target == kcd.status.success_version and kcd.status.rollout is None:
            raise click.ClickException(f"{target} is already live on {kcd.key}")
        now = datetime.datetime.now(datetime.UTC)
        notes = {ROLLBACK_TO: target, ROLLBACK_REQUESTED_AT: _requested_at(kcd, now), ROLLBACK_BY: by}
        return {"metadata": {"annotations": notes}}

    return decide


def _parse(body: Body) -> KCD:
    try:
        return KCD.from_body(body)
    except SpecError as err:
        meta = body.get("metadata") or {}
        raise click.ClickException(f"kcd {meta.get('namespace')}/{meta.get('name')}: {err}") from None


@rollout.command("rollback")
@click.argument("kcd")
@click.option(
    "--to",
    "to",
    callback=_version,
    default=None,
    help="tag or sha256 digest to go back to (default: the previous live version, from history)",
)
@namespace_option
@kubeconfig_option
def rollback(kcd: str, to: str | None, namespace: str, kubeconfig: str | None) -> None:
    """Go back to an earlier version and hold the current one (until `kcd rollout clear`)."""
    kube = connect(kubeconfig)
    decide = _requesting(to, _requester(kubeconfig), kube)
    body, patch = update_kcd(kube, namespace, kcd, decide, status=False, what="requesting the rollback")
    target = patch["metadata"]["annotations"][ROLLBACK_TO]
    held = ", ".join(_rolled_away_from(_parse(body), target)) or "nothing"
    click.echo(f"rollback of {kcd} to {target} requested (held: {held})")
