"""`kcd rollout status|pause|resume|clear`: a person's view of and hand on a KCD's rollouts (rollback: rollback.py).

The changes are kcd.operations': this module reads the KCD, writes the change conditionally on what it read
(common.update_kcd) and prints its summary. Status is the controller's: only `clear` writes it, to clear what a person
put there (quarantine, holds, the drift count). Everything else a person asks for goes through annotations.

`status` follows a rollout in flight (a read every second) until it ends; the exit code is its outcome.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable

import click

from kcd import operations, overview
from kcd.cli import cli, kubeconfig_option
from kcd.cli.common import api_failure, connect, emit, get_kcd, namespace_option, output_option, update_kcd
from kcd.engine.workload import container_image
from kcd.errors import ApiError
from kcd.kube.api import WORKLOADS, Body, Kube
from kcd.model import ConditionType, CurrStatus, Reason, Status, find_condition, parse_time


@cli.group("rollout")
def rollout() -> None:
    """Inspect and steer the rollouts of a KCD."""


@rollout.command("status")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
@output_option
@click.option("--follow/--no-follow", default=True, help="follow a rollout in flight until it ends (table output)")
@click.option("--timeout", type=click.FloatRange(min=0), default=0, help="stop following after S seconds (0: never)")
@click.option("--interval", type=click.FloatRange(min=0.05), default=1.0, hidden=True, help="seconds between reads")
@click.pass_context
def status(
    ctx: click.Context,
    /,
    kcd: str,
    namespace: str,
    kubeconfig: str | None,
    output: str,
    follow: bool,
    timeout: float,
    interval: float,
) -> None:
    """Where the KCD's rollout stands; a rollout in flight is followed until it ends.

    Exit 0 when it ends in Success (or, with nothing in flight, the KCD is not Failed), 1 when it fails, is rolled
    back or the --timeout passes.
    """
    kube = connect(kubeconfig)
    body = get_kcd(kube, namespace, kcd)
    if output == "table" and follow and Status.from_dict(body.get("status")).rollout is not None:
        tty = sys.stdout.isatty()
        body = _follow(kube, body, Display(tty), timeout=timeout, interval=interval)
        line, code = ending(body)
        click.echo(line)
        ctx.exit(code)
    st = Status.from_dict(body.get("status"))
    emit(body.get("status") or {}, output, _state_rows(st))
    ctx.exit(1 if st.curr_status is CurrStatus.FAILED else 0)


def _state_rows(st: Status) -> list[list[str]]:
    ready = find_condition(st.conditions, ConditionType.READY)
    return [
        ["FIELD", "VALUE"],
        ["status", str(st.curr_status or "")],
        ["version", st.curr_version],
        ["live", st.success_version],
        ["phase", str(st.rollout.phase) if st.rollout else ""],
        ["quarantined", ",".join(st.failed_versions)],
        ["held", ",".join(st.held_versions)],
        ["ready", f"{ready.status} {ready.reason}: {ready.message}" if ready else " : "],
    ]


# --- following a rollout


class Display:
    """The live progress: on a terminal one block redrawn in place, else one line per change (elapsed time aside)."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.drawn = 0  # lines of the block on screen
        self.last: tuple[str, ...] = ()

    def show(self, head: str, work: list[str], elapsed: int) -> None:
        if self.tty:
            erase = f"\x1b[{self.drawn}F\x1b[J" if self.drawn else ""
            block = [f"{head} ({elapsed} s)", *(f"  {w}" for w in work)]
            click.echo(erase + "\n".join(block), color=True)
            self.drawn = len(block)
        elif (head, *work) != self.last:
            click.echo(f"[{elapsed:>4} s] {head}" + (f": {'; '.join(work)}" if work else ""))
        self.last = (head, *work)


