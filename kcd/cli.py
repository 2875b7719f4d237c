"""The `kcd` command line: wiring only; each command calls into the module that owns the concept."""

import click

from kcd import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kcd")
def cli() -> None:
    """kcd: Kubernetes Continuous Delivery."""


def main() -> None:
    cli(auto_envvar_prefix="KCD")
