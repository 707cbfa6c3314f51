"""The OpenAPI schema as served: the limits the server really applies, read from the settings.

Request models carry generous static bounds (a schema cannot read settings at import); this
replaces them with the configured ones, so clients generated from the schema agree with the
server and a test can compare the two.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.config import Settings


def limits(settings: Settings) -> dict[tuple[str, str, str], int]:
    """(schema, property, keyword) → the value the server enforces."""
    return {
        ("AskRequest", "question", "maxLength"): settings.max_question_chars,
        ("AskRequest", "top_k", "maximum"): settings.max_top_k,
    }


def _apply(schema: dict[str, Any], settings: Settings) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for (model, prop, keyword), value in limits(settings).items():
        target = components.get(model, {}).get("properties", {}).get(prop)
        if target is None:
            continue
        # Optional fields are ``anyOf: [{type: integer, ...}, {type: null}]``.
        for variant in [target, *target.get("anyOf", [])]:
            if keyword in variant:
                variant[keyword] = value


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve a schema whose limits are the configured ones (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _apply(schema, settings)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
