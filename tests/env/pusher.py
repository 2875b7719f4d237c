"""Release test images: push config + layer blobs + a manifest (or a multi-arch OCI index) under given tags.

Talks to the local docker-registry with plain Registry HTTP API v2 calls, and to moto ECR with put_image. This is a test
oracle, so it shares no code with kcd.registries.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join(
    [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST, "application/vnd.docker.distribution.manifest.list.v2+json"]
)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Pushed:
    repo: str
    digest: str
    tags: tuple[str, ...]
    manifest: bytes
    media_type: str


def _challenge(header: str) -> dict[str, str]:
    # Quoted parameters: the scope itself contains commas ("repository:x:pull,push").
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


class RegistryClient:
    """Just enough of the Registry API to push and inspect, in any of the three auth modes."""

    def __init__(self, base_url: str, credentials: tuple[str, str] | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.credentials = credentials
        self.session = requests.Session()
        self.session.trust_env = False  # never a proxy: everything is on 127.0.0.1
        self._token: str | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        headers = dict(kwargs.pop("headers", {}))
        for _ in range(2):
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            auth = self.credentials if not self._token else None
            resp = self.session.request(method, url, headers=headers, auth=auth, timeout=30, **kwargs)
            challenge = resp.headers.get("WWW-Authenticate", "")
            if resp.status_code != 401 or not challenge.startswith("Bearer "):
                return resp
            params = _challenge(challenge)
            token_resp = self.session.get(
                params["realm"],
                params={"service": params.get("service", ""), "scope": params.get("scope", "")},
                auth=self.credentials,
                timeout=30,
            )
            token_resp.raise_for_status()
            self._token = token_resp.json()["token"]
        return resp

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = digest_of(data)
        if self.request("HEAD", f"/v2/{repo}/blobs/{digest}").status_code == 200:
            return digest
        start = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        start.raise_for_status()
        location = start.headers["Location"]
        sep = "&" if "?" in location else "?"
        done = self.request(
            "PUT", f"{location}{sep}digest={digest}", data=data, headers={"Content-Type": "application/octet-stream"}
        )
        done.raise_for_status()
        return digest

    def put_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        resp = self.request("PUT", f"/v2/{repo}/manifests/{reference}", data=body, headers={"Content-Type": media_type})
        resp.raise_for_status()
        return str(resp.headers["Docker-Content-Digest"])

    def head_digest(self, repo: str, reference: str) -> str:
        resp = self.request("HEAD", f"/v2/{repo}/manifests/{reference}", headers={"Accept": ACCEPT})
        resp.raise_for_status()
        return str(resp.headers["Docker-Content-Digest"])

    def tags(self, repo: str) -> list[str]:
        resp = self.request("GET", f"/v2/{repo}/tags/list")
        resp.raise_for_status()
        return list(resp.json().get("tags") or [])


def build_image(label: str, *, arch: str = "amd64") -> tuple[bytes, bytes]:
    """A config blob and a layer blob; both differ per label, so every build has its own digests (moto needs layers)."""
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Labels": {"kcd.test/build": label}},
            "rootfs": {"type": "layers", "diff_ids": []},
        },
        sort_keys=True,
    ).encode()
    layer = f"kcd test layer {label} {arch}".encode() + os.urandom(16)
    return config, layer


def manifest_for(config: bytes, layer: bytes, media_type: str = OCI_MANIFEST) -> bytes:
    docker = media_type == DOCKER_MANIFEST
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json" if docker else OCI_CONFIG,
                "digest": digest_of(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip" if docker else OCI_LAYER,
                    "digest": digest_of(layer),
                    "size": len(layer),
                }
            ],
        },
        sort_keys=True,
    ).encode()


def push_image(
    client: RegistryClient, repo: str, tags: list[str], *, label: str | None = None, media_type: str = OCI_MANIFEST
) -> Pushed:
    config, layer = build_image(label or os.urandom(4).hex())
    client.push_blob(repo, config)
    client.push_blob(repo, layer)
    body = manifest_for(config, layer, media_type)
    digest = ""
    for tag in tags:
        digest = client.put_manifest(repo, tag, body, media_type)
    return Pushed(repo=repo, digest=digest or digest_of(body), tags=tuple(tags), manifest=body, media_type=media_type)


def push_index(
    client: RegistryClient,
    repo: str,
    tags: list[str],
    *,
    label: str | None = None,
    arches: tuple[str, ...] = ("amd64", "arm64"),
) -> Pushed:
    """A multi-arch image: one manifest per platform (pushed by digest) and an OCI index under the tags."""
    label = label or os.urandom(4).hex()
    entries = []
    for arch in arches:
        config, layer = build_image(label, arch=arch)
        client.push_blob(repo, config)
        client.push_blob(repo, layer)
        body = manifest_for(config, layer)
        digest = client.put_manifest(repo, digest_of(body), body, OCI_MANIFEST)
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(body),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, sort_keys=True).encode()
    for tag in tags:
        client.put_manifest(repo, tag, index, OCI_INDEX)
    return Pushed(repo=repo, digest=digest_of(index), tags=tuple(tags), manifest=index, media_type=OCI_INDEX)


def push_ecr(ecr: Any, repo: str, tags: list[str], *, label: str | None = None) -> Pushed:
    """put_image into (moto) ECR under each tag. moto derives the digest from the layer digests, so layers differ."""
    config, layer = build_image(label or os.urandom(4).hex())
    body = manifest_for(config, layer, DOCKER_MANIFEST)
    digest = ""
    for tag in tags:
        try:
            out = ecr.put_image(
                repositoryName=repo, imageManifest=body.decode(), imageTag=tag, imageManifestMediaType=DOCKER_MANIFEST
            )
            digest = out["image"]["imageId"]["imageDigest"]
        except ecr.exceptions.ImageAlreadyExistsException:
            continue
    return Pushed(repo=repo, digest=digest, tags=tuple(tags), manifest=body, media_type=DOCKER_MANIFEST)
