"""The overview's wallet card: per account and asset, what the account holds against what
the bots' books hold, the difference flagged (short in red, a surplus in amber)."""

import dash_bootstrap_components as dbc
from dash import html

from botdesk.app.components import empty_state, format_quantity
from botdesk.db.balances import Holding, Wallet


def difference_cell(holding: Holding) -> html.Span:
    difference = holding.difference
    if difference is None:
        return html.Span("not read yet", className="text-secondary")
    if difference == 0:
        return html.Span(
            "=", className="text-success", title="the account holds what the books say"
        )
    if difference < 0:
        return html.Span(
            f"{format_quantity(difference)}",
            className="text-danger fw-bold",
            title="the account holds less than the bots' books say",
        )
    return html.Span(
        f"+{format_quantity(difference)}",
        className="text-warning",
        title="the account holds more than the bots' books: not allocated to a bot",
    )


def _account_row(wallet: Wallet) -> html.Tr:
    if wallet.exchange_account_id is None:
        detail = "its bots' books"
    elif wallet.read_at is None:
        detail = f"{wallet.environment}, not read yet"
    else:
        detail = f"{wallet.environment}, read {wallet.read_at:%Y-%m-%d %H:%M} UTC"
    return html.Tr(
        html.Td([html.B(wallet.name), f" · {detail}"], colSpan=4, className="small pt-2"),
        id=f"overview-wallet-{wallet.name}",
    )


def _asset_row(holding: Holding) -> html.Tr:
    held = format_quantity(holding.held) if holding.held is not None else "—"
    cells = [held, format_quantity(holding.booked), difference_cell(holding)]
    return html.Tr(
        [html.Td(holding.asset, className="ps-3")]
        + [html.Td(cell, className="num text-nowrap") for cell in cells]
    )


HEADER = ["Asset", "Account", "Books", "Diff."]


def wallet_table(wallets: list[Wallet]):
    if not wallets:
        return empty_state("No account yet: a bot's account appears here with its first bot.")
    body = []
    for wallet in wallets:
        body.append(_account_row(wallet))
        body += [_asset_row(holding) for holding in wallet.holdings]
    header = html.Tr([html.Th(h, className="num" if i else None) for i, h in enumerate(HEADER)])
    return dbc.Table(
        [html.Thead(header), html.Tbody(body)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
        id="overview-wallet",
    )
