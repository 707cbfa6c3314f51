"""Writes the PDF documents of the second public evaluation set from their text below.

Run with ``.venv/bin/python scripts/eval_pdfs.py``; the PDFs are committed, so evaluation
itself needs nothing of this. Questions and answers are written as ``Q:``/``A:`` prose.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

ROOT = Path(__file__).resolve().parent.parent / "data" / "eval" / "second"

DOCUMENTS = {
    "linden-house/breakfast-and-extras.pdf": (
        "Breakfast, laundry and extras",
        [
            (
                "What is on the breakfast menu?",
                "Our cooked breakfast has eggs from our own hens, local bacon and sausages, "
                "mushrooms and toast. A vegetarian breakfast and porridge are always available.",
            ),
            (
                "Can I get a packed lunch?",
                "Yes, a packed lunch costs £9 and must be ordered by 20:00 the evening before.",
            ),
            (
                "Can you wash my clothes?",
                "We can wash and dry one load of laundry for £8. Hand it to us before 10:00 and "
                "it is back in your room by 18:00.",
            ),
            (
                "Do you rent bikes?",
                "Two bicycles can be borrowed free of charge; please ask us at breakfast.",
            ),
            (
                "Can I get extra towels?",
                "Of course. Extra towels and blankets are in the cupboard on the first-floor "
                "landing.",
            ),
        ],
    ),
    "copper-kettle/groups-and-vouchers.pdf": (
        "Groups, events and gift vouchers",
        [
            (
                "Can I book the bistro for a private party?",
                "Yes, the whole bistro can be booked for private parties of up to 40 guests on "
                "Monday evenings, when we are otherwise closed.",
            ),
            (
                "Do you take group bookings?",
                "Tables for groups of 8 or more need a deposit of £5 per person.",
            ),
            (
                "Do you sell gift vouchers?",
                "Yes, gift vouchers from £20 can be bought at the counter or by phone.",
            ),
            (
                "Can I bring my own wine?",
                "You may bring your own wine for a corkage fee of £8 per bottle.",
            ),
        ],
    ),
}


def write(path: Path, title: str, pairs: list[tuple[str, str]]) -> None:
    pdf = FPDF()
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for question, answer in pairs:
        pdf.ln(4)
        pdf.multi_cell(0, 6, f"Q: {question}", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, f"A: {answer}", new_x="LMARGIN", new_y="NEXT")
    path.write_bytes(bytes(pdf.output()))


def main() -> None:
    for name, (title, pairs) in DOCUMENTS.items():
        write(ROOT / name, title, pairs)


if __name__ == "__main__":
    main()
