#!/usr/bin/env python3
"""Checks docker/ without Docker: python3 docker/check.py

- docker/compose.yaml parses; every bind-mounted host path and every build context and Dockerfile
  exists (relative to docker/, as Compose resolves them);
- every service's depends_on names a defined service;
- a service started with `--config PATH` has a bind mount at PATH;
- the Prometheus configuration mounted into the prometheus service scrapes the compose services
  (detector replicas through DNS, the executor) rather than loopback addresses, which inside the
  Prometheus container are Prometheus itself, and its rule_files are mounted;
- the Dockerfile builds with the same command line as ops/demo.sh (`swift build ...`);
- docker/config/*.yaml are valid against schemas/detector-config.v1.json (driftline.yaml) and
  schemas/executor-config.v1.json (executor.yaml).

Prints each problem and exits 1 if there is any, else prints what was checked and exits 0. Needs
PyYAML, and jsonschema >= 4.18 for the configuration files.
"""
import importlib.util
import pathlib
import re
import shlex
import sys

here = pathlib.Path(__file__).resolve().parent
root = here.parent

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("docker/check.py: PyYAML is missing: python3 -m pip install pyyaml (ops/install-deps.sh installs it)")

problems = []
checked = []


def problem(text):
    problems.append(text)


def shown(path):
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def host_path(text):
    """A Compose host path, relative to the compose file's folder."""
    return (here / pathlib.Path(text).expanduser()).resolve()


def bind_mounts(service):
    """(host source, container target) of a service's bind mounts, short and long syntax."""
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            # Short syntax: SOURCE:TARGET[:MODE]; a SOURCE that is not a path is a named volume.
            if len(parts) >= 2 and (parts[0].startswith((".", "/", "~"))):
                yield parts[0], parts[1]
        elif isinstance(volume, dict) and volume.get("type") == "bind":
            yield volume.get("source", ""), volume.get("target", "")


def command_words(service):
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    return [str(word) for word in command or []]


def check_compose(path):
    try:
        compose = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        problem(f"{shown(path)}: cannot read: {error}")
        return
    services = compose.get("services") or {}
    if not services:
        problem(f"{shown(path)}: no services")
    named_volumes = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        where = f"{shown(path)}: services.{name}"
        build = service.get("build")
        if build is not None:
            context_text = build if isinstance(build, str) else build.get("context", ".")
            context = host_path(context_text)
            if not context.is_dir():
                problem(f"{where}.build.context: {context_text} -> {shown(context)} is not a directory")
            dockerfile_text = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            dockerfile = (context / dockerfile_text).resolve()
            if not dockerfile.is_file():
                problem(f"{where}.build.dockerfile: {dockerfile_text} -> {shown(dockerfile)} does not exist")
            checked.append(f"{name}: build {shown(context) or '.'} with {shown(dockerfile)}")
        targets = set()
        for source, target in bind_mounts(service):
            targets.add(target)
            resolved = host_path(source)
            if not resolved.exists():
                problem(f"{where}.volumes: host path {source} -> {shown(resolved)} does not exist")
            else:
                checked.append(f"{name}: mounts {shown(resolved)} at {target}")
        for volume in service.get("volumes") or []:
            if isinstance(volume, str) and not volume.startswith((".", "/", "~")):
                volume_name = volume.split(":")[0]
                if volume_name not in named_volumes:
                    problem(f"{where}.volumes: named volume {volume_name} is not declared under top-level volumes")
        depends = service.get("depends_on") or []
        for dependency in depends if isinstance(depends, list) else depends.keys():
            if dependency not in services:
                problem(f"{where}.depends_on: {dependency} is not a service")
            elif dependency == name:
                problem(f"{where}.depends_on: a service cannot depend on itself")
        words = command_words(service)
        if "--config" in words:
            index = words.index("--config")
            config = words[index + 1] if index + 1 < len(words) else None
            if config is None:
                problem(f"{where}.command: --config without a path")
            elif config not in targets:
                problem(f"{where}.command: --config {config} but no bind mount targets {config}")


