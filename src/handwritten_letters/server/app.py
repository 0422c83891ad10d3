"""The web app: one ``Recognizer`` and one ``TextReader`` per worker, the API's routes (routes.py), limits and errors.

Stateless: every request carries its images, so replicas behind any load balancer scale out.
Every error is JSON ``{"error", "detail"}`` with no stack trace.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..reading.recognize import Recognizer
from ..words.lexicon import Lexicon
from ..words.line_reader import TextReader
from . import metrics
from .limits import MAX_BODY_BYTES, BodySizeLimit, SecurityHeaders
from .routes import MAX_IMAGES_PER_REQUEST, ApiError, router  # noqa: F401  (MAX_IMAGES_PER_REQUEST: part of the API)

STATIC = Path(str(resources.files("handwritten_letters") / "server" / "static"))
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")  # Swagger UI 5 from the fastapi-offline package, no CDN


def swagger_ui_folder() -> Path:
    return Path(str(resources.files("fastapi_offline") / "static"))


def create_app(model_path: str | Path | None = None, cors_origins: list[str] | None = None,
               feedback_db: str | Path | None = None) -> FastAPI:
    """The app; ``feedback_db`` (or $LETTERS_FEEDBACK_DB) turns on storing corrections there."""
    model_path = model_path or os.environ.get("LETTERS_MODEL") or None
    feedback_db = feedback_db or os.environ.get("LETTERS_FEEDBACK_DB") or None
    origins = cors_origins if cors_origins is not None else [
        o for o in os.environ.get("LETTERS_CORS_ORIGINS", "").split(",") if o
    ]
    # one ONNX Runtime thread per request: concurrency comes from serving requests in parallel
    recognizer = Recognizer(model_path, threads=1)
    recognizer.predict_arrays(np.zeros((1, 28, 28), dtype=np.uint8))  # warm-up: /ready means a prediction ran
    text_reader = TextReader(os.environ.get("LETTERS_READER", "auto"), recognizer=recognizer,
                             line_model=os.environ.get("LETTERS_LINE_MODEL") or None, threads=1)
    text_reader.warm_up()
    # the word list (~30 MB, 0.4 s) at start-up, not in the first /words request: memory stays flat under load
    Lexicon.english()  # built once per worker, shared by every request
    app = FastAPI(
        title="handwritten-letters", version=__version__,
        description="Read handwritten letters a-z. Upload images or send canvas drawings as data URLs.",
        docs_url=None, redoc_url=None,  # /docs is served below from packaged assets: it works offline
    )
    app.state.recognizer = recognizer
    app.state.text_reader = text_reader
    app.state.ready = True
    meta = recognizer.metadata
    metrics.record_model(meta.get("name", "unknown"), meta.get("version", __version__))
    if os.environ.get("LETTERS_ACCESS_LOG") == "1" and not metrics.access_log.handlers:
        handler = logging.StreamHandler()  # stderr, one JSON object a line
        handler.setFormatter(logging.Formatter("%(message)s"))
        metrics.access_log.addHandler(handler)
        metrics.access_log.setLevel(logging.INFO)
        metrics.access_log.propagate = False
    if feedback_db:
        from .feedback import FeedbackStore

        app.state.feedback = FeedbackStore(feedback_db)
    else:
        app.state.feedback = None
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    # outermost: it counts, times and logs every answer, the limits' 413s included
    app.add_middleware(metrics.Observability, model_version=meta.get("version", __version__))
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["*"])

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        name = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette lists only the first matching route's methods, and a path may have a GET and a
            # POST route: the methods documented for the path are the ones it allows
            documented = app.openapi().get("paths", {}).get(request.url.path, {})
            if documented:
                headers["Allow"] = ", ".join(sorted(method.upper() for method in documented))
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

    app.include_router(router)

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

    return app
