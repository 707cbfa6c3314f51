"""``python -m tests.reliability [--duration S] [--only NAME ...]``: run the scenarios on a
database of their own and print one table. Exit status 1 when any scenario fails."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import traceback
import uuid
from pathlib import Path

from app.config import PROJECT_ROOT, Settings
from app.db.migrate import drop_database, ensure_database, upgrade_to_head
from app.db.pool import create_pool
from app.db.server import database_url
from tests.reliability.harness import Env, Outcome
from tests.reliability.report import table


async def run(duration: float, only: list[str]) -> list[Outcome]:
    # The scenarios' load generator is the benchmark's (scripts/benchlib/loadgen.py).
    scripts = str(PROJECT_ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.append(scripts)
    from tests.reliability.scenarios import all_scenarios

    settings = Settings(
        data_dir=PROJECT_ROOT / ".data" / "reliability",
        database_name=f"concierge_rel_{uuid.uuid4().hex[:8]}",
        database_url=None,
    )
    await ensure_database(settings)
    url = database_url(settings)
    await asyncio.to_thread(upgrade_to_head, url)
    pool = await create_pool(url, settings)
    outcomes = []
    try:
        with tempfile.TemporaryDirectory(prefix="reliability-") as workdir:
            env = Env(settings, url, pool, Path(workdir))
            for name, scenario in all_scenarios(duration).items():
                if only and name not in only:
                    continue
                print(f"==> {name}", file=sys.stderr, flush=True)
                try:
                    outcomes.append(await scenario(env))
                except Exception as exc:
                    traceback.print_exc()
                    failed = Outcome(name, "(scenario crashed)")
                    failed.check("crashed", type(exc).__name__, False)
                    outcomes.append(failed)
    finally:
        await pool.close()
        await drop_database(settings)
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/reliability", description=__doc__)
    parser.add_argument("--duration", type=float, default=20.0, help="soak length in seconds")
    parser.add_argument("--only", nargs="*", default=[], help="scenario names to run")
    args = parser.parse_args()
    outcomes = asyncio.run(run(args.duration, args.only))
    print(table(outcomes))
    return 0 if outcomes and all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
