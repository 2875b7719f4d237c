"""HTTP for the Registry API v2: authentication, retries, timeouts and size caps. Only this module and ``oci`` use
requests.

Authentication follows the registry's ``WWW-Authenticate`` challenge: ``Basic`` (send the credentials) or ``Bearer``
(fetch a token from ``realm`` for ``service``/``scope``, anonymously or with Basic credentials, and cache it until it
expires). The scheme learnt from the first challenge is used up front afterwards, so a steady poll is one request.
Challenge parameters are parsed as quoted strings: a scope contains commas (``repository:x:pull,push``).

Every call has a connect/read timeout and an overall deadline for the body, and every body is read with a cap. 5xx,
timeouts and connection errors are retried with jittered exponential backoff (``attempts`` in all); a 429 is retried
only when its ``Retry-After`` is at most ``max_wait`` seconds, otherwise ``RateLimited`` carries the wait to the caller.
"""

from __future__ import annotations

import base64
import email.utils
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import tenacity

from kcd.registries import AuthError, BadResponse, NotFound, RateLimited, RegistryError, Transient

MiB = 1024 * 1024
DEFAULT_LIMIT = 4 * MiB
TOKEN_LIMIT = 256 * 1024
_PARAM_RE = re.compile(r'([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """(lowercase scheme, parameters) of a ``WWW-Authenticate`` header."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m[0].lower(): (m[1].replace('\\"', '"') if m[1] or not m[2] else m[2]) for m in _PARAM_RE.findall(rest)}
    return scheme.lower(), params


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _error_text(reply: Reply) -> str:
    text = reply.body[:300].decode("utf-8", "replace")
    match = re.search(r'"message"\s*:\s*"([^"]*)"', text)
    return match.group(1) if match else (text.strip().splitlines() or [""])[0][:120]


class Transport:
    def __init__(
        self,
        base_url: str,
        path: str,
        credentials: tuple[str, str] | None = None,
        *,
        attempts: int = 3,
        max_wait: float = 0.0,
        timeout: tuple[float, float] = (5.0, 15.0),
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.path = path
        self.credentials = credentials
        self.attempts = max(1, attempts)
        self.max_wait = max_wait
        self.timeout = timeout
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxies or netrc from the environment: the registry is named explicitly
        self._basic = False
        self._tokens: dict[str, tuple[str, float]] = {}  # access kind -> (token, monotonic expiry)
        self.requests_sent = 0

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None, **kw: Any) -> Reply:
        """One logical call with retries; raises a ``RegistryError`` for anything but 2xx (and 3xx without body)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception(self._retryable),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(self._authorized, method, url, dict(headers or {}), kw)

    def _retryable(self, err: BaseException) -> bool:
        if isinstance(err, RateLimited):
            return err.retry_after is not None and err.retry_after <= self.max_wait
        return isinstance(err, Transient)

    @staticmethod
    def _wait(state: tenacity.RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        if isinstance(err, RateLimited) and err.retry_after is not None:
            return float(err.retry_after)
        return min(8.0, 0.25 * 2.0 ** (state.attempt_number - 1)) * random.uniform(0.5, 1.5)  # noqa: S311

    def _authorized(self, method: str, url: str, headers: dict[str, str], kw: dict[str, Any]) -> Reply:
        kind = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method, "push")
        reply = self._send(method, url, {**headers, **self._auth_header(kind)}, kw)
        if reply.status == 401:
            self._authenticate(reply, kind)
            reply = self._send(method, url, {**headers, **self._auth_header(kind)}, kw)
        return self._check(reply, method, url)

    def _auth_header(self, kind: str) -> dict[str, str]:
        token = self._tokens.get(kind)
        if token and token[1] > time.monotonic():
            return {"Authorization": f"Bearer {token[0]}"}
        if self._basic and self.credentials:
            user, password = self.credentials
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        return {}

    def _authenticate(self, reply: Reply, kind: str) -> None:
        scheme, params = parse_challenge(reply.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            if not self.credentials:
                raise AuthError(f"{self.base}: the registry wants credentials and none are configured")
            if self._basic:
                raise AuthError(f"{self.base}: credentials refused")
            self._basic = True
        elif scheme == "bearer" and params.get("realm", "").startswith(("http://", "https://")):
            self._tokens[kind] = self._fetch_token(params, kind)
        else:
            raise AuthError(f"{self.base}: unsupported authentication challenge {scheme or 'none'!r}")

    def _fetch_token(self, params: dict[str, str], kind: str) -> tuple[str, float]:
        actions = {"pull": "pull", "push": "pull,push", "delete": "delete"}[kind]
        query = {"scope": params.get("scope") or f"repository:{self.path}:{actions}"}
        if params.get("service"):
            query["service"] = params["service"]
        reply = self._send("GET", params["realm"], {}, {"params": query, "auth": self.credentials}, TOKEN_LIMIT)
        if reply.status in (401, 403):
            raise AuthError(f"{self.base}: token server refused the credentials ({reply.status})")
        data = self._check(reply, "GET", params["realm"])
        try:
            body = json.loads(data.body)
            token = body.get("token") or body.get("access_token")
            expires = float(body.get("expires_in") or 60)
        except (ValueError, TypeError, AttributeError):
            raise BadResponse(f"{self.base}: malformed token response") from None
        if not isinstance(token, str) or not token:
            raise BadResponse(f"{self.base}: token response without a token")
        return token, time.monotonic() + max(0.0, expires - 10)

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], kw: Mapping[str, Any], limit: int = DEFAULT_LIMIT
    ) -> Reply:
        full = url if url.startswith(("http://", "https://")) else self.base + url
        limit = int(kw.get("limit", limit))
        args = {k: v for k, v in kw.items() if k != "limit"}
        self.requests_sent += 1
        deadline = time.monotonic() + self.timeout[0] + 2 * self.timeout[1]
        try:
            with self.session.request(
                method, full, headers=headers, timeout=self.timeout, stream=True, allow_redirects=True, **args
            ) as resp:
                return Reply(resp.status_code, resp.headers, self._read(resp, limit, deadline, full))
        except (requests.Timeout, requests.ConnectionError) as err:
            raise Transient(f"{method} {full}: {type(err).__name__}") from None
        except requests.RequestException as err:
            raise RegistryError(f"{method} {full}: {err}") from None

    @staticmethod
    def _read(resp: requests.Response, limit: int, deadline: float, url: str) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit and resp.request.method != "HEAD":
            raise BadResponse(f"{url}: response of {declared} bytes exceeds the {limit}-byte cap")
        chunks, size = [], 0
        for chunk in resp.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise BadResponse(f"{url}: response exceeds the {limit}-byte cap")
            if time.monotonic() > deadline:
                raise Transient(f"{url}: response body too slow")
            chunks.append(chunk)
        return b"".join(chunks)

    def _check(self, reply: Reply, method: str, url: str) -> Reply:
        where = f"{method} {url}"
        if reply.status < 400:
            return reply
        if reply.status == 429:
            wait = retry_after_seconds(reply.headers.get("Retry-After"))
            raise RateLimited(f"{where}: rate limited (retry after {wait}s)", wait)
        if reply.status >= 500:
            raise Transient(f"{where}: server error {reply.status}")
        if reply.status == 404:
            raise NotFound(f"{where}: not found")
        if reply.status in (401, 403):
            raise AuthError(f"{where}: access denied ({reply.status} {_error_text(reply)})".rstrip())
        raise RegistryError(f"{where}: {reply.status} {_error_text(reply)}".rstrip())
