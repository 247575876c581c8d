"""Provisioning with Ansible, for real: lint, syntax, the playbook's checks, and
a converge into a Debian 12 root made by debootstrap over the chroot connection,
twice (the second run must change nothing); then what was provisioned is started
as the gate would start it, under a headless sway standing for the Pi's outputs;
then an update that fails and one that works.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import tomllib

import pytest
from werkzeug.security import check_password_hash

from tests.support.ansible import (
    ANSIBLE_DIR, BIN, PI_CMDLINE_TXT, PI_CONFIG_TXT, InstalledGate, ansible_env, build_wheel,
    copy_root, copy_source, in_root, project_version, run_playbook, save_debs, unit_command,
    unit_environment, wheelhouse, write_province_certificate, write_tuf_root,
)

# The first test waits for the converge fixture: debootstrap and two runs take
# several minutes on CI's 2 cores, far past the suite's 300 s default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

HOST = "huu-nghi-01"
VERSION = project_version()
NEXT_VERSION = VERSION + ".post1"


def test_ansible_lint_production_profile_is_clean():
    proc = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor",
         "site.yml", "roles"],
        cwd=ANSIBLE_DIR, env=ansible_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout + proc.stderr


def test_playbook_syntax_check():
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "site.yml"],
        cwd=ANSIBLE_DIR, env=ansible_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pre_tasks_name_what_is_missing(tmp_path):
    """Without a vault and a release, the playbook stops before touching the gate."""
    inventory = tmp_path / "inventory"
    shutil.copytree(ANSIBLE_DIR / "inventory" / "example", inventory)
    write_tuf_root(inventory / "files" / "1.root.json")
    empty_root = tmp_path / "empty-root"
    empty_root.mkdir()
    (inventory / "hosts.yml").write_text(json.dumps({"gates": {"hosts": {HOST: {
        "ansible_connection": "community.general.chroot",
        "ansible_host": str(empty_root), "ansible_become": False}}}}))
    run = run_playbook(inventory / "hosts.yml", timeout=300)
    assert run.rc != 0 and run.failed == 1
    assert "gate_release_artifact" in run.output and "ansible-vault create" in run.output, run.tail()
    assert list(empty_root.iterdir()) == [], "the gate was touched before the checks passed"


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The release wheel built from this checkout, as an operator builds it."""
    base = tmp_path_factory.mktemp("release")
    return build_wheel(copy_source(base / "src"), base / "dist")


def _checked_inventory(tmp_path, wheel, host_vars=None):
    """The example inventory with what the operator adds (TUF root, vault, release),
    and optionally changed host_vars: {host: {var: value}}."""
    inventory = tmp_path / "inventory"
    shutil.copytree(ANSIBLE_DIR / "inventory" / "example", inventory)
    write_tuf_root(inventory / "files" / "1.root.json")
    (inventory / "group_vars" / "gates" / "vault.yml").write_text(
        f"vault_gate_admin_password: {os.urandom(12).hex()}\n")
    for host, values in (host_vars or {}).items():
        path = inventory / "host_vars" / f"{host}.yml"
        path.write_text(path.read_text() + "".join(f"{k}: {json.dumps(v)}\n" for k, v in values.items()))
    extra = tmp_path / "release.json"
    extra.write_text(json.dumps({"gate_release_version": VERSION, "gate_release_artifact": str(wheel),
                                 "gate_release_wheelhouse": ""}))
    return inventory / "hosts.yml", ["-e", f"@{extra}"]


def test_example_inventory_passes_the_checks(release, tmp_path):
    """Only the checks run (tag always): the gates are never contacted."""
    hosts, args = _checked_inventory(tmp_path, release)
    run = run_playbook(hosts, *args, "--tags", "always", timeout=600)
    assert run.rc == 0, run.tail()
    assert "4 face(s), 4 picture(s) on 2 output(s), display sway" in run.output  # Hữu Nghị
    assert "2 face(s), 1 picture(s) on 1 output(s), display sway" in run.output  # Tân Thanh


