"""The original kcd's flags, accepted so that its manifests, README lines and CI scripts keep working unchanged.

The original (Go, cobra) took glog's flags on every command, statsd flags on `run` and `registry`, and `--history`,
`--rollback`, `--kcd-img-repo` on `run`. None is a usage error here: `--v` maps to a log level where a command has one,
and every other flag given gets one line on stderr saying that it has no effect and what replaced it. Their boolean
flags take cobra's forms: a bare `--rollback` is true, `--rollback=false` false.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_LOGS = "kcd always logs to stderr"
# Parameter name -> (flag, what a person is told when giving it). The order is the order of the notices.
EFFECTS: dict[str, tuple[str, str]] = {
    "vmodule": ("--vmodule", "kcd has no per-module verbosity"),
    "logtostderr": ("--logtostderr", _LOGS),
    "alsologtostderr": ("--alsologtostderr", _LOGS),
    "stderrthreshold": ("--stderrthreshold", _LOGS),
    "log_dir": ("--log_dir", _LOGS),
    "log_backtrace_at": ("--log_backtrace_at", _LOGS),
    "history": ("--history", "history is set per KCD (spec.history.enabled, default true)"),
    "rollback": ("--rollback", "rollback on failure is set per KCD (spec.rollback.enabled)"),
    "kcd_img_repo": ("--kcd-img-repo", "kcd starts no syncer Deployments; the syncer runs as a sidecar"),
    "stats_provider": ("--stats-provider", "metrics are served for Prometheus at /metrics"),
    "stats_host": ("--stats-host", "metrics are served for Prometheus at /metrics"),
    "version": ("--version", "the syncer is restarted by its pod, not by a version argument"),
    "version_pattern": ("--version-pattern", "the tagger moves tags and matches no versions"),
}


def _cobra_bool(name: str) -> Callable[[F], F]:
    # An optional value: a bare flag means true, `--flag=false` false (pflag's bool flags).
    return click.option(name, type=click.BOOL, is_flag=False, flag_value="true", default=None, hidden=True)


def _text(name: str) -> Callable[[F], F]:
    return click.option(name, default=None, hidden=True)


_GLOG = (
    click.option("--v", "v", type=click.IntRange(min=0), default=None, hidden=True),
    _text("--vmodule"),
    _cobra_bool("--logtostderr"),
    _cobra_bool("--alsologtostderr"),
    _text("--stderrthreshold"),
    _text("--log_dir"),
    _text("--log_backtrace_at"),
)
_STATS = (_text("--stats-provider"), _text("--stats-host"))
_RUN = (_cobra_bool("--history"), _cobra_bool("--rollback"), _text("--kcd-img-repo"))
_SYNC = (_text("--version"),)


def _apply(decorators: tuple[Callable[[F], F], ...]) -> Callable[[F], F]:
    def wrap(f: F) -> F:
        for decorate in reversed(decorators):
            f = decorate(f)
        return f

    return wrap


glog_options = _apply(_GLOG)  # every command of the original
run_options = _apply((*_GLOG, *_RUN, *_STATS))
sync_options = _apply((*_GLOG, *_STATS, *_SYNC))
tagger_options = _apply((*_GLOG, *_STATS))


def glog_level(verbosity: int) -> str:
    """glog's --v as a log level: the original logged its normal detail at V(1) and trace detail from V(2) up."""
    return "debug" if verbosity >= 2 else "info"


def notices(given: Mapping[str, Any], *, v_maps_to: str | None = None) -> list[str]:
    """One line per original flag in `given` (the values not None): what it maps to, or that it has no effect."""
    lines = []
    if given.get("v") is not None:
        v = given["v"]
        lines.append(f"--v={v} maps to --log-level={v_maps_to}" if v_maps_to else f"--v={v} has no effect here")
    for name, (flag, instead) in EFFECTS.items():
        if given.get(name) is not None:
            lines.append(f"{flag} has no effect: {instead}")
    return lines


def announce(command: str, given: Mapping[str, Any], *, v_maps_to: str | None = None) -> None:
    """Print the notices for `given` on stderr, each line prefixed with the command (`kcd run: --rollback has …`)."""
    for line in notices(given, v_maps_to=v_maps_to):
        click.echo(f"{command}: {line}", err=True)
