"""The original kcd's flags (its manifests, README and CI lines) parse, and each says on stderr what it maps to."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from kcd.cli import _load_commands, cli, legacy
from tests import crd
from tests.env.procs import ProcGroup, free_port, wait_until

# `kcd run` as the original's kubectl manifest (k8s/kubectl/kcd.yaml) and its README wrote it.
MANIFEST_ARGS = [
    "--configmap-key=kube-system/kcd",
    "--rollback=false",
    "--kcd-img-repo=nearmap/kcd",
    "--v=1",
    "--logtostderr",
]
GLOG_AND_STATS = [
    "--history=false",
    "--vmodule=sync=3",
    "--alsologtostderr=true",
    "--stderrthreshold=INFO",
    "--log_dir=/tmp",
    "--log_backtrace_at=sync.go:10",
    "--stats-provider",
    "datadog",
    "--stats-host=127.0.0.1:8125",
]


def _parse(*args: str) -> dict[str, Any]:
    _load_commands()
    run = cli.commands["run"]
    with run.make_context("run", list(args)) as ctx:
        return dict(ctx.params)


def test_run_parses_the_originals_manifest_and_glog_flags() -> None:
    params = _parse("--k8s-config", "/dev/null", *MANIFEST_ARGS, *GLOG_AND_STATS)
    assert (params["rollback"], params["history"], params["logtostderr"], params["alsologtostderr"]) == (
        False,
        False,
        True,
        True,
    )
    assert (params["v"], params["kcd_img_repo"], params["kubeconfig"]) == (1, "nearmap/kcd", "/dev/null")


def test_run_takes_the_originals_bare_boolean_flags_as_true() -> None:
    params = _parse("--rollback", "--history", "--v", "2")
    assert (params["rollback"], params["history"], params["v"]) == (True, True, 2)


@pytest.mark.parametrize(
    ("path", "args"),
    [
        (
            ["registry", "sync"],
            ["-n", "ns", "--kcd", "web", "--version=0a1b", "--logtostderr=true", "--v=2", "--vmodule="],
        ),
        (
            ["registry", "tags", "get"],
            ["--repo", "r/app", "--version", "abc1234", "--v=1", "--stats-provider", "datadog"],
        ),
        (["registry", "tags", "remove"], ["--repo", "r/app", "--tags", "qa", "--version-pattern", "x", "--v", "1"]),
        (["rd", "get"], ["--k8s-config", "/dev/null", "--v=1", "--logtostderr"]),
    ],
    ids=["sync", "tags-get", "tags-remove", "rd-get"],
)
def test_the_originals_other_commands_parse_its_glog_and_stats_flags(path: list[str], args: list[str]) -> None:
    _load_commands()
    command: Any = cli
    for name in path:
        command = command.commands[name]
    with command.make_context(path[-1], args) as ctx:
        assert ctx.params["v"] in (1, 2)


@pytest.mark.parametrize(("verbosity", "level"), [(0, "info"), (1, "info"), (2, "debug"), (6, "debug")])
def test_glog_verbosity_maps_to_a_log_level(verbosity: int, level: str) -> None:
    assert legacy.glog_level(verbosity) == level


def test_each_original_flag_given_gets_one_line_saying_what_it_maps_to() -> None:
    lines = legacy.notices({"v": 2, "rollback": False, "stats_host": "x"}, v_maps_to="debug")
    assert lines[0] == "--v=2 maps to --log-level=debug"
    assert [line.split()[0] for line in lines[1:]] == ["--rollback", "--stats-host"]
    assert all("has no effect" in line for line in lines[1:])


def test_verbosity_that_maps_to_nothing_says_so() -> None:
    assert legacy.notices({"v": 3}) == ["--v=3 has no effect here"]


@pytest.mark.cluster
def test_run_with_the_originals_manifest_arguments_starts_and_notes_each_flag(
    cluster: Any, kube_api: Any, tmp_path: Path
) -> None:
    crd.install(kube_api)
    port = free_port()
    argv = [sys.executable, "-m", "kcd", "run", "--k8s-config", str(cluster.kubeconfig)]
    argv += ["--bind", "127.0.0.1", "--port", str(port), *MANIFEST_ARGS]
    procs = ProcGroup(tmp_path / "logs")
    try:
        proc = procs.start("kcd-run", argv)

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:  # noqa: S310
                    return bool(resp.status == 200)
            except OSError:
                return False

        wait_until(ready, what="kcd run /readyz", timeout=60, proc=proc)
        notes = [line for line in proc.log.read_text().splitlines() if line.startswith("kcd run: ")]
    finally:
        procs.stop()
    assert [n.split()[2] for n in notes] == ["--v=1", "--logtostderr", "--rollback", "--kcd-img-repo"]
