"""The newest-snapshot-per-bucket query botdesk.db.performance used before issue 20 (a
row_number() window over the window's rows): the reference its grouped query is compared
with, in tests/db/test_performance_fast.py and bench/overview_speed.py."""

from sqlmodel import col, func, select


def ranked(session, table, grid, *, start, bot_id) -> list[tuple]:
    """(bot id, candle ms, equity, time) of each bot's newest row per bucket in start..end."""
    bucket = col(table.candle_open_ms) // grid.bucket_ms
    rank = func.row_number().over(
        partition_by=(col(table.bot_id), bucket), order_by=col(table.id).desc()
    )
    where = [
        col(table.at) >= start,
        col(table.at) <= grid.end,
        col(table.candle_open_ms).is_not(None),
    ]
    if bot_id is not None:
        where.append(col(table.bot_id) == bot_id)
    columns = (table.bot_id, table.candle_open_ms, table.equity, table.at)
    ranked_rows = select(*columns, rank.label("n")).where(*where).subquery()
    rows = session.exec(select(*list(ranked_rows.c)[:4]).where(ranked_rows.c.n == 1)).all()
    return [row for row in rows if row[0] is not None]
