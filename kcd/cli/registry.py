"""``kcd registry``: the syncer (``sync``) and the tagger (``tags get|add|remove``) for CI pipelines.

``sync`` runs the syncer sidecar in this process (``python -m sidecar``, replacing the CLI process): the package
``kcd`` never imports ``sidecar``. ``tags`` talks to the registry directly; OCI credentials come from
``--username``/``--password`` or the docker config (``KCD_DOCKER_CONFIG``, ``$DOCKER_CONFIG/config.json``,
``~/.docker/config.json``), ECR credentials from the AWS SDK chain.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from kcd import images, registries
from kcd.cli import cli, kubeconfig_option
from kcd.registries import dockerconfig

WORKLOAD_KINDS = ("deployment", "statefulset", "daemonset", "replicaset", "cronjob", "job")


@cli.group("registry")
def registry_group() -> None:
    """Registry commands: the syncer and the tagger."""


@registry_group.command("sync")
@click.option("-n", "--namespace", envvar="KCD_NAMESPACE", required=True, help="Namespace of the KCD.")
@click.option("--kcd", "kcd_name", envvar="KCD_NAME", required=True, help="Name of the KCD.")
@click.option("--workload", help="KIND/NAME of the workload this syncer serves (in a pod: KCD_WORKLOAD_KIND/NAME).")
@kubeconfig_option
@click.option(
    "--provider",
    type=click.Choice(["ecr", "dockerhub", "oci"]),
    help="Accepted for compatibility; the registry is chosen from the KCD's imageRepo.",
)
@click.option("--pod-name", envvar="POD_NAME", default=None, help="Identity in the Lease (default: the host name).")
def sync(
    namespace: str,
    kcd_name: str,
    workload: str | None,
    kubeconfig: str | None,
    provider: str | None,
    pod_name: str | None,
) -> None:
    """Run the syncer: poll the registry and annotate the workload with the candidate version."""
    env = {"KCD_NAMESPACE": namespace, "KCD_NAME": kcd_name}
    if workload:
        kind, sep, name = workload.partition("/")
        if not sep or not name or kind.lower() not in WORKLOAD_KINDS:
            raise click.BadParameter(
                f"expected KIND/NAME with KIND one of {', '.join(WORKLOAD_KINDS)}", param_hint="--workload"
            )
        env.update(KCD_WORKLOAD_KIND=kind, KCD_WORKLOAD_NAME=name)
    elif not (os.environ.get("KCD_WORKLOAD_KIND") and os.environ.get("KCD_WORKLOAD_NAME")):
        raise click.UsageError("--workload KIND/NAME is required outside a pod (or set KCD_WORKLOAD_KIND/NAME)")
    if kubeconfig:
        env["KCD_KUBECONFIG"] = kubeconfig
    if pod_name:
        env["POD_NAME"] = pod_name
    os.environ.update(env)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "sidecar"])  # noqa: S606 - our own interpreter and module


@registry_group.group("tags")
@click.option(
    "--repo",
    required=True,
    help="Repository, e.g. 127.0.0.1:5000/team/app or <acct>.dkr.ecr.<region>.amazonaws.com/app",
)
@click.option("--username", default=None, help="OCI registry user (default: the docker config).")
@click.option("--password", "--passsword", "password", default=None, help="OCI registry password.")
@click.option("--version-pattern", hidden=True, default=None, help="Accepted for compatibility; unused.")
@click.pass_context
def tags(
    ctx: click.Context, repo: str, username: str | None, password: str | None, version_pattern: str | None
) -> None:
    """Read and move registry tags (the tagger, for CI)."""
    if registries.is_ecr(repo):
        ctx.obj = {"repo": repo, "config": {}}
        return
    try:
        host = images.parse_repo(repo).host
        config = dockerconfig.load(dockerconfig.default_path())
    except (ValueError, dockerconfig.ConfigError) as err:
        raise click.BadParameter(str(err), param_hint="--repo") from None
    if username is not None:
        config = {"auths": {host: {"username": username, "password": password or ""}}}
    ctx.obj = {"repo": repo, "config": config}


def _split(values: tuple[str, ...]) -> list[str]:
    out = [t.strip() for value in values for t in value.split(",") if t.strip()]
    if not out:
        raise click.BadParameter("at least one tag is required", param_hint="--tags")
    return out


@contextmanager
def _registry(ctx: click.Context) -> Iterator[registries.Registry]:
    try:
        reg = registries.for_repo(ctx.obj["repo"], docker_config=ctx.obj["config"], max_wait=60, attempts=4)
    except (ValueError, registries.RegistryError) as err:
        raise click.ClickException(str(err)) from None
    try:
        yield reg
    except registries.RegistryError as err:
        raise click.ClickException(str(err)) from None
    finally:
        reg.close()


@tags.command("get")
@click.option("--version", "version", required=True, help="A version tag (e.g. a git SHA).")
@click.pass_context
def tags_get(ctx: click.Context, version: str) -> None:
    """Print every tag of the image carrying VERSION, one per line."""
    with _registry(ctx) as reg:
        for tag in reg.tags_of(version):
            click.echo(tag)


@tags.command("add")
@click.option("--version", "version", required=True, help="The version tag of the image to tag.")
@click.option("--tags", "tag_values", multiple=True, required=True, help="Tags to add, comma-separated.")
@click.pass_context
def tags_add(ctx: click.Context, version: str, tag_values: tuple[str, ...]) -> None:
    """Put TAGS on the image carrying VERSION (moving them from wherever they were)."""
    wanted = _split(tag_values)
    with _registry(ctx) as reg:
        reg.add_tags(version, wanted)
    click.echo(f"tagged {ctx.obj['repo']}:{version} with {', '.join(wanted)}")


@tags.command("remove")
@click.option("--tags", "tag_values", multiple=True, required=True, help="Tags to remove, comma-separated.")
@click.option("--version", "version", default=None, hidden=True, help="Accepted for compatibility; unused.")
@click.pass_context
def tags_remove(ctx: click.Context, tag_values: tuple[str, ...], version: str | None) -> None:
    """Remove TAGS (an image whose last tag is removed is deleted, as ECR does)."""
    wanted = _split(tag_values)
    with _registry(ctx) as reg:
        reg.remove_tags(wanted)
    click.echo(f"removed {', '.join(wanted)} from {ctx.obj['repo']}")
