"""Each page's HTML kept per worker, on a real desk: a reload gets the same page, and each
URL its own meta tags (the page's title, its address with the query)."""

import re

import pytest

pytestmark = pytest.mark.integration


def meta(html: str, name: str) -> str:
    return re.search(rf'<meta property="{name}" content="([^"]*)"', html).group(1)


def test_each_url_gets_its_own_page_again_and_again(desk):
    viewer = desk.signed_in("kept-viewer")
    bots = [viewer.get(f"{desk.base}/bots") for _ in range(4)]
    assert all(page.status_code == 200 and page.text == bots[0].text for page in bots)
    assert meta(bots[0].text, "og:title") == "Bots · botdesk"
    assert meta(bots[0].text, "twitter:url") == f"{desk.base}/bots"
    for _ in range(3):
        risk = viewer.get(f"{desk.base}/risk").text
        asked = viewer.get(f"{desk.base}/bots?bot=7").text
        assert meta(risk, "og:title") == "Risk · botdesk"
        assert meta(asked, "twitter:url") == f"{desk.base}/bots?bot=7"
        assert viewer.get(f"{desk.base}/bots").text == bots[0].text
