"""Registry credentials from a docker config JSON: ``~/.docker/config.json``, or a mounted ``imagePullSecret``
(``.dockerconfigjson``; the legacy ``.dockercfg`` shape, hosts at the top level, is read too).

Lookup is by registry host; keys may be URLs (``https://index.docker.io/v1/``) and Docker Hub answers to all of its
names. ``credsStore``/``credHelpers`` (external programs) and ``identitytoken`` are not supported: kcd never runs a
credential helper. The path comes from ``KCD_DOCKER_CONFIG`` (a file), else ``$DOCKER_CONFIG/config.json``, else
``~/.docker/config.json``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_HUB_KEYS = ("docker.io", "index.docker.io", "registry-1.docker.io")


class ConfigError(ValueError):
    """The docker config file cannot be read or parsed."""


def default_path(environ: Mapping[str, str] = os.environ) -> Path | None:
    if environ.get("KCD_DOCKER_CONFIG"):
        return Path(environ["KCD_DOCKER_CONFIG"])
    if environ.get("DOCKER_CONFIG"):
        return Path(environ["DOCKER_CONFIG"]) / "config.json"
    home = Path(environ.get("HOME", "~")).expanduser() / ".docker" / "config.json"
    return home if home.exists() else None


def load(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"docker config {path}: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"docker config {path}: not a JSON object")
    return data


def _host_of(key: str) -> str:
    host = key.split("://", 1)[-1].split("/", 1)[0]
    return host.lower()


def _entry(config: Mapping[str, Any], host: str) -> Mapping[str, Any] | None:
    auths = config.get("auths")
    table = auths if isinstance(auths, Mapping) else config  # legacy .dockercfg: hosts at the top level
    wanted = {host.lower()} | (set(_HUB_KEYS) if host.lower() in _HUB_KEYS else set())
    for key, value in table.items():
        if isinstance(key, str) and isinstance(value, Mapping) and _host_of(key) in wanted:
            return value
    return None


def credentials_for(config: Mapping[str, Any], host: str) -> tuple[str, str] | None:
    """(username, password) for ``host``, or None for anonymous access."""
    entry = _entry(config, host)
    if entry is None:
        return None
    user, password = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(password, str) and user:
        return user, password
    auth = entry.get("auth")
    if not isinstance(auth, str) or not auth:
        return None
    try:
        user, sep, password = base64.b64decode(auth, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ConfigError(f"docker config entry for {host}: 'auth' is not base64 of user:password") from None
    if not sep or not user:
        raise ConfigError(f"docker config entry for {host}: 'auth' is not base64 of user:password")
    return user, password
