"""Research: walk-forward runs (each window optimised in sample, tested out of sample).
Optimisation studies are Optuna's own tables in the same database (see
`botdesk.engine.research.studies`)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from botdesk.db.models.columns import text_column, time_column


class WalkForwardRun(SQLModel, table=True):
    __tablename__ = "walk_forward_run"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = time_column(nullable=False)
    created_by: str | None = Field(default=None, max_length=64)
    strategy: str = Field(max_length=64)
    symbol: str = Field(max_length=20)
    timeframe: str = Field(max_length=8)
    settings: str = text_column(nullable=False)  # JSON: the study settings and the windows
    status: str = Field(default="running", max_length=16)  # running | done | failed
    progress: float = Field(default=0.0)
    error: str | None = text_column()
    finished_at: datetime | None = time_column()
    result: str | None = text_column()  # JSON: windows, stitched equity, figures
