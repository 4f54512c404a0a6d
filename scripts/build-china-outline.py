#!/usr/bin/env python3
"""Builds core/src/geo/china_outline.bin: the region where GCJ-02 applies, tiled for fast lookup.

Source: OpenStreetMap country boundaries (admin_level 2, which run along the territorial-sea
limit, 12 nmi from the baselines) as packaged by geo-maps in the npm package
@geo-maps/countries-maritime-10m 0.6.0 (map.geo.json; data (c) OpenStreetMap contributors, ODbL
1.0; package code MIT). scripts/build-china-outline installs that exact version and runs this.

Rule (docs/decisions/0008-china-outline-coast.md):
    region = (CHN u HKG u MAC) - (every other country's area)
so mainland China, Hong Kong, Macao, their islands and territorial sea are in; any place another
country's boundary also covers (Taiwan, Kinmen, Matsu, Penghu; any overlapping claim) is out.
The region is simplified (SIMPLIFY_DEG, topology kept) and quantised to 1/Q degree.

Output (little-endian), a grid of CELL_DEG cells over the region's bounding box:
  b"GLCN" u8 version=1 | i32 lon0, i32 lat0 (units of 1/Q deg) | u32 cell (units) | u16 cols, rows
  | cols*rows bytes: 0 outside, 1 inside, 2 mixed (row-major from the south-west)
  | for each mixed cell in that order: varint polygons, per polygon varint rings, per ring varint
    n (vertices, ring not closed) then n zigzag-varint (dlon, dlat) deltas in 1/Q deg, the first
    relative to the cell's south-west corner.
A mixed cell holds the region clipped to the cell, so a lookup is one point-in-polygon test over
a few dozen vertices.
"""
import json
import math
import struct
import sys

import shapely
from shapely.geometry import MultiPolygon, Polygon, box, shape

SIMPLIFY_DEG = 0.001  # ~100 m
CELL_DEG = 0.5
Q = 10_000  # quantum: 1e-4 degree (~11 m)
CN_CODES = ["CHN", "HKG", "MAC"]


def polygons_only(geom):
    """The polygonal part of `geom`, as a MultiPolygon (make_valid may add lines or points)."""
    flat = []
    for g in getattr(geom, "geoms", [geom]):
        if isinstance(g, Polygon) and not g.is_empty:
            flat.append(g)
        elif isinstance(g, (MultiPolygon, shapely.GeometryCollection)):
            flat.extend(polygons_only(g).geoms)
    return MultiPolygon(flat)


def varint(n, out):
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def zigzag(v):
    return (v << 1) ^ (v >> 63)


def main(maritime_path, out_path):
    features = json.load(open(maritime_path))["features"]
    areas = {f["properties"]["A3"]: shapely.make_valid(shape(f["geometry"])) for f in features}
    cn = shapely.union_all([areas[c] for c in CN_CODES])
    others = [c for c, g in areas.items() if c not in CN_CODES and g.intersects(cn)]
    print(f"other countries touching: {', '.join(sorted(others))}", file=sys.stderr)
    region = cn.difference(shapely.union_all([areas[c] for c in others]))
    region = polygons_only(shapely.make_valid(region.simplify(SIMPLIFY_DEG, preserve_topology=True)))
    region = MultiPolygon([p for p in region.geoms if p.area > 1e-8])
    print(f"region: {len(region.geoms)} polygons, {shapely.get_num_coordinates(region)} vertices",
          file=sys.stderr)

    qc = round(CELL_DEG * Q)
    x0, y0, x1, y1 = region.bounds
    lon0 = math.floor(x0 / CELL_DEG) * qc
    lat0 = math.floor(y0 / CELL_DEG) * qc
    cols = math.ceil((x1 * Q - lon0) / qc)
    rows = math.ceil((y1 * Q - lat0) / qc)
    shapely.prepare(region)
    status = bytearray()
    body = bytearray()
    mixed = vertices = 0
    for r in range(rows):
        for c in range(cols):
            cx, cy = lon0 + c * qc, lat0 + r * qc
            cell = box(cx / Q, cy / Q, (cx + qc) / Q, (cy + qc) / Q)
            if region.contains(cell):
                status.append(1)
                continue
            if not region.intersects(cell):
                status.append(0)
                continue
            clip = region.intersection(cell)
            polys = [p for p in getattr(clip, "geoms", [clip]) if isinstance(p, Polygon) and p.area > 0]
            if not polys:
                status.append(0)
                continue
            status.append(2)
            mixed += 1
            varint(len(polys), body)
            for p in polys:
                rings = [p.exterior, *p.interiors]
                varint(len(rings), body)
                for ring in rings:
                    pts = [(round(x * Q), round(y * Q)) for x, y in ring.coords[:-1]]
                    dedup = [q for i, q in enumerate(pts) if i == 0 or q != pts[i - 1]]
                    varint(len(dedup), body)
                    px, py = cx, cy
                    for qx, qy in dedup:
                        varint(zigzag(qx - px), body)
                        varint(zigzag(qy - py), body)
                        px, py = qx, qy
                    vertices += len(dedup)
    header = b"GLCN" + struct.pack("<BiiIHH", 1, lon0, lat0, qc, cols, rows)
    data = header + bytes(status) + bytes(body)
    open(out_path, "wb").write(data)
    if len(sys.argv) > 3:  # Debug: the region as GeoJSON.
        open(sys.argv[3], "w").write(shapely.to_geojson(region))
    print(f"{cols}x{rows} cells of {CELL_DEG} deg, {mixed} mixed, {vertices} vertices, "
          f"{len(data)} bytes -> {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
