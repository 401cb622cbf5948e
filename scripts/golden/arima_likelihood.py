"""Exact ARIMA likelihoods for the forecasting tests (run once, in the venv of forecast_reference.py):

    /tmp/sfvenv/bin/python scripts/golden/arima_likelihood.py

Fits a few seasonal ARIMA orders to the CO2 training series (forecast_reference.json's co2_monthly
without its 24 held-out values) by exact maximum likelihood with statsmodels' SARIMAX, and records the
AICc, the coefficients and the forecasts. Writes Tests/DriftlineForecastTests/Golden/arima_likelihood.json.
"""
import json
import pathlib
import warnings

import numpy as np
from statsmodels.tsa.statespace.sarimax import SARIMAX

ROOT = pathlib.Path(__file__).resolve().parents[2]
ORDERS = [((0, 1, 1), (0, 1, 1, 12), "n"), ((1, 0, 0), (0, 1, 1, 12), "c"), ((4, 0, 0), (1, 1, 0, 12), "c"), ((2, 1, 0), (1, 1, 1, 12), "n")]


def main():
    warnings.filterwarnings("ignore")
    references = json.loads((ROOT / "Tests/DriftlineForecastTests/Golden/forecast_reference.json").read_text())
    co2 = next(r for r in references if r["name"] == "co2_monthly")
    training = np.asarray(co2["values"][:-co2["horizon"]])
    out = []
    for order, seasonal, trend in ORDERS:
        fit = SARIMAX(training, order=order, seasonal_order=seasonal, trend=trend).fit(disp=False, maxiter=500)
        row = {"p": order[0], "d": order[1], "q": order[2], "P": seasonal[0], "D": seasonal[1], "Q": seasonal[2],
               "season": seasonal[3], "constant": trend == "c", "aicc": round(float(fit.aicc), 4),
               "parameters": {name: round(float(value), 6) for name, value in zip(fit.model.param_names, fit.params)},
               "forecast": [round(float(v), 6) for v in fit.forecast(24)]}
        print(order, seasonal, trend, f"aicc {row['aicc']:.3f}")
        out.append(row)
    path = ROOT / "Tests/DriftlineForecastTests/Golden/arima_likelihood.json"
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