def test_pre_tasks_refuse_overlapping_faces_with_the_releases_message(release, tmp_path):
    faces = [
        {"id": 1, "name": "Mặt 1", "output": "hdmi0", "region": {"x": 0, "y": 0, "width": 1000, "height": 1080}},
        {"id": 2, "name": "Mặt 2", "output": "hdmi0", "region": {"x": 960, "y": 0, "width": 960, "height": 1080}},
    ]
    hosts, args = _checked_inventory(tmp_path, release, {"huu-nghi-01": {"gate_faces": faces}})
    run = run_playbook(hosts, *args, "--tags", "always", "--limit", "huu-nghi-01", timeout=600)
    assert run.rc != 0 and run.failed == 1, run.tail()
    assert "faces 1 and 2 overlap on output 'hdmi0'" in run.output, run.tail()
    assert "host_vars/huu-nghi-01.yml" in run.output


def test_pre_tasks_refuse_an_active_low_relay_the_firmware_would_not_hold_off(release, tmp_path):
    hosts, args = _checked_inventory(tmp_path, release)
    run = run_playbook(hosts, *args, "--tags", "always", "--skip-tags", "raspberry-pi", timeout=600)
    assert run.rc != 0, run.tail()
    assert "Faces 1, 2, 3, 4 of huu-nghi-01 have active-low relays" in run.output, run.tail()
    assert "BCM 4, 5, 6, 7" in run.output
    # Tân Thanh's relay is active high: low at boot is off, so it passes.
    assert "tan-thanh-01" not in " ".join(l for l in run.output.splitlines() if "failed=1" in l)


def test_pre_tasks_refuse_a_province_certificate_with_another_key(release, tmp_path):
    """A certificate whose key is not its own would stop the admin at its start:
    refused on the Ansible machine, with the release's own check, key never shown."""
    _, cert, _ = write_province_certificate(tmp_path / "a", HOST, "10.20.1.10")
    _, _, other_key = write_province_certificate(tmp_path / "b", HOST, "10.20.1.10")
    hosts, args = _checked_inventory(tmp_path, release, {HOST: {
        "gate_admin_tls_cert_file": str(cert), "gate_admin_tls_key_file": str(other_key)}})
    run = run_playbook(hosts, *args, "--tags", "always", "--limit", HOST, timeout=600)
    assert run.rc != 0 and run.failed == 1, run.tail()
    assert f"the key of {cert} does not belong to it" in run.output, run.tail()
    assert other_key.read_text().splitlines()[1] not in run.output


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("debootstrap"),
    reason="the converge needs root and debootstrap (scripts/setup.sh --tests installs it)")


