#!/usr/bin/env python3
"""Validates every example under schemas/examples/ against its schema: check-examples.py [EXAMPLE ...]

An example is named after its schema: examples/<name>.json (or .jsonl, one message a line, or .yaml)
is checked against <name>.v<N>.json (the highest version); examples/<name>.<variant>.<ext> too.
Every schema must itself be a valid draft 2020-12 schema and have at least one example. Cross-file
$refs (alert.v1.json#/$defs/...) resolve within this folder, as in validate.py.

Driftline's reader takes every YAML scalar's text and parses it per key, so YAML is loaded with
YAML 1.2's core types: only true/false are booleans and 1:30 is not a number (PyYAML alone follows
YAML 1.1, where yes/no/on/off are booleans and 1:30 is 90, which would misjudge `clientId: yes`).

Exit 0 when everything is valid; otherwise prints each problem and exits 1. Needs jsonschema >= 4.18
and PyYAML.
"""
import json
import pathlib
import re
import sys

import jsonschema
from referencing import Registry, Resource

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("check-examples: PyYAML is missing: python3 -m pip install pyyaml")

here = pathlib.Path(__file__).resolve().parent
examples = here / "examples"


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema booleans, integers and floats."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)


def construct_yaml12_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", construct_yaml12_int)


def load_yaml(text):
    """Every document of a YAML text, as Driftline's reader would type its scalars."""
    return list(yaml.load_all(text, Loader=Yaml12Loader))


def schemas():
    """Schema name (alert, detector-config, ...) -> path of its highest version."""
    found = {}
    for path in here.glob("*.v*.json"):
        match = re.fullmatch(r"(.+)\.v([0-9]+)\.json", path.name)
        if match and (match.group(1) not in found or int(match.group(2)) > found[match.group(1)][0]):
            found[match.group(1)] = (int(match.group(2)), path)
    return {name: path for name, (_, path) in found.items()}


registry = Registry().with_resources(
    (f"driftline/{path.name}", Resource.from_contents(json.loads(path.read_text()))) for path in here.glob("*.v*.json")
)


def validator(schema_path):
    schema = json.loads(schema_path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=jsonschema.FormatChecker())


def documents(path):
    """(label, document) for every document in an example file."""
    text = path.read_text()
    if path.suffix == ".json":
        return [(str(path), json.loads(text))]
    if path.suffix == ".jsonl":
        return [(f"{path}:{number}", json.loads(line)) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if path.suffix in (".yaml", ".yml"):
        loaded = load_yaml(text)
        return [(str(path) if len(loaded) == 1 else f"{path} (document {index})", document) for index, document in enumerate(loaded, 1)]
    raise ValueError(f"{path}: not .json, .jsonl or .yaml")


def problems(path, known):
    """The problems of one example file, as printable lines."""
    name = path.name.split(".", 1)[0]
    if name not in known:
        return [f"{path}: no schema {name}.v<N>.json for it in {here}"]
    return problems_against(path, known[name])


def problems_against(path, schema_path):
    """The problems of a JSON, JSONL or YAML file against one schema, as printable lines."""
    try:
        loaded = documents(path)
    except (OSError, ValueError, json.JSONDecodeError, yaml.YAMLError) as error:
        return [f"{path}: cannot read: {error}"]
    check = validator(schema_path)
    found = []
    for label, document in loaded:
        for error in sorted(check.iter_errors(document), key=lambda e: list(e.path)):
            found.append(f"{label}: {error.json_path}: {error.message}")
    return found


def main(arguments):
    known = schemas()
    failed = False
    for name, path in sorted(known.items()):
        try:
            jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
        except jsonschema.SchemaError as error:
            failed = True
            print(f"{path}: not a valid draft 2020-12 schema: {error.message}")
    paths = [pathlib.Path(argument) for argument in arguments] or sorted(p for p in examples.iterdir() if p.is_file() and not p.name.startswith("."))
    covered = set()
    for path in paths:
        found = problems(path, known)
        covered.add(path.name.split(".", 1)[0])
        if found:
            failed = True
            print("\n".join(found))
        else:
            print(f"ok {path.relative_to(here.parent) if path.is_relative_to(here.parent) else path} ({known[path.name.split('.', 1)[0]].name})")
    if not arguments:
        for name in sorted(set(known) - covered):
            failed = True
            print(f"{known[name]}: no example under {examples} (examples/{name}.json or .yaml)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
