"""The change feed in production shape: a real nginx with Debian's nchan module
running deploy/nginx's site, in front of a real central server. Gates long-poll
their channel through nginx (authorised by the application), a publication
tells the changed gates through nginx's publish location, and only once the
repository is on the origin the gates read."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
from contextlib import contextmanager

import pytest
import urllib3

from central.checks import in_words, said
from central.feed import FeedError, NchanFeed
from central.publish import publish
from kiosk.sync.report import Reporter, Unauthorised

from tests.support.media import make_image
from tests.support.nginx import (HOSTNAME, SITE, free_port, have_nginx, render, running_nginx,
                                 worker_descriptors)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_nginx(), reason="nginx or its nchan module is not "
                                 "installed (scripts/setup.sh --tests)")]


@pytest.fixture
def nginx(central, central_server, tmp_path):
    # One worker, as the central role runs nginx (central_nginx_workers).
    ng = render(tmp_path / "nginx", [central_server.server.server_port], central.state_dir)
    with running_nginx(ng, "/healthz"):
        yield ng


def gate_reporter(ng, gate_id, token) -> Reporter:
    pool = urllib3.PoolManager(retries=False, ca_certs=str(ng.crt), server_hostname=HOSTNAME,
                               assert_hostname=HOSTNAME)
    return Reporter(ng.url, gate_id, token, timeout=10, pool=pool)


@contextmanager
def token_checks(server):
    """Counts the application's answers to nginx's token checks (GET
    /api/v1/gates/<id>/feed-auth) while the block runs: how often nginx asked
    instead of answering from its memory."""
    app, asked = server.server.app, []

    def counting(environ, start_response):
        if environ.get("PATH_INFO", "").endswith("/feed-auth"):
            asked.append(environ["PATH_INFO"])
        return app(environ, start_response)

    server.server.app = counting  # werkzeug's server calls server.app per request
    try:
        yield asked
    finally:
        server.server.app = app


def in_thread(fn):
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # handed to the test thread
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_gates_hear_a_publication_through_nchan(central, nginx, tmp_path):
    token = central.gate("huu-nghi")
    other = central.gate("tan-thanh")
    sha = central.media(make_image(tmp_path / "red.png"))
    feed = NchanFeed(nginx.publish_url)
    gate = gate_reporter(nginx, "huu-nghi", token)
    position: dict = {}

    # Nothing published yet: the gate waits; after its timeout it hangs up (no news).
    t0 = time.monotonic()
    assert gate.wait(0, 1, position) is None
    assert time.monotonic() - t0 >= 1

    # Waiting, then the first publication: told within seconds, through nginx.
    waiter, out = in_thread(lambda: gate.wait(0, 50, position))
    time.sleep(1.0)  # held by nchan now
    central.show("huu-nghi", [sha])
    started = time.monotonic()
    result = publish(central.db, central.repo, feed=feed)
    assert result.warnings == [] and set(result.changed) == {"huu-nghi", "tan-thanh"}
    waiter.join(30)
    v1 = result.changed["huu-nghi"]
    assert out.get("value") == v1, out
    assert time.monotonic() - started < 15

    # Up to date with a position: held until the next change, not answered at once.
    t0 = time.monotonic()
    assert gate.wait(v1, 1, position) is None and time.monotonic() - t0 >= 1
    # A restarted gate (no position) gets the channel's last message at once; it is
    # not newer than what the gate has, so it is no news, and the next wait is held.
    bystander = gate_reporter(nginx, "tan-thanh", other)
    other_position: dict = {}
    t0 = time.monotonic()
    assert bystander.wait(v1, 20, other_position) is None
    assert time.monotonic() - t0 < 10 and other_position.get("etag")

    # A publication that changes huu-nghi only tells huu-nghi.
    waiter, out = in_thread(lambda: gate.wait(v1, 50, position))
    other_waiter, other_out = in_thread(lambda: bystander.wait(v1, 6, other_position))
    time.sleep(1.0)
    central.show("huu-nghi", [sha], playlist="second", start_time="06:00", end_time="07:00")
    result = publish(central.db, central.repo, feed=feed)
    assert list(result.changed) == ["huu-nghi"]
    waiter.join(30)
    assert out.get("value") == result.changed["huu-nghi"] > v1, out
    other_waiter.join(30)
    assert other_out == {"value": None}, "a gate whose release did not change is not told"

    # nchan asks the application about the token: a wrong one or an unknown gate is refused.
    with pytest.raises(Unauthorised):
        gate_reporter(nginx, "huu-nghi", "wrong-token").wait(0, 2, {})
    with pytest.raises(Unauthorised):
        gate_reporter(nginx, "no-such-gate", token).wait(0, 2, {})
    # The publish location is not on the public side.
    pool = nginx.pool()
    r = pool.request("POST", "/feed/huu-nghi", body=b'{"version": 999}')
    assert r.status in (403, 404, 405)
    pool.close()


def test_one_post_tells_every_gate_it_names(central, nginx):
    """The site's publish location takes a post naming up to 255 gates (nchan's
    limit) and publishes the message to each one's channel, also with gate ids
    of the longest kind (63 characters: the post is then cut by nginx's request
    line, central.feed.IDS_BYTES)."""
    long_id = "cua-khau-" + "x" * 54
    tokens = {gate: central.gate(gate) for gate in ("huu-nghi", long_id)}
    versions = {f"{i:03d}-" + "y" * 59: 4 for i in range(200)}
    versions.update({f"s{i:03d}": 4 for i in range(400)})
    versions.update({gate: 4 for gate in tokens})
    feed = NchanFeed(nginx.publish_url)
    posts = feed.posts(versions)
    assert max(len(gates) for gates, _ in posts) == 255 and len(posts) == 4
    assert feed.announce(versions) == len(versions)
    for gate, token in tokens.items():  # no position: the channel's last message at once
        assert gate_reporter(nginx, gate, token).wait(0, 10, {}) == 4
    # nchan refuses a post naming more than 255 channels (why GATES_PER_POST is 255).
    assert NchanFeed(nginx.publish_url, gates_per_post=256).announce(
        {f"s{i:03d}": 5 for i in range(256)}) == 0


def test_a_reissued_token_stops_opening_the_feed_once_nginx_forgets_its_answer(
        central, central_server, tmp_path):
    """nginx keeps the application's "good token" answer in its shared memory
    (300 s in the site; 6 s here): a gate's next waits are not asked of the
    application. Once the answer lapses, the old token of a gate whose token was
    reissued is refused (with the application's challenge) and the new one
    opens the feed. (The bound the gate protocol documents: that lifetime plus
    central_gate_token_cache_s in other application processes.)"""
    from central.fleet import reissue_token
    from tests.support.wait import wait_for

    lifetime = 6
    ng = render(tmp_path / "nginx", [central_server.server.server_port], central.state_dir,
                token_lifetime_s=lifetime)
    assert f"local lifetime = {lifetime}" in (ng.work / "nginx.conf").read_text()
    assert "local lifetime = 300" in SITE.read_text()
    old = central.gate("huu-nghi")
    with running_nginx(ng, "/healthz"), token_checks(central_server) as asked:
        # The channel's last message: a wait without a position is answered at
        # once when the token passes.
        NchanFeed(ng.publish_url).announce({"huu-nghi": 7})
        assert gate_reporter(ng, "huu-nghi", old).wait(0, 5, {}) == 7
        assert gate_reporter(ng, "huu-nghi", old).wait(0, 5, {}) == 7
        assert asked == ["/api/v1/gates/huu-nghi/feed-auth"], "nginx kept no answer"
        # A stranger's token is refused with the application's challenge, and
        # asked again each time (a refusal is never kept).
        for _ in range(2):
            r = ng.pool().request("GET", "/api/v1/gates/huu-nghi/wait?version=0&timeout=5",
                                  headers={"Authorization": "Bearer nope", "Host": HOSTNAME})
            assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer"), (
                r.status, dict(r.headers))
        assert len(asked) == 3
        new = reissue_token(central.db, "huu-nghi")
        reissued = time.monotonic()

        def old_refused() -> bool:
            try:
                gate_reporter(ng, "huu-nghi", old).wait(0, 5, {})
            except Unauthorised:
                return True
            return False

        wait_for(old_refused, 60, "the old token to be refused")
        # Within the stated bound: nginx's lifetime plus the application's own
        # token memory (and a margin for this busy machine).
        bound = lifetime + central.settings.central_gate_token_cache_s + 10
        assert time.monotonic() - reissued <= bound
        assert gate_reporter(ng, "huu-nghi", new).wait(0, 5, {}) == 7


def test_a_gate_is_told_only_once_the_origin_serves_the_new_version(central, nginx, tmp_path):
    """At the moment the feed is told, the static origin (this nginx) already
    serves the new timestamp and the gate's new release file."""
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    seen = []

    class CheckingFeed(NchanFeed):
        def announce(self, versions):
            pool = nginx.pool()
            ts = json.loads(pool.request("GET", "/tuf/metadata/timestamp.json").data)
            repo_version = ts["signed"]["meta"]["snapshot.json"]["version"]
            release = central.repo.published_targets()["releases/huu-nghi.json"]
            path = release.get_prefixed_paths()[0]
            status = pool.request("GET", f"/tuf/targets/{path}").status
            pool.close()
            seen.append((dict(versions), repo_version, status))
            return super().announce(versions)

    result = publish(central.db, central.repo, feed=CheckingFeed(nginx.publish_url))
    assert seen == [({"huu-nghi": result.repository_version}, result.repository_version, 200)]


def test_an_origin_that_lags_behind_means_no_gate_is_told(central, nginx, tmp_path):
    """With central_origin_url (a CDN, or an origin the repository is copied to)
    the gates are told only once it serves the new timestamp."""
    token = central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    publish(central.db, central.repo)
    stale = tmp_path / "origin"
    shutil.copytree(central.state_dir / "tuf", stale / "tuf")  # a copy from before

    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(stale), **kw)
    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    try:
        origin_url = f"http://127.0.0.1:{origin.server_port}"
        gate = gate_reporter(nginx, "huu-nghi", token)
        position: dict = {}
        gate.wait(0, 5, position)  # the first release's message: the gate is now positioned

        central.show("huu-nghi", [sha], playlist="second", start_time="06:00", end_time="07:00")
        feed = NchanFeed(nginx.publish_url, origin_url=origin_url, origin_wait_s=1.0)
        result = publish(central.db, central.repo, feed=feed)
        assert any("does not serve repository version" in w for w in result.warnings)
        # Coded, and said in the desk's words (console flash, CLI, API).
        behind = [w for w in result.warnings if w.code == "feed_origin_behind"]
        assert behind and "Chưa báo cho các cửa khẩu về phiên bản kho" in in_words(behind[0])
        assert said(behind[0])["code"] == "feed_origin_behind"
        assert gate.wait(1, 2, position) is None, "told before the origin had it"

        # The copy catches up: the next publication is announced.
        shutil.rmtree(stale / "tuf")
        central.show("huu-nghi", [sha], playlist="third", start_time="08:00", end_time="09:00")
        waiter, out = in_thread(lambda: gate.wait(result.repository_version, 50, position))
        time.sleep(1.0)
        copier = threading.Timer(1.0, lambda: shutil.copytree(central.state_dir / "tuf",
                                                              stale / "tuf"))
        copier.start()
        feed.origin_wait_s = 30
        result = publish(central.db, central.repo, feed=feed)
        copier.join()
        waiter.join(30)
        assert result.warnings == [] and out.get("value") == result.repository_version, out
    finally:
        origin.shutdown()
        origin.server_close()


