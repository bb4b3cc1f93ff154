"""Server-side checks of the data a person submits with a task."""
from __future__ import annotations

import json

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .. import defaults
from ..exceptions import FormInvalid, Message, Problem


def check_schema(name: str, data: bytes) -> tuple[dict | None, list[Problem]]:
    """A form file of a deployment read as a JSON Schema (2020-12): ``(schema, [])``, or ``(None, [problem])``
    saying where the JSON breaks or which keyword of the schema is wrong."""
    try:
        schema = json.loads(data)
        Draft202012Validator.check_schema(schema)
        return schema, []
    except (ValueError, UnicodeDecodeError) as err:
        return None, [Problem(name, Message("form schema is not valid JSON: {error}", error=str(err)),
                              line=getattr(err, "lineno", None))]
    except SchemaError as err:
        where = "/".join(str(p) for p in err.absolute_path)
        said = Message("form schema is not a valid JSON Schema: {error}", error=err.message)
        return None, [Problem(name, Message("{problem} (at {where})", problem=said, where=where)
                              if where else said)]


def check_ui_schema(name: str, data: bytes) -> tuple[dict | None, list[Problem]]:
    """A form layout file (``formUiSchemaFilename``): a JSON object of hints, ``(hints, [])`` or ``(None, [problem])``."""
    try:
        hints = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        return None, [Problem(name, Message("form layout is not valid JSON: {error}", error=str(err)),
                              line=getattr(err, "lineno", None))]
    if not isinstance(hints, dict):
        return None, [Problem(name, Message("form layout must be a JSON object, e.g. {example}",
                                              example='{"ui:order": ["a", "*"]}'))]
    return hints, []


def validate_form(forms: dict, form_name: str | None, data: dict) -> None:
    """Check task data against the task's JSON schema; ``details`` maps each field path to its message."""
    if not form_name:
        return
    schema = forms.get(form_name)
    if schema is None:
        raise FormInvalid(Message("form schema {form} is missing from the deployment", form=form_name))
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        fields = {}
        for error in errors:
            path = ".".join(str(p) for p in error.absolute_path)
            if not path and error.validator == "required":
                path = error.message.split("'")[1] if "'" in error.message else ""
            fields.setdefault(path or "(form)", error.message)
        raise FormInvalid(Message("the form has {count} error(s)", count=len(fields)), fields)


def check_size(data: dict) -> None:
    """Refuse task data that is not JSON or is large enough to slow every later step of the case."""
    try:
        size = len(json.dumps(data, default=str))
    except (TypeError, ValueError) as err:
        raise FormInvalid(Message("task data is not JSON: {error}", error=str(err))) from err
    if size > defaults.MAX_TASK_DATA_BYTES:
        raise FormInvalid(Message("task data is {size} bytes; at most {limit} are accepted", size=size,
                                  limit=defaults.MAX_TASK_DATA_BYTES))
