"""The API's contract: one pydantic model per request and response shape.

Each response model is the single source of its JSON (routes serialise the model) and of the
OpenAPI schema (routes declare it), so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

from ..reading.recognize import Prediction
from ..words.results import TextReading


class TopK(BaseModel):
    label: str
    probability: float


def _top_k(ranked: list[tuple[str, float]]) -> list[TopK]:
    return [TopK(label=k, probability=round(p, 6)) for k, p in ranked]


class LetterResult(BaseModel):
    label: Optional[str] = Field(description="a..z, or null when rejected")
    case: Optional[Literal["upper", "lower", "either"]] = Field(
        None, description="upper or lower case; either where capital and small letter share one shape "
                          "(c o s u v w x z); null when rejected or from a model that does not tell case")
    case_probability: Optional[float] = Field(
        None, description="probability of that case given the letter (null for either)")
    text: Optional[str] = Field(None, description="the letter as written: \"A\" for a capital, else the label")
    confidence: float = Field(description="calibrated probability of the answer")
    top_k: list[TopK]
    rejected: bool
    reason: Optional[str] = Field(description="why this is not read as a letter")
    verdict: Literal["letter", "not_sure", "not_a_letter", "several_letters"] = Field(
        description="letter: answered; not_sure: a letter, but the top candidates are too close to pick one "
                    "(see top_k); not_a_letter: blank, or like none of the letters the model was taught (a "
                    "scribble, a blob, a pattern); several_letters: a word or more: read it with /api/v1/words")
    preprocessed: str = Field(description="the 28x28 image the model saw, as a PNG data URL")
    profile_letters: Optional[int] = Field(None, description="read with a writer's profile of this many taught "
                                                             "letters (?profile=ID); null: read without one")

    @classmethod
    def of(cls, prediction: Prediction, preprocessed: str, profile_letters: int | None = None) -> "LetterResult":
        return cls(label=prediction.label, case=prediction.case, case_probability=prediction.case_probability,
                   text=prediction.text, confidence=round(prediction.confidence, 6), top_k=_top_k(prediction.top_k),
                   rejected=prediction.rejected, reason=prediction.reason, verdict=prediction.verdict,
                   preprocessed=preprocessed, profile_letters=profile_letters)


class LettersResponse(BaseModel):
    results: list[LetterResult] = Field(description="one result per image, in request order")


class ImagePayload(BaseModel):
    image: Optional[str] = Field(None, description="data:image/png;base64,... (or bare base64)")
    images: Optional[list[str]] = Field(None, description="several images, batched")
    top_k: int = Field(3, ge=1, le=26)


class InkPayload(BaseModel):
    """Digital ink (documents the JSON body of /api/v1/ink; the route validates it itself, naming the
    stroke and point of any error)."""

    strokes: list[list[list[float]]] = Field(min_length=1, description="strokes in writing order, each a list of "
                                             "points [x, y] or [x, y, t]: pixels, y down; t in milliseconds")
    width: Optional[float] = Field(None, gt=0, description="the writing area's width in pixels")
    height: Optional[float] = Field(None, gt=0, description="the writing area's height in pixels")


Box = list[int]  # left, top, right, bottom, in the image's own pixels


class LetterInWord(BaseModel):
    label: str
    confidence: float
    box: Box
    top_k: list[TopK]
    case: Optional[Literal["upper", "lower", "either"]] = Field(
        None, description="where the reader tells it (ink): upper, lower, or either for letters of one shape "
                          "in both cases whose height in the line does not tell")
    strokes: Optional[list[int]] = Field(None, description="read from ink: the indices of the strokes this "
                                                           "letter was read from, in the order they were sent")


class WordResult(BaseModel):
    text: str
    raw_text: str = Field(description="the reading without the lexicon")
    confidence: float = Field(description="probability that every letter is right")
    box: Box
    letters: list[LetterInWord]


class LineResult(BaseModel):
    text: str
    box: Box
    words: list[WordResult]


class TextResult(BaseModel):
    text: str = Field(description="lines joined by newlines, words by spaces")
    raw_text: str = Field(description="the same without the lexicon")
    written: str = Field(description="text in the case it was written in, where the letters tell it: a capital "
                                     "that starts a word, a word in capitals (text itself is in small letters)")
    reason: Optional[str] = Field(description="why nothing was read, when nothing was")
    lines: list[LineResult]

    @classmethod
    def of(cls, reading: TextReading) -> "TextResult":
        return cls(text=reading.text, raw_text=reading.raw_text, written=reading.written, reason=reading.reason, lines=[
            LineResult(text=line.text, box=list(line.box), words=[
                WordResult(text=w.text, raw_text=w.raw_text, confidence=round(w.confidence, 6), box=list(w.box),
                           letters=[LetterInWord(label=l.label, confidence=round(l.confidence, 6), box=list(l.box),
                                                 top_k=_top_k(l.top_k), case=l.case,
                                                 strokes=list(l.strokes) if l.strokes else None)
                                    for l in w.letters])
                for w in line.words])
            for line in reading.lines])


class TextsResponse(BaseModel):
    results: list[TextResult] = Field(description="one reading per image, in request order")


class ModelInfo(BaseModel):
    name: str
    version: str
    classes: list[str]
    data: str
    accuracy: dict[str, Any] = Field(description="each measured figure: its value and what it was measured on "
                                                 "(data, split, protocol)")
    temperature: float
    rejection_threshold: float
    lineage: dict[str, Any] = Field(default_factory=dict, description="for a fine-tuned model: the base model, "
                                    "how many of the user's letters, accuracy before/after")
    words_reader: dict[str, Any] = Field(default_factory=dict, description="how /api/v1/words reads: the reader "
                                         "(lines, segment or combined) and the line model's name and accuracy when it reads")


class FeedbackPayload(BaseModel):
    image: str = Field(description="the image exactly as it was sent for reading, as a data URL", min_length=1)
    answer: Optional[str] = Field(None, description="what the model answered (null when it refused)")
    top_k: list[TopK] = Field(default_factory=list, max_length=26)
    correct_label: str = Field(description="the letter it really is, a-z", min_length=1, max_length=1,
                               json_schema_extra={"pattern": "^[A-Za-z]$"})


class FeedbackStored(BaseModel):
    id: int
    stored: bool = True


class FeedbackStatus(BaseModel):
    collecting: bool = Field(description="whether corrections sent to this server are stored")


class Health(BaseModel):
    status: str


class ErrorBody(BaseModel):
    error: str = Field(description="a stable machine-readable name, e.g. corrupt_image")
    detail: str = Field(description="what was wrong and what was expected")


class ProfileInfo(BaseModel):
    id: str = Field(description="the profile's id: keep it secret, it is the only key to the profile")
    letters: int = Field(description="letters taught")
    per_letter: dict[str, int] = Field(default_factory=dict, description="letters taught, by letter")
    limit: int = Field(description="letters a profile can hold")


class TeachPayload(BaseModel):
    image: str = Field(description="the letter as drawn, a data URL (or bare base64)", min_length=1)
    # the route checks the letter itself (error "invalid_label"); the schema says it for clients
    label: str = Field(description="the letter it is: a-z, or A-Z for a capital",
                       json_schema_extra={"pattern": "^[A-Za-z]$"})