def test_a_feed_that_is_down_does_not_fail_the_publication(central, tmp_path):
    central.gate("huu-nghi")
    sha = central.media(make_image(tmp_path / "red.png"))
    central.show("huu-nghi", [sha])
    dead = NchanFeed(f"http://127.0.0.1:{free_port()}/feed", timeout=2)
    result = publish(central.db, central.repo, feed=dead)
    assert result.changed == {"huu-nghi": result.repository_version}
    assert any("cannot be reached" in w for w in result.warnings)
    assert [said(w) for w in result.warnings] == [{
        "warning": f"Không liên lạc được với kênh báo thay đổi tại {dead.publish_url}: các cửa "
                   "khẩu sẽ nhận bản phát hành mới ở lần hỏi kế tiếp. Hãy báo cho người quản "
                   "trị máy chủ.", "code": "feed_unreachable"}]
    with pytest.raises(FeedError):
        NchanFeed("https://elsewhere/feed")


def test_two_application_servers_share_one_database_state_folder_and_feed(postgres_cluster,
                                                                         tmp_path):
    """Two `gatecast central serve` (gunicorn) processes on their own ports, one
    PostgreSQL database and one state folder, behind one nginx with nchan (the
    central role's "several application servers"): a publication approved
    through one and an emergency through the other each tell a gate waiting on
    the feed, and the timestamp.json it then fetches from nginx already names
    that version; an emergency and an approval through both at the same moment
    are serialised (consecutive repository versions, a repository a TUF client
    accepts) and the gate hears the last."""
    from tuf.ngclient import Updater

    from central.app import basic_auth_header
    from central.db import open_central_db
    from central.settings import load_central_settings
    from central.users import add_user
    from kiosk.sync.fetcher import ResumingFetcher

    from tests.support.central import central_config, make_central, served_central

    url = postgres_cluster.url(postgres_cluster.create_database())
    state = tmp_path / "central"
    central = make_central(state, central_database_url=url)
    token = central.gate("huu-nghi")
    central.gate("tan-thanh")
    sha = central.media(make_image(tmp_path / "red.png"))
    duty = basic_auth_header("duty", add_user(central.db, "duty", "operator"))
    editor = basic_auth_header("editor1", add_user(central.db, "editor1", "editor"))
    approver = basic_auth_header(central.approver, central.approver_token)
    publish_port = free_port()
    config = central_config(tmp_path / "servers.toml", central_database_url=url,
                            central_secure_cookie=False,
                            central_feed_publish_url=f"http://127.0.0.1:{publish_port}/feed")
    with served_central(state, tmp_path / "a.log", workers=2, threads=4, config=config) as a, \
            served_central(state, tmp_path / "b.log", workers=2, threads=4, config=config) as b:
        ng = render(tmp_path / "nginx", [int(u.rsplit(":", 1)[1]) for u in (a, b)], state,
                    publish=publish_port)
        with running_nginx(ng, "/healthz"):
            apps = urllib3.PoolManager(retries=False, timeout=120)
            gate = gate_reporter(ng, "huu-nghi", token)
            position: dict = {}
            public = ng.pool()

            def post(server, path, who, data, status):
                r = apps.request("POST", f"{server}/api/v1/manage/{path}", body=json.dumps(data),
                                 headers={"Authorization": who,
                                          "Content-Type": "application/json"})
                assert r.status == status, r.data
                return json.loads(r.data)

            def emergency(server, n):
                return published(post(server, "emergency", duty, {
                    "targets": ["gate:huu-nghi", "gate:tan-thanh"], "reason": f"kiểm tra {n}",
                    "minutes": 10, "texts": {"vi": f"Tạm dừng {n}"}}, 201))

            def request_publication(server, n):
                """A change of huu-nghi's schedule, submitted by an editor (four eyes)."""
                central.show("huu-nghi", [sha], playlist=f"p{n}", start_time=f"0{n}:00",
                             end_time=f"0{n}:30")
                return post(server, "publish", editor, {"note": f"lịch {n}"}, 202)["id"]

            def approve(server, request_id):
                return published(post(server, f"publish/{request_id}/approve", approver, {}, 200))

            def published(answer):
                assert answer["warnings"] == [], answer
                # The gate's release: changed, or already signed with this emergency
                # by one published at the same moment (it layers every live one).
                release = {**answer["unchanged"], **answer["changed"]}["huu-nghi"]
                return answer["repository_version"], release

            def served_version():
                r = public.request("GET", "/tuf/metadata/timestamp.json")
                return json.loads(r.data)["signed"]["meta"]["snapshot.json"]["version"]

            def hear(until):
                """The gate waits (from its position) until told `until`; each time
                it is told, the timestamp nginx serves already has that version."""
                told, seen = [], 0
                while seen < until:
                    version = gate.wait(seen, 50, position)
                    assert version is not None, f"not told after {told}"
                    assert served_version() >= version, "told before the origin served it"
                    told.append(version)
                    seen = version
                return told

            # Through either server, one after the other: a publication approved
            # through a, an emergency through b.
            versions = []
            for n, server in enumerate((a, b)):
                after = versions[-1] + 1 if versions else 1
                waiter, out = in_thread(lambda: hear(after))
                time.sleep(1.0)  # held by nchan now
                if n == 0:
                    repository_version, release = approve(a, request_publication(b, 1))
                else:
                    repository_version, release = emergency(server, n)
                assert release == repository_version  # it changed the gate's release
                versions.append(release)
                waiter.join(60)
                assert out.get("value", [None])[-1] == versions[-1], out
            assert versions[1] > versions[0]

            # Through both at the same moment: one signer at a time (the database lock).
            start = threading.Barrier(2)
            results: dict = {}

            pending = request_publication(a, 2)

            def publish_through(server, n):
                start.wait()
                try:
                    results[n] = emergency(server, n) if n == 2 else approve(server, pending)
                except BaseException as e:  # handed to the test thread
                    results[n] = e

            last = versions[1]
            waiter, out = in_thread(lambda: hear(last + 1))
            time.sleep(1.0)
            both = [threading.Thread(target=publish_through, args=(server, n))
                    for n, server in ((2, a), (3, b))]
            for t in both:
                t.start()
            for t in both:
                t.join(120)
            assert all(isinstance(r, tuple) for r in results.values()), results
            assert sorted(r[0] for r in results.values()) == [last + 1, last + 2], results
            newest = max(r[1] for r in results.values())
            waiter.join(60)
            told = out.get("value")
            assert told and told[-1] >= last + 1, out
            if told[-1] < newest:  # told the first, then the second changed it again
                assert hear(newest)[-1] == newest
            assert served_version() == last + 2

            # The repository they wrote together is whole: a TUF client, trusting
            # the first root, takes it from nginx to the last version.
            client = tmp_path / "client"
            client.mkdir()
            (client / "root.json").write_bytes((state / "tuf/metadata/1.root.json").read_bytes())
            pool = urllib3.PoolManager(retries=False, ca_certs=str(ng.crt),
                                       server_hostname=HOSTNAME, assert_hostname=HOSTNAME)
            updater = Updater(str(client), f"{ng.url}/tuf/metadata/",
                              target_base_url=f"{ng.url}/tuf/targets/",
                              fetcher=ResumingFetcher(client / "partial", pool=pool),
                              bootstrap=(client / "root.json").read_bytes())
            updater.refresh()
            assert updater.get_targetinfo("releases/huu-nghi.json") is not None
            public.close()

    central.db.close()
    settings = load_central_settings(config_file=config, state_dir=state, env={})
    db = open_central_db(settings)
    try:
        from sqlalchemy import select

        from central import schema as t

        with db.transaction() as conn:
            recorded = [r.repository_version for r in conn.execute(
                select(t.publication.c.repository_version)
                .order_by(t.publication.c.repository_version))]
        assert recorded == versions + [versions[1] + 1, versions[1] + 2]  # one after the other
    finally:
        db.close()


