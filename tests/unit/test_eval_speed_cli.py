"""``python -m evaluation.speed`` measures only a model the settings know, and says so."""

from __future__ import annotations

import pytest

from evaluation import speed


@pytest.mark.parametrize(
    ("argv", "code", "said"),
    [
        (["--help"], 0, "{minilm,e5}"),
        (["e6"], 2, "invalid choice: 'e6'"),
        (["minilm", "0"], 2, "threads must be at least 1"),
        ([], 2, "the following arguments are required: model"),
    ],
)
def test_anything_but_a_known_model_is_refused_before_a_model_loads(
    argv: list[str],
    code: int,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    measured: list[str] = []
    monkeypatch.setattr(speed, "measure", lambda model, threads=1: measured.append(model))
    with pytest.raises(SystemExit) as exit_:
        speed.main(argv)
    assert exit_.value.code == code
    assert measured == []
    printed = capsys.readouterr()
    assert said in printed.out + printed.err


def test_a_known_model_is_measured_with_its_threads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, int]] = []

    def fake(model: str, threads: int = 1) -> dict[str, object]:
        calls.append((model, threads))
        return {"model": model, "threads": threads}

    monkeypatch.setattr(speed, "measure", fake)
    assert speed.main(["e5", "2"]) == 0
    assert speed.main(["minilm"]) == 0
    assert calls == [("e5", 2), ("minilm", 1)]
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ['{"model": "e5", "threads": 2}', '{"model": "minilm", "threads": 1}']