@pytest.fixture(scope="module")
def gate(tmp_path_factory, release):
    """A province inventory (the example's vars) aimed at a fresh Debian 12 root."""
    base = tmp_path_factory.mktemp("gate")
    root = copy_root(base / "root")
    boot = root / "boot" / "firmware"
    boot.mkdir(parents=True)
    (boot / "config.txt").write_text(PI_CONFIG_TXT)
    (boot / "cmdline.txt").write_text(PI_CMDLINE_TXT)
    # As image builders do: dpkg without fsync, which halves the package step here.
    (root / "etc" / "dpkg" / "dpkg.cfg.d" / "unsafe-io").write_text("force-unsafe-io\n")

    dist = base / "dist"
    dist.mkdir()
    wheel = release
    inventory = base / "inventory"
    shutil.copytree(ANSIBLE_DIR / "inventory" / "example", inventory)
    write_tuf_root(inventory / "files" / "1.root.json")
    (inventory / "hosts.yml").write_text(json.dumps({"gates": {"hosts": {HOST: {
        "ansible_connection": "community.general.chroot",
        "ansible_host": str(root),
        # Already root; a minbase root has no sudo.
        "ansible_become": False,
    }}}}))
    password_file = base / "vault-password"
    password_file.write_text(os.urandom(16).hex())
    vault = inventory / "group_vars" / "gates" / "vault.yml"
    token, password = os.urandom(16).hex(), os.urandom(12).hex()
    vault.write_text(f"vault_gate_admin_password: {password}\n"
                     f"vault_gate_sync_token: {token}\n")
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(password_file), str(vault)], check=True, env=ansible_env(),
                   capture_output=True)
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    # The province's certificate for Hữu Nghị's admin, its key vaulted as an
    # operator keeps it (the copy to the gate decrypts it).
    ca, cert, key = write_province_certificate(base / "province", HOST, "10.20.1.10")
    key_pem = key.read_bytes()
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file",
                    str(password_file), str(key)], check=True, env=ansible_env(), capture_output=True)
    host_vars = inventory / "host_vars" / f"{HOST}.yml"
    host_vars.write_text(host_vars.read_text() + f"gate_admin_tls_cert_file: {cert}\n"
                         f"gate_admin_tls_key_file: {key}\n")

    def converge(version=VERSION, artifact=wheel):
        extra = base / f"release-{version}.json"
        extra.write_text(json.dumps({
            "gate_release_version": version,
            "gate_release_artifact": str(artifact),
            "gate_release_wheelhouse": str(wheelhouse(wheel)),
        }))
        return run_playbook(inventory / "hosts.yml", "--vault-password-file", str(password_file),
                            "-e", f"@{extra}")

    first = converge()
    save_debs(root)
    print(f"\nfirst converge: {first.seconds:.0f} s")
    assert first.rc == 0, first.tail()
    second = converge()
    print(f"second converge: {second.seconds:.0f} s")
    return {"root": root, "base": base, "first": first, "second": second,
            "converge": converge, "dist": dist, "token": token,
            "password": password, "province_ca": ca, "admin_cert": cert, "admin_key_pem": key_pem}


@needs_root
def test_second_run_changes_nothing(gate):
    second = gate["second"]
    assert second.rc == 0, second.tail()
    assert second.changed == 0, second.tail(200)
    assert gate["first"].changed > 0


@needs_root
def test_gatecast_user_is_unprivileged_and_in_the_device_groups(gate):
    passwd = in_root(gate["root"], "getent", "passwd", "gatecast").stdout.split(":")
    assert passwd[5] == "/var/lib/gatecast" and passwd[6].strip() == "/usr/sbin/nologin"
    assert int(passwd[2]) < 1000, "a system account"
    groups = in_root(gate["root"], "id", "-nG", "gatecast").stdout.split()
    assert {"gpio", "video", "render"} <= set(groups)
    assert "sudo" not in groups


def _mode(path):
    st = path.lstat()
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


@needs_root
def test_configuration_holds_the_inventorys_gate_and_is_accepted(gate):
    root = gate["root"]
    gid = int(in_root(root, "getent", "group", "gatecast").stdout.split(":")[2])
    config = root / "etc" / "gatecast" / "gatecast.toml"
    assert _mode(config) == (0o640, 0, gid)
    assert config.read_text().startswith("#")  # ansible_managed
    values = tomllib.loads(config.read_text())
    assert values["gate_id"] == "lang-son-huu-nghi"
    assert values["gate_name"] == "Cửa khẩu quốc tế Hữu Nghị"
    assert [f["relay_pin"] for f in values["faces"]] == [4, 5, 6, 7]
    assert values["faces"][0]["relay_active_high"] is False
    assert [o["connector"] for o in values["outputs"]] == ["HDMI-A-1", "HDMI-A-2"]
    assert values["faces"][1]["region"] == {"x": 960, "y": 0, "width": 960, "height": 1080}
    assert (values["display"], values["mpv_vo"], values["mpv_hwdec"]) == ("sway", "gpu", "auto-safe")
    check = in_root(root, "gatecast", "settings", "--check")
    assert "configuration OK (4 face(s), 4 picture(s) on 2 output(s), display sway)" in check.stdout
    assert values["central_url"] == "https://signage.langson.example.gov.vn"
    trusted = root / "etc" / "gatecast" / "root.json"
    assert values["sync_root_file"] == "/etc/gatecast/root.json"
    assert json.loads(trusted.read_text())["signed"]["_type"] == "root"
    token = root / "etc" / "gatecast" / "gate-token"
    assert values["sync_token_file"] == "/etc/gatecast/gate-token"
    assert _mode(token) == (0o640, 0, gid) and token.read_text().strip() == gate["token"]
    for sub in ("", "media", "screenshots"):
        assert _mode(root / "var" / "lib" / "gatecast" / sub)[0] == 0o750
    # The province's certificate and key, where the settings point, readable by the admin only.
    assert values["admin_http_redirect_bind"] == "10.20.1.10:80"
    assert (values["admin_tls_cert"], values["admin_tls_key"]) == (
        "/etc/gatecast/admin-tls.crt", "/etc/gatecast/admin-tls.key")
    cert, key = root / "etc" / "gatecast" / "admin-tls.crt", root / "etc" / "gatecast" / "admin-tls.key"
    assert _mode(cert) == (0o644, 0, gid) and cert.read_bytes() == gate["admin_cert"].read_bytes()
    assert _mode(key) == (0o640, 0, gid) and key.read_bytes() == gate["admin_key_pem"]
    assert gate["admin_key_pem"].decode() not in gate["first"].output


