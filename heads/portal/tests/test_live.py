"""The live feed: events arrive without asking, a dropped connection resumes with
Last-Event-ID and misses nothing, and open pages show what an event changed."""

from __future__ import annotations

from urllib.parse import urlsplit

import live
import pytest
from live import Feed
from portal_testing import api, click, gateway, ok, shown, signed_in, table, unique, until
from streamlit.runtime import caching
from streamlit.testing.v1 import AppTest
from tcp_forwarder import Forwarder

# The session id AppTest runs every session under (streamlit/testing/v1/local_script_runner.py).
APPTEST_SESSION = "test session id"


def new_product(prefix: str) -> dict:
    sku = unique(prefix)
    return api("admin").post("/products", {"sku": sku, "name": sku, "unit_price": "1.00"}).body


def skus(feed: Feed) -> list[str]:
    return [e["data"]["sku"] for e in feed.events() if e["type"] == "erp.product.created"]


@pytest.mark.smoke
def test_the_feed_resumes_after_a_drop_with_nothing_missed_and_nothing_twice() -> None:
    # given a live feed that has seen one new product
    feed = Feed(gateway(), api("admin").token).start()
    until(lambda: feed.state == "live")
    first = new_product("T-LIVE")
    until(lambda: first["sku"] in skus(feed))
    # when its connection is gone while another product is created
    feed.stop()
    second = new_product("T-LIVE")
    # then a feed resuming from the last event it saw gets the second, and not the first again
    resumed = Feed(gateway(), api("admin").token, last_event_id=feed.last_event_id).start()
    try:
        until(lambda: second["sku"] in skus(resumed))
        assert first["sku"] not in skus(resumed)
        assert resumed.version("erp.product.") >= 1
        assert resumed.subject_version(second["id"]) >= 1
    finally:
        resumed.stop()
    assert until(lambda: not resumed.running, timeout=5)


def test_one_feed_reconnects_after_its_connection_drops_and_misses_nothing() -> None:
    # given a live feed whose connection runs through a network that can fail
    target = urlsplit(gateway())
    with Forwarder((target.hostname or "127.0.0.1", target.port or 80)).start() as network:
        feed = Feed(network.url, api("admin").token).start()
        watcher = Feed(gateway(), api("admin").token).start()  # connected directly
        try:
            until(lambda: feed.state == "live" and watcher.state == "live")
            before = new_product("T-DROP")
            until(lambda: before["sku"] in skus(feed))
            # when the connection drops and cannot be made again for a while
            network.stop()
            until(lambda: feed.state == "reconnecting", timeout=10)
            # and a product is created and its event published meanwhile
            during = new_product("T-DROP")
            until(lambda: during["sku"] in skus(watcher))
            assert feed.state == "reconnecting"
            assert during["sku"] not in skus(feed)
            # then once the network is back the same feed is live again on a new connection,
            network.start()
            until(lambda: feed.state == "live" and during["sku"] in skus(feed))
            assert feed.connections == 2
            # resumed from the last event it had: the missed one once, nothing twice
            assert skus(feed).count(during["sku"]) == 1
            assert skus(feed).count(before["sku"]) == 1
            assert feed.subject_version(during["id"]) == 1
        finally:
            feed.stop()
            watcher.stop()


def session_feed(at: AppTest) -> Feed:
    """The running feed of the signed-in AppTest session, once it is live."""
    token = at.session_state["auth"]["token"]

    def found() -> Feed | None:
        ok(at.run())
        mine = [f for f in list(live._feeds) if f._token == token and f.running]
        return mine[0] if len(mine) == 1 and mine[0].state == "live" else None

    return until(found)


def test_signing_out_stops_the_sessions_feed() -> None:
    # given a signed-in session with its live feed
    at = ok(signed_in("sales"))
    feed = session_feed(at)
    # when the user signs out
    at = ok(click(at, "Sign out"))
    assert "You have signed out." in shown(at)
    # then the feed's thread ends
    until(lambda: not feed.running, timeout=10)
    assert feed.state == "stopped"


