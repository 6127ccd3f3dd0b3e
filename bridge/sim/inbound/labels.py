"""Printable documents: box and pallet labels, bills of lading and item labels, as small
but valid PDF files (one page per label, plain Helvetica text), written by hand so no PDF
library is needed. Documents are kept by id and served, without authentication like
Amazon's pre-signed download URLs, at /_sim/documents/{documentId}."""

from __future__ import annotations

import json
import uuid

from starlette.requests import Request
from starlette.responses import Response

from bridge.sim.state import Store
from bridge.sim.wire import error_body, new_request_id

DOCUMENT = "inbound_document"
DOCUMENT_PATH = "/_sim/documents/{documentId}"
_PAGE_WIDTH, _PAGE_HEIGHT = 612, 792  # US Letter, in points
_TOP, _LINE_HEIGHT, _FONT_SIZE = 740, 18, 12


def _pdf_text(line: str) -> str:
    """A PDF string literal body: Latin-1 only, with its delimiters escaped."""
    safe = line.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one page per entry, each page its lines of text, top to bottom."""
    pages = pages or [[""]]
    objects: list[bytes] = [b"", b"", (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                                    b"/Encoding /WinAnsiEncoding >>")]
    page_ids = []
    for lines in pages:
        text = [f"BT /F1 {_FONT_SIZE} Tf {_LINE_HEIGHT} TL 50 {_TOP} Td"]
        text += [f"({_pdf_text(line)}) '" for line in lines]
        text.append("ET")
        stream = "\n".join(text).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_id = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_WIDTH} "
                       f"{_PAGE_HEIGHT}] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {content_id} 0 R >>".encode())
        page_ids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join(f"{n} 0 R" for n in page_ids)
    objects[1] = f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def save_document(store: Store, title: str, pages: list[list[str]], now: float) -> str:
    """Keep a document's text; the PDF is rendered when it is downloaded."""
    document_id = uuid.uuid4().hex
    store.put(DOCUMENT, document_id, {"id": document_id, "title": title, "pages": pages,
                                      "createdAt": now})
    return document_id


def document_url(base_url: str, document_id: str) -> str:
    return base_url.rstrip("/") + DOCUMENT_PATH.replace("{documentId}", document_id)


async def download(sim, request: Request) -> Response:
    """GET /_sim/documents/{documentId}: the PDF itself."""
    document = sim.store.copy_of(DOCUMENT, request.path_params["documentId"])
    headers = {"x-amzn-RequestId": new_request_id()}
    if document is None:
        return Response(json.dumps(error_body("NotFound", "The document does not exist.")),
                        status_code=404, media_type="application/json", headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{document["title"]}.pdf"'
    return Response(pdf(document["pages"]), media_type="application/pdf", headers=headers)
