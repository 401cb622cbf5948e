#!/usr/bin/env python3
"""Checks that every metric the alerting rules and the Grafana dashboard query is one the services
really expose.

    python3 ops/check-metrics.py --scrape detector.prom [--scrape executor.prom ...] RULES.yaml DASHBOARD.json ...
    python3 ops/check-metrics.py --names-only RULES.yaml DASHBOARD.json ...

Metric names are read from the PromQL of rules files (`groups[].rules[].expr`, also under `spec:` of a
PrometheusRule) and of dashboards (`targets[].expr` anywhere in the JSON, rows and nested panels
included, and the metrics the template variables' `label_values(...)` / `query_result(...)` name).
A scrape is a Prometheus text-format file (what `/metrics` returns). A name is found when a scrape has
a sample or a `# TYPE` line of that name, or has NAME_bucket / NAME_sum / NAME_count (a histogram or
summary family queried by its base name). `up` is always allowed (Prometheus makes it), and so are
the names the rules files themselves record (`record:`).

Prints each missing name with the files that use it and exits 1 if any is missing; exit 2 on bad input.
"""

import argparse
import json
import re
import sys

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "and", "or", "unless", "atan2",
}
# Modifiers whose parenthesised list holds label names, not metrics.
LABEL_LIST_MODIFIERS = ("by", "without", "on", "ignoring", "group_left", "group_right")
NUMBER_WORDS = {"inf", "nan"}
ALWAYS_PRESENT = {"up"}
IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


class PromQLError(ValueError):
    pass


def strip_grafana_variables(expr):
    """Grafana's template variables ($source, ${source:regex}, [[source]], $__rate_interval) are not PromQL."""
    expr = re.sub(r"\$\{[^}]*\}", "1m", expr)
    expr = re.sub(r"\[\[[^\]]*\]\]", "1m", expr)
    return re.sub(r"\$[A-Za-z_][A-Za-z0-9_]*", "1m", expr)


def metric_names(expr):
    """The metric names a PromQL expression reads.

    Drops string literals, label matchers inside {} (keeping a `__name__="x"` matcher's x), range and
    subquery durations in [], label lists after by/without/on/ignoring/group_left/group_right,
    function names (an identifier followed by `(`), keywords and numbers."""
    names = []
    text = strip_grafana_variables(expr)
    out = []  # the expression with strings, matchers and ranges blanked out
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'`":
            end = i + 1
            while end < n and text[end] != c:
                end += 2 if text[end] == "\\" and c != "`" else 1
            if end >= n:
                raise PromQLError(f"unterminated string starting at offset {i}")
            out.append(" ")
            i = end + 1
        elif c == "#":  # a comment runs to the end of the line
            while i < n and text[i] != "\n":
                i += 1
        elif c == "{":
            end, matcher_names = read_matchers(text, i)
            names.extend(matcher_names)
            out.append(" ")
            i = end
        elif c == "[":
            end = text.find("]", i)
            if end < 0:
                raise PromQLError(f"unterminated [ at offset {i}")
            out.append(" ")
            i = end + 1
        else:
            out.append(c)
            i += 1
    blanked = "".join(out)

    position = 0
    while True:
        match = IDENTIFIER.search(blanked, position)
        if not match:
            break
        word = match.group(0)
        start, position = match.start(), match.end()
        if start > 0 and (blanked[start - 1].isdigit() or blanked[start - 1] == "."):
            continue  # the unit or exponent of a number (5m, 1e3, 0x1f, 1.5e3)
        rest = blanked[position:].lstrip()
        lowered = word.lower()
        if lowered in LABEL_LIST_MODIFIERS:
            if rest.startswith("("):
                close = blanked.find(")", blanked.index("(", position))
                if close < 0:
                    raise PromQLError(f"unclosed label list after '{word}'")
                position = close + 1
            continue
        if lowered in KEYWORDS or lowered in NUMBER_WORDS:
            continue
        if rest.startswith("(") or re.match(r"(?i)(by|without)\s*\(", rest):
            continue  # a function, or an aggregation (`sum by (label) (...)`)
        names.append(word)
    return names


def read_matchers(text, start):
    """Skips a {...} label-matcher list starting at `start`; returns the offset after it and the
    metric names given by `__name__="..."` equality matchers."""
    i, n = start + 1, len(text)
    names = []
    while i < n and text[i] != "}":
        c = text[i]
        if c in "\"'`":
            end = i + 1
            while end < n and text[end] != c:
                end += 2 if text[end] == "\\" and c != "`" else 1
            i = end + 1
        else:
            i += 1
    if i >= n:
        raise PromQLError(f"unterminated {{ at offset {start}")
    body = text[start + 1:i]
    for match in re.finditer(r"__name__\s*=\s*([\"'`])([A-Za-z_:][A-Za-z0-9_:]*)\1", body):
        names.append(match.group(2))
    return i + 1, names


