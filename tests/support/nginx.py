"""A real nginx (with Debian's nchan and lua modules) running deploy/nginx's site on
127.0.0.1, in front of a real central server: for the tests and the benches.

Only the site's addresses and paths are replaced; everything else is the file
an operator installs.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import random
import shutil
import signal
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import urllib3

from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "gatecast-central.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MODULES = Path("/usr/lib/nginx/modules")
NCHAN = MODULES / "ngx_nchan_module.so"
# The site's feed token memory (access_by_lua_block): Debian's libnginx-mod-http-lua,
# which needs its development kit (libnginx-mod-http-ndk) loaded first.
LUA = (MODULES / "ndk_http_module.so", MODULES / "ngx_http_lua_module.so")
LOAD_MODULES = "\n".join(f"load_module {m};" for m in (NCHAN, *LUA))
HOSTNAME = "central.example.gov.vn"


def have_nginx() -> bool:
    return Path(NGINX).exists() and all(m.exists() for m in (NCHAN, *LUA))


def free_port() -> int:
    # nginx takes no port 0: choose a free one for it (free_ports).
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` different free ports on 127.0.0.1 for nginx, which takes no port 0.

    They are chosen BELOW the kernel's ephemeral range (net.ipv4.ip_local_port_range,
    32768-60999 on Debian): the kernel hands those out to every connect() and
    bind(0), so a port it had just handed over here could be taken by one of a heavy
    bench's thousands of connections (or another test's server) before nginx bound
    it ("Address already in use"). Below the range only a listener that chose the
    same way can take it: each port is tried with a bind (a port in use, or in
    TIME_WAIT, is passed over) and picked at random among ~22,000 (two runs choosing
    three ports within the same moment share one about once in 2,500 such
    coincidences). The sockets stay bound until all `n` are chosen, so the `n` differ."""
    low = ephemeral_ports()[0]
    below = range(max(1024, low - 22768), low)
    if len(below) < 1000:  # a machine whose ephemeral range starts low: the kernel's choice
        return _kernel_ports(n)
    rng = random.SystemRandom()
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(100 * n):
            if len(ports) == n:
                break
            s = stack.enter_context(socket.socket())
            try:
                s.bind(("127.0.0.1", rng.choice(below)))
            except OSError:
                continue
            ports.append(s.getsockname()[1])
        if len(ports) < n:
            raise RuntimeError(f"no {n} free ports below {low} on 127.0.0.1")
        return ports


def ephemeral_ports() -> tuple[int, int]:
    """The kernel's ephemeral port range (net.ipv4.ip_local_port_range)."""
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def _kernel_ports(n: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(n):
            s = stack.enter_context(socket.socket())
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        return ports


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOSTNAME)]), critical=False)
            .sign(key, hashes.SHA256()))
    crt, pem = folder / "central.crt", folder / "central.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return crt, pem


@dataclass
class Nginx:
    work: Path
    https: int          # the site's TLS port (gates, people)
    http: int           # its plain port (redirects)
    publish: int        # the change feed's internal publish port
    crt: Path
    tls: bool = True
    proc: subprocess.Popen | None = None

    @property
    def publish_url(self) -> str:
        return f"http://127.0.0.1:{self.publish}/feed"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.https}"

    def pool(self, **kw) -> urllib3.HTTPSConnectionPool:
        return urllib3.HTTPSConnectionPool(
            "127.0.0.1", self.https, ca_certs=str(self.crt), server_hostname=HOSTNAME,
            assert_hostname=HOSTNAME, retries=False, **{"timeout": 30, **kw})

    def error_log(self) -> str:
        path = self.work / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def render(work: Path, upstreams: list[int], state_dir: Path, worker_processes: int = 1,
           worker_connections: int = 256, rlimit_nofile: int | None = None,
           tls: bool = True, auth_cache: bool = True, publish: int | None = None,
           reports: list[int] | None = None, token_lifetime_s: int | None = None,
           site: Path = SITE) -> Nginx:
    """Write nginx.conf in `work` around the site file. tls=False makes the
    site's port plain HTTP (benches: thousands of loopback handshakes would
    measure the cipher, not the feed). auth_cache=False asks the application
    for every wait's token, keeping no answer (bench/emergency_fanout.py --auth
    uncached). token_lifetime_s: how long nginx keeps a good answer (the site: 300).
    publish: the internal publish port, when application servers started first
    must be told it (central_feed_publish_url). reports: the ports of `gatecast
    central serve-reports` servers (gatecast_reports); none: the application
    servers answer the report URLs too. The http block around the site is
    Debian 12's /etc/nginx/nginx.conf (its access log, sendfile, gzip), which the
    central role keeps; `site`: another site file, for experiments."""
    work.mkdir(parents=True, exist_ok=True)
    crt, key = self_signed(work)
    https, http, publish_port = free_ports(3)
    ng = Nginx(work, https, http, publish or publish_port, crt, tls=tls)
    site = Path(site).read_text()
    servers = "\n    ".join(f"server 127.0.0.1:{port};" for port in upstreams)
    report_servers = "\n    ".join(f"server 127.0.0.1:{port};" for port in reports or upstreams)
    for old, new in (
        ("server 127.0.0.1:8700;", servers),
        ("server 127.0.0.1:8702;", report_servers),
        ("/var/lib/gatecast-central/", f"{state_dir}/"),
        ("/etc/ssl/gatecast/central.crt", str(crt)),
        ("/etc/ssl/gatecast/central.key", str(key)),
        ("listen 127.0.0.1:8701;", f"listen 127.0.0.1:{ng.publish};"),
        ("listen 443 ssl http2 backlog=16384;",
         f"listen 127.0.0.1:{ng.https} ssl http2 backlog=16384;" if tls
         else f"listen 127.0.0.1:{ng.https} backlog=16384;"),
        ("listen [::]:443 ssl http2 backlog=16384;", ""),
        ("listen 80;", f"listen 127.0.0.1:{ng.http};"),
        ("listen [::]:80;", ""),
    ) + (() if auth_cache else (
        ("if ngx.shared.gatecast_feed_tokens:get(key) then", "if false then"),
        ("ngx.shared.gatecast_feed_tokens:set(ngx.ctx.asked, true, lifetime)", ""),
    )) + (() if token_lifetime_s is None else (
        ("local lifetime = 300", f"local lifetime = {token_lifetime_s}"),
    )):
        assert old in site, old
        site = site.replace(old, new)
    site = site.replace("/var/log/nginx/", f"{work}/")  # the site's own access logs
    user = "user root;" if os.geteuid() == 0 else ""  # workers must read pytest's 0700 folders
    nofile = f"worker_rlimit_nofile {rlimit_nofile};" if rlimit_nofile else ""
    (work / "nginx.conf").write_text(f"""
{LOAD_MODULES}
{user}
daemon off;
worker_processes {worker_processes};
{nofile}
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    # As Debian's nginx.conf (the central role changes only workers and limits).
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {work}/access.log;
    gzip on;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
{site}
}}
""")
    return ng


