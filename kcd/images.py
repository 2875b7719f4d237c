"""Image references and version tags: pure functions, no I/O. The controller and the syncer both use this module.

API (all names are stable; everything else is private):

- ``parse(text) -> Reference``: parse ``[host[:port]/]path[:tag][@digest]``. Raises ``InvalidReference`` (a ValueError).
  Docker Hub is normalised the way ``docker pull`` does it: no host means ``docker.io``; ``index.docker.io`` and
  ``registry-1.docker.io`` are ``docker.io``; a one-component Docker Hub path gets ``library/``. A first component is a
  host only if it has a ``.`` or a ``:`` or is ``localhost`` (so ``team/app`` is Docker Hub's ``team/app``).
- ``Reference``: frozen; ``.host``, ``.path``, ``.tag``, ``.digest``, ``.repo`` (``host/path``, normalised),
  ``.api_host`` (where the Registry API lives: ``registry-1.docker.io`` for Docker Hub).
- ``same_repo(a, b) -> bool``: do two strings name the same repository (``nginx`` == ``docker.io/library/nginx``)?
- ``compile_syntax(syntax) -> Pattern``: a KCD ``versionSyntax`` (default ``DEFAULT_VERSION_SYNTAX``) compiled with
  RE2, the syntax the CRD documents: matching takes linear time, so ``(a+)+b`` cannot hang a step thread (Python's
  ``re`` backtracks exponentially on it). Raises ``InvalidVersionSyntax`` (also for Perl-only syntax such as
  look-arounds and back-references, which RE2 refuses). ``is_version(pattern, tag)`` matches **in full** (the
  original kcd searched unanchored, so
  ``env-prod-abcde`` or ``abc1234-dirty`` counted as versions).
- ``choose_version(tags, pattern, *, watched) -> Choice``: the version tag among an image's tags. The watched
  (moving) tag never counts. Several matches are resolved deterministically: the longest tag wins (a full git SHA
  beats its short form), then the lexicographically smallest; ``Choice.others`` lists the losers so the caller can
  log the ambiguity.
- ``image_for(repo, version) -> str``: what goes into a pod spec: ``repo:version``, or ``repo@sha256:…`` when the
  version is a digest (the original wrote the invalid ``repo:sha256:…``).
- ``is_digest(text)``: ``sha256:`` + 64 lowercase hex (``sha512:`` + 128).
- ``is_tag(text)``: a valid OCI tag (``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import re2

DEFAULT_VERSION_SYNTAX = "[0-9a-f]{5,40}"
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = frozenset({DOCKER_HUB, "index.docker.io", DOCKER_HUB_API})

# distribution/reference grammar (reference/regexp.go), written out.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
_MAX_NAME = 255


class Pattern(Protocol):
    """A compiled versionSyntax (RE2): only full matches count."""

    @property
    def pattern(self) -> str: ...

    def fullmatch(self, text: str) -> Any: ...


class InvalidReference(ValueError):
    """The text is not a valid image reference."""


class InvalidVersionSyntax(ValueError):
    """A versionSyntax that is not a valid regular expression."""


@dataclass(frozen=True)
class Reference:
    host: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repo(self) -> str:
        return f"{self.host}/{self.path}"

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    def __str__(self) -> str:
        text = self.repo
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class Choice:
    version: str | None
    others: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return bool(self.others)


def is_digest(text: str) -> bool:
    return _DIGEST_RE.fullmatch(text) is not None


def is_tag(text: str) -> bool:
    return _TAG_RE.fullmatch(text) is not None


def _split_host(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return DOCKER_HUB, name


def parse(text: str) -> Reference:
    if not isinstance(text, str) or not text or text != text.strip():
        raise InvalidReference(f"invalid image reference {text!r}")
    rest, at, digest = text.partition("@")
    if at and not is_digest(digest):
        raise InvalidReference(f"invalid digest in image reference {text!r}")
    name, tag = rest, ""
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        name, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise InvalidReference(f"invalid tag in image reference {text!r}")
    host, path = _split_host(name)
    if not _HOST_RE.fullmatch(host) or not _PATH_RE.fullmatch(path):
        raise InvalidReference(f"invalid repository in image reference {text!r}")
    if len(name) > _MAX_NAME:
        raise InvalidReference(f"repository name longer than {_MAX_NAME} characters in {text[:40]!r}…")
    if host.lower() in _HUB_ALIASES:
        host = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return Reference(host=host, path=path, tag=tag or None, digest=digest or None)


def parse_repo(text: str) -> Reference:
    """A repository (a KCD's imageRepo): a reference without tag or digest."""
    ref = parse(text)
    if ref.tag or ref.digest:
        raise InvalidReference(f"repository {text!r} must not carry a tag or digest")
    return ref


def same_repo(a: str, b: str) -> bool:
    try:
        return parse(a).repo == parse(b).repo
    except InvalidReference:
        return False


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # an invalid pattern is reported by the exception, not on stderr


def compile_syntax(syntax: str | None) -> Pattern:
    try:
        pattern: Pattern = re2.compile(syntax or DEFAULT_VERSION_SYNTAX, options=_RE2_OPTIONS)
    except (re2.error, TypeError, ValueError) as err:
        text = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else str(err)
        raise InvalidVersionSyntax(f"invalid versionSyntax {syntax!r}: {text}") from None
    return pattern


def is_version(pattern: Pattern, tag: str) -> bool:
    return pattern.fullmatch(tag) is not None


def choose_version(tags: Iterable[str], pattern: Pattern, *, watched: str | None = None) -> Choice:
    candidates = sorted({t for t in tags if t != watched and is_version(pattern, t)}, key=lambda t: (-len(t), t))
    if not candidates:
        return Choice(version=None)
    return Choice(version=candidates[0], others=tuple(candidates[1:]))


def image_for(repo: str, version: str) -> str:
    return f"{repo}@{version}" if is_digest(version) else f"{repo}:{version}"
