"""Who is asking, and may they: a bearer token checked with TokenReview, then the caller's own rights on the KCD
checked with SubjectAccessReview. The API acts only for callers who could make the same change themselves; its own
ServiceAccount's rights decide nothing (they only let it ask the API server and then write).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kcd.kube import rest

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


class Unauthorized(Exception):
    """No token, or one the API server does not accept (401)."""


class Forbidden(Exception):
    """The caller may not make this change (403)."""


@dataclass(frozen=True)
class Caller:
    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict)


def bearer(header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; Unauthorized otherwise."""
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an Authorization: Bearer <token> header is required")
    return token.strip()


def authenticate(client: rest.Client, token: str) -> Caller:
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    status = client.post(TOKEN_REVIEWS, review).get("status") or {}
    user: Mapping[str, Any] = status.get("user") or {}
    if not status.get("authenticated") or not user.get("username"):
        raise Unauthorized("the token was not accepted")
    extra = {str(k): [str(v) for v in vs] for k, vs in (user.get("extra") or {}).items()}
    return Caller(str(user["username"]), str(user.get("uid") or ""), tuple(map(str, user.get("groups") or ())), extra)


def authorize(client: rest.Client, caller: Caller, *, namespace: str, name: str, subresource: str = "") -> None:
    """Forbidden unless `caller` may patch the KCD (or its `subresource`): the patch the API makes for them."""
    attributes = {"namespace": namespace, "verb": "patch", "group": "kcd.io", "resource": "kcds", "name": name}
    if subresource:
        attributes["subresource"] = subresource
    spec: dict[str, Any] = {"user": caller.username, "groups": list(caller.groups), "resourceAttributes": attributes}
    if caller.uid:
        spec["uid"] = caller.uid
    if caller.extra:
        spec["extra"] = caller.extra
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    status = client.post(ACCESS_REVIEWS, review).get("status") or {}
    if not status.get("allowed") or status.get("denied"):
        what = f"patch kcds{'/' + subresource if subresource else ''} {namespace}/{name}"
        raise Forbidden(f"{caller.username} may not {what}")
