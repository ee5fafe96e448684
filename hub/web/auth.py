"""Who may use the hub's web app: nobody needs to log in on loopback; anywhere else a password does.

``protect(app, settings)`` wraps any ASGI app (pure ASGI, no framework hooks):

* **Loopback** (``web.listen`` is 127.0.0.1 / ::1 / localhost, and ``web.require_password`` is
  off): no login. Still refused: a ``Host`` that is not a loopback name (DNS rebinding: a web page
  on evil.example resolving to 127.0.0.1 must not read the signals) and a state-changing request
  a browser marks as coming from another site (``Origin`` / ``Sec-Fetch-Site``).
* **Anywhere else**: ``GET /login`` serves a local form (no CDN); ``POST /login`` checks the
  password against the scrypt hash in ``web.password_hash`` (in a thread, rate limited per
  client and overall) and sets a random session cookie (HttpOnly, SameSite=Strict, Secure and
  ``__Host-`` when ``web.secure_cookies``). Sessions live in memory only and expire. Every
  state-changing request needs the session's CSRF token (``X-CSRF-Token`` header, or a
  ``csrf_token`` form field) *and* a same-origin ``Origin``/``Referer`` when the browser sends
  one. API calls without a session get 401 JSON; pages and their assets a redirect to the login
  form, which sends the browser back where it was going (the dashboard at ``/``) once logged in.

Secrets (passwords, hashes, tokens) never reach a page, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from typing import Final, TextIO
from urllib.parse import parse_qs, quote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config.password_hash import HASH_SCHEME, b64, parse_password_hash
from hub.config.schema import WebSection, is_loopback

_LOGGER = logging.getLogger(__name__)

# -- password hashing (stdlib scrypt: no new dependency, memory-hard like argon2) ----------------
# OWASP's password storage cheat sheet lists N=2^15, r=8, p=3 as equivalent to its scrypt minimum
# (2^17, 8, 1) at a quarter of the memory: 32 MiB per check, which a Pi Zero 2 W (512 MB) can
# spare for the instant of a login, unlike 128 MiB. About 0.3 s per check on a Pi 4.
SCRYPT_LOG2_N: Final = 15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 3
SCRYPT_SALT_BYTES: Final = 16  # 128 bits: unique per hash, as RFC 7914 section 6 suggests
SCRYPT_KEY_BYTES: Final = 32
# Passwords longer than this are refused before hashing (a 1 MB "password" costs real CPU).
MAX_PASSWORD_CHARS: Final = 1024
MIN_PASSWORD_CHARS: Final = 8

# -- sessions and login --------------------------------------------------------------------------
TOKEN_BYTES: Final = 32  # 256-bit session and CSRF tokens
# Oldest sessions are dropped past this: a script logging in in a loop cannot fill the memory.
MAX_SESSIONS: Final = 64
# Per client address: this many failed logins in the window, then 429 until the window slides.
LOGIN_FAILURES_PER_CLIENT: Final = 5
# All clients together (a botnet has many addresses): generous for a household, tight for guessing.
LOGIN_FAILURES_TOTAL: Final = 30
LOGIN_WINDOW_S: Final = 300.0
MAX_LOGIN_BODY: Final = 4096  # a password and two tokens fit many times over
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What a login's ``next`` may hold: printable ASCII but space and backslash (RFC 3986 path, query
# and fragment characters, percent-encoded UTF-8 included).
_PATH_CHARS: Final = re.compile(r"[!#-\[\]-~]*")

LOGIN_PATH: Final = "/login"
LOGOUT_PATH: Final = "/logout"
LOGIN_CSS_PATH: Final = "/login.css"
METRICS_PATH: Final = "/metrics"
CSRF_HEADER: Final = b"x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
# Readable by the dashboard's JavaScript (not HttpOnly) so it can echo it in X-CSRF-Token; useless
# to another site, which can neither read our cookies nor set that header cross-origin.
CSRF_COOKIE: Final = "heartline_csrf"
LOGIN_CSRF_COOKIE: Final = "heartline_login_csrf"
SESSION_COOKIE: Final = "heartline_session"

STATIC = files("hub.web") / "static"
PAGE_HEADERS: Final = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
]


def session_cookie_name(settings: WebSection) -> str:
    # "__Host-" makes browsers refuse the cookie unless Secure, Path=/ and no Domain.
    return f"__Host-{SESSION_COOKIE}" if settings.secure_cookies else SESSION_COOKIE


# -- password hashes ---------------------------------------------------------------------------------


def hash_password(password: str, *, log2_n: int = SCRYPT_LOG2_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``$scrypt$ln=15,r=8,p=3$SALT$KEY`` (base64): the parameters travel with the hash, so they
    can be raised later without invalidating old hashes."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise ValueError(f"a password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES)
    key = _scrypt(password, salt, log2_n, r, p)
    return f"${HASH_SCHEME}$ln={log2_n},r={r},p={p}${b64(salt)}${b64(key)}"


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    # scrypt needs 128 * r * N bytes (RFC 7914); OpenSSL's default cap is 32 MiB exactly, too tight.
    maxmem = 128 * r * n * 2
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=SCRYPT_KEY_BYTES)


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of ``password`` against a hash from :func:`hash_password`."""
    parsed = parse_password_hash(encoded)
    if parsed is None or len(password) > MAX_PASSWORD_CHARS:
        return False
    candidate = _scrypt(password, parsed.salt, parsed.log2_n, parsed.r, parsed.p)[: len(parsed.key)]
    return hmac.compare_digest(candidate, parsed.key)


