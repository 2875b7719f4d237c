"""Credentials are found in a docker config JSON by registry host, whatever shape the file has."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from kcd.registries import dockerconfig


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_an_image_pull_secret_entry_gives_user_and_password() -> None:
    config = {"auths": {"127.0.0.1:5000": {"auth": _auth("kcd", "s:e:c")}}}
    assert dockerconfig.credentials_for(config, "127.0.0.1:5000") == ("kcd", "s:e:c")


def test_username_and_password_fields_are_read_too() -> None:
    config = {"auths": {"https://ghcr.io/v2/": {"username": "bot", "password": "pat"}}}
    assert dockerconfig.credentials_for(config, "ghcr.io") == ("bot", "pat")


def test_docker_hub_credentials_are_found_under_any_of_its_names() -> None:
    config = {"auths": {"https://index.docker.io/v1/": {"auth": _auth("me", "pw")}}}
    assert dockerconfig.credentials_for(config, "docker.io") == ("me", "pw")
    assert dockerconfig.credentials_for(config, "registry-1.docker.io") == ("me", "pw")


def test_the_legacy_dockercfg_shape_is_read() -> None:
    assert dockerconfig.credentials_for({"quay.io": {"auth": _auth("q", "p")}}, "quay.io") == ("q", "p")


def test_an_unknown_host_is_anonymous() -> None:
    assert dockerconfig.credentials_for({"auths": {"quay.io": {"auth": _auth("q", "p")}}}, "ghcr.io") is None


def test_a_broken_auth_field_is_reported() -> None:
    with pytest.raises(dockerconfig.ConfigError):
        dockerconfig.credentials_for({"auths": {"h.io": {"auth": "%%%"}}}, "h.io")


def test_the_config_path_prefers_kcd_docker_config(tmp_path: Path) -> None:
    secret = tmp_path / ".dockerconfigjson"
    secret.write_text(json.dumps({"auths": {"h.io": {"auth": _auth("a", "b")}}}))
    path = dockerconfig.default_path({"KCD_DOCKER_CONFIG": str(secret), "DOCKER_CONFIG": "/nowhere"})
    assert dockerconfig.credentials_for(dockerconfig.load(path), "h.io") == ("a", "b")


def test_a_config_file_that_is_not_json_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text("{")
    with pytest.raises(dockerconfig.ConfigError, match="config.json"):
        dockerconfig.load(bad)
