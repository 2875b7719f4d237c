"""`kcd rollout promote|abort`: a person's decision on the rollout in flight, as an annotation the controller acts on.

The annotation's value names the in-flight rollout (`<version>@<startedAt>`), so a decision never carries over to a
later rollout.
`promote` lets a blue-green rollout waiting in AwaitingPromotion (strategy.blueGreen.promotion: Manual) switch;
`abort` ends the rollout in flight as failed (quarantined): before a blue-green switch traffic stays where it is, after
it traffic is switched back; a Simple rollout is rolled back when rollback.enabled.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from kcd.cli import kubeconfig_option
from kcd.cli.common import connect, namespace_option, update_kcd
from kcd.cli.rollout import rollout
from kcd.kube.api import Body
from kcd.model import ABORT, PROMOTE, Phase, Status


def _deciding(key: str, annotation: str, *, promote: bool) -> Callable[[Body], Body]:
    def decide(body: Body) -> Body:
        current = Status.from_dict(body.get("status")).rollout
        if current is None:
            raise click.ClickException(f"no rollout is in flight on {key}")
        if promote and current.phase is not Phase.AWAITING_PROMOTION:
            raise click.ClickException(
                f"the rollout of {current.version} on {key} is in {current.phase}, not AwaitingPromotion: "
                "nothing to promote"
            )
        return {"metadata": {"annotations": {annotation: current.id}}}

    return decide


def _request(kcd: str, namespace: str, kubeconfig: str | None, annotation: str, *, promote: bool) -> str:
    key = f"{namespace}/{kcd}"
    body, _ = update_kcd(
        connect(kubeconfig), namespace, kcd, _deciding(key, annotation, promote=promote), status=False, what=annotation
    )
    rollout_state = Status.from_dict(body.get("status")).rollout
    return rollout_state.version if rollout_state else ""


@rollout.command("promote")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def promote(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """Switch a verified blue-green rollout that waits for promotion."""
    version = _request(kcd, namespace, kubeconfig, PROMOTE, promote=True)
    click.echo(f"promotion of {version} on {namespace}/{kcd} requested")


@rollout.command("abort")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def abort(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """End the rollout in flight as failed (traffic stays on, or goes back to, the live version)."""
    version = _request(kcd, namespace, kubeconfig, ABORT, promote=False)
    click.echo(f"abort of {version} on {namespace}/{kcd} requested")
