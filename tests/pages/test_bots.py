"""The Bots page on a real desk: traders start, pause and stop bots through command rows;
admins create, edit and delete them with the strategy's own validation; every role is held
to what it may do (refusals audited, nothing changed)."""

import json
from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db import feed_listings
from botdesk.db.models import Bot, BotState, Command, FeedListing, Fill, Order, Position
from tests.desk import (
    RunningDesk,
    click,
    dependencies,
    first_output,
    grid_rows,
    registered_body,
    render,
    with_outputs,
)
from tests.factories import make_bot, make_position
from tests.rows import audit_trail

pytestmark = pytest.mark.integration


def commands_for(desk, bot: Bot) -> list[Command]:
    with desk.db.reading() as session:
        query = select(Command).where(Command.target == f"bot:{bot.id}")
        return list(session.exec(query.order_by(col(Command.id))))


def bot_named(desk, name: str) -> Bot | None:
    with desk.db.reading() as session:
        return session.exec(select(Bot).where(Bot.name == name)).first()


def press(client, desk, button: dict, values: dict | None = None):
    """Click one of the pattern-matched buttons of the bots table (ids as the page has them)."""
    kind = button["type"]
    for dependency in dependencies(client, desk.base):
        for item in dependency["inputs"]:
            if item["id"].startswith("{") and json.loads(item["id"]).get("type") == kind:
                return _post_pattern(client, desk, dependency, button, values or {})
    raise KeyError(kind)


def _post_pattern(client, desk, dependency, button, values):
    body = registered_body(dependency, values)
    for index, item in enumerate(dependency["inputs"]):
        if item["id"].startswith("{") and button["type"] in item["id"]:
            body["inputs"][index] = [{"id": button, "property": "n_clicks", "value": 1}]
    body["changedPropIds"] = [
        json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"
    ]
    return client.post(f"{desk.base}/_dash-update-component", json=body, timeout=30)


def test_the_list_shows_status_broker_position_and_pnl(desk):
    viewer = desk.signed_in("bots-viewer")
    bot = make_bot(desk.db, name="list-me", state=BotState.RUNNING)
    make_position(desk.db, bot, unrealized_pnl=Decimal("12.5"))
    page = render(viewer, desk.base, "/bots")
    assert "list-me" in page and "running" in page and "paper" in page
    assert "0.5 @ 60,000.00" in page and "+12.50 USDT" in page
    assert "bots-action" not in page and "bots-new" not in page  # a viewer has no controls
    trader_page = render(desk.signed_in("bots-trader-view", "trader"), desk.base, "/bots")
    assert "bots-action" in trader_page and '"bots-edit"' not in trader_page


def test_a_trader_starts_pauses_and_stops_through_commands_a_viewer_cannot(desk):
    bot = make_bot(desk.db, name="controlled")
    viewer = desk.signed_in("bots-v2")
    refused = press(viewer, desk, {"type": "bots-action", "bot": bot.id, "action": "start"})
    assert refused.status_code == 403 and commands_for(desk, bot) == []
    assert audit_trail(desk.db, actor="bots-v2", action="access.refused")
    trader = desk.signed_in("bots-t2", "trader")
    for action in ("start", "pause", "stop"):
        done = press(trader, desk, {"type": "bots-action", "bot": bot.id, "action": action})
        assert done.status_code == 200 and f"bot.{action} queued for controlled" in done.text
    assert [c.kind for c in commands_for(desk, bot)] == ["bot.start", "bot.pause", "bot.stop"]
    assert {c.issued_by for c in commands_for(desk, bot)} == {"bots-t2"}
    assert len(audit_trail(desk.db, actor="bots-t2", action="command.bot.start")) == 1
    mine = {"issued_by": {"filterType": "text", "type": "equals", "filter": "bots-t2"}}
    shown = grid_rows(trader, desk.base, "bots-commands", {"filterModel": mine})
    rows = shown['{"name":"bots-commands","type":"desk-grid"}']["getRowsResponse"]["rowData"]
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("bot.stop", "pending"),
        ("bot.pause", "pending"),
        ("bot.start", "pending"),
    ]


