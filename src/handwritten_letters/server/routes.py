"""The API's routes. Each returns its response model (serialised by the model itself) and
documents its error responses; every error is ``ApiError`` -> JSON ``{"error", "detail"}``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import time
from typing import Any, Optional

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..errors import CorruptImageError, ImageError, ImageTooLargeError, ReadingTooLongError, UnsupportedImageError
from ..labels import CLASS_NAMES
from ..reading.preprocess import preprocess
from ..reading.profile import WriterProfile
from ..reading.recognize import Prediction, Recognizer
from ..reading.writer_letters import CASE_UPPER, label_of
from ..words.lexicon import Lexicon
from ..words.line_reader import TextReader
from . import metrics
from .profiles import MAX_LETTERS_PER_PROFILE, ProfileFull, ProfileStore
from .schemas import (
    ErrorBody,
    FeedbackPayload,
    FeedbackStatus,
    FeedbackStored,
    Health,
    ImagePayload,
    InkPayload,
    LetterResult,
    LettersResponse,
    ModelInfo,
    ProfileInfo,
    TeachPayload,
    TextResult,
    TextsResponse,
)

MAX_IMAGES_PER_REQUEST = 64
WORDS_TIME_BUDGET = 4.0  # seconds of reading per /words request; past it the answer is 422, not a stuck worker

router = APIRouter()


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str):
        self.status, self.error, self.detail = status, error, detail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


IMAGE_ERRORS = errors(413, 415, 422)
# The routes read their bodies themselves (multipart files, JSON data URLs, ink) to answer in the
# API's own error shape; these document what they accept, so the schema is the contract.
def json_body_schema(model) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)  # nested models (TopK) are the components the responses already declare
    return schema


def json_request_body(model, **extra) -> dict[str, Any]:
    """``openapi_extra`` for a route that takes ``model`` as its JSON body."""
    return {"requestBody": {"content": {"application/json": {"schema": {**json_body_schema(model), **extra}}},
                            "required": True}}


def _image_payload_schema() -> dict[str, Any]:
    """ImagePayload with what the route checks itself: an image or images, at most MAX_IMAGES_PER_REQUEST."""
    schema = json_body_schema(ImagePayload)
    images = schema["properties"]["images"]
    listed = next(option for option in images.get("anyOf", [images]) if option.get("type") == "array")
    listed.update(minItems=1, maxItems=MAX_IMAGES_PER_REQUEST)
    return {**schema, "anyOf": [{"required": ["image"]}, {"required": ["images"]}]}


IMAGE_REQUEST_BODY = {"requestBody": {"content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1,
                 "maxItems": MAX_IMAGES_PER_REQUEST},
        "top_k": {"type": "integer", "minimum": 1, "maximum": 26}}}},
    "application/json": {"schema": _image_payload_schema()},
}, "required": True}}


def json_response(model) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


def png_data_url(pixels) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_data_url(text: str, index: int) -> bytes:
    if text.startswith("data:"):
        header, comma, payload = text.partition(",")
        if not comma:
            raise ApiError(422, "invalid_data_url", f"image {index}: a data URL needs a comma before its data "
                                                    "(data:image/png;base64,...)")
        if not header.endswith(";base64"):
            raise ApiError(422, "invalid_data_url", f"image {index}: only base64 data URLs are accepted")
    else:
        payload = text
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_base64", f"image {index}: not valid base64 data") from None


def image_error(exc: ImageError) -> ApiError:
    if isinstance(exc, UnsupportedImageError):
        return ApiError(415, "unsupported_media_type", str(exc))
    if isinstance(exc, ImageTooLargeError):
        return ApiError(413, "image_too_large", str(exc))
    if isinstance(exc, CorruptImageError):
        return ApiError(422, "corrupt_image", str(exc))
    if isinstance(exc, ReadingTooLongError):
        return ApiError(422, "reading_too_long", str(exc))
    return ApiError(422, "invalid_image", str(exc))


def _top_k_field(value: Any) -> int:
    try:
        return ImagePayload(top_k=value).top_k
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", f"top_k: {exc.errors()[0]['msg']}") from None


async def read_images(request: Request) -> tuple[list[tuple[str, bytes]], int]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=MAX_IMAGES_PER_REQUEST + 1)  # one over: we answer 413 ourselves
        except Exception as exc:  # Starlette raises its own parse errors (bad boundary, too many parts...)
            raise ApiError(422, "invalid_multipart", f"the multipart body cannot be read ({exc})") from None
        files = [(getattr(v, "filename", None) or k, await v.read()) for k, v in form.multi_items()
                 if hasattr(v, "read")]
        top_k = _top_k_field(form["top_k"]) if "top_k" in form else 3
    elif content_type.startswith("application/json"):
        payload = parsed(ImagePayload, await request.body())
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


def parsed(model, body: bytes):
    """A JSON body as the pydantic ``model``, or a 422 naming the first field that is wrong."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ApiError(422, "invalid_request", f"{where}: {first['msg']}") from None


