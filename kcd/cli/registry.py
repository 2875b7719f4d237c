"""``kcd registry``: the syncer (``sync``) and the tagger (``tags get|add|remove``) for CI pipelines.

``sync`` runs the syncer sidecar in this process (``python -m sidecar``, replacing the CLI process): the package
``kcd`` never imports ``sidecar``. ``tags`` talks to the registry directly; OCI credentials come from
``--username``/``--password`` or the docker config (``KCD_DOCKER_CONFIG``, ``$DOCKER_CONFIG/config.json``,
``~/.docker/config.json``), ECR credentials from the AWS SDK chain.

The tagger's own options (``--repo``, ``--username``, ``--password``) go before or after the subcommand: the original
declared them on the ``tags`` command for all its subcommands, and its README writes ``tags get --repo R``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from kcd import images, kinds, registries
from kcd.cli import cli, kubeconfig_option, legacy
from kcd.registries import dockerconfig

F = TypeVar("F", bound=Callable[..., Any])


@cli.group("registry")
def registry_group() -> None:
    """Registry commands: the syncer and the tagger."""


def _workload_env(workload: str) -> dict[str, str]:
    kind_text, sep, name = workload.partition("/")
    kind = kinds.find(kind_text)
    if not sep or not name or kind is None:
        raise click.BadParameter(
            f"expected KIND/NAME with KIND one of {', '.join(kinds.NAMES)}", param_hint="--workload"
        )
    return {"KCD_WORKLOAD_KIND": kind.name, "KCD_WORKLOAD_NAME": name}


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
@legacy.sync_options
def sync(
    namespace: str,
    kcd_name: str,
    workload: str | None,
    kubeconfig: str | None,
    provider: str | None,
    pod_name: str | None,
    **original: Any,
) -> None:
    """Run the syncer: poll the registry and annotate the workload with the candidate version."""
    env = {"KCD_NAMESPACE": namespace, "KCD_NAME": kcd_name}
    if workload:
        env.update(_workload_env(workload))
    elif not (os.environ.get("KCD_WORKLOAD_KIND") and os.environ.get("KCD_WORKLOAD_NAME")):
        raise click.UsageError("--workload KIND/NAME is required outside a pod (or set KCD_WORKLOAD_KIND/NAME)")
    if kubeconfig:
        env["KCD_KUBECONFIG"] = kubeconfig
    if pod_name:
        env["POD_NAME"] = pod_name
    legacy.announce("kcd registry sync", original)
    os.environ.update(env)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "sidecar"])  # noqa: S606 - our own interpreter and module


def _target_options(f: F) -> F:
    """The options that say which registry to talk to and as whom, on `tags` and on each of its subcommands."""
    f = click.option("--version-pattern", hidden=True, default=None, help="Accepted for compatibility; unused.")(f)
    f = click.option("--password", "--passsword", "password", default=None, help="OCI registry password.")(f)
    f = click.option("--username", default=None, help="OCI registry user (default: the docker config).")(f)
    repo_help = "Repository, e.g. 127.0.0.1:5000/team/app or <acct>.dkr.ecr.<region>.amazonaws.com/app"
    return click.option("--repo", default=None, help=repo_help)(f)


@registry_group.group("tags")
@_target_options
def tags(repo: str | None, username: str | None, password: str | None, version_pattern: str | None) -> None:
    """Read and move registry tags (the tagger, for CI)."""
    legacy.announce("kcd registry tags", {"version_pattern": version_pattern})


def _docker_config(repo: str, username: str | None, password: str | None) -> dict[str, Any]:
    if registries.is_ecr(repo):
        return {}
    try:
        host = images.parse_repo(repo).host
        config = dockerconfig.load(dockerconfig.default_path())
    except (ValueError, dockerconfig.ConfigError) as err:
        raise click.BadParameter(str(err), param_hint="--repo") from None
    if username is not None:
        return {"auths": {host: {"username": username, "password": password or ""}}}
    return config


def _split(values: tuple[str, ...]) -> list[str]:
    out = [t.strip() for value in values for t in value.split(",") if t.strip()]
    if not out:
        raise click.BadParameter("at least one tag is required", param_hint="--tags")
    return out


TARGET = ("repo", "username", "password")


@contextmanager
def _registry(ctx: click.Context, options: dict[str, Any]) -> Iterator[tuple[str, registries.Registry]]:
    """The registry of --repo and the repo, closed afterwards. An option after the subcommand wins over one before."""
    before = ctx.parent.params if ctx.parent else {}
    repo, username, password = (options[k] if options[k] is not None else before.get(k) for k in TARGET)
    if not repo:
        raise click.MissingParameter(ctx=ctx, param_hint="'--repo'", param_type="option")
    config = _docker_config(repo, username, password)
    legacy.announce(f"kcd registry tags {ctx.info_name}", {k: v for k, v in options.items() if k not in TARGET})
    try:
        reg = registries.for_repo(repo, docker_config=config, max_wait=60, attempts=4)
    except (ValueError, registries.RegistryError) as err:
        raise click.ClickException(str(err)) from None
    try:
        yield repo, reg
    except registries.RegistryError as err:
        raise click.ClickException(str(err)) from None
    finally:
        reg.close()


@tags.command("get")
@click.option("--version", "version", required=True, help="A version tag (e.g. a git SHA).")
@_target_options
@legacy.tagger_options
@click.pass_context
def tags_get(ctx: click.Context, /, version: str, **options: Any) -> None:
    """Print every tag of the image carrying VERSION, one per line."""
    with _registry(ctx, options) as (_repo, reg):
        for tag in reg.tags_of(version):
            click.echo(tag)


@tags.command("add")
@click.option("--version", "version", required=True, help="The version tag of the image to tag.")
@click.option("--tags", "tag_values", multiple=True, required=True, help="Tags to add, comma-separated.")
@_target_options
@legacy.tagger_options
@click.pass_context
def tags_add(ctx: click.Context, /, version: str, tag_values: tuple[str, ...], **options: Any) -> None:
    """Put TAGS on the image carrying VERSION (moving them from wherever they were)."""
    wanted = _split(tag_values)
    with _registry(ctx, options) as (repo, reg):
        reg.add_tags(version, wanted)
    click.echo(f"tagged {repo}:{version} with {', '.join(wanted)}")


@tags.command("remove")
@click.option("--tags", "tag_values", multiple=True, required=True, help="Tags to remove, comma-separated.")
@click.option("--version", "version", default=None, hidden=True, help="Accepted for compatibility; unused.")
@_target_options
@legacy.tagger_options
@click.pass_context
def tags_remove(ctx: click.Context, /, tag_values: tuple[str, ...], version: str | None, **options: Any) -> None:
    """Remove TAGS (an image whose last tag is removed is deleted, as ECR does)."""
    wanted = _split(tag_values)
    with _registry(ctx, options) as (repo, reg):
        reg.remove_tags(wanted)
    click.echo(f"removed {', '.join(wanted)} from {repo}")
