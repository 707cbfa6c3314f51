"""docker/compose.yaml refuses to start without its secrets and takes CORS from one variable."""

from __future__ import annotations

import re

import yaml

from app.config import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker" / "compose.yaml"
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]+\}")


def test_secrets_are_required_with_a_message_and_have_no_default() -> None:
    text = COMPOSE.read_text()
    spec = yaml.safe_load(text)
    services = spec["services"]
    api = next(s for s in services.values() if "RAG_ADMIN_TOKEN" in s.get("environment", {}))
    env = api["environment"]
    assert REQUIRED.fullmatch(env["RAG_ADMIN_TOKEN"]), env["RAG_ADMIN_TOKEN"]
    assert "${POSTGRES_PASSWORD:?" in str(env.get("RAG_DATABASE_URL", text))
    db = next(s for s in services.values() if "POSTGRES_PASSWORD" in s.get("environment", {}))
    assert REQUIRED.fullmatch(db["environment"]["POSTGRES_PASSWORD"])
    # No secret falls back to a value anyone can read here.
    assert not re.search(r"\$\{(RAG_ADMIN_TOKEN|POSTGRES_PASSWORD):-", text)
    assert ":concierge@" not in text  # the password once defaulted to "concierge"


def test_cors_origins_come_from_one_variable() -> None:
    text = COMPOSE.read_text()
    assert text.count("RAG_CORS_ORIGINS") >= 1
    assert re.search(r"RAG_CORS_ORIGINS: \"\$\{RAG_CORS_ORIGINS:-[^}]*\}\"", text)
