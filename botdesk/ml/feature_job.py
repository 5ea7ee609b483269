"""The engine's feature-store job: every minute, the feature rows of the markets that have
a champion model are brought up to date with the candles that arrived, a bounded number
of rows per market and run, so a market's first run over years of history is spread over
many short runs instead of holding the engine's threads for seconds."""

import logging

from sqlmodel import select

from botdesk.db.models import MlModel, ModelStatus
from botdesk.ml import feature_store

log = logging.getLogger(__name__)
ROWS_PER_RUN = 512


def champion_markets(db) -> list[tuple[str, str]]:
    with db.reading() as session:
        rows = session.exec(
            select(MlModel.symbol, MlModel.timeframe)
            .where(MlModel.status == ModelStatus.CHAMPION)
            .distinct()
        ).all()
    return sorted((symbol, timeframe) for symbol, timeframe in rows)


def update_champion_markets(db, *, max_rows: int = ROWS_PER_RUN) -> int:
    """One run; returns the rows added. A market that fails is logged and skipped."""
    added = 0
    for symbol, timeframe in champion_markets(db):
        try:
            added += feature_store.update(db, symbol=symbol, timeframe=timeframe, max_rows=max_rows)
        except (ValueError, feature_store.FeatureSetChanged) as error:
            log.warning("feature store for %s %s not updated: %s", symbol, timeframe, error)
    return added
