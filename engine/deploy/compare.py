"""Comparing two versions of a diagram: elements added, removed and changed, by element id. Pure.

An element is anything of the BPMN (or DMN) model with an ``id``; layout (BPMN DI) is left out and reported only
as "the layout changed". What an element is made of: its tag, its attributes, its SpiffWorkflow properties
(``dueIn``, ``team``, forms, ...) and the content of its children that have no id of their own (conditions,
scripts, timer expressions, lane members, incoming and outgoing flows). Parsing goes through
``validation.parse_xml``: no DTD, no entities, no network - the diagrams are uploads.
"""
from __future__ import annotations

from lxml import etree

from ..exceptions import DeploymentRejected, Problem
from .validation import parse_xml

_DI_NAMESPACES = ("http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DI",
                  "http://www.omg.org/spec/DD/20100524/DC", "https://www.omg.org/spec/DMN/20191111/DMNDI/",
                  "http://www.omg.org/spec/DMN/20180521/DMNDI/")
_PROPERTY = "property"


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def _is_layout(element) -> bool:
    return etree.QName(element.tag).namespace in _DI_NAMESPACES


def _attributes(element) -> dict[str, str]:
    return {_local(k): v for k, v in element.attrib.items() if _local(k) != "id"}


def _describe(element) -> dict:
    """Tag, name, attributes, properties and id-less content of one element with an id."""
    properties, content, seen = {}, {}, {}

    def walk(node, path):
        for child in node:
            if not isinstance(child.tag, str) or child.get("id") is not None:
                continue  # comments, and elements compared on their own
            name = _local(child.tag)
            if name == _PROPERTY and child.get("name") is not None:
                properties[child.get("name")] = child.get("value") or (child.text or "").strip()
                continue
            key = f"{path}{name}"
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key = f"{key}[{seen[key]}]"
            text = (child.text or "").strip()
            attrs = " ".join(f"{k}={v}" for k, v in sorted(_attributes(child).items()))
            if text or attrs:
                content[key] = " ".join(part for part in (attrs, text) if part)
            walk(child, key + "/")

    walk(element, "")
    attributes = _attributes(element)
    return {"kind": _local(element.tag), "name": attributes.pop("name", None), "attributes": attributes,
            "properties": properties, "content": content}


def elements(xml: bytes, file: str = "diagram") -> tuple[dict[str, dict], dict[str, dict]]:
    """(model elements, layout elements) of one BPMN or DMN file, by id. Raises DeploymentRejected when the file
    cannot be parsed safely."""
    problems: list[Problem] = []
    root = parse_xml(file, xml, problems)
    if root is None:
        raise DeploymentRejected(problems)
    model, layout = {}, {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id") is not None:
            if _is_layout(element):
                layout[element.get("id")] = etree.tostring(element, method="c14n")
            else:
                model.setdefault(element.get("id"), _describe(element))
    return model, layout


def _changes(old: dict, new: dict) -> list[dict]:
    changes = []
    if old["kind"] != new["kind"]:
        changes.append({"what": "type", "old": old["kind"], "new": new["kind"]})
    if old["name"] != new["name"]:
        changes.append({"what": "name", "old": old["name"], "new": new["name"]})
    for group, label in (("attributes", "attribute"), ("properties", "property"), ("content", "content")):
        for key in sorted(set(old[group]) | set(new[group])):
            if old[group].get(key) != new[group].get(key):
                changes.append({"what": f"{label} {key}", "old": old[group].get(key), "new": new[group].get(key)})
    return changes


def compare(old_xml: bytes, new_xml: bytes) -> dict:
    """What changed from ``old_xml`` to ``new_xml``: ``added`` and ``removed`` elements (id, kind, name),
    ``changed`` ones with each change (what, old, new), and whether the layout alone moved."""
    old, old_layout = elements(old_xml, "old")
    new, new_layout = elements(new_xml, "new")

    def summary(element_id, element):
        return {"id": element_id, "kind": element["kind"], "name": element["name"]}

    changed = []
    for element_id in sorted(set(old) & set(new)):
        found = _changes(old[element_id], new[element_id])
        if found:
            changed.append({**summary(element_id, new[element_id]), "changes": found})
    return {"added": [summary(i, new[i]) for i in sorted(set(new) - set(old))],
            "removed": [summary(i, old[i]) for i in sorted(set(old) - set(new))],
            "changed": changed,
            "layout_changed": old_layout != new_layout}


def compare_files(old: dict[str, str], new: dict[str, str]) -> dict:
    """Which files of two deployments' sets were added, removed or changed (by name and content)."""
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "changed": sorted(name for name in set(old) & set(new) if old[name] != new[name])}
