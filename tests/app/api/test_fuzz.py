"""Fuzzing /api/v1 from its own OpenAPI description (schemathesis, on hypothesis) against a
real desk: valid and invalid parameters and bodies, with and without a key. No answer may
be a 5xx, and every answer must match what the description promises."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from botdesk.app.api.routing import OPERATIONS
from tests.factories import make_api_key, make_bot, make_position, make_user

pytestmark = pytest.mark.integration

EXAMPLES = 30


@pytest.fixture(scope="module")
def admin_key(desk) -> str:
    bot = make_bot(desk.db)
    make_position(desk.db, bot)
    return make_api_key(desk.db, make_user(desk.db, role="admin"), "admin")


@pytest.fixture(scope="module")
def api_schema(desk):
    return schemathesis.openapi.from_url(f"{desk.base}/api/v1/openapi.json")


def _cases() -> list:
    """Every operation with valid input; those that take input also with invalid input
    (an operation without parameters or body has nothing to send wrong)."""
    cases = []
    for op in OPERATIONS:
        modes = [GenerationMode.POSITIVE]
        if op.query or op.body or op.path_parameters:
            modes.append(GenerationMode.NEGATIVE)
        cases += [
            pytest.param(op, mode, id=f"{op.method} {op.path} {mode.value}") for mode in modes
        ]
    return cases


@pytest.mark.parametrize(("op", "mode"), _cases())
def test_no_input_makes_the_api_answer_5xx(api_schema, admin_key, op, mode):
    operation = api_schema[op.path][op.method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case):
        case.call_and_validate(headers={"X-API-Key": admin_key}, timeout=30)

    call()