FORM = {
    "bots-name.value": "new-ema",
    "bots-strategy.value": "ema_cross",
    "bots-symbol.value": "ETHUSDT",
    "bots-timeframe.value": "5m",
    "bots-capital.value": "2500.5",
    "bots-broker.value": "paper",
    "bots-account.value": None,
}


def save(client, desk, params: dict, **changes):
    values = {**FORM, **{f"bots-{k}.value": v for k, v in changes.items()}}
    dependency = next(
        dep
        for dep in dependencies(client, desk.base)
        if any(i["id"] == "bots-save" for i in dep["inputs"])
    )
    body = registered_body(
        dependency,
        {**values, "bots-save.n_clicks": 1, "bots-editing.data": changes.get("editing")},
        changed=["bots-save.n_clicks"],
    )
    for index, item in enumerate(dependency["state"]):
        if item["id"].startswith("{") and json.loads(item["id"])["type"] == "bots-param":
            body["state"][index] = [
                {
                    "id": {"type": "bots-param", "name": name},
                    "property": item["property"],
                    "value": value
                    if item["property"] == "value"
                    else {"type": "bots-param", "name": name},
                }
                for name, value in params.items()
            ]
    return client.post(f"{desk.base}/_dash-update-component", json=body, timeout=30)


def test_admins_create_with_the_strategys_validation_traders_cannot(desk):
    trader = desk.signed_in("bots-t3", "trader")
    assert save(trader, desk, {"fast": 5, "slow": 20}).status_code == 403
    assert bot_named(desk, "new-ema") is None
    admin = desk.signed_in("bots-admin", "admin")
    wrong = save(admin, desk, {"fast": 30, "slow": 20, "stop_atr": 1})
    assert "fast: fast must be below slow" in wrong.text and bot_named(desk, "new-ema") is None
    too_big = save(admin, desk, {"fast": 5, "slow": 900, "stop_atr": 1})
    assert "slow: Input should be less than or equal to 200" in too_big.text
    bad_capital = save(admin, desk, {"fast": 5, "slow": 20}, capital="-3")
    assert "capital: must be between 0.00000001 and 1000000000 USDT, not -3" in bad_capital.text
    assert "symbol: like BTCUSDT" in save(admin, desk, {}, symbol="btc usdt").text
    assert bot_named(desk, "new-ema") is None
    created = save(admin, desk, {"fast": 5, "slow": 20, "stop_atr": 1.5})
    assert "Created new-ema" in created.text
    bot = bot_named(desk, "new-ema")
    assert (bot.strategy, bot.symbol, bot.timeframe, str(bot.capital), bot.status) == (
        "ema_cross",
        "ETHUSDT",
        "5m",
        "2500.50000000",
        "stopped",
    )
    assert bot.params == '{"fast": 5, "slow": 20, "stop_atr": 1.5}'
    assert "exists already" in save(admin, desk, {"fast": 5, "slow": 20}).text
    edited = save(admin, desk, {"fast": 7, "slow": 20}, editing=bot.id, name="new-ema")
    assert "Saved new-ema" in edited.text and '"fast": 7' in bot_named(desk, "new-ema").params
    assert audit_trail(desk.db, actor="bots-admin", action="bot.create")


def test_delete_refuses_a_bot_with_an_open_position_and_deletes_otherwise(desk):
    admin = desk.signed_in("bots-deleter", "admin")
    holding = make_bot(desk.db, name="holding")
    make_position(desk.db, holding)
    asked = press(admin, desk, {"type": "bots-delete", "bot": holding.id})
    assert "open position: close it first" in asked.text
    refused = click(admin, desk.base, "bots-delete-confirm", {"bots-deleting.data": holding.id})
    assert "holds an open position" in refused.text and bot_named(desk, "holding") is not None
    idle = make_bot(desk.db, name="idle")
    trader = desk.signed_in("bots-t4", "trader")
    assert (
        click(trader, desk.base, "bots-delete-confirm", {"bots-deleting.data": idle.id}).status_code
        == 403
    )
    done = click(admin, desk.base, "bots-delete-confirm", {"bots-deleting.data": idle.id})
    assert "Deleted idle" in done.text and bot_named(desk, "idle") is None
    trail = audit_trail(desk.db, actor="bots-deleter", action="bot.delete")
    assert [row.outcome for row in trail] == ["refused", "ok"]


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("bots-form-admin", "admin")


