"""Loopback stand-ins for Microsoft's identity side, over https with a CA the test makes.

``FakeIdentity`` serves the Bot Framework's OpenID metadata and signing keys (what inbound tokens are
checked against) and an Entra ID tenant's token endpoint (where outbound tokens come from). It signs
channel tokens with an RSA key it made (``channel_token``), can sign with a key nobody published
(``forged_token``), and records the client-credential grants it answered (``grants``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
APP_PASSWORD = "teams-test-password"
TENANT_ID = "11111111-2222-3333-4444-555555555555"
BOT_FRAMEWORK = "https://api.botframework.com"
KEY_ID = "test-key-1"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path) -> TlsFiles:
    """A CA, and a certificate it signs for 127.0.0.1 and localhost, written as PEM files."""
    now = dt.datetime.now(dt.UTC)
    ca_key, leaf_key = _rsa(), _rsa()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Centralita test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


@dataclass
class FakeIdentity:
    url: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=_rsa)
    grants: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/v1/.well-known/openidconfiguration", self._metadata),
                Route("/v1/.well-known/keys", self._keys),
                Route("/{tenant}/v2.0/.well-known/openid-configuration", self._tenant_metadata),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            ]
        )

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    def channel_token(
        self,
        service_url: str,
        *,
        audience: str = APP_ID,
        issuer: str = BOT_FRAMEWORK,
        expires_in: float = 3600,
        kid: str = KEY_ID,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """A token as the Bot Connector sends it with an activity."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": int(now + expires_in),
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def forged_token(self, service_url: str, *, kid: str = KEY_ID) -> str:
        """Right claims, signed with a key the metadata does not publish."""
        return self.channel_token(service_url, kid=kid, key=_rsa())

    async def _metadata(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": BOT_FRAMEWORK,
                "authorization_endpoint": "https://invalid.example/v1/botframework.com",
                "jwks_uri": f"{self.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, request: Request) -> JSONResponse:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk |= {"kid": KEY_ID, "use": "sig", "endorsements": ["msteams"]}
        return JSONResponse({"keys": [jwk]})

    async def _tenant_metadata(self, request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        base = f"{self.url}/{tenant}"
        return JSONResponse(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "tenant_region_scope": "EU",
            }
        )

    async def _token(self, request: Request) -> JSONResponse:
        form = dict((await request.form()).items())
        grant = {k: str(v) for k, v in form.items()} | {"tenant": request.path_params["tenant"]}
        self.grants.append(grant)
        if grant.get("client_id") != APP_ID or grant.get("client_secret") != APP_PASSWORD:
            return JSONResponse({"error": "invalid_client", "error_description": "bad secret"}, 401)
        token = "bf-access-" + uuid.uuid4().hex
        self.issued.append(token)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    def accepts(self, authorization: str | None) -> bool:
        """Whether an outbound request carries a token this endpoint issued."""
        scheme, _, token = (authorization or "").partition(" ")
        return scheme == "Bearer" and token in self.issued


def auth_env(identity: FakeIdentity) -> dict[str, Any]:
    """The settings that turn Teams authentication on against this stand-in."""
    return {
        "MICROSOFT_APP_ID": APP_ID,
        "MICROSOFT_APP_PASSWORD": APP_PASSWORD,
        "MICROSOFT_APP_TENANT_ID": TENANT_ID,
        "MICROSOFT_APP_TYPE": "SingleTenant",
        "MICROSOFT_OPENID_METADATA_URL": identity.metadata_url,
        "MICROSOFT_LOGIN_URL": identity.url,
    }
