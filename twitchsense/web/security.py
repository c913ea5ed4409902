"""The web app's guards: access token, CSRF token with a same-origin check, allowed hosts, safe paths.

- Bound to a loopback address, the app needs no token unless one is given; bound to
  any other address it always needs one (``--token``, or a random one printed at
  start). A request proves it with ``?token=`` once (the answer sets a cookie and
  redirects to the same address without it), the cookie, or ``Authorization: Bearer``.
  Without it: 401.
- Every state-changing request is a POST with the page's CSRF token in the
  ``X-CSRF-Token`` header, from the app's own origin (``Origin``, else ``Referer``);
  any other method than GET, HEAD and POST gets 405.
- On loopback the ``Host`` header must name a loopback address (no DNS rebinding).
- Files are served only from inside the configured folders (:func:`inside`).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

TOKEN_COOKIE = "twitchsense_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD"}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """Who may use the app: ``token`` (None = no token needed), the CSRF token of this run, the bind host."""

    host: str = "127.0.0.1"
    token: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @classmethod
    def for_host(cls, host: str, token: str | None) -> "Guard":
        """A token is required off loopback: the one given, else a new random one."""
        if token is not None and len(token) < 8:
            from ..errors import TwitchsenseError
            raise TwitchsenseError("--token must be at least 8 characters")
        if token is None and not is_loopback(host):
            token = secrets.token_urlsafe(18)
        return cls(host=host, token=token)

    def token_ok(self, presented: str | None) -> bool:
        return self.token is None or (presented is not None and
                                      hmac.compare_digest(presented.encode(), self.token.encode()))

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf.encode())


def _plain(status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None):
    body = (text + "\n").encode()
    return status, [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                    *(headers or [])], body


class GuardMiddleware:
    """Pure ASGI middleware applying :class:`Guard` to every HTTP request (streams pass through)."""

    def __init__(self, app, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._check(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = refusal
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _check(self, scope):
        g = self.guard
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host_header = headers.get("host", "")
        if is_loopback(g.host) and not is_loopback(urlsplit("//" + host_header).hostname or ""):
            return _plain(400, "this server answers on a loopback address only (Host header refused)")
        method = scope["method"]
        if method not in SAFE_METHODS | {"POST"}:
            return _plain(405, "method not allowed", [(b"allow", b"GET, HEAD, POST")])
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if g.token is not None:
            cookie = _cookie(headers.get("cookie", ""), TOKEN_COOKIE)
            bearer = headers.get("authorization", "")
            bearer = bearer[7:] if bearer.lower().startswith("bearer ") else None
            given = query.get("token")
            if given is not None and method in SAFE_METHODS and g.token_ok(given):
                rest = urlencode([(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
                                  if k != "token"])
                location = scope.get("path", "/") + (f"?{rest}" if rest else "")
                return _plain(303, "token accepted", [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", f"{TOKEN_COOKIE}={g.token}; Path=/; HttpOnly; SameSite=Strict".encode())])
            if not (g.token_ok(cookie) or g.token_ok(bearer)):
                return _plain(401, "a token is needed: open the address printed by twitchsense at start "
                                   "(it ends in ?token=...)", [(b"www-authenticate", b"Bearer")])
        if method == "POST":
            if not g.csrf_ok(headers.get(CSRF_HEADER)):
                return _plain(403, "missing or wrong CSRF token (reload the page)")
            origin = headers.get("origin") or headers.get("referer")
            if not origin or not _same_origin(origin, scope, host_header):
                return _plain(403, "cross-origin request refused")
        return None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


def _same_origin(origin: str, scope, host_header: str) -> bool:
    o = urlsplit(origin)
    scheme = scope.get("scheme", "http")
    return o.scheme == scheme and o.netloc.lower() == host_header.lower()


def inside(folder: Path, relative: str) -> Path | None:
    """``folder/relative`` resolved, or None when it leaves ``folder`` (``..``, absolute, links out)."""
    if not relative or "\x00" in relative or Path(relative).is_absolute():
        return None
    parts = Path(relative).parts
    if ".." in parts:
        return None
    base = folder.resolve()
    target = (base / relative).resolve()
    return target if target.is_relative_to(base) else None
