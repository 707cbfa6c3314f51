"""The report's own logic: a scenario passes only when it checked something and all held."""

from __future__ import annotations

from tests.reliability.harness import Outcome
from tests.reliability.report import table


def test_outcome_passes_only_with_all_checks_held() -> None:
    empty = Outcome("a", "nothing")
    assert not empty.passed
    good = Outcome("b", "x")
    good.check("zero", 0, True)
    assert good.passed
    bad = Outcome("c", "y")
    bad.check("zero", 0, True)
    bad.check("leaks", 3, False)
    assert not bad.passed
    assert bad.failures() == "leaks 3 FAIL"
    bad.errors["503"] += 2
    text = table([good, bad])
    assert "PASS" in text
    assert "FAIL" in text
    assert "503: 2" in text
    assert len({len(line) for line in text.splitlines()}) == 1  # aligned
