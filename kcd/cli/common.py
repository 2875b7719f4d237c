"""What the command modules share: the API connection, reading a KCD, conditional writes, output and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
import yaml

from kcd.errors import ApiError, Conflict, NotFound
from kcd.kube.api import KCDS, Body, Kube
from kcd.operations import Change, OperationError

ATTEMPTS = 5  # conditional writes lost to another writer (the controller) before giving up

namespace_option = click.option("-n", "--namespace", default="default", show_default=True)
output_option = click.option(
    "-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True
)


def connect(kubeconfig: str | None) -> Kube:
    """The API connection: the caller's own Kube when one was passed as the click `obj` (tests), else from config."""
    given = click.get_current_context().find_object(Kube)
    if given is not None:
        return given
    try:
        return Kube.from_config(kubeconfig)
    except Exception as err:  # noqa: BLE001 - any config problem is one line for a person
        raise click.ClickException(f"cannot load the Kubernetes configuration: {err}") from None


def api_failure(err: ApiError) -> click.ClickException:
    """An API error as the one line a person reads (exit 1)."""
    return click.ClickException(str(err))


def get_kcd(kube: Kube, namespace: str, name: str) -> Body:
    try:
        return kube.get(KCDS, namespace, name)
    except NotFound:
        raise click.ClickException(f"kcd {namespace}/{name} not found") from None
    except ApiError as err:
        raise api_failure(err) from None


def update_kcd(
    kube: Kube, namespace: str, name: str, decide: Callable[[Body], Change], *, what: str
) -> tuple[Body, Change]:
    """Read the KCD, let `decide` (a kcd.operations function) build a change from it, and apply its patch only if the
    KCD is still as read.

    The controller writes the same object, so a patch built from a stale read must not land: it is conditional on the
    read's resourceVersion and retried from a fresh read on a conflict. Returns (the body read, the change applied).
    An OperationError from `decide` is the one-line error (exit 1). `what` names the action for the error after
    ATTEMPTS lost races.
    """
    for _attempt in range(ATTEMPTS):
        body = get_kcd(kube, namespace, name)
        try:
            change = decide(body)
        except OperationError as err:
            raise click.ClickException(str(err)) from None
        patch = {**change.patch, "metadata": {**change.patch.get("metadata", {}), "resourceVersion": _version(body)}}
        try:
            if change.status:
                kube.patch_status(KCDS, namespace, name, patch)
            else:
                kube.patch(KCDS, namespace, name, patch)
            return body, change
        except Conflict:
            continue
        except ApiError as err:
            raise api_failure(err) from None
    raise click.ClickException(
        f"kcd {namespace}/{name} kept changing while {what} ({ATTEMPTS} conflicting writes); nothing was changed, "
        "try again"
    )


def _version(body: Body) -> str:
    return str(body["metadata"]["resourceVersion"])


def emit(data: Any, output: str, table: list[list[str]]) -> None:
    """`data` as json or yaml, or `table` (a header row first) as aligned columns."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)
    else:
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
