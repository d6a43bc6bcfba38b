"""Published crime-forecasting benchmarks, read into one neutral structure.

``load_benchmark(NAME)`` reads the files that ``fase datasets fetch NAME`` put in the data
folder (checksummed copies of the authors' own files, pinned to a commit: see
``fase/datasets/NAME.yaml``) and returns a :class:`Benchmark`: per experiment, one daily
series ``counts`` (N regions, T days, K categories) with contiguous train/val/test day
ranges, the region graph, and the published protocol (input days, horizon, metrics).
:func:`benchmark_scores` computes the published metrics. Nothing here trains a model.

Common convention (both families): a target day ``t`` is predicted from the
``history_days`` days ``[t - history_days, t)`` (horizon 1: the next day), and those
input days may lie in an earlier split, as in the published code. Training targets are
the train days from ``history_days`` on (:meth:`Benchmark.target_days`).

HAGEN / CrimeForecaster (``hagen-la``, ``hagen-chicago``)
----------------------------------------------------------
Source: Rafa-zy/HAGEN at 23d4db9 (Wang et al., AAAI 2022), data of
sunjiao123sun/CrimeForecaster at 694c06d (Sun et al., ECML-PKDD 2020).

* Files: ``CRIME-{LA,CHICAGO}/{8..12}/{train,val,test}.npz``, each with ``x``
  (S, 8, N, 8) and ``y`` (S, 1, N, 8): 8 input days, the next day as label; values 0/1
  (whether a crime of the category occurred in the region that day). LA: N = 113 LA Times
  neighbourhoods, Chicago: N = 77 community areas. Five rolling experiments, named by the
  folder (the test month). ``sensor_graph/adj_mx_{la,chicago}.pkl``:
  ``[ids, id→index, (N, N) float32]`` built by DCRNN's ``gen_adj_mx.py``
  (exp(-d²/σ²), weights < 0.1 dropped), symmetric, ones on the diagonal; kept as
  published, as float64.
* Series: day ``j < 8`` is ``x[0, j]``; day ``8 + i`` is the label of sample ``i``, so
  T = 8 + S. Checked on load: the windows slide by one day over train → val → test, and
  each label is the next sample's last input day.
* Chicago label quirk: ``y[i][..., c] == x[i+1, -1][..., (c+1) % 8]``. Its cause is
  CrimeForecaster's ``Code/scripts/generate_feature_label_Chicago.py``: line 122 writes
  inputs at ``crime_type_id``, line 130 writes labels at ``crime_type_id - 1`` (index -1
  wraps to 7). The series here is in the input (``x``) order, the labels being rolled
  back by one category. Scoring x-ordered categories gives the same Micro-F1 and
  Macro-F1 as scoring the published shifted labels. The pairing of columns is only a
  permutation of the categories, Micro-F1 pools all categories, Macro-F1 averages them,
  and HAGEN's per-category min-max scaling (below) is permutation-equivariant. Per-category
  F1 ``f1_k`` refers to x-order category ``k``, i.e. published label column ``(k-1) % 8``.
* Category order: LA follows the dict of CrimeForecaster's ``extract_LA_year.py`` (ids by
  first appearance in the concatenated frame): theft, vehicle theft, burglary, fraud,
  assault, vandalism, robbery, sexual offenses. This is inferred, not stated by the
  authors, but the ranks of the region-day marginals match the supplement's counts.
  Chicago's ids are first-appearance order in the authors' private file (line 84 of the
  Chicago script), so its categories are named "category 1".."category 8".
* Protocol (``crime-data/CRIME-LA/la_crime_8.yaml``): ``seq_len: 8``, ``horizon: 1``.
  Splits (measured, identical for LA and Chicago; samples train/val/test → days):

  ====  ===  ========  ===========  ===========  ===========
  exp    T   samples   train        val          test
  ====  ===  ========  ===========  ===========  ===========
  8     219  166/15/30 [0, 174)     [174, 189)   [189, 219)
  9     221  169/15/29 [0, 177)     [177, 192)   [192, 221)
  10    221  168/15/30 [0, 176)     [176, 191)   [191, 221)
  11    221  169/15/29 [0, 177)     [177, 192)   [192, 221)
  12    221  168/15/30 [0, 176)     [176, 191)   [191, 221)
  ====  ===  ========  ===========  ===========  ===========

  Experiment 9, 10, 11 and 12 start 28, 31, 30 and 31 days after the previous one: the
  lengths of February to May. The test lengths are 30, 29, 30, 29 and 30 days: each month
  minus one day. Both fit "test = day 1 to the day before the last of month m", i.e. day 0 of
  experiment 8 = 2018-01-24 for LA (2015 for Chicago). That is an inference, so
  ``first_day`` is None.
  Positive rate (mean of the series, experiments 8 … 12): LA 0.3152, 0.3146, 0.3150,
  0.3134, 0.3121; Chicago 0.4405, 0.4472, 0.4512, 0.4506, 0.4471.
* Metrics (``HAGEN-code/model/hagen_supervisor.py``, lines 128-140): the test truth and
  decisions are reshaped to (days·regions, 8) and scored with scikit-learn
  ``f1_score``. The F1 of a category pools all its (day, region) cells:
  F1_k = 2·TP_k / (2·TP_k + FP_k + FN_k), and 0 when TP_k + FP_k + FN_k = 0 (no
  positive in truth nor decisions: scikit-learn's default). Macro-F1 = mean of the 8
  F1_k (unweighted).
  Micro-F1 = 2·ΣTP / (2·ΣTP + ΣFP + ΣFN). These are the formulas of the supplement
  (HAGEN_suppl.pdf §1.2, eq. 1, whose Macro-F1 denominator misprints FP as TP).
  Decisions from scores (lines 66 and 132-137): sigmoid of the model's logits, min-max
  scaled per category over the test cells, then 1 where the value ≥ the global quantile
  at 1 − (positive rate of the train + val labels): :func:`hagen_decisions`,
  :func:`hagen_positive_rate`. Model selection: the epoch of the best validation
  0.6·Macro + 0.4·Micro (lines 141 and 215-219), whose test scores are reported.
* Aggregation of the five experiments: not determinable. One run trains and tests one
  month (``hagen_train.py --month``), no code combines months, and the supplement does not
  say. HAGEN's own LA logs (commit 3f7ca1d, ``HAGEN-code/logs/{8..12}/*/info.log``, deleted
  since) report best-epoch test Macro/Micro-F1 of 0.5436/0.6105, 0.5403/0.6126,
  0.5361/0.6101, 0.5406/0.6146 and 0.5199/0.6077 (mean 0.5361/0.6111).
  :func:`mean_scores` averages experiments; that mean is our choice.

STHSL / ST-SHN (``sthsl-chi``, ``sthsl-nyc``)
----------------------------------------------
Source: LZH-YS1998/STHSL at 6f3429c (Li et al., ICDE 2022; the README's data credit is
akaxlh/ST-SHN, Xia et al., IJCAI 2021, which holds no data files).

* Files: ``Datasets/{CHI,NYC}_crime/{trn,val,tst}.pkl``, float64 (rows, cols, days, 4)
  daily counts per ~3 km grid cell. Read with :func:`load_array_pickle`, which builds
  numpy arrays and nothing else. Cell ``(r, c)`` is region ``r·cols + c``, the row-major
  reshape of ``DataHandler.py`` lines 28-30.
* CHI: 14 × 12 = 168 cells; trn 609 days (2016-01-01 → 2017-08-31), val 30 (2017-09),
  tst 92 (2017-10-01 → 2017-12-31): T = 731, split [0, 609) / [609, 639) / [639, 731);
  totals 268,815 / 14,035 / 39,026. Categories THEFT, BATTERY, ASSAULT, CRIMINAL DAMAGE
  (``Datasets/CHI_crime/dataProcessing_CHI.py`` line 5).
* NYC: the snapshot lacks ``trn.pkl``. The whole 16 × 16 × 730 grid is rebuilt from the
  incident CSV (:func:`sthsl_grid_from_csv`, the rule of ``dataProcessing_CHI.py`` lines
  46-72 with the NYC bounds). On load it is checked against ``val.pkl`` and ``tst.pkl``,
  which it reproduces exactly. Split [0, 608) / [608, 638) / [638, 730) from 2014-01-01;
  trn/val/tst totals 159,207 / 8,426 / 23,947. Categories BURGLARY, GRAND LARCENY, ROBBERY,
  FELONY ASSAULT, the only permutation that reproduces ``val.pkl``.
* Graph: the grid's 8-neighbour (queen) contiguity with self-loops, 0/1. ST-SHN builds
  this graph (``DataHandler.py``, ``constructGraph``); STHSL has no explicit graph and
  uses 3 × 3 convolutions over the grid (``model.py`` line 10), the same neighbourhood.
* Protocol (``Params.py`` line 13): ``temporalRange`` = 30 input days, horizon 1. Training
  targets are the trn days 30 … trn-1 (``engine.py`` line 60). Each val/tst day is
  predicted from the 30 days before it, reaching back into trn/val (``engine.py`` lines
  46-51, 123-125). Inputs are z-scored with the trn mean/std (``DataHandler.py`` lines
  31-32); that belongs to the model. Model selection: the best validation RMSE + MAE
  (``train.py`` line 29).
* Metrics (``utils.py`` lines 11-19, ``cal_metrics_r``; ``engine.py`` lines 42, 228 and
  309-316): only the cells whose truth is > 0 count, for MAE as well as MAPE. The
  mask is ``label > 0``; ``tstLocs`` is all ones (``DataHandler.py`` lines 69-72).
  Per category k over the test (day, region) cells with y > 0:
  MAE_k = Σ|ŷ − y| / n_k, MAPE_k = Σ(|ŷ − y| / y) / n_k (a fraction; the code's
  ``+ 1e-8`` is immaterial for y ≥ 1), RMSE_k = √(Σ(ŷ − y)² / n_k). The overall values
  pool the categories (sums over all k divided by Σ n_k), not a mean of the MAE_k.
  Predictions are not rounded or clipped. ST-SHN masks the same way, but its
  ``tstLocs`` keeps only cells positive on 20-80 % of train days; STHSL keeps every cell.
  STHSL's extra sparsity-group scores (``DataHandler.getSparsity``) are not computed here.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from fase.config.loader import data_root, load_benchmark_config
from fase.errors import FaseInputError

BENCHMARKS: tuple[str, ...] = ("hagen-la", "hagen-chicago", "sthsl-chi", "sthsl-nyc")
SPLITS = ("train", "val", "test")

# HAGEN / CrimeForecaster
HAGEN_EXPERIMENTS = ("8", "9", "10", "11", "12")
HAGEN_HISTORY = 8
LA_CATEGORIES = (  # inferred order (module docstring)
    "theft",
    "vehicle theft",
    "burglary",
    "fraud",
    "assault",
    "vandalism",
    "robbery",
    "sexual offenses",
)
CHICAGO_HAGEN_CATEGORIES = tuple(f"category {k}" for k in range(1, 9))  # order unknown

# STHSL / ST-SHN
STHSL_HISTORY = 30
STHSL_CELL_KM = 3  # dataProcessing_CHI.py: latDiv = 111 / 3, lonDiv = 84 / 3
CHI_CATEGORIES = ("THEFT", "BATTERY", "ASSAULT", "CRIMINAL DAMAGE")
NYC_CATEGORIES = ("BURGLARY", "GRAND LARCENY", "ROBBERY", "FELONY ASSAULT")
NYC_FIRST_DAY = dt.date(2014, 1, 1)
NYC_VAL_START = dt.date(2015, 9, 1)
NYC_TEST_START = dt.date(2015, 10, 1)
NYC_END = dt.date(2016, 1, 1)  # exclusive
NYC_COLUMNS = ("Occurrence Date", "Offense", "Latitude", "Longitude")


@dataclass(frozen=True, eq=False)
class BenchmarkExperiment:
    """One train/val/test split of a benchmark.

    Attributes:
        name: "8" … "12" for HAGEN (the folder, i.e. the test month), "test" for STHSL.
        counts: (N, T, K) float32, per region, day and category. HAGEN: 0/1 occurrence;
            STHSL: incident counts.
        split: contiguous half-open day ranges ``{"train": (0, a), "val": (a, b),
            "test": (b, T)}`` over the T days.
        first_day: ISO date of day 0 when known, else None.
    """

    name: str
    counts: np.ndarray
    split: dict[str, tuple[int, int]]
    first_day: str | None

    @property
    def n_days(self) -> int:
        return int(self.counts.shape[1])

    def truth(self, part: str = "test") -> np.ndarray:
        """The (T_part, N, K) values of split ``part``, ordered for :func:`benchmark_scores`."""
        lo, hi = self.split[part]
        return np.ascontiguousarray(self.counts[:, lo:hi].transpose(1, 0, 2))


@dataclass(frozen=True, eq=False)
class Benchmark:
    """A published benchmark and its protocol (module docstring).

    Attributes:
        name: the catalog name (:data:`BENCHMARKS`).
        title: one line for people.
        source: citation and pinned repository.
        target: "occurrence" (0/1 per day, scored by F1) or "counts" (scored by MAE/MAPE).
        categories: the K category names in tensor order.
        adjacency: (N, N) float64 region graph (HAGEN: the published ``adj_mx``, distance
            kernel weights in (0, 1]; STHSL: 0/1 queen contiguity of grid cells). Both
            have ones on the diagonal, as published.
        history_days: input days of the published protocol (HAGEN 8, STHSL 30).
        horizon: days ahead predicted (1 in both).
        metrics: the headline metrics, ``("micro_f1", "macro_f1")`` or ``("mae", "mape")``.
        experiments: the splits (HAGEN: five rolling experiments; STHSL: one).
        grid_shape: (rows, cols) of a grid benchmark (region ``r·cols + c``), else None.
    """

    name: str
    title: str
    source: str
    target: Literal["occurrence", "counts"]
    categories: list[str]
    adjacency: np.ndarray
    history_days: int
    horizon: int
    metrics: tuple[str, ...]
    experiments: list[BenchmarkExperiment]
    grid_shape: tuple[int, int] | None = None

    def target_days(self, experiment: BenchmarkExperiment, part: str) -> range:
        """Days of ``part`` predicted under the protocol: all of val and test; train from
        ``history_days`` on (earlier days have no full input window)."""
        lo, hi = experiment.split[part]
        return range(max(lo, self.history_days), hi)


# ---------------------------------------------------------------------------------------
# Safe pickle reading


def _array_function(protocol: int) -> Callable[..., object]:
    """numpy's array-unpickling helper for a pickle protocol: ``_reconstruct`` (0-4),
    ``_frombuffer`` (5)."""
    function = np.zeros(1).__reduce_ex__(protocol)[0]
    assert callable(function)
    return function


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 2 pickles use it (array bytes stored as latin-1 text)."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], object] = {
    **{
        (module, "_reconstruct"): _array_function(2)
        for module in (
            "numpy.core.multiarray",
            "numpy._core.multiarray",
            "numpy.core._multiarray_umath",
            "numpy._core._multiarray_umath",
        )
    },
    **{
        (module, "_frombuffer"): _array_function(5)
        for module in ("numpy.core.numeric", "numpy._core.numeric")
    },
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals needed to rebuild numpy arrays (and
    Python 2's latin-1 byte strings); any other global (``os.system``, ``eval``, a class
    of some module) is refused before it is called."""

    def find_class(self, module: str, name: str) -> object:
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return allowed


