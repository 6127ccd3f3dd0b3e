"""Running the app under uvicorn with the settings of `[serve]`."""

from __future__ import annotations

from pathlib import Path

from bridge import secrets
from bridge.bootstrap import Runtime
from bridge.web.app import Credentials, create_app


def credentials_of(runtime: Runtime) -> Credentials:
    serve = runtime.config.settings.serve
    folder = Path(runtime.config.config_dir)

    def resolve(reference: str) -> str:
        return secrets.resolve(reference, folder) if reference else ""

    return Credentials(token=resolve(serve.token), user=serve.user,
                       password=resolve(serve.password))


def serve(runtime: Runtime, *, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    settings = runtime.config.settings.serve
    host = host or settings.host
    app = create_app(runtime, host=host, credentials=credentials_of(runtime))
    uvicorn.run(app, host=host, port=port or settings.port, log_level="warning",
                access_log=False)
