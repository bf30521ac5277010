"""Who the client is to the tenant: the tenant URL check, secrets that never print, credentials from
the environment, and the httpx auth flow (API key, or OAuth2 client credentials with a cached token).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import math
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote, quote_plus, urlsplit

import httpx

from reconciler.errors import ApiError, ConfigError
from reconciler.qlik.error_body import api_error

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a password
IMPERSONATION_GRANT = "urn:qlik:oauth:user-impersonation"
IMPERSONATION_SCOPE = "user_default"  # the scope Qlik's own client code asks for
_KEPT_TOKENS = 64  # tokens remembered to scrub them from text (one per owner acted as, and more)
# Use a token until this many seconds before the service says it expires (RFC 6749 §5.1).
TOKEN_MARGIN_SECONDS = 60.0
# When the token answer has no expires_in, assume a short life rather than a long one.
DEFAULT_TOKEN_SECONDS = 3600.0
UNSENDABLE = (
    "holds a character an HTTP header cannot carry (a line break, a space, a control character "
    "or a letter outside ASCII)"
)


def header_safe(value: str) -> bool:
    """Whether `value` can go in an Authorization header as it is: visible ASCII only (RFC 9110
    field values; RFC 6750 tokens have no spaces). Anything else would make httpx refuse the
    header with an error that quotes it."""
    return all("!" <= ch <= "~" for ch in value)


def spellings(value: str) -> set[str]:
    """Every way `value` may be written in a message: as is, escaped as in JSON, Python string
    and bytes reprs, percent-encoded, and each of its lines when it has several."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        ascii(value)[1:-1],
        repr(value.encode("utf-8", "backslashreplace"))[2:-1],
        quote(value, safe=""),
        quote_plus(value),
    }
    forms.update(part for part in value.splitlines() if len(part.strip()) >= 8)
    return {form for form in forms if len(form) >= 4}


class Secret:
    """A secret string: prints, formats and reprs as `***`; `reveal()` gives the value. It cannot be
    pickled, and JSON encoders refuse it, so it is never saved in clear by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __format__(self, format_spec: str) -> str:
        return format("***", format_spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is never pickled")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Secret is never pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: Any) -> Secret:
        return self


@dataclass(frozen=True, slots=True)
class Credentials:
    """An API key (bearer), or an OAuth2 client id and secret (machine-to-machine)."""

    api_key: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None

    def __post_init__(self) -> None:
        oauth = self.client_id is not None or self.client_secret is not None
        if self.api_key is not None and oauth:
            raise ConfigError("use either an API key or an OAuth client id and secret, not both")
        if oauth and not (self.client_id and self.client_secret):
            raise ConfigError("OAuth needs both QLIK_CLIENT_ID and QLIK_CLIENT_SECRET")
        if not oauth and not self.api_key:
            raise ConfigError(
                "no credentials: set QLIK_API_KEY, or QLIK_CLIENT_ID and QLIK_CLIENT_SECRET"
            )
        if self.api_key is not None and not header_safe(self.api_key.reveal()):
            raise ConfigError(f"the API key (QLIK_API_KEY) {UNSENDABLE}; set it to the key alone")

    @property
    def is_oauth(self) -> bool:
        return self.client_secret is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Credentials:
        """QLIK_API_KEY, or QLIK_CLIENT_ID + QLIK_CLIENT_SECRET (empty values count as unset)."""
        key = environ.get("QLIK_API_KEY", "").strip()
        client_id = environ.get("QLIK_CLIENT_ID", "").strip()
        client_secret = environ.get("QLIK_CLIENT_SECRET", "").strip()
        if key and (client_id or client_secret):
            raise ConfigError(
                "both QLIK_API_KEY and QLIK_CLIENT_ID/QLIK_CLIENT_SECRET are set; set only one"
            )
        if key:
            return cls(api_key=Secret(key))
        return cls(
            client_id=client_id or None,
            client_secret=Secret(client_secret) if client_secret else None,
        )

    @staticmethod
    def present_in(environ: Mapping[str, str]) -> bool:
        """Whether the environment names any credentials at all."""
        names = ("QLIK_API_KEY", "QLIK_CLIENT_ID", "QLIK_CLIENT_SECRET")
        return any(environ.get(name, "").strip() for name in names)


def _is_loopback(host: str) -> bool:
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def validate_tenant_url(url: str) -> str:
    """The tenant's base URL without trailing slashes; https only, plain http only for loopback
    hosts (127.0.0.0/8, ::1, localhost). Anything else is a ConfigError."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError("the tenant URL is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError("the tenant URL must not contain a user name or password")
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else text
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(
            f"the tenant URL {shown!r} must look like https://<tenant>.<region>.qlikcloud.com"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"the tenant URL {shown!r} must not have a query or fragment")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"the tenant URL {shown!r} must use https; plain http is accepted only for "
            "127.0.0.1, ::1 and localhost"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