def load_array_pickle(path: Path) -> object:
    """Unpickle ``path`` allowing numpy arrays, dtypes and plain Python containers only.

    Raises:
        FaseInputError: the file is not such a pickle (it names a forbidden global, or
            is corrupt).
    """
    try:
        data = Path(path).read_bytes()
        return _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise FaseInputError(
            path,
            f"refused to unpickle: {exc}; only numpy arrays are read",
            "the file is not the published one: fetch it again (`fase datasets fetch`)",
        ) from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise FaseInputError(path, f"not a readable array pickle ({exc})") from None


def _float_array(value: object, path: Path, ndim: int) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim != ndim or value.dtype.kind not in "fiu":
        raise FaseInputError(path, f"expected a numeric array with {ndim} dimensions")
    return value


# ---------------------------------------------------------------------------------------
# HAGEN / CrimeForecaster


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            x, y = archive["x"], archive["y"]
    except (OSError, ValueError, KeyError) as exc:
        raise FaseInputError(path, f"not a HAGEN window file with x and y ({exc})") from None
    if x.ndim != 4 or y.ndim != 4 or y.shape[1] != 1 or len(x) != len(y) or len(x) == 0:
        raise FaseInputError(
            path, f"expected x (S, H, N, K) and y (S, 1, N, K), got {x.shape} and {y.shape}"
        )
    if x.shape[2:] != y.shape[2:]:
        raise FaseInputError(path, f"x {x.shape} and y {y.shape} disagree on N, K")
    return x, y


