"""Hostile input: schema-driven fuzzing of every endpoint (anonymous, then the admin routes with
the valid token), raw byte fuzzing, generated uploads, hand-written cases.

Zero 5xx responses, zero hangs (every request has a timeout), and every error in the one shape;
accepted uploads answer a job id, their jobs finish, nothing is written to disk, every document
key is a plain relative path announced in the upload's reply and no document lands in another
property.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
import schemathesis
from benchlib.loadgen import Client, Reply
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app.answering.types import FALLBACK_MESSAGE
from app.config import PROJECT_ROOT
from app.text import split_units
from tests.reliability.attacks import (
    INJECTED_DOC,
    INJECTION_QUESTIONS,
    admin_hand_written,
    hand_written,
)
from tests.reliability.harness import Env, Outcome, ServerProcess, ingest, tag
from tests.reliability.uploads import (
    Target,
    UploadLog,
    sample_files,
    upload_fuzz,
    well_formed_202,
    written_outside,
)

REQUEST_TIMEOUT_S = 10.0
JOBS_LIMIT_S = 60.0


@dataclass(slots=True)
class Tally:
    """Requests sent and their outcomes, shared by the fuzzers."""

    sent: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    bad_shape: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def add(self, status: int | None, body: bytes, what: str) -> None:
        self.sent += 1
        self.kinds[str(status)] += 1
        if status is None or status >= 500:
            self.server_errors.append(f"{status} {body[:160]!r} <- {what[:200]}")
        if status is not None and status >= 400 and not error_shaped(body):
            self.bad_shape.append(f"{status} {body[:120]!r} <- {what}")


def error_shaped(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    error = data.get("error") if isinstance(data, dict) else None
    return isinstance(error, dict) and set(error) == {"code", "message", "request_id"}


@dataclass(slots=True)
class Admin:
    """The server's admin token and what authenticated fuzzing aims at: a property made for it,
    its documents, and the jobs the fuzzing creates.

    The schema declares the bearer scheme, so some generated cases leave the header out on
    purpose: those are counted apart, and must be refused."""

    token: str
    property_id: str
    doc_keys: list[str]
    job_ids: list[int] = field(default_factory=list)
    sent: int = 0
    refused: list[str] = field(default_factory=list)
    without_token: int = 0
    let_in: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def aim(self, case: schemathesis.Case, pick: int) -> None:
        """Point a generated case at the fuzzing property, one of its documents or jobs."""
        params = case.path_parameters
        if params is not None:
            if "property_id" in params:
                params["property_id"] = self.property_id
            if "doc_key" in params:
                params["doc_key"] = self.doc_keys[pick % len(self.doc_keys)]
            if "job_id" in params and self.job_ids:
                params["job_id"] = self.job_ids[pick % len(self.job_ids)]
        if isinstance(case.body, dict) and "property_id" in case.body:
            case.body["property_id"] = self.property_id

    def seen(self, status: int, body: bytes, label: str, carried: bool) -> None:
        """Note a reply to an authenticated request: refused auth, or a job it created; or, when
        the request did not carry the token, whether it was let in."""
        if not carried:
            self.without_token += 1
            if status < 400:
                self.let_in.append(f"{label} -> {status}")
            return
        self.sent += 1
        if status in (401, 403):
            self.refused.append(f"{label} -> {status}")
        if status == 202:
            try:
                job_id = json.loads(body).get("job_id")
            except (ValueError, AttributeError):
                return
            if isinstance(job_id, int) and job_id not in self.job_ids:
                self.job_ids.append(job_id)


def schema_fuzz(base: str, examples: int, tally: Tally, admin: Admin | None = None) -> None:
    """Schemathesis: valid and invalid requests for every operation of the OpenAPI schema.

    With ``admin``, only the ``/admin`` operations, sent with the valid token; half the cases
    are aimed at the admin's property (and its documents and jobs), the rest keep what was
    generated.
    """
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json", timeout=10)
    session = requests.Session()
    operations = [op.ok() for op in schema.get_all_operations()]
    weights = {"POST /ask": examples // 2}
    if admin is not None:
        operations = [op for op in operations if op.path.startswith("/admin/")]
        weights = {}
    spread = max(1, len(operations) if admin else 2 * (len(operations) - 1))
    headers = admin.headers if admin is not None else None
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        count = weights.get(label, examples // spread)
        strategy = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE) | (
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        )

        @settings(
            max_examples=count,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, aimed=st.booleans(), pick=st.integers(0, 1000))
        def run(case: schemathesis.Case, aimed: bool, pick: int) -> None:
            if admin is not None and aimed:
                admin.aim(case, pick)
            try:
                response = case.call(
                    base_url=base, session=session, headers=headers, timeout=REQUEST_TIMEOUT_S
                )
            except requests.Timeout:
                tally.add(None, b"", case.operation.label)
                tally.kinds["timeout"] += 1
                return
            tally.add(response.status_code, response.content, case.operation.label)
            if admin is not None:
                sent = response.request.headers.get("authorization")
                carried = sent == admin.headers["authorization"]
                admin.seen(response.status_code, response.content, case.operation.label, carried)

        run()


def raw_fuzz(base: str, property_id: str, examples: int, tally: Tally) -> None:
    """Hypothesis directly: arbitrary bytes, content types, methods, paths and questions."""
    session = requests.Session()
    paths = st.sampled_from(["/ask", "/healthz", "/readyz", "/ask/", "//ask", "/../ask"]) | (
        st.text(min_size=1, max_size=40).map(lambda s: "/" + s)
    )
    methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    types = st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded", "", "json"]
    )
    questions = st.fixed_dictionaries(
        {"property_id": st.just(property_id), "question": st.text(min_size=1, max_size=1200)},
        optional={"top_k": st.integers(-5, 200) | st.none(), "session_id": st.text(max_size=200)},
    ).map(lambda d: json.dumps(d).encode())
    bodies = st.binary(max_size=3000) | questions

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(method=methods, path=paths, content_type=types, body=bodies)
    def run(method: str, path: str, content_type: str, body: bytes) -> None:
        if not path.isprintable() or "#" in path or "?" in path:
            path = "/ask"
        url = base + requests.utils.quote(path, safe="/")
        try:
            response = session.request(
                method,
                url,
                data=body,
                headers={"content-type": content_type} if content_type else {},
                timeout=REQUEST_TIMEOUT_S,
            )
        except requests.Timeout:
            tally.kinds["timeout"] += 1
            tally.server_errors.append(f"timeout <- {method} {path}")
            return
        if method == "HEAD":
            tally.sent += 1
            tally.kinds[str(response.status_code)] += 1
            return
        tally.add(response.status_code, response.content, f"{method} {path}")

    run()


def quotes_only_sources(answer: dict[str, object]) -> bool:
    """An extractive answer is made only of sentences of its cited sources (it quotes, never
    follows instructions); the fallback message is the only other thing it may say."""
    text = str(answer["answer"])
    if text == FALLBACK_MESSAGE:
        return True
    sources = {s["n"]: s["text"] for s in answer["sources"]}  # type: ignore[attr-defined]
    for part in text.split("] "):
        run, _, n = (part if part.endswith("]") else part + "]").rpartition(" [")
        units = split_units(sources.get(int(n.rstrip("]")), "")) if n.rstrip("]").isdigit() else []
        known = {u.rstrip(".") for u in units}
        # A source's run of sentences is cited once, after its last sentence.
        if not run or any(s.rstrip(".") not in known for s in split_units(run)):
            return False
    return True


def wait_for_jobs(
    base: str, token: str, job_ids: list[int], limit_s: float, tally: Tally
) -> dict[int, dict[str, object]]:
    """Poll every job until it has finished or ``limit_s`` has passed; returns the last state
    seen of each."""
    session = requests.Session()
    headers = {"authorization": f"Bearer {token}"}
    last: dict[int, dict[str, object]] = {}
    pending = list(dict.fromkeys(job_ids))
    deadline = time.monotonic() + limit_s
    while pending and time.monotonic() < deadline:
        still = []
        for job_id in pending:
            try:
                response = session.get(
                    f"{base}/admin/jobs/{job_id}", headers=headers, timeout=REQUEST_TIMEOUT_S
                )
            except requests.Timeout:
                tally.sent += 1
                tally.kinds["timeout"] += 1
                still.append(job_id)
                continue
            tally.add(response.status_code, response.content, f"GET /admin/jobs/{job_id}")
            job = response.json() if response.status_code == 200 else {}
            last[job_id] = job
            if job.get("state") not in ("succeeded", "failed"):
                still.append(job_id)
        pending = still
        if pending:
            time.sleep(0.2)
    return last


async def live_documents(env: Env, property_id: str) -> set[tuple[str, str]]:
    """(doc key, content hash) of a property's live documents."""
    rows = await env.pool.fetch(
        "SELECT d.doc_key, d.content_hash FROM documents d "
        "JOIN properties p ON p.live_version = d.version_id WHERE p.id = $1",
        property_id,
    )
    return {(r["doc_key"], r["content_hash"]) for r in rows}