def test_every_gate_of_a_fleet_is_told_held_or_reconnecting(central, central_server, nginx,
                                                            tmp_path):
    """An emergency for a group tells every gate: the ones holding their long
    poll at once, and the ones whose poll ended between the publication and
    their next one (nchan's 408, a dropped link) as soon as they ask again
    from where they were (Etag/Last-Modified of the last message they had):
    the channel keeps its newest message. Runs nginx with the production
    site's one worker (deploy/nginx: nchan's channels then never cross
    workers, where Debian's nchan 1.3.6 lost ~1 % of messages at 10,000 gates)."""
    import asyncio
    import ssl

    from central.fleet import add_group
    from central.publish import publish_emergency
    from central.users import add_user

    count = 120
    tokens = {f"g{i:03d}": central.gate(f"g{i:03d}") for i in range(count)}
    add_group(central.db, "fleet", "Fleet", list(tokens))
    add_user(central.db, "duty", "operator")
    feed = NchanFeed(nginx.publish_url)
    first = publish(central.db, central.repo, feed=feed).repository_version
    # The emergency goes out in three posts (50 + 50 + 20 gates) here: every
    # gate of each is told.
    feed = NchanFeed(nginx.publish_url, gates_per_post=50)
    ctx = ssl.create_default_context(cafile=str(nginx.crt))

    def wait_request(gate_id, position):
        extra = "".join(f"{k}: {v}\r\n" for k, v in position.items())
        return (f"GET /api/v1/gates/{gate_id}/wait?version=0&timeout=55 HTTP/1.1\r\n"
                f"Host: {HOSTNAME}\r\nAuthorization: Bearer {tokens[gate_id]}\r\n"
                f"{extra}\r\n").encode()

    async def answer(reader):
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        body = await reader.readexactly(int(headers.get("Content-Length", "0")))
        status = int(head.split(" ", 2)[1])
        position = {"If-None-Match": headers.get("Etag", ""),
                    "If-Modified-Since": headers.get("Last-Modified", "")}
        return status, json.loads(body or b"{}"), position

    async def connect():
        return await asyncio.open_connection("127.0.0.1", nginx.https, ssl=ctx,
                                             server_hostname=HOSTNAME)

    async def fleet():
        slots = asyncio.Semaphore(20)

        async def first_message(gate_id):
            async with slots:
                reader, writer = await connect()
                writer.write(wait_request(gate_id, {}))
                status, message, position = await answer(reader)
                assert status == 200 and message == {"version": first}, (gate_id, status)
                return reader, writer, position

        opened = await asyncio.gather(*(first_message(g) for g in tokens))
        held, dropped = {}, {}
        for i, (gate_id, (reader, writer, position)) in enumerate(zip(tokens, opened)):
            if i % 2:  # waits from where it is
                writer.write(wait_request(gate_id, position))
                held[gate_id] = (reader, writer)
            else:  # its poll ends now; it asks again after the publication
                writer.close()
                dropped[gate_id] = position
        await asyncio.sleep(1.0)  # the held polls are in nchan now
        # A waiting gate costs nginx its socket only: the token's good answer is
        # in nginx's shared memory, no file and no connection held for it.
        [fds] = worker_descriptors(nginx)
        assert fds["sockets"] >= len(held) and fds["other"] < 64, fds
        made, result = await asyncio.to_thread(
            publish_emergency, central.db, central.repo, ["group:fleet"], by="duty",
            reason="kiểm tra", minutes=10, texts={"vi": "Tạm dừng", "en": "Suspended"}, feed=feed)
        assert result.warnings == [] and len(result.changed) == count
        assert len(feed.posts(result.changed)) == 3
        told = {}

        async def hear(gate_id, reader, writer):
            status, message, _ = await answer(reader)
            told[gate_id] = (status, message)
            writer.close()

        async def ask_again(gate_id, position):
            async with slots:
                reader, writer = await connect()
                writer.write(wait_request(gate_id, position))
                await hear(gate_id, reader, writer)

        await asyncio.wait_for(asyncio.gather(
            *(hear(g, r, w) for g, (r, w) in held.items()),
            *(ask_again(g, p) for g, p in dropped.items())), timeout=60)
        return told, result.repository_version

    with token_checks(central_server) as asked:
        told, version = asyncio.run(fleet())
    assert told == {g: (200, {"version": version}) for g in tokens}
    # Each gate's token was asked of the application once; its re-waits (after a
    # dropped poll, after the emergency) were answered from nginx's memory.
    assert sorted(asked) == sorted(f"/api/v1/gates/{g}/feed-auth" for g in tokens)