@contextmanager
def running_nginx(ng: Nginx, ready_path: str = "/tuf/metadata/timestamp.json"):
    conf = ng.work / "nginx.conf"
    check = subprocess.run([NGINX, "-t", "-p", str(ng.work), "-c", str(conf)],
                           capture_output=True, text=True, timeout=60)
    if check.returncode:
        raise RuntimeError(f"nginx -t refused the configuration:\n{check.stderr}")
    ng.proc = subprocess.Popen([NGINX, "-p", str(ng.work), "-c", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pool = ng.pool() if ng.tls else urllib3.HTTPConnectionPool("127.0.0.1", ng.https,
                                                               retries=False, timeout=30)
    try:
        def answers() -> bool:
            try:
                pool.request("GET", ready_path)
                return True
            except urllib3.exceptions.HTTPError:
                if ng.proc.poll() is not None:
                    raise RuntimeError("nginx did not start:\n" + ng.error_log()) from None
                return False

        try:
            wait_for(answers, 60, "nginx to answer")
        except AssertionError:
            raise RuntimeError("nginx did not start:\n" + ng.error_log()) from None
        yield ng
    finally:
        pool.close()
        stop(ng)


def stop(ng: Nginx) -> None:
    if ng.proc is None or ng.proc.poll() is not None:
        return
    ng.proc.send_signal(signal.SIGTERM)  # fast shutdown; SIGQUIT waits for idle keep-alives
    try:
        ng.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        ng.proc.kill()
        ng.proc.wait()


def worker_descriptors(ng: Nginx) -> list[dict[str, int]]:
    """What each nginx worker holds open now (from /proc/<pid>/fd): sockets, and
    the rest (logs, listeners' files, eventfd, ...). The proof that a waiting
    gate costs nginx one descriptor."""
    counts = []
    for pid in worker_pids(ng):
        kinds = {"sockets": 0, "other": 0}
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue  # closed meanwhile
                kind = "sockets" if target.startswith("socket:") else "other"
                kinds[kind] += 1
        except OSError:
            continue  # the worker ended
        counts.append(kinds)
    return counts


def worker_pids(ng: Nginx) -> list[int]:
    """nginx's worker processes (not its cache manager and loader: they hold no gate)."""
    path = Path(f"/proc/{ng.proc.pid}/task/{ng.proc.pid}/children")
    pids = [int(p) for p in path.read_text().split()] if path.exists() else []
    workers = []
    for pid in pids:
        try:
            if b"worker process" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.append(pid)
        except OSError:
            continue  # ended meanwhile
    return workers


def cpu_seconds(marker: str) -> float:
    """User+system CPU of the processes whose command line names `marker`, and
    of their children (nginx's workers, gunicorn's workers)."""
    stats, lines = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[entry.name] = (entry / "cmdline").read_bytes()
                stats[entry.name] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    chosen = {pid for pid, cmd in lines.items() if marker.encode() in cmd}
    chosen |= {pid for pid, f in stats.items() if f[1] in chosen}  # f[1]: parent pid
    ticks = sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in chosen if pid in stats)
    return ticks / os.sysconf("SC_CLK_TCK")