def template_query_names(query):
    """Metric names a Grafana Prometheus variable query names."""
    query = query.strip()
    match = re.match(r"label_values\s*\((.*)\)\s*$", query, re.S)
    if match:
        inner = match.group(1)
        # label_values(metric_or_selector, label) or label_values(label): the metric part is the
        # text before the last top-level comma.
        depth, cut = 0, None
        for index, c in enumerate(inner):
            if c in "({[":
                depth += 1
            elif c in ")}]":
                depth -= 1
            elif c == "," and depth == 0:
                cut = index
        return metric_names(inner[:cut]) if cut is not None else []
    match = re.match(r"query_result\s*\((.*)\)\s*$", query, re.S)
    if match:
        return metric_names(match.group(1))
    if re.match(r"(label_names|metrics)\s*\(", query):
        return []
    return metric_names(query) if query else []


def rules_expressions(path):
    try:
        import yaml
    except ImportError:
        sys.exit("check-metrics: PyYAML is needed to read rules files (python3 -m pip install pyyaml; ops/install-deps.sh does)")
    with open(path, encoding="utf-8") as handle:
        documents = [d for d in yaml.safe_load_all(handle) if d]
    expressions, recorded = [], set()
    for document in documents:
        groups = document.get("groups") or (document.get("spec") or {}).get("groups") or []
        for group in groups:
            for rule in group.get("rules") or []:
                if "expr" in rule:
                    name = rule.get("alert") or rule.get("record") or "?"
                    expressions.append((f"{path} ({name})", str(rule["expr"])))
                if "record" in rule:
                    recorded.add(rule["record"])
    return expressions, recorded


def dashboard_expressions(path):
    with open(path, encoding="utf-8") as handle:
        dashboard = json.load(handle)
    expressions, templates = [], []

    def walk(node, title):
        if isinstance(node, dict):
            title = node.get("title", title) if isinstance(node.get("title"), str) else title
            for target in node.get("targets") or []:
                if isinstance(target, dict) and isinstance(target.get("expr"), str) and target["expr"].strip():
                    expressions.append((f"{path} (panel '{title}')", target["expr"]))
            for key, value in node.items():
                if key != "targets":
                    walk(value, title)
        elif isinstance(node, list):
            for item in node:
                walk(item, title)

    walk(dashboard.get("panels", []), "?")
    walk(dashboard.get("rows", []), "?")  # dashboards older than schema 16
    for variable in (dashboard.get("templating") or {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        if isinstance(query, str) and query.strip():
            templates.append((f"{path} (variable '{variable.get('name', '?')}')", query))
    return expressions, templates


def scraped_names(path):
    names = set()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                parts = line.split()
                if len(parts) >= 3 and parts[1] in ("TYPE", "HELP"):
                    names.add(parts[2])
                continue
            match = IDENTIFIER.match(line)
            if match:
                names.add(match.group(0))
    return names


def found(name, scraped):
    if name in scraped or name in ALWAYS_PRESENT:
        return True
    return any(name + suffix in scraped for suffix in ("_bucket", "_sum", "_count"))


def main():
    parser = argparse.ArgumentParser(description="Check that the metrics rules and dashboards use exist in scrapes.")
    parser.add_argument("--scrape", action="append", default=[], metavar="FILE", help="Prometheus text-format scrape (repeatable)")
    parser.add_argument("--names-only", action="store_true", help="print the metric names used, one per line, and exit")
    parser.add_argument("files", nargs="+", metavar="RULES_OR_DASHBOARD", help="rules YAML (.yaml/.yml) or dashboard JSON (.json)")
    args = parser.parse_args()
    if not args.names_only and not args.scrape:
        parser.error("give at least one --scrape FILE (or --names-only)")

    used = {}  # name -> the places that use it, in order
    recorded = set()
    problems = []
    for path in args.files:
        try:
            if path.endswith(".json"):
                expressions, templates = dashboard_expressions(path)
            elif path.endswith((".yaml", ".yml")):
                expressions, recorded_here = rules_expressions(path)
                recorded |= recorded_here
                templates = []
            else:
                parser.error(f"{path}: expected a rules file (.yaml, .yml) or a dashboard (.json)")
        except (OSError, ValueError) as error:
            problems.append(f"{path}: {error}")
            continue
        for where, expr in expressions:
            try:
                names = metric_names(expr)
            except PromQLError as error:
                problems.append(f"{where}: cannot read expression: {error}")
                continue
            for name in names:
                used.setdefault(name, []).append(where)
        for where, query in templates:
            try:
                names = template_query_names(query)
            except PromQLError as error:
                problems.append(f"{where}: cannot read query: {error}")
                continue
            for name in names:
                used.setdefault(name, []).append(where)
    if problems:
        for problem in problems:
            print(f"check-metrics: {problem}", file=sys.stderr)
        sys.exit(2)

    if args.names_only:
        for name in sorted(used):
            print(name)
        return

    scraped = set()
    for path in args.scrape:
        try:
            scraped |= scraped_names(path)
        except OSError as error:
            print(f"check-metrics: {path}: {error}", file=sys.stderr)
            sys.exit(2)

    missing = [name for name in sorted(used) if name not in recorded and not found(name, scraped)]
    for name in missing:
        print(f"missing: {name} (used in {'; '.join(dict.fromkeys(used[name]))})")
    if missing:
        print(f"check-metrics: {len(missing)} of {len(used)} metric names not found in {', '.join(args.scrape)}", file=sys.stderr)
        sys.exit(1)
    print(f"check-metrics: all {len(used)} metric names found in the scrapes")


if __name__ == "__main__":
    main()
