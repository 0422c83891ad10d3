"""The web app and JSON API: one ``Recognizer`` per worker, inference off the event loop.

Stateless: every request carries its images, so replicas behind any load balancer scale out.
Every error is JSON ``{"error", "detail"}`` with no stack trace.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from PIL import Image
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import CorruptImageError, ImageError, ImageTooLargeError, UnsupportedImageError
from ..labels import CLASS_NAMES
from ..preprocess import preprocess
from ..recognize import Prediction, Recognizer
from ..segment import Lexicon, read_text
from .limits import MAX_BODY_BYTES, BodySizeLimit, SecurityHeaders

MAX_IMAGES_PER_REQUEST = 64
STATIC = Path(str(resources.files("handwritten_letters") / "server" / "static"))


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str):
        self.status, self.error, self.detail = status, error, detail


class TopK(BaseModel):
    label: str
    probability: float


class LetterResult(BaseModel):
    label: Optional[str] = Field(description="a..z, or null when rejected")
    confidence: float = Field(description="calibrated probability of the answer")
    top_k: list[TopK]
    rejected: bool
    reason: Optional[str] = Field(description="why this is not read as a letter")
    preprocessed: str = Field(description="the 28x28 image the model saw, as a PNG data URL")


class LettersResponse(BaseModel):
    results: list[LetterResult] = Field(description="one result per image, in request order")


class ImagePayload(BaseModel):
    image: Optional[str] = Field(None, description="data:image/png;base64,... (or bare base64)")
    images: Optional[list[str]] = Field(None, description="several images, batched")
    top_k: int = Field(3, ge=1, le=26)


class ModelInfo(BaseModel):
    name: str
    version: str
    classes: list[str]
    data: str
    accuracy: dict[str, Any]
    temperature: float
    rejection_threshold: float


class ErrorBody(BaseModel):
    error: str
    detail: str


# Both routes read their body themselves (multipart files or JSON data URLs); this documents it.
IMAGE_REQUEST_BODY = {"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}}}},
    "application/json": {"schema": ImagePayload.model_json_schema()},
}, "required": True}}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (413, 415, 422)
}


def png_data_url(pixels) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_data_url(text: str, index: int) -> bytes:
    payload = text.split(",", 1)[1] if text.startswith("data:") else text
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_base64", f"image {index}: not valid base64 data") from None


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _error_status(exc: ImageError) -> tuple[int, str]:
    if isinstance(exc, UnsupportedImageError):
        return 415, "unsupported_media_type"
    if isinstance(exc, ImageTooLargeError):
        return 413, "image_too_large"
    if isinstance(exc, CorruptImageError):
        return 422, "corrupt_image"
    return 422, "invalid_image"


def create_app(model_path: str | Path | None = None, cors_origins: list[str] | None = None) -> FastAPI:
    model_path = model_path or os.environ.get("LETTERS_MODEL") or None
    origins = cors_origins if cors_origins is not None else [
        o for o in os.environ.get("LETTERS_CORS_ORIGINS", "").split(",") if o
    ]
    # one ONNX Runtime thread per request: concurrency comes from serving requests in parallel
    recognizer = Recognizer(model_path, threads=1)
    app = FastAPI(
        title="handwritten-letters", version=__version__,
        description="Read handwritten letters a-z. Upload images or send canvas drawings as data URLs.",
    )
    app.state.recognizer = recognizer
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    if origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["*"])

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        name = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": name, "detail": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"error": "invalid_request", "detail": f"{where}: {first.get('msg', 'invalid')}"},
                            status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # never leak a stack trace
        return JSONResponse({"error": "internal_error", "detail": type(exc).__name__}, status_code=500)

    async def read_images(request: Request) -> tuple[list[tuple[str, bytes]], int]:
        content_type = request.headers.get("content-type", "")
        top_k = 3
        if content_type.startswith("multipart/form-data"):
            form = await request.form(max_files=MAX_IMAGES_PER_REQUEST + 1)  # one over: we answer 413 ourselves
            files = [(getattr(v, "filename", None) or k, await v.read()) for k, v in form.multi_items()
                     if hasattr(v, "read")]
            if "top_k" in form:
                top_k = ImagePayload(top_k=form["top_k"]).top_k
        elif content_type.startswith("application/json"):
            try:
                payload = ImagePayload.model_validate_json(await request.body())
            except ValueError as exc:
                raise ApiError(422, "invalid_request", str(exc).splitlines()[0]) from None
            texts = ([payload.image] if payload.image else []) + (payload.images or [])
            files = [(f"image {i}", decode_data_url(t, i)) for i, t in enumerate(texts)]
            top_k = payload.top_k
        else:
            raise ApiError(415, "unsupported_media_type",
                           "send multipart/form-data with image files, or JSON {\"image\": \"data:image/png;base64,...\"}")
        if not files:
            raise ApiError(422, "no_image", "the request holds no image")
        if len(files) > MAX_IMAGES_PER_REQUEST:
            raise ApiError(413, "too_many_images", f"at most {MAX_IMAGES_PER_REQUEST} images per request")
        return files, top_k

    def recognize_all(files: list[tuple[str, bytes]], top_k: int) -> list[Prediction]:
        items = []
        for name, content in files:
            try:
                items.append(preprocess(content, name=name))
            except ImageError as exc:
                status, error = _error_status(exc)
                raise ApiError(status, error, str(exc)) from None
        return recognizer.predict_preprocessed(items, top_k)

    # The schema documents the response; the handler builds the JSON itself, which skips FastAPI's
    # re-validation of a response it has just built (measured: part of the per-request cost).
    @app.post("/api/v1/letters", response_model=None,
              responses={200: {"model": LetterResult | LettersResponse}, **ERROR_RESPONSES},
              openapi_extra=IMAGE_REQUEST_BODY)
    async def read_letters(request: Request) -> JSONResponse:
        """Read one letter per image: image files (multipart) or canvas data URLs (JSON).

        One image gives one result object; several give ``{"results": [...]}`` in request order.
        """
        files, top_k = await read_images(request)
        predictions = await run_in_threadpool(recognize_all, files, top_k)
        results = [{**p.to_dict(), "preprocessed": png_data_url(p.pixels)} for p in predictions]
        return JSONResponse(results[0] if len(results) == 1 else {"results": results})

    lexicon_holder: dict[str, Lexicon] = {}

    def english() -> Lexicon:
        if "en" not in lexicon_holder:  # loaded on first use: most requests are single letters
            lexicon_holder["en"] = Lexicon.english()
        return lexicon_holder["en"]

    def read_all(files: list[tuple[str, bytes]], use_lexicon: bool) -> list[dict]:
        results = []
        for name, content in files:
            try:
                reading = read_text(content, recognizer, english() if use_lexicon else None, name=name)
            except ImageError as exc:
                status, error = _error_status(exc)
                raise ApiError(status, error, str(exc)) from None
            results.append(reading.to_dict())
        return results

    @app.post("/api/v1/words", responses=ERROR_RESPONSES, openapi_extra=IMAGE_REQUEST_BODY)
    async def read_words(request: Request, lexicon: bool = True):
        """Read handwritten words and lines: text, plus lines -> words -> letters with boxes and top-k.

        ``?lexicon=false`` gives the raw reading; otherwise an English word list re-ranks it and
        ``raw_text`` keeps the reading without it. Several images give ``{"results": [...]}``.
        """
        files, _ = await read_images(request)
        results = await run_in_threadpool(read_all, files, lexicon)
        return results[0] if len(results) == 1 else {"results": results}

    @app.get("/api/v1/model", response_model=ModelInfo)
    async def model_info() -> ModelInfo:
        meta = recognizer.metadata
        accuracy = {k: _number_or_text(meta[k]) for k in ("validation_accuracy", "float_validation_accuracy",
                                                           "test_accuracy") if meta.get(k)}
        return ModelInfo(
            name=meta.get("name", "unknown"), version=meta.get("version", __version__), classes=list(CLASS_NAMES),
            data=meta.get("training_data", "not recorded"), accuracy=accuracy,
            temperature=recognizer.model.temperature, rejection_threshold=recognizer.model.rejection_threshold,
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise ApiError(404, "not_found", f"/static/{name}")
        return FileResponse(path)

    return app
