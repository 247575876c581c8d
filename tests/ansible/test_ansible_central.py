"""The central role, for real: central.yml converged into a Debian 12 root made
by debootstrap over the chroot connection, twice (the second run changes
nothing); what it wrote is checked by the tools that will read it (nginx -t
with the nchan module, nft -c, systemd-analyze, the release itself), and the
database script runs twice against a real PostgreSQL cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.ansible import (
    ANSIBLE_DIR, BIN, PlaybookRun, ansible_env, build_wheel, copy_root, copy_source, in_root,
    project_version, save_debs, wheelhouse,
)
from tests.support.nginx import LOAD_MODULES, self_signed
from tests.support.postgres import central_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

HOST = "central-01"
VERSION = project_version()
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def run_central(inventory: Path, *args: str, timeout: int = 1800) -> PlaybookRun:
    start = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(ANSIBLE_DIR / "central.yml"),
         *args], cwd=ANSIBLE_DIR, env=ansible_env(), capture_output=True, text=True,
        timeout=timeout)
    return PlaybookRun(proc, time.monotonic() - start)


def test_central_playbook_lints_clean_and_parses():
    lint = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor",
         "central.yml", "roles/central"],
        cwd=ANSIBLE_DIR, env=ansible_env(), capture_output=True, text=True, timeout=600)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    syntax = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "central.yml"],
                            cwd=ANSIBLE_DIR, env=ansible_env(), capture_output=True, text=True,
                            timeout=300)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("debootstrap"),
    reason="the converge needs root and debootstrap (scripts/setup.sh --tests installs it)")


@pytest.fixture(scope="module")
def central_host(tmp_path_factory):
    base = tmp_path_factory.mktemp("central")
    root = copy_root(base / "root")
    (root / "etc" / "dpkg" / "dpkg.cfg.d" / "unsafe-io").write_text("force-unsafe-io\n")
    # What a Debian host has and a minbase root lacks: policy-rc.d keeps the
    # packages' postinst from starting daemons inside the chroot.
    policy = root / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)

    dist = base / "dist"
    wheel = build_wheel(copy_source(base / "src"), dist)
    inventory = base / "inventory"
    shutil.copytree(ANSIBLE_DIR / "inventory" / "example", inventory)
    files = inventory / "files"
    files.mkdir(exist_ok=True)
    crt, key = self_signed(files)
    (inventory / "hosts.yml").write_text(json.dumps({"central": {"hosts": {HOST: {
        "ansible_connection": "community.general.chroot",
        "ansible_host": str(root),
        "ansible_become": False,
    }}}}))
    extra = base / "release.json"
    extra.write_text(json.dumps({
        "central_release_version": VERSION,
        "central_release_artifact": str(wheel),
        "central_release_wheelhouse": str(wheelhouse(wheel)),
        "central_tls_certificate_file": str(crt),
        "central_tls_key_file": str(key),
        # Alert emails through the province's mail server (the password from the vault).
        "central_smtp_host": "mail.example.gov.vn", "central_smtp_user": "canhbao",
        "central_smtp_password": "mat-khau-thu",
    }))

    def converge():
        return run_central(inventory / "hosts.yml", "-e", f"@{extra}")

    first = converge()
    save_debs(root)
    print(f"\nfirst converge: {first.seconds:.0f} s")
    assert first.rc == 0, first.tail()
    second = converge()
    print(f"second converge: {second.seconds:.0f} s")
    return {"root": root, "first": first, "second": second, "converge": converge,
            "inventory": inventory, "extra": extra}


@needs_root
def test_second_run_changes_nothing(central_host):
    second = central_host["second"]
    assert second.rc == 0, second.tail()
    assert second.changed == 0, second.tail(200)
    assert central_host["first"].changed > 0


@needs_root
def test_nginx_accepts_the_site_with_nchan_and_tls(central_host):
    root = central_host["root"]
    # sites-enabled holds an absolute link, which only resolves inside the root.
    link = root / "etc/nginx/sites-enabled/gatecast-central.conf"
    assert os.readlink(link) == "/etc/nginx/sites-available/gatecast-central.conf"
    site = (root / "etc/nginx/sites-available/gatecast-central.conf").read_text()
    assert "server_name signage.langson.example.gov.vn;" in site
    assert "alias /var/lib/gatecast-central/tuf/;" in site
    assert "nchan_subscriber longpoll;" in site and "listen 127.0.0.1:8701;" in site
    # The feed's token memory: Debian's lua module, enabled by its package (nginx -t
    # below refuses lua_shared_dict without it).
    assert "auth_request /_gatecast_feed_auth;" in site and "rewrite_by_lua_block" in site
    assert os.path.lexists(root / "etc/nginx/modules-enabled/50-mod-http-lua.conf")
    assert not os.path.lexists(root / "etc/nginx/sites-enabled/default")
    key = root / "etc/ssl/gatecast/central.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    (root / "run").mkdir(exist_ok=True)
    check = in_root(root, "nginx", "-t", check=False)
    assert check.returncode == 0, check.stderr
    nginx_conf = (root / "etc/nginx/nginx.conf").read_text()
    assert "worker_connections 32768;" in nginx_conf
    # A descriptor per connection (a waiting gate holds only its socket) + files being sent.
    limits = root / "etc/nginx/modules-enabled/90-gatecast-central-limits.conf"
    assert "worker_rlimit_nofile 36864;" in limits.read_text()
    # One worker: nchan's channels never cross workers (central_nginx_workers).
    assert "\nworker_processes 1;" in nginx_conf and "worker_processes auto" not in nginx_conf


@needs_root
def test_units_firewall_and_configuration_are_accepted(central_host):
    root = central_host["root"]
    wants = root / "etc/systemd/system/multi-user.target.wants"
    for unit in ("gatecast-central@8700.service", "gatecast-central-reports@8702.service",
                 "gatecast-central-database.service",
                 "nginx.service", "postgresql.service"):
        assert os.path.lexists(wants / unit), unit  # absolute links: they resolve in the root
    assert os.path.lexists(root / "etc/systemd/system/sysinit.target.wants/nftables.service")
    assert os.path.lexists(root / "etc/systemd/system/timers.target.wants/"
                                  "gatecast-central-backup.timer")
    units = [root / "etc/systemd/system" / name for name in (
        "gatecast-central@.service", "gatecast-central-reports@.service",
        "gatecast-central-database.service", "gatecast-central-backup.service", "gatecast-central-backup.timer")]
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(
            ["systemd-analyze", "verify", f"--root={root}",
             *[f"/etc/systemd/system/{u.name}" for u in units if "@" not in u.name]],
            capture_output=True, text=True, timeout=120)
        problems = [line for line in verify.stderr.splitlines()
                    if "gatecast" in line and "Failed to" in line]
        assert not problems, verify.stderr
    check = in_root(root, "nft", "-c", "-f", "/etc/nftables.conf", check=False)
    assert check.returncode == 0, check.stderr
    rules = (root / "etc/nftables.conf").read_text()
    assert "tcp dport { 80, 443 } accept" in rules and "10.250.0.0/24" in rules
    assert "5432" not in rules and "8700" not in rules and "8701" not in rules
    assert "8702" not in rules
    reports = (root / "etc/systemd/system/gatecast-central-reports@.service").read_text()
    assert "gatecast central serve-reports --config /etc/gatecast/central.toml" in reports

    # The installed release reads the configuration the role wrote.
    conf = root / "etc/gatecast/central.toml"
    assert 'central_feed_publish_url = "http://127.0.0.1:8701/feed"' in conf.read_text()
    assert ('central_database_url = "postgresql://gatecast-central@/gatecast?'
            'host=/run/postgresql"') in conf.read_text()
    ok = in_root(root, "/opt/gatecast-central/current/bin/python", "-c",
                 "from central.settings import load_central_settings as load; "
                 "s = load(config_file='/etc/gatecast/central.toml', env={}); "
                 "print(s['central_database_url'], s['central_feed_publish_url'])", check=False)
    assert ok.returncode == 0 and "postgresql://" in ok.stdout, ok.stdout + ok.stderr
    # Alerts: the SMTP password in its own file for the service only, never in central.toml.
    assert 'central_smtp_password_file = "/etc/gatecast/smtp-password"' in conf.read_text()
    assert "mat-khau-thu" not in conf.read_text()
    secret = root / "etc/gatecast/smtp-password"
    assert secret.read_text() == "mat-khau-thu\n" and secret.stat().st_mode & 0o777 == 0o640
    user = in_root(root, "getent", "passwd", "gatecast-central").stdout.split(":")
    assert user[6].strip() == "/usr/sbin/nologin" and int(user[2]) < 1000


@needs_root
def test_the_kernel_queues_a_fleet_and_writes_postgresql_s_new_pages_out_in_small_pieces(
        central_host):
    """systemd-sysctl applies the role's file at boot (and the handler on a running
    host): every name it sets must be one this kernel has."""
    text = (central_host["root"] / "etc/sysctl.d/60-gatecast-central.conf").read_text()
    values = dict(line.split(" = ") for line in text.splitlines()
                  if line and not line.startswith("#"))
    assert values == {"net.core.somaxconn": "16384", "net.ipv4.tcp_max_syn_backlog": "16384",
                      "vm.dirty_expire_centisecs": "500", "vm.dirty_writeback_centisecs": "100"}
    for name in values:
        assert Path("/proc/sys", *name.split(".")).is_file(), name


@needs_root
def test_postgresql_reads_the_settings_the_tests_clusters_load(central_host):
    """The role installs central's PostgreSQL settings where Debian's cluster reads
    them, derived from the host's memory, and it is the very file the tests' and
    benches' clusters load (tests.support.postgres.central_settings): a bench
    measures the provisioned server."""
    root = central_host["root"]
    conf_d = root / "etc/postgresql/15/main/conf.d"
    installed = conf_d / "60-gatecast-central.conf"
    # A chroot has no /proc, hence no memory fact: the role writes an image's
    # settings for 4 GB (central_postgresql_memory_mb); a running host's come from its facts.
    assert installed.read_text() == central_settings(4096)
    assert "include_dir = 'conf.d'" in (root / "etc/postgresql/15/main/postgresql.conf").read_text()
    # PostgreSQL itself, in the host, reads the values through Debian's configuration.
    # (`postgres -C` prints base units: 8 kB pages, seconds.)
    expected = {"synchronous_commit": "on", "fsync": "on", "wal_compression": "lz4",
                "shared_buffers": str(1024 * 128), "effective_cache_size": str(3 * 1024 * 128),
                # autovacuum: PostgreSQL's minute and its throttle (migration 0016 has
                # the per-table values).
                "autovacuum_naptime": "60", "autovacuum_vacuum_cost_limit": "-1",
                "autovacuum_vacuum_cost_delay": "2"}
    for name, value in expected.items():
        shown = in_root(root, "runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"),
                        "--config-file=/etc/postgresql/15/main/postgresql.conf", "-C", name,
                        check=False)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip() == value, (name, shown.stdout)


@needs_root
def test_a_host_holding_an_offline_key_is_refused(central_host):
    root = central_host["root"]
    keys = root / "var/lib/gatecast-central/keys"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "root.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    try:
        run = central_host["converge"]()
        assert run.rc != 0 and "belong on offline media" in run.output, run.tail()
    finally:
        (keys / "root.pem").unlink()


@pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="PostgreSQL 15 is not installed")
def test_database_script_creates_once_and_the_backup_dumps():
    """The role's SQL and backup script against a real throwaway cluster."""
    import jinja2

    role = ANSIBLE_DIR / "roles" / "central" / "templates"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: f"# {text}"
    env.filters["quote"] = lambda text: f"'{text}'"
    values = {"ansible_managed": "managed", "central_db_user": "gatecast-central",
              "central_db_name": "gatecast", "central_backup_keep_days": 14}
    run_as = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    work = Path(tempfile.mkdtemp(prefix="gatecast-pg-"))  # pytest's folders are 0700
    backups = work / "backups"
    values["central_backup_dir"] = str(backups)
    sql = work / "database.sql"
    sql.write_text(env.from_string((role / "database.sql.j2").read_text()).render(values))
    backup = work / "backup"
    backup.write_text(env.from_string((role / "backup.sh.j2").read_text()).render(values))
    backup.chmod(0o755)
    backups.mkdir()
    if run_as:
        for path in (work, backups):
            shutil.chown(path, "postgres")
    data, sock = work / "data", work
    subprocess.run([*run_as, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True, timeout=300)
    subprocess.run([*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-o",
                    f"-k {sock} -c listen_addresses=''", "-l", str(work / "log"), "start"],
                   check=True, capture_output=True, timeout=300)
    pg_env = {**os.environ, "PGHOST": str(sock), "PGUSER": "postgres"}
    try:
        for _ in range(2):  # at every boot: the second run changes nothing
            r = subprocess.run([*run_as, "env", f"PGHOST={sock}", "PGUSER=postgres", "psql",
                                "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-d",
                                "postgres", "-f", str(sql)],
                               capture_output=True, text=True, timeout=120, env=pg_env)
            assert r.returncode == 0, r.stderr
        owner = subprocess.run(
            [*run_as, "env", f"PGHOST={sock}", "psql", "-U", "postgres", "-At", "-d", "postgres",
             "-c", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname='gatecast'"],
            capture_output=True, text=True, timeout=60, env=pg_env)
        assert owner.stdout.strip() == "gatecast-central", owner.stderr
        old = backups / "gatecast-20200101T000000Z.dump"
        old.write_bytes(b"old")
        os.utime(old, (time.time() - 30 * 86400,) * 2)
        r = subprocess.run([*run_as, "env", f"PGHOST={sock}", "PGUSER=postgres", str(backup)],
                           capture_output=True, text=True, timeout=120, env=pg_env)
        assert r.returncode == 0, r.stderr
        dumps = sorted(p.name for p in (backups).iterdir())
        assert len(dumps) == 1 and dumps[0].startswith("gatecast-2") and not old.exists(), dumps
        listing = subprocess.run(["pg_restore", "--list", str(backups / dumps[0])],
                                 capture_output=True, text=True, timeout=60)
        assert listing.returncode == 0 and "gatecast" in listing.stdout, listing.stderr
    finally:
        subprocess.run([*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(work, ignore_errors=True)


@needs_root
def test_several_application_hosts_render_and_are_accepted(tmp_path):
    """The multi-host variables (central role README, "Several application
    servers"): the role's own templates rendered by Ansible, then read by the
    tools that will read them (nft -c, nginx -t with nchan)."""
    roles = ANSIBLE_DIR / "roles" / "central"
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "files").mkdir()
    shutil.copy(roles / "files" / "gatecast-central.conf", tmp_path / "files")
    playbook = tmp_path / "render.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(roles / "defaults/main.yml"), str(roles / "vars/main.yml")],
        "tasks": [{"ansible.builtin.template": {
            "src": str(roles / "templates") + "/{{ item }}.j2", "dest": f"{out}/{{{{ item }}}}"},
            "loop": ["nftables.conf", "gatecast-central.conf", "gatecast-central@.service",
                     "gatecast-central-reports@.service", "nginx-limits.conf"]}]}]))
    hosts = {"central_version": VERSION, "central_management_cidrs": ["10.250.0.0/24"],
             "central_app_bind": "10.0.0.11", "central_app_upstreams": ["10.0.0.12:8700"],
             "central_report_upstreams": ["10.0.0.12:8702"],
             "central_peer_cidrs": ["10.0.0.0/24", "fd00:1::/64"],
             "central_state_mount": "files.example.gov.vn:/export/gatecast"}
    run = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                          str(playbook), "-e", json.dumps(hosts)], cwd=tmp_path,
                         env=ansible_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    rules = (out / "nftables.conf").read_text()
    assert "ip saddr { 10.0.0.0/24 } tcp dport 8701 accept" in rules
    assert "ip6 saddr { fd00:1::/64 } tcp dport 8701 accept" in rules
    assert "ip saddr { 10.0.0.0/24 } tcp dport { 8700, 8702 } accept" in rules
    check = subprocess.run(["nft", "-c", "-f", str(out / "nftables.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    site = (out / "gatecast-central.conf").read_text()
    assert "server 10.0.0.11:8700;" in site and "server 10.0.0.12:8700;" in site
    # The minute reports go to the report servers, this host's and the other's.
    reports = site.split("upstream gatecast_reports {", 1)[1].split("}", 1)[0]
    assert "server 10.0.0.11:8702;" in reports and "server 10.0.0.12:8702;" in reports
    assert "8700" not in reports
    assert "--bind 10.0.0.11:%i" in (out / "gatecast-central-reports@.service").read_text()
    assert "listen 8701;" in site and "allow 10.0.0.0/24;" in site and "deny all;" in site
    # Peers may publish; the feed's token checks are an internal location
    # (subrequests of the wait only) and the token memory is nginx's own.
    publish = site.split("location ~ \"^/feed/", 1)[1].split("location / {")[0]
    assert "allow 10.0.0.0/24;" in publish
    auth = site.split("location = /_gatecast_feed_auth {", 1)[1].split("\n    }", 1)[0]
    assert "internal;" in auth and "proxy_pass http://gatecast_central/" in auth
    assert "lua_shared_dict gatecast_feed_tokens" in site and "proxy_cache_path" not in site
    # One descriptor per connection (a waiting gate holds only its socket) + files being sent.
    assert "\nworker_rlimit_nofile 36864;" in (out / "nginx-limits.conf").read_text()
    unit = (out / "gatecast-central@.service").read_text()
    assert "RequiresMountsFor=/var/lib/gatecast-central" in unit
    assert "--bind 10.0.0.11:%i" in unit
    # nginx (with nchan) accepts the site as rendered.
    conf = tmp_path / "nginx.conf"
    (tmp_path / "logs").mkdir()
    crt, key = self_signed(tmp_path)
    conf.write_text(
        LOAD_MODULES + "\n"
        f"error_log {tmp_path}/logs/error.log; pid {tmp_path}/nginx.pid;\n"
        "events {}\nhttp {\n" + site.replace("/etc/ssl/gatecast/central.crt", str(crt))
        .replace("/etc/ssl/gatecast/central.key", str(key)) + "\n}\n")
    check = subprocess.run(["nginx", "-t", "-c", str(conf), "-p", str(tmp_path)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
