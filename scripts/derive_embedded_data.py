"""Rebuild the data files that ship inside the package because they exist only as our
derivation of public sources (each folder's PROVENANCE.md says what and why).

    python scripts/derive_embedded_data.py SOURCES

SOURCES is a folder holding the source files under the relative paths below (the layout
of the data folder). Writes, deterministically (gzip without a timestamp):

* ``src/fase/embedded/baltimore/part1_2016_2020_geocoded.csv.gz`` — the six columns the
  reader uses of our block-geocoded BPD Part-1 records;
* ``src/fase/embedded/nyc/nta_acs2008_12.geojson.gz`` — the NYC NTA polygons (GeoDa's
  shapefile converted to GeoJSON) with the ten attributes the dataset uses;
* ``src/fase/embedded/la-westla/ca_zcta_acs2013.csv`` — the California rows of the
  all-US ZCTA ACS 2009–13 table (choroplethrZip's ``df_zip_demographics``).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import pandas as pd

EMBEDDED = Path(__file__).resolve().parents[1] / "src" / "fase" / "embedded"
BALTIMORE = "baltimore_part1_geocoded/part1_2016_2020_geocoded.csv.gz"
BALTIMORE_COLUMNS = ["date", "lat", "lon", "Descriptio", "CrimeCode", "geocode_quality"]
NYC = "nyc_geo/nyc_nta_acs2008_12_geodaData.geojson"
NYC_ATTRIBUTES = [
    "ntacode", "ntaname", "boroname", "poptot", "european", "african", "hispanic", "asian",
    "medianinco", "poor",
]  # fmt: skip
US_ZCTA_ACS = "zcta/us_all_zcta_acs2013_5yr_demographics_choroplethrZip.csv.gz"
CALIFORNIA = ("90", "91", "92", "93", "94", "95", "960", "961")  # ZCTA prefixes of CA


def write_gzip(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        packed.write(payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", type=Path)
    root = parser.parse_args().sources

    records = pd.read_csv(root / BALTIMORE, dtype=str, keep_default_na=False)
    write_gzip(
        EMBEDDED / "baltimore" / "part1_2016_2020_geocoded.csv.gz",
        records[BALTIMORE_COLUMNS].to_csv(index=False).encode(),
    )

    collection = json.loads((root / NYC).read_text(encoding="utf-8"))
    for feature in collection["features"]:
        feature["properties"] = {k: feature["properties"][k] for k in NYC_ATTRIBUTES}
    write_gzip(
        EMBEDDED / "nyc" / "nta_acs2008_12.geojson.gz",
        json.dumps(collection, separators=(",", ":")).encode(),
    )

    acs = pd.read_csv(root / US_ZCTA_ACS, dtype={"region": str})
    california = acs[acs["region"].str.startswith(CALIFORNIA)]
    out = EMBEDDED / "la-westla" / "ca_zcta_acs2013.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    california.to_csv(out, index=False)


if __name__ == "__main__":
    main()
