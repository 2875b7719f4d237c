"""An OCI Distribution v2 registry (Docker Hub, GHCR, Quay, Harbor, ACR, Artifact Registry, docker-registry).

Per poll the syncer calls ``digest(tag)``: one ``HEAD`` of the manifest with every manifest media type in ``Accept``
(OCI index, Docker manifest list, OCI and Docker v2 manifests), so a multi-arch image yields its **index** digest.
Docker Hub counts a HEAD as a free "version check", not a pull.

Only when that digest changes does ``version_tags`` run: it GETs the manifest once (verifying that its bytes hash to the
digest the registry announced), lists the tags (following ``Link`` pagination), keeps those matching ``versionSyntax``
and HEADs only the candidates whose digest it does not know yet. Version tags are immutable by convention, so the
tag → digest cache persists for the life of the process; tags new since the previous listing are asked first. At most
``max_heads`` HEADs are sent per resolution; an unfinished resolution raises ``Transient`` and continues on the next
poll from the cache, which bounds the burst a repository with thousands of tags can cause.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Collection, Sequence
from urllib.parse import urljoin

from kcd import images
from kcd.registries import BadResponse, NotFound, RegistryError, Transient, Unsupported
from kcd.registries.ocitransport import Reply, Transport

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
MAX_PAGES = 100
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _plain_http(host: str, insecure: Collection[str]) -> bool:
    name = host.rsplit(":", 1)[0].strip("[]") if not host.endswith("]") else host.strip("[]")
    if host in insecure or name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class OciRegistry:
    def __init__(
        self,
        ref: images.Reference,
        *,
        credentials: tuple[str, str] | None = None,
        insecure: Collection[str] = (),
        max_wait: float = 0.0,
        attempts: int = 3,
        max_heads: int = 200,
        timeout: float = 15.0,
        transport: Transport | None = None,
    ) -> None:
        scheme = "http" if _plain_http(ref.api_host, insecure) else "https"
        self.repo = ref.repo
        self.path = ref.path
        self.max_heads = max_heads
        self.transport = transport or Transport(
            f"{scheme}://{ref.api_host}",
            ref.path,
            credentials,
            attempts=attempts,
            max_wait=max_wait,
            timeout=(min(5.0, timeout), timeout),
        )
        self._digests: dict[str, str] = {}  # version tag -> digest (immutable by convention)
        self._listed: set[str] = set()

    def close(self) -> None:
        self.transport.close()

    def _manifests(self, reference: str) -> str:
        return f"/v2/{self.path}/manifests/{reference}"

    def digest(self, tag: str) -> str:
        reply = self.transport.request("HEAD", self._manifests(tag), headers={"Accept": ACCEPT})
        digest = reply.headers.get("Docker-Content-Digest", "")
        if not digest:  # some registries omit it on HEAD: fall back to hashing the manifest
            return self.manifest(tag)[2]
        if not images.is_digest(digest):
            raise BadResponse(f"{self.repo}:{tag}: malformed digest {digest[:80]!r}")
        return digest

    def manifest(self, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest; the digest is checked against the bytes."""
        reply = self.transport.request("GET", self._manifests(reference), headers={"Accept": ACCEPT})
        digest = "sha256:" + hashlib.sha256(reply.body).hexdigest()
        announced = reply.headers.get("Docker-Content-Digest") or digest
        expected = reference if images.is_digest(reference) else announced
        if announced != digest or expected != digest:
            raise BadResponse(f"{self.repo}@{reference}: manifest digest {digest} does not match {announced}")
        return reply.body, self._media_type(reply, reference), digest

    def _media_type(self, reply: Reply, reference: str) -> str:
        try:
            doc = json.loads(reply.body)
        except ValueError:
            raise BadResponse(f"{self.repo}:{reference}: manifest is not JSON") from None
        if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
            raise BadResponse(f"{self.repo}:{reference}: not a schema 2 manifest or index")
        kind = doc.get("mediaType") or reply.headers.get("Content-Type", "").split(";")[0]
        if kind not in (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST):
            raise BadResponse(f"{self.repo}:{reference}: unsupported manifest type {str(kind)[:80]!r}")
        return str(kind)

    def list_tags(self) -> list[str]:
        url: str | None = f"/v2/{self.path}/tags/list?n=1000"
        tags: list[str] = []
        for _ in range(MAX_PAGES):
            if url is None:
                return tags
            reply = self.transport.request("GET", url)
            tags.extend(self._page_tags(reply))
            link = _LINK_RE.search(reply.headers.get("Link", ""))
            url = urljoin(self.transport.base + "/", link.group(1)) if link else None
        raise BadResponse(f"{self.repo}: more than {MAX_PAGES} pages of tags")

    def _page_tags(self, reply: Reply) -> list[str]:
        try:
            doc = json.loads(reply.body)
        except ValueError:
            raise BadResponse(f"{self.repo}: tag list is not JSON") from None
        tags = doc.get("tags") if isinstance(doc, dict) else None
        if tags is None:
            return []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadResponse(f"{self.repo}: malformed tag list")
        return tags

    def version_tags(self, tag: str, digest: str, pattern: images.Pattern) -> list[str]:
        current = self.manifest(tag)[2]
        if current != digest:
            raise Transient(f"{self.repo}:{tag} moved while it was being resolved")
        listed = self.list_tags()
        candidates = [t for t in listed if t != tag and images.is_version(pattern, t)]
        fresh = sorted(t for t in candidates if t not in self._listed)
        ordered = fresh + sorted(t for t in candidates if t in self._listed)
        return self._matching(ordered, digest, listed, limit=self.max_heads)

    def _matching(self, ordered: Sequence[str], digest: str, listed: list[str], *, limit: int | None) -> list[str]:
        heads = 0
        for t in ordered:
            if t in self._digests:
                continue
            if limit is not None and heads >= limit:
                raise Transient(f"{self.repo}: resolution unfinished after {limit} HEADs; continuing next poll")
            try:
                self._digests[t] = self.digest(t)
            except NotFound:
                continue  # deleted since the listing
            heads += 1
        self._listed = set(listed)
        self._digests = {t: d for t, d in self._digests.items() if t in self._listed}
        return [t for t in ordered if self._digests.get(t) == digest]

    def tags_of(self, version: str) -> list[str]:
        digest = self.digest(version)
        listed = self.list_tags()
        others = [t for t in sorted(listed) if t != version]
        return sorted([version, *self._matching(others, digest, listed, limit=None)])

    def add_tags(self, version: str, tags: Sequence[str]) -> None:
        body, media_type, _ = self.manifest(version)
        for tag in tags:
            self.transport.request("PUT", self._manifests(tag), data=body, headers={"Content-Type": media_type})

    def remove_tags(self, tags: Sequence[str]) -> None:
        for tag in tags:
            self.digest(tag)  # a clear NotFound for a tag that is not there
            try:
                self.transport.request("DELETE", self._manifests(tag))
            except NotFound:
                raise  # the tag was removed in between; report it rather than pretend
            except RegistryError as err:
                if isinstance(err, Transient):
                    raise
                raise Unsupported(
                    f"{self.repo}: the registry cannot remove the tag {tag!r} alone ({err}); "
                    "OCI distribution 2.x deletes manifests by digest only, which would remove every tag of the image"
                ) from None