async def json_payload(request: Request, model, shape: str):
    """A JSON body as ``model``, or the API's 415/422 naming what was expected."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(415, "unsupported_media_type", f"send JSON {shape}")
    return parsed(model, await request.body())


def recognizer_of(request: Request) -> Recognizer:
    return request.app.state.recognizer


def _recognize_all(recognizer: Recognizer, files: list[tuple[str, bytes]], top_k: int,
                   profile: WriterProfile | None = None) -> list[Prediction]:
    items = []
    for name, content in files:
        try:
            items.append(preprocess(content, name=name))
        except ImageError as exc:
            raise image_error(exc) from None
    return recognizer.predict_preprocessed(items, top_k, profile)


@router.post("/api/v1/letters", response_model=LetterResult | LettersResponse, responses={**IMAGE_ERRORS, **errors(404)},
             openapi_extra=IMAGE_REQUEST_BODY)
async def read_letters(request: Request, profile: Optional[str] = Query(
        None, description="a writer's profile id: answers lean toward the letters that writer taught"),
        top_k: Optional[int] = Query(None, ge=1, le=26, description="candidates to return (default 3; the body's "
                                                                       "top_k field does the same)")) -> Response:
    """Read one letter per image: image files (multipart) or canvas data URLs (JSON).

    One image gives one result object; several give ``{"results": [...]}`` in request order.
    """
    writer = None
    if profile is not None:
        writer = await run_in_threadpool(profiles_of(request).writer_profile, _known_profile(request, profile))
    files, top_k_in_body = await read_images(request)
    predictions = await run_in_threadpool(_recognize_all, recognizer_of(request), files, top_k or top_k_in_body,
                                          writer)
    metrics.record_predictions(predictions)
    taught = None if profile is None else (len(writer) if writer is not None else 0)
    results = [LetterResult.of(p, png_data_url(p.pixels), taught) for p in predictions]
    return json_response(results[0] if len(results) == 1 else LettersResponse(results=results))


def _read_all(reader: TextReader, files: list[tuple[str, bytes]], use_lexicon: bool) -> list[TextResult]:
    deadline = time.monotonic() + WORDS_TIME_BUDGET
    results = []
    for name, content in files:
        try:
            reading = reader.read(content, Lexicon.english() if use_lexicon else None, name=name, deadline=deadline)
        except ImageError as exc:
            raise image_error(exc) from None
        results.append(TextResult.of(reading))
    return results


@router.post("/api/v1/words", response_model=TextResult | TextsResponse, responses=IMAGE_ERRORS,
             openapi_extra=IMAGE_REQUEST_BODY)
async def read_words(request: Request, lexicon: bool = Query(True, description="re-rank with an English word list")
                     ) -> Response:
    """Read handwritten words and lines: text, plus lines -> words -> letters with boxes and top-k.

    ``?lexicon=false`` gives the raw reading; otherwise an English word list re-ranks it and
    ``raw_text`` keeps the reading without it. Several images give ``{"results": [...]}``.
    Pages of specks or with too many pieces of ink come back with a ``reason`` and no lines.
    """
    files, _ = await read_images(request)
    results = await run_in_threadpool(_read_all, request.app.state.text_reader, files, lexicon)
    return json_response(results[0] if len(results) == 1 else TextsResponse(results=results))


INK_EXAMPLE = {"strokes": [[[10, 10, 0], [10, 60, 120]], [[10, 35, 400], [30, 30, 450], [40, 60, 520]]],
               "width": 200, "height": 100}
INK_REQUEST_BODY = {"requestBody": {"content": {
    "application/json": {"schema": json_body_schema(InkPayload), "example": INK_EXAMPLE},
    "application/inkml+xml": {"schema": {"type": "string", "description": "W3C InkML: <trace> elements with X Y "
                                                                           "or X Y T channels"}},
}, "required": True}}


def _read_ink(reader: TextReader, body: bytes, content_type: str, use_lexicon: bool, top_k: int,
              profile: WriterProfile | None) -> TextResult:
    from ..reading.ink import ink_from_inkml, ink_from_json

    deadline = time.monotonic() + WORDS_TIME_BUDGET
    try:
        ink = ink_from_json(body, "ink") if content_type.startswith("application/json") else ink_from_inkml(body, "ink")
        reading = reader.read_ink(ink, Lexicon.english() if use_lexicon else None, top_k, name="ink",
                                  deadline=deadline, profile=profile)
    except ReadingTooLongError as exc:
        raise image_error(exc) from None
    except ImageError as exc:  # InkError: names the stroke and point and what was expected
        raise ApiError(422, "invalid_ink", str(exc)) from None
    return TextResult.of(reading)


@router.post("/api/v1/ink", response_model=TextResult, responses={**errors(404, 413, 415, 422)},
             openapi_extra=INK_REQUEST_BODY)
async def read_ink_route(request: Request,
                         lexicon: bool = Query(True, description="re-rank with an English word list"),
                         top_k: int = Query(3, ge=1, le=26, description="candidates for each letter"),
                         profile: Optional[str] = Query(None, description="a writer's profile id: letters lean "
                                                                          "toward the ones that writer taught")
                         ) -> Response:
    """Read handwritten words and lines from digital ink: pen strokes in the order they were written.

    JSON ``{"strokes": [[[x, y, t], ...], ...], "width": W, "height": H}`` (x, y in pixels, y down;
    t in ms, optional; width and height optional) or W3C InkML. The answer has the shape of
    ``/api/v1/words``; each letter also names the strokes it was read from and, where the line
    tells it, its case. Boxes are in the ink's own pixels.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/json", "application/inkml+xml", "application/xml", "text/xml")):
        raise ApiError(415, "unsupported_media_type", "send ink as application/json {\"strokes\": [[[x, y, t], ...]]} "
                                                      "or as application/inkml+xml")
    writer = None
    if profile is not None:
        writer = await run_in_threadpool(profiles_of(request).writer_profile, _known_profile(request, profile))
    body = await request.body()
    result = await run_in_threadpool(_read_ink, request.app.state.text_reader, body, content_type, lexicon, top_k,
                                     writer)
    return json_response(result)


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