def workload_progress(workload: Body, container: str) -> str:
    """One workload's progress: `deployment/web 1.2.3 2/3 updated, 2 available`."""
    meta, spec, st = workload.get("metadata") or {}, workload.get("spec") or {}, workload.get("status") or {}
    name = f"{str(workload.get('kind') or '').lower()}/{meta.get('name')}"
    version = overview.version_of(container_image(dict(workload), container)) or "?"
    if workload.get("kind") == "CronJob":
        return f"{name} {version} (the next job runs it)"
    if workload.get("kind") == "DaemonSet":
        want, updated = st.get("desiredNumberScheduled"), st.get("updatedNumberScheduled")
    else:
        want, updated = spec.get("replicas", 1), st.get("updatedReplicas")
    if (st.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        updated = 0  # the workload's controller has not seen the new template yet
    return f"{name} {version} {updated or 0}/{want or 0} updated, {overview.available_pods(workload)} available"


def _progress(kube: Kube, body: Body) -> list[str]:
    spec, namespace = body.get("spec") or {}, body["metadata"]["namespace"]
    selector, container = spec.get("selector") or {}, (spec.get("container") or {}).get("name") or ""
    try:
        found = [w for res in WORKLOADS.values() for w in kube.list(res, namespace, labels=selector)]
    except ApiError as err:
        raise api_failure(err) from None
    return [workload_progress(w, container) for w in found]


def _follow(kube: Kube, body: Body, display: Display, *, timeout: float, interval: float) -> Body:
    """Read the KCD every `interval` seconds and show its rollout until none is in flight; the last body read."""
    meta, began = body["metadata"], time.monotonic()
    while (current := Status.from_dict(body.get("status")).rollout) is not None:
        started = parse_time(current.started_at)
        now = datetime.datetime.now(datetime.UTC)
        elapsed = (now - started).total_seconds() if started else time.monotonic() - began
        head = f"rollout of {current.version} on {meta['namespace']}/{meta['name']}: {current.phase}"
        display.show(head, _progress(kube, body), max(0, int(elapsed)))
        if timeout and time.monotonic() - began >= timeout:
            raise click.ClickException(f"timed out after {timeout:g} s: {head}")
        time.sleep(interval)
        body = get_kcd(kube, meta["namespace"], meta["name"])
    return body


def ending(body: Body) -> tuple[str, int]:
    """How the KCD stands once nothing is in flight: the line to show and the exit code (0 Success, else 1)."""
    st = Status.from_dict(body.get("status"))
    ready = find_condition(st.conditions, ConditionType.READY)
    message = f": {ready.message}" if ready and ready.message else ""
    if st.curr_status is CurrStatus.SUCCESS:
        return f"Success{message or f': {st.success_version} is live'}", 0
    outcome = "RolledBack" if ready and ready.reason == Reason.ROLLED_BACK else str(st.curr_status or "Ended")
    return f"{outcome}{message}", 1


def request(
    decide: Callable[[Body], operations.Change], what: str, kcd: str, namespace: str, kubeconfig: str | None
) -> None:
    """Apply the change `decide` (a kcd.operations function) builds from the KCD, and print its summary."""
    _, change = update_kcd(connect(kubeconfig), namespace, kcd, decide, what=what)
    click.echo(change.summary)


@rollout.command("pause")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def pause(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """Start no new rollouts for this KCD (a running one finishes)."""
    request(operations.pause, "pausing", kcd, namespace, kubeconfig)


@rollout.command("resume")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def resume(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """Allow rollouts again."""
    request(operations.resume, "resuming", kcd, namespace, kubeconfig)


@rollout.command("clear")
@click.argument("kcd")
@click.option("--version", "version", default=None, help="clear only this version (default: all, and the drift count)")
@namespace_option
@kubeconfig_option
def clear(kcd: str, version: str | None, namespace: str, kubeconfig: str | None) -> None:
    """Let the controller deploy quarantined (failed) and held (rolled back from) versions again.

    Without --version it also resets the drift count, so a KCD that stopped correcting drift (Stalled) corrects again.
    """

    def clearing(body: Body) -> operations.Change:
        return operations.clear(body, version=version)

    request(clearing, "clearing", kcd, namespace, kubeconfig)
