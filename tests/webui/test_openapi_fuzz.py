"""A bounded schemathesis run against the served OpenAPI document (/api/v1/openapi.json), on SQLite and
PostgreSQL: every operation, with data that fits the document and data that does not, as an admin with a bearer
token. No answer may be a server error or contradict the document (status code, content type, body schema).

Sized for CI: ``MAX_EXAMPLES`` per operation, derandomized (the same requests on every run), no example database.
"""
from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_headers_conformance, response_schema_conformance,
                                               status_code_conformance)

from engine import people

#: Examples per operation; JINGZHI_FUZZ_EXAMPLES=200 makes a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("JINGZHI_FUZZ_EXAMPLES", "8"))
#: What the document promises. Not "schema-valid data is accepted": a valid-looking report can still name an
#: unknown scenario, an alert can be stale, a task can be someone else's; those answers (422, 403, 409) are in the
#: document, and the status check holds them to it.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]


@pytest.fixture
def api_schema(app, seeded, registered_case):
    token = people.create_token(seeded.store, "admin", "fuzz")
    headers = {"Authorization": f"Bearer {token}"}
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers), headers


def test_the_api_answers_as_its_document_says(api_schema):
    schema, headers = api_schema
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        started = time.perf_counter()
        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - every operation's, then fail listing all
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
        print(f"{operation.method.upper()} {operation.path}: {time.perf_counter() - started:.2f}s")
    assert failures == [], "\n\n".join(failures)