def hagen_series(
    folder: Path, label_shift: int = 0
) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
    """One HAGEN experiment folder (``train.npz``, ``val.npz``, ``test.npz``) as a daily
    series.

    Args:
        folder: the experiment folder.
        label_shift: the published labels' category offset: ``y[..., c]`` holds input
            category ``(c + label_shift) % K`` (0 for LA, 1 for Chicago).
    Returns:
        (N, T, K) float32 series in the input (``x``) category order, T = H + S, and the
        split ``{"train": (0, H + S_train), "val": …, "test": (…, T)}``.
    Raises:
        FaseInputError: files of the wrong shape, values not 0/1, windows that do not slide
            by one day, or labels that are not the next day under ``label_shift``.
    """
    parts = {part: _read_npz(Path(folder) / f"{part}.npz") for part in SPLITS}
    x = np.concatenate([parts[p][0] for p in SPLITS])
    y = np.concatenate([parts[p][1] for p in SPLITS])[:, 0]
    history = x.shape[1]
    if not (np.isin(x, (0, 1)).all() and np.isin(y, (0, 1)).all()):
        raise FaseInputError(folder, "values are not 0/1 occurrences")
    if not np.array_equal(x[1:, :-1], x[:-1, 1:]):
        raise FaseInputError(
            folder, "the input windows of train → val → test do not slide by one day"
        )
    labels = np.roll(y, label_shift, axis=-1)  # x-order category c = label column c - shift
    if not np.array_equal(labels[:-1], x[1:, -1]):
        raise FaseInputError(
            folder,
            f"the labels are not the next day's inputs (category shift {label_shift})",
        )
    series = np.concatenate([x[0], labels]).transpose(1, 0, 2).astype(np.float32)
    n_train, n_val = len(parts["train"][0]), len(parts["val"][0])
    a, b = history + n_train, history + n_train + n_val
    return series, {"train": (0, a), "val": (a, b), "test": (b, series.shape[1])}


