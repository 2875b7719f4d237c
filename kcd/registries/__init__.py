"""Container registries behind one small interface, chosen by ``for_repo(repo)``.

Two implementations: ``oci.OciRegistry`` (Registry HTTP API v2 with requests: Docker Hub, GHCR, Quay, Harbor, the local
docker-registry, …) and ``ecr.EcrRegistry`` (the ECR API with boto3; boto3 is imported only when an ECR repository is
used). ``resolve`` turns a watched tag into the candidate the syncer annotates: the tag's digest first (one cheap call:
a ``HEAD`` for OCI, one ``DescribeImages`` for ECR) and, only when the digest changed, the version tag of that image.

Errors are ``RegistryError`` subclasses with a one-line message; ``RateLimited.retry_after`` says how long the registry
asked us to wait, so a caller can honour it instead of retrying blindly.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kcd import images


class RegistryError(Exception):
    """A registry call failed; the message is one line."""


class NotFound(RegistryError):
    """The repository, tag or version does not exist."""


class AuthError(RegistryError):
    """Credentials are missing or refused."""


class RateLimited(RegistryError):
    """The registry throttled us (HTTP 429 or ECR ThrottlingException)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadResponse(RegistryError):
    """The registry answered something we must not trust: malformed, oversized, or a digest that does not match."""


class Unsupported(RegistryError):
    """The registry cannot do this operation (e.g. remove one tag of a manifest on distribution 2.x)."""


class Transient(RegistryError):
    """Server error, timeout or connection failure: worth retrying later."""


class Registry(Protocol):
    """What the syncer and the tagger need from a registry. ``repo`` is the normalised repository."""

    repo: str

    def digest(self, tag: str) -> str:
        """The manifest (or index) digest ``tag`` points at: the cheap per-poll check."""

    def version_tags(self, tag: str, digest: str, pattern: images.Pattern) -> list[str]:
        """Tags matching ``pattern`` in full on the image ``digest`` (which ``tag`` points at)."""

    def tags_of(self, version: str) -> list[str]:
        """Every tag on the image that carries the tag ``version``."""

    def add_tags(self, version: str, tags: Sequence[str]) -> None:
        """Put ``tags`` on the image carrying ``version``."""

    def remove_tags(self, tags: Sequence[str]) -> None:
        """Remove ``tags`` (the images stay if they have other tags)."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Candidate:
    """What the syncer annotates: the version to deploy (a version tag, or the digest if none) and its digest."""

    version: str
    digest: str
    others: tuple[str, ...] = ()  # other matching tags when the choice was ambiguous


def is_ecr(repo: str) -> bool:
    from kcd.registries import ecruri

    return ecruri.parse(repo) is not None


def for_repo(
    repo: str,
    *,
    docker_config: Mapping[str, Any] | None = None,
    insecure: Collection[str] = (),
    max_wait: float = 0.0,
    attempts: int = 3,
    timeout: float = 15.0,
) -> Registry:
    """The registry client for ``repo`` (a KCD imageRepo). ECR URIs get the ECR client; everything else speaks OCI.

    ``insecure``: hosts reached over plain HTTP (loopback hosts always are). ``max_wait``: the longest ``Retry-After``
    the client sleeps itself; longer waits raise ``RateLimited`` for the caller to honour. ``timeout``: seconds to wait
    for a response (connecting gets at most 5).
    """
    if is_ecr(repo):
        from kcd.registries import ecr

        return ecr.EcrRegistry(repo, attempts=attempts, timeout=timeout)
    from kcd.registries import dockerconfig, oci

    ref = images.parse_repo(repo)
    creds = dockerconfig.credentials_for(docker_config or {}, ref.host)
    return oci.OciRegistry(
        ref, credentials=creds, insecure=insecure, max_wait=max_wait, attempts=attempts, timeout=timeout
    )


def resolve(registry: Registry, tag: str, pattern: images.Pattern, *, previous: Candidate | None = None) -> Candidate:
    """The candidate for ``tag``. When the digest equals ``previous.digest`` nothing else is asked of the registry."""
    digest = registry.digest(tag)
    if previous is not None and previous.digest == digest:
        return previous
    choice = images.choose_version(registry.version_tags(tag, digest, pattern), pattern, watched=tag)
    return Candidate(version=choice.version or digest, digest=digest, others=choice.others)