@needs_root
def test_first_admin_account_exists_in_the_gatecast_users_database(gate):
    root = gate["root"]
    db = root / "var" / "lib" / "gatecast" / "gatecast.db"
    uid = int(in_root(root, "id", "-u", "gatecast").stdout)
    assert db.stat().st_uid == uid, "the database must belong to the gatecast user"
    rows = in_root(root, "sqlite3", "/var/lib/gatecast/gatecast.db",
                   "select username, role from admin_user").stdout.split()
    assert rows == ["admin|admin"]
    stored = in_root(root, "sqlite3", "/var/lib/gatecast/gatecast.db",
                     "select password_hash from admin_user").stdout.strip()
    assert check_password_hash(stored, gate["password"]), "the account has the vaulted password"
    for run in (gate["first"], gate["second"]):
        assert gate["password"] not in run.output and gate["token"] not in run.output


@needs_root
def test_release_runs_from_its_own_virtualenv(gate):
    root = gate["root"]
    current = root / "opt" / "gatecast" / "current"
    assert os.readlink(current) == f"/opt/gatecast/venv-{VERSION}"
    assert (root / "opt" / "gatecast" / f"venv-{VERSION}" / "pyvenv.cfg").is_file()
    out = in_root(root, "gatecast", "--version").stdout
    assert out.strip() == f"gatecast, version {VERSION}"


@needs_root
def test_units_are_installed_enabled_and_verified_by_systemd(gate):
    root = gate["root"]
    units = [root / "etc" / "systemd" / "system" / f"gatecast-{n}.service"
             for n in ("player", "admin", "sync", "sway")]
    for unit in units:
        assert _mode(unit)[0] == 0o644
        wanted = root / "etc" / "systemd" / "system" / "multi-user.target.wants" / unit.name
        assert wanted.is_symlink(), f"{unit.name} is not enabled"
    player = units[0].read_text()
    assert "Type=notify" in player and "WatchdogSec=30" in player and "Restart=always" in player
    assert "ExecStart=/opt/gatecast/current/bin/gatecast player" in player
    # The player needs the compositor and finds it at the sockets sway's unit makes.
    assert "Requires=gatecast-sway.service" in player and "After=gatecast-sway.service" in player
    assert "Environment=WAYLAND_DISPLAY=/run/gatecast-sway/wayland-1" in player
    assert "Environment=SWAYSOCK=/run/gatecast-sway/sway-ipc.sock" in player
    sway = units[3].read_text()
    assert "User=gatecast" in sway and "ExecStart=/usr/bin/sway --config /etc/sway/gatecast.conf" in sway
    assert "Environment=SWAYSOCK=/run/gatecast-sway/sway-ipc.sock" in sway
    assert "RuntimeDirectory=gatecast-sway" in sway and "LIBSEAT_BACKEND=seatd" in sway
    assert "WAYLAND_DISPLAY" not in unit_environment(units[3]), "sway would run nested"
    assert (root / "etc" / "systemd" / "system" / "multi-user.target.wants" / "seatd.service").is_symlink()
    # The login prompt does not sit under the pictures on tty1.
    assert os.readlink(root / "etc" / "systemd" / "system" / "getty@tty1.service") == "/dev/null"
    admin = units[1].read_text()
    assert "gatecast admin --bind 10.20.1.10:8080" in admin
    # Port 80 for the redirect: one capability, ambient, for the unprivileged user.
    assert "User=gatecast" in admin and "NoNewPrivileges=yes" in admin
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in admin
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in admin
    proc = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *[f"/etc/systemd/system/{u.name}" for u in units]],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_root
