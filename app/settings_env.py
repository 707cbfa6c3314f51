"""Settings as operators meet them: one-line errors naming the variable, and ``.env.example``.

The comments above each field of :class:`app.config.Settings` are its documentation: the
generated ``.env.example`` carries them, so the file and the class cannot drift apart
(``python -m app env-example --check`` and a unit test compare them).
"""

from __future__ import annotations

import inspect
import io
import json
import tokenize
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from app.config import PROJECT_ROOT, Settings

ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
_PREFIX = Settings.model_config.get("env_prefix", "")


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message is one line for operators."""


@dataclass(frozen=True, slots=True)
class SettingDoc:
    """One setting as documented: variable, default (as an operator writes it) and comment."""

    variable: str
    default: str
    comment: str
    accepted: str


def variable(field: str) -> str:
    return f"{_PREFIX}{field}".upper()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings; a bad value raises :class:`SettingsError` with a one-line message."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None


def describe_error(exc: ValidationError) -> str:
    """``RAG_EMBEDDING_DEVICE='gpu' is not accepted: one of auto, cpu, cuda`` (each bad one)."""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        if field not in Settings.model_fields:
            parts.append(error["msg"])
            continue
        accepted = _accepted(field) or error["msg"].removeprefix("Input should be ")
        value = error.get("input")
        shown = "(secret)" if _secret(field) else repr(value)
        parts.append(f"{variable(field)}={shown} is not accepted: {accepted}")
    return "; ".join(parts)


def _secret(field: str) -> bool:
    annotation = Settings.model_fields[field].annotation
    return SecretStr in (annotation, *typing.get_args(annotation))


def _accepted(field: str) -> str:
    """What a field accepts, in words: the choices of a Literal, the bounds of a number."""
    info = Settings.model_fields[field]
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if typing.get_origin(annotation) is dict:
        return "a JSON object"
    kind = annotation if isinstance(annotation, type) else (args[0] if args else None)
    names = {int: "a whole number", float: "a number", bool: "true or false"}
    if kind not in names:
        return ""
    bounds = []
    for meta in info.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                bounds.append(f"{word} {getattr(meta, attr)}")
    assert isinstance(kind, type)
    return names[kind] + (" " + " and ".join(bounds) if bounds else "")


def _comments() -> dict[str, str]:
    """The comment block right above each field in the source of ``Settings``."""
    source = inspect.getsource(Settings)
    comments: dict[str, str] = {}
    block: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if not text.startswith(("---", "fmt:", "type:", "noqa")):
                block.append(text)
        elif token.type == tokenize.NL:
            if token.line.strip() == "":
                block = []  # a blank line ends a section's comment
        elif token.type == tokenize.NAME and token.start[1] == 4:
            if token.string in Settings.model_fields:
                comments[token.string] = " ".join(block)
            block = []
    return comments


def documented() -> list[SettingDoc]:
    """Every setting, in the order of the class."""
    comments = _comments()
    docs = []
    for name, info in Settings.model_fields.items():
        default = info.default
        if isinstance(default, Path):
            shown = (
                str(default.relative_to(PROJECT_ROOT))
                if default.is_relative_to(PROJECT_ROOT)
                else str(default)
            )
        elif default is None:
            shown = ""
        elif isinstance(default, bool):
            shown = str(default).lower()
        elif isinstance(default, dict):
            shown = json.dumps(default)
        else:
            shown = str(default)
        docs.append(SettingDoc(variable(name), shown, comments.get(name, ""), _accepted(name)))
    return docs


def env_example() -> str:
    """The text of ``.env.example``: every setting commented out at its default."""
    lines = [
        "# Every setting of the service, at its default (generated: python -m app env-example).",
        "# Copy to .env and uncomment what you change; the environment overrides the file.",
        "# Default paths shown without a leading / are inside the project's folder.",
    ]
    for doc in documented():
        lines.append("")
        if doc.comment:
            lines.append(f"# {doc.comment}")
        if doc.accepted:
            lines.append(f"# Accepted: {doc.accepted}.")
        lines.append(f"# {doc.variable}={doc.default}")
    return "\n".join(lines) + "\n"
