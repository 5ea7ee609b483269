"""Seed a database for the desk benchmark: 1M fills, 1M signals, 200k orders, 100k equity
points (and the 100k closed positions those fills make), in a minute or so.

Prices come from real Binance 1h klines (`../shared/data/<SYMBOL>-1h.csv`, 2.7 years; the
bundled 1m sample when those are absent). Each bot trades round trips: a signal on a
candle's close, a market order filled in 5 parts inside the next candle's range, then an
exit the same way; fees are 0.1 % of notional and realized P&L follows the ledger's rules
(a buy books minus its fee, a sell its proceeds minus the cost it removes minus its fee),
all in integer units of 1e-8, so the positions and equity points add up from the fills
(each fill names its position, assigned as the trades_1 migration assigns old fills, and
each position keeps what its buys cost, as the tradesfast_1 migration fills it in, and
each bot's trade summary is folded from them as the tradeleft_1 migration does).
Rows go in with executemany (SQLite) or COPY (PostgreSQL), ids assigned here.

    .venv/bin/python bench/seed_desk.py [--database-url URL] [--fills 1000000] [--force]
"""

import argparse
import csv
import importlib.util
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botdesk.db.migrate import upgrade  # noqa: E402
from botdesk.engine.sample_data import sample_files  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_URL = f"sqlite:///{ROOT / 'var' / 'bench' / 'desk.db'}"
UNIT = 10**8  # money is stored as integer units of 1e-8
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")
STRATEGIES = [
    ("ema_cross", '{"fast": 9, "slow": 21, "stop_atr": 2.0}'),
    ("rsi_reversion", '{"overbought": 70, "oversold": 30, "period": 14, "stop_atr": 2.0}'),
    ("bollinger_breakout", '{"period": 20, "stddev": 1.5, "stop_atr": 2.0}'),
    ("macd_trend", '{"fast": 12, "signal": 9, "slow": 26, "stop_atr": 2.0}'),
]
PARTS = 5  # fills per order
CAPITAL = 10_000 * UNIT
PART_NOTIONAL = 200 * UNIT  # quote per fill

SIGNAL_COLUMNS = [
    "id",
    "bot_id",
    "dedupe_key",
    "source",
    "symbol",
    "timeframe",
    "candle_open_ms",
    "side",
    "confidence",
    "price",
    "stop",
    "take_profit",
    "reason",
    "status",
    "status_reason",
    "created_at",
]
ORDER_COLUMNS = [
    "id",
    "bot_id",
    "signal_id",
    "client_order_id",
    "broker",
    "symbol",
    "side",
    "type",
    "quantity",
    "purpose",
    "status",
    "filled_quantity",
    "average_price",
    "candle_open_ms",
    "created_at",
    "sent_at",
    "updated_at",
]
FILL_COLUMNS = [
    "id",
    "order_id",
    "bot_id",
    "trade_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "fee",
    "fee_asset",
    "fee_quote",
    "realized_pnl",
    "filled_at",
]
POSITION_COLUMNS = [
    "id",
    "bot_id",
    "symbol",
    "status",
    "quantity",
    "cost_basis",
    "entry_price",
    "realized_pnl",
    "fees",
    "last_price",
    "unrealized_pnl",
    "opened_at",
    "closed_at",
    "exit_reason",
]
EQUITY_COLUMNS = [
    "id",
    "bot_id",
    "at",
    "candle_open_ms",
    "equity",
    "cash",
    "realized_pnl",
    "unrealized_pnl",
    "fees",
    "exposure",
]
BOT_COLUMNS = [
    "id",
    "name",
    "strategy",
    "params",
    "symbol",
    "timeframe",
    "broker",
    "capital",
    "desired_state",
    "status",
    "accepts_webhook",
    "created_at",
]


