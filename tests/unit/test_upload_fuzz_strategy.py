"""The upload fuzzer's strategy describes itself without spelling out its sample files."""

from __future__ import annotations

import warnings
from pathlib import Path

from hypothesis.errors import HypothesisWarning

from tests.reliability.uploads import Target, contents, sample_files


def test_the_strategy_repr_stays_small_with_large_sample_files(tmp_path: Path) -> None:
    pdf, docx = sample_files(tmp_path)
    big_pdf = pdf + b"%" * 200_000  # a sample far past Hypothesis's 30 kB repr warning
    target = Target(
        base="http://127.0.0.1:1", token="t", property_id="p", victim_id="v", ghost_id="g",
        marker="m", name_tag="n", pdf=big_pdf, docx=docx,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", HypothesisWarning)
        text = repr(contents(target))
    assert len(text) < 30_000
    assert "%%%%" not in text