def show_params(client, desk, strategy: str) -> str:
    """The parameter inputs the form shows for a strategy (its layout as JSON text)."""
    dependency = next(
        dep
        for dep in dependencies(client, desk.base)
        if first_output(dep["output"]) == "bots-params.children"
    )
    body = registered_body(dependency, {"bots-strategy.value": strategy})
    response = client.post(f"{desk.base}/_dash-update-component", json=body, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return json.dumps(response.json()["response"])


def test_parameter_inputs_send_what_was_typed(desk):
    """Text inputs, no min/max/step: a browser drops a number input's value outside them
    (or off the step) and the bot would quietly get the default."""
    admin = desk.signed_in("bots-params-admin", "admin")
    shown = json.loads(show_params(admin, desk, "ema_cross"))["bots-params"]["children"]
    inputs = [
        column["props"]["children"][1]["props"]
        for column in shown[1]["props"]["children"]  # the row of labelled inputs
    ]
    assert [field["id"]["name"] for field in inputs] == ["fast", "slow", "stop_atr"]
    for field in inputs:
        assert field["type"] == "text" and field["inputmode"] in ("numeric", "decimal")
        assert not {"min", "max", "step"} & set(field)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fast": "-3", "slow": "21"}, "fast: Input should be greater than or equal to 2"),
        ({"fast": "9", "slow": "99999999999999999999"}, "slow: Input should be less than or"),
        ({"fast": "9.5", "slow": "21"}, "fast: Input should be a valid integer"),
        ({"fast": "nine", "slow": "21"}, "fast: Input should be a valid integer"),
        ({"fast": "9", "slow": "21", "stop_atr": "1e400"}, "stop_atr: Input should be less"),
    ],
)
def test_typed_parameters_are_refused_with_the_models_message(desk, admin, params, message):
    refused = save(admin, desk, params, name="typed-params")
    assert message in refused.text and "Created" not in refused.text
    assert bot_named(desk, "typed-params") is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"capital": "1e30"}, "capital: must be between 0.00000001 and 1000000000 USDT, not 1e30"),
        ({"capital": "1" * 40}, "capital: must be between 0.00000001 and 1000000000 USDT"),
        ({"capital": "0.000000001"}, "capital: must be between 0.00000001"),
        ({"capital": "12.123456789"}, "capital: at most 8 decimals"),
        ({"capital": "NaN"}, "capital: 'NaN' is not a number"),
        ({"broker": "binance", "account": "99999999999999999999"}, "exchange account: must be"),
        ({"name": "n" * 150}, "name: at most 100 characters (150 given)"),
        ({"name": "  "}, "name: required"),
        ({"symbol": "X" * 30}, "symbol: at most 20 characters (30 given)"),
    ],
)
def test_huge_numbers_and_long_text_are_refused_and_nothing_is_saved(desk, admin, changes, message):
    before = audit_trail(desk.db, action="bot.create")
    refused = save(admin, desk, {}, **{"name": "bounded", **changes})
    assert refused.status_code == 200, refused.text[:300]
    assert message in refused.text, refused.text[:500]
    assert bot_named(desk, "bounded") is None and bot_named(desk, "n" * 150) is None
    assert audit_trail(desk.db, action="bot.create") == before


