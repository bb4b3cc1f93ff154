"""What a request may carry before a view sees it: ids the database can hold, no NUL characters, and JSON bodies
that are objects of storable values.

The database refuses some values Python takes without a word (an id past PostgreSQL's integer, a NUL character,
a lone surrogate, NaN); caught here they are the caller's mistake, a 4xx, instead of a 500 from deep inside a
query. Ids too large for a row are no route at all (404, like an id that does not exist); the rest is 400, or 422
for a JSON body that is not what the operation takes.
"""
from __future__ import annotations

import json

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from engine.exceptions import FormInvalid

#: The largest id or version number a row can have (PostgreSQL's ``integer``; SQLite's is larger).
MAX_ID = 2**31 - 1
#: Deepest nesting accepted in a JSON body: forms are flat or a few levels deep; the parser and the database are
#: not to be walked a thousand levels down.
MAX_JSON_DEPTH = 32
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a whole number from 0 up to ``MAX_ID``; anything else matches no route."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, *args, **kwargs)
        self.max = MAX_ID if self.max is None else min(self.max, MAX_ID)


def row_id(value) -> int | None:
    """``value`` when it is a whole number a row can have (True is not one), else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        return None
    return value


def id_arg(source, name: str) -> int | None:
    """An id or version number from the query or a form (``request.args``, ``request.form``), or None."""
    return row_id(source.get(name, type=int))


def _has_nul(pairs) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in pairs)


def refuse_nul() -> None:
    """No NUL character in the path, the query or a form field: PostgreSQL cannot store or even compare one."""
    if "\x00" in request.path or _has_nul(request.args.items(multi=True)):
        raise BadRequest("the address contains a NUL character")
    if request.mimetype in FORM_TYPES and _has_nul(request.form.items(multi=True)):
        raise BadRequest("a form field contains a NUL character")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def problem_in(value, depth: int = 0, where: str = "") -> str | None:
    """Why ``value`` (parsed JSON) cannot be stored, or None: too deep, a NUL character, a lone surrogate."""
    if depth > MAX_JSON_DEPTH:
        return f"{where or 'the body'}: nested deeper than {MAX_JSON_DEPTH} levels"
    if isinstance(value, str):
        if "\x00" in value:
            return f"{where or 'the body'}: contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where or 'the body'}: contains a lone surrogate (not valid Unicode)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = problem_in(key, depth + 1, f"{where}/{key!r}") or problem_in(item, depth + 1, f"{where}/{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = problem_in(item, depth + 1, f"{where}/{index}")
            if found:
                return found
    return None


def json_object() -> dict:
    """The request's JSON body, which must be an object of storable values (no NaN or Infinity either)."""
    try:
        body = json.loads(request.get_data(cache=True) or b"null", parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:
        raise FormInvalid("the request body must be a JSON object", {"body": str(err)[:200]}) from err
    if not isinstance(body, dict):
        raise FormInvalid("the request body must be a JSON object")
    found = problem_in(body)
    if found:
        raise FormInvalid(f"the request body cannot be stored: {found}", {"body": found})
    return body


def init_app(app) -> None:
    """Before any blueprint is registered: their ``<int:...>`` rules take the bounded converter."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_nul)
