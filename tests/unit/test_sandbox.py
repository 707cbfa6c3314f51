"""Reading files in a child process: hostile files cost a bounded amount and are skipped."""

from __future__ import annotations

import asyncio
import multiprocessing.forkserver
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import uvloop

from ingestion.documents import load_paths
from ingestion.loaders import LoadError, drop_embedded_files
from ingestion.sandbox import LoadLimits, load_isolated, load_isolated_async
from tests import files

BOMB_PARAGRAPHS = 40_000  # several seconds of CPU in python-docx without limits


def _fork_server() -> int:
    """The pid of the fork server the readers are forked from (started here if need be)."""
    load_isolated(b"# Bar", "bar.md", "bar.md", LoadLimits())
    pid: int = multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    return pid


def _stat(pid: int | str) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` from the third (the state) on."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _reaped_children_cpu_s(pid: int) -> float:
    """CPU seconds of the children ``pid`` has reaped: the fork server reaps every reader."""
    fields = _stat(pid)
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def test_a_docx_that_burns_cpu_is_stopped_at_the_cpu_limit() -> None:
    raw = files.docx_style_bomb(BOMB_PARAGRAPHS)
    assert len(raw) < 100_000
    server = _fork_server()
    # What a reader costs before it reads: multiprocessing runs the test runner's main
    # script again in each child.
    readers_cpu = _reaped_children_cpu_s(server)
    load_isolated(b"# Bar", "bar.md", "bar.md", LoadLimits())
    start_up = _reaped_children_cpu_s(server) - readers_cpu
    readers_cpu, cpu = _reaped_children_cpu_s(server), time.process_time()
    with pytest.raises(LoadError, match="more than 1 s of CPU time"):
        load_isolated(raw, "bomb.docx", "bomb.docx", LoadLimits(cpu_s=1, wall_s=30))
    # The reader was stopped at the limit, not after the several seconds the file costs
    # (measured in CPU time, which a busy machine does not stretch). The reaped time is read
    # in clock ticks through the fork server, which on a busy virtual machine can show less
    # than the time the kernel charged against the limit: the lower bound only shows that
    # the reader did run into the limit.
    assert 0.5 <= _reaped_children_cpu_s(server) - readers_cpu - start_up < 1.5
    assert time.process_time() - cpu < 0.5  # the parsing happened elsewhere


# A program whose main module costs more CPU than a reading may take when multiprocessing runs
# it again in the reader (as it does for a plain module or script), then reads a file that
# takes a tenth of a second or so (a Word file of 500 short paragraphs).
_COSTLY_MAIN = """
import time
from ingestion.sandbox import LoadLimits, load_isolated
from tests import files
if __name__ != "__main__":
    began = time.process_time()
    while time.process_time() - began < 1.3:
        pass
else:
    raw = files.docx_style_bomb(500)
    print(len(load_isolated(raw, "a.docx", "a.docx", LoadLimits(cpu_s=1, wall_s=30))))
"""


def test_the_cpu_limit_counts_the_reading_not_the_readers_start_up(tmp_path: Path) -> None:
    script = tmp_path / "costly_main.py"
    script.write_text(_COSTLY_MAIN)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1"


def test_a_file_past_the_wall_time_is_stopped() -> None:
    raw = files.docx_style_bomb(BOMB_PARAGRAPHS)
    started = time.monotonic()
    with pytest.raises(LoadError, match=r"longer than 0\.5 s"):
        load_isolated(raw, "bomb.docx", "bomb.docx", LoadLimits(cpu_s=60, wall_s=0.5))
    assert time.monotonic() - started < 3


def test_a_zip_bomb_is_stopped_at_the_memory_limit() -> None:
    raw = files.docx_zip_bomb(300)
    with pytest.raises(LoadError, match="256 MiB"):
        load_isolated(raw, "zip.docx", "zip.docx", LoadLimits(memory_bytes=256 * 1024 * 1024))


def test_an_ordinary_file_reads_as_before_and_parser_errors_keep_their_reason() -> None:
    limits = LoadLimits()
    (document,) = load_isolated(b"# Bar\n\nOpen until 01:00.", "bar.md", "bar.md", limits)
    assert (document.title, document.text) == ("Bar", "# Bar\n\nOpen until 01:00.")
    with pytest.raises(LoadError, match="empty file"):
        load_isolated(b"  \n", "empty.md", "empty.md", limits)
    with pytest.raises(LoadError, match="not UTF-8"):
        load_isolated(b"\xff\xfe\xfa", "latin.md", "latin.md", limits)


async def test_a_cancelled_upload_kills_its_reader_at_once() -> None:
    raw = files.docx_style_bomb(BOMB_PARAGRAPHS)
    server = _fork_server()
    assert _running_children(server) == []
    task = asyncio.ensure_future(
        load_isolated_async(raw, "bomb.docx", "bomb.docx", LoadLimits(cpu_s=60, wall_s=60))
    )
    # Until the reader is busy parsing (another process's state: polled, nothing to await).
    async with asyncio.timeout(30):
        while not any(_cpu_s(pid) >= 0.2 for pid in _running_children(server)):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.5
    assert _running_children(server) == []


def _running_children(parent: int) -> list[int]:
    """The processes ``parent`` started that still run (neither gone nor a zombie)."""
    running = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = _stat(pid)
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            running.append(int(pid))
    return running


def test_a_result_larger_than_the_pipe_buffer_arrives_whole_under_uvloop() -> None:
    # uvloop leaves a descriptor it watched non-blocking; the result must still be read whole.
    lines = [f'{{"id": "item-{i}", "text": "The pool {i} opens at 7. {"towels " * 200}"}}'
             for i in range(100)]  # fmt: skip
    raw = "\n".join(lines).encode()
    assert len(raw) > 2 * 65_536

    async def read() -> list[str]:
        documents = await load_isolated_async(raw, "items.jsonl", "items.jsonl", LoadLimits())
        return [d.doc_key for d in documents]

    assert uvloop.run(read()) == [f"item-{i}" for i in range(100)]


def _cpu_s(pid: int) -> float:
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_staff_command_skips_a_bomb_with_a_reason_and_reads_the_rest(tmp_path: Path) -> None:
    (tmp_path / "bomb.docx").write_bytes(files.docx_style_bomb(BOMB_PARAGRAPHS))
    (tmp_path / "spa.md").write_bytes(files.markdown_with_image(750_000))
    (tmp_path / "bar.md").write_text("# Bar\n\nOpen until 01:00.")
    documents, skipped = load_paths([tmp_path], limits=LoadLimits(cpu_s=1))
    assert sorted(d.doc_key for d in documents) == ["bar.md", "spa.md"]
    assert [(s.key, s.reason) for s in skipped] == [
        ("bomb.docx", "reading it took more than 1 s of CPU time")
    ]
    spa = next(d for d in documents if d.doc_key == "spa.md")
    assert len(spa.text) < 200
    assert "base64" not in spa.text
    assert "The pool at night" in spa.text
    assert "Towels are free" in spa.text


def test_inlined_files_are_dropped_from_markdown_keeping_the_alt_text() -> None:
    text = "A ![Pool](data:image/png;base64,iVBOR+/w==) B <img src='data:image/gif;base64,R0lG'>"
    assert drop_embedded_files(text) == "A Pool B <img src=''>"
    assert drop_embedded_files("no images here") == "no images here"


def test_a_file_whose_text_is_longer_than_a_file_may_be_is_refused() -> None:
    paragraphs = "".join(f"<p>The pool opens at 7:00, paragraph {i}.</p>" for i in range(100))
    raw = f"<html><body>{paragraphs}</body></html>".encode()
    (document,) = load_isolated(raw, "pool.html", "pool.html", LoadLimits(text_chars=len(raw)))
    assert "paragraph 99" in document.text
    with pytest.raises(LoadError, match="text is longer than 1000 characters"):
        load_isolated(raw, "pool.html", "pool.html", LoadLimits(text_chars=1000))


class Interrupted(BaseException):
    """Stands for Ctrl-C arriving while the staff command waits for a reader."""


def test_ctrl_c_while_a_file_is_read_stops_the_command_instead_of_skipping_the_file() -> None:
    raw = files.docx_style_bomb(BOMB_PARAGRAPHS)

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    before = set(os.listdir("/proc"))
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            load_isolated(raw, "bomb.docx", "bomb.docx", LoadLimits(cpu_s=60, wall_s=60))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 3
    assert [pid for pid in _running_children(os.getpid()) if str(pid) not in before] == []
