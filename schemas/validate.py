#!/usr/bin/env python3
"""Validates JSON messages against Driftline's schemas: validate.py SCHEMA.json MESSAGES.jsonl [...]

A file is one JSON document or JSON Lines (one message a line).

Exit 0 when every message is valid; otherwise prints each problem and exits 1. Cross-file $refs
(alert.v1.json#/$defs/...) resolve within this folder.
"""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource

here = pathlib.Path(__file__).parent
registry = Registry().with_resources(
    (f"driftline/{path.name}", Resource.from_contents(json.loads(path.read_text()))) for path in here.glob("*.v*.json")
)
schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
validator = jsonschema.Draft202012Validator(schema, registry=registry, format_checker=jsonschema.FormatChecker())
failed = False
for message_path in sys.argv[2:]:
    text = pathlib.Path(message_path).read_text()
    # One JSON document (a pretty-printed plan), else JSON Lines.
    try:
        documents = [(1, json.loads(text))]
    except json.JSONDecodeError:
        documents = [(number, json.loads(line)) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    for line_number, document in documents:
        for error in validator.iter_errors(document):
            failed = True
            print(f"{message_path}:{line_number}: {error.json_path}: {error.message}")
sys.exit(1 if failed else 0)
