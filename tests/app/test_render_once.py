"""RenderOnce: a piece is built once per key, shared by every later request, and requests
that miss together wait for that one build."""

import json
import threading

from dash import dcc, html
from plotly.io.json import to_json_plotly

from botdesk.app.render_once import RenderOnce, frozen


def test_a_piece_is_built_once_per_marker_and_again_when_it_moves():
    kept = RenderOnce()
    built = []

    def build():
        built.append(len(built))
        return {"table": len(built)}

    first = kept.get(("sqlite:///a.db", "viewer", ["3", ["9", "2"]]), build)
    again = kept.get(("sqlite:///a.db", "viewer", ["3", ["9", "2"]]), build)
    assert again is first and kept.builds == 1
    moved = kept.get(("sqlite:///a.db", "viewer", ["4", ["9", "2"]]), build)
    assert moved is not first and kept.builds == 2
    other_role = kept.get(("sqlite:///a.db", "admin", ["4", ["9", "2"]]), build)
    assert other_role is not moved and kept.builds == 3


def test_requests_that_miss_together_share_one_build():
    kept = RenderOnce()
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_build():
        calls.append(1)
        started.set()
        release.wait(5)
        return object()

    answers = []
    first = threading.Thread(target=lambda: answers.append(kept.get("k", slow_build)))
    first.start()
    started.wait(5)
    others = [
        threading.Thread(target=lambda: answers.append(kept.get("k", slow_build))) for _ in range(5)
    ]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert len(calls) == 1 and len(answers) == 6
    assert all(answer is answers[0] for answer in answers)


def test_only_the_newest_pieces_are_kept():
    kept = RenderOnce(size=2)
    for marker in range(3):
        kept.get(marker, object)
    kept.get(2, object)
    kept.get(1, object)
    assert kept.builds == 3  # 1 and 2 were kept
    kept.get(0, object)
    assert kept.builds == 4  # 0 had been dropped


def test_markers_as_stores_hold_them_are_keys():
    assert frozen([["a", 1], {"b": [2]}]) == (("a", 1), (("b", (2,)),))
    assert hash(frozen([["a", 1], {"b": [2]}]))


def test_while_a_piece_is_built_others_get_the_one_before_with_its_marker():
    kept = RenderOnce()
    assert kept.newest("db", ["m1"], lambda: "piece 1") == (["m1"], "piece 1")
    started, release = threading.Event(), threading.Event()

    def slow_build():
        started.set()
        release.wait(5)
        return "piece 2"

    built = []
    builder = threading.Thread(target=lambda: built.append(kept.newest("db", ["m2"], slow_build)))
    builder.start()
    started.wait(5)
    # asked meanwhile: the piece before, shown with its own marker (the poll catches up)
    assert kept.newest("db", ["m2"], slow_build) == (["m1"], "piece 1")
    release.set()
    builder.join(5)
    assert built == [(["m2"], "piece 2")]
    assert kept.newest("db", ["m2"], slow_build) == (["m2"], "piece 2")
    assert kept.builds == 2


def test_a_piece_is_kept_as_the_json_dash_sends_for_its_components():
    table = html.Table([html.Tr([html.Td("BTCUSDT", id="bots-cell"), dcc.Link("a", href="/b")])])
    kept = RenderOnce()
    piece, marks = kept.get("k", lambda: (table, [["1", "2"]]))
    assert isinstance(piece, dict) and piece == json.loads(to_json_plotly(table))
    assert marks == [["1", "2"]]
    assert to_json_plotly(html.Div([piece, "x"])) == to_json_plotly(html.Div([table, "x"]))
