"""Training from the desk, as a job the engine runs in a process of its own.

The desk (an admin, audited) queues an `ml.train` command whose params say the market,
the label, the window and the tune trials (`checked` refuses anything else, with the
field's name). The engine's handler (`engine/handlers/ml.py`) starts `botdesk ml job ID`,
a separate process at a lower priority, so training never holds the engine's threads, a
candle or the kill switch; the job trains on the stored candles (as `botdesk ml train
--data stored`), writes its progress into the command's result ("45% walk-forward") and
ends it with "model N trained: ...". The desk reads the command to show the progress and,
when done, the model's report.

Run again after an engine restart, a job whose command already names its model answers
with it instead of training a second time.
"""

import re
from datetime import UTC, datetime

from botdesk.db import ml_trainings
from botdesk.engine.timeframes import FILE_INTERVALS
from botdesk.ml.labels import LabelError, LabelSpec
from botdesk.ml.runs import STORED, TrainRequest, train
from botdesk.ml.training import TrainSettings
from botdesk.ml.tuning import MAX_TRIALS

KIND = ml_trainings.KIND
SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
DONE = re.compile(r"^model (\d+) trained")
PROGRESS = re.compile(r"^(\d{1,3})% (.+)$")
MIN_CANDLES = 1000


class JobError(ValueError):
    """A training the desk cannot queue; the message names the field."""


def _day_ms(text: str | None, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise JobError(f"{field}: {text!r} is not a date (YYYY-MM-DD, UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def checked(
    *,
    symbol: str | None,
    timeframe: str | None,
    label: str | None,
    from_text: str | None,
    to_text: str | None,
    tune: str | int | None,
) -> dict:
    """The command's params, or JobError naming the field that cannot be used."""
    symbol = (symbol or "").strip().upper()
    if not SYMBOL.match(symbol):
        raise JobError(f"Symbol: {symbol!r} is not a symbol such as BTCUSDT")
    if timeframe not in FILE_INTERVALS:
        raise JobError(f"Timeframe: choose one of {', '.join(FILE_INTERVALS)}")
    label = (label or "").strip() or "forward:horizon=12,threshold=0.01"
    try:
        LabelSpec.parse(label)
    except LabelError as error:
        raise JobError(f"Label: {error}") from None
    from_ms, to_ms = _day_ms(from_text, "From"), _day_ms(to_text, "To")
    if from_ms is not None and to_ms is not None and from_ms >= to_ms:
        raise JobError("To: the window must end after it starts")
    text = str(tune if tune is not None else "").strip() or "0"
    if not text.isdigit() or int(text) > MAX_TRIALS:
        raise JobError(f"Tune trials: a whole number from 0 to {MAX_TRIALS}, not {text!r}")
    return {
        "symbol": symbol,
        "timeframe": timeframe,
        "label": label,
        "from_ms": from_ms,
        "to_ms": to_ms,
        "tune_trials": int(text),
    }


def request_of(params: dict) -> TrainRequest:
    return TrainRequest(
        symbol=params["symbol"],
        timeframe=params["timeframe"],
        data_source=STORED,
        label=LabelSpec.parse(params["label"]),
        from_ms=params.get("from_ms"),
        to_ms=params.get("to_ms"),
        settings=TrainSettings(),
        tune_trials=int(params.get("tune_trials") or 0),
    )


def model_of(result: str | None) -> int | None:
    found = DONE.match(result or "")
    return int(found.group(1)) if found else None


def progress_of(result: str | None) -> tuple[int, str] | None:
    found = PROGRESS.match(result or "")
    return (min(int(found.group(1)), 100), found.group(2)) if found else None


def run(db, command_id: int) -> str:
    """Train what the command asks for; returns the result text (ValueError: the message)."""
    with db.reading() as session:
        command = ml_trainings.get(session=session, command_id=command_id)
        if command.kind != KIND:
            raise JobError(f"command {command_id} is a {command.kind}, not a training")
        if model_of(command.result) is not None:
            return command.result  # trained already, before an engine restart
        params, issued_by = ml_trainings.params_of(command), command.issued_by
    request = request_of(params)
    shown = {"percent": -1, "stage": ""}

    def progress(stage: str, fraction: float) -> None:
        percent = int(fraction * 100)
        if percent == shown["percent"] and stage == shown["stage"]:
            return
        shown.update(percent=percent, stage=stage)
        with db.writing() as session:
            ml_trainings.note_progress(
                session=session, command_id=command_id, text=f"{percent}% {stage}"
            )

    result = train(request, db=db, created_by=issued_by, progress=progress)
    c = result.report["classification"]
    text = (
        f"model {result.model.id} trained: {request.symbol} {request.timeframe}, accuracy "
        f"{c['accuracy']:.3f} (majority {c['majority_accuracy']:.3f}), macro F1 "
        f"{c['macro_f1']:.3f} out of sample"
    )
    with db.writing() as session:
        ml_trainings.note_progress(session=session, command_id=command_id, text=text)
    return text
