#!/usr/bin/env python3
"""ruptures, untuned, on Driftline's change-point evaluation suite, scored with an independent F1 and covering.

Regenerate (in a throwaway venv with `pip install ruptures numpy`):
  .build/debug/driftline bench changes --write-series /tmp/changepoint-series.json
  python scripts/golden/change_points_evaluation.py /tmp/changepoint-series.json \
      > Tests/DriftlineDriftTests/Golden/change_points_evaluation.json
"Untuned" as a user would run it: the series z-scored, model "l2", penalty log n, min_size 2, jump 1.
F1 (5-point margin, the series start counted as a change point) and covering follow van den Burg &
Williams (2020), written here from the paper, not from Driftline's code: the test checks that both
give the same scores for ruptures' answers, and that Driftline's defaults score higher.
"""
import json
import math
import sys

import numpy as np
import ruptures


def f1(marked, found, margin=5):
    truth = sorted(set([0] + list(marked)))
    predicted = sorted(set([0] + list(found)))
    used = set()
    hits = 0
    for p in predicted:
        for t in truth:
            if abs(t - p) <= margin and t not in used:
                used.add(t)
                hits += 1
                break
    precision = hits / len(predicted)
    recall = hits / len(truth)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def covering(marked, found, n):
    def segments(points):
        bounds = sorted(set([0] + [p for p in points if 0 < p < n] + [n]))
        return [set(range(a, b)) for a, b in zip(bounds, bounds[1:])]
    truth, predicted = segments(marked), segments(found)
    total = 0.0
    for a in truth:
        total += len(a) * max(len(a & b) / len(a | b) for b in predicted)
    return total / n


def untuned(algo, values):
    x = np.asarray(values, dtype=float)
    deviation = x.std()
    x = (x - x.mean()) / (deviation if deviation > 0 else 1.0)
    ends = algo(model="l2", min_size=2, jump=1).fit(x).predict(pen=math.log(len(values)))
    return [e for e in ends if e < len(values)]


suite = json.load(open(sys.argv[1]))
cases = []
scores = {}
for name, algo in [("pelt", ruptures.Pelt), ("binseg", ruptures.Binseg)]:
    f, c = 0.0, 0.0
    for index, series in enumerate(suite):
        found = untuned(algo, series["values"])
        if name == "pelt":
            cases.append({"name": series["name"], "values": series["values"], "changes": series["changes"]})
        cases[index][name] = found
        f += f1(series["changes"], found)
        c += covering(series["changes"], found, len(series["values"]))
    scores[name] = {"f1": f / len(suite), "cover": c / len(suite)}
print(json.dumps({"generator": "scripts/golden/change_points_evaluation.py", "ruptures": ruptures.__version__,
                  "scores": scores, "cases": cases}))