def hagen_adjacency(path: Path, n_regions: int) -> np.ndarray:
    """The published ``adj_mx_*.pkl`` (``[ids, id→index, (N, N) matrix]``) as (N, N)
    float64, rows and columns in region order 0 … N-1.

    Raises:
        FaseInputError: another structure, size or node order.
    """
    content = load_array_pickle(path)
    if not (isinstance(content, list | tuple) and len(content) == 3):
        raise FaseInputError(path, "expected [ids, id→index, adjacency]")
    ids, index, matrix = content
    if not isinstance(index, dict):
        raise FaseInputError(path, "expected [ids, id→index, adjacency]")
    matrix = _float_array(matrix, path, 2)
    if matrix.shape != (n_regions, n_regions):
        raise FaseInputError(path, f"adjacency {matrix.shape}, expected {n_regions} regions")
    expected = [str(i) for i in range(n_regions)]
    if [str(i) for i in ids] != expected or {str(k): v for k, v in index.items()} != {
        s: i for i, s in enumerate(expected)
    }:
        raise FaseInputError(path, "node ids are not 0 … N-1 in order")
    return matrix.astype(np.float64)


# ---------------------------------------------------------------------------------------
# STHSL / ST-SHN


def grid_adjacency(rows: int, cols: int) -> np.ndarray:
    """(rows·cols, rows·cols) float64 0/1 queen contiguity of grid cells (8 neighbours)
    with self-loops, as ST-SHN's ``constructGraph``; cell (r, c) is region r·cols + c."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    near = (np.abs(r[:, None] - r[None, :]) <= 1) & (np.abs(c[:, None] - c[None, :]) <= 1)
    return near.astype(np.float64)


def _grid_tensor(path: Path) -> np.ndarray:
    return _float_array(load_array_pickle(path), path, 4)


def sthsl_series(
    tensors: Sequence[np.ndarray],
) -> tuple[np.ndarray, dict[str, tuple[int, int]], tuple[int, int]]:
    """The trn, val and tst grids (rows, cols, days, K) as one (rows·cols, T, K) float32
    series, its split and the grid shape."""
    shapes = {t.shape[:2] + t.shape[3:] for t in tensors}
    if len(shapes) != 1:
        raise FaseInputError("benchmark", f"trn/val/tst grids disagree: {sorted(shapes)}")
    rows, cols, _, k = tensors[0].shape
    series = np.concatenate([t.reshape(rows * cols, -1, k) for t in tensors], axis=1)
    a = tensors[0].shape[2]
    b = a + tensors[1].shape[2]
    split = {"train": (0, a), "val": (a, b), "test": (b, series.shape[1])}
    return series.astype(np.float32), split, (rows, cols)


def sthsl_grid_from_csv(
    path: Path,
    categories: Sequence[str],
    first_day: dt.date,
    end_day: dt.date,
    columns: Sequence[str] = NYC_COLUMNS,
) -> np.ndarray:
    """STHSL's grid (rows, cols, days, K) float64 of daily counts from an incident CSV.

    The rule of ``dataProcessing_CHI.py`` (lines 46-72): row = int((lat − min lat)·111/3),
    col = int((lon − min lon)·84/3), with the minima and maxima over all rows; rows =
    int((max − min)·111/3) + 1 (cols likewise); day = the local date of the timestamp
    minus ``first_day``. ``columns`` names the date (``MM/DD/YYYY …``), category,
    latitude and longitude columns of a file with a header row.

    Raises:
        FaseInputError: missing columns, an unknown category, or a date outside
            [first_day, end_day).
    """
    when, what, lat_col, lon_col = columns
    try:
        frame = pd.read_csv(path, usecols=list(columns), dtype=str)
        lat = frame[lat_col].astype(float).to_numpy()
        lon = frame[lon_col].astype(float).to_numpy()
        date = pd.to_datetime(frame[when].str.slice(0, 10), format="%m/%d/%Y")
    except (OSError, ValueError, KeyError) as exc:
        raise FaseInputError(
            path, f"cannot read the incident columns {list(columns)} ({exc})"
        ) from None
    index = {name: k for k, name in enumerate(categories)}
    category = frame[what].map(index)
    if category.isna().any():
        unknown = sorted(set(frame.loc[category.isna(), what].astype(str)))[:5]
        raise FaseInputError(path, f"categories outside {list(categories)}: {unknown}")
    day = (date - pd.Timestamp(first_day)).dt.days.to_numpy()
    n_days = (end_day - first_day).days
    if len(day) and (day.min() < 0 or day.max() >= n_days):
        raise FaseInputError(path, f"incidents outside {first_day} … {end_day} (exclusive)")
    lat_div, lon_div = 111 / STHSL_CELL_KM, 84 / STHSL_CELL_KM
    row = ((lat - lat.min()) * lat_div).astype(int)
    col = ((lon - lon.min()) * lon_div).astype(int)
    rows = int((lat.max() - lat.min()) * lat_div) + 1
    cols = int((lon.max() - lon.min()) * lon_div) + 1
    grid = np.zeros((rows, cols, n_days, len(categories)))
    np.add.at(grid, (row, col, day, category.to_numpy(dtype=int)), 1)
    return grid


# ---------------------------------------------------------------------------------------
# The benchmarks


@dataclass(frozen=True)
class _Hagen:
    folder: str
    adjacency: str
    label_shift: int
    categories: tuple[str, ...]
    title: str


_HAGEN = {
    "hagen-la": _Hagen(
        "hagen_crimeforecaster/CRIME-LA",
        "hagen_crimeforecaster/sensor_graph/adj_mx_la.pkl",
        0,
        LA_CATEGORIES,
        "HAGEN/CrimeForecaster Los Angeles 2018: daily occurrence, 113 neighbourhoods",
    ),
    "hagen-chicago": _Hagen(
        "hagen_crimeforecaster/CRIME-CHICAGO",
        "hagen_crimeforecaster/sensor_graph/adj_mx_chicago.pkl",
        1,
        CHICAGO_HAGEN_CATEGORIES,
        "HAGEN/CrimeForecaster Chicago 2015: daily occurrence, 77 community areas",
    ),
}
HAGEN_SOURCE = (
    "Wang et al., HAGEN: Homophily-Aware Graph Convolutional Recurrent Network for Crime "
    "Forecasting, AAAI 2022 (github.com/Rafa-zy/HAGEN at 23d4db9); data of Sun et al., "
    "CrimeForecaster, ECML-PKDD 2020"
)
STHSL_SOURCE = (
    "Li et al., Spatial-Temporal Hypergraph Self-Supervised Learning for Crime Prediction, "
    "ICDE 2022 (github.com/LZH-YS1998/STHSL at 6f3429c); data of Xia et al., ST-SHN, "
    "IJCAI 2021"
)
CHI_TENSORS = "chicago_crime_sthsl/sthsl_tensors"
NYC_TENSORS = "nyc_crime_sthsl/sthsl_tensors"
NYC_CSV = "nyc_crime_sthsl/NYC_Crime.csv.gz"


def benchmark_files(name: str) -> list[str]:
    """The files (relative to the data folder) that :func:`load_benchmark` reads."""
    if name in _HAGEN:
        spec = _HAGEN[name]
        files = [f"{spec.folder}/{m}/{p}.npz" for m in HAGEN_EXPERIMENTS for p in SPLITS]
        return [*files, spec.adjacency]
    if name == "sthsl-chi":
        return [f"{CHI_TENSORS}/{p}.pkl" for p in ("trn", "val", "tst")]
    if name == "sthsl-nyc":
        return [NYC_CSV, f"{NYC_TENSORS}/val.pkl", f"{NYC_TENSORS}/tst.pkl"]
    raise FaseInputError(
        "benchmark", f"unknown benchmark {name!r}", f"benchmarks: {', '.join(BENCHMARKS)}"
    )


def load_benchmark(name: str) -> Benchmark:
    """Read benchmark ``name`` from the data folder (``$FASE_DATA_ROOT``, else the cache).

    Raises:
        FaseInputError: an unknown name; a file not fetched (naming
            ``fase datasets fetch NAME``); files that are not the published ones.
    """
    files = benchmark_files(name)  # raises for an unknown name
    listed = {f.path for f in load_benchmark_config(name).files}
    root = data_root()
    for relative in files:
        if relative not in listed:
            raise FaseInputError(f"datasets/{name}.yaml", f"does not list {relative}")
        if not (root / relative).is_file():
            raise FaseInputError(
                relative,
                f"not in the data folder: benchmark {name!r} has not been fetched",
                f"run `fase datasets fetch {name}` (or set FASE_DATA_ROOT to a folder that has it)",
            )
    if name in _HAGEN:
        return read_hagen(name, root)
    if name == "sthsl-chi":
        return read_sthsl_chi(root)
    return read_sthsl_nyc(root)


def read_hagen(name: str, root: Path) -> Benchmark:
    """HAGEN benchmark ``name`` from the data folder ``root`` (module docstring)."""
    spec = _HAGEN[name]
    experiments = []
    for month in HAGEN_EXPERIMENTS:
        series, split = hagen_series(root / spec.folder / month, spec.label_shift)
        experiments.append(BenchmarkExperiment(month, series, split, None))
    n_regions = experiments[0].counts.shape[0]
    return Benchmark(
        name=name,
        title=spec.title,
        source=HAGEN_SOURCE,
        target="occurrence",
        categories=list(spec.categories),
        adjacency=hagen_adjacency(root / spec.adjacency, n_regions),
        history_days=HAGEN_HISTORY,
        horizon=1,
        metrics=("micro_f1", "macro_f1"),
        experiments=experiments,
    )


def _sthsl_benchmark(
    name: str, title: str, categories: Sequence[str], tensors: Sequence[np.ndarray], first: str
) -> Benchmark:
    series, split, grid = sthsl_series(tensors)
    if series.shape[2] != len(categories):
        raise FaseInputError(name, f"{series.shape[2]} categories, expected {len(categories)}")
    return Benchmark(
        name=name,
        title=title,
        source=STHSL_SOURCE,
        target="counts",
        categories=list(categories),
        adjacency=grid_adjacency(*grid),
        history_days=STHSL_HISTORY,
        horizon=1,
        metrics=("mae", "mape"),
        experiments=[BenchmarkExperiment("test", series, split, first)],
        grid_shape=grid,
    )


def read_sthsl_chi(root: Path) -> Benchmark:
    """STHSL CHI-Crimes from the published trn/val/tst tensors under ``root``."""
    tensors = [_grid_tensor(root / CHI_TENSORS / f"{p}.pkl") for p in ("trn", "val", "tst")]
    return _sthsl_benchmark(
        "sthsl-chi",
        "STHSL/ST-SHN CHI-Crimes 2016-2017: daily counts, 14 × 12 grid of ~3 km cells",
        CHI_CATEGORIES,
        tensors,
        "2016-01-01",
    )


def read_sthsl_nyc(root: Path) -> Benchmark:
    """STHSL NYC-Crimes: the grid rebuilt from the CSV under ``root``, checked against the
    published val/tst tensors.

    Raises:
        FaseInputError: the rebuilt val or tst part differs from the published tensor.
    """
    grid = sthsl_grid_from_csv(root / NYC_CSV, NYC_CATEGORIES, NYC_FIRST_DAY, NYC_END)
    a = (NYC_VAL_START - NYC_FIRST_DAY).days
    b = (NYC_TEST_START - NYC_FIRST_DAY).days
    for part, (lo, hi) in (("val", (a, b)), ("tst", (b, grid.shape[2]))):
        path = root / NYC_TENSORS / f"{part}.pkl"
        if not np.array_equal(grid[:, :, lo:hi], _grid_tensor(path)):
            raise FaseInputError(
                path,
                "the grid rebuilt from the incident CSV differs from this published tensor",
                "fetch the benchmark again (`fase datasets fetch sthsl-nyc`)",
            )
    return _sthsl_benchmark(
        "sthsl-nyc",
        "STHSL/ST-SHN NYC-Crimes 2014-2015: daily counts, 16 × 16 grid of ~3 km cells",
        NYC_CATEGORIES,
        [grid[:, :, :a], grid[:, :, a:b], grid[:, :, b:]],
        NYC_FIRST_DAY.isoformat(),
    )


# ---------------------------------------------------------------------------------------
# Metrics


def benchmark_scores(
    benchmark: Benchmark, truth: np.ndarray, predicted: np.ndarray
) -> dict[str, float]:
    """The published metrics of one experiment's test days.

    Args:
        benchmark: decides the family (``benchmark.target``).
        truth: (T, N, K) true values (:meth:`BenchmarkExperiment.truth`).
        predicted: (T, N, K) decisions in {0, 1} for an occurrence benchmark
            (:func:`hagen_decisions` turns scores into them as HAGEN does), predicted
            counts for a count benchmark.
    Returns:
        occurrence: ``micro_f1``, ``macro_f1`` and ``f1_k`` per category index k;
        counts: ``mae``, ``mape``, ``rmse`` and ``mae_k``, ``mape_k``, ``rmse_k``
        (module docstring for the formulas; NaN for a category without a positive cell).
    Raises:
        ValueError: shapes that differ or are not (T, N, K) with K categories; decisions
            that are not 0/1.
    """
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    k = len(benchmark.categories)
    if truth.shape != predicted.shape or truth.ndim != 3 or truth.shape[2] != k:
        raise ValueError(
            f"truth {truth.shape} and predicted {predicted.shape} must both be (T, N, {k})"
        )
    if benchmark.target == "occurrence":
        return f1_scores(truth, predicted)
    return count_errors(truth, predicted)


def f1_scores(truth: np.ndarray, decided: np.ndarray) -> dict[str, float]:
    """Micro-F1, Macro-F1 and per-category F1 of 0/1 arrays (..., K), every (day, region)
    cell pooled per category (HAGEN's ``f1_score`` on (days·regions, K))."""
    if not (np.isin(truth, (0, 1)).all() and np.isin(decided, (0, 1)).all()):
        raise ValueError("F1 needs 0/1 truth and decisions")
    axes = tuple(range(truth.ndim - 1))
    tp = (truth * decided).sum(axis=axes)
    fp = ((1 - truth) * decided).sum(axis=axes)
    fn = (truth * (1 - decided)).sum(axis=axes)
    denominator = 2 * tp + fp + fn
    per = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    total = 2 * tp.sum() + fp.sum() + fn.sum()
    scores = {
        "micro_f1": float(2 * tp.sum() / total) if total > 0 else 0.0,
        "macro_f1": float(per.mean()),
    }
    scores.update({f"f1_{i}": float(v) for i, v in enumerate(per)})
    return scores


def count_errors(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """STHSL's MAE, MAPE and RMSE of arrays (..., K) over the cells whose truth is > 0,
    per category and pooled over categories (module docstring)."""
    axes = tuple(range(truth.ndim - 1))
    mask = truth > 0
    error = np.abs(predicted - truth)
    n = mask.sum(axis=axes).astype(np.float64)
    absolute = np.where(mask, error, 0).sum(axis=axes)
    squared = np.where(mask, error**2, 0).sum(axis=axes)
    relative = np.where(mask, error / np.where(mask, truth, 1), 0).sum(axis=axes)

    def ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
        num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
        return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)

    scores = {
        "mae": float(ratio(absolute.sum(), n.sum())),
        "mape": float(ratio(relative.sum(), n.sum())),
        "rmse": float(np.sqrt(ratio(squared.sum(), n.sum()))),
    }
    for name, values in (
        ("mae", ratio(absolute, n)),
        ("mape", ratio(relative, n)),
        ("rmse", np.sqrt(ratio(squared, n))),
    ):
        scores.update({f"{name}_{i}": float(v) for i, v in enumerate(values)})
    return scores


def hagen_positive_rate(benchmark: Benchmark, experiment: BenchmarkExperiment) -> float:
    """The mean of the train and val labels (the days from ``history_days`` to the end of
    val): HAGEN's decision rate (``hagen_supervisor.py`` lines 63-66)."""
    _, end = experiment.split["val"]
    return float(experiment.counts[:, benchmark.history_days : end].mean())


def hagen_decisions(logits: np.ndarray, positive_rate: float) -> np.ndarray:
    """HAGEN's 0/1 decisions from scores (``hagen_supervisor.py`` lines 132-137).

    Args:
        logits: (T, N, K) the model's raw scores for the test days (pass log(p / (1 - p))
            for probabilities p: HAGEN applies the sigmoid itself).
        positive_rate: :func:`hagen_positive_rate`.
    Returns:
        (T, N, K) float32 0/1: sigmoid, min-max per category over the (day, region)
        cells (a constant category becomes 0), then 1 where the value is ≥ the quantile
        at 1 − ``positive_rate`` of all values (numpy's linear interpolation).
    """
    logits = np.asarray(logits, dtype=np.float64)
    flat = (1.0 / (1.0 + np.exp(-logits))).reshape(-1, logits.shape[-1])
    low = flat.min(axis=0)
    span = flat.max(axis=0) - low
    scaled = (flat - low) / np.where(span > 0, span, 1.0)
    threshold = np.quantile(scaled, 1.0 - positive_rate)
    return (scaled >= threshold).reshape(logits.shape).astype(np.float32)


def mean_scores(scores: Sequence[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over experiments (keys of the first; NaN ignored). The
    published code does not aggregate HAGEN's five experiments: this mean is our choice."""
    if not scores:
        return {}
    return {
        key: float(np.nanmean([s[key] for s in scores]))
        if any(np.isfinite(s[key]) for s in scores)
        else float("nan")
        for key in scores[0]
    }