@router.get("/api/v1/model", response_model=ModelInfo)
async def model_info(request: Request) -> Response:
    """The served model: name, classes, training data, measured accuracy, calibration."""
    recognizer = recognizer_of(request)
    meta = recognizer.metadata
    accuracy = measured_figures(meta)
    lineage = {}
    if recognizer.profile is not None and len(recognizer.profile):
        lineage["writer_profile"] = {"letters": len(recognizer.profile),
                                     "letters_taught": sorted(recognizer.profile.taught()),
                                     "how": "answers lean toward the letters of one writer (letters finetune)"}
    if meta.get("base_model"):
        lineage = {"base_model": meta["base_model"], "finetune_letters": _number_or_text(meta["finetune_letters"]),
                   **json.loads(meta.get("finetune_before_after") or "{}")}
    return json_response(ModelInfo(
        name=meta.get("name", "unknown"), version=meta.get("version", __version__), classes=list(CLASS_NAMES),
        data=meta.get("training_data", "not recorded"), accuracy=accuracy,
        temperature=recognizer.model.temperature, rejection_threshold=recognizer.model.rejection_threshold,
        lineage=lineage, words_reader=request.app.state.text_reader.describe(),
    ))


VALIDATION_UNDESCRIBED = "the training run's validation split (not described in this model file)"


