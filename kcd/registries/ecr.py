"""Amazon ECR through the ECR API (boto3, imported only here and only when an ECR repository is used).

Per poll: one ``DescribeImages`` for the watched tag, which returns the digest **and** every tag of the image, so a
changed digest needs no second call. Credentials come from the SDK's default chain (IRSA web identity, EKS Pod
Identity, env, shared files, instance role); the region comes from the URI; ``AWS_ENDPOINT_URL_ECR`` redirects the
client (tests point it at moto). botocore's standard retry mode retries throttling with backoff; what is still
throttled after that becomes ``RateLimited``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from kcd import images
from kcd.registries import AuthError, NotFound, RateLimited, RegistryError, Transient, ecruri

_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling"}
_DENIED = {"AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"}
_MISSING = {"ImageNotFoundException", "RepositoryNotFoundException"}
_MEDIA_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]


class EcrRegistry:
    def __init__(self, uri: str, *, attempts: int = 3, timeout: float = 15.0, client: Any = None) -> None:
        parsed = ecruri.parse(uri)
        if parsed is None:
            raise RegistryError(f"{uri!r} is not an ECR repository URI")
        self.repo = uri
        self.ecr = parsed
        self.client = client or boto3.client(
            "ecr",
            region_name=parsed.region,
            config=botocore.config.Config(
                retries={"mode": "standard", "max_attempts": max(1, attempts)},
                connect_timeout=min(5.0, timeout),
                read_timeout=timeout,
            ),
        )
        self._last: tuple[str, list[str]] | None = None  # (digest, tags) of the last image described

    def close(self) -> None:
        self.client.close()

    def _call(self, op: str, **kw: Any) -> Any:
        try:
            return getattr(self.client, op)(registryId=self.ecr.account, repositoryName=self.ecr.name, **kw)
        except botocore.exceptions.ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            text = f"ECR {op} {self.ecr.name}: {code}: {err.response.get('Error', {}).get('Message', '')}"
            if code in _THROTTLED:
                raise RateLimited(text) from None
            if code in _MISSING:
                raise NotFound(text) from None
            if code in _DENIED:
                raise AuthError(text) from None
            if err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise Transient(text) from None
            raise RegistryError(text) from None
        except botocore.exceptions.NoCredentialsError:
            raise AuthError("ECR: no AWS credentials found (IRSA, Pod Identity, env or instance role)") from None
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as err:
            raise Transient(f"ECR {op} {self.ecr.name}: {err}") from None

    def _describe(self, image_id: dict[str, str]) -> tuple[str, list[str]]:
        details = self._call("describe_images", imageIds=[image_id]).get("imageDetails", [])
        if len(details) != 1:
            raise RegistryError(f"ECR {self.ecr.name}: {len(details)} images match {image_id}")
        detail = details[0]
        self._last = (str(detail["imageDigest"]), [str(t) for t in detail.get("imageTags", [])])
        return self._last

    def digest(self, tag: str) -> str:
        return self._describe({"imageTag": tag})[0]

    def version_tags(self, tag: str, digest: str, pattern: images.Pattern) -> list[str]:
        described = self._last if self._last and self._last[0] == digest else self._describe({"imageDigest": digest})
        return sorted(t for t in described[1] if t != tag and pattern.fullmatch(t))

    def tags_of(self, version: str) -> list[str]:
        return sorted(self._describe({"imageTag": version})[1])

    def add_tags(self, version: str, tags: Sequence[str]) -> None:
        got = self._call("batch_get_image", imageIds=[{"imageTag": version}], acceptedMediaTypes=_MEDIA_TYPES)
        images = got.get("images", [])
        if not images:
            raise NotFound(f"ECR {self.ecr.name}: no image tagged {version!r}")
        image = images[0]
        for tag in tags:
            kw = (
                {"imageManifestMediaType": image["imageManifestMediaType"]} if "imageManifestMediaType" in image else {}
            )
            try:
                self._call("put_image", imageManifest=image["imageManifest"], imageTag=tag, **kw)
            except RegistryError as err:
                if "ImageAlreadyExistsException" not in str(err):
                    raise

    def remove_tags(self, tags: Sequence[str]) -> None:
        out = self._call("batch_delete_image", imageIds=[{"imageTag": t} for t in tags])
        missing = [f.get("imageId", {}).get("imageTag", "?") for f in out.get("failures", [])]
        if missing:
            raise NotFound(f"ECR {self.ecr.name}: could not remove tag(s) {', '.join(missing)}")
