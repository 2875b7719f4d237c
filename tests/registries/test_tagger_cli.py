"""`kcd registry tags get|add|remove` against moto ECR and the local registry: outcomes, one-line errors, exit codes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from kcd.cli import _load_commands, cli
from tests.env import pusher
from tests.env.ecr import MotoEcr
from tests.env.registry import Registry

_load_commands()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _ecr_env(moto_ecr: MotoEcr) -> dict[str, str]:
    return {**moto_ecr.env(), "KCD_DOCKER_CONFIG": ""}


def test_ecr_tags_are_added_listed_and_removed(runner: CliRunner, moto_ecr: MotoEcr) -> None:
    name = f"team/cli-{uuid.uuid4().hex[:6]}"
    moto_ecr.client().create_repository(repositoryName=name)
    pusher.push_ecr(moto_ecr.client(), name, ["abc1234"])
    repo, env = moto_ecr.repo_uri(name), _ecr_env(moto_ecr)
    added = runner.invoke(
        cli, ["registry", "tags", "--repo", repo, "add", "--version", "abc1234", "--tags", "qa,prod"], env=env
    )
    assert added.exit_code == 0, added.output
    got = runner.invoke(cli, ["registry", "tags", "--repo", repo, "get", "--version", "abc1234"], env=env)
    assert got.output.split() == ["abc1234", "prod", "qa"]
    removed = runner.invoke(cli, ["registry", "tags", "--repo", repo, "remove", "--tags", "qa"], env=env)
    assert removed.exit_code == 0, removed.output
    again = runner.invoke(cli, ["registry", "tags", "--repo", repo, "get", "--version", "abc1234"], env=env)
    assert again.output.split() == ["abc1234", "prod"]


def test_the_originals_command_lines_with_repo_after_the_subcommand_work(runner: CliRunner, moto_ecr: MotoEcr) -> None:
    name = f"team/cli-{uuid.uuid4().hex[:6]}"
    moto_ecr.client().create_repository(repositoryName=name)
    pusher.push_ecr(moto_ecr.client(), name, ["abc1234"])
    repo, env = moto_ecr.repo_uri(name), _ecr_env(moto_ecr)
    tags = ["registry", "tags"]
    added = runner.invoke(cli, [*tags, "add", "--repo", repo, "--tags", "qa,prod", "--version", "abc1234"], env=env)
    assert added.exit_code == 0, added.output
    # The README's "remove" example also passes --version (unused by a removal).
    removed = runner.invoke(cli, [*tags, "remove", "--repo", repo, "--tags", "qa", "--version", "abc1234"], env=env)
    assert removed.exit_code == 0, removed.output
    got = runner.invoke(cli, [*tags, "get", "--repo", repo, "--version", "abc1234"], env=env)
    assert got.exit_code == 0, got.output
    assert got.output.split() == ["abc1234", "prod"]


def test_a_repo_in_neither_position_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["registry", "tags", "get", "--version", "abc1234"])
    assert result.exit_code == 2
    assert "Missing option '--repo'" in result.stderr


def test_a_missing_version_fails_with_one_line_and_exit_1(runner: CliRunner, moto_ecr: MotoEcr) -> None:
    name = f"team/cli-{uuid.uuid4().hex[:6]}"
    moto_ecr.client().create_repository(repositoryName=name)
    result = runner.invoke(
        cli,
        ["registry", "tags", "--repo", moto_ecr.repo_uri(name), "get", "--version", "nope123"],
        env=_ecr_env(moto_ecr),
    )
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "ImageNotFoundException" in result.output


def test_missing_arguments_are_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["registry", "tags", "--repo", "127.0.0.1:1/team/app", "add", "--tags", "qa"])
    assert result.exit_code == 2
    assert "--version" in result.output


@pytest.mark.parametrize("registry", ["htpasswd", "token"], indirect=True)
def test_oci_tags_use_credentials_from_the_docker_config(runner: CliRunner, registry: Registry, tmp_path: Path) -> None:
    pushed = pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/cli", ["abc5678"])
    config = tmp_path / "config.json"
    config.write_text(json.dumps(registry.docker_config()))
    repo, env = f"{registry.host}/team/cli", {"KCD_DOCKER_CONFIG": str(config)}
    added = runner.invoke(
        cli, ["registry", "tags", "--repo", repo, "add", "--version", "abc5678", "--tags", "qa"], env=env
    )
    assert added.exit_code == 0, added.output
    assert pusher.RegistryClient(registry.url, registry.credentials()).head_digest("team/cli", "qa") == pushed.digest
    got = runner.invoke(cli, ["registry", "tags", "--repo", repo, "get", "--version", "qa"], env=env)
    assert "abc5678" in got.output.split()


@pytest.mark.parametrize("registry", ["htpasswd"], indirect=True)
def test_oci_tags_take_username_and_password_flags(runner: CliRunner, registry: Registry) -> None:
    pusher.push_image(pusher.RegistryClient(registry.url, registry.credentials()), "team/flags", ["abc1111"])
    base = ["registry", "tags", "--repo", f"{registry.host}/team/flags", "--username", registry.user]
    ok = runner.invoke(
        cli, [*base, "--password", registry.password, "get", "--version", "abc1111"], env={"KCD_DOCKER_CONFIG": ""}
    )
    assert ok.output.split() == ["abc1111"]
    denied = runner.invoke(
        cli, [*base, "--password", "wrong", "get", "--version", "abc1111"], env={"KCD_DOCKER_CONFIG": ""}
    )
    assert denied.exit_code == 1
    assert denied.output.startswith("Error: ")


@pytest.mark.parametrize("registry", ["anonymous"], indirect=True)
def test_removing_one_tag_from_distribution_2_is_refused_clearly(runner: CliRunner, registry: Registry) -> None:
    pusher.push_image(pusher.RegistryClient(registry.url), "team/rm", ["abc2222", "qa"])
    result = runner.invoke(cli, ["registry", "tags", "--repo", f"{registry.host}/team/rm", "remove", "--tags", "qa"])
    assert result.exit_code == 1
    assert "cannot remove the tag 'qa' alone" in result.output
    assert sorted(pusher.RegistryClient(registry.url).tags("team/rm")) == ["abc2222", "qa"]
