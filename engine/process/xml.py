"""Parse uploaded or shipped XML with the most restrictive parser: no entities, no DTD, no network."""
from __future__ import annotations

import re

from lxml import etree

#: BPMN and DMN files are small; anything larger is refused before parsing.
MAX_XML_BYTES = 5 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


class UnsafeXML(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def parse_xml(content: bytes | str):
    """Return the root element, or raise ``UnsafeXML`` with a message and line for the author."""
    if isinstance(content, str):
        try:
            content = content.encode("utf-8")
        except UnicodeEncodeError as err:
            raise UnsafeXML(f"the file is not valid UTF-8 text (at character {err.start})") from None
    if not content.strip():
        raise UnsafeXML("the file is empty")
    if len(content) > MAX_XML_BYTES:
        raise UnsafeXML(f"the file is larger than {MAX_XML_BYTES // (1024 * 1024)} MB")
    match = _DOCTYPE.search(content)
    if match:
        line = content.count(b"\n", 0, match.start()) + 1
        raise UnsafeXML("a DOCTYPE is not allowed in BPMN or DMN files", line)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as err:
        raise UnsafeXML(f"not well-formed XML: {err.msg}", err.lineno) from None
    if root.getroottree().docinfo.doctype:
        raise UnsafeXML("a DOCTYPE is not allowed in BPMN or DMN files", 1)
    return root
