"""Small real files of every supported format, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, pages: list[list[str]], title: str | None = None) -> Path:
    """A valid PDF 1.4 with a Helvetica text layer: one line of text per list item."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    info_id = font_id + 1
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for pid, lines in zip(page_ids, pages, strict=True):
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"]
        for line in lines:
            ops.append(f"({_pdf_string(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {pid + 1} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
        )
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objects.append(f"<< /Title ({_pdf_string(title or '')}) >>".encode())
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R"
    trailer += f" /Info {info_id} 0 R >>" if title else " >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


HTML_PAGE = """<!doctype html>
<html><head><title>Spa &amp; Pool</title>
<script>window.track = function () { return "tracking code"; };</script>
<style>body { color: red }</style></head>
<body>
<div id="cookie-banner">We use cookies. Accept all cookies?</div>
<nav><a href="/">Home</a> <a href="/rooms">Rooms</a></nav>
<header class="site-header">Harbour Grand navigation bar</header>
<main>
  <h1>Spa &amp; Pool</h1>
  <p>The indoor pool is open <b>daily</b> from 07:00 to 21:00.</p>
  <h2>Treatments</h2>
  <ul><li>Massage, 50 minutes</li><li>Facial, 30 minutes</li></ul>
  <table><tr><th>Day</th><th>Hours</th></tr><tr><td>Sunday</td><td>09:00-18:00</td></tr></table>
</main>
<footer>© Harbour Grand · Imprint · Privacy</footer>
</body></html>
"""


def write_docx(path: Path) -> Path:
    """A Word document with a title, a heading, paragraphs, a list and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Parking"
    document.add_heading("Parking", level=1)
    document.add_paragraph("The garage is under the hotel, entrance on Quay Street.")
    document.add_heading("Prices", level=2)
    document.add_paragraph("EUR 32 per night", style="List Bullet")
    document.add_paragraph("Electric car charging is free", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Height limit"
    table.cell(0, 1).text = "2.10 m"
    table.cell(1, 0).text = "Valet"
    table.cell(1, 1).text = "on request"
    document.save(str(path))
    return path
