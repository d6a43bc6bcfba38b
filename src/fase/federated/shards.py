"""A client's local store: its own :class:`~fase.forecasters.ForecastData`, on disk.

In the simulation the driver writes each client's data (its areas only, see
:func:`fase.federated.partition.client_data`) into the client's own folder, and a
client process reads only its own folder: the data never travel in Flower's messages.
Layout of ``<folder>``: ``arrays.npz`` (x, x_raw, y, y_types when present, bin_start,
local_hour_of_week, groups, area_km2), ``graph.npz`` (:meth:`fase.graph.Graph.save`)
and ``meta.json`` (split, bin width, bins per day, feature and type names). All load
without pickle. Per-type counts are kept only when the city has them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from fase.forecasters.data import ForecastData
from fase.graph import Graph
from fase.io import read_json, read_npz, write_json, write_npz

ARRAYS = ("x", "x_raw", "y", "bin_start", "local_hour_of_week", "groups", "area_km2")


def save_shard(data: ForecastData, folder: Path) -> Path:
    """Write ``data`` into ``folder`` (created); returns ``folder``."""
    arrays = {name: np.asarray(getattr(data, name)) for name in ARRAYS}
    if data.y_types is not None:
        arrays["y_types"] = data.y_types
    write_npz(folder / "arrays.npz", arrays, compressed=False)
    data.graph.save(folder / "graph.npz")
    meta = {
        "split": {name: list(bounds) for name, bounds in data.split.items()},
        "bin_width": data.bin_width,
        "bins_per_day": data.bins_per_day,
        "feature_names": data.feature_names,
        "type_names": data.type_names,
    }
    write_json(folder / "meta.json", meta)
    return folder


@functools.lru_cache(maxsize=16)
def load_shard(folder: Path) -> ForecastData:
    """Read a shard written by :func:`save_shard` (cached per process: a client process
    reads its folder once, not every round)."""
    arrays = read_npz(folder / "arrays.npz")
    meta = read_json(folder / "meta.json")
    return ForecastData(
        x=arrays["x"],
        x_raw=arrays["x_raw"],
        y=arrays["y"],
        y_types=arrays.get("y_types"),
        type_names=list(meta["type_names"]),
        split={name: (int(a), int(b)) for name, (a, b) in meta["split"].items()},
        bin_start=arrays["bin_start"],
        bin_width=str(meta["bin_width"]),
        bins_per_day=int(meta["bins_per_day"]),
        feature_names=list(meta["feature_names"]),
        graph=Graph.load(folder / "graph.npz"),
        groups=arrays["groups"],
        area_km2=arrays["area_km2"],
        local_hour_of_week=arrays["local_hour_of_week"],
    )
