"""The API fuzzed from its own OpenAPI document (schemathesis): whatever it sends, as an admin
with every operation open to it, valid requests and invalid ones, no answer is a server error.

The document is the one the app serves, so a new endpoint is fuzzed the day it is added. It runs
in a database of its own: the fuzzer deletes, corrects and trains on whatever ids it guesses.
"""

from __future__ import annotations

import pytest
import schemathesis
from helpers import DATA, token_client
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = 100  # per operation and generation mode


@pytest.fixture(scope="module")
def fuzz_app(isolated_services: dict[str, str]):  # type: ignore[no-untyped-def]
    from shared.db.session import session_scope
    from web import create_app
    from web.auth.tokens import create_token
    from web.auth.users import create_user

    with session_scope() as session:
        user = create_user(session, "fuzzer", "fuzzer-password", "admin")
        token = create_token(session, user, "fuzz")[1]
    app = create_app({"TESTING": True})
    client = token_client(app, token)
    for name in ("a", "b"):  # a few real rows, so some guessed ids exist
        client.post("/api/v1/batches", data={"name": name,
                                             "files": [(DATA / "sroie-000.jpg").open("rb")]},
                    content_type="multipart/form-data")
    return app, token


def test_no_request_gets_a_server_error(fuzz_app) -> None:  # type: ignore[no-untyped-def]
    app, token = fuzz_app
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    sent, errors = 0, []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the OpenAPI document lost its operations"
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def fuzz(case) -> None:  # type: ignore[no-untyped-def]
                nonlocal sent
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                sent += 1
                if response.status_code >= 500:
                    errors.append(f"{case.method} {case.formatted_path} -> "
                                  f"{response.status_code}: {response.get_data(as_text=True)[:300]}"
                                  f"\n  {case.as_curl_command()}")

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters
    print(f"\nschemathesis: {sent} requests to {len(operations)} operations, "
          f"{len(errors)} server errors")
    assert not errors, "\n".join(errors[:20])