def prompt_password_hash(stdin: TextIO | None = None, stderr: TextIO | None = None) -> str:
    """For ``heartline web hash-password``: read a new password (twice, hidden, on a terminal; one
    line from a pipe otherwise) and return its hash. Never from argv: argv is visible to every
    user in ``ps`` and lands in shell history. Raises ValueError with a message for the user."""
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("New web password: ", stream=stderr)
        if first != getpass.getpass("Again: ", stream=stderr):
            raise ValueError("the two passwords differ; nothing was written")
    else:
        first = stdin.readline().rstrip("\r\n")
    return hash_password(first)


# -- sessions and rate limits ---------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    csrf: str
    expires: float  # monotonic


class SessionStore:
    """In memory only: a restart logs everyone out, and no token ever touches the disk. Keys are
    SHA-256 digests of the tokens, so a lookup's timing says nothing about the token's bytes."""

    def __init__(self, lifetime_s: float, clock: Callable[[], float]) -> None:
        self._lifetime = lifetime_s
        self._clock = clock
        self._sessions: dict[bytes, Session] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def create(self) -> tuple[str, Session]:
        self._expire()
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))  # dicts keep insertion order: oldest first
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(csrf=secrets.token_urlsafe(TOKEN_BYTES), expires=self._clock() + self._lifetime)
        self._sessions[self._key(token)] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        key = self._key(token)
        session = self._sessions.get(key)
        if session is not None and session.expires <= self._clock():
            del self._sessions[key]
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(self._key(token), None)

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]

    def __len__(self) -> int:
        return len(self._sessions)


class LoginLimiter:
    """Failed logins in a sliding window, per client and in total."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._failures: deque[tuple[float, str]] = deque()

    def _trim(self) -> None:
        horizon = self._clock() - LOGIN_WINDOW_S
        while self._failures and self._failures[0][0] <= horizon:
            self._failures.popleft()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it may now."""
        self._trim()
        mine = [t for t, c in self._failures if c == client]
        blocking: list[float] = []
        if len(mine) >= LOGIN_FAILURES_PER_CLIENT:
            blocking.append(mine[-LOGIN_FAILURES_PER_CLIENT])
        if len(self._failures) >= LOGIN_FAILURES_TOTAL:
            blocking.append(self._failures[-LOGIN_FAILURES_TOTAL][0])
        if not blocking:
            return 0.0
        return max(0.0, max(blocking) + LOGIN_WINDOW_S - self._clock())

    def failed(self, client: str) -> None:
        self._failures.append((self._clock(), client))

    def succeeded(self, client: str) -> None:
        self._failures = deque((t, c) for t, c in self._failures if c != client)


# -- the middleware ----------------------------------------------------------------------------------


def protect(app: ASGIApp, settings: WebSection, *, clock: Callable[[], float] = time.monotonic) -> ASGIApp:
    """Wrap ``app`` with the access control ``settings`` ask for (see the module docstring)."""
    return AccessControl(app, settings, clock=clock)


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    query: str
    headers: dict[bytes, bytes]  # last value wins; fine for the headers read here
    cookies: dict[str, str]
    client: str
    scheme: str

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1")

    @property
    def is_page(self) -> bool:
        """A page or one of its assets (a browser follows a redirect to the login form for those)."""
        return self.method in ("GET", "HEAD") and not self.is_api

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/") or "/api/" in self.path or self.path == METRICS_PATH


