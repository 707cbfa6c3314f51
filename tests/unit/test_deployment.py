"""The deployment files: the compose file's wiring, and the Dockerfiles (hadolint when present).

No Docker engine runs here, so these check what can be checked without building.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import PROJECT_ROOT

DOCKER = PROJECT_ROOT / "docker"
DOCKERFILES = [DOCKER / "Dockerfile.cpu", DOCKER / "Dockerfile.cuda"]


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def test_compose_runs_migrations_before_the_api_against_pgvector() -> None:
    services = _compose()["services"]
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert "healthcheck" in services["db"]
    migrate, api = services["migrate"], services["api"]
    assert migrate["command"][-2:] == ["app", "migrate"]
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    for service in (migrate, api):
        url = service["environment"]["RAG_DATABASE_URL"]
        assert url.startswith("postgresql://")
        assert "@db:5432/" in url
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert (DOCKER / migrate["build"]["context"] / migrate["build"]["dockerfile"]).is_file()


def test_optional_services_sit_behind_profiles() -> None:
    services = _compose()["services"]
    assert services["llm"]["profiles"] == ["llm"]
    assert services["sample"]["profiles"] == ["demo"]
    required = [name for name, s in services.items() if not s.get("profiles")]
    assert sorted(required) == ["api", "db", "migrate"]


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_is_multi_stage_non_root_with_a_health_check(path: Path) -> None:
    text = path.read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, re.MULTILINE)
    assert len(stages) >= 2, stages
    final = text[text.rindex("\nFROM ") :]
    user = re.findall(r"^USER\s+(\S+)", final, re.MULTILINE)
    assert user, "the final stage sets no USER"
    assert user[-1].split(":")[0] not in {"root", "0"}, user
    assert "HEALTHCHECK" in final
    assert "/readyz" in final
    owner = user[-1].split(":")[0]
    assert re.search(rf"chown -R {owner}:\S+ /app/\.data\b", final), (
        "the runtime user cannot write the model cache folder"
    )
    for source in re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", text, re.MULTILINE):
        for item in source.split():
            assert (PROJECT_ROOT / item).exists(), f"{path.name} copies missing {item}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(path: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (it comes with the dev extras)")
    run = subprocess.run([hadolint, str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``)."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name, "")
        if op == ":?" and not value:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        return value or (arg if op == ":-" else "")

    return re.sub(r"\$\{(\w+)(:[-?])?([^}]*)\}", one, text)


def test_compose_refuses_to_start_without_its_secrets() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    full = {"POSTGRES_PASSWORD": "pw-1", "RAG_ADMIN_TOKEN": "tok-1"}
    for missing in full:
        env = {k: v for k, v in full.items() if k != missing}
        with pytest.raises(ValueError, match=f"required variable {missing}"):
            _interpolate(text, env)
    services = yaml.safe_load(_interpolate(text, full | {"RAG_CORS_ORIGINS": "https://h.example"}))[
        "services"
    ]
    api = services["api"]["environment"]
    assert api["RAG_DATABASE_URL"] == "postgresql://concierge:pw-1@db:5432/concierge"
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == "pw-1"
    assert api["RAG_ADMIN_TOKEN"] == "tok-1"
    assert api["RAG_CORS_ORIGINS"] == "https://h.example"
    assert "concierge}" not in text  # no fallback password


def test_license_file_matches_the_package_metadata() -> None:
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert re.search(r'^license = "Apache-2.0"$', pyproject, re.MULTILINE)
    text = (PROJECT_ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_the_build_compiles_the_modules_the_runtime_user_cannot(path: Path) -> None:
    # The runtime user cannot write /app: without bytecode made at build time, every start
    # would compile the app's modules from source.
    text = path.read_text()
    final = text.index("\nFROM ", text.index("AS build"))
    compiled = re.search(r"^RUN \S*python3? -m compileall (.+)$", text[:final], re.MULTILINE)
    assert compiled, "the build stage compiles no bytecode"
    args = compiled.group(1).split()
    assert {"app", "ingestion"} <= set(args)
    assert args[args.index("--invalidation-mode") + 1] == "checked-hash"
    assert re.search(r"^COPY --from=build /app /app$", text[final:], re.MULTILINE)
