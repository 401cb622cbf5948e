"""Reference forecasts for the forecasting validation (run once, in a throwaway venv):

    python3 -m venv /tmp/sfvenv && /tmp/sfvenv/bin/pip install statsforecast
    /tmp/sfvenv/bin/python scripts/golden/forecast_reference.py

Writes Tests/DriftlineForecastTests/Golden/forecast_reference.json: for each public series (those
shipped with statsforecast and statsmodels, plus two simulated with a fixed seed), the values, the
season, the held-out horizon, and the MASE of statsforecast's AutoARIMA and AutoETS on that tail.
"""
import json
import pathlib

import numpy as np
import statsmodels.datasets as datasets
from statsforecast.models import AutoARIMA, AutoETS
from statsforecast.utils import AirPassengers


def mase(forecast, actual, training, season):
    m = max(1, season)
    scale = np.mean(np.abs(training[m:] - training[:-m]))
    return float(np.mean(np.abs(np.asarray(forecast) - actual)) / scale)


def series():
    yield "air_passengers", np.asarray(AirPassengers, dtype=float), 12, 12
    co2 = datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    yield "co2_monthly", co2.values[-240:].astype(float), 12, 24
    yield "nile", datasets.nile.load_pandas().data["volume"].values.astype(float), 1, 10
    yield "sunspots", datasets.sunspots.load_pandas().data["SUNACTIVITY"].values.astype(float), 1, 20
    macro = datasets.macrodata.load_pandas().data
    yield "us_unemployment", macro["unemp"].values.astype(float), 4, 8
    yield "us_cpi_inflation", macro["infl"].values.astype(float), 4, 8
    rng = np.random.default_rng(20261126)
    t = np.arange(300)
    yield "simulated_trend_season", 50 + 0.2 * t + 8 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1.5, 300), 24, 24
    noise = rng.normal(0, 1, 400)
    ar = np.zeros(400)
    for i in range(1, 400):
        ar[i] = 0.7 * ar[i - 1] + noise[i] + 0.3 * noise[i - 1]
    yield "simulated_arma11", 10 + ar, 1, 20


def main():
    out = []
    for name, values, season, horizon in series():
        training, actual = values[:-horizon], values[-horizon:]
        row = {"name": name, "season": season, "horizon": horizon, "values": [round(float(v), 6) for v in values]}
        for label, model in [("auto_arima", AutoARIMA(season_length=season)), ("auto_ets", AutoETS(season_length=season))]:
            forecast = model.fit(training).predict(h=horizon)["mean"]
            row[label + "_mase"] = round(mase(forecast, actual, training, season), 6)
        print(f"{name:24s} n={len(values):4d} m={season:2d} h={horizon:2d}  AutoARIMA {row['auto_arima_mase']:.3f}  AutoETS {row['auto_ets_mase']:.3f}")
        out.append(row)
    path = pathlib.Path(__file__).resolve().parents[2] / "Tests/DriftlineForecastTests/Golden/forecast_reference.json"
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
