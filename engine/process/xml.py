"""Parse uploaded or shipped XML with the most restrictive parser: no entities, no DTD, no network."""
from __future__ import annotations

import re

from lxml import etree

#: BPMN and DMN files are small; anything larger is refused before parsing.
MAX_XML_BYTES = 5 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
#: The encoding named in the XML declaration (``<?xml version="1.0" encoding="..."?>``) at the very start.
_DECLARED_ENCODING = re.compile(r"""\A\ufeff?<\?xml\s[^>]*?\bencoding\s*=\s*(["'])(.*?)\1""")
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
_TOO_DEEP = re.compile(r"Excessive depth in document: (\d+)")


XINCLUDE_NS = "http://www.w3.org/2001/XInclude"


class UnsafeXML(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def parse_xml(content: bytes | str):
    """Return the root element, or raise ``UnsafeXML`` with a message and line for the author."""
    encoding = None
    if isinstance(content, str):
        # Text is already decoded and is given to the parser as UTF-8: a declaration naming another encoding
        # ("UTF-7", "UTF-16") would make the parser read other characters than the checks below look at.
        declared = _DECLARED_ENCODING.match(content)
        if declared and declared.group(2).strip().lower() not in _UTF8_NAMES:
            raise UnsafeXML(f"the file declares the encoding '{declared.group(2)[:40]}': BPMN and DMN files must "
                            "be UTF-8 (declare encoding=\"UTF-8\")", 1)
        try:
            content = content.encode("utf-8")
        except UnicodeEncodeError as err:
            raise UnsafeXML(f"the file is not valid UTF-8 text (at character {err.start})") from None
        encoding = "utf-8"
    if not content.strip():
        raise UnsafeXML("the file is empty")
    if len(content) > MAX_XML_BYTES:
        raise UnsafeXML(f"the file is larger than {MAX_XML_BYTES // (1024 * 1024)} MB")
    match = _DOCTYPE.search(content)
    if match:
        line = content.count(b"\n", 0, match.start()) + 1
        raise UnsafeXML("a DOCTYPE is not allowed in BPMN or DMN files", line)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True, encoding=encoding)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as err:
        too_deep = _TOO_DEEP.search(err.msg or "")
        message = (f"the elements are nested more than {too_deep.group(1)} levels deep" if too_deep
                   else f"not well-formed XML: {err.msg}")
        raise UnsafeXML(message, err.lineno) from None
    if root.getroottree().docinfo.doctype:
        raise UnsafeXML("a DOCTYPE is not allowed in BPMN or DMN files", 1)
    for element in root.iter(f"{{{XINCLUDE_NS}}}*"):
        # Never processed here (lxml includes only when asked), but it has no place in a process file, and a
        # later tool that did process it would read files or the network: refused, with its line.
        raise UnsafeXML("XInclude is not allowed in BPMN or DMN files", element.sourceline)
    return root
