"""Small PDF documents (letters, certificates) with Chinese text.

reportlab's built-in CID font STSong-Light (Adobe-GB1) needs no font file: the PDF
names the font and every reader ships a substitute for it, so the same bytes render on
a server without CJK fonts and in any browser or print shop.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


@dataclass(frozen=True)
class Doc:
    """A one-to-two page document: title, optional number line, paragraphs, a table of
    label/value rows, more paragraphs, and a signature block at the bottom right."""

    title: str
    number: str = ""
    before: Sequence[str] = field(default_factory=tuple)
    rows: Sequence[Sequence[str]] = field(default_factory=tuple)
    header: Sequence[str] = field(default_factory=tuple)
    after: Sequence[str] = field(default_factory=tuple)
    signature: Sequence[str] = field(default_factory=tuple)


def render(doc: Doc) -> bytes:
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=TA_CENTER)
    number = ParagraphStyle("number", fontName=font, fontSize=10, leading=14, alignment=TA_RIGHT)
    body = ParagraphStyle(
        "body", fontName=font, fontSize=12, leading=20, firstLineIndent=24, wordWrap="CJK"
    )
    plain = ParagraphStyle("plain", fontName=font, fontSize=12, leading=20)
    cell = ParagraphStyle("cell", fontName=font, fontSize=10.5, leading=15, wordWrap="CJK")
    sign = ParagraphStyle("sign", fontName=font, fontSize=12, leading=22, alignment=TA_RIGHT)
    story: list[Flowable] = [Paragraph(escape(doc.title), title), Spacer(1, 4 * mm)]
    if doc.number:
        story += [Paragraph(escape(doc.number), number), Spacer(1, 4 * mm)]
    for i, text in enumerate(doc.before):
        story.append(Paragraph(escape(text), plain if i == 0 and text.endswith("：") else body))
    if doc.rows:
        data = [[Paragraph(escape(str(c)), cell) for c in row] for row in doc.rows]
        if doc.header:
            data.insert(0, [Paragraph(f"<b>{escape(h)}</b>", cell) for h in doc.header])
        width = (A4[0] - 40 * mm) / max(len(r) for r in doc.rows)
        table = Table(data, colWidths=[width] * max(len(r) for r in doc.rows), repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        if doc.header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke))
        table.setStyle(TableStyle(style))  # type: ignore[arg-type]
        story += [Spacer(1, 3 * mm), table, Spacer(1, 3 * mm)]
    for text in doc.after:
        story.append(Paragraph(escape(text), body))
    if doc.signature:
        story.append(Spacer(1, 12 * mm))
        story += [Paragraph(escape(s), sign) for s in doc.signature]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=22 * mm,
        bottomMargin=20 * mm,
        title=doc.title,
    ).build(story)
    return out.getvalue()
