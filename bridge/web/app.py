"""The HTTP application of `bridge serve`: one Starlette app whose routes come from the
modules that own them (health, metrics, webhooks, console). Each module exposes
`routes(runtime) -> list[BaseRoute]`; this one only assembles them and guards access.

Access: on a loopback address anyone on the machine may look, as with the CLI. Bound
anywhere else, every route but the public ones needs the operator's credentials (a bearer
token or HTTP basic auth, both from secret references in `[serve]`). Webhooks are public
because the platforms cannot log in: each receiver verifies the platform's signature
instead, and trusts nothing else."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Sequence

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.bootstrap import Runtime
from bridge.net import is_loopback_host

# Paths anyone may reach: probes and the platforms' webhooks (signed).
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/webhooks/")

RouteSource = Callable[[Runtime], Sequence[BaseRoute]]


def route_sources() -> list[RouteSource]:
    """Every module's routes, imported here so that a module's absence is loud."""
    from bridge.web import console, health, metrics, webhooks

    return [health.routes, metrics.routes, webhooks.routes, console.routes]


class Credentials:
    """What an operator must present when the server is not on loopback."""

    def __init__(self, token: str = "", user: str = "", password: str = "") -> None:
        self.token, self.user, self.password = token, user, password

    @property
    def configured(self) -> bool:
        return bool(self.token or (self.user and self.password))

    def accept(self, authorization: str) -> bool:
        scheme, _, value = authorization.partition(" ")
        if self.token and scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if self.user and self.password and scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return (hmac.compare_digest(user.encode(), self.user.encode())
                    and hmac.compare_digest(password.encode(), self.password.encode()))
        return False


class RequireCredentials:
    """ASGI middleware: a non-public path without accepted credentials gets 401."""

    def __init__(self, app: ASGIApp, credentials: Credentials) -> None:
        self.app, self.credentials = app, credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self.credentials.accept(request.headers.get("authorization", "")):
            await self.app(scope, receive, send)
            return
        response: Response = PlainTextResponse(
            "bridge: credentials required", status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="bridge"'})
        await response(scope, receive, send)


def create_app(runtime: Runtime, *, host: str = "127.0.0.1",
               credentials: Credentials | None = None,
               sources: Sequence[RouteSource] | None = None) -> Starlette:
    """The app for `runtime`. Off loopback, `credentials` must be configured (checked
    by `bridge serve` before it binds); on loopback they are asked for only if given."""
    credentials = credentials or Credentials()
    if not is_loopback_host(host) and not credentials.configured:
        raise ValueError(f"serving on {host} needs credentials: set [serve] token or "
                         "user and password (secret references) in bridge.toml")
    routes: list[BaseRoute] = []
    for source in sources if sources is not None else route_sources():
        routes.extend(source(runtime))
    middleware = [Middleware(RequireCredentials, credentials=credentials)] \
        if credentials.configured else []
    app = Starlette(routes=routes, middleware=middleware)
    app.state.runtime = runtime
    return app
