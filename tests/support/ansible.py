"""Helpers for the Ansible converge test: a cached Debian 12 root made by
debootstrap, wheels built from this checkout, and an ansible-playbook runner.

The pristine root and the downloaded .deb files are cached under /var/tmp,
keyed by a hash of what made them, so one session pays for debootstrap once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = ROOT / "deploy" / "ansible"
BIN = Path(sys.executable).parent
CACHE = Path(os.environ.get("GATECAST_TEST_CACHE", "/var/tmp/gatecast-test-cache"))
SUITE = "bookworm"
DEBOOTSTRAP_ARGS = ["--variant=minbase", "--include=python3"]


def host_debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive this machine's apt uses for the suite (not -security/-updates)."""
    candidates: list[tuple[str, str]] = []  # (uri, suite)
    files = [apt_dir / "sources.list"] + sorted((apt_dir / "sources.list.d").glob("*.list"))
    for f in files:
        if not f.is_file():
            continue
        for line in f.read_text().splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                candidates.append((words[1], words[2]))
    for f in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", f.read_text()):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line:
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
            if "deb" not in fields.get("types", []) or fields.get("enabled", ["yes"]) == ["no"]:
                continue
            candidates += [(u, s) for u in fields.get("uris", []) for s in fields.get("suites", [])]
    for uri, suite in candidates:
        if suite == SUITE:
            return uri
    raise RuntimeError(f"no apt source for Debian {SUITE} in {apt_dir}: cannot debootstrap")


@contextmanager
def _locked(name: str):
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def pristine_root() -> Path:
    """A minbase Debian 12 root with python3, made once per cache key."""
    mirror = host_debian_mirror()
    key = hashlib.sha256(json.dumps([mirror, SUITE, DEBOOTSTRAP_ARGS]).encode()).hexdigest()[:16]
    done = CACHE / f"root-{key}"
    with _locked(f"root-{key}"):
        if not (done / "etc" / "debian_version").exists():
            building = CACHE / f"root-{key}.building"
            shutil.rmtree(building, ignore_errors=True)
            subprocess.run(["debootstrap", *DEBOOTSTRAP_ARGS, SUITE, str(building), mirror],
                           check=True, capture_output=True, text=True, timeout=1800)
            building.rename(done)
    return done


def copy_root(dest: Path) -> Path:
    """A private, writable copy of the pristine root, with .debs from earlier runs."""
    src = pristine_root()
    subprocess.run(["cp", "-a", "--reflink=auto", str(src), str(dest)], check=True)
    archives = dest / "var" / "cache" / "apt" / "archives"
    for deb in _deb_cache().glob("*.deb"):
        shutil.copy2(deb, archives / deb.name)
    return dest


def save_debs(root: Path) -> None:
    """Keep what apt downloaded into the root for the next run of this session."""
    with _locked("debs"):
        for deb in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            target = _deb_cache() / deb.name
            if not target.exists():
                shutil.copy2(deb, target)


def _deb_cache() -> Path:
    d = CACHE / f"debs-{SUITE}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def project_version(source: Path = ROOT) -> str:
    return tomllib.loads((source / "pyproject.toml").read_text())["project"]["version"]


def copy_source(dest: Path, version: str | None = None) -> Path:
    """This checkout's files (tracked and new, not ignored), optionally at another version."""
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    if version is not None:
        pyproject = dest / "pyproject.toml"
        text, n = re.subn(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text())
        assert n == 1, "pyproject.toml has no version line to change"
        pyproject.write_text(text)
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """The release artifact: a wheel of the gatecast package, as an operator builds it."""
    out.mkdir(parents=True, exist_ok=True)
    _pip("wheel", "--no-deps", "--wheel-dir", str(out), str(source))
    (wheel,) = out.glob(f"gatecast-{project_version(source)}-*.whl")
    return wheel


def wheelhouse(wheel: Path) -> Path:
    """Dependency wheels for an offline install, cached by the wheel's declared deps."""
    requires = subprocess.run(
        [str(BIN / "python"), "-c",
         "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
         "print(next(z.read(n).decode() for n in z.namelist() if n.endswith('METADATA')))",
         str(wheel)], check=True, capture_output=True, text=True).stdout
    deps = sorted(line for line in requires.splitlines() if line.startswith("Requires-Dist:")
                  and "extra ==" not in line)
    key = hashlib.sha256("\n".join(deps + [sys.version]).encode()).hexdigest()[:16]
    done = CACHE / f"wheelhouse-{key}"
    with _locked(f"wheelhouse-{key}"):
        if not done.exists():
            building = CACHE / f"wheelhouse-{key}.building"
            shutil.rmtree(building, ignore_errors=True)
            _pip("wheel", "--wheel-dir", str(building), str(wheel))
            for own in building.glob("gatecast-*.whl"):
                own.unlink()
            building.rename(done)
    return done


