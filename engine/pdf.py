"""HTML to PDF with WeasyPrint, in the fonts shipped with Yordam.

Reports, documents and case files are HTML first (what the screen shows) and PDF second. The fonts are shipped
(``engine/fonts``, DejaVu Sans: Latin with Uzbek ʻ and ʼ, and Cyrillic with the Kazakh and Kyrgyz letters), so a
PDF looks the same on every server whatever fonts it has, and no letter falls back to a box.

Nothing is fetched while rendering: the HTML may hold text typed by users or methodologists, and a URL in it
must not make the server read a file or call another machine.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FONTS = Path(__file__).with_name("fonts")
FONT_FAMILY = "Yordam Sans"


@lru_cache(maxsize=1)
def font_css() -> str:
    """@font-face rules for the shipped fonts (regular, bold, oblique), named ``FONT_FAMILY``."""
    faces = (("DejaVuSans.ttf", "normal", "normal"), ("DejaVuSans-Bold.ttf", "bold", "normal"),
             ("DejaVuSans-Oblique.ttf", "normal", "italic"))
    return "\n".join(
        f"@font-face {{ font-family: '{FONT_FAMILY}'; src: url('{(FONTS / name).as_uri()}');"
        f" font-weight: {weight}; font-style: {style}; }}" for name, weight, style in faces)


BASE_CSS = f"""
@page {{ size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-right {{ content: counter(page) " / " counter(pages); font: 8pt '{FONT_FAMILY}'; color: #555; }} }}
html {{ font-family: '{FONT_FAMILY}', sans-serif; font-size: 10pt; line-height: 1.35; color: #111; }}
h1 {{ font-size: 15pt; margin: 0 0 4mm; }}
h2 {{ font-size: 12pt; margin: 6mm 0 2mm; }}
table {{ border-collapse: collapse; width: 100%; margin: 2mm 0 4mm; }}
th, td {{ border: 0.5pt solid #999; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
td.number, th.number {{ text-align: right; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; }}
"""


@lru_cache(maxsize=1)
def _fetcher():
    """A WeasyPrint URL fetcher that reads the shipped fonts and refuses every other URL (an image becomes its
    alt text)."""
    from weasyprint.urls import URLFetcher

    class FontsOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith(FONTS.as_uri() + "/") and ".." not in url:
                return super().fetch(url, headers)
            raise ValueError("Yordam renders PDFs without fetching anything")

    return FontsOnly(allowed_protocols=("file",))


def html_to_pdf(html: str, *, css: str = "") -> bytes:
    """The PDF of ``html`` (a whole document), in A4 with page numbers, the shipped fonts and ``css`` on top."""
    from weasyprint import CSS, HTML  # imported when first used: it loads Pango, which a worker may never need
    from weasyprint.text.fonts import FontConfiguration
    fonts = FontConfiguration()
    sheets = [CSS(string=font_css() + BASE_CSS, font_config=fonts, url_fetcher=_fetcher())]
    if css:
        sheets.append(CSS(string=css, font_config=fonts, url_fetcher=_fetcher()))
    document = HTML(string=html, url_fetcher=_fetcher(), base_url=FONTS.as_uri() + "/")
    return document.write_pdf(stylesheets=sheets, font_config=fonts)
