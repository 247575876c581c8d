"""Make the fleet map's outline (static/map-region.json) from Natural Earth.

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python3 scripts/map_outline.py package/countries-50m.json static/map-region.json

world-atlas (ISC, Mike Bostock) is Natural Earth's 1:50m countries (public
domain) as TopoJSON. This keeps Vietnam and its neighbours, clipped to the
region the console's map shows, simplified (Douglas-Peucker, ~1 km) and rounded
to 0.01 degree: a few tens of kilobytes, committed, so the map works without
internet and the build needs no npm. Run again only to change the region.
"""

from __future__ import annotations

import json
import sys

# ISO 3166 numeric ids in world-atlas -> the codes the console uses.
COUNTRIES = {"704": "VN", "418": "LA", "116": "KH", "156": "CN", "764": "TH", "104": "MM"}
BBOX = (99.0, 7.0, 116.0, 24.5)  # west, south, east, north (degrees)
TOLERANCE = 0.01  # degrees, ~1 km
SOURCE = ("Natural Earth 1:50m countries (public domain), via the npm package world-atlas "
          "2.0.2 (ISC licence, Mike Bostock)")


def decode_arcs(topo) -> list[list[tuple[float, float]]]:
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # delta-encoded, quantised
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs, indexes) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def clip(points, bbox):
    """Sutherland-Hodgman against the four sides of the box."""
    west, south, east, north = bbox
    sides = [(lambda p: p[0] >= west, lambda a, b: _at_x(a, b, west)),
             (lambda p: p[0] <= east, lambda a, b: _at_x(a, b, east)),
             (lambda p: p[1] >= south, lambda a, b: _at_y(a, b, south)),
             (lambda p: p[1] <= north, lambda a, b: _at_y(a, b, north))]
    for inside, cross in sides:
        if not points:
            break
        out = []
        prev = points[-1]
        for p in points:
            if inside(p):
                if not inside(prev):
                    out.append(cross(prev, p))
                out.append(p)
            elif inside(prev):
                out.append(cross(prev, p))
            prev = p
        points = out
    return points


def _at_x(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _at_y(a, b, y):
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def simplify(points, tolerance):
    """Douglas-Peucker, iterative; a closed ring is split at its point
    farthest from the start (its two ends coincide)."""
    if len(points) < 4:
        return points
    if points[0] == points[-1]:
        x0, y0 = points[0]
        mid = max(range(len(points)), key=lambda i: (points[i][0] - x0) ** 2
                  + (points[i][1] - y0) ** 2)
        if 0 < mid < len(points) - 1:
            return simplify(points[:mid + 1], tolerance) + simplify(points[mid:], tolerance)[1:]
    keep = {0, len(points) - 1}
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5 or 1e-12
        best, index = 0.0, None
        for i in range(first + 1, last):
            px, py = points[i]
            d = abs(dy * (px - ax) - dx * (py - ay)) / norm
            if d > best:
                best, index = d, i
        if index is not None and best > tolerance:
            keep.add(index)
            stack += [(first, index), (index, last)]
    return [points[i] for i in sorted(keep)]


def main(source: str, target: str) -> None:
    topo = json.load(open(source, encoding="utf-8"))
    arcs = decode_arcs(topo)
    countries = {}
    for geometry in topo["objects"]["countries"]["geometries"]:
        code = COUNTRIES.get(str(geometry.get("id")))
        if code is None:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings = []
        for polygon in polygons:
            for indexes in polygon[:1]:  # outer rings: lakes are not worth the bytes
                points = simplify(clip(ring(arcs, indexes), BBOX), TOLERANCE)
                points = [(round(x, 2), round(y, 2)) for x, y in points]
                if len(points) >= 4:
                    rings.append(points)
        countries[code] = rings
    json.dump({"source": SOURCE, "bbox": BBOX, "countries": countries},
              open(target, "w", encoding="utf-8"), separators=(",", ":"))


if __name__ == "__main__":
    main(*sys.argv[1:3])
