"""kwsgen studio's HTTP server: a thin JSON layer over the project API.

Starlette (with uvicorn) was chosen on purpose: it is small, typed and well
kept, has a test client, and serves files with HTTP range requests (audio
seeking) without extra code. Every route reads the project's files afresh,
so what the CLI writes shows at once, and every write goes through the same
functions the CLI uses (kwsgen.project.editing, labelling, events), under
the project lock.

Security: the server answers only requests that carry the session token (a
header, a cookie set by the first page load, or ?token= in the URL), only
for Host names of this machine (against DNS rebinding), and serves only the
project's recordings, its models' reports and the page's own files.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import KwsgenError
from ..project import Project
from ..project.editing import StaleEdit
from . import LOOPBACK, api

WEB_DIR = Path(__file__).parent / "web"
VENDOR_DIR = WEB_DIR / "node_modules" / "wavesurfer.js" / "dist"
PAGE_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
TOKEN_COOKIE = "kwsgen_studio_token"
log = logging.getLogger("kwsgen.studio")


def vendor_missing() -> str | None:
    """Why the page's npm libraries cannot be served, or None when they can."""
    if (VENDOR_DIR / "wavesurfer.esm.js").is_file():
        return None
    return (
        f"the studio's front-end libraries are not installed in {WEB_DIR / 'node_modules'}; "
        f"install them with: npm ci --prefix {WEB_DIR} (make setup does it)"
    )


class TokenGuard:
    """Refuse any request without the token, or addressed to a host name that is not this machine's."""

    def __init__(self, app: ASGIApp, token: str, hosts: set[str]) -> None:
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "").rsplit(":", 1)[0].strip("[]")
        if self.hosts and host not in self.hosts:
            await _error(421, f"this server answers only for {', '.join(sorted(self.hosts))}")(scope, receive, send)
            return
        given = (
            request.headers.get("x-kwsgen-token")
            or request.query_params.get("token")
            or request.cookies.get(TOKEN_COOKIE)
            or ""
        )
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            await _error(401, "open the address kwsgen studio printed: it carries the access token")(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _failed_write(exc: OSError) -> Response:
    """A write that failed (full disk, read-only folder), as one line: the file and why."""
    where = f"{exc.filename}: " if exc.filename else ""
    return _error(500, f"{where}{exc.strerror or exc}; nothing was saved")


def _json_body(request_body: bytes) -> dict:
    try:
        body = json.loads(request_body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise KwsgenError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise KwsgenError("the request body must be a JSON object")
    return body


Handler = Callable[[Project, Request, dict], object]


def create_app(root: str | Path, token: str, hosts: set[str] | None = None) -> Starlette:
    """The studio for the project at ``root``. ``hosts``: the Host names accepted (default: loopback names)."""
    root = Path(root).resolve()
    Project.open(root)  # a clear error now rather than on the first request

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            raw = await request.body() if request.method in ("POST", "PUT", "PATCH") else b""
            try:
                body = _json_body(raw)
                # Project work reads files and may run models: keep it off the event loop.
                result = await run_in_threadpool(lambda: handler(Project.open(root), request, body))
            except StaleEdit as exc:
                return _error(409, str(exc))
            except api.NotFound as exc:
                return _error(404, str(exc))
            except KwsgenError as exc:
                return _error(400, str(exc))
            except OSError as exc:  # a write that failed (full disk, read-only folder): the file and why
                return _failed_write(exc)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return run

    async def page(request: Request) -> Response:
        missing = vendor_missing()
        if missing:
            return HTMLResponse(f"<!doctype html><title>kwsgen studio</title><p>{missing}</p>", status_code=500)
        response = FileResponse(WEB_DIR / "index.html", media_type="text/html")
        token_given = request.query_params.get("token")
        if token_given:
            # The page's module imports and <audio> requests cannot carry a header: they send this cookie.
            response.set_cookie(TOKEN_COOKIE, token_given, httponly=True, samesite="strict")
        return response

    async def page_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in PAGE_FILES:
            return _error(404, f"no page file {name!r}")
        return FileResponse(WEB_DIR / name, media_type=PAGE_FILES[name])

    async def vendor_file(request: Request) -> Response:
        name = request.path_params["name"]
        allowed = {"wavesurfer.esm.js"} | {f"plugins/{p}.esm.js" for p in api.PLUGINS}
        if name not in allowed or not (VENDOR_DIR / name).is_file():
            return _error(404, f"no library file {name!r}")
        return FileResponse(VENDOR_DIR / name, media_type="text/javascript")

    async def upload(request: Request) -> Response:
        """Drag and drop: the files are saved under .kwsgen/upload/ (never recordings/), then imported."""
        import shutil
        import uuid

        folder = root / ".kwsgen" / "upload" / uuid.uuid4().hex
        try:
            async with request.form(max_files=10000) as form:
                uploads = [f for f in form.getlist("files") if hasattr(f, "filename")]
                fields = {k: v for k, v in form.items() if isinstance(v, str)}
                if not uploads:
                    return _error(400, "no files in the request: drop WAV or FLAC files")
                names = []
                folder.mkdir(parents=True)
                for item in uploads:
                    name = Path(item.filename or "").name
                    if not name or name.startswith("."):
                        return _error(400, f"a dropped file has no usable name ({item.filename!r})")
                    if name in names:
                        return _error(400, f"two dropped files are both named {name!r}; import them separately")
                    (folder / name).write_bytes(await item.read())
                    names.append(name)
            result = await run_in_threadpool(lambda: api.import_uploads(Project.open(root), folder, names, fields))
        except KwsgenError as exc:
            # The importer names the staged copy; the person knows the file by its own name.
            return _error(400, str(exc).replace(f"{folder}/", ""))
        except OSError as exc:  # staging or importing failed to write (imports are all or nothing)
            return _failed_write(exc)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return JSONResponse(result)

    routes = [
        Route("/", page),
        Route("/api/import", upload, methods=["POST"]),
        Route("/static/{name}", page_file),
        Route("/vendor/{name:path}", vendor_file),
        *[Route(path, endpoint(handler), methods=[method]) for path, method, handler in api.ROUTES],
    ]
    hosts = LOOPBACK if hosts is None else hosts

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.live = None
        yield
        api.stop_live(app)  # the port is released when the studio stops

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(TokenGuard, token=token, hosts=hosts)],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return _error(exc.status_code, exc.detail or "bad request")


async def _internal_error(request: Request, exc: Exception) -> Response:
    # A bug: the person sees one line, the terminal gets the traceback for a report.
    log.error("studio: %s %s failed:\n%s", request.method, request.url.path, traceback.format_exc())
    return _error(500, f"internal error ({type(exc).__name__}: {exc}); the terminal running kwsgen studio has details")
