"""The web app: one ``Recognizer`` and one ``TextReader`` per worker, the API's routes (routes.py), limits and errors.

Stateless: every request carries its images, so replicas behind any load balancer scale out.
Every error is JSON ``{"error", "detail"}`` with no stack trace.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from .. import __version__
from ..reading.recognize import Recognizer
from ..words.lexicon import Lexicon
from ..words.line_reader import TextReader
from . import metrics
from .limits import MAX_BODY_BYTES, BodySizeLimit, SecurityHeaders
from .profiles import ProfileStore
from .routes import MAX_IMAGES_PER_REQUEST, ApiError, router  # noqa: F401  (MAX_IMAGES_PER_REQUEST: part of the API)
from .settings import ServeSettings

STATIC = Path(str(resources.files("handwritten_letters") / "server" / "static"))
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")  # Swagger UI 5 from the fastapi-offline package, no CDN


def swagger_ui_folder() -> Path:
    return Path(str(resources.files("fastapi_offline") / "static"))


def create_app(model_path: str | Path | None = None, cors_origins: list[str] | None = None,
               feedback_db: str | Path | None = None, settings: ServeSettings | None = None) -> FastAPI:
    """The app, from ``settings`` (default: those `letters serve` handed its workers); the keyword
    arguments override single settings (tests, embedding the app)."""
    settings = settings or ServeSettings.from_environment()
    overrides = {"model": model_path, "feedback_db": feedback_db,
                 "cors_origins": None if cors_origins is None else tuple(cors_origins)}
    settings = replace(settings, **{k: (str(v) if isinstance(v, Path) else v) for k, v in overrides.items()
                                    if v is not None})
    app = FastAPI(
        title="handwritten-letters", version=__version__,
        description="Read handwritten letters (a-z and A-Z, with their case) and handwritten words and lines. "
                    "Upload images, or send canvas drawings as data URLs.",
        docs_url=None, redoc_url=None,  # /docs is served below from packaged assets: it works offline
    )
    app.state.settings = settings
    meta = _load_models(app, settings)
    app.state.feedback = None
    if settings.feedback_db:
        from .feedback import FeedbackStore

        app.state.feedback = FeedbackStore(settings.feedback_db)
    app.state.profiles = ProfileStore(settings.profiles_db)
    _add_middleware(app, settings, meta.get("version", __version__))
    _add_error_handlers(app)
    app.include_router(router)
    _add_pages(app)
    app.state.ready = True
    return app


def _load_models(app: FastAPI, settings: ServeSettings) -> dict[str, str]:
    """The letter and line models, warmed up: /ready means a prediction ran. Returns the letter model's metadata."""
    # one ONNX Runtime thread per request: concurrency comes from serving requests in parallel
    recognizer = Recognizer(settings.model, threads=1)
    recognizer.predict_arrays(np.zeros((1, 28, 28), dtype=np.uint8))
    text_reader = TextReader(settings.reader, recognizer=recognizer, line_model=settings.line_model, threads=1)
    text_reader.warm_up()
    # the word list (~30 MB, 0.4 s) at start-up, not in the first /words request: memory stays flat under load
    Lexicon.english()
    app.state.recognizer, app.state.text_reader = recognizer, text_reader
    meta = recognizer.metadata
    metrics.record_model(meta.get("name", "unknown"), meta.get("version", __version__))
    return meta


def _add_middleware(app: FastAPI, settings: ServeSettings, model_version: str) -> None:
    if settings.access_log and not metrics.access_log.handlers:
        handler = logging.StreamHandler()  # stderr, one JSON object a line
        handler.setFormatter(logging.Formatter("%(message)s"))
        metrics.access_log.addHandler(handler)
        metrics.access_log.setLevel(logging.INFO)
        metrics.access_log.propagate = False
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    # outermost: it counts, times and logs every answer, the limits' 413s included
    app.add_middleware(metrics.Observability, model_version=model_version)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["*"])


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is JSON {"error", "detail"}; a stack trace never leaves the server."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        name = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette lists only the first matching route's methods, and a path may have several
            # routes (GET, POST, DELETE): the methods documented for every template the path matches
            allowed = {method.upper() for template, methods in app.openapi().get("paths", {}).items()
                       if compile_path(template)[0].match(request.url.path) for method in methods}
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse({"error": name, "detail": str(exc.detail)}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": "invalid_request", "detail": f"{where}: {first.get('msg', 'invalid')}"},
                            status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # never leak a stack trace
        return JSONResponse({"error": "internal_error", "detail": type(exc).__name__}, status_code=500)


def _add_pages(app: FastAPI) -> None:
    """The drawing page, its static files, and the API documentation (all from the package)."""

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    async def api_docs():
        return FileResponse(STATIC / "docs.html", media_type="text/html")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def api_docs_assets(name: str):
        if name not in SWAGGER_UI_FILES:
            raise ApiError(404, "not_found", f"/docs/assets/{name}")
        return FileResponse(swagger_ui_folder() / name)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise ApiError(404, "not_found", f"/static/{name}")
        return FileResponse(path)
