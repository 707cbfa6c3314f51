"""Request and response bodies of the public API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PROPERTY_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL text cannot hold it
        raise ValueError("must not contain NUL characters")
    return value


# Free text that is stored: a NUL is a 422 here, not a database error later.
StoredText = Annotated[str, AfterValidator(_no_nul)]


class AskRequest(BaseModel):
    """A guest's question about one property."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    property_id: str = Field(pattern=PROPERTY_ID_PATTERN, examples=["harbour-grand"])
    question: str = Field(min_length=1, max_length=4000, examples=["What time is check-out?"])
    session_id: str | None = Field(None, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    top_k: int | None = Field(None, ge=1, le=100)
    stream: bool = Field(False, description="answer as Server-Sent Events")
    room: str | None = Field(
        None, pattern=r"^[A-Za-z0-9-]{1,16}$", description="the guest's room, for requests"
    )
    language: str | None = Field(
        None,
        max_length=35,
        pattern=r"^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$",
        description="the page's or browser's language tag (e.g. de-AT); the answer is in the "
        "question's language, or in this one when the question is too short to tell",
        examples=["de"],
    )


class SourceOut(BaseModel):
    n: int
    document_id: str
    title: str
    chunk_id: int
    score: float
    text: str
    cited: bool | None = None


class Timings(BaseModel):
    embed: float
    search: float
    answer: float
    total: float
    ttft: float | None = None
    generation: float | None = None


class TaskOut(BaseModel):
    """The staff task a request became; ``needs_room``: ask the guest for the room number."""

    id: int
    ref: str
    status: str
    kind: str
    category: str
    priority: str
    room: str | None
    created: bool
    needs_room: bool


class AskResponse(BaseModel):
    answer: str
    sources: list[SourceOut]
    citations: list[int]
    cached: bool
    escalate: bool
    answer_source: str
    request_id: str
    timings_ms: Timings
    tokens: int | None = None
    fallback_reason: str | None = None
    standalone_question: str | None = None
    kind: str = Field(
        "information",
        description="information, service_request, complaint, safety or small_talk",
    )
    task: TaskOut | None = None
    language: str = Field("en", description="the language of the answer")


class ErrorDetail(BaseModel):
    code: str
    message: str
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
