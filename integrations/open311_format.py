"""GeoReport v2's two encodings: JSON as given, and XML with the specification's element names.

Lists are wrapped the way the specification's examples wrap them (``<services><service>``,
``<service_requests><request>``, ``<attributes><attribute>``, ``<values><value>``, ``<errors><error>``).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Response

#: Times are given in the district's zone (UTC+8), with the offset, as W3C date-times.
LOCAL = timezone(timedelta(hours=8))
#: element name of a list's items, by the list's name
ITEM = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
        "errors": "error"}
FORMATS = ("json", "xml")


def w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(LOCAL).isoformat(timespec="seconds") if moment else None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: Element, name: str, value) -> None:
    node = SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _fill(node, ITEM.get(name, "item"), item)
    else:
        node.text = _text(value)


def to_xml(root: str, value) -> bytes:
    """``value`` (a list of items or one object) as the XML document named ``root``."""
    document = Element(root)
    if isinstance(value, list):
        for item in value:
            _fill(document, ITEM[root], item)
    else:
        for key, item in value.items():
            _fill(document, key, item)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(document, encoding="unicode").encode()


def render(fmt: str, root: str, value, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, value), status=status, mimetype="text/xml", content_type="text/xml; charset=utf-8")
    return Response(json.dumps(value, ensure_ascii=False), status=status, mimetype="application/json")


def error(fmt: str, status: int, description: str) -> Response:
    """The specification's error document: a list of {code, description}."""
    return render(fmt if fmt in FORMATS else "json", "errors", [{"code": status, "description": description}],
                  status)
