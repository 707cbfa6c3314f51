"""Generated multipart uploads sent with the admin token: odd file names, broken files.

Names try path traversal, absolute paths, backslashes, control characters, great lengths and
every extension; contents are random bytes, corrupt PDF and DOCX files, invalid UTF-8, huge
lines and FAQ tables of the wrong shape; requests carry several files, wrong content types
or miss parts. What came back, and what the jobs and the database hold afterwards, is checked
by the hostile scenario.
"""

from __future__ import annotations

import io
import json
import os
import string
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingestion.documents import SUPPORTED_SUFFIXES
from tests.files import write_docx, write_pdf

# (field name, file name, content type, content) of one part of a multipart body
Part = tuple[bytes, bytes | None, bytes | None, bytes]
UPLOAD_STATUSES = {202, 400, 413, 422}
TRAVERSAL_PREFIXES = (
    "../", "../../", "../../../../../../../../tmp/", "/tmp/", "/", "..\\..\\", "..\\",
    "C:\\Windows\\Temp\\", "\\\\server\\share\\", "./", "....//", "..%2f..%2f", "%2e%2e/",
    "data/../../", "file:///tmp/", ".data/", "..;/", "\u2215..\u2215", "..\u2216..\u2216",
)  # fmt: skip
ODD_EXTENSIONS = (
    "", ".", ".MD", ".Pdf", ".JSONL", ".exe", ".png", ".md.exe", ".tar.gz", ".md ", ".md.",
    ".md\x00.exe", ".pdf\n", ".docx;.sh", ".mdx", ".json5", ".txt\u200b",
)  # fmt: skip
PART_TYPES = (
    "application/octet-stream", "text/plain", "text/markdown", "application/pdf", "image/png",
    "application/json", "text/html; charset=utf-16", "multipart/form-data", "", "x/\x7f",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
)  # fmt: skip
FRAMINGS = ("multipart",) * 8 + (
    "no boundary",
    "other boundary",
    "json",
    "none",
    "truncated",
    "urlencoded",
    "no end",
)


@dataclass(slots=True)
class Target:
    """Where the uploads go and what they may name: the property, others, a marker word."""

    base: str
    token: str
    property_id: str
    victim_id: str
    ghost_id: str
    marker: str
    name_tag: str
    pdf: bytes
    docx: bytes


@dataclass(slots=True)
class UploadLog:
    """What the upload fuzzer saw: accepted jobs and keys, malformed 202s, odd statuses."""

    requests: int = 0
    accepted: int = 0
    job_ids: list[int] = field(default_factory=list)
    doc_keys: set[str] = field(default_factory=set)
    malformed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)


def sample_files(workdir: Path) -> tuple[bytes, bytes]:
    """A valid PDF and a valid DOCX, to be broken by the fuzzer."""
    pdf = write_pdf(workdir / "fuzz-sample.pdf", [["Late checkout is possible until 14:00."]])
    docx = write_docx(workdir / "fuzz-sample.docx")
    return pdf.read_bytes(), docx.read_bytes()


# --- contents: (natural extension, bytes) ------------------------------------------------------


def _texts(marker: str) -> st.SearchStrategy[str]:
    return st.text(max_size=300).map(lambda s: f"# {marker}\n\n{s}\n\nThe {marker} opens at 9.")


