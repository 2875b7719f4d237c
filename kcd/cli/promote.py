"""`kcd rollout promote|abort`: a person's decision on the rollout in flight, as an annotation the controller acts on.

The annotation's value names the in-flight rollout (`<version>@<startedAt>`), so a decision never carries over to a
later rollout.
`promote` lets a blue-green rollout waiting in AwaitingPromotion (strategy.blueGreen.promotion: Manual) switch;
`abort` ends the rollout in flight as failed (quarantined): before a blue-green switch traffic stays where it is, after
it traffic is switched back; a Simple rollout is rolled back when rollback.enabled.
"""

from __future__ import annotations

import click

from kcd import operations
from kcd.cli import kubeconfig_option
from kcd.cli.common import namespace_option
from kcd.cli.rollout import request, rollout


@rollout.command("promote")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def promote(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """Switch a verified blue-green rollout that waits for promotion."""
    request(operations.promote, "requesting the promotion", kcd, namespace, kubeconfig)


@rollout.command("abort")
@click.argument("kcd")
@namespace_option
@kubeconfig_option
def abort(kcd: str, namespace: str, kubeconfig: str | None) -> None:
    """End the rollout in flight as failed (traffic stays on, or goes back to, the live version)."""
    request(operations.abort, "requesting the abort", kcd, namespace, kubeconfig)
