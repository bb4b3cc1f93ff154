"""A task's JSON schema as form fields, laid out by its UI schema (formUiSchemaFilename): order, hidden fields,
textareas, help texts and placeholders."""
from __future__ import annotations

from webui.schema_form import fields

SCHEMA = {"type": "object", "required": ["plate"], "properties": {
    "plate": {"type": "string", "title": "车牌号"},
    "moved": {"type": "boolean"},
    "note": {"type": "string", "description": "from the schema"},
    "internal": {"type": "string"}}}


def test_without_a_layout_fields_follow_the_schema():
    assert [(f.name, f.widget, f.required) for f in fields(SCHEMA)] == [
        ("plate", "text", True), ("moved", "boolean", False), ("note", "text", False), ("internal", "text", False)]


def test_the_layout_orders_hides_and_describes_fields():
    ui = {"ui:order": ["note", "*", "plate"], "internal": {"ui:widget": "hidden"},
          "note": {"ui:widget": "textarea", "ui:help": "写清楚现场情况", "ui:placeholder": "例如：已劝离"},
          "unknown": {"ui:widget": "textarea"}}
    laid_out = fields(SCHEMA, ui=ui)
    assert [f.name for f in laid_out] == ["note", "moved", "plate"]
    note = laid_out[0]
    assert (note.widget, note.description, note.placeholder) == ("textarea", "写清楚现场情况", "例如：已劝离")
    assert laid_out[2].description is None and laid_out[2].required


def test_an_order_without_a_wildcard_puts_the_rest_after_it():
    assert [f.name for f in fields(SCHEMA, ui={"ui:order": ["moved", "nope"]})] == ["moved", "plate", "note",
                                                                                      "internal"]


def test_a_layout_cannot_turn_a_choice_into_free_text():
    schema = {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}}}
    assert fields(schema, ui={"kind": {"ui:widget": "textarea"}})[0].widget == "select"