def _request(scope: Scope) -> _Request:
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    cookies: dict[str, str] = {}
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name and name not in cookies:
            cookies[name] = value
    client = scope.get("client") or ("unknown", 0)
    return _Request(
        method=scope["method"].upper(),
        path=scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        cookies=cookies,
        client=str(client[0]),
        scheme=scope.get("scheme", "http"),
    )


class AccessControl:
    def __init__(
        self, app: ASGIApp, settings: WebSection, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.settings = settings
        self.session_cookie = session_cookie_name(settings)
        self.sessions = SessionStore(settings.session_hours * 3600.0, clock)
        self.limiter = LoginLimiter(clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] not in ("http", "websocket"):
            return
        request = _request(scope)
        if scope["type"] == "websocket":
            # No route uses websockets; refuse rather than guess how to check one.
            await send({"type": "websocket.close", "code": 1008})
            return
        if not self.settings.login_required:
            await self._loopback(request, scope, receive, send)
            return
        await self._remote(request, scope, receive, send)

    # -- loopback: no login, but no DNS rebinding and no cross-site writes ---------------------

    async def _loopback(self, request: _Request, scope: Scope, receive: Receive, send: Send) -> None:
        host = _host_name(request.header(b"host"))
        if host and not is_loopback(host):
            await _json(send, 403, "this hub answers on loopback only; open it as http://127.0.0.1")
            return
        if request.method in UNSAFE_METHODS and _cross_site(request):
            await _json(send, 403, "cross-site request refused")
            return
        await self.app(scope, receive, send)

    # -- anywhere else: a session for everything but the login form ------------------------------

    async def _remote(self, request: _Request, scope: Scope, receive: Receive, send: Send) -> None:
        if await self._public(request, scope, receive, send):
            return
        token = request.cookies.get(self.session_cookie)
        session = self.sessions.get(token)
        if session is None:
            if request.is_page:
                await _redirect(send, f"{LOGIN_PATH}?next={quote(_safe_next(request.path), safe='/')}")
            else:
                await _json(send, 401, "login required", [(b"www-authenticate", b'Cookie realm="heartline"')])
            return
        if request.method in UNSAFE_METHODS:
            refusal, receive = await _csrf_refusal(request, receive, session)
            if refusal:
                await _json(send, 403, refusal)
                return
        if request.path == LOGOUT_PATH and request.method == "POST":
            self.sessions.end(token)
            await _redirect(send, LOGIN_PATH, self._clear_cookies())
            return
        await self.app(scope, receive, send)

    async def _public(self, request: _Request, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer what needs no session (the login form, its style, public metrics); False if none."""
        if request.path == LOGIN_PATH:
            if request.method == "GET":
                await self._login_form(send, request, error=None, status=200)
            elif request.method == "POST":
                await self._login(request, receive, send)
            else:
                await _json(send, 405, "use GET or POST", [(b"allow", b"GET, POST")])
            return True
        if request.path == LOGIN_CSS_PATH and request.method == "GET":
            css = (STATIC / "login.css").read_bytes()
            await _respond(
                send, 200, css, [(b"content-type", b"text/css"), (b"cache-control", b"max-age=3600")]
            )
            return True
        if request.path == METRICS_PATH and request.method == "GET" and self.settings.metrics_public:
            await self.app(scope, receive, send)
            return True
        return False

    async def _login(self, request: _Request, receive: Receive, send: Send) -> None:
        if _cross_site(request):
            await _json(send, 403, "cross-site request refused")
            return
        wait = self.limiter.retry_after(request.client)
        if wait > 0:
            _LOGGER.warning("login from %s refused: too many failed attempts", request.client)
            await self._login_form(
                send,
                request,
                error="Too many attempts. Wait a few minutes.",
                status=429,
                extra=[(b"retry-after", str(int(wait) + 1).encode())],
            )
            return
        body = await _read_body(receive, MAX_LOGIN_BODY)
        if body is None:
            await _json(send, 413, "login form too large")
            return
        form = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=8)
        offered = (form.get(CSRF_FIELD) or [""])[0]
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not offered or not expected or not hmac.compare_digest(offered.encode(), expected.encode()):
            await _json(send, 403, "missing or wrong CSRF token; reload the login page")
            return
        password = (form.get("password") or [""])[0]
        ok = await asyncio.to_thread(verify_password, password, self.settings.password_hash)
        if not ok:
            self.limiter.failed(request.client)
            _LOGGER.warning("failed web login from %s", request.client)
            await self._login_form(send, request, error="Wrong password.", status=401)
            return
        self.limiter.succeeded(request.client)
        token, session = self.sessions.create()
        _LOGGER.info("web login from %s", request.client)
        target = _safe_next((form.get("next") or ["/"])[0])
        await _redirect(send, target, self._session_cookies(token, session))

    async def _login_form(
        self,
        send: Send,
        request: _Request,
        *,
        error: str | None,
        status: int,
        extra: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        login_csrf = secrets.token_urlsafe(TOKEN_BYTES)
        next_values = parse_qs(request.query).get("next") or ["/"]
        page = (STATIC / "login.html").read_text(encoding="utf-8")
        page = (
            page.replace("{{csrf}}", escape(login_csrf))
            .replace("{{next}}", escape(_safe_next(next_values[0])))
            .replace("{{error}}", f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
        )
        cookie = self._cookie(LOGIN_CSRF_COOKIE, login_csrf, http_only=True, max_age=3600)
        headers = [(b"content-type", b"text/html; charset=utf-8"), *PAGE_HEADERS, cookie, *extra]
        await _respond(send, status, page.encode(), headers)

    def _cookie(self, name: str, value: str, *, http_only: bool, max_age: int) -> tuple[bytes, bytes]:
        parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "SameSite=Strict"]
        if http_only:
            parts.append("HttpOnly")
        if self.settings.secure_cookies:
            parts.append("Secure")
        return (b"set-cookie", "; ".join(parts).encode())

    def _session_cookies(self, token: str, session: Session) -> list[tuple[bytes, bytes]]:
        max_age = int(self.settings.session_hours * 3600)
        return [
            self._cookie(self.session_cookie, token, http_only=True, max_age=max_age),
            self._cookie(CSRF_COOKIE, session.csrf, http_only=False, max_age=max_age),
            self._cookie(LOGIN_CSRF_COOKIE, "", http_only=True, max_age=0),
        ]

    def _clear_cookies(self) -> list[tuple[bytes, bytes]]:
        return [
            self._cookie(self.session_cookie, "", http_only=True, max_age=0),
            self._cookie(CSRF_COOKIE, "", http_only=False, max_age=0),
        ]


# -- small helpers -------------------------------------------------------------------------------------


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):  # [::1]:8080
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


def _cross_site(request: _Request) -> bool:
    """True when the browser tells us the request comes from another origin. Clients that send
    neither Origin nor Sec-Fetch-Site (curl, scripts) are not browsers: the token decides."""
    site = request.header(b"sec-fetch-site")
    if site in ("cross-site", "same-site"):
        return True
    origin = request.header(b"origin") or request.header(b"referer")
    if not origin:
        return False
    if origin == "null":
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() != request.header(b"host").lower()


def _safe_next(target: str) -> str:
    """Only a path on this site: "/x" yes; "//evil.example", "/\\evil", "https://...", and anything
    with a control character, a space, a tab or a backslash no (browsers drop tabs and newlines
    from a URL, so "/\t/evil.example" is "//evil.example" to them; CR/LF would split the header)."""
    if (
        not target.startswith("/")
        or target.startswith(("//", LOGIN_PATH))
        or not _PATH_CHARS.fullmatch(target)
    ):
        return "/"
    return target


def _form_field(body: bytes | None, name: str) -> str:
    if not body:
        return ""
    values = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=16).get(name)
    return values[0] if values else ""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _csrf_refusal(request: _Request, receive: Receive, session: Session) -> tuple[str, Receive]:
    """Why a state-changing request is refused ("" if it is not), and the receive to pass on."""
    if _cross_site(request):
        return "cross-site request refused", receive
    body, receive = await _buffer_if_form(request, receive)
    offered = request.header(CSRF_HEADER) or _form_field(body, CSRF_FIELD)
    if not offered or not hmac.compare_digest(offered.encode(), session.csrf.encode()):
        return f"missing or wrong CSRF token (echo the {CSRF_COOKIE} cookie in X-CSRF-Token)", receive
    return "", receive


async def _buffer_if_form(request: _Request, receive: Receive) -> tuple[bytes | None, Receive]:
    """A form post carries its CSRF token in the body: read it, then replay it to the app."""
    if request.header(CSRF_HEADER) or not request.header(b"content-type").startswith(
        "application/x-www-form-urlencoded"
    ):
        return None, receive
    body = await _read_body(receive, MAX_LOGIN_BODY)
    if body is None:
        return None, receive
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _respond(send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await _respond(
        send,
        status,
        body,
        [(b"content-type", b"application/json"), (b"cache-control", b"no-store"), *headers],
    )


async def _redirect(send: Send, location: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await _respond(
        send, 303, b"", [(b"location", location.encode()), (b"cache-control", b"no-store"), *headers]
    )
