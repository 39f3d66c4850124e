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


class RunningStudio:
    """The studio served from a background thread of this process (a notebook, a test, a benchmark)."""

    def __init__(self, project_dir: str | Path, token: str | None = None, host: str = "127.0.0.1") -> None:
        import threading
        import time

        import uvicorn

        from .server import create_app

        self.token = token or secrets.token_urlsafe(24)
        sock = bind(host, 0)
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(create_app(project_dir, self.token), log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise KwsgenError("the studio's server did not start within 10 s")
        self.url = f"http://{host}:{self.port}/?token={self.token}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def __enter__(self) -> RunningStudio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
