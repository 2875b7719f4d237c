"""Debian's docker-registry (distribution 2.8) on 127.0.0.1 in three auth modes, and a Docker-Hub-style token issuer.

Modes: "anonymous" (no auth), "htpasswd" (Basic auth), "token" (Bearer-token challenge: 401 with WWW-Authenticate →
token from the issuer on another port → retry), the flow Docker Hub uses.
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlparse

import bcrypt
import jwt
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.env import binaries
from tests.env.procs import Proc, ProcGroup, free_port, wait_until

Mode = Literal["anonymous", "htpasswd", "token"]
USER, PASSWORD = "kcd", "kcd-secret"
SERVICE, ISSUER = "kcd-test-registry", "kcd-test-issuer"


@dataclass
class TokenIssuer:
    """Signs ES256 JWTs with an x5c header, as distribution's token auth expects. Anonymous callers get pull only."""

    key: ec.EllipticCurvePrivateKey
    cert_pem: bytes
    users: dict[str, str]
    requests: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def grant(self, user: str | None, scope: str) -> dict[str, object]:
        # scope = "repository:<name>:<actions>"; the name itself may hold ':' only in a port, never here.
        kind, name, actions = scope.split(":", 2) if scope.count(":") >= 2 else ("repository", "", "")
        wanted = actions.split(",")
        granted = [a for a in wanted if a == "pull" or (user is not None and a in ("push", "delete", "*"))]
        now = int(datetime.datetime.now(datetime.UTC).timestamp())
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 5,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [{"type": kind, "name": name, "actions": granted}] if name else [],
        }
        der = x509.load_pem_x509_certificate(self.cert_pem).public_bytes(serialization.Encoding.DER)
        token = jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [base64.b64encode(der).decode()]})
        return {
            "token": token,
            "access_token": token,
            "expires_in": 300,
            "issued_at": datetime.datetime.now(datetime.UTC).isoformat(),
        }

    def start(self) -> None:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                query = parse_qs(urlparse(self.path).query)
                issuer.requests.append(self.path)
                user = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                    if issuer.users.get(name) != password:
                        self.send_response(401)
                        self.end_headers()
                        return
                    user = name
                body = json.dumps(issuer.grant(user, query.get("scope", [""])[0])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="token-issuer").start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _issuer_keys() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Registry:
    mode: Mode
    host: str  # "127.0.0.1:<port>", the registry part of an image reference
    proc: Proc
    issuer: TokenIssuer | None = None
    user: str = USER
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def credentials(self) -> tuple[str, str] | None:
        return None if self.mode == "anonymous" else (self.user, self.password)

    def docker_config(self) -> dict[str, object]:
        """The docker config JSON (the format of an imagePullSecret) holding this registry's credentials."""
        auth = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"auths": {self.host: {"auth": auth}}} if self.mode != "anonymous" else {"auths": {}}

    def stop(self) -> None:
        self.proc.stop()
        if self.issuer is not None:
            self.issuer.stop()


def start(
    procs: ProcGroup, workdir: Path, mode: Mode = "anonymous", *, users: dict[str, str] | None = None
) -> Registry:
    users = users or {USER: PASSWORD}
    root = workdir / f"registry-{mode}"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
    }
    issuer = None
    if mode == "htpasswd":
        htpasswd = root / "htpasswd"
        htpasswd.write_text(
            "".join(f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}\n" for u, p in users.items())
        )
        config["auth"] = {"htpasswd": {"realm": "kcd-test", "path": str(htpasswd)}}
    elif mode == "token":
        key, cert_pem = _issuer_keys()
        (root / "issuer.crt").write_bytes(cert_pem)
        issuer = TokenIssuer(key=key, cert_pem=cert_pem, users=users)
        issuer.start()
        config["auth"] = {
            "token": {
                "realm": issuer.url,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(root / "issuer.crt"),
            }
        }
    (root / "config.yml").write_text(yaml.safe_dump(config))
    exe = binaries.system_binary("docker-registry", "docker-registry")
    proc = procs.start(f"registry-{mode}", [str(exe), "serve", str(root / "config.yml")])

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):  # noqa: S310
                return True
        except urllib.error.HTTPError as err:
            return err.code == 401  # auth modes answer 401 once serving

    wait_until(up, what=f"docker-registry ({mode})", timeout=30, proc=proc)
    return Registry(
        mode=mode,
        host=f"127.0.0.1:{port}",
        proc=proc,
        issuer=issuer,
        user=next(iter(users)),
        password=users[next(iter(users))],
    )
