#!/usr/bin/env python3
"""Reference change points from River (Page-Hinkley, ADWIN) and ruptures (PELT, binary segmentation).

Regenerate (in a throwaway venv with `pip install river ruptures`):
  python scripts/golden/change_points.py > Tests/DriftlineDriftTests/Golden/change_points.json
ruptures runs on the series divided by Driftline's robust noise scale with Driftline's BIC penalty
(2 log n), min_size=2 and jump=1, which is the problem Driftline's `mean` model solves.
"""
import json
import math
import random

import numpy as np
import ruptures
from river import drift


def noise_variance(x):
    if len(x) <= 2:
        return 1.0
    d = sorted(abs(a - b) for a, b in zip(x[1:], x[:-1]))
    sigma = d[len(d) // 2] / 0.6745 / math.sqrt(2)
    if sigma > 0:
        return sigma * sigma
    v = float(np.var(x))
    return v if v > 0 else 1.0


def online(detector, series):
    found = []
    for i, x in enumerate(series):
        detector.update(x)
        if detector.drift_detected:
            found.append(i)
    return found


def offline(algo, series):
    x = np.asarray(series) / math.sqrt(noise_variance(series))
    pen = 2 * math.log(max(len(series), 2))
    ends = algo(model="l2", min_size=2, jump=1).fit(x).predict(pen=pen)
    return [e for e in ends if e < len(series)]


rng = random.Random(20261125)
series = {
    "level shift": [rng.gauss(0, 1) for _ in range(300)] + [rng.gauss(2, 1) for _ in range(300)],
    "two shifts": [rng.gauss(10, 1) for _ in range(200)] + [rng.gauss(13, 1) for _ in range(150)] + [rng.gauss(9, 1) for _ in range(250)],
    "binary to higher": rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000),
    "stable": [rng.gauss(5, 2) for _ in range(800)],
    "slow drift": [rng.gauss(i / 400, 1) for i in range(1200)],
}
cases = []
for name, values in series.items():
    values = [round(v, 6) for v in values]
    cases.append({
        "name": name,
        "series": values,
        "pagehinkley": online(drift.PageHinkley(), values),
        "adwin": online(drift.ADWIN(), values),
        "pelt": offline(ruptures.Pelt, values),
        "binseg": offline(ruptures.Binseg, values),
    })
print(json.dumps({"generator": "scripts/golden/change_points.py", "cases": cases}))