def _markdown(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    ext = st.sampled_from([".md", ".markdown", ".txt"])
    return st.tuples(ext, _texts(t.marker).map(str.encode))


def _invalid_utf8(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    bad = st.sampled_from(
        [b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]
    )

    def build(text: str, junk: bytes, at: int) -> bytes:
        raw = text.encode()
        cut = at % (len(raw) + 1)
        return raw[:cut] + junk + raw[cut:]

    ext = st.sampled_from([".md", ".txt", ".csv", ".json", ".jsonl", ".html"])
    return st.tuples(ext, st.builds(build, _texts(t.marker), bad, st.integers(0, 10_000)))


def _huge_line(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    def build(size: int, char: str, ext: str) -> tuple[str, bytes]:
        line = char.encode() * size
        if ext == ".csv":
            return ext, b'question,answer\n"' + line + b'",yes\n'
        if ext == ".jsonl":
            body = json.dumps({"id": "long", "text": f"{t.marker} " + char * size})
            return ext, body.encode()
        return ext, f"# {t.marker}\n\n".encode() + line

    sizes = st.integers(1_000, 200_000)
    chars = st.sampled_from(["a", " ", "-", "é", "\t", "word "])
    return st.builds(build, sizes, chars, st.sampled_from([".md", ".txt", ".csv", ".jsonl"]))


def _random_bytes(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    ext = st.sampled_from([*SUPPORTED_SUFFIXES, ".bin"])
    return st.tuples(ext, st.binary(max_size=3000))


def _whole(data: bytes) -> st.SearchStrategy[bytes]:
    """Always `data`; unlike st.just(data), its repr does not spell out every byte."""

    def whole() -> bytes:
        return data

    return st.builds(whole)


def _broken(good: bytes, header: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, flipped bytes, the bare header and the header before random bytes."""
    truncated = st.integers(0, len(good)).map(lambda n: good[:n])

    def flip(positions: list[int], value: int) -> bytes:
        out = bytearray(good)
        for p in positions:
            out[p % len(out)] = value
        return bytes(out)

    flipped = st.builds(flip, st.lists(st.integers(0, len(good)), min_size=1, max_size=8),
                        st.integers(0, 255))  # fmt: skip
    prefixed = st.binary(max_size=500).map(lambda b: header + b)
    return st.one_of(truncated, flipped, prefixed, _whole(good))


def _pdf(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    return st.tuples(st.just(".pdf"), _broken(t.pdf, b"%PDF-1.7\n"))


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _docx(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(t.docx)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    junk = st.sampled_from([b"", b"<", b"<w:document", b"not xml", b"<?xml version='1.0'?><a/>"])
    junk = junk | st.binary(max_size=200)

    def replace(name: str, data: bytes) -> bytes:
        return _zip({**members, name: data})

    def drop(name: str) -> bytes:
        return _zip({k: v for k, v in members.items() if k != name})

    names = st.sampled_from(sorted(members))
    random_zip = st.dictionaries(
        st.text(min_size=1, max_size=20), st.binary(max_size=100), max_size=4
    ).map(_zip)
    broken = st.one_of(
        _broken(t.docx, b"PK\x03\x04"),
        st.builds(replace, names, junk),
        names.map(drop),
        random_zip,
    )
    return st.tuples(st.just(".docx"), broken)


def _odd_text(max_size: int = 20) -> st.SearchStrategy[str]:
    """Text with lone surrogates and control characters (JSON escapes them)."""
    return st.text(st.characters(categories=["Cs", "Cc"]) | st.characters(), max_size=max_size)


def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _odd_text()
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )


def _deep(opening: str, closing: str) -> st.SearchStrategy[bytes]:
    return st.integers(10, 60_000).map(lambda n: (opening * n + closing * n).encode())


def _faq_json(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    pair = st.fixed_dictionaries(
        {"question": st.text(max_size=80) | _json_values(), "answer": _texts(t.marker)}
    )
    shaped = st.lists(pair, max_size=5) | st.fixed_dictionaries(
        {"faqs": st.lists(pair, max_size=5)}, optional={"title": _json_values()}
    )
    encoded = (shaped | _json_values()).map(lambda v: json.dumps(v).encode())
    return st.tuples(st.just(".json"), encoded | _deep("[", "]") | _deep('{"faqs":', "}"))


def _jsonl(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    ids = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,20}\Z") | st.integers(0, 10**6) | _odd_text()
    owners = st.sampled_from(
        [None, None, t.property_id, t.victim_id, t.ghost_id, "../" + t.victim_id, "", "UPPER", 7]
    )
    record = st.fixed_dictionaries(
        {"id": ids, "text": _texts(t.marker)},
        optional={
            "property_id": owners,
            "title": _json_values(),
            "metadata": _json_values(),
        },
    )
    line = record.map(json.dumps) | st.sampled_from(["{", "[]", "null", '{"id": "x"}', ""])
    line = line | _json_values().map(json.dumps)
    body = st.lists(line, min_size=1, max_size=6).map(lambda ls: "\n".join(ls).encode())
    return st.tuples(st.just(".jsonl"), body | _deep("[", "]"))


def _csv(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    headers = st.sampled_from(
        ["question,answer", "Question;Answer", "frage\tantwort", "q,a,extra", "foo,bar", "", '"']
    )
    cell = st.text(max_size=40) | st.sampled_from(['"', '""', "a,b", "line\nbreak", t.marker])
    rows = st.lists(st.lists(cell, max_size=4).map(lambda cs: ",".join(cs)), max_size=6)
    return st.tuples(
        st.just(".csv"), st.builds(lambda h, rs: "\n".join([h, *rs]).encode(), headers, rows)
    )


def _html(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    tags = st.sampled_from(["div", "p", "li", "h1", "h7", "table", "tr", "td", "script", "br"])
    pieces = st.lists(
        st.tuples(tags, st.text(max_size=30)).map(lambda p: f"<{p[0]}>{p[1]}"), max_size=20
    )
    page = pieces.map(lambda ps: f"<html><title>{t.marker}</title><body>{''.join(ps)}".encode())
    return st.tuples(st.sampled_from([".html", ".htm"]), page | _deep("<div>", "</div>"))


def _valid(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    """Files every reader accepts, so that uploads also reach the jobs."""
    pair = st.fixed_dictionaries(
        {"question": st.just("Is there parking?"), "answer": _texts(t.marker)}
    )
    faq = st.lists(pair, min_size=1, max_size=3).map(lambda ps: json.dumps(ps).encode())
    csv = _texts(t.marker).map(lambda a: f"question,answer\nParking?,{json.dumps(a)}\n".encode())
    owner = st.sampled_from([None, t.property_id])
    line = st.builds(
        lambda i, text, p: json.dumps({"id": f"faq-{i}", "text": text, "property_id": p}),
        st.integers(0, 50),
        _texts(t.marker),
        owner,
    )
    jsonl = st.lists(line, min_size=1, max_size=3).map(lambda ls: "\n".join(ls).encode())
    html = _texts(t.marker).map(lambda s: f"<html><body><h1>{t.marker}</h1><p>{s}</p>".encode())
    return st.one_of(
        _markdown(t),
        st.tuples(st.just(".pdf"), _whole(t.pdf)),
        st.tuples(st.just(".docx"), _whole(t.docx)),
        st.tuples(st.just(".json"), faq),
        st.tuples(st.just(".csv"), csv),
        st.tuples(st.just(".jsonl"), jsonl),
        st.tuples(st.sampled_from([".html", ".htm"]), html),
    )


def contents(t: Target) -> st.SearchStrategy[tuple[str, bytes]]:
    """(natural extension, content): half valid files, half broken or hostile ones."""
    makers: list[Callable[[Target], st.SearchStrategy[tuple[str, bytes]]]] = [
        _markdown, _invalid_utf8, _huge_line, _random_bytes, _pdf, _docx, _faq_json, _jsonl,
        _csv, _html,
    ]  # fmt: skip
    return _valid(t) | st.one_of(*(make(t) for make in makers))


# --- names ---------------------------------------------------------------------------------------

SAFE_NAME = string.ascii_letters + string.digits + " ._-"


def file_names(t: Target) -> st.SearchStrategy[Callable[[str], str]]:
    """File names for an extension: plain, traversal, absolute, control characters, long."""
    stems = st.text(SAFE_NAME, min_size=1, max_size=24) | st.text(min_size=1, max_size=24)
    tagged = (stems | st.sampled_from(["passwd", "notes", ".hidden"])).map(
        lambda s: f"{t.name_tag}-{s}"
    )
    plain = tagged.map(lambda s: lambda ext: s + ext)
    traversal = st.builds(
        lambda p, s: lambda ext: p + s + ext, st.sampled_from(TRAVERSAL_PREFIXES), tagged
    )
    controls = st.text(st.characters(max_codepoint=0x1F), min_size=1, max_size=4)
    with_controls = st.builds(lambda c, s: lambda ext: s + c + ext, controls, tagged)
    long = st.integers(100, 5000).map(lambda n: lambda ext: t.name_tag + "x" * n + ext)
    bare = st.sampled_from(["", " ", ".", "..", "/", "\\", "../", "\x00"]).map(
        lambda b: lambda ext: b
    ) | st.sampled_from(["", "a/", "../"]).map(lambda p: lambda ext: p + ext)
    return st.one_of(plain, plain, traversal, traversal, with_controls, long, bare)


def upload_parts(t: Target) -> st.SearchStrategy[Part]:
    """(field name, file name, content type, content) of one multipart part."""

    def build(
        content: tuple[str, bytes],
        ext: str | None,
        name: Callable[[str], str],
        field_name: bytes,
        has_name: bool,
        part_type: str | None,
    ) -> Part:
        natural, raw = content
        return (
            field_name,
            name(ext or natural).encode("utf-8", "surrogatepass") if has_name else None,
            part_type.encode("latin-1", "replace") if part_type is not None else None,
            raw,
        )

    # None keeps the content's own extension.
    extensions = st.sampled_from([None] * 34 + [*SUPPORTED_SUFFIXES, *ODD_EXTENSIONS])
    return st.builds(
        build,
        contents(t),
        extensions,
        file_names(t),
        st.sampled_from([b"files"] * 10 + [b"file", b"files[]", b"", b"FILES"]),
        st.sampled_from([True] * 19 + [False]),
        st.sampled_from([None, *PART_TYPES]),
    )


def multipart(parts: list[Part], boundary: bytes) -> bytes:
    out = bytearray()
    for field_name, filename, part_type, content in parts:
        out += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + field_name + b'"'
        if filename is not None:
            out += b'; filename="' + filename + b'"'
        out += b"\r\n"
        if part_type is not None:
            out += b"Content-Type: " + part_type + b"\r\n"
        out += b"\r\n" + content + b"\r\n"
    out += b"--" + boundary + b"--\r\n"
    return bytes(out)


def framed(parts: list[Part], framing: str, cut: int) -> tuple[dict[str, str], bytes]:
    """Headers and body for ``parts``, framed well or badly."""
    boundary = b"fuzz-boundary-7MA4YWxkTrZu0gW"
    body = multipart(parts, boundary)
    content_type = f"multipart/form-data; boundary={boundary.decode()}"
    if framing == "no boundary":
        content_type = "multipart/form-data"
    elif framing == "other boundary":
        content_type = "multipart/form-data; boundary=something-else"
    elif framing == "json":
        content_type = "application/json"
    elif framing == "urlencoded":
        content_type, body = "application/x-www-form-urlencoded", b"files=notes.md&files=../x.md"
    elif framing == "truncated":
        body = body[: cut % (len(body) + 1)]
    elif framing == "no end":
        body = body.rsplit(b"--" + boundary + b"--", 1)[0]
    headers = {} if framing == "none" else {"content-type": content_type}
    return headers, body


def well_formed_202(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if not isinstance(data, dict) or set(data) != {"job_id", "documents", "skipped"}:
        return False
    skipped = data["skipped"]
    return (
        isinstance(data["job_id"], int)
        and not isinstance(data["job_id"], bool)
        and data["job_id"] > 0
        and isinstance(data["documents"], list)
        and bool(data["documents"])
        and all(isinstance(k, str) and k for k in data["documents"])
        and isinstance(skipped, list)
        and all(isinstance(s, dict) and set(s) == {"name", "reason"} for s in skipped)
    )


def upload_fuzz(
    t: Target,
    examples: int,
    record: Callable[[int | str, bytes, str], None],
    timeout_s: float,
) -> UploadLog:
    """Send ``examples`` generated upload requests; ``record`` tallies each reply (a status, or
    the kind of failure when none came)."""
    log = UploadLog()
    session = requests.Session()
    url = f"{t.base}/admin/properties/{t.property_id}/documents"
    auth = {"authorization": f"Bearer {t.token}"}
    part = upload_parts(t)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        parts=st.lists(part, min_size=1, max_size=4) | st.lists(part),
        framing=st.sampled_from(FRAMINGS),
        cut=st.integers(0, 10**6),
    )
    def run(parts: list[Part], framing: str, cut: int) -> None:
        headers, body = framed(parts, framing, cut)
        for _, filename, _, _ in parts:
            if filename is not None:
                log.names.add(filename.decode("utf-8", "replace"))
        what = f"upload {framing} {[p[1] for p in parts]!r:.100}"
        log.requests += 1
        try:
            response = session.post(url, data=body, headers=headers | auth, timeout=timeout_s)
        except requests.RequestException as exc:
            kind = "timeout" if isinstance(exc, requests.Timeout) else type(exc).__name__
            record(kind, b"", what)
            log.unexpected.append(f"{what}: {kind}")
            return
        record(response.status_code, response.content, what)
        if response.status_code not in UPLOAD_STATUSES:
            log.unexpected.append(f"{response.status_code} {response.content[:120]!r} <- {what}")
        if response.status_code != 202:
            return
        log.accepted += 1
        if not well_formed_202(response.content):
            log.malformed.append(f"{what} -> {response.content[:120]!r}")
            return
        data = response.json()
        log.job_ids.append(data["job_id"])
        log.doc_keys.update(data["documents"])

    run()
    return log


def written_outside(names: set[str], tag: str, roots: list[Path], deep: list[Path]) -> list[str]:
    """Paths with ``tag`` in their name: in ``roots``, where a sent name points from one of
    them, and anywhere under ``deep``."""
    places: set[Path] = set(roots)
    for name in names:
        cleaned = name.replace("\\", "/").replace("\x00", "")
        for root in roots:
            places.add(Path(os.path.normpath(root / cleaned.lstrip("/"))).parent)
        if cleaned.startswith("/"):
            places.add(Path(os.path.normpath(cleaned)).parent)
    found: set[str] = set()
    for place in places:
        try:
            entries = list(place.iterdir()) if place.is_dir() else []
        except OSError:
            continue
        found.update(str(p) for p in entries if tag in p.name)
    for top in deep:
        for folder, dirs, files in os.walk(top):
            found.update(os.path.join(folder, n) for n in [*dirs, *files] if tag in n)
    return sorted(found)