@dataclass(slots=True)
class _Token:
    value: Secret
    expires_at: float


class TokenError(ApiError):
    """The token endpoint refused or failed (never carries the client secret)."""


class QlikAuth(httpx.Auth):
    """The httpx auth flow: a bearer API key, or an OAuth2 token fetched from `/oauth/token`, cached
    until shortly before it expires and refreshed once when the tenant answers 401."""

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        *,
        tenant_url: str,
        user_agent: str,
        clock: Callable[[], float],
        on_token_request: Callable[[], None] = lambda: None,
        on_token_answer: Callable[[httpx.Response], None] = lambda response: None,
    ) -> None:
        self._credentials = credentials
        self._token_url = tenant_url + TOKEN_PATH
        self._user_agent = user_agent
        self._clock = clock
        self._on_token_request = on_token_request
        self._on_token_answer = on_token_answer
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self._revealed: list[str] = []
        self._grant: dict[str, Any] = {"grant_type": "client_credentials"}

    def impersonating(self, field: str, value: str) -> QlikAuth:
        """An auth flow with the same client that fetches its own token acting as one user
        (`user_lookup: {field: subject | userId, value}`): writes made with it are that user's.
        Its tokens are scrubbed from text by this flow too."""
        if not self._credentials.is_oauth:
            raise ConfigError("acting as another user needs an OAuth client, not an API key")
        other = QlikAuth(
            self._credentials,
            tenant_url=self._token_url.removesuffix(TOKEN_PATH),
            user_agent=self._user_agent,
            clock=self._clock,
            on_token_request=self._on_token_request,
            on_token_answer=self._on_token_answer,
        )
        other._revealed = self._revealed  # one memory of tokens, shared
        other._grant = {
            "grant_type": IMPERSONATION_GRANT,
            "scope": IMPERSONATION_SCOPE,
            "user_lookup": {"field": field, "value": value},
        }
        return other

    def secret_values(self) -> list[str]:
        """Every secret this flow holds or has held, so messages can be scrubbed of them."""
        values = [
            s.reveal()
            for s in (self._credentials.api_key, self._credentials.client_secret)
            if s is not None
        ]
        return values + self._revealed

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("the Qlik client is asynchronous: use httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        key = self._credentials.api_key
        if key is not None:
            request.headers["Authorization"] = f"Bearer {key.reveal()}"
            yield request
            return

        async with self._lock:
            if self._token is None or self._clock() >= self._token.expires_at:
                answer = yield self._token_request(request)
                await self._store(answer)
            token = self._token
        assert token is not None
        request.headers["Authorization"] = f"Bearer {token.value.reveal()}"
        response = yield request
        if response.status_code != 401:
            return

        # The token may have been revoked or expired early: fetch a new one once, then a second
        # 401 is the answer.
        async with self._lock:
            if self._token is token:
                answer = yield self._token_request(request)
                await self._store(answer)
            token = self._token
        assert token is not None
        request.headers["Authorization"] = f"Bearer {token.value.reveal()}"
        yield request

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        client_secret = self._credentials.client_secret
        assert client_secret is not None
        body = {
            "client_id": self._credentials.client_id,
            "client_secret": client_secret.reveal(),
            **self._grant,
        }
        self._on_token_request()
        return httpx.Request(
            "POST",
            self._token_url,
            content=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": self._user_agent,
            },
            extensions={"timeout": request.extensions.get("timeout", {})},
        )

    async def _store(self, answer: httpx.Response) -> None:
        body = await answer.aread()
        self._on_token_answer(answer)
        if answer.status_code != 200:
            raise self._error(answer, body)
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            doc = None
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenError(
                "POST", TOKEN_PATH, answer.status_code, title="the token answer has no access_token"
            )
        assert isinstance(doc, dict)
        lifetime = doc.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
            else DEFAULT_TOKEN_SECONDS
        )
        if not math.isfinite(seconds) or seconds <= 0:
            seconds = DEFAULT_TOKEN_SECONDS
        margin = min(TOKEN_MARGIN_SECONDS, seconds / 2)
        self._revealed.append(token)  # recent tokens, to scrub them from text
        del self._revealed[:-_KEPT_TOKENS]
        if not header_safe(token):
            raise TokenError(
                "POST", TOKEN_PATH, answer.status_code, title=f"the access token {UNSENDABLE}"
            )
        self._token = _Token(Secret(token), self._clock() + seconds - margin)

    def _error(self, answer: httpx.Response, body: bytes) -> ApiError:
        return api_error(
            "POST",
            TOKEN_PATH,
            answer.status_code,
            body=body,
            content_type=answer.headers.get("content-type", ""),
            reason=answer.reason_phrase,
            scrub=self.scrub,
            cls=TokenError,
        )

    def scrub(self, text: str) -> str:
        """`text` with every secret this flow knows, in any spelling, replaced by `***`."""
        forms = {form for value in self.secret_values() for form in spellings(value)}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text