def test_signing_out_stops_a_feed_that_replaced_a_stopped_one() -> None:
    # given a signed-in session whose first feed stopped and was replaced by a second
    at = ok(signed_in("warehouse"))
    first = session_feed(at)
    first.stop()
    second = session_feed(at)
    assert second is not first
    # when the user signs out, then the second feed ends too
    ok(click(at, "Sign out"))
    until(lambda: not second.running, timeout=10)


def test_a_session_that_ends_stops_its_feed() -> None:
    # given a signed-in session with its live feed
    at = ok(signed_in("admin"))
    feed = session_feed(at)
    # when the session ends (Streamlit's runtime clears its session caches, as when the
    # browser tab closes)
    caching.clear_session_resource_cache(APPTEST_SESSION)
    # then the feed's thread ends
    until(lambda: not feed.running, timeout=10)
    assert feed.state == "stopped"


def test_a_refused_credential_stops_the_feed() -> None:
    # when a feed starts with a token the gateway does not accept
    feed = Feed(gateway(), "not-a-token").start()
    # then it stops for good with the problem, instead of retrying
    until(lambda: feed.state == "refused")
    assert feed.refused is not None
    assert feed.refused.status == 401


def test_the_activity_page_shows_an_order_placed_elsewhere() -> None:
    # given the activity page open for a sales user, with its feed live
    at = ok(signed_in("sales").switch_page("views/activity.py").run())
    until(lambda: "Stream live" in shown(ok(at.run())))
    # when an order is placed through the API by someone else
    buyer = api("admin").get("/customers", limit=1)["items"][0]
    product = api("admin").get("/products", active="true", limit=1)["items"][0]
    order = (
        api("admin")
        .post(
            "/sales-orders",
            {"customer_id": buyer["id"], "lines": [{"sku": product["sku"], "quantity": 1}]},
        )
        .body
    )

    # then the page lists its event, and offers to open the order
    def listed() -> bool:
        ok(at.run())
        return at.dataframe and any(r["About"] == order["number"] for r in table(at))

    until(listed)
    assert f"Open {order['number']}" in {b.label for b in at.button}


def test_an_order_confirmed_elsewhere_changes_status_on_its_open_page() -> None:
    # given an order open on the sales orders page (its data cached for 20 s)
    buyer = api("admin").get("/customers", limit=1)["items"][0]
    level = next(lv for lv in api("admin").walk("/stock", limit=400) if lv["available"] > 2)
    product = api("admin").get(f"/products/{level['product_id']}")
    order = (
        api("admin")
        .post(
            "/sales-orders",
            {"customer_id": buyer["id"], "lines": [{"sku": product["sku"], "quantity": 1}]},
        )
        .body
    )
    at = ok(signed_in("sales").switch_page("views/sales_orders.py").run())
    until(lambda: "Live events: live" in shown(ok(at.run())))
    at.session_state["so_open"] = order["id"]
    assert "Status draft" in shown(ok(at.run()))
    # when someone else confirms it
    _, etag = api("admin").get_with_etag(f"/sales-orders/{order['id']}")
    api("admin").post(f"/sales-orders/{order['id']}/confirm", if_match=etag)
    # then the open page shows it confirmed well before the cache would expire
    until(lambda: "Status confirmed" in shown(ok(at.run())), timeout=15)


def test_a_stopped_feed_is_replaced_on_the_next_run() -> None:
    # given a signed-in session whose feed is live
    at = ok(signed_in("sales").run())
    until(lambda: "Live events: live" in shown(ok(at.run())))
    # when its feed stops (as when the same user signed out and in again within the second
    # that makes the same token, so the session's cache would hand back the stopped feed)
    live.stop_all()
    # then the next run starts a new feed, which goes live
    until(lambda: "Live events: live" in shown(ok(at.run())), timeout=15)
