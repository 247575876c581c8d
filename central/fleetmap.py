"""The fleet map, drawn on the server as inline SVG: the outline of Viet Nam
and its neighbours shipped with the app (static/map-region.json, made by
scripts/map_outline.py from Natural Earth), the gates at their latitude and
longitude, and, only when `central_map_tile_url` is set, that tile server's
pictures underneath. No script and no internet are needed to see it.

Positions are Web Mercator (the projection of every tile server), scaled so
the region is `WIDTH` units wide; the SVG scales to the page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from kiosk.webassets import static_folder

from central.checks import CentralError

WIDTH = 1000.0
REGION_FILE = "map-region.json"
# Vietnamese maps show both archipelagos; the console labels them (central/fleetmap.py
# callers translate the names).
ARCHIPELAGOS = (("paracel", 112.0, 16.5), ("spratly", 114.0, 10.0))


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator in units of the world's width (0..1 both ways)."""
    lat = max(-85.0, min(85.0, lat))
    x = (lon + 180.0) / 360.0
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2
    return x, y


@dataclass(frozen=True)
class Region:
    west: float
    south: float
    east: float
    north: float
    source: str
    countries: dict  # code -> [[(lon, lat), ...], ...]

    @property
    def _origin(self) -> tuple[float, float, float]:
        x0, y0 = _mercator(self.west, self.north)
        x1, _ = _mercator(self.east, self.south)
        return x0, y0, WIDTH / (x1 - x0)

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        x0, y0, scale = self._origin
        x, y = _mercator(lon, lat)
        return round((x - x0) * scale, 1), round((y - y0) * scale, 1)

    @property
    def height(self) -> float:
        return self.project(self.east, self.south)[1]

    def contains(self, lon: float, lat: float) -> bool:
        return self.west <= lon <= self.east and self.south <= lat <= self.north

    @property
    def view_box(self) -> str:
        return f"0 0 {WIDTH:g} {self.height:g}"

    def paths(self) -> list[tuple[str, str]]:
        """(country code, SVG path data) for each country, Viet Nam last (on top)."""
        out = []
        for code in sorted(self.countries, key=lambda c: (c == "VN", c)):
            d = " ".join("M" + " L".join(f"{x:g},{y:g}" for x, y in
                                         (self.project(lon, lat) for lon, lat in ring)) + " Z"
                         for ring in self.countries[code])
            out.append((code, d))
        return out


@cache
def region() -> Region:
    data = json.loads((static_folder() / REGION_FILE).read_text(encoding="utf-8"))
    west, south, east, north = data["bbox"]
    countries = {code: [[tuple(p) for p in ring] for ring in rings]
                 for code, rings in data["countries"].items()}
    return Region(west, south, east, north, data["source"], countries)


@cache
def outline() -> tuple[str, tuple[tuple[str, str], ...]]:
    """The view box and the country paths, computed once per process."""
    r = region()
    return r.view_box, tuple(r.paths())


def markers(gates: list[dict]) -> tuple[list[dict], list[dict]]:
    """The gates that have a position inside the map, each with x and y added,
    and the gates that cannot be drawn (no position, or outside the region)."""
    r = region()
    placed, unplaced = [], []
    for gate in gates:
        lat, lon = gate.get("latitude"), gate.get("longitude")
        if lat is None or lon is None or not r.contains(lon, lat):
            unplaced.append(gate)
            continue
        x, y = r.project(lon, lat)
        placed.append({**gate, "x": x, "y": y, "x0": x, "y0": y})
    return spread(placed), unplaced


# A marker is MARKER_R units across its centre; closer ones would hide each other.
MARKER_R = 20.0


def spread(placed: list[dict]) -> list[dict]:
    """Markers that would overlap (two gates a few kilometres apart, like Hữu
    Nghị and Tân Thanh) moved onto a small circle round their middle, so the
    static map (no script) shows each; x0/y0 keep the true place, for a leg."""
    groups: list[list[dict]] = []
    for m in placed:
        near = next((g for g in groups if any(math.dist((m["x"], m["y"]), (o["x"], o["y"]))
                                              < 2 * MARKER_R for o in g)), None)
        if near is None:
            groups.append([m])
        else:
            near.append(m)
    for group in groups:
        if len(group) < 2:
            continue
        cx = sum(m["x0"] for m in group) / len(group)
        cy = sum(m["y0"] for m in group) / len(group)
        radius = (2.2 * MARKER_R) / (2 * math.sin(math.pi / len(group)))
        for i, m in enumerate(group):
            angle = -math.pi / 2 + 2 * math.pi * i / len(group)
            m["x"] = round(cx + radius * math.cos(angle), 1)
            m["y"] = round(cy + radius * math.sin(angle), 1)
    return placed


def archipelagos() -> list[dict]:
    r = region()
    out = []
    for key, lon, lat in ARCHIPELAGOS:
        if r.contains(lon, lat):
            x, y = r.project(lon, lat)
            out.append({"key": key, "x": x, "y": y, "lon": lon, "lat": lat})
    return out


# ---- optional tile server ---------------------------------------------------------


def check_tile_url(url: str) -> str:
    """An http(s) URL with {z}, {x} and {y}; '' stays '' (no tiles)."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urlsplit(url.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
    if parts.scheme not in ("https", "http") or not parts.hostname or any(
            k not in url for k in ("{z}", "{x}", "{y}")) or any(c in url for c in "'\" <>"):
        raise CentralError(f"central_map_tile_url must be an http(s) URL with {{z}}, {{x}} and "
                           f"{{y}}, got {url!r}", "tile_url", value=url)
    return url


def tile_origin(url: str) -> str:
    """The scheme://host[:port] the CSP must allow for images, or ''."""
    url = check_tile_url(url)
    if not url:
        return ""
    parts = urlsplit(url.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
    return f"{parts.scheme}://{parts.netloc}"


def tiles(url: str, zoom: int | None = None) -> list[dict]:
    """The tiles covering the region at `zoom` (default: about 2-4 tiles across),
    each with its URL and place in the map's units."""
    url = check_tile_url(url)
    if not url:
        return []
    r = region()
    x0, y0 = _mercator(r.west, r.north)
    x1, y1 = _mercator(r.east, r.south)
    if zoom is None:
        zoom = max(1, min(12, int(math.log2(4 / (x1 - x0)))))
    n = 2 ** zoom
    scale = WIDTH / (x1 - x0)
    out = []
    for ty in range(int(y0 * n), int(y1 * n) + 1):
        for tx in range(int(x0 * n), int(x1 * n) + 1):
            out.append({"href": url.replace("{z}", str(zoom)).replace("{x}", str(tx))
                        .replace("{y}", str(ty)),
                        "x": round((tx / n - x0) * scale, 1), "y": round((ty / n - y0) * scale, 1),
                        "size": round(scale / n, 1)})
    return out
