"""The hard cases of issue 24 (c16-c24 in README.md): small invented tables of the kinds that broke tabdiff.

Run from the repository root: python tests/cases/make_issue24_cases.py (seeded: the same files every run).
"""
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(24)
    n = 200
    # c16: categorical columns only (blood type and rhesus-free group, 8 levels; a second column for the pairs)
    blood = rng.choice(["O+", "A+", "B+", "AB+", "O-", "A-", "B-", "AB-"], n,
                       p=[0.37, 0.31, 0.09, 0.03, 0.07, 0.07, 0.04, 0.02])
    pd.DataFrame({"blood_type": blood, "donor": rng.choice(["yes", "no"], n, p=[0.3, 0.7])}).to_csv(
        OUT / "c16_categorical_only.csv", index=False)
    # c17: daily rain, 89 % exact zeros, a heavy tail (non-zero median 2.4 mm, p90 about 6 mm, max 36 mm)
    wet = np.round(np.sort(rng.lognormal(np.log(2.4), 0.8, 22)), 1)
    wet[-1] = 36.0
    rain = np.zeros(n)
    rain[rng.choice(n, 22, replace=False)] = rng.permutation(wet)
    pd.DataFrame({"rain_mm": rain, "temp_c": np.round(rng.normal(12, 6, n), 1)}).to_csv(
        OUT / "c17_zero_inflated_rain.csv", index=False)
    # c18: zip codes with leading zeros
    zips = rng.choice(["02134", "00501", "10001", "02139", "94105", "06830"], 150)
    pd.DataFrame({"zip": zips, "rent": np.round(rng.normal(1800, 300, 150))}).to_csv(OUT / "c18_zip_codes.csv",
                                                                                       index=False)
    # c19: one row per year, GDP following a trend
    year = np.arange(1948, 2024)
    gdp = np.round(np.exp((year - 1948) * 0.03) * 100 * rng.lognormal(0, 0.03, len(year)), 2)
    pd.DataFrame({"year": year, "gdp": gdp}).to_csv(OUT / "c19_yearly_series.csv", index=False)
    # c20: amounts written as text: US dollars, a German Excel export, a unit
    amount = rng.lognormal(6.5, 1.0, 120)
    pd.DataFrame({
        "order_total": [f"${a:,.2f}" for a in amount],
        "netto_eur": [f"{a:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".") for a in amount / 1.19],
        "weight": [f"{w:.1f} kg" for w in rng.gamma(2.0, 1.5, 120)],
        "row": rng.permutation(120) + 1,
    }).to_csv(OUT / "c20_amounts_as_text.csv", index=False)
    # c21: two levels never seen together (North has no premium tier)
    n = 300
    region = rng.choice(["North", "South", "East"], n)
    tier = np.where(region == "North", rng.choice(["basic", "plus"], n), rng.choice(["basic", "plus", "premium"], n))
    price = np.select([tier == "premium", tier == "plus"], [100.0, 50.0], 20.0) + rng.normal(0, 3, n)
    pd.DataFrame({"region": region, "tier": tier, "price": price.round(2)}).to_csv(
        OUT / "c21_unseen_combination.csv", index=False)
    # c22: extreme magnitudes
    pd.DataFrame({"mass_kg": rng.lognormal(0, 0.5, 100) * 1e24, "charge": rng.normal(1.0, 0.02, 100) * 1e-10,
                  "x": np.round(rng.normal(0, 1, 100), 3)}).to_csv(OUT / "c22_extreme_magnitudes.csv", index=False)
    # c23: wide numeric table from a 5-factor model (300 rows x 120 columns)
    rows, cols, factors = 300, 120, 5
    scores = rng.normal(size=(rows, factors))
    group = np.arange(cols) % factors
    loading = rng.uniform(0.7, 0.9, cols)
    x = scores[:, group] * loading + rng.normal(size=(rows, cols)) * np.sqrt(1 - loading**2)
    pd.DataFrame(np.round(x, 3), columns=[f"s{j:03d}" for j in range(cols)]).to_csv(
        OUT / "c23_wide_factor_model.csv", index=False)


if __name__ == "__main__":
    main()
