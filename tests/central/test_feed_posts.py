"""How the publisher tells nchan: the changed gates of one version share posts
(`<url>/<id>,<id>,...`, nchan publishes the message to each channel named),
within nchan's 255 channels and nginx's request line. The real nginx side:
tests/central/test_central_feed.py."""

from __future__ import annotations

from central.feed import GATES_PER_POST, IDS_BYTES, NchanFeed


def test_one_version_goes_out_in_posts_of_up_to_255_gates_in_order():
    feed = NchanFeed("http://127.0.0.1:8701/feed")
    versions = {f"g{i:04d}": 7 for i in range(600)}
    posts = feed.posts(versions)
    assert [len(gates) for gates, _ in posts] == [255, 255, 90] and GATES_PER_POST == 255
    assert [g for gates, _ in posts for g in gates] == sorted(versions)
    assert {version for _, version in posts} == {7}
    request = feed._request(posts[2][0], 7)
    assert request.startswith(b"POST /feed/g0510,g0511,")
    assert request.endswith(b'\r\n\r\n{"version": 7}')


def test_gates_of_different_versions_never_share_a_post():
    versions = {"a": 3, "b": 4, "c": 3, "d": 4, "e": 5}
    posts = NchanFeed("http://127.0.0.1:8701/feed").posts(versions)
    assert posts == [(["a", "c"], 3), (["b", "d"], 4), (["e"], 5)]


def test_long_gate_ids_keep_a_post_within_nginx_request_line():
    feed = NchanFeed("http://127.0.0.1:8701/feed")
    versions = {f"{i:03d}-" + "x" * 59: 9 for i in range(300)}  # 63 characters each
    posts = feed.posts(versions)
    assert all(len(",".join(gates)) <= IDS_BYTES for gates, _ in posts)
    assert sum(len(gates) for gates, _ in posts) == 300 and len(posts) == 4
    assert all(len(feed._request(gates, 9).split(b"\r\n")[0]) < 8192 for gates, _ in posts)


def test_one_post_per_gate_when_asked():
    posts = NchanFeed("http://127.0.0.1:8701/feed", gates_per_post=1).posts({"a": 1, "b": 1})
    assert posts == [(["a"], 1), (["b"], 1)]
