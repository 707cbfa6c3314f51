"""FAQ pairs recognised in any layout and rewritten as one Markdown section per question.

Staff write questions and answers in many ways: ``Q:``/``A:`` prose (also as PDF or HTML
text), bold questions on their own line, numbered questions, definition lists (Markdown
``Term`` / ``: definition``, HTML ``<dt>``/``<dd>``), or a question alone on a line followed
by its answer. Each pair becomes ``## question`` followed by the answer, so the chunker
keeps the pair in one chunk with the question as its heading: search matches the question
(it is embedded and weighted as a heading), and the answer the guest reads is the answer
part only, without the labels.
"""

from __future__ import annotations

import re

_HEADING = re.compile(r"^(#{1,6})\s+\S")
_Q_LABEL = re.compile(
    r"^\s*(?:(?:\*\*|__)\s*)?(?:Q|Question|Frage|F|Pregunta|P)\s*[:.)]\s*(?:\*\*|__)?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_A_LABEL = re.compile(
    r"^\s*(?:(?:\*\*|__)\s*)?(?:A|Answer|Antwort|R|Respuesta|Réponse)\s*[:.)]\s*(?:\*\*|__)?\s*"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(?P<q>[^*_].*?)(?:\*\*|__)\s*(?::\s*)?$")
_NUMBERED_QUESTION = re.compile(r"^\s*\d{1,3}[.)]\s+(?P<q>.+\?)\s*$")
_DEFINITION = re.compile(r"^\s*:\s+(?P<rest>.+)$")
_MAX_QUESTION_CHARS = 250


def _strip_bold(text: str) -> str:
    return text.replace("**", "").replace("__", "").strip()


def _plain_question(line: str) -> bool:
    """A line that is a question on its own (not a list item, heading or table row)."""
    stripped = line.strip()
    return (
        stripped.endswith("?")
        and len(stripped) <= _MAX_QUESTION_CHARS
        and not stripped.startswith(("-", "*", "#", "|", ">", "+"))
    )


def _labelled(lines: list[str]) -> bool:
    """True when the text uses ``Q:``/``A:`` labels (at least two of each)."""
    questions = sum(1 for line in lines if _Q_LABEL.match(line) and line.strip()[-1:] != ":")
    answers = sum(1 for line in lines if _A_LABEL.match(line))
    return questions >= 2 and answers >= 2


def _question_start(line: str, nxt: str | None, labelled: bool) -> str | None:
    """The question text when ``line`` starts a FAQ question, else None."""
    if labelled:
        match = _Q_LABEL.match(line)
        return _strip_bold(match.group("rest")) if match and match.group("rest") else None
    bold = _BOLD_LINE.match(line)
    if bold and len(bold.group("q")) <= _MAX_QUESTION_CHARS:
        return bold.group("q").strip()
    numbered = _NUMBERED_QUESTION.match(line)
    if numbered:
        return numbered.group("q").strip()
    if nxt is not None and _DEFINITION.match(nxt) and len(line.strip()) <= _MAX_QUESTION_CHARS:
        return line.strip()
    if _plain_question(line):
        label = _Q_LABEL.match(line)
        return _strip_bold(label.group("rest")) if label and label.group("rest") else line.strip()
    return None


def structure_faq(text: str) -> str:
    """``text`` with every recognised question/answer pair as ``## question`` + answer.

    Text without FAQ pairs comes back unchanged. A question without an answer after it is
    left as it was.
    """
    lines = text.split("\n")
    labelled = _labelled(lines)
    out: list[str] = []
    level = 1  # of the last heading that is not a converted question
    i = 0
    changed = False
    while i < len(lines):
        line = lines[i]
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            out.append(line)
            i += 1
            continue
        nxt = next((ln for ln in lines[i + 1 :] if ln.strip()), None)
        question = _question_start(line, nxt, labelled) if line.strip() else None
        if question is None:
            out.append(line)
            i += 1
            continue
        # A labelled question may wrap over several lines (PDF text) up to its answer label.
        j = i + 1
        if labelled:
            while j < len(lines) and lines[j].strip() and not _A_LABEL.match(lines[j]):
                if _Q_LABEL.match(lines[j]) or _HEADING.match(lines[j]):
                    break
                question += " " + lines[j].strip()
                j += 1
        answer, j = _answer(lines, j, labelled)
        if not answer:
            out.append(line)
            i += 1
            continue
        changed = True
        out += ["", f"{'#' * min(level + 1, 6)} {' '.join(question.split())}", "", *answer, ""]
        i = j
    return "\n".join(out).strip() if changed else text


def _answer(lines: list[str], start: int, labelled: bool) -> tuple[list[str], int]:
    """The answer lines from ``start`` to the next question or heading, labels removed."""
    answer: list[str] = []
    j = start
    while j < len(lines):
        line = lines[j]
        if _HEADING.match(line):
            break
        nxt = next((ln for ln in lines[j + 1 :] if ln.strip()), None)
        starts = line.strip() and _question_start(line, nxt, labelled) is not None
        if answer and starts and (not labelled or _Q_LABEL.match(line)):
            break
        if labelled and not answer and _Q_LABEL.match(line):
            break
        label = _A_LABEL.match(line) if not answer else None
        definition = _DEFINITION.match(line)
        if label is not None:
            line = label.group("rest")
        elif definition is not None and not labelled:
            line = definition.group("rest")
        if line.strip() or answer:
            answer.append(line)
        j += 1
    while answer and not answer[-1].strip():
        answer.pop()
    return _unwrap(answer), j


_LIST_ITEM = re.compile(r"^\s*(?:[-*+•|]|\d{1,3}[.)])\s")


def _unwrap(lines: list[str]) -> list[str]:
    """Hard-wrapped lines of a paragraph (PDF text, wrapped Markdown) joined into one line;
    list items and blank lines keep their own lines."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].strip() and line.strip() and not _LIST_ITEM.match(line):
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line)
    return out
