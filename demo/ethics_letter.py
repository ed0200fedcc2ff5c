"""The demo's ethics approval letters: a small, valid PDF made in code, so that the demo ships no
binary files. Pure: no database, no Django."""

from __future__ import annotations


def ethics_approval_pdf(*lines: str) -> bytes:
    """A one-page PDF letter with a correct cross-reference table, made here so that the demo
    ships no binary files. Helvetica with WinAnsiEncoding needs no font file and shows the
    accented letters of Western European names."""

    def shown(line: str) -> bytes:
        text = line.encode("cp1252", "replace")
        text = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        return b"(" + text + b") '"

    content = b"BT /F1 12 Tf 16 TL 72 790 Td " + b" ".join(shown(line) for line in lines) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
