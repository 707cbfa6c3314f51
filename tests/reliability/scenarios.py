"""The scenario list shared by the tests and the runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.reliability.crash import crash_safety
from tests.reliability.data import cache_races, isolation
from tests.reliability.freeze import frozen_database
from tests.reliability.harness import Env, Outcome
from tests.reliability.hostile import hostile_input
from tests.reliability.hostile_files import document_bombs, giant_text, log_injection
from tests.reliability.llm import llm_faults
from tests.reliability.load import overload, sigterm_under_load, soak
from tests.reliability.outage import database_outage
from tests.reliability.requests import session_flood, staff_scope, webhook_down
from tests.reliability.slow_clients import slow_clients


def all_scenarios(soak_s: float) -> dict[str, Callable[[Env], Awaitable[Outcome]]]:
    """Name -> scenario, in the order the report lists them."""

    async def soak_run(env: Env) -> Outcome:
        return await soak(env, duration=soak_s)

    return {
        "hostile": hostile_input,
        "isolation": isolation,
        "overload": overload,
        "cache-races": cache_races,
        "soak": soak_run,
        "sigterm": sigterm_under_load,
        "crash": crash_safety,
        "db-outage": database_outage,
        "llm-faults": llm_faults,
        "webhook-down": webhook_down,
        "session-flood": session_flood,
        "staff-scope": staff_scope,
        "slow-clients": slow_clients,
        "frozen-db": frozen_database,
        "giant-text": giant_text,
        "document-bombs": document_bombs,
        "log-injection": log_injection,
    }
