"""An upload's file name becomes its document id only as a plain relative path."""

from __future__ import annotations

import pytest

from app.api.admin import upload_key
from app.errors import InvalidRequest


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("restaurant.html", "restaurant.html"),
        ("dining/restaurant.html", "dining/restaurant.html"),
        ("./dining//restaurant.html", "dining/restaurant.html"),
        ("%2e%2e/x.md", "%2e%2e/x.md"),  # not decoded: a folder of that name
    ],
)
def test_a_relative_path_is_the_key(name: str, key: str) -> None:
    assert upload_key(name) == key


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("\\\\server\\share\\notes.htm", "'/' between folders"),
        ("//server/share/notes.htm", "relative path"),
        ("..\\..\\notes.md", "'/' between folders"),
        ("C:\\Windows\\Temp\\notes.md", "'/' between folders"),
        ("C:/Windows/notes.md", "relative path"),
        ("/tmp/notes.md", "relative path"),
        ("file:///tmp/notes.md", "relative path"),
        ("../notes.md", "climb out"),
        ("dining/../../notes.md", "climb out"),
        ("", "needs a file name"),
        ("/", "needs a file name"),
        ("./", "needs a file name"),
    ],
)
def test_other_names_are_refused(name: str, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        upload_key(name)
