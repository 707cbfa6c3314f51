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
    path.write_bytes(_pdf_file(objects, f" /Info {info_id} 0 R" if title else ""))
    return path


def _pdf_file(objects: list[bytes], trailer: str = "") -> bytes:
    """A PDF 1.4 file of ``objects`` (numbered from 1, the first the catalog), its cross-reference
    table and trailer (``trailer``: more trailer entries)."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    head = f"<< /Size {len(objects) + 1} /Root 1 0 R{trailer} >>"
    out += f"trailer\n{head}\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


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


# --- hostile files: small on disk, costly to read ------------------------------------------


def docx_style_bomb(paragraphs: int) -> bytes:
    """A DOCX of a few tens of kB whose paragraphs each make python-docx resolve a style."""
    import copy
    import io

    import docx

    document = docx.Document()
    document.add_paragraph("Check-out is until 11:00.")
    body = document.element.body
    template = document.add_paragraph(".", style="Heading 2")._p
    for _ in range(paragraphs - 1):
        body.append(copy.deepcopy(template))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_zip_bomb(megabytes: int) -> bytes:
    """A DOCX whose document.xml inflates to ``megabytes`` MB of text."""
    import io
    import zipfile

    out = io.BytesIO()
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>"
    )
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Override PartName="/word/document.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>',
        )
        with archive.open("word/document.xml", "w") as xml:
            xml.write(head.encode())
            block = b"a" * (1024 * 1024)
            for _ in range(megabytes):
                xml.write(block)
            xml.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return out.getvalue()


def pdf_content_bomb(megabytes: int) -> bytes:
    """A one-page PDF whose compressed content stream inflates to ``megabytes`` MB of text
    operators."""
    import zlib

    ops = b"BT /F1 11 Tf 72 760 Td " + b"(a) Tj " * (megabytes * 1024 * 1024 // 7) + b"ET"
    stream = zlib.compress(ops, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n"
        + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]  # fmt: skip
    return _pdf_file(objects)


def html_element_bomb(elements: int) -> bytes:
    """An HTML page of ``elements`` tiny table cells (every one walked by the reader)."""
    return b"<html><body><h1>Bar</h1><table><tr>" + b"<td>a</td>" * elements + b"</tr></table>"


def markdown_with_image(image_bytes: int) -> bytes:
    """A Markdown page with one photo inlined as a base64 data URL, and two real sentences."""
    import base64
    import os

    blob = base64.b64encode(os.urandom(image_bytes)).decode()
    return (
        "# Spa\n\nThe spa opens at 09:00.\n\n"
        f"![The pool at night](data:image/png;base64,{blob})\n\nTowels are free of charge.\n"
    ).encode()
