"""The lookahead check where strategies meet bots: run by itself on the bundled sample
(real 1m klines) for a user strategy when it is loaded and when a bot is created or
started, remembered per class and parameters. A strategy that looks ahead is flagged on
the desk and refused for bots unless an admin allowed it on that bot (audited)."""

import json
import logging

from botdesk.engine.backtest.data import SAMPLE, load_candles
from botdesk.engine.research.lookahead import CheckError, CheckReport, check
from botdesk.engine.strategies import registry

log = logging.getLogger(__name__)

CHECK_SYMBOL, CHECK_TIMEFRAME = "BTCUSDT", "1m"
_reports: dict[tuple, CheckReport | str] = {}


def report_for(name: str, params: dict | str | None = None) -> CheckReport | str | None:
    """The check of strategy `name` with `params` (its defaults when None): a CheckReport,
    a message when it could not run, or None for a built-in (their tests pin them)."""
    if registry.is_built_in(name) or name not in registry.STRATEGIES:
        return None
    if isinstance(params, str):
        params = json.loads(params or "{}")
    strategy = registry.create(name, params)
    key = (id(registry.get(name)), json.dumps(strategy.params.model_dump(), sort_keys=True))
    if key not in _reports:
        try:
            candles = load_candles(SAMPLE, symbol=CHECK_SYMBOL, timeframe=CHECK_TIMEFRAME)
            _reports[key] = check(strategy, candles)
        except CheckError as error:
            _reports[key] = f"the lookahead check could not run: {error}"
        found = _reports[key]
        if isinstance(found, CheckReport) and found.lookahead:
            log.warning("strategy %s %s: %s", name, key[1], found.summary())
    return _reports[key]


def lookahead_refusal(name: str, params: dict | str | None) -> str | None:
    """Why a bot may not run this strategy with these parameters (it looks ahead), or None."""
    try:
        found = report_for(name, params)
    except ValueError:
        return None  # unknown strategy or bad parameters: refused elsewhere, with their own words
    if isinstance(found, CheckReport) and found.lookahead:
        return (
            f"strategy {name} failed the lookahead check ({found.summary()}; "
            f"`botdesk strategy check {name}`): an admin must allow it on this bot"
        )
    return None


def check_loaded(names) -> None:
    """The check of each just-loaded user strategy with its defaults (logged, remembered)."""
    for name in names:
        try:
            report_for(name)
        except ValueError as error:
            log.warning("strategy %s: the lookahead check could not run: %s", name, error)