def assigned_positions() -> str:
    """The trades_1 migration's query: fill id -> position id."""
    path = ROOT / "botdesk/db/migrations/versions/0016_trades_fill_position.py"
    spec = importlib.util.spec_from_file_location("trades_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration.ASSIGNED


def entry_costs() -> str:
    """The tradesfast_1 migration's statement: each position's entry cost from its buys."""
    path = ROOT / "botdesk/db/migrations/versions/0017_tradesfast_entry_cost.py"
    spec = importlib.util.spec_from_file_location("tradesfast_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration.BACKFILL


def fill_trade_summaries(url: str) -> int:
    """Each bot's trade summary (`trade_summary`), folded from the closed positions by the
    tradeleft_1 migration's backfill, as the ledger would have kept it."""
    path = ROOT / "botdesk/db/migrations/versions/0019_tradeleft_trade_summary.py"
    spec = importlib.util.spec_from_file_location("tradeleft_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    engine = create_engine(url)
    with engine.begin() as connection:
        found = migration.backfill(connection)
    engine.dispose()
    return found


def klines(symbol: str) -> list[tuple[int, int, int, int, int]]:
    """(open ms, open, high, low, close) in units of 1e-8, from the real klines."""
    path = SHARED_DATA / f"{symbol}-1h.csv"
    if not path.exists():
        path = sample_files().get(symbol) or next(iter(sample_files().values()))
    with path.open() as handle:
        rows = csv.DictReader(handle)
        return [
            (
                int(row["open_time_ms"]),
                round(float(row["open"]) * UNIT),
                round(float(row["high"]) * UNIT),
                round(float(row["low"]) * UNIT),
                round(float(row["close"]) * UNIT),
            )
            for row in rows
        ]


def times(ms: int, postgres: bool) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return text + "+00" if postgres else text


def times_of(postgres: bool):
    """Timestamp text as each backend stores UTCDateTime (SQLite: naive UTC text)."""
    return lambda ms: times(ms, postgres)


def mul(a: int, b: int) -> int:
    """Product of two unit amounts, rounded half up to units (like quantize)."""
    return (a * b + UNIT // 2) // UNIT


class Writer:
    def __init__(self, url: str):
        parsed = make_url(url)
        self.postgres = parsed.get_backend_name() == "postgresql"
        if self.postgres:
            conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = psycopg.connect(conninfo)
        else:
            self.connection = sqlite3.connect(parsed.database, isolation_level=None)
            self.connection.execute("PRAGMA synchronous = OFF")
            self.connection.execute("PRAGMA journal_mode = WAL")
            self.connection.execute("BEGIN")

    def insert(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        if self.postgres:
            with self.connection.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            self.connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)

    def count(self, table: str) -> int:
        cursor = self.connection.execute(f'SELECT count(*) FROM "{table}"')
        return cursor.fetchone()[0]

    def assign_positions(self) -> None:
        """Each fill's position (`fill.position_id`), in the one statement the trades_1
        migration gives the fills booked before the column existed."""
        self.connection.execute(
            "UPDATE fill SET position_id = assigned.position_id "
            f"FROM ({assigned_positions()}) AS assigned WHERE fill.id = assigned.fill_id"
        )

    def fill_entry_costs(self) -> None:
        """Each position's entry cost (`position.entry_cost`), in the tradesfast_1
        migration's one statement over the buy fills."""
        self.connection.execute(entry_costs())

    def finish(self, tables: list[str]) -> None:
        if self.postgres:
            with self.connection.cursor() as cursor:
                for table in tables:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table}"))'
                    )
            self.connection.commit()
            self.connection.autocommit = True
            # as autovacuum leaves a live database: statistics and the visibility map (without
            # it no index-only scan, e.g. of the bots' realized P&L over position)
            self.connection.execute("VACUUM ANALYZE")
        else:
            self.connection.execute("COMMIT")
            self.connection.execute("ANALYZE")
        self.connection.close()


class Ids:
    def __init__(self):
        self.signal = self.order = self.fill = self.position = self.equity = 0


def seed_bot(bot_id: int, symbol: str, candles: list, plan: dict, ids: Ids, stamp, rng):
    """Rows of one bot: `plan` says how many signals, orders and equity points it gets."""
    signals, orders, fills, positions, equity = [], [], [], [], []
    n_signals, n_orders = plan["signals"], plan["orders"]
    every = n_signals // n_orders  # one signal in `every` becomes an order
    span = len(candles) - 2
    realized_total = fees_total = 0
    cost = quantity = buy_fees = buy_pnl = 0
    opened_ms = 0
    for i in range(n_signals):
        index = (i * span) // n_signals
        open_ms, _, _, _, close = candles[index]
        close_ms = open_ms + 3_600_000 - 1
        ids.signal += 1
        trading = i % every == 0 and len(orders) < n_orders
        buying = trading and (len(orders) % 2 == 0)
        side = "buy" if buying or (not trading and rng.random() < 0.5) else "sell"
        status, why = (
            ("accepted", None)
            if trading
            else rng.choice(
                [("rejected", "max open positions reached"), ("ignored", "no position to sell")]
            )
        )
        signals.append(
            (
                ids.signal,
                bot_id,
                f"c:{open_ms}" if span >= n_signals else f"c:{open_ms}:{i}",
                "strategy",
                symbol,
                "1h",
                open_ms,
                side,
                round(rng.uniform(0.3, 1.0), 3),
                close,
                close - close // 50 if side == "buy" else None,
                None,
                f"{side} on the close of {times(open_ms, False)[:16]}",
                status,
                why,
                stamp(close_ms),
            )
        )
        if not trading:
            continue
        _, next_open, high, low, _ = candles[index + 1]
        next_ms = candles[index + 1][0]
        ids.order += 1
        if buying:
            part = max(1000, PART_NOTIONAL * UNIT // next_open // 1000 * 1000)
            quantity, cost, buy_fees, buy_pnl, opened_ms = part * PARTS, 0, 0, 0, next_ms
        part = quantity // PARTS
        notional_sum = 0
        for k in range(PARTS):
            ids.fill += 1
            price = low + (high - low) * rng.randint(0, 1000) // 1000
            notional = mul(part, price)
            fee = notional // 1000
            notional_sum += notional
            if buying:
                cost += notional
                realized = -fee
                buy_fees += fee
                buy_pnl += realized
            else:
                removed = cost // PARTS if k < PARTS - 1 else cost - (cost // PARTS) * (PARTS - 1)
                realized = notional - removed - fee
            realized_total += realized
            fees_total += fee
            fills.append(
                (
                    ids.fill,
                    ids.order,
                    bot_id,
                    str(k + 1),
                    symbol,
                    side,
                    part,
                    price,
                    fee,
                    "USDT",
                    fee,
                    realized,
                    stamp(next_ms + 1000 * (k + 1)),
                )
            )
        purpose = "entry" if buying else rng.choice(["exit", "exit", "stop_loss", "take_profit"])
        average = notional_sum * UNIT // quantity
        orders.append(
            (
                ids.order,
                bot_id,
                ids.signal,
                f"bd-{bot_id}-{ids.order}",
                "paper",
                symbol,
                side,
                "market",
                quantity,
                purpose,
                "filled",
                quantity,
                average,
                next_ms,
                stamp(close_ms + 1),
                stamp(close_ms + 2),
                stamp(next_ms + 1000 * PARTS),
            )
        )
        if buying:
            continue
        ids.position += 1
        round_trip = buy_pnl + sum(row[11] for row in fills[-PARTS:])
        positions.append(
            (
                ids.position,
                bot_id,
                symbol,
                "closed",
                0,
                0,
                cost * UNIT // quantity,
                round_trip,
                buy_fees + sum(row[8] for row in fills[-PARTS:]),
                average,
                0,
                stamp(opened_ms + 1000),
                stamp(next_ms + 1000 * PARTS),
                purpose,
            )
        )
        if len(equity) < plan["equity"]:
            ids.equity += 1
            cash = CAPITAL + realized_total
            equity.append(
                (
                    ids.equity,
                    bot_id,
                    stamp(next_ms + 1000 * PARTS),
                    next_ms,
                    cash,
                    cash,
                    realized_total,
                    0,
                    fees_total,
                    0,
                )
            )
    return signals, orders, fills, positions, equity


def seed_backtests(url: str) -> int:
    """A few finished backtest runs (the engine's own code on the bundled sample)."""
    from botdesk.db.session import Database
    from botdesk.engine.backtest.runs import BacktestRequest, new_run, run_backtest, store_report

    db = Database(url)
    settings = [(9, 21), (12, 50), (5, 30)]
    for fast, slow in settings:
        params = {"fast": fast, "slow": slow, "stop_atr": 2.0}
        request = BacktestRequest("ema_cross", params, "BTCUSDT", "15m", "sample")
        report = run_backtest(request)
        with db.writing() as session:
            run = new_run(request, created_by="bench")
            store_report(run, report)
            session.add(run)
    db.dispose()
    return len(settings)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="default: %(default)s")
    parser.add_argument("--bots", type=int, default=50)
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--equity", type=int, default=100_000)
    parser.add_argument("--force", action="store_true", help="delete an existing SQLite file")
    args = parser.parse_args()
    if args.fills != args.orders * PARTS:
        parser.error(f"--fills must be {PARTS} x --orders (each order fills in {PARTS} parts)")
    if args.orders % (2 * args.bots) or args.signals < args.orders:
        parser.error("--orders must be a multiple of 2 x --bots, and --signals at least --orders")
    url = args.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        if path.exists():
            if not args.force:
                raise SystemExit(f"{path} exists; pass --force to recreate it")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    upgrade(url)
    writer = Writer(url)
    if writer.count("fill"):
        raise SystemExit("this database already has fills; seed an empty one")
    stamp = times_of(writer.postgres)
    rng = random.Random(20241028)
    prices = {symbol: klines(symbol) for symbol in SYMBOLS}
    bots = []
    for number in range(1, args.bots + 1):
        symbol = SYMBOLS[(number - 1) % len(SYMBOLS)]
        strategy, params = STRATEGIES[(number - 1) % len(STRATEGIES)]
        state = "running" if number % 5 else "stopped"
        name = f"{strategy.split('_')[0]}-{symbol[:-4].lower()}-{number:02d}"
        bots.append(
            (
                number,
                name,
                strategy,
                params,
                symbol,
                "1h",
                "paper",
                CAPITAL,
                state,
                state,
                False,
                stamp(prices[symbol][0][0]),
            )
        )
    writer.insert("bot", BOT_COLUMNS, bots)
    ids = Ids()
    plans = zip(
        split(args.signals, args.bots),
        split(args.orders, args.bots),
        split(args.equity, args.bots),
        strict=True,
    )
    totals = dict.fromkeys(("signal", "order", "fill", "position", "equity_snapshot"), 0)
    for bot, (n_signals, n_orders, n_equity) in zip(bots, plans, strict=True):
        plan = {"signals": n_signals, "orders": n_orders, "equity": n_equity}
        rows = seed_bot(bot[0], bot[4], prices[bot[4]], plan, ids, stamp, rng)
        for table, columns, chunk in zip(
            totals,
            (SIGNAL_COLUMNS, ORDER_COLUMNS, FILL_COLUMNS, POSITION_COLUMNS, EQUITY_COLUMNS),
            rows,
            strict=True,
        ):
            writer.insert(table, columns, chunk)
            totals[table] += len(chunk)
    writer.assign_positions()
    writer.fill_entry_costs()
    writer.finish(["bot", *totals])
    fill_trade_summaries(url)
    runs = seed_backtests(url)
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{count:,} {table}" for table, count in totals.items())
    print(f"seeded {url}\n  {args.bots} bots, {counts}, {runs} backtest runs\n  in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