def unsafe_key(value: str) -> bool:
    """Not a plain relative path: a backslash or NUL, an absolute path or URL, or an empty,
    ``.`` or ``..`` segment. (An upload may name its folder: ``dining/restaurant.html``.)"""
    segments = value.split("/")
    return (
        "\\" in value
        or "\x00" in value
        or segments[0].endswith(":")
        or any(s in ("", ".", "..") for s in segments)
    )


async def hostile_input(env: Env, examples: int = 2000) -> Outcome:
    uploads_wanted = max(1, examples // 6)
    cases = len(hand_written("x")) + len(admin_hand_written("x", "x", "x", "x"))
    outcome = Outcome(
        "hostile input",
        f"schema fuzzing (anonymous, /admin with the token), byte fuzzing, "
        f"{uploads_wanted} generated uploads, {cases} hand-written attacks",
    )
    property_id = f"hostile-{tag()}"
    await ingest(
        env,
        property_id,
        {"spa.md": INJECTED_DOC, "wifi.md": "# Wifi\n\nThe wifi password is kelp77."},
        name=property_id,
    )
    run_tag = tag()
    admin_docs = {
        "lobby.md": "# Lobby\n\nThe lobby is open all night.",
        "pool/hours.md": "# Pool\n\nThe pool opens at 07:00.",
        "faq.md": "# FAQ\n\nParking is in the garage.",
    }
    admin_property = f"hostile-admin-{run_tag}"
    await ingest(env, admin_property, admin_docs, name=admin_property)
    victim_before = await live_documents(env, property_id)
    pdf, docx = await asyncio.to_thread(sample_files, env.workdir)
    tally = Tally()
    injected_ok = 0
    handled = 0

    def record(status: int | str, body: bytes, what: str) -> None:
        if isinstance(status, str):
            tally.sent += 1
            tally.kinds[status] += 1
        else:
            tally.add(status, body, what)

    async with ServerProcess(env) as server:
        token = server.env["RAG_ADMIN_TOKEN"]
        await asyncio.to_thread(schema_fuzz, server.base, examples * 3 // 4, tally)
        # Operations without parameters run out of distinct cases: bytes make up the rest.
        raw = max(examples // 4, examples - tally.sent)
        await asyncio.to_thread(raw_fuzz, server.base, property_id, raw, tally)
        admin = Admin(token, admin_property, list(admin_docs))
        await asyncio.to_thread(schema_fuzz, server.base, examples // 5, tally, admin)
        target = Target(
            base=server.base,
            token=token,
            property_id=f"hostile-upload-{run_tag}",
            victim_id=property_id,
            ghost_id=f"hostile-ghost-{run_tag}",
            marker=f"zq{run_tag}mark",
            name_tag=f"upl{run_tag}",
            pdf=pdf,
            docx=docx,
        )
        created = await asyncio.to_thread(
            requests.put,
            f"{server.base}/admin/properties/{target.property_id}",
            json={"name": "Upload fuzzing"},
            headers=admin.headers,
            timeout=REQUEST_TIMEOUT_S,
        )
        tally.add(created.status_code, created.content, "PUT upload property")
        uploads = await asyncio.to_thread(
            upload_fuzz, target, uploads_wanted, record, REQUEST_TIMEOUT_S
        )
        client = Client(server.port, max_connections=4, timeout=REQUEST_TIMEOUT_S)
        attacks = hand_written(property_id) + admin_hand_written(
            admin_property, target.property_id, token, property_id
        )
        for name, method, path, body, headers, expected in attacks:
            reply: Reply = await client.request(method, path, body=body, headers=headers)
            tally.add(reply.status, reply.body, name)
            if reply.error:
                tally.kinds[reply.error] += 1
            handled += reply.status in expected
            if reply.status not in expected:
                tally.unexpected.append(f"{name}: {reply.kind}")
            if name.startswith("injection") and reply.status == 200:
                data = reply.json()
                assert isinstance(data, dict)
                injected_ok += quotes_only_sources(data) and data["answer"] != "HACKED"
            if reply.status == 202 and well_formed_202(reply.body):
                accepted = json.loads(reply.body)
                uploads.job_ids.append(accepted["job_id"])
                uploads.doc_keys.update(accepted["documents"])
            if reply.error or reply.headers.get("connection") == "close":
                await client.close()
        await client.close()
        job_ids = admin.job_ids + uploads.job_ids
        last = await asyncio.to_thread(
            wait_for_jobs, server.base, token, job_ids, JOBS_LIMIT_S, tally
        )
        metrics = await asyncio.to_thread(
            requests.get, f"{server.base}/metrics", timeout=REQUEST_TIMEOUT_S
        )
        tally.add(metrics.status_code, metrics.content, "GET /metrics")
    # Hundreds of requests carried the token: it must appear nowhere the operators look.
    exposed = [where for where, text in (("log", server.log()), ("/metrics", metrics.text))
               if token in text]  # fmt: skip
    outcome.requests = tally.sent
    outcome.errors.update({k: v for k, v in tally.kinds.items() if k != "200"})
    server_errors = sum(v for k, v in tally.kinds.items() if k.startswith("5") or not k.isdigit())
    outcome.check("requests", tally.sent, tally.sent >= examples)
    outcome.check(
        "5xx or hang",
        f"{server_errors}{example(tally.server_errors, 400)}{logged_errors(server.log())}",
        server_errors == 0,
    )
    outcome.check(
        "admin token in the log or /metrics",
        f"{len(exposed)}{example(exposed)}",
        metrics.status_code == 200 and "concierge_" in metrics.text and not exposed,
    )
    outcome.check(
        "errors not in the one shape",
        f"{len(tally.bad_shape)}{example(tally.bad_shape)}",
        not tally.bad_shape,
    )
    outcome.check(
        "hand-written as expected",
        f"{handled}/{cases}{example(tally.unexpected)}",
        handled == cases,
    )
    outcome.check(
        "injections quoted, not obeyed",
        f"{injected_ok}/{len(INJECTION_QUESTIONS)}",
        injected_ok == len(INJECTION_QUESTIONS),
    )
    outcome.check(
        "admin fuzzed past the token",
        f"{admin.sent - len(admin.refused)}/{admin.sent}{example(admin.refused)}",
        admin.sent > 0 and not admin.refused,
    )
    outcome.check(
        "admin without the token let in",
        f"{len(admin.let_in)} of {admin.without_token}{example(admin.let_in)}",
        not admin.let_in,
    )
    outcome.check(
        "uploads 202/400/413/422",
        f"{uploads.requests - len(uploads.unexpected)}/{uploads.requests}"
        f"{example(uploads.unexpected)}",
        uploads.requests >= 0.9 * uploads_wanted and not uploads.unexpected,
    )
    outcome.check(
        "202s well-formed with a job",
        f"{uploads.accepted - len(uploads.malformed)}/{uploads.accepted}"
        f"{example(uploads.malformed)}",
        uploads.accepted > 0 and not uploads.malformed,
    )
    finished = {i: j for i, j in last.items() if j.get("state") in ("succeeded", "failed")}
    unclear = [
        i for i, j in finished.items() if j["state"] == "failed" and not str(j.get("error") or "")
    ]
    distinct = set(job_ids)
    outcome.check(
        "jobs finished, failures explained",
        f"{len(finished)}/{len(distinct)}, {len(unclear)} failed without an error",
        bool(distinct) and len(finished) == len(distinct) and not unclear,
    )
    upload_jobs = set(uploads.job_ids)
    failed = [f"job {i}: {last.get(i, {}).get('error')}" for i in sorted(upload_jobs)
              if last.get(i, {}).get("state") != "succeeded"]  # fmt: skip
    outcome.check(
        "upload jobs succeeded",
        f"{len(upload_jobs) - len(failed)}/{len(upload_jobs)}{example(failed)}",
        bool(upload_jobs) and not failed,
    )
    await data_checks(env, outcome, target, uploads, property_id, victim_before)
    return outcome


def example(items: list[str], width: int = 90) -> str:
    """`` e.g. <the first item, shortened>`` when there are items."""
    return f" e.g. {items[0][:width]!r}" if items else ""


def logged_errors(log: str) -> str:
    """The server's error-level log lines (a 500's traceback among them), shortened; empty when
    there are none."""
    errors = [line for line in log.splitlines() if '"level":"error"' in line]
    return f"; logged: {' | '.join(line[:1500] for line in errors[:3])}" if errors else ""


async def data_checks(
    env: Env,
    outcome: Outcome,
    target: Target,
    uploads: UploadLog,
    victim_id: str,
    victim_before: set[tuple[str, str]],
) -> None:
    """What the uploads left behind: files, document keys, other properties."""
    roots = [PROJECT_ROOT, Path(env.settings.data_dir), env.workdir, Path(tempfile.gettempdir())]
    stray = await asyncio.to_thread(
        written_outside, uploads.names, target.name_tag, roots, roots[1:3]
    )
    outcome.check("files written by uploads", f"{len(stray)}{example(stray)}", not stray)
    rows = await env.pool.fetch(
        "SELECT doc_key, source FROM documents WHERE property_id = $1", target.property_id
    )
    # A JSONL line names its own document id; every other document is keyed by its file name.
    bad_keys = [
        r["source"]
        for r in rows
        if unsafe_key(name := r["source"].removeprefix("upload:"))
        or (not name.lower().endswith(".jsonl") and r["doc_key"] != name)
    ]
    outcome.check(
        "upload doc keys not plain relative paths",
        f"{len(bad_keys)} of {len(rows)}{example(bad_keys)}",
        bool(rows) and not bad_keys,
    )
    unannounced = sorted({r["doc_key"] for r in rows} - uploads.doc_keys)
    outcome.check(
        "stored keys never announced",
        f"{len(unannounced)}{example(unannounced)}",
        not unannounced,
    )
    elsewhere = await env.pool.fetch(
        "SELECT DISTINCT property_id FROM documents "
        "WHERE property_id <> $1 AND (strpos(body, $2) > 0 OR strpos(title, $2) > 0)",
        target.property_id,
        target.marker,
    )
    ghost = await env.pool.fetchval(
        "SELECT count(*) FROM properties WHERE id = $1", target.ghost_id
    )
    victim_changed = await live_documents(env, victim_id) != victim_before
    moved = len(elsewhere) + ghost + victim_changed
    outcome.check(
        "uploaded documents in other properties",
        moved,
        moved == 0,
    )