def test_a_feed_that_refuses_some_gates_is_a_coded_warning(central, tmp_path):
    """nchan answering some posts with an error: the publication stands, and
    the desk reads how many gates were told, in words and with a code."""

    class Feed(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the publisher pipelines over one connection

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(403 if self.path.endswith("/tan-thanh") else 201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sha = central.media(make_image(tmp_path / "red.png"))
        for gate in ("huu-nghi", "tan-thanh"):
            central.gate(gate)
            central.show(gate, [sha])
        feed = NchanFeed(f"http://127.0.0.1:{server.server_port}/feed", gates_per_post=1)
        result = publish(central.db, central.repo, feed=feed)
    finally:
        server.shutdown()
        server.server_close()
    assert set(result.changed) == {"huu-nghi", "tan-thanh"}
    assert [said(w) for w in result.warnings] == [{
        "warning": "Kênh báo thay đổi nhận 1 trên 2 thông báo; các cửa khẩu còn lại sẽ nhận "
                   "bản phát hành mới ở lần hỏi kế tiếp.", "code": "feed_partial"}]
    assert "accepted 1 of 2" in result.warnings[0]


def test_a_long_poll_over_http2_is_held_and_its_token_asked_once(central, central_server,
                                                                   tmp_path):
    """Browsers and curl negotiate HTTP/2 with the site (its listen line says
    http2). A long poll over h2 is checked and held like one over HTTP/1.1 (the
    lua module's subrequests refuse h2 requests: the token check must not use
    them), with the same token memory: a gate's token asked of the application
    once, a stranger refused with the challenge every time. The client is curl,
    a real HTTP/2 client over TLS."""
    import subprocess

    from tests.support.wait import wait_for

    ng = render(tmp_path / "nginx", [central_server.server.server_port], central.state_dir)
    token = central.gate("huu-nghi")
    base = f"https://{HOSTNAME}:{ng.https}/api/v1/gates/huu-nghi/wait"

    def curl(url: str, authorization: str, *headers: str) -> tuple[str, dict, str]:
        out = subprocess.run(
            ["curl", "--http2", "--silent", "--show-error", "--include", "--max-time", "30",
             "--cacert", str(ng.crt), "--resolve", f"{HOSTNAME}:{ng.https}:127.0.0.1",
             "-H", f"Authorization: {authorization}",
             *(arg for h in headers for arg in ("-H", h)), url],
            capture_output=True, text=True, timeout=60, check=True).stdout
        head, _, body = out.partition("\n\n")  # text=True: curl's CRLFs read as \n
        status, *lines = head.split("\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        return status.strip(), headers, body

    with running_nginx(ng, "/healthz"), token_checks(central_server) as asked:
        NchanFeed(ng.publish_url).announce({"huu-nghi": 7})
        for _ in range(3):  # the channel's last message at once
            status, headers, body = curl(f"{base}?version=0", f"Bearer {token}")
            assert status == "HTTP/2 200", (status, headers, body, ng.error_log())
            assert json.loads(body) == {"version": 7}
        assert asked == ["/api/v1/gates/huu-nghi/feed-auth"], "nginx kept no answer"
        # Held: a wait from that message's position is answered by the next post.
        position = (f"If-None-Match: {headers['etag'][0]}",
                    f"If-Modified-Since: {headers['last-modified'][0]}")
        t, out = in_thread(lambda: curl(f"{base}?version=7", f"Bearer {token}", *position))

        def held() -> bool:  # nchan's channel info (a GET on the publish location)
            info = urllib3.request("GET", f"{ng.publish_url}/huu-nghi",
                                   headers={"Accept": "text/json"}, retries=False)
            return json.loads(info.data)["subscribers"] == 1

        wait_for(held, 30, "the HTTP/2 long poll to be held by nchan")
        NchanFeed(ng.publish_url).announce({"huu-nghi": 8})
        t.join(30)
        assert "error" not in out, out
        status, _, body = out["value"]
        assert status == "HTTP/2 200" and json.loads(body) == {"version": 8}
        for _ in range(2):  # a stranger: refused with the challenge, asked each time
            status, headers, _ = curl(f"{base}?version=0", "Bearer nope")
            assert status == "HTTP/2 401", (status, headers)
            assert headers["www-authenticate"] == ['Bearer realm="gatecast"']
        assert len(asked) == 3
    assert "http2 requests not supported" not in ng.error_log()