@pytest.mark.parametrize(
    ("timeframe", "params", "message", "fitting"),
    [
        ("15m", {"timeframes": "5m,15m"}, "timeframe: confluence reads 5m candles, and 5m "
         "candles cannot be built from 15m candles", "1m"),
        ("1m", {"timeframes": "1h,4h"}, "timeframe: confluence needs 12720 1m candles of "
         "history", "15m"),
    ],
)  # fmt: skip
def test_a_timeframe_that_cannot_feed_the_strategys_higher_timeframes_is_refused(
    desk, admin, timeframe, params, message, fitting
):
    name = f"mtf-{timeframe}"  # the desk is the module's: one bot name per case
    refused = save(admin, desk, params, name=name, strategy="confluence", timeframe=timeframe)
    assert message in refused.text, refused.text[:500]
    assert bot_named(desk, name) is None
    made = save(admin, desk, params, name=name, strategy="confluence", timeframe=fitting)
    assert "Created" in made.text, made.text[:500]
    assert json.loads(bot_named(desk, name).params)["timeframes"] == params["timeframes"]


def test_a_symbol_the_replay_does_not_offer_is_refused(desk):
    """No engine has listed the replay's symbols yet: the desk reads the replay's files."""
    admin = desk.signed_in("bots-symbols", "admin")
    refused = save(admin, desk, {}, name="doge", symbol="DOGEUSDT")
    assert (
        "symbol: the replay feed has no DOGEUSDT (it offers BTCUSDT, ETHUSDT, SOLUSDT)"
        in refused.text
    )
    assert bot_named(desk, "doge") is None
    assert "Created sol" in save(admin, desk, {}, name="sol", symbol="SOLUSDT").text


def publish(desk, feed: str, symbols: list[str]) -> None:
    """What the engine writes when it starts: the symbols its feed offers."""
    with desk.db.writing() as session:
        feed_listings.publish(
            session=session, feed=feed, symbols=symbols, source="a test", engine_id="engine-1"
        )


def test_the_engines_listing_of_its_feed_is_what_the_desk_checks(desk):
    admin = desk.signed_in("bots-listing", "admin")
    publish(desk, "replay", ["DOGEUSDT", "BTCUSDT"])
    try:
        assert (
            "Created doge-listed"
            in save(admin, desk, {}, name="doge-listed", symbol="DOGEUSDT").text
        )
        refused = save(admin, desk, {}, name="eth-unlisted", symbol="ETHUSDT")
        assert "the replay feed has no ETHUSDT (it offers BTCUSDT, DOGEUSDT)" in refused.text
        assert bot_named(desk, "eth-unlisted") is None
    finally:
        with desk.db.writing() as session:
            session.delete(session.get(FeedListing, "replay"))


@pytest.fixture
def binance_desk(sqlite_url, tmp_path):
    running = RunningDesk(sqlite_url, tmp_path, BOTDESK_FEED="binance")
    yield running
    running.stop()


def test_on_binance_a_symbol_waits_for_the_engines_listing(binance_desk):
    """Binance's symbols are known once an engine has read exchangeInfo: not before."""
    admin = binance_desk.signed_in("bots-binance-admin", "admin")
    early = save(admin, binance_desk, {}, name="early", symbol="BTCUSDT")
    assert "symbol: cannot be checked yet: no engine has listed the binance feed" in early.text
    assert bot_named(binance_desk, "early") is None
    publish(binance_desk, "binance", ["BTCUSDT", "ETHUSDT"])
    assert "Created early" in save(admin, binance_desk, {}, name="early", symbol="BTCUSDT").text
    refused = save(admin, binance_desk, {}, name="doge", symbol="DOGEUSDT")
    assert "symbol: the binance feed has no DOGEUSDT (it offers BTCUSDT, ETHUSDT)" in refused.text


def test_start_is_refused_at_once_while_the_kill_switch_is_engaged(desk):
    """Issue 14 item 18: Start was offered and answered "bot.start queued"; the command
    then failed in the grid. Now the button is disabled with the reason as its tooltip,
    and a click sent anyway is refused with the API's message, no command queued."""
    from botdesk.db import kill_switch
    from botdesk.db.models import Role

    bot = make_bot(desk.db, name="halted-one")
    trader = desk.signed_in("bots-t-halted", "trader")
    with desk.db.writing() as session:
        kill_switch.engage(session=session, by="bots-t-halted", role=Role.TRADER, reason="drill")
    try:
        page = render(trader, desk.base, "/bots")
        assert kill_switch.START_REFUSED.capitalize() in page
        start = {"type": "bots-action", "bot": bot.id, "action": "start"}
        button = _button_props(page, start)
        assert button["disabled"] is True
        answer = press(trader, desk, start)
        assert answer.status_code == 200
        assert f"halted-one not started: {kill_switch.START_REFUSED}" in answer.text
        assert "queued" not in answer.text and commands_for(desk, bot) == []
        [refused] = audit_trail(desk.db, actor="bots-t-halted", action="command.bot.start")
        assert refused.outcome == "refused" and refused.reason == kill_switch.START_REFUSED
    finally:
        with desk.db.writing() as session:
            kill_switch.release(session=session, by="admin", role=Role.ADMIN, reason="drill over")
    again = render(trader, desk.base, "/bots")
    assert _button_props(again, start).get("disabled") is False
    assert "queued for halted-one" in press(trader, desk, start).text