def test_firewall_rules_parse_and_admit_only_lan_and_management(gate):
    rules = gate["root"] / "etc" / "nftables.conf"
    proc = subprocess.run(["nft", "-c", "-f", str(rules)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = rules.read_text()
    assert "policy drop" in text
    assert "elements = { 10.20.0.0/16 }" in text and "elements = { 10.250.0.0/24 }" in text
    assert "ip saddr @admin_lan_v4 tcp dport { 8080, 80 } accept" in text
    assert "ip saddr @management_v4 tcp dport 22 accept" in text


@needs_root
def test_base_hardening_and_display_settings(gate):
    root = gate["root"]
    assert os.readlink(root / "etc" / "localtime") == "/usr/share/zoneinfo/Asia/Ho_Chi_Minh"
    chrony = (root / "etc" / "chrony" / "chrony.conf").read_text()
    assert "server ntp.langson.example.gov.vn iburst" in chrony
    assert "pool 0.vn.pool.ntp.org iburst" in chrony
    journald = (root / "etc" / "systemd" / "journald.conf.d" / "50-gatecast.conf").read_text()
    assert "SystemMaxUse=64M" in journald
    sshd = root / "etc" / "ssh" / "sshd_config.d" / "01-gatecast-hardening.conf"
    assert "PasswordAuthentication no" in sshd.read_text()
    in_root(root, "/usr/sbin/sshd", "-t")  # the whole sshd configuration still loads
    radios = (root / "etc" / "modprobe.d" / "gatecast-radios.conf").read_text()
    assert "install brcmfmac /bin/false" in radios and "install bluetooth /bin/false" in radios
    assert os.readlink(root / "etc" / "systemd" / "system" / "bluetooth.service") == "/dev/null"
    cmdline = (root / "boot" / "firmware" / "cmdline.txt").read_text()
    assert cmdline.count("\n") == 1
    assert cmdline.split() == PI_CMDLINE_TXT.split() + [
        "video=HDMI-A-1:1920x1080@60D", "video=HDMI-A-2:1920x1080@60D", "consoleblank=0"]
    config_txt = (root / "boot" / "firmware" / "config.txt").read_text()
    assert config_txt.startswith(PI_CONFIG_TXT)
    assert "hdmi_force_hotplug=1" in config_txt and "dtoverlay=disable-wifi" in config_txt
    for pkg in ("mpv", "ffmpeg", "fonts-noto-core", "fonts-noto-cjk", "chrony", "nftables",
                "sway", "grim", "seatd"):
        in_root(root, "dpkg-query", "-W", pkg)


@needs_root
def test_every_relay_is_held_off_by_the_firmware(gate):
    """Hữu Nghị's relays are active low: each pin is driven high (op,dh) from the
    firmware's first instant, in the [all] section of config.txt."""
    config_txt = (gate["root"] / "boot" / "firmware" / "config.txt").read_text()
    block = config_txt.split("# BEGIN gatecast display")[1].split("# END gatecast display")[0]
    lines = [line for line in block.splitlines() if line.startswith("gpio=")]
    assert lines == ["gpio=4=op,dh", "gpio=5=op,dh", "gpio=6=op,dh", "gpio=7=op,dh"]
    assert block.splitlines()[1] == "[all]"


@needs_root
def test_compositor_configuration_follows_the_outputs(gate):
    text = (gate["root"] / "etc" / "sway" / "gatecast.conf").read_text()
    assert text.startswith("#")  # ansible_managed
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert ("output HDMI-A-1 mode 1920x1080@60Hz position 0 0 transform normal "
            "bg #000000 solid_color") in lines
    assert ("output HDMI-A-2 mode 1920x1080@60Hz position 1920 0 transform normal "
            "bg #000000 solid_color") in lines
    assert "output * dpms on" in lines and "seat * hide_cursor 1" in lines
    assert "xwayland disable" in lines and "default_border none" in lines
    assert not any(line.startswith(("bar", "bindsym", "exec")) for line in lines)


# The headless compositor that stands for the Pi's two HDMI ports names its outputs
# HEADLESS-1/2; the gate's files name HDMI-A-1/2. This is the one rename the test
# makes in what was provisioned (in private copies bound over the originals).
HEADLESS_FOR = {"HDMI-A-1": "HEADLESS-1", "HDMI-A-2": "HEADLESS-2"}
# What a machine without the Pi's GPU needs, and nothing else: wlroots' headless
# backend with its software renderer, and mpv's shared-memory output. TEST ONLY:
# the gate runs sway on its DRM card and mpv with --vo=gpu (docs/display.md).
HEADLESS_SWAY_ENV = {"WLR_BACKENDS": "headless", "WLR_HEADLESS_OUTPUTS": "2",
                     "WLR_RENDERER": "pixman"}
TEST_ONLY_PLAYER_ENV = {"GATECAST_MPV_VO": "wlshm"}


def _headless_copy(src, dest):
    text = src.read_text()
    for connector, headless in HEADLESS_FOR.items():
        text = text.replace(connector, headless)
    dest.write_text(text)
    return dest


_GET = """import hashlib, json, ssl, sys, time, urllib.error, urllib.parse, urllib.request
url, wait, cafile, follow = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4] == "follow"


class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):  # answer the redirect itself
        return None


# The province's CA and no other; the host name is checked against the certificate.
context = ssl.create_default_context(cafile=cafile)
opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                     *([] if follow else [Stay()]))
deadline = time.monotonic() + wait
while True:
    try:
        r = opener.open(url, timeout=10)
    except urllib.error.HTTPError as e:
        r = e
    except OSError:  # not listening yet
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
        continue
    break
final = urllib.parse.urlsplit(r.geturl())
peer = ""
if final.scheme == "https":
    pem = ssl.get_server_certificate((final.hostname, final.port or 443))
    peer = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
json.dump({"status": r.status, "url": r.geturl(), "headers": dict(r.headers.items()),
           "body": r.read().decode(), "peer_sha256": peer}, sys.stdout)
"""


def _get(gate, cafile, url, wait=10, follow=True):
    """A GET from inside the gate's network namespace, trusting only `cafile`:
    {status, url (after redirects), headers, body, peer_sha256}."""
    out = gate.as_root(sys.executable, "-c", _GET, url, str(wait), str(cafile),
                       "follow" if follow else "stay", timeout=wait + 60).stdout
    return json.loads(out)


def _region_pixels(png, region):
    from PIL import Image
    with Image.open(png) as im:
        box = (region["x"], region["y"], region["x"] + region["width"], region["y"] + region["height"])
        crop = im.convert("RGB").crop(box)
        levels = crop.convert("L").histogram()
        return crop, sum(levels[25:]) / (crop.width * crop.height)


@needs_root
def test_installed_release_shows_every_face_under_the_provisioned_compositor(gate, tmp_path):
    """Start what was provisioned, as the gate's systemd would: sway and the player
    from their installed units (command, environment, user), the installed release
    and its gatecast.toml; each of Hữu Nghị's four faces gets its own notice, and
    every face's region of both outputs shows its own lit picture in grim captures."""
    root = gate["root"]
    units = root / "etc" / "systemd" / "system"
    sway_unit, player_unit = (units / f"gatecast-{n}.service" for n in ("sway", "player"))
    config = tomllib.loads((root / "etc" / "gatecast" / "gatecast.toml").read_text())
    outputs = {o["name"]: o for o in config["outputs"]}
    shots = tmp_path / "captures"
    shots.mkdir()
    with InstalledGate(root, "10.20.1.10") as g:
        g.bind(_headless_copy(root / "etc" / "sway" / "gatecast.conf", tmp_path / "sway.conf"),
               "/etc/sway/gatecast.conf")
        g.bind(_headless_copy(root / "etc" / "gatecast" / "gatecast.toml", tmp_path / "gatecast.toml"),
               "/etc/gatecast/gatecast.toml")
        # ExecStartPre waits for seatd, which a headless backend never asks for.
        sway = g.start(sway_unit, HEADLESS_SWAY_ENV, log=tmp_path / "sway.log")
        ready = g.run_as(sway_unit, unit_command(sway_unit, "ExecStartPost"), timeout=120)
        assert ready.returncode == 0 and sway.poll() is None, (tmp_path / "sway.log").read_text()

        for face in config["faces"]:
            note = g.run_as(player_unit, ["/opt/gatecast/current/bin/gatecast", "notice", "set",
                                          "--text-vi", f"{face['name']}: bản tin riêng",
                                          "--face", str(face["id"])])
            assert note.returncode == 0, note.stdout + note.stderr
        player = g.start(player_unit, TEST_ONLY_PLAYER_ENV, log=tmp_path / "player.log")
        started = time.monotonic()

        def capture(output):
            """grim as the player takes its screenshots: the whole output, as shown."""
            path = f"/tmp/{output['name']}.png"
            proc = g.run_as(player_unit, ["grim", "-o", HEADLESS_FOR[output["connector"]], path])
            assert proc.returncode == 0, proc.stderr
            return root / path.lstrip("/")

        faces_seen = {}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(faces_seen) < len(config["faces"]):
            assert player.poll() is None, (tmp_path / "player.log").read_text()[-4000:]
            for output in outputs.values():
                png = capture(output)
                shutil.copy(png, shots / png.name)
                for face in (f for f in config["faces"] if f["output"] == output["name"]):
                    crop, lit = _region_pixels(png, face["region"])
                    if lit > 0.5:
                        faces_seen[face["id"]] = crop
            time.sleep(1)
        assert sorted(faces_seen) == [1, 2, 3, 4], (
            f"lit faces {sorted(faces_seen)}; captures in {shots}\n"
            + (tmp_path / "player.log").read_text()[-4000:])
        # Read by bench/ansible_converge.py (captures are polled about once a second).
        print(f"\ninstalled faces lit: {time.monotonic() - started:.1f} s")
        # Four faces, four pictures: no two regions show the same thing.
        pictures = {f: crop.tobytes() for f, crop in faces_seen.items()}
        assert len(set(pictures.values())) == 4
        print(f"\ncaptures of both outputs: {shots}")


@needs_root
def test_installed_admin_redirects_http_and_serves_the_province_certificate(gate, tmp_path):
    """The admin as its unit starts it (the installed release, on the gate's LAN
    address, as gatecast with the unit's one ambient capability): plain HTTP on
    port 80 answers a redirect to HTTPS, which serves the province's certificate
    (trusted through the province's CA, host name checked) with HSTS, and the
    pages' stylesheet and script."""
    import hashlib
    import ssl

    root = gate["root"]
    admin_unit = root / "etc" / "systemd" / "system" / "gatecast-admin.service"
    ca = gate["province_ca"]
    with InstalledGate(root, "10.20.1.10") as g:
        admin = g.start(admin_unit, log=tmp_path / "admin.log")
        bind = unit_command(admin_unit)[-1]  # --bind ADDRESS:PORT, the gate's LAN address
        assert bind == "10.20.1.10:8080"

        plain = _get(g, ca, "http://10.20.1.10/login?next=%2Fpower%2F", wait=180, follow=False)
        assert plain["status"] == 308, (plain, (tmp_path / "admin.log").read_text())
        assert plain["headers"]["Location"] == "https://10.20.1.10:8080/login?next=%2Fpower%2F"

        # Followed as a browser does: the login page over HTTPS, with HSTS.
        page = _get(g, ca, "http://10.20.1.10/login")
        assert page["url"] == "https://10.20.1.10:8080/login"
        assert (page["status"], page["headers"]["Content-Type"]) == (200, "text/html; charset=utf-8"), page
        assert page["headers"]["Strict-Transport-Security"].startswith("max-age=")
        cookie = page["headers"]["Set-Cookie"]
        assert "gatecast_session=" in cookie and "Secure" in cookie, cookie
        # The province's certificate, not one made at the first start.
        province = hashlib.sha256(ssl.PEM_cert_to_DER_cert(gate["admin_cert"].read_text())).hexdigest()
        assert page["peer_sha256"] == province
        assert not (root / "var" / "lib" / "gatecast" / "tls" / "admin-cert.pem").exists()
        log = (tmp_path / "admin.log").read_text()
        # The start line is in the gate's language (Vietnamese by default).
        assert "/etc/gatecast/admin-tls.crt (do tỉnh cấp, đã cài đặt)" in log, log

        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', page["body"])
        assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets), page
        for asset in assets:
            got = _get(g, ca, f"https://{bind}{asset}")
            kind = "text/css" if asset.endswith(".css") else "javascript"
            assert got["status"] == 200 and kind in got["headers"]["Content-Type"], f"{asset}: {got}"
            assert len(got["body"].strip()) > 100, f"{asset} is empty"
        assert admin.poll() is None


@needs_root
def test_failed_update_leaves_the_running_release(gate):
    broken = gate["dist"] / "broken" / f"gatecast-{NEXT_VERSION}-py3-none-any.whl"
    broken.parent.mkdir()
    broken.write_bytes(b"not a wheel")
    run = gate["converge"](NEXT_VERSION, broken)
    assert run.rc != 0 and run.failed == 1, run.tail()
    root = gate["root"]
    assert os.readlink(root / "opt" / "gatecast" / "current") == f"/opt/gatecast/venv-{VERSION}"
    assert in_root(root, "gatecast", "--version").stdout.strip() == f"gatecast, version {VERSION}"


@needs_root
def test_update_to_a_new_release_switches_after_it_runs(gate):
    source = copy_source(gate["base"] / f"src-{NEXT_VERSION}", version=NEXT_VERSION)
    wheel = build_wheel(source, gate["dist"] / "next")
    run = gate["converge"](NEXT_VERSION, wheel)
    print(f"update converge: {run.seconds:.0f} s")
    assert run.rc == 0, run.tail()
    root = gate["root"]
    assert os.readlink(root / "opt" / "gatecast" / "current") == f"/opt/gatecast/venv-{NEXT_VERSION}"
    assert in_root(root, "gatecast", "--version").stdout.strip() == f"gatecast, version {NEXT_VERSION}"
    # The previous release stays for a quick way back.
    assert (root / "opt" / "gatecast" / f"venv-{VERSION}" / "bin" / "gatecast").exists()


def test_build_release_makes_a_complete_offline_wheelhouse_for_arm64_gates(tmp_path):
    """What an operator copies to the gates: the wheel, and every dependency as an
    aarch64 wheel, including those pip on this x86 machine would leave out by marker."""
    env = dict(os.environ, GATE_DIST=str(tmp_path), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([str(ANSIBLE_DIR / "build-release.sh"), str(BIN / "python")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = tmp_path / f"gatecast-{VERSION}-py3-none-any.whl"
    wheelhouse = tmp_path / "wheelhouse-cp311-aarch64"
    names = sorted(p.name for p in wheelhouse.iterdir())
    assert wheel.is_file() and not any(n.startswith("gatecast-") for n in names)
    for binary in ("lgpio-", "pillow-", "cryptography-"):
        assert any(n.lower().startswith(binary) and "aarch64" in n for n in names), names
    # The gate's pip, offline, finds everything it needs in the wheelhouse.
    platforms = ["manylinux2014_aarch64"] + [f"manylinux_2_{m}_aarch64" for m in range(17, 37)]
    check = subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--dry-run", "--quiet", "--no-index",
         "--find-links", str(wheelhouse), "--only-binary=:all:", "--python-version", "3.11",
         "--implementation", "cp", "--abi", "cp311", "--target", str(tmp_path / "target"),
         *[a for p in platforms for a in ("--platform", p)], str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
