"""Reading the PDFs the suite renders, with poppler's tools as a user's viewer would: ``pdftotext`` for the words,
``pdftoppm`` for the pixels."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


def pdf_text(pdf: bytes) -> str:
    """The PDF's text in reading order (``pdftotext -layout``), with its lines' inner spaces collapsed."""
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True,
                         check=True, timeout=60).stdout.decode("utf-8")
    return "\n".join(" ".join(line.split()) for line in out.splitlines())


def pages_ink(pdf: bytes, resolution: int = 40) -> list[float]:
    """Per page, the share of pixels that are not white, from a greyscale PNG of the page (``pdftoppm``)."""
    from PIL import Image  # WeasyPrint's own dependency
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "in.pdf")
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-gray", "-r", str(resolution), str(source), str(Path(folder, "page"))],
                       check=True, capture_output=True, timeout=120)
        shares = []
        for png in sorted(Path(folder).glob("page*.png")):
            with Image.open(png) as image:
                histogram = image.convert("L").histogram()
            shares.append(1 - sum(histogram[250:]) / sum(histogram))
        return shares


def assert_readable_pdf(pdf: bytes, *expected: str) -> str:
    """The PDF opens, every page has ink on it, and each of ``expected`` is in its text; returns the text."""
    assert pdf.startswith(b"%PDF-"), pdf[:40]
    ink = pages_ink(pdf)
    assert ink and all(share > 0.002 for share in ink), f"blank page(s): {ink}"
    text = pdf_text(pdf)
    flat = " ".join(text.split())
    missing = [e for e in expected if " ".join(e.split()) not in flat]
    assert not missing, f"not in the PDF: {missing}\n--- text ---\n{text[:3000]}"
    return text
