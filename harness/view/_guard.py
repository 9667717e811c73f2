"""Who may talk to `tierwise view`: the guard every request passes before any page or write.

A local web server is reachable by every page the person's browser opens and every process on
the machine, so (as Jupyter does):

- **a token**: a random 256-bit token is in the URL the command prints; a request carrying it
  (`?token=…`) gets it back as an HttpOnly, SameSite=Strict cookie scoped to this port and is
  redirected to the same URL without it (no token in history or Referer); every other request
  needs the cookie. Without either: 403.
- **Host**: only the addresses the server was opened on (127.0.0.1:PORT, localhost:PORT, the
  --host given). A DNS-rebinding page reaches the port under its own host name: 403.
- **Origin**: when a browser sends one it must be this server's; `Sec-Fetch-Site: cross-site`
  is refused; a write (any method but GET/HEAD) must carry the Origin header. 403 otherwise.
- **bounded requests**: a query string over MAX_QUERY_BYTES or a path over MAX_PATH_BYTES is
  refused (414) before any page reads it; request bodies are bounded by the write itself.
- **headers on every answer**: a Content-Security-Policy that allows only this package's own
  script and stylesheet (by hash) and fetches to itself, no framing, no referrer, no caching,
  no content sniffing.
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

MAX_QUERY_BYTES = 2048
MAX_PATH_BYTES = 1024

Scope = dict[str, Any]
ASGI = Callable[[Scope, Callable, Callable], Awaitable[None]]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def allowed_hosts(host: str, port: int) -> set[str]:
    hosts = {f"{host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"}
    if ":" in host and not host.startswith("["):  # an IPv6 literal is written in brackets in Host
        hosts.add(f"[{host}]:{port}")
    return hosts


class Guard:
    """ASGI middleware: Host, Origin and token checks, then the security headers (module docstring)."""

    def __init__(self, app: ASGI, token: str, hosts: set[str], port: int, csp: str):
        self.app, self.token, self.hosts, self.csp = app, token, hosts, csp
        self.origins = {f"http://{h}" for h in hosts}
        self.cookie = f"tierwise_view_{port}"

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refused = self._refusal(scope, headers)
        if refused:
            await _plain(send, 403, refused)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES or len(scope.get("raw_path") or b"") > MAX_PATH_BYTES \
                or len(scope.get("path", "")) > MAX_PATH_BYTES:
            await _plain(send, 414, f"the address is too long (query at most {MAX_QUERY_BYTES:,} bytes, "
                                    f"path at most {MAX_PATH_BYTES:,})")
            return
        if secrets.compare_digest(self._cookie(headers), self.token):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in query if k == "token"), "")
        if given and secrets.compare_digest(given, self.token) and scope["method"] in ("GET", "HEAD"):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            location = scope.get("path", "/") + (f"?{rest}" if rest else "")
            cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
            await _plain(send, 303, "", [(b"location", location.encode("latin-1")),
                                         (b"set-cookie", cookie.encode("latin-1"))])
            return
        await _plain(send, 403, "forbidden: open the URL `tierwise view` printed (it carries the token)")

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> str:
        if headers.get("host", "") not in self.hosts:
            return "forbidden: unknown Host (the view answers only on the address it printed)"
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return "forbidden: another origin"
        if headers.get("sec-fetch-site") == "cross-site":
            return "forbidden: a cross-site request"
        if scope["method"] not in ("GET", "HEAD") and origin is None:
            return "forbidden: a write needs the page's Origin header"
        return ""

    def _cookie(self, headers: dict[str, str]) -> str:
        jar = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is no token
            return ""
        morsel = jar.get(self.cookie)
        return morsel.value if morsel is not None else ""

    def _with_headers(self, send: Callable) -> Callable:
        extra = [(b"content-security-policy", self.csp.encode()), (b"x-content-type-options", b"nosniff"),
                 (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                 (b"cache-control", b"no-store"), (b"cross-origin-opener-policy", b"same-origin"),
                 (b"cross-origin-resource-policy", b"same-origin")]

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        return wrapped


async def _plain(send: Callable, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
