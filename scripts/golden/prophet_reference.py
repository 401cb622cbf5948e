"""Reference fits and forecasts of Prophet 1.5.0 for DriftlineForecast's `prophet` model (run once,
in a throwaway venv):

    python3 -m venv /tmp/pvenv && /tmp/pvenv/bin/pip install prophet==1.5.0 statsmodels statsforecast
    /tmp/pvenv/bin/python scripts/golden/prophet_reference.py [--driftline .build/release/driftline]

Writes Tests/DriftlineForecastTests/Golden/prophet_reference.json: for each series (public ones
shipped with statsforecast and statsmodels, with their dates, and simulated ones with a fixed seed
and known trend changes and seasonalities), the times (days since 1970-01-01), values, horizon and
future times, Prophet's forecast with 80% and 95% intervals (defaults, 1000 samples), its fitted
parameters on the scaled axes (k, m, deltas, sigma_obs, betas), its changepoints, and the MASE of its
forecast on the held-out tail. With --driftline, the same binary's `bench prophet` fits the same
series in the same run and both fit times are printed side by side.
"""
import argparse
import json
import logging
import pathlib
import subprocess
import time

import numpy as np
import pandas as pd
import statsmodels.datasets as datasets
from prophet import Prophet
from statsforecast.utils import AirPassengers

logging.getLogger("cmdstanpy").setLevel(logging.ERROR)
logging.getLogger("prophet").setLevel(logging.ERROR)

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/DriftlineForecastTests/Golden/prophet_reference.json"


def mase(forecast, actual, training, season):
    m = max(1, season)
    scale = np.mean(np.abs(training[m:] - training[:-m]))
    return float(np.mean(np.abs(np.asarray(forecast) - actual)) / scale)


def series():
    """(name, dates, values, season for MASE, horizon, future frequency)."""
    yield "air_passengers", pd.date_range("1949-01-01", periods=144, freq="MS"), np.asarray(AirPassengers, dtype=float), 12, 12
    co2 = datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate().iloc[-240:]
    yield "co2_monthly", co2.index, co2.values.astype(float), 12, 24
    macro = datasets.macrodata.load_pandas().data
    quarters = pd.date_range("1959-01-01", periods=len(macro), freq="QS")
    yield "us_unemployment", quarters, macro["unemp"].values.astype(float), 4, 8
    nile = datasets.nile.load_pandas().data
    yield "nile", pd.to_datetime(nile["year"].astype(int).astype(str) + "-01-01"), nile["volume"].values.astype(float), 1, 10
    rng = np.random.default_rng(20261202)
    # Daily, three years: a trend that bends at two dates, weekly and yearly cycles, noise.
    days = pd.date_range("2021-01-04", periods=3 * 365, freq="D")
    t = np.arange(len(days), dtype=float)
    trend = 100 + 0.05 * t + np.where(t > 400, 0.08 * (t - 400), 0) - np.where(t > 800, 0.2 * (t - 800), 0)
    weekly = 4 * np.sin(2 * np.pi * t / 7) + 2 * np.cos(2 * np.pi * t / 7)
    yearly = 10 * np.sin(2 * np.pi * t / 365.25 + 0.5)
    yield "simulated_daily", days, trend + weekly + yearly + rng.normal(0, 2, len(t)), 7, 60
    # Hourly, six weeks: daily and weekly cycles on a rising level.
    hours = pd.date_range("2026-03-02", periods=6 * 7 * 24, freq="h")
    t = np.arange(len(hours), dtype=float)
    level = 50 + 0.01 * t + 6 * np.sin(2 * np.pi * t / 24) + 3 * np.sin(2 * np.pi * t / 168)
    yield "simulated_hourly", hours, level + rng.normal(0, 1, len(t)), 24, 48
    # A presence share that rises then levels (what a field's presence series looks like), daily.
    days = pd.date_range("2026-01-01", periods=200, freq="D")
    t = np.arange(len(days), dtype=float)
    share = 0.2 + 0.6 / (1 + np.exp(-(t - 90) / 15))
    yield "simulated_presence", days, share + rng.normal(0, 0.01, len(t)), 1, 20


def days_since_epoch(index):
    return [float((pd.Timestamp(d) - pd.Timestamp("1970-01-01")).total_seconds() / 86400) for d in index]


def fit_prophet(frame):
    model = Prophet(uncertainty_samples=1000)
    start = time.perf_counter()
    model.fit(frame)
    return model, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--driftline", help="a driftline binary to time on the same series")
    args = parser.parse_args()
    out = []
    for name, dates, values, season, horizon in series():
        dates = pd.DatetimeIndex(dates)
        training = pd.DataFrame({"ds": dates[:-horizon], "y": values[:-horizon]})
        future = pd.DataFrame({"ds": dates[-horizon:]})
        fits = [fit_prophet(training) for _ in range(3)]
        model, seconds = fits[0][0], float(np.median([s for _, s in fits]))
        np.random.seed(0)
        predicted = model.predict(future)
        model.interval_width = 0.95
        np.random.seed(1)
        wide = model.predict(future)
        params = {key: np.asarray(value).reshape(-1).tolist() for key, value in model.params.items() if key in ("k", "m", "delta", "sigma_obs", "beta")}
        row = {
            "name": name,
            "season": season,
            "horizon": horizon,
            "times": days_since_epoch(dates),
            "values": [round(float(v), 6) for v in values],
            "yhat": predicted["yhat"].round(6).tolist(),
            "lower_80": predicted["yhat_lower"].round(6).tolist(),
            "upper_80": predicted["yhat_upper"].round(6).tolist(),
            "lower_95": wide["yhat_lower"].round(6).tolist(),
            "upper_95": wide["yhat_upper"].round(6).tolist(),
            "k": params["k"][0],
            "m": params["m"][0],
            "sigma_obs": params["sigma_obs"][0],
            "delta": params["delta"],
            "beta": params["beta"],
            "changepoints_t": np.asarray(model.changepoints_t).tolist(),
            "y_scale": float(model.y_scale),
            "seasonalities": {key: value["fourier_order"] for key, value in model.seasonalities.items()},
            "prophet_mase": round(mase(predicted["yhat"].values, values[-horizon:], values[:-horizon], season), 6),
            "prophet_fit_seconds": round(seconds, 4),
        }
        print(f"{name:20s} n={len(values):5d} h={horizon:3d} seasonalities={row['seasonalities']} MASE {row['prophet_mase']:.3f} fit {seconds * 1000:.0f} ms")
        out.append(row)
    OUT.write_text(json.dumps(out) + "\n")
    if args.driftline:
        # The same series fitted by Driftline's model, in this run: fit times side by side.
        result = subprocess.run([args.driftline, "bench", "prophet", "--golden", str(OUT)], capture_output=True, text=True, check=True)
        ours = {line.split()[0]: float(line.split()[1]) for line in result.stdout.splitlines() if len(line.split()) == 2}
        print(f"{'series':20s} {'Prophet 1.5.0':>14s} {'driftline':>10s}")
        for row in out:
            print(f"{row['name']:20s} {row['prophet_fit_seconds'] * 1000:11.1f} ms {ours.get(row['name'], float('nan')) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
