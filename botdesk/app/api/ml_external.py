"""`POST /api/v1/ml/external/<series>`: append points to an external series (sentiment, the
fear and greed index, on-chain flows) from whatever publishes them, with a write-scoped
key (trade or admin; audited like every write-scoped request).

The points land in the same table as `botdesk ml external import` (see
`botdesk.ml.external`), so a model trained with `--external NAME` reads them the same way.
A series is appended to: every point after the latest stored one is added; a point
already stored with the same value is accepted again (a retried request changes
nothing); any other point at or before the latest (a rewrite or a backfill) refuses the
whole request, as do a malformed time or value, times that do not ascend, and a time in
the future. Nothing is stored from a refused request.
"""

from typing import Annotated

from flask import jsonify
from pydantic import Field, StrictFloat, StrictInt, StrictStr

from botdesk.app.api.analysis_schemas import obj
from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import Body
from botdesk.app.api.routing import operation
from botdesk.app.context import desk_db
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Scope
from botdesk.ml import external
from botdesk.ml.external import ExternalError

MAX_POINTS = 10_000


class Point(Body):
    time: (
        Annotated[StrictInt, Field(ge=0, le=4_102_444_800_000)]
        | Annotated[StrictStr, Field(min_length=1, max_length=40)]
    )
    value: StrictFloat | StrictInt


class NewPoints(Body):
    points: Annotated[list[Point], Field(min_length=1, max_length=MAX_POINTS)]


@operation(
    "POST",
    "/ml/external/<series>",
    summary="Append points to an external series (a feature of the models that use it)",
    tag="ml",
    scope=Scope.TRADE,
    body=NewPoints,
    response=obj(
        {
            "series": {"type": "string"},
            "added": {"type": "integer"},
            "already_stored": {"type": "integer"},
            "latest_ms": {"type": "integer"},
        }
    ),
    errors=(400, 409),
    description="`points`: 1 to 10,000 of {time, value}: time in epoch milliseconds or ISO "
    "8601 (UTC unless it says otherwise), when the value was published; ascending, not in "
    "the future; value a finite number. Points after the series' latest are added; a "
    "point already stored with the same value is accepted again; any other point at or "
    "before the latest answers 409 and nothing of the request is stored.",
)
def append_points(holder: KeyHolder, series: str, body: NewPoints):
    times, values = [], []
    try:
        for number, point in enumerate(body.points, start=1):
            where = f"point {number}"
            time = point.time if isinstance(point.time, int) else None
            if time is None:
                time = external.parse_time(point.time, where)
            times.append(time)
            values.append(external.checked_value(float(point.value), where))
        appended = external.append_checked(db=desk_db(), name=series, times=times, values=values)
    except external.ExternalConflict as conflict:
        raise ApiError(409, "conflict", str(conflict)) from None
    except ExternalError as error:
        raise ApiError(400, "invalid_body", str(error)) from None
    return jsonify(
        {
            "series": series,
            "added": appended.added,
            "already_stored": appended.already_stored,
            "latest_ms": appended.latest_ms,
        }
    )