def _pip(*args: str) -> None:
    proc = subprocess.run([str(BIN / "python"), "-m", "pip", *args], capture_output=True,
                          text=True, timeout=900)
    if proc.returncode:
        raise RuntimeError(f"pip {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")


def write_tuf_root(path: Path) -> Path:
    """A real, signed TUF root (version 1), as the central authority pins it."""
    from securesystemslib.signer import CryptoSigner
    from tuf.api.metadata import Metadata, Root

    # The inventory's files/ folder holds only this file, which is not in git:
    # a fresh checkout has no such folder.
    path.parent.mkdir(parents=True, exist_ok=True)
    signer = CryptoSigner.generate_ed25519()
    root = Root(expires=datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365))
    for role in ("root", "targets", "snapshot", "timestamp"):
        root.add_key(signer.public_key, role)
    md = Metadata(root)
    md.sign(signer)
    md.to_file(str(path))
    return path


def write_province_certificate(folder: Path, name: str, address: str) -> tuple[Path, Path, Path]:
    """A throwaway province CA and the certificate it issued for a gate's admin at
    `address`: (CA certificate, gate certificate, gate key), PEM files in `folder`."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)

    def build(subject, issuer, public, signer, ca, sans=()):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
             .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
             .not_valid_after(now + timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, gate_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sở TT&TT (test CA)")])
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    gate = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name,
                 gate_key.public_key(), ca_key, False,
                 [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(address))])
    paths = folder / "province-ca.crt", folder / f"{name}-admin.crt", folder / f"{name}-admin.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(gate.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(gate_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return paths


RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


class PlaybookRun:
    def __init__(self, proc: subprocess.CompletedProcess, seconds: float):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.seconds = seconds
        m = RECAP.search(proc.stdout)
        self.changed = int(m.group(3)) if m else None
        self.failed = int(m.group(5)) if m else None

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "0",
        # Time per task in the output: the converge time is part of CI's budget.
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        "ANSIBLE_LOCAL_TEMP": str(CACHE / "ansible-tmp"),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    return env


def run_playbook(inventory: Path, *args: str, timeout: int = 1800) -> PlaybookRun:
    start = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(ANSIBLE_DIR / "site.yml"), *args],
        cwd=ANSIBLE_DIR, env=ansible_env(), capture_output=True, text=True, timeout=timeout)
    return PlaybookRun(proc, time.monotonic() - start)


def in_root(root: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command inside the root, as the gate would."""
    proc = subprocess.run(
        ["chroot", str(root), *argv], capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
    if check and proc.returncode:
        raise AssertionError(f"{' '.join(argv)} failed in {root} ({proc.returncode}):\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


# What a Raspberry Pi OS Bookworm image has on its boot partition, shortened.
PI_CONFIG_TXT = """\
# For more options and information see
# http://rptl.io/configtxt
dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
disable_fw_kms_setup=1
arm_64bit=1
disable_overscan=1
arm_boost=1

[cm4]
otg_mode=1

[all]
"""
PI_CMDLINE_TXT = ("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 "
                  "fsck.repair=yes rootwait quiet splash plymouth.ignore-serial-consoles\n")


def read_unit(path: Path) -> dict[str, list[str]]:
    """The [Service] and [Unit] settings of a systemd unit file, each key with
    every value it is given (Environment= and Exec*= may repeat)."""
    settings: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def unit_environment(path: Path) -> dict[str, str]:
    """Environment= of a unit as systemd reads it (later assignments win)."""
    env: dict[str, str] = {}
    for value in read_unit(path).get("Environment", []):
        for assignment in shlex.split(value):
            name, _, val = assignment.partition("=")
            env[name] = val
    return env


def unit_command(path: Path, key: str = "ExecStart") -> list[str]:
    """The argv of a unit's single ExecStart= (or another Exec key), without
    systemd's prefixes (-, @, +, !)."""
    (value,) = read_unit(path)[key]
    return shlex.split(value.lstrip("-@+!:"))


# What systemd gives every service of User= before the unit's own Environment=.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"


class InstalledGate:
    """A provisioned root run as the gate runs it, without touching this machine.

    One holder process owns private mount and network namespaces: the root gets
    /proc, /dev, /sys and an empty /run there (nothing is mounted on the host, and
    everything goes when the holder and its guests end), and the gate's LAN address
    sits on that namespace's loopback, so the admin binds where its unit says and
    no port of this shared machine is taken. Services start as systemd would start
    them: the unit's ExecStart and Environment (parsed from the installed unit
    files), its User and Group, its ambient capabilities, NoNewPrivileges and
    RuntimeDirectory, chrooted into the root.
    """

    def __init__(self, root: Path, lan_address: str):
        self.root = root
        self.lan_address = lan_address
        self.holder: subprocess.Popen | None = None
        self.started: list[subprocess.Popen] = []
        self.logs: list = []

    def __enter__(self) -> "InstalledGate":
        r = shlex.quote(str(self.root))
        script = (
            f"set -e; mount -t proc proc {r}/proc; mount --rbind /dev {r}/dev; "
            f"mount -t sysfs sysfs {r}/sys; mount -t tmpfs -o mode=0755 tmpfs {r}/run; "
            f"ip link set lo up; ip addr add {shlex.quote(self.lan_address)}/32 dev lo; "
            "echo ready; exec sleep infinity")
        self.holder = subprocess.Popen(["unshare", "--mount", "--net", "sh", "-c", script],
                                       stdout=subprocess.PIPE, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            self.holder.kill()
            raise RuntimeError(f"could not set up the gate's namespaces: {line!r}")
        return self

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.started):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        # Whatever a service left behind in the root (mpv children, grim) ends too.
        for pid in self._guests():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.holder.kill()
        self.holder.wait()
        self.holder.stdout.close()
        for log in self.logs:
            log.close()

    def _guests(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "root") == str(self.root):
                        pids.append(int(entry.name))
                except OSError:
                    pass
        return pids

    def nsenter(self, *argv: str) -> list[str]:
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", "--", *argv]

    def as_root(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """A command in the gate's namespaces on this machine (not chrooted)."""
        return subprocess.run(self.nsenter(*argv), capture_output=True, text=True,
                              timeout=timeout, check=True)

    def bind(self, source: Path, target: str) -> None:
        """Put `source` over the root's file `target`, in the gate's namespace only."""
        self.as_root("mount", "--bind", str(source), str(self.root) + target)

    def user_command(self, user: str, group: str, env: dict[str, str], argv: list[str],
                     unit_settings: dict[str, list[str]] | None = None) -> list[str]:
        """argv run inside the root as user:group with exactly `env` (no PAM, like
        systemd), with the unit's AmbientCapabilities= and NoNewPrivileges=."""
        settings = unit_settings or {}
        privileges = []
        caps = [c.lower().removeprefix("cap_") for v in settings.get("AmbientCapabilities", [])
                for c in v.split()]
        if caps:
            # As systemd does for User= with ambient capabilities: inheritable, then ambient.
            added = ",".join(f"+{c}" for c in caps)
            privileges += [f"--inh-caps={added}", f"--ambient-caps={added}"]
        if settings.get("NoNewPrivileges", ["no"])[-1] == "yes":
            privileges.append("--no-new-privs")
        return self.nsenter(
            "chroot", str(self.root), "setpriv", f"--reuid={user}", f"--regid={group}",
            "--init-groups", *privileges, "env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv)

    def service_env(self, unit: Path) -> tuple[str, str, dict[str, str]]:
        """User, Group and the environment systemd gives the unit's processes."""
        settings = read_unit(unit)
        user = settings.get("User", ["root"])[-1]
        group = settings.get("Group", [user])[-1]
        passwd = in_root(self.root, "getent", "passwd", user).stdout.strip().split(":")
        env = {"PATH": SYSTEMD_PATH, "HOME": passwd[5], "USER": user, "LOGNAME": user,
               "SHELL": passwd[6]}
        env.update(unit_environment(unit))
        return user, group, env

    def start(self, unit: Path, test_env: dict[str, str] | None = None,
              log: Path | None = None) -> subprocess.Popen:
        """Start a service from its installed unit file, with `test_env` on top."""
        user, group, env = self.service_env(unit)
        env.update(test_env or {})
        settings = read_unit(unit)
        for name in settings.get("RuntimeDirectory", []):
            mode = settings.get("RuntimeDirectoryMode", ["0755"])[-1]
            self.as_root("chroot", str(self.root), "install", "-d", "-o", user, "-g", group,
                         "-m", mode, f"/run/{name}")
        out = subprocess.DEVNULL
        if log:
            out = open(log, "w")
            self.logs.append(out)
        proc = subprocess.Popen(self.user_command(user, group, env, unit_command(unit), settings),
                                stdout=out, stderr=subprocess.STDOUT)
        self.started.append(proc)
        return proc

    def run_as(self, unit: Path, argv: list[str], test_env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess:
        """A command in the environment of a unit's service (e.g. the CLI next to the player)."""
        user, group, env = self.service_env(unit)
        env.update(test_env or {})
        return subprocess.run(self.user_command(user, group, env, argv), capture_output=True,
                              text=True, timeout=timeout)