def _button_props(page: str, button_id: dict) -> dict:
    """The props of the component with `button_id` in a rendered page's JSON."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == button_id:
                found.append(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(page))
    assert len(found) == 1, found
    return found[0]


PNL_CELLS = '{"bot":["ALL"],"type":"bots-pnl"}.children'


def _stored(page: str, store: str):
    """A dcc.Store's data as the rendered page holds it."""
    layout = json.loads(page)
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == store:
                found.append(node["props"]["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(layout)
    return found[0]


def _book_fill(desk, bot: Bot, number: int) -> None:
    with desk.db.writing() as session:
        order = Order(
            bot_id=bot.id,
            client_order_id=f"marks-{bot.id}-{number}",
            symbol="BTCUSDT",
            side="buy",
            quantity=Decimal("0.1"),
        )
        session.add(order)
        session.flush()
        session.add(
            Fill(
                order_id=order.id,
                bot_id=bot.id,
                trade_id=f"marks-{number}",
                symbol="BTCUSDT",
                side="buy",
                quantity=Decimal("0.1"),
                price=Decimal(60000),
            )
        )


def _mark(desk, position_id: int, unrealized: str) -> None:
    with desk.db.writing() as session:
        position = session.get(Position, position_id)
        position.unrealized_pnl = Decimal(unrealized)
        session.add(position)


def test_a_new_mark_updates_the_pnl_cells_and_only_a_fill_re_sends_the_table(desk):
    """Positions marked every candle move the P&L column alone (a small answer); the whole
    table comes again only when what it lists changed (here, a fill)."""
    viewer = desk.signed_in("bots-marks-viewer")
    bot = make_bot(desk.db, name="marked", state=BotState.RUNNING)
    position = make_position(desk.db, bot, unrealized_pnl=Decimal("12.5"))
    page = render(viewer, desk.base, "/bots")
    assert "+12.50 USDT" in page
    shown, marks = _stored(page, "bots-marker"), _stored(page, "bots-marks")
    registered = {first_output(d["output"]): d for d in dependencies(viewer, desk.base)}
    table_call = registered["bots-list.children"]
    marks_call = registered[PNL_CELLS]

    def ask_table(marker):
        body = registered_body(table_call, {"bots-marker.data": marker})
        return viewer.post(f"{desk.base}/_dash-update-component", json=body, timeout=30)

    def ask_marks(marker):
        body = registered_body(marks_call, {"bots-marks.data": marker})
        with_outputs(body, PNL_CELLS, [{"type": "bots-pnl", "bot": bot.id}])
        return viewer.post(f"{desk.base}/_dash-update-component", json=body, timeout=30)

    assert ask_table(shown).status_code == 204 and ask_marks(marks).status_code == 204
    _mark(desk, position.id, "-7.25")  # the engine marks the position at a new price
    assert ask_table(shown).status_code == 204  # the table is not sent again
    marked = ask_marks(marks)
    assert marked.status_code == 200
    cells = marked.json()["response"]
    assert "-7.25 USDT" in json.dumps(cells) and "bots-table" not in json.dumps(cells)
    _book_fill(desk, bot, 1)
    refreshed = ask_table(shown)
    assert refreshed.status_code == 200
    assert "bots-table" in refreshed.text and "-7.25 USDT" in refreshed.text