def check_prometheus(path):
    """The mounted prometheus.yml must reach the detector and the executor inside the compose network."""
    try:
        compose = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return  # reported by check_compose
    services = compose.get("services") or {}
    prometheus = services.get("prometheus")
    if prometheus is None:
        return
    mounts = {target: host_path(source) for source, target in bind_mounts(prometheus)}
    config_target = "/etc/prometheus/prometheus.yml"
    for word in command_words(prometheus):
        if word.startswith("--config.file="):
            config_target = word.split("=", 1)[1]
    config_path = mounts.get(config_target)
    if config_path is None:
        problem(f"{shown(path)}: services.prometheus: nothing is mounted at {config_target}")
        return
    if not config_path.is_file():
        return  # reported by check_compose
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as error:
        problem(f"{shown(config_path)}: cannot read: {error}")
        return
    config_folder = pathlib.PurePosixPath(config_target).parent
    for rule_file in config.get("rule_files") or []:
        in_container = str(config_folder / rule_file)
        if in_container not in mounts:
            problem(f"{shown(config_path)}: rule_files {rule_file} is {in_container} in the prometheus container, which is not mounted")
    wanted = {"detector": 9464, "executor": 9465}
    reached = set()
    for job in config.get("scrape_configs") or []:
        name = job.get("job_name", "?")
        for static in job.get("static_configs") or []:
            for target in static.get("targets") or []:
                host, _, port = str(target).rpartition(":")
                if host in ("127.0.0.1", "localhost", "[::1]", "::1"):
                    problem(f"{shown(config_path)}: job {name} scrapes {target}: inside the prometheus container that is Prometheus itself, not a compose service")
                elif host in wanted and port == str(wanted[host]):
                    reached.add(host)
        for dns in job.get("dns_sd_configs") or []:
            for dns_name in dns.get("names") or []:
                if dns_name in wanted and str(dns.get("port")) == str(wanted[dns_name]):
                    reached.add(dns_name)
    for service, port in wanted.items():
        if service in services and service not in reached:
            hint = " (dns_sd_configs: [{names: [detector], type: A, port: 9464}] finds every replica)" if service == "detector" else ""
            problem(f"{shown(config_path)}: no scrape job reaches the {service} service on port {port}{hint}")
    if reached == set(wanted):
        checked.append(f"{shown(config_path)} scrapes the detector and executor services")


def swift_build_commands(text):
    """Every `swift build ...` command in a shell script or Dockerfile, up to &&, ;, | or the line's end."""
    commands = []
    for line in text.replace("\\\n", " ").splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in re.finditer(r"\bswift build\b([^&;|#]*)", line):
            commands.append(" ".join(("swift build" + match.group(1)).split()))
    return commands


def check_build_command():
    demo = root / "ops" / "demo.sh"
    dockerfile = here / "Dockerfile"
    try:
        wanted = swift_build_commands(demo.read_text())
        found = swift_build_commands(dockerfile.read_text())
    except OSError as error:
        problem(f"cannot compare build commands: {error}")
        return
    if len(wanted) != 1:
        problem(f"{shown(demo)}: expected one swift build command, found {wanted}")
        return
    if not found:
        problem(f"{shown(dockerfile)}: no swift build command")
    for command in found:
        if command != wanted[0]:
            problem(f"{shown(dockerfile)}: builds with `{command}`, ops/demo.sh with `{wanted[0]}`")
    if found and all(command == wanted[0] for command in found):
        checked.append(f"Dockerfile builds with `{wanted[0]}`, as ops/demo.sh")


def check_configurations():
    schema_for = {"driftline.yaml": "detector-config", "executor.yaml": "executor-config"}
    spec = importlib.util.spec_from_file_location("check_examples", root / "schemas" / "check-examples.py")
    try:
        examples = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(examples)
    except (ImportError, SystemExit) as error:
        problem(f"cannot validate docker/config (schemas/check-examples.py needs jsonschema >= 4.18 and PyYAML): {error}")
        return
    known = examples.schemas()
    for path in sorted((here / "config").glob("*.y*ml")):
        name = schema_for.get(path.name)
        if name is None or name not in known:
            problem(f"{shown(path)}: no schema known for it (expected one of {', '.join(sorted(schema_for))})")
            continue
        found = examples.problems_against(path, known[name])
        if found:
            problems.extend(found)
        else:
            checked.append(f"{shown(path)} is valid against schemas/{known[name].name}")


def main():
    check_compose(here / "compose.yaml")
    check_prometheus(here / "compose.yaml")
    check_build_command()
    check_configurations()
    for line in checked:
        print(f"ok {line}")
    for line in problems:
        print(f"PROBLEM {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
