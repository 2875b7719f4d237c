"""The `kcd` command line: wiring only. Each command group lives in its own module and calls into the module that owns
the concept. Errors go to stderr in one line; exit 0 success, 1 failure, 2 usage error (click's default)."""

from __future__ import annotations

import importlib

import click

from kcd import __version__

# Command modules register themselves on `cli`; each one is a separate file so that work on one does not touch another.
COMMAND_MODULES = (
    "kcd.cli.registry",
    "kcd.cli.controller",
    "kcd.cli.rollout",
    "kcd.cli.rollback",
    "kcd.cli.promote",
    "kcd.cli.listing",
    "kcd.cli.api",
    "kcd.cli.webhook",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kcd")
def cli() -> None:
    """kcd: Kubernetes Continuous Delivery."""


# One --kubeconfig for every command that talks to the API server (kcd.kube.api.Kube.from_config decides the default).
kubeconfig_option = click.option(
    "--kubeconfig",
    "--k8s-config",
    "kubeconfig",
    type=click.Path(dir_okay=False),
    default=None,
    help="kubeconfig path (default: in-cluster, else $KUBECONFIG or ~/.kube/config)",
)


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:  # a command module that exists but fails to import is a bug: show it
                raise


def main() -> None:
    _load_commands()
    cli(auto_envvar_prefix="KCD")
