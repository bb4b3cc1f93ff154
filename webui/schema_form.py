"""A task's JSON schema as an HTML form, and a submitted form back as typed task data. Pure functions.

The task's UI schema (``formUiSchemaFilename``) gives layout hints in react-jsonschema-form's spelling:
``{"ui:order": ["plate", "*"], "plate": {"ui:help": "...", "ui:placeholder": "...", "ui:widget": "textarea"}}``;
``"ui:widget": "hidden"`` leaves a field off the form (its value then comes from elsewhere, or it stays unset).

The server still validates the result against the schema in the engine (``engine.forms.validate_form``); the
conversion here only turns text into the types the schema names and reports what cannot be converted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FILE_HINTS = ("photo", "image", "picture", "attachment", "照片")


@dataclass
class Field:
    name: str
    label: str
    widget: str              # text, textarea, select, boolean, number, integer, checkboxes, lines, files
    required: bool = False
    choices: list[str] = field(default_factory=list)
    description: str | None = None
    value: object = None
    error: str | None = None
    placeholder: str | None = None


def _is_files(name: str, spec: dict) -> bool:
    items = spec.get("items") or {}
    text = f"{name} {spec.get('title', '')} {spec.get('description', '')}".lower()
    return spec.get("type") == "array" and items.get("type") == "string" and "enum" not in items and \
        any(hint in text for hint in FILE_HINTS)


def fields(schema: dict | None, values: dict | None = None, errors: dict | None = None,
           ui: dict | None = None) -> list[Field]:
    if not schema:
        return []
    required = set(schema.get("required", []))
    values, errors, ui = values or {}, errors or {}, ui or {}
    result = []
    for name in _ordered(list((schema.get("properties") or {})), ui.get("ui:order")):
        spec, hints = schema["properties"][name], ui.get(name) if isinstance(ui.get(name), dict) else {}
        widget, choices = _widget(name, spec)
        wanted = hints.get("ui:widget")
        if wanted == "hidden":
            continue
        if wanted == "textarea" and widget == "text":
            widget = "textarea"
        result.append(Field(name, spec.get("title") or name, widget, name in required, choices,
                            hints.get("ui:help") or spec.get("description"), values.get(name), errors.get(name),
                            hints.get("ui:placeholder")))
    return result


def _ordered(names: list[str], order) -> list[str]:
    """``names`` in the UI schema's ``ui:order``: listed names first, ``"*"`` standing for the rest in schema order
    (at the end when absent); names the schema does not have are ignored."""
    if not isinstance(order, list):
        return names
    listed = [n for n in order if n in names]
    rest = [n for n in names if n not in listed]
    at = order.index("*") if "*" in order else len(order)
    before = [n for n in order[:at] if n in names]
    return before + rest + [n for n in listed if n not in before]


def _widget(name: str, spec: dict) -> tuple[str, list[str]]:
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        return "select", [str(c) for c in spec["enum"]]
    if kind == "boolean":
        return "boolean", []
    if kind in ("integer", "number"):
        return kind, []
    if kind == "array" and _is_files(name, spec):
        return "files", []
    if kind == "array" and "enum" in (spec.get("items") or {}):
        return "checkboxes", [str(c) for c in spec["items"]["enum"]]
    if kind == "array":
        return "lines", []
    if kind == "string" and (spec.get("maxLength") or 0) > 300:
        return "textarea", []
    return "text", []


def parse(schema: dict | None, form, uploaded: dict[str, list[str]] | None = None) -> tuple[dict, dict]:
    """Typed task data from a submitted form (a MultiDict) and the refs of files uploaded per field.

    Returns ``(data, errors)``; empty inputs are left out so that "required" is reported by the schema.
    """
    data, errors = {}, {}
    uploaded = uploaded or {}
    for item in fields(schema):
        name = item.name
        if item.widget == "files":
            refs = [r for r in form.getlist(name + "__kept") if r] + uploaded.get(name, [])
            if refs:
                data[name] = refs
            continue
        if item.widget == "checkboxes":
            picked = [v for v in form.getlist(name) if v]
            if picked:
                data[name] = picked
            continue
        raw = (form.get(name) or "").strip()
        if raw == "":
            continue
        if item.widget == "boolean":
            if raw not in ("true", "false"):
                errors[name] = "choose yes or no"
            else:
                data[name] = raw == "true"
        elif item.widget in ("integer", "number"):
            try:
                number = float(raw)
                data[name] = int(number) if item.widget == "integer" and number.is_integer() else number
                if item.widget == "integer" and not number.is_integer():
                    errors[name] = "a whole number is needed"
            except ValueError:
                errors[name] = "a number is needed"
        elif item.widget == "lines":
            data[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            data[name] = raw
    return data, errors
