"""The certificate as a PDF: the embedded CJK font (common.pdf.font), the frozen values,
the verification code and a QR code (reportlab's own widget, no new dependency) that
opens the public /verify/<code>/ page of the school's host. 毕业证书 and 结业证明 are
A4 landscape, 学籍证明 A4 portrait."""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from common.pdf import FONT_BOLD, font
from tenant_apps.reports.models.certificates import Certificate, Kind

QR_SIZE = 32 * mm


def qr_drawing(url: str, size: float = QR_SIZE) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x1, y1, x2, y2 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
    drawing.add(widget)
    return drawing


def _date(value: str) -> str:
    if len(value) >= 10:
        return f"{value[:4]}年{int(value[5:7])}月{int(value[8:10])}日"
    return value


def _entry(value: str) -> str:
    return f"{value[:4]}年{int(value[4:6])}月" if len(value) == 6 and value.isdigit() else value


def body_lines(cert: Certificate) -> list[str]:
    v = cert.values
    name, sex = v.get("name", ""), v.get("sex", "")
    birth, entry = _date(str(v.get("birth_date", ""))), _entry(str(v.get("entry_year_month", "")))
    if cert.kind == Kind.ENROLMENT:
        lines = [
            f"兹证明 {name}，{sex}，{birth}出生，于{entry}入学，现为我校{v.get('class_name', '')}"
            "在读学生，学籍状态正常。",
        ]
        if v.get("national_number"):
            lines.append(f"全国学籍号：{v['national_number']}")
        if cert.purpose:
            lines.append(f"用途：{cert.purpose}")
        lines.append("特此证明。")
        return lines
    done = "修完" if cert.kind == Kind.DIPLOMA else "学完"
    result = "成绩合格，准予毕业。" if cert.kind == Kind.DIPLOMA else "准予结业。"
    return [
        f"学生 {name}，{sex}，{birth}出生，于{entry}入学，在我校{v.get('class_name', '')}"
        f"{done}规定课程，{result}",
    ]


# Closing punctuation never starts a line (the usual Chinese line-breaking rule).
NO_LINE_START = "，。、；：？！）》」』”’"


def _wrap(canvas: Canvas, text: str, width: float, size: float) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if canvas.stringWidth(line + ch, font(), size) > width and ch not in NO_LINE_START:
            lines.append(line)
            line = ch
        else:
            line += ch
    return [*lines, line] if line else lines


def certificate_pdf(cert: Certificate, *, verify_url: str) -> bytes:
    font_name = font()
    out = io.BytesIO()
    page = A4 if cert.kind == Kind.ENROLMENT else landscape(A4)
    width, height = page
    title = Kind(cert.kind).label
    canvas = Canvas(out, pagesize=page)
    canvas.setTitle(f"{title} {cert.number}")
    margin = 25 * mm
    if cert.kind != Kind.ENROLMENT:
        canvas.setLineWidth(2)
        canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setFont(FONT_BOLD, 28)
    canvas.drawCentredString(width / 2, height - 45 * mm, title)
    canvas.setFont(font_name, 11)
    canvas.drawRightString(width - margin, height - 58 * mm, f"编号：{cert.number}")
    y = height - 75 * mm
    size = 15
    for paragraph in body_lines(cert):
        for i, line in enumerate(_wrap(canvas, paragraph, width - 2 * margin - 2 * size, size)):
            canvas.setFont(font_name, size)
            canvas.drawString(margin + (2 * size if i == 0 else 0), y, line)
            y -= size * 1.9
    issued = timezone.localtime(cert.issued_at).date()
    canvas.setFont(font_name, 14)
    canvas.drawRightString(width - margin - 45 * mm, 48 * mm, str(cert.values.get("school", "")))
    canvas.drawRightString(
        width - margin - 45 * mm, 38 * mm, f"{issued.year}年{issued.month}月{issued.day}日"
    )
    renderPDF.draw(qr_drawing(verify_url), canvas, width - margin - QR_SIZE, 22 * mm)
    canvas.setFont(font_name, 8)
    canvas.drawString(margin, 22 * mm, f"验证码：{cert.code}")
    canvas.drawString(margin, 17 * mm, f"扫描二维码或访问 {verify_url} 核验真伪")
    if cert.reprint_count:
        canvas.drawString(margin, 27 * mm, f"补打（第{cert.reprint_count}次）")
    canvas.showPage()
    canvas.save()
    return out.getvalue()
