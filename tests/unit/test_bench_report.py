"""The bench's CPU row judges the cost of a question on a busy service and shows both phases."""

from __future__ import annotations

from typing import Any

from benchlib.report import rows


def _run(rate_ms: tuple[float, float], clients_ms: tuple[float, float]) -> dict[str, Any]:
    def phase(service: float, postgres: float, **extra: Any) -> dict[str, Any]:
        total = service + postgres
        cpu = {"service": service, "postgres": postgres, "total": total}
        return {"cpu_ms_per_request": cpu, **extra}

    return {
        "service": {
            "uncached_rate": phase(*rate_ms, target_rate=100),
            "uncached_clients": phase(*clients_ms, clients=32),
        }
    }


def _cpu_row(run: dict[str, Any]) -> dict[str, Any]:
    return next(row for row in rows(run) if row["id"] == "cpu")


def test_the_row_passes_on_the_busy_service_cost_whatever_the_idle_one() -> None:
    row = _cpu_row(_run(rate_ms=(7.03, 2.44), clients_ms=(5.28, 2.51)))
    assert row["pass"] is True
    assert "7.79 ms with 32 clients" in row["value"]
    assert "9.47 ms at 100 req/s" in row["value"]


def test_the_row_misses_when_a_busy_question_costs_more_than_8_ms() -> None:
    row = _cpu_row(_run(rate_ms=(4.0, 1.5), clients_ms=(6.0, 2.5)))
    assert row["pass"] is False


def test_the_row_is_undecided_without_the_clients_phase() -> None:
    run = _run(rate_ms=(4.0, 1.5), clients_ms=(4.0, 1.5))
    del run["service"]["uncached_clients"]
    assert _cpu_row(run)["pass"] is None
