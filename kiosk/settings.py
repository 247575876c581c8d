"""gatecast settings: the one table every process, the CLI and the docs read.

Precedence, lowest first: the default below, the config file
(`/etc/gatecast/gatecast.toml` or `--config`), values an admin saved in the
database (table `setting`), then `GATECAST_<NAME>` environment variables.
Environment wins so that an operator can always force a value from systemd.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

DEFAULT_CONFIG_FILE = Path("/etc/gatecast/gatecast.toml")
DEFAULT_STATE_DIR = Path("/var/lib/gatecast")


class SettingsError(ValueError):
    """A setting has a value of the wrong type or an unknown name."""


class LayoutError(SettingsError):
    """The outputs and faces do not form a layout. str() is the English sentence
    (CLI, provisioning, logs); `code` and `params` let the admin say it in the
    reader's language (admin/services/faces.py has a sentence for every code)."""

    def __init__(self, code: str, message: str, **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Setting:
    name: str
    type: str  # "str", "int", "float", "bool", "json"
    default: Any
    help: str
    section: str = "general"

    @property
    def env_var(self) -> str:
        return "GATECAST_" + self.name.upper()


# Areas keep their settings in their own section below, so that work on one
# area does not touch another's lines. Every setting is documented in
# docs/settings.md (tests/test_settings.py fails when one is missing).
SETTINGS: tuple[Setting, ...] = (
    # --- general -----------------------------------------------------------
    Setting("state_dir", "str", str(DEFAULT_STATE_DIR),
            "Folder holding gatecast.db, media/ and screenshots/."),
    Setting("gate_id", "str", "gate-dev",
            "Identifier of this gate at the central authority, e.g. 'lang-son-huu-nghi'."),
    Setting("gate_name", "str", "gatecast development gate",
            "Human name of the gate, shown in the admin and reports."),
    Setting("timezone", "str", "Asia/Ho_Chi_Minh",
            "IANA time zone in which schedules and power windows are evaluated."),
    Setting("language", "str", "vi",
            "Default language of the admin and of messages: 'vi' or 'en'."),
    # --- faces and outputs -------------------------------------------------
    Setting("display", "str", "auto",
            "Where the pictures go: 'sway' (the gate's kiosk compositor, found through "
            "WAYLAND_DISPLAY and SWAYSOCK), 'x11' (Xvfb, a developer's desktop), 'headless' "
            "(no picture: CI and the demo), or 'auto' (sway, then x11, then headless). A "
            "configured display that cannot be reached raises the no_display alarm.", "faces"),
    Setting("outputs", "json",
            [{"name": "main", "connector": "HDMI-A-1", "width": 1920, "height": 1080}],
            "Display outputs driven by this controller (1-2). Each: name, connector (e.g. "
            "HDMI-A-1), width and height of its mode, optional refresh (Hz) and rotation "
            "(0/90/180/270; regions are then in the rotated picture), optional mpv_args.",
            "faces"),
    Setting("faces", "json",
            [{"id": 1, "name": "Mặt 1", "output": "main"},
             {"id": 2, "name": "Mặt 2", "output": "main"}],
            "Faces of the cluster (1-4). Each: id, name, output, region {x, y, width, height} "
            "in the output's pixels (default: the whole output); relay_pin (BCM) and "
            "relay_active_high (default false) when a power relay switches it. Faces with the "
            "same output and region show one picture (mirrored); regions of different pictures "
            "must not overlap.", "faces"),
    # --- player --------------------------------------------------------------
    Setting("mpv_path", "str", "mpv", "mpv executable the player runs, one per picture.", "player"),
    Setting("mpv_vo", "str", "",
            "mpv video output; empty lets the display choose ('gpu' under sway and x11, 'null' "
            "headless). Tests under a GPU-less compositor use 'wlshm'.", "player"),
    Setting("mpv_hwdec", "str", "auto-safe",
            "mpv hardware decoding under a display ('auto-safe' uses the Pi's decoder when it "
            "can, else software; 'no' turns it off).", "player"),
    Setting("image_duration_s", "float", 10.0,
            "How long an image or text slide is held when neither item nor media says.", "player"),
    Setting("screenshot_interval_s", "float", 30.0,
            "Seconds between screenshots of each face; 0 turns them off.", "player"),
    Setting("poll_interval_s", "float", 0.2,
            "How often the player checks the database for a changed desired state.", "player"),
    # --- power ---------------------------------------------------------------
    Setting("power_stagger_s", "float", 2.0,
            "Seconds between switching on two faces' relays, to limit the LED inrush current.",
            "power"),
    Setting("health_interval_s", "float", 10.0,
            "How often the player samples controller health (temperature, throttling, "
            "disk, memory, clock sync).", "power"),
    Setting("cpu_temp_alarm_c", "float", 75.0,
            "CPU temperature (degrees C) above which health raises an alarm. Border gates "
            "reach 44 C in summer and a Pi 4/5 throttles from 80-85 C, so the alarm comes first.", "power"),
    Setting("disk_free_alarm_mb", "int", 500,
            "Free space (MB) of the state folder below which health raises an alarm.", "power"),
    # --- text ----------------------------------------------------------------
    Setting("text_fonts", "json", {},
            "Per-language font chains overriding the Noto defaults: {\"lo\": [\"Noto Sans Lao\", "
            "\"Noto Sans\"]}; each entry a fontconfig family or a file path (path#N picks a face "
            "of a collection). Text a chain cannot draw is refused, never shown as boxes.", "text"),
    Setting("text_slide_background", "str", "#0B3D91",
            "Background colour of notice slides below emergency level.", "text"),
    Setting("text_emergency_background", "str", "#B00020",
            "Background colour of emergency notice slides and tickers.", "text"),
    Setting("ticker_position", "str", "bottom", "Where the ticker band runs: 'top' or 'bottom'.", "text"),
    Setting("ticker_speed_px_s", "float", 120.0,
            "Ticker speed in pixels per second on a 1080-line output (scaled to others).", "text"),
    Setting("ticker_height", "float", 0.08, "Ticker band height as a fraction of the output's height.", "text"),
    Setting("ticker_color", "str", "#FFFFFF", "Ticker text colour.", "text"),
    Setting("ticker_background", "str", "#0B3D91", "Ticker band colour below emergency level.", "text"),
    Setting("ticker_fps", "float", 0.0,
            "Frames per second of the moving ticker band; 0: the output's refresh rate (60 when not set).",
            "text"),
    # --- admin ---------------------------------------------------------------
    Setting("admin_bind", "str", "127.0.0.1:8080",
            "HOST:PORT the admin listens on; the deployment binds the gate's LAN address.", "admin"),
    Setting("admin_secret_key", "str", "",
            "Key signing admin sessions; empty keeps a random one in <state>/admin-secret-key.",
            "admin"),
    Setting("admin_login_max_failures", "int", 5,
            "Failed logins (per user name and per client address) before a lockout.", "admin"),
    Setting("admin_lockout_s", "int", 300,
            "Seconds a user name or client address stays locked after too many failures.",
            "admin"),
    Setting("admin_session_hours", "float", 12.0,
            "Hours an admin login stays valid.", "admin"),
    Setting("admin_tls", "str", "auto",
            "HTTPS for the admin: 'on', 'off', or 'auto' (on unless admin_bind is a loopback "
            "address, as in the demo).", "admin"),
    Setting("admin_tls_cert", "str", "/etc/gatecast/admin-tls.crt",
            "The province's certificate for the admin (PEM, put in place by provisioning). When it "
            "or its key is missing, the admin makes a self-signed one in <state>/tls/ at its first "
            "start and prints its SHA-256 fingerprint (also: gatecast admin cert).", "admin"),
    Setting("admin_tls_key", "str", "/etc/gatecast/admin-tls.key",
            "The private key of admin_tls_cert (PEM, readable by the gatecast user only).", "admin"),
    Setting("admin_http_redirect_bind", "str", "",
            "HOST:PORT of a plain-HTTP listener that only redirects to the admin's HTTPS address; "
            "empty: none.", "admin"),
    Setting("admin_secure_cookie", "bool", False,
            "Send the session cookie only over HTTPS (turn on behind a TLS proxy).", "admin"),
    Setting("media_max_mb", "int", 1024,
            "Largest media file accepted from an upload or the content library, in MiB.", "admin"),
    Setting("media_max_pixels", "int", 40000000,
            "Most pixels an image or video frame may have (guards against decompression bombs).",
            "admin"),
    Setting("media_max_duration_s", "float", 14400.0,
            "Longest video accepted, in seconds.", "admin"),
    Setting("media_decoder", "str", "auto",
            "Whose video decoder uploads are checked against (kiosk/decoders.py): 'pi4', 'pi5', or "
            "'auto' (this machine's model; off a Pi, the Pi 4). A video beyond it is refused; one "
            "above its frame rate is accepted with a warning.", "admin"),
    # --- sync ----------------------------------------------------------------
    Setting("central_url", "str", "",
            "Base URL of the province's central authority, e.g. 'https://cms.sotttt.example.vn'. "
            "Empty: sync is off.", "sync"),
    Setting("sync_root_file", "str", "/etc/gatecast/root.json",
            "The TUF root metadata pinned at installation (1.root.json from "
            "'gatecast central init'); the trust anchor of every release.", "sync"),
    Setting("sync_token_file", "str", "/etc/gatecast/gate-token",
            "File holding this gate's API token for the report API (kept out of the config "
            "file; mode 0600).", "sync"),
    Setting("sync_interval_s", "float", 300.0,
            "Seconds between two TUF polls (jittered by +-20%); the change notification "
            "brings urgent releases sooner.", "sync"),
    Setting("sync_heartbeat_interval_s", "float", 60.0,
            "Seconds between heartbeats (queued while offline).", "sync"),
    Setting("sync_screenshot_interval_s", "float", 300.0,
            "Seconds between screenshot uploads per face; 0 sends none.", "sync"),
    Setting("sync_longpoll_s", "float", 55.0,
            "How long one change-notification request may wait; 0 turns long polling off. "
            "Behind nginx keep it at nchan_subscriber_timeout (55 s): shorter, and the gate "
            "hangs up on every long poll and opens a new connection for the next.",
            "sync"),
    Setting("sync_http_timeout_s", "float", 30.0,
            "Connect timeout and longest silence inside a download before it is cut and "
            "resumed later.", "sync"),
    Setting("sync_clock", "str", "ntp",
            "When metadata expiry is trusted: 'ntp' (once the kernel says NTP synchronised "
            "the clock), 'always' (an RTC or GPS clock), 'never'.", "sync"),
    Setting("sync_queue_max_items", "int", 20000,
            "Most heartbeats and screenshots kept in the upstream queue while offline "
            "(oldest screenshots go first; proof of play is never dropped).", "sync"),
    Setting("sync_queue_max_mb", "float", 200.0,
            "Most megabytes the upstream queue may hold (same dropping order).", "sync"),
    Setting("sync_media_budget_mb", "float", 0.0,
            "Most megabytes the media store may use; 0: the whole disk minus "
            "sync_disk_reserve_mb.", "sync"),
    Setting("sync_disk_reserve_mb", "float", 500.0,
            "Megabytes always left free on the state disk; a release that does not fit is "
            "refused.", "sync"),
    Setting("sync_play_retention_days", "float", 30.0,
            "Days a proof-of-play row is kept on the gate after central acknowledged it; "
            "rows central does not have yet are never deleted. 0 keeps them forever.", "sync"),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    """Turn a config-file, database or environment value into the setting's type."""
    t = setting.type
    try:
        if t == "json":
            return json.loads(value) if isinstance(value, str) else value
        if t == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if t == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if t == "float":
            return float(value)
        value = str(value)
    except (ValueError, TypeError, json.JSONDecodeError) as e:
        raise SettingsError(
            f"setting {setting.name!r} wants a {t} value, got {value!r}"
        ) from e
    if setting.name in ("timezone", "central_timezone"):
        _check_timezone(value, setting.name)
    return value


def _check_timezone(name: str, setting: str = "timezone") -> None:
    """Refuse an unknown zone when settings are read, so that `settings --check`
    catches it and no command dies later in zoneinfo with a traceback."""
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except (ValueError, OSError, LookupError):  # ZoneInfoNotFoundError is a KeyError
        raise SettingsError(
            f"setting {setting!r}: unknown time zone {name!r} (an IANA name such as "
            "'Asia/Ho_Chi_Minh')") from None


class Settings(Mapping[str, Any]):
    """Resolved settings; read like a dict or as attributes."""

    def __init__(self, values: dict[str, Any], origins: dict[str, str]):
        self._values = values
        self.origins = origins

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def state_path(self) -> Path:
        return Path(self._values["state_dir"])

    @property
    def db_path(self) -> Path:
        return self.state_path / "gatecast.db"

    @property
    def media_dir(self) -> Path:
        return self.state_path / "media"

    @property
    def screenshot_dir(self) -> Path:
        return self.state_path / "screenshots"


def read_toml_settings(path: Path | None, *, default_path: Path, table: str,
                       known: Mapping[str, Setting], noun: str = "setting(s)") -> dict[str, Any]:
    """Read a TOML config of one settings table (the gate's or central's): a missing
    default file is fine, a missing named one is not; flat keys and a `[table]` table
    both work; unknown names are refused (a typo is not a default)."""
    if path is None:
        path = default_path
        if not path.exists():
            return {}
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"config file {path} is not valid TOML: {e}") from None
    if table in data and isinstance(data[table], dict):
        data = {**data, **data.pop(table)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SettingsError(f"config file {path}: unknown {noun} {', '.join(unknown)}")
    return data


def resolve_settings(table: tuple[Setting, ...], file_values: Mapping[str, Any],
                     env: Mapping[str, str], state_dir: Path | None = None,
                     db_values: Mapping[str, Any] | None = None,
                     overrides: Mapping[str, Any] | None = None) -> Settings:
    """Each setting of `table` from, lowest first: its default, the file, the database,
    the environment, overrides; `state_dir` (the --state option) beats everything."""
    # (origin, values, keyed by the GATECAST_* variable name rather than the setting's)
    layers = (("file", file_values, False), ("database", db_values or {}, False),
              ("environment", env, True), ("override", overrides or {}, False))
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for s in table:
        value, origin = s.default, "default"
        for layer, source, by_env_var in layers:
            key = s.env_var if by_env_var else s.name
            if key in source:
                value, origin = _coerce(s, source[key]), layer
        values[s.name] = value
        origins[s.name] = origin
    if state_dir is not None:
        values["state_dir"], origins["state_dir"] = str(state_dir), "option"
    return Settings(values, origins)


def read_config_file(path: Path | None) -> dict[str, Any]:
    """Read the gate's TOML config (flat keys or a [gatecast] table)."""
    return read_toml_settings(path, default_path=DEFAULT_CONFIG_FILE, table="gatecast",
                              known=SETTINGS_BY_NAME)


def load_settings(
    config_file: Path | None = None,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    db_values: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Resolve every setting. `state_dir` (the --state option) beats everything."""
    env = os.environ if env is None else env
    return resolve_settings(SETTINGS, read_config_file(config_file), env, state_dir,
                            db_values, overrides)


def with_database(settings: Settings, db) -> Settings:
    """Re-resolve settings including values an admin saved in the database."""
    saved = {}
    if "setting" in db.table_names():
        for row in db["setting"].rows:
            if row["name"] in SETTINGS_BY_NAME and row["name"] != "state_dir":
                saved[row["name"]] = json.loads(row["value"])
    values = dict(settings)
    origins = dict(settings.origins)
    for name, value in saved.items():
        if origins.get(name) in ("default", "file"):
            values[name] = _coerce(SETTINGS_BY_NAME[name], value)
            origins[name] = "database"
    return Settings(values, origins)


# ---- faces, outputs and pictures ---------------------------------------------
# One validation for everything that reads faces and outputs: `gatecast
# settings --check` (and through it Ansible's pre_tasks), the admin, the
# player and power control all call `check_layout`.

DISPLAYS = ("auto", "sway", "x11", "headless")
ROTATIONS = (0, 90, 180, 270)
_OUTPUT_KEYS = {"name", "connector", "width", "height", "refresh", "rotation", "mpv_args"}
_FACE_KEYS = {"id", "name", "output", "region", "relay_pin", "relay_active_high"}
_REGION_KEYS = ("x", "y", "width", "height")


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    width: int
    height: int

    def overlaps(self, other: "Region") -> bool:
        return (self.x < other.x + other.width and other.x < self.x + self.width
                and self.y < other.y + other.height and other.y < self.y + self.height)

    def as_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class OutputConfig:
    """One display output (an HDMI port). `width`/`height` are its mode;
    `size` is the picture as laid out (swapped when rotated 90/270)."""

    name: str
    connector: str | None
    width: int
    height: int
    refresh: float | None = None
    rotation: int = 0
    mpv_args: tuple[str, ...] = ()
    x: int = 0  # where the output sits in the layout: outputs side by side, in order

    @property
    def size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)

    def whole(self) -> Region:
        w, h = self.size
        return Region(0, 0, w, h)


@dataclass(frozen=True)
class Picture:
    """What one mpv shows: a region of an output and the faces fed from it
    (several faces = mirrored by hardware). Its name (`face-N`, N its first
    face) is the mpv window's app id suffix and the key of its state."""

    name: str
    output: OutputConfig
    region: Region
    faces: tuple[int, ...]

    @property
    def fills_output(self) -> bool:
        return self.region == self.output.whole()


@dataclass(frozen=True)
class Layout:
    display: str
    outputs: tuple[OutputConfig, ...]
    faces: tuple[dict, ...]  # face dicts, region filled in
    pictures: tuple[Picture, ...]

    def output(self, name: str) -> OutputConfig:
        return next(o for o in self.outputs if o.name == name)

    def picture_of(self, face_id: int) -> Picture:
        return next(p for p in self.pictures if face_id in p.faces)


def _int(value, what: str, low: int | None = None, high: int | None = None, *,
         code: str, **params: Any) -> int:
    """A whole number within bounds, or LayoutError `code` (with low, high, value)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LayoutError(code, f"{what} must be a whole number, got {value!r}",
                          value=value, low=low, high=high, **params)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise LayoutError(code, f"{what} must be {bounds}, got {value}",
                          value=value, low=low, high=high, **params)
    return value


def _check_outputs(raw) -> tuple[OutputConfig, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= 2:
        count = len(raw) if isinstance(raw, list) else "no list of"
        raise LayoutError("outputs_count", f"a controller drives 1-2 outputs, the configuration has {count}",
                          count=count)
    result, x = [], 0
    for i, o in enumerate(raw, 1):
        if not isinstance(o, dict):
            raise LayoutError("output_not_table",
                              f"output {i} must be a table (name, connector, width, height)", output=i)
        name = o.get("name")
        if not isinstance(name, str) or not name.strip():
            raise LayoutError("output_no_name", f"output {i} needs a name", output=i)
        unknown = sorted(set(o) - _OUTPUT_KEYS)
        if unknown:
            raise LayoutError("output_unknown_keys", f"output {name!r}: unknown key(s) {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(_OUTPUT_KEYS))})",
                              output=name, keys=", ".join(unknown), known=", ".join(sorted(_OUTPUT_KEYS)))
        connector = o.get("connector")
        if connector is not None and (not isinstance(connector, str) or not connector.strip()):
            raise LayoutError("output_connector", f"output {name!r}: connector is a name like HDMI-A-1",
                              output=name)
        width = _int(o.get("width"), f"output {name!r} width", 1, 16384, code="output_width", output=name)
        height = _int(o.get("height"), f"output {name!r} height", 1, 16384, code="output_height",
                      output=name)
        refresh = o.get("refresh")
        if refresh is not None and (isinstance(refresh, bool) or not isinstance(refresh, (int, float))
                                    or not 1 <= refresh <= 500):
            raise LayoutError("output_refresh", f"output {name!r}: refresh is in Hz (e.g. 60), got {refresh!r}",
                              output=name, value=refresh)
        rotation = o.get("rotation", 0)
        if rotation not in ROTATIONS or isinstance(rotation, bool):
            raise LayoutError("output_rotation", f"output {name!r}: rotation is 0, 90, 180 or 270, "
                              f"got {rotation!r}", output=name, value=rotation)
        args = o.get("mpv_args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise LayoutError("output_mpv_args", f"output {name!r}: mpv_args is a list of strings", output=name)
        out = OutputConfig(name, connector, width, height,
                           float(refresh) if refresh is not None else None, rotation, tuple(args), x)
        x += out.size[0]
        result.append(out)
    for attr in ("name", "connector"):
        values = [getattr(o, attr) for o in result if getattr(o, attr)]
        if len(set(values)) != len(values):
            raise LayoutError("outputs_same_" + attr, f"two outputs have the same {attr} {values[0]!r}",
                              value=values[0])
    return tuple(result)


def _check_region(raw, face_id: int, output: OutputConfig) -> Region:
    if raw is None:
        return output.whole()
    if not isinstance(raw, dict) or set(raw) != set(_REGION_KEYS):
        raise LayoutError("face_region_shape", f"face {face_id}: region is {{x, y, width, height}} in the "
                          f"output's pixels, got {raw!r}", face=face_id)
    x = _int(raw["x"], f"face {face_id} region x", 0, code="face_region_x", face=face_id)
    y = _int(raw["y"], f"face {face_id} region y", 0, code="face_region_y", face=face_id)
    w = _int(raw["width"], f"face {face_id} region width", 1, code="face_region_width", face=face_id)
    h = _int(raw["height"], f"face {face_id} region height", 1, code="face_region_height", face=face_id)
    ow, oh = output.size
    if x + w > ow or y + h > oh:
        raise LayoutError(
            "face_region_outside",
            f"face {face_id}: region {w}x{h}+{x}+{y} does not fit inside output "
            f"{output.name!r} ({ow}x{oh}{', rotated' if output.rotation in (90, 270) else ''})",
            face=face_id, region=f"{w}×{h}", x=x, y=y, output=output.name, size=f"{ow}×{oh}")
    return Region(x, y, w, h)


def check_layout(settings: Mapping[str, Any]) -> Layout:
    """Validate `display`, `outputs` and `faces` together; raise SettingsError
    with a message a technician can act on, or return the layout: outputs,
    faces (region filled in) and the pictures they form."""
    display = settings.get("display", "auto")
    if display not in DISPLAYS:
        raise LayoutError("display_unknown", f"display must be one of {', '.join(DISPLAYS)}, got {display!r}",
                          value=display, choices=", ".join(DISPLAYS))
    outputs = _check_outputs(settings["outputs"])
    by_name = {o.name: o for o in outputs}
    raw_faces = settings["faces"]
    if not isinstance(raw_faces, list) or not 1 <= len(raw_faces) <= 4:
        count = len(raw_faces) if isinstance(raw_faces, list) else "no list of"
        raise LayoutError("faces_count", f"a cluster has 1-4 faces, the configuration has {count}", count=count)
    faces_: list[dict] = []
    groups: dict[tuple[str, Region], list[int]] = {}
    for f in raw_faces:
        if not isinstance(f, dict):
            raise LayoutError("face_not_table", f"each face must be a table (id, name, output), got {f!r}")
        fid = f.get("id")
        if isinstance(fid, bool) or not isinstance(fid, int) or not 1 <= fid <= 4:
            raise LayoutError("face_id", f"face id must be 1..4, got {fid!r}", value=fid)
        unknown = sorted(set(f) - _FACE_KEYS)
        if unknown:
            raise LayoutError("face_unknown_keys", f"face {fid}: unknown key(s) {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(_FACE_KEYS))})",
                              face=fid, keys=", ".join(unknown), known=", ".join(sorted(_FACE_KEYS)))
        if f.get("output") not in by_name:
            raise LayoutError("face_unknown_output", f"face {fid} names unknown output {f.get('output')!r} "
                              f"(outputs: {', '.join(by_name)})",
                              face=fid, output=str(f.get("output")), outputs=", ".join(by_name))
        name = f.get("name", f"Mặt {fid}")
        if not isinstance(name, str) or not name.strip():
            raise LayoutError("face_no_name", f"face {fid}: name must be a non-empty text", face=fid)
        pin = f.get("relay_pin")
        if pin is not None:
            _int(pin, f"face {fid} relay_pin (a BCM GPIO number)", 0, 27, code="face_relay_pin", face=fid)
        if not isinstance(f.get("relay_active_high", False), bool):
            raise LayoutError("face_relay_polarity", f"face {fid}: relay_active_high is true or false", face=fid)
        output = by_name[f["output"]]
        region = _check_region(f.get("region"), fid, output)
        faces_.append({**f, "name": name, "region": region.as_dict()})
        groups.setdefault((output.name, region), []).append(fid)
    ids = [f["id"] for f in faces_]
    if len(set(ids)) != len(ids):
        raise LayoutError("face_ids_unique", f"face ids must be unique, got {ids}",
                          ids=", ".join(str(i) for i in ids))
    keys = list(groups)
    for i, (out_a, reg_a) in enumerate(keys):
        for out_b, reg_b in keys[i + 1:]:
            if out_a == out_b and reg_a.overlaps(reg_b):
                a, b = groups[(out_a, reg_a)][0], groups[(out_b, reg_b)][0]
                raise LayoutError(
                    "faces_overlap",
                    f"faces {a} and {b} overlap on output {out_a!r} "
                    f"({reg_a.width}x{reg_a.height}+{reg_a.x}+{reg_a.y} and "
                    f"{reg_b.width}x{reg_b.height}+{reg_b.x}+{reg_b.y}): give them the same "
                    f"region to mirror one picture, or regions that do not overlap",
                    a=a, b=b, output=out_a)
    pictures = tuple(
        Picture(f"face-{min(fids)}", by_name[out], region, tuple(sorted(fids)))
        for (out, region), fids in sorted(groups.items(), key=lambda kv: min(kv[1])))
    return Layout(display, outputs, tuple(faces_), pictures)


def faces(settings: Mapping[str, Any]) -> list[dict]:
    """The configured faces, validated (see `check_layout`), region filled in."""
    return list(check_layout(settings).faces)