def measured_figures(meta: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each figure stored in the model, with what it was measured on (data, split, protocol)."""
    validation = meta.get("validation_data") or VALIDATION_UNDESCRIBED
    figures = {}
    if meta.get("validation_accuracy"):
        figures["validation_accuracy"] = {"value": _number_or_text(meta["validation_accuracy"]),
                                          "on": validation + "; the served model, as stored 28x28 arrays"}
    if meta.get("float_validation_accuracy"):
        figures["float_validation_accuracy"] = {"value": _number_or_text(meta["float_validation_accuracy"]),
                                                "on": validation + "; the float32 model before int8 quantization"}
    if meta.get("operating_point"):
        figures["operating_point"] = {"value": meta["operating_point"], "on": validation}
    if meta.get("test_accuracy"):
        figures["test_accuracy"] = {"value": meta["test_accuracy"], "on": "as stated in the value"}
    for name, text in json.loads(meta.get("measured") or "{}").items():
        figures[name] = {"value": text, "on": "as stated in the value"}
    return figures


@router.get("/health", response_model=Health)
async def health() -> Response:
    """Alive (for a liveness probe)."""
    return json_response(Health(status="ok"))


@router.get("/ready", response_model=Health, responses=errors(503))
async def ready(request: Request) -> Response:
    """Ready to serve: the model is loaded and a warm-up prediction ran (for a readiness probe)."""
    if not getattr(request.app.state, "ready", False):
        raise ApiError(503, "not_ready", "the model is still loading")
    return json_response(Health(status="ready"))


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    """Prometheus metrics (text exposition format), summed over every server worker."""
    body, content_type = metrics.metrics_body()
    return Response(body, media_type=content_type)


@router.get("/api/v1/feedback", response_model=FeedbackStatus)
async def feedback_status(request: Request) -> Response:
    """Whether this server stores corrections (``letters serve --collect-feedback``)."""
    return json_response(FeedbackStatus(collecting=request.app.state.feedback is not None))


@router.post("/api/v1/feedback", response_model=FeedbackStored, responses=errors(403, 413, 415, 422),
             openapi_extra=json_request_body(FeedbackPayload))
async def store_feedback(request: Request) -> Response:
    """Store a correction: the image as it was sent, the model's answer and top-k, the right letter."""
    from .feedback import Correction

    store = request.app.state.feedback
    if store is None:
        raise ApiError(403, "feedback_off", "this server does not store corrections (start it with --collect-feedback)")
    payload = await json_payload(request, FeedbackPayload, "{\"image\", \"answer\", \"top_k\", \"correct_label\"}")
    if payload.correct_label.lower() not in CLASS_NAMES:
        raise ApiError(422, "invalid_label", f"correct_label: expected a letter a-z, got {payload.correct_label!r}")
    image = decode_data_url(payload.image, 0)
    meta = recognizer_of(request).metadata
    correction = Correction(image, payload.answer, [(k.label, k.probability) for k in payload.top_k],
                            payload.correct_label, meta.get("name", "unknown"), meta.get("version", __version__))
    try:
        row_id = await run_in_threadpool(store.add, correction)
    except ImageError as exc:
        raise image_error(exc) from None
    return json_response(FeedbackStored(id=row_id))


# ----------------------------------------------------------------------------- writers' profiles

PROFILE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def profiles_of(request: Request) -> ProfileStore:
    return request.app.state.profiles


def _known_profile(request: Request, profile_id: str) -> str:
    if not PROFILE_ID.match(profile_id) or not profiles_of(request).exists(profile_id):
        raise ApiError(404, "no_such_profile", "no profile with that id (it may have been deleted)")
    return profile_id


def _profile_info(store: ProfileStore, profile_id: str) -> ProfileInfo:
    counts = store.counts(profile_id)
    return ProfileInfo(id=profile_id, letters=sum(counts.values()), per_letter=counts, limit=MAX_LETTERS_PER_PROFILE)


@router.post("/api/v1/profiles", response_model=ProfileInfo, status_code=201, responses=errors(507))
async def create_profile(request: Request) -> Response:
    """A new, empty writer's profile. Its id is the only key to it: keep it (the page keeps it in the browser)."""
    try:
        profile_id = await run_in_threadpool(profiles_of(request).create)
    except ProfileFull as exc:
        raise ApiError(507, "too_many_profiles", str(exc)) from None
    return JSONResponse(_profile_info(profiles_of(request), profile_id).model_dump(), status_code=201)


@router.get("/api/v1/profiles/{profile_id}", response_model=ProfileInfo, responses=errors(404))
async def get_profile(request: Request, profile_id: str) -> Response:
    """What a profile holds: how many letters, by letter."""
    return json_response(_profile_info(profiles_of(request), _known_profile(request, profile_id)))


@router.delete("/api/v1/profiles/{profile_id}", response_model=Health, responses=errors(404))
async def delete_profile(request: Request, profile_id: str) -> Response:
    """Forget a profile and every letter it holds."""
    await run_in_threadpool(profiles_of(request).delete, _known_profile(request, profile_id))
    return json_response(Health(status="deleted"))


@router.post("/api/v1/profiles/{profile_id}/letters", response_model=ProfileInfo,
             responses=errors(404, 409, 413, 415, 422, 507), openapi_extra=json_request_body(TeachPayload))
async def teach_letter(request: Request, profile_id: str) -> Response:
    """Teach a profile one letter (a drawing and what it is); the next answer read with the profile uses it."""
    store = profiles_of(request)
    _known_profile(request, profile_id)
    payload = await json_payload(request, TeachPayload, "{\"image\": \"data:image/png;base64,...\", \"label\": \"a\"}")
    label = label_of(payload.label)
    if label is None:
        raise ApiError(422, "invalid_label", f"label: expected one letter a-z or A-Z, got {payload.label!r}")
    image = decode_data_url(payload.image, 0)
    await run_in_threadpool(_store_letter, recognizer_of(request), store, profile_id, label, image)
    return json_response(_profile_info(store, profile_id))


def _store_letter(recognizer: Recognizer, store: ProfileStore, profile_id: str, label: tuple[str, int],
                  image: bytes) -> None:
    try:
        item = preprocess(image, name="image")
    except ImageError as exc:
        raise image_error(exc) from None
    if item.rejected:
        raise ApiError(422, "not_a_letter", item.rejected)
    if not recognizer.model.has_features:
        raise ApiError(409, "model_without_features", "the served model cannot learn a writer's letters")
    try:
        store.add(profile_id, label[0], label[1], image, recognizer.model.features(item.pixels[None])[0])
    except ProfileFull as exc:
        raise ApiError(507, "profile_full", str(exc)) from None


@router.get("/api/v1/profiles/{profile_id}/export", response_class=Response, responses={
    **errors(404), 200: {"description": "a zip of a/, b/, ... (A/ for capitals) folders of PNG images",
                         "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
async def export_profile(request: Request, profile_id: str) -> Response:
    """The profile's letters as a zip of a/, b/, ... (A/ for capitals) folders: what `letters finetune` reads."""
    letters = await run_in_threadpool(profiles_of(request).letters, _known_profile(request, profile_id))
    body = await run_in_threadpool(_zip_letters, letters)
    return Response(body, media_type="application/zip",
                    headers={"Content-Disposition": "attachment; filename=my-letters.zip"})


def _zip_letters(letters: list[tuple[str, int, bytes]]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, (label, letter_case, image) in enumerate(letters):
            folder = label.upper() if letter_case == CASE_UPPER else label
            archive.writestr(f"{folder}/{index:04d}.png", image)
    return buffer.getvalue()
