"""A task's JSON schema as an HTML form, and a submitted form back as typed task data. Pure functions.

The task's UI schema (``formUiSchemaFilename``) gives layout hints in react-jsonschema-form's spelling:
``{"ui:order": ["plate", "*"], "plate": {"ui:help": "...", "ui:placeholder": "...", "ui:widget": "textarea"}}``;
``"ui:widget": "hidden"`` leaves a field off the form (its value then comes from elsewhere, or it stays unset).

The server still validates the result against the schema in the engine (``engine.deploy.forms.validate_form``); the
conversion here only turns text into the types the schema names and reports what cannot be converted.

Labels are in the diagram's language (Chinese): a property's ``title`` and ``description``, and for choices
``oneOf: [{"const": code, "title": ...}]`` (plain ``enum`` shows the codes). In English the form shows
``title_en`` / ``description_en`` where the schema has them (docs/i18n.md). ``english`` says which; by default
the request's locale decides.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _

FILE_HINTS = ("photo", "image", "picture", "attachment", "照片")


@dataclass
class Field:
    name: str
    label: str
    widget: str              # text, textarea, select, boolean, number, integer, checkboxes, lines, files
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)   # (value, label)
    description: str | None = None
    value: object = None
    error: str | None = None
    placeholder: str | None = None


def _is_files(name: str, spec: dict) -> bool:
    items = spec.get("items") or {}
    text = " ".join(str(spec.get(key, "")) for key in ("title", "title_en", "description", "description_en"))
    text = f"{name} {text}".lower()
    return spec.get("type") == "array" and items.get("type") == "string" and not _choices(items, False) and \
        any(hint in text for hint in FILE_HINTS)


def _is_english() -> bool:
    return has_request_context() and str(get_locale() or "").startswith("en")


def _text(spec: dict, key: str, english: bool) -> str | None:
    """``spec[key]`` in the form's language: ``key + "_en"`` in English when the schema has it."""
    return (spec.get(key + "_en") if english else None) or spec.get(key)


def _choices(spec: dict, english: bool) -> list[tuple[str, str]]:
    """(value, label) of a choice: ``oneOf``/``anyOf`` of ``const`` with titles, or ``enum`` (labelled by its codes)."""
    if "enum" in spec:
        return [(str(c), str(c)) for c in spec["enum"]]
    options = spec.get("oneOf") or spec.get("anyOf")
    if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
        return [(str(o["const"]), str(_text(o, "title", english) or o["const"])) for o in options]
    return []


def fields(schema: dict | None, values: dict | None = None, errors: dict | None = None,
           ui: dict | None = None, english: bool | None = None) -> list[Field]:
    if not schema:
        return []
    english = _is_english() if english is None else english
    required = set(schema.get("required", []))
    values, errors, ui = values or {}, errors or {}, ui or {}
    result = []
    for name in _ordered(list(schema.get("properties") or {}), ui.get("ui:order")):
        spec, hints = schema["properties"][name], ui.get(name) if isinstance(ui.get(name), dict) else {}
        widget, choices = _widget(name, spec, english)
        wanted = hints.get("ui:widget")
        if wanted == "hidden":
            continue
        if wanted == "textarea" and widget == "text":
            widget = "textarea"
        result.append(Field(name, _text(spec, "title", english) or name, widget, name in required, choices,
                            hints.get("ui:help") or _text(spec, "description", english), values.get(name),
                            errors.get(name),
                            hints.get("ui:placeholder")))
    return result


def file_fields(schema: dict | None) -> list[str]:
    """The fields of a schema that hold evidence references (arrays named for photos or attachments)."""
    return [name for name, spec in ((schema or {}).get("properties") or {}).items()
            if isinstance(spec, dict) and _widget(name, spec)[0] == "files"]


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


def _widget(name: str, spec: dict, english: bool = False) -> tuple[str, list[tuple[str, str]]]:
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if _choices(spec, english):
        return "select", _choices(spec, english)
    if kind == "boolean":
        return "boolean", []
    if kind in ("integer", "number"):
        return kind, []
    if kind == "array" and _is_files(name, spec):
        return "files", []
    if kind == "array" and _choices(spec.get("items") or {}, english):
        return "checkboxes", _choices(spec["items"], english)
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
                errors[name] = _("Choose yes or no")
            else:
                data[name] = raw == "true"
        elif item.widget in ("integer", "number"):
            try:
                number = float(raw)
                data[name] = int(number) if item.widget == "integer" and number.is_integer() else number
                if item.widget == "integer" and not number.is_integer():
                    errors[name] = _("A whole number is needed")
            except ValueError:
                errors[name] = _("A number is needed")
        elif item.widget == "lines":
            data[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            data[name] = raw
    return data, errors


def explain(schema: dict | None, data: dict) -> dict[str, str]:
    """What is wrong with ``data`` by the schema, per field, in the user's language (``engine.deploy.forms`` says it in
    jsonschema's English; this says the same per keyword). Empty when the data is valid."""
    from jsonschema import Draft202012Validator

    if not schema:
        return {}
    found: dict[str, str] = {}
    for error in sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if not path and error.validator == "required":
            path = error.message.split("'")[1] if "'" in error.message else ""
        if path.split(".")[0] not in (schema.get("properties") or {}) and path:
            path = path.split(".")[0]
        found.setdefault(path or "(form)", _message(error))
    return found


def _message(error) -> str:
    keyword, limit = error.validator, error.validator_value
    if keyword == "required":
        return _("This field is required")
    if keyword in ("enum", "const", "oneOf", "anyOf"):
        return _("Choose one of the listed options")
    if keyword == "type":
        return _("This value has the wrong type")
    if keyword == "maxLength":
        return _("At most %(n)s characters", n=limit)
    if keyword == "minLength":
        return _("At least %(n)s characters", n=limit)
    if keyword in ("maximum", "exclusiveMaximum"):
        return _("At most %(n)s", n=limit)
    if keyword in ("minimum", "exclusiveMinimum"):
        return _("At least %(n)s", n=limit)
    if keyword == "minItems":
        return _("Give at least %(n)s", n=limit)
    if keyword == "maxItems":
        return _("Give at most %(n)s", n=limit)
    if keyword in ("pattern", "format"):
        return _("This value is not in the expected format")
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return _("This field is not part of the form")
    return _("This value is not accepted")
