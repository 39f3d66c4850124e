"""kwsgen studio: label, explore and test a project in the browser (kwsgen studio)."""

from __future__ import annotations

import errno
import secrets
import socket
import webbrowser
from collections.abc import Callable
from pathlib import Path

from ..errors import KwsgenError

DEFAULT_PORT = 8765
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; the default port falls back to a free one when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and port == DEFAULT_PORT:
            sock.bind((host, 0))
        else:
            sock.close()
            raise KwsgenError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None
    sock.listen(64)
    return sock


def serve(
    project_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    on_ready: Callable[[str], None] = print,
    token: str | None = None,
) -> None:
    """Run the studio until Ctrl-C; ``on_ready`` gets the address to open (it carries the token)."""
    import uvicorn

    from .server import create_app, vendor_missing

    missing = vendor_missing()
    if missing:
        raise KwsgenError(missing)
    token = token or secrets.token_urlsafe(24)
    hosts = None if host in LOOPBACK else set()  # another --host: any Host name, the token still guards
    app = create_app(project_dir, token, hosts)
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/?token={token}"
    on_ready(url)
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
