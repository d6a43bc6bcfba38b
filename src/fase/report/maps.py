"""Choropleth maps of per-area values (predicted risk, patrol, detection rate).

The polygons come from ``data/areas.geojson`` (node order, EPSG:4326) and the values are
(N,) arrays in the same order, e.g. the mean over steps of the (T, N) forecast or
allocation, or one cycle of the simulator's (K, N) per-area arrays. Maps are drawn
with :meth:`geopandas.GeoDataFrame.plot` on an Agg-canvas figure in the style of
:mod:`fase.report.figures`; minority areas can be outlined in black.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fase.errors import FaseInputError
from fase.report.figures import new_figure, styled

MISSING_COLOR = "#DDDDDD"


@dataclass(frozen=True)
class MapPanel:
    """One choropleth: (N,) ``values`` (NaN = no value), colour-bar ``label``, ``title``."""

    title: str
    label: str
    values: np.ndarray
    cmap: str = "viridis"


def _check(areas: gpd.GeoDataFrame, panel: MapPanel) -> np.ndarray:
    values = np.asarray(panel.values, dtype=float)
    if values.shape != (len(areas),):
        raise FaseInputError(
            panel.title,
            f"has {values.shape} values for {len(areas)} areas; expected ({len(areas)},)",
        )
    return values


def _color_range(values: np.ndarray) -> Normalize:
    """Linear colour scale over the finite values (0–1 when there are none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return Normalize(0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    return Normalize(low, high if high > low else low + 1.0)


@styled
def area_maps(
    areas: gpd.GeoDataFrame, panels: Sequence[MapPanel], minority: np.ndarray | None = None
) -> Figure:
    """Side-by-side choropleths of ``panels`` over the N ``areas``.

    Args:
        areas: N polygons in node order.
        panels: one :class:`MapPanel` per map, each with (N,) values.
        minority: optional (N,) bool; True areas are outlined in black.

    Returns:
        The figure; panel i's polygons are ``axes[i].collections[0]`` with the finite
        values as its colour array (areas without a value are drawn grey on top).
    """
    if not panels:
        raise FaseInputError("maps", "no panels to draw")
    figure, axes = new_figure(ncols=len(panels), width=4.2 * len(panels), height=4.6)
    axes = np.atleast_1d(axes)
    for ax, panel in zip(axes, panels, strict=True):
        values = _check(areas, panel)
        norm = _color_range(values)
        frame = areas.assign(value=values)
        frame.plot(
            column="value",
            ax=ax,
            cmap=panel.cmap,
            norm=norm,
            edgecolor="white",
            linewidth=0.3,
            missing_kwds={"color": MISSING_COLOR, "edgecolor": "white", "linewidth": 0.3},
        )
        if minority is not None:
            frame[np.asarray(minority, dtype=bool)].boundary.plot(
                ax=ax, color="black", linewidth=0.8
            )
        figure.colorbar(
            ScalarMappable(norm=norm, cmap=panel.cmap), ax=ax, label=panel.label, shrink=0.7
        )
        ax.set_axis_off()
        ax.set_title(panel.title)
    handles = []
    if minority is not None:
        handles.append(Line2D([], [], color="black", linewidth=0.8, label="minority area"))
    if any(not np.isfinite(np.asarray(p.values, dtype=float)).all() for p in panels):
        handles.append(Line2D([], [], color=MISSING_COLOR, linewidth=6, label="no value"))
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return figure
