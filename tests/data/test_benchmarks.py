"""The published benchmarks, on tiny files written here in the published formats (HAGEN
npz windows and adjacency pickle, STHSL grid pickles, the NYPD CSV): the daily series
rebuilt from windows (Chicago's shifted labels included), splits, grids and graphs, the
NYC grid rebuilt from the CSV and checked against the published tensors, the catalog
entries, the restricted unpickler, and the published metrics on hand-computed examples."""

from __future__ import annotations

import gzip
import os
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from fase.catalog import list_datasets
from fase.config import available_datasets, load_config
from fase.config.loader import available_benchmarks, load_benchmark_config
from fase.data.benchmarks import (
    BENCHMARKS,
    CHI_CATEGORIES,
    LA_CATEGORIES,
    NYC_CATEGORIES,
    Benchmark,
    BenchmarkExperiment,
    benchmark_files,
    benchmark_scores,
    grid_adjacency,
    hagen_decisions,
    hagen_positive_rate,
    hagen_series,
    load_array_pickle,
    load_benchmark,
    mean_scores,
    sthsl_grid_from_csv,
)
from fase.errors import FaseInputError

H = 8  # HAGEN's input days


def write_windows(folder: Path, days: np.ndarray, n_train: int, n_val: int, shift: int = 0) -> None:
    """HAGEN's train/val/test npz of a (T, N, K) 0/1 series: x[i] = days[i : i+8],
    y[i] = day i+8 with its categories rolled by ``shift`` (Chicago: 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    x = np.stack([days[i : i + H] for i in range(len(days) - H)]).astype(np.float64)
    y = np.roll(days[H:], -shift, axis=-1)[:, None].astype(np.float64)
    bounds = {
        "train": (0, n_train),
        "val": (n_train, n_train + n_val),
        "test": (n_train + n_val, len(x)),
    }
    offsets = np.arange(-11, 1).reshape(-1, 1)
    for part, (lo, hi) in bounds.items():
        np.savez_compressed(
            folder / f"{part}.npz",
            x=x[lo:hi],
            y=y[lo:hi],
            x_offsets=offsets,
            y_offsets=offsets + 12,
        )


def random_days(seed: int, t: int = 20, n: int = 3, k: int = 4) -> np.ndarray:
    return (np.random.default_rng(seed).random((t, n, k)) < 0.4).astype(np.float64)


def tiny_benchmark(target: str, k: int) -> Benchmark:
    return Benchmark(
        name="tiny",
        title="tiny",
        source="tests",
        target=target,  # type: ignore[arg-type]
        categories=[f"c{i}" for i in range(k)],
        adjacency=np.eye(1),
        history_days=H,
        horizon=1,
        metrics=(),
        experiments=[],
    )


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data-root"
    folder.mkdir()
    monkeypatch.setenv("FASE_DATA_ROOT", str(folder))
    return folder


# --- HAGEN -----------------------------------------------------------------------------


def test_the_daily_series_is_rebuilt_from_the_windows_with_contiguous_splits(tmp_path) -> None:
    days = random_days(0)  # T = 20: 12 windows, 5 train / 3 val / 4 test
    write_windows(tmp_path / "8", days, n_train=5, n_val=3)
    series, split = hagen_series(tmp_path / "8")
    assert series.dtype == np.float32 and series.shape == (3, 20, 4)
    np.testing.assert_array_equal(series, days.transpose(1, 0, 2))
    assert split == {"train": (0, 13), "val": (13, 16), "test": (16, 20)}


def test_chicagos_shifted_labels_give_the_series_in_input_order(tmp_path) -> None:
    days = random_days(1)
    write_windows(tmp_path / "8", days, n_train=5, n_val=3, shift=1)
    labels = np.load(tmp_path / "8" / "train.npz")["y"][:, 0]
    np.testing.assert_array_equal(labels[..., 0], days[H : H + 5, :, 1])  # the quirk
    series, _ = hagen_series(tmp_path / "8", label_shift=1)
    np.testing.assert_array_equal(series, days.transpose(1, 0, 2))
    with pytest.raises(FaseInputError, match="not the next day"):
        hagen_series(tmp_path / "8", label_shift=0)


def test_windows_that_do_not_slide_by_one_day_are_refused(tmp_path) -> None:
    days = random_days(2)
    write_windows(tmp_path / "8", days, n_train=5, n_val=3)
    with np.load(tmp_path / "8" / "val.npz") as val:
        x, y = val["x"][::-1], val["y"][::-1]  # val days out of order
    np.savez(tmp_path / "8" / "val.npz", x=x, y=y)
    with pytest.raises(FaseInputError, match="do not slide by one day"):
        hagen_series(tmp_path / "8")


def write_hagen(root: Path, city: str, graph: str, n: int, shift: int) -> dict[str, np.ndarray]:
    series = {}
    for month, seed in zip(("8", "9", "10", "11", "12"), range(5), strict=True):
        days = random_days(10 + seed, t=22 + seed, n=n, k=8)
        write_windows(root / "hagen_crimeforecaster" / city / month, days, 6, 3, shift)
        series[month] = days
    ids = [str(i) for i in range(n)]
    adjacency = np.eye(n, dtype=np.float32)
    adjacency[0, 1] = adjacency[1, 0] = np.float32(0.25)
    graph_file = root / "hagen_crimeforecaster" / "sensor_graph" / graph
    graph_file.parent.mkdir(parents=True, exist_ok=True)
    # protocol 2, as DCRNN's Python 2 era files: array bytes go through _codecs.encode
    graph_file.write_bytes(pickle.dumps([ids, {s: i for i, s in enumerate(ids)}, adjacency], 2))
    return series


def test_a_hagen_benchmark_loads_five_experiments_and_the_published_graph(root) -> None:
    series = write_hagen(root, "CRIME-LA", "adj_mx_la.pkl", n=3, shift=0)
    bench = load_benchmark("hagen-la")
    assert (bench.target, bench.history_days, bench.horizon) == ("occurrence", 8, 1)
    assert bench.metrics == ("micro_f1", "macro_f1") and bench.categories == list(LA_CATEGORIES)
    assert [e.name for e in bench.experiments] == ["8", "9", "10", "11", "12"]
    for experiment in bench.experiments:
        days = series[experiment.name]
        np.testing.assert_array_equal(experiment.counts, days.transpose(1, 0, 2))
        assert experiment.split == {"train": (0, 14), "val": (14, 17), "test": (17, len(days))}
        assert experiment.first_day is None
        np.testing.assert_array_equal(experiment.truth("test"), days[17:])
    expected = np.eye(3)
    expected[0, 1] = expected[1, 0] = 0.25
    assert bench.adjacency.dtype == np.float64
    np.testing.assert_array_equal(bench.adjacency, expected)
    assert bench.target_days(bench.experiments[0], "train") == range(8, 14)
    assert bench.target_days(bench.experiments[0], "val") == range(14, 17)


def test_the_chicago_benchmark_undoes_the_label_shift(root) -> None:
    series = write_hagen(root, "CRIME-CHICAGO", "adj_mx_chicago.pkl", n=2, shift=1)
    bench = load_benchmark("hagen-chicago")
    assert bench.categories == [f"category {k}" for k in range(1, 9)]
    np.testing.assert_array_equal(bench.experiments[2].counts, series["10"].transpose(1, 0, 2))


def test_a_benchmark_not_fetched_names_the_fetch_command(root) -> None:
    write_hagen(root, "CRIME-LA", "adj_mx_la.pkl", n=3, shift=0)
    (root / "hagen_crimeforecaster" / "CRIME-LA" / "11" / "val.npz").unlink()
    with pytest.raises(FaseInputError) as caught:
        load_benchmark("hagen-la")
    assert caught.value.source == "hagen_crimeforecaster/CRIME-LA/11/val.npz"
    assert "benchmark 'hagen-la' has not been fetched" in caught.value.problem
    assert "fase datasets fetch hagen-la" in (caught.value.hint or "")
    with pytest.raises(FaseInputError, match="unknown benchmark"):
        load_benchmark("hagen-paris")


# --- STHSL -----------------------------------------------------------------------------


def write_pickle(path: Path, value: object, protocol: int = 4) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value, protocol))


def test_the_sthsl_grid_tensors_become_one_series_of_cells(root) -> None:
    rng = np.random.default_rng(5)
    parts = {
        p: rng.poisson(1.0, (2, 3, d, 4)).astype(np.float64)
        for p, d in [("trn", 40), ("val", 5), ("tst", 6)]
    }
    for part, tensor in parts.items():
        write_pickle(root / "chicago_crime_sthsl" / "sthsl_tensors" / f"{part}.pkl", tensor)
    bench = load_benchmark("sthsl-chi")
    assert (bench.target, bench.history_days, bench.metrics) == ("counts", 30, ("mae", "mape"))
    assert bench.categories == list(CHI_CATEGORIES) and bench.grid_shape == (2, 3)
    (experiment,) = bench.experiments
    assert experiment.counts.shape == (6, 51, 4) and experiment.first_day == "2016-01-01"
    assert experiment.split == {"train": (0, 40), "val": (40, 45), "test": (45, 51)}
    assert experiment.counts[1 * 3 + 2, 41, 3] == parts["val"][1, 2, 1, 3]  # cell (1, 2)
    np.testing.assert_array_equal(
        experiment.truth("test"), parts["tst"].reshape(6, 6, 4).transpose(1, 0, 2)
    )
    assert bench.target_days(experiment, "train") == range(30, 40)


def test_the_grid_graph_is_queen_contiguity_with_self_loops() -> None:
    # 2 x 3 grid: 0 1 2 / 3 4 5
    expected = np.array(
        [
            [1, 1, 0, 1, 1, 0],
            [1, 1, 1, 1, 1, 1],
            [0, 1, 1, 0, 1, 1],
            [1, 1, 0, 1, 1, 0],
            [1, 1, 1, 1, 1, 1],
            [0, 1, 1, 0, 1, 1],
        ],
        dtype=np.float64,
    )
    np.testing.assert_array_equal(grid_adjacency(2, 3), expected)


NYPD_HEADER = "Occurrence Date,Day of Week,Offense,Sector,Precinct,Latitude,Longitude\n"
NYPD_ROWS = [  # (date, offense, lat, lon) → (row, col, day, category)
    ("01/01/2014 12:30:00 AM", "BURGLARY", 40.50, -74.25),  # (0, 0, 0, 0)
    ("09/01/2015 11:59:00 PM", "ROBBERY", 40.53, -74.21),  # (1, 1, 608, 2)
    ("10/01/2015 01:00:00 PM", "FELONY ASSAULT", 40.56, -74.25),  # (2, 0, 638, 3)
    ("12/31/2015 10:00:00 PM", "GRAND LARCENY", 40.56, -74.21),  # (2, 1, 729, 1)
    ("12/31/2015 10:05:00 PM", "GRAND LARCENY", 40.56, -74.21),  # (2, 1, 729, 1)
]


def nypd_csv(rows: list[tuple[str, str, float, float]]) -> str:
    return NYPD_HEADER + "".join(f"{d},Monday,{o},A,1,{lat},{lon}\n" for d, o, lat, lon in rows)


def expected_nyc_grid() -> np.ndarray:
    grid = np.zeros((3, 2, 730, 4))  # rows int(0.06·37)+1 = 3, cols int(0.04·28)+1 = 2
    for index in [(0, 0, 0, 0), (1, 1, 608, 2), (2, 0, 638, 3)]:
        grid[index] = 1
    grid[2, 1, 729, 1] = 2
    return grid


def test_the_nyc_grid_is_rebuilt_from_the_csv_with_the_published_rule(tmp_path) -> None:
    path = tmp_path / "nyc.csv"
    path.write_text(nypd_csv(NYPD_ROWS))
    grid = sthsl_grid_from_csv(
        path, NYC_CATEGORIES, pd.Timestamp("2014-01-01").date(), pd.Timestamp("2016-01-01").date()
    )
    np.testing.assert_array_equal(grid, expected_nyc_grid())
    path.write_text(nypd_csv([*NYPD_ROWS, ("03/01/2016 01:00:00 PM", "ROBBERY", 40.5, -74.25)]))
    with pytest.raises(FaseInputError, match="outside 2014-01-01"):
        sthsl_grid_from_csv(
            path,
            NYC_CATEGORIES,
            pd.Timestamp("2014-01-01").date(),
            pd.Timestamp("2016-01-01").date(),
        )


def write_nyc(root: Path, val: np.ndarray, tst: np.ndarray) -> None:
    csv = root / "nyc_crime_sthsl" / "NYC_Crime.csv.gz"
    csv.parent.mkdir(parents=True, exist_ok=True)
    csv.write_bytes(gzip.compress(nypd_csv(NYPD_ROWS).encode()))
    write_pickle(root / "nyc_crime_sthsl" / "sthsl_tensors" / "val.pkl", val, 3)
    write_pickle(root / "nyc_crime_sthsl" / "sthsl_tensors" / "tst.pkl", tst, 3)


def test_the_nyc_benchmark_is_checked_against_the_published_tensors(root) -> None:
    grid = expected_nyc_grid()
    write_nyc(root, grid[:, :, 608:638], grid[:, :, 638:])
    bench = load_benchmark("sthsl-nyc")
    (experiment,) = bench.experiments
    assert bench.categories == list(NYC_CATEGORIES) and bench.grid_shape == (3, 2)
    assert experiment.split == {"train": (0, 608), "val": (608, 638), "test": (638, 730)}
    assert experiment.first_day == "2014-01-01"
    np.testing.assert_array_equal(experiment.counts, grid.reshape(6, 730, 4))
    wrong = grid[:, :, 638:].copy()
    wrong[0, 0, 5, 0] += 1
    write_nyc(root, grid[:, :, 608:638], wrong)
    with pytest.raises(FaseInputError, match="differs from this published tensor"):
        load_benchmark("sthsl-nyc")


# --- Safe unpickling -------------------------------------------------------------------


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_the_restricted_unpickler_reads_arrays_and_refuses_code(tmp_path) -> None:
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    for protocol in (2, 3, 5):
        write_pickle(tmp_path / "ok.pkl", [["0"], {"0": 0}, array], protocol)
        ids, index, loaded = load_array_pickle(tmp_path / "ok.pkl")  # type: ignore[misc]
        assert (ids, index) == (["0"], {"0": 0})
        np.testing.assert_array_equal(loaded, array)
    marker = tmp_path / "executed"
    write_pickle(tmp_path / "evil.pkl", Payload(marker))
    with pytest.raises(FaseInputError, match=r"global (posix|os|nt)\.system is not allowed"):
        load_array_pickle(tmp_path / "evil.pkl")
    assert not marker.exists()
    write_pickle(tmp_path / "eval.pkl", [array, eval])
    with pytest.raises(FaseInputError, match=r"builtins\.eval is not allowed"):
        load_array_pickle(tmp_path / "eval.pkl")


# --- Metrics ---------------------------------------------------------------------------


def test_f1_pools_days_and_regions_per_category() -> None:
    # category 0: truth 1 0, decided 1 1 → TP 1, FP 1, FN 0 → F1 = 2/3
    # category 1: truth 1 1, decided 0 0 → TP 0, FN 2 → F1 = 0
    truth = np.array([[[1, 1]], [[0, 1]]])
    decided = np.array([[[1, 0]], [[1, 0]]])
    scores = benchmark_scores(tiny_benchmark("occurrence", 2), truth, decided)
    assert scores["f1_0"] == pytest.approx(2 / 3) and scores["f1_1"] == 0.0
    assert scores["macro_f1"] == pytest.approx(1 / 3)
    assert scores["micro_f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 2))  # 0.4
    with pytest.raises(ValueError, match="0/1"):
        benchmark_scores(tiny_benchmark("occurrence", 2), truth, decided * 0.5)


def test_f1_equals_hagens_scikit_learn_call() -> None:
    rng = np.random.default_rng(7)
    truth = (rng.random((9, 5, 8)) < 0.3).astype(float)
    decided = (rng.random((9, 5, 8)) < 0.35).astype(float)
    truth[..., 6] = decided[..., 6] = 0  # a category never seen nor predicted: F1 0
    scores = benchmark_scores(tiny_benchmark("occurrence", 8), truth, decided)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("micro", "macro"):
            reference = f1_score(truth.reshape(-1, 8), decided.reshape(-1, 8), average=average)
            assert scores[f"{average}_f1"] == pytest.approx(reference)


def test_mae_and_mape_count_only_cells_with_crimes() -> None:
    # (T=1, N=2, K=3); truth > 0 at (region 1, cat 0) y=4 p=1 and (region 0, cat 1) y=2 p=3;
    # the zero-truth cells (errors 1, 5, 7 and 9) do not count; category 2 has none.
    truth = np.array([[[0, 2, 0], [4, 0, 0]]], dtype=float)
    predicted = np.array([[[1, 3, 7], [1, 5, 9]]], dtype=float)
    scores = benchmark_scores(tiny_benchmark("counts", 3), truth, predicted)
    assert (scores["mae_0"], scores["mae_1"]) == (3.0, 1.0)
    assert (scores["mape_0"], scores["mape_1"]) == (0.75, 0.5)
    assert np.isnan(scores["mae_2"]) and np.isnan(scores["mape_2"])
    assert scores["mae"] == 2.0 and scores["mape"] == 0.625
    assert scores["rmse"] == pytest.approx(np.sqrt(5.0))
    with pytest.raises(ValueError, match=r"\(T, N, 3\)"):
        benchmark_scores(tiny_benchmark("counts", 3), truth[0], predicted[0])


def test_hagen_decisions_scale_per_category_and_cut_at_the_base_rate() -> None:
    # category 0: sigmoid(0), sigmoid(2) → min-max 0, 1; category 1 constant → 0, 0.
    # quantile 0.75 of [0, 0, 0, 1] (linear) = 0.25: only (day 1, category 0) is ≥ it.
    logits = np.array([[[0.0, -1.0]], [[2.0, -1.0]]])
    decided = hagen_decisions(logits, positive_rate=0.25)
    np.testing.assert_array_equal(decided, [[[0, 0]], [[1, 0]]])
    counts = np.zeros((2, 12, 2), dtype=np.float32)  # N=2, T=12, K=2
    counts[0, 8, 0] = counts[1, 9, 1] = 1  # train/val label days 8..9; day 2 (input) ignored
    counts[0, 2, 0] = counts[0, 11, 1] = 1  # day 11 is test
    experiment = BenchmarkExperiment(
        "8", counts, {"train": (0, 9), "val": (9, 10), "test": (10, 12)}, None
    )
    assert hagen_positive_rate(tiny_benchmark("occurrence", 2), experiment) == pytest.approx(2 / 8)


def test_mean_scores_average_the_experiments() -> None:
    mean = mean_scores([{"macro_f1": 0.5, "mae_2": float("nan")}, {"macro_f1": 0.7, "mae_2": 1.0}])
    assert mean["macro_f1"] == pytest.approx(0.6) and mean["mae_2"] == 1.0


# --- Catalog ---------------------------------------------------------------------------


def test_the_catalog_lists_exactly_the_files_each_benchmark_reads(root) -> None:
    assert available_benchmarks() == sorted(BENCHMARKS)
    assert not set(BENCHMARKS) & set(available_datasets())
    sha_of_path: dict[str, str] = {}
    for name in BENCHMARKS:
        config = load_benchmark_config(name)
        assert config.name == name and config.kind == "benchmark"
        assert sorted(f.path for f in config.files) == sorted(benchmark_files(name))
        for file in config.files:
            assert re.search(r"/[0-9a-f]{40}/", file.url), file.url  # pinned to a commit
            assert sha_of_path.setdefault(file.path, file.sha256) == file.sha256
    nyc_csv = next(
        f for f in load_config(dataset="nyc").dataset.files if f.path.endswith(".csv.gz")
    )
    assert (
        sha_of_path["nyc_crime_sthsl/NYC_Crime.csv.gz"] == nyc_csv.sha256
    )  # one file, one checksum
    listed = {info.name: info for info in list_datasets()}
    assert listed["hagen-la"].status == "to fetch (16 of 16 files)"
    assert listed["sthsl-nyc"].resolution == "daily"
    with pytest.raises(FaseInputError, match="published benchmark") as caught:
        load_config(dataset="sthsl-chi")
    assert "fase compare --benchmark sthsl-chi" in (caught.value.hint or "")
