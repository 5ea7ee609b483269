"""The lines `botdesk backtest` prints after the figures: buy-and-hold on the same data,
the trades by exit reason and by entry signal, the monthly returns."""

from botdesk.engine.research.report import additions

MONTHS_PER_LINE = 6


def report_lines(report) -> list[str]:
    found = additions(report)
    hold = found["buy_and_hold"]
    lines = [
        f"buy and hold   {hold['total_return']:+.2%} (max drawdown {hold['max_drawdown']:.2%}, "
        f"final equity {float(hold['final_equity']):.2f})"
    ]
    for title, rows in (
        ("by exit", found["by_exit_reason"]),
        ("by entry", found["by_entry_signal"]),
    ):
        for index, row in enumerate(rows):
            label = title if index == 0 else ""
            lines.append(
                f"{label:<15}{row['key']}: {row['trades']} trades, {row['win_rate']:.0%} won, "
                f"P&L {float(row['pnl']):+.2f}, mean {row['mean_return']:+.2%}"
            )
    months = [f"{m['month']} {m['return']:+.2%}" for m in found["monthly"]]
    for start in range(0, len(months), MONTHS_PER_LINE):
        label = "monthly" if start == 0 else ""
        lines.append(f"{label:<15}" + "  ".join(months[start : start + MONTHS_PER_LINE]))
    return lines
