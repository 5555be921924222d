"""Small PDF documents (letters, certificates) with Chinese text.

The font is embedded: Noto Sans SC (settings.PDF_FONT_REGULAR / PDF_FONT_BOLD, from the
npm package in package.json), of which reportlab writes only the glyphs a document uses
(a subset, a few KB). A PDF that merely names a CJK font (reportlab's CID STSong-Light)
depends on the reader having a substitute; many phone viewers and print-shop RIPs show
boxes instead, so every document carries its own glyphs.
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
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "NotoSansSC"
FONT_BOLD = "NotoSansSC-Bold"
_registered = False


def font() -> str:
    """The embedded CJK font's name, registered with reportlab on first use (one parse
    per process, about 0.1 s); `<b>` in a Paragraph picks the bold face."""
    global _registered
    if not _registered:
        from django.conf import settings

        pdfmetrics.registerFont(TTFont(FONT, settings.PDF_FONT_REGULAR))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, settings.PDF_FONT_BOLD))
        registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)
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
    font_name = font()
    title = ParagraphStyle(
        "title", fontName=font_name, fontSize=20, leading=28, alignment=TA_CENTER
    )
    number = ParagraphStyle(
        "number", fontName=font_name, fontSize=10, leading=14, alignment=TA_RIGHT
    )
    body = ParagraphStyle(
        "body", fontName=font_name, fontSize=12, leading=20, firstLineIndent=24, wordWrap="CJK"
    )
    plain = ParagraphStyle("plain", fontName=font_name, fontSize=12, leading=20)
    cell = ParagraphStyle("cell", fontName=font_name, fontSize=10.5, leading=15, wordWrap="CJK")
    sign = ParagraphStyle("sign", fontName=font_name, fontSize=12, leading=22, alignment=TA_RIGHT)
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
