"""The upload fuzzer's own checks: files written where a name points, the 202 shape, framing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.hostile import unsafe_key
from tests.reliability.uploads import framed, multipart, well_formed_202, written_outside


def test_written_outside_finds_tagged_files_where_names_point(tmp_path: Path) -> None:
    cwd = tmp_path / "app"
    data = tmp_path / "data" / "deep"
    cwd.mkdir()
    data.mkdir(parents=True)
    names = {"../../etc/uplT1-passwd.md", "..\\uplT1-x.md"}
    assert written_outside(names, "uplT1", [cwd], [tmp_path / "data"]) == []
    (tmp_path / "uplT1-x.md").write_text("written")
    (data / "uplT1-passwd.md").write_text("written")
    (tmp_path / "untagged.md").write_text("other")
    found = written_outside(names, "uplT1", [cwd], [tmp_path / "data"])
    assert found == [str(data / "uplT1-passwd.md"), str(tmp_path / "uplT1-x.md")]


def test_a_202_needs_a_job_id_documents_and_skipped_entries() -> None:
    good = {"job_id": 7, "documents": ["a.md"], "skipped": [{"name": "b", "reason": "empty"}]}
    assert well_formed_202(json.dumps(good).encode())
    for bad in (
        {**good, "job_id": "7"},
        {**good, "job_id": True},
        {**good, "documents": []},
        {**good, "skipped": [{"name": "b"}]},
        {**good, "extra": 1},
    ):
        assert not well_formed_202(json.dumps(bad).encode()), bad
    assert not well_formed_202(b"not json")


def test_framing_keeps_or_breaks_the_multipart_body() -> None:
    parts = [(b"files", b"../a.md", b"text/plain", b"# A"), (b"files", None, None, b"x")]
    body = multipart(parts, b"B")
    assert body.startswith(
        b'--B\r\nContent-Disposition: form-data; name="files"; filename="../a.md"'
    )
    assert body.endswith(b"--B--\r\n")
    headers, sent = framed(parts, "multipart", 0)
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert sent.endswith(b"--\r\n")
    assert framed(parts, "none", 0)[0] == {}
    assert not framed(parts, "no end", 0)[1].endswith(b"--\r\n")
    assert len(framed(parts, "truncated", 10)[1]) == 10


def test_keys_must_be_plain_relative_paths() -> None:
    assert not any(unsafe_key(k) for k in ("passwd.md", "dining/restaurant.html", "a/b/c.md"))
    unsafe = (
        "../x.md", "a/../x.md", "a\\b.md", "\\\\server\\share\\x.htm", "a\x00b", "/tmp/x.md",
        "//server/share/x.htm", "C:/x.md", "file:///x.md", "a//b.md", "./a.md", "a/", "",
    )  # fmt: skip
    assert [k for k in unsafe if not unsafe_key(k)] == []
