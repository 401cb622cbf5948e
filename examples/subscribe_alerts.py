#!/usr/bin/env python3
"""Subscribes to Driftline's alerts from outside: one JSON line per alert on stdout.

    python3 examples/subscribe_alerts.py --brokers 127.0.0.1:9092 --from-beginning --max-messages 3

Each line is {"key": ..., "topic": ..., "partition": ..., "offset": ..., "value": <the alert>}, the
value parsed as JSON (schemas/alert.v1.json). Alerts carry a deterministic id, so a repeat (a
redelivery after a crash or rebalance) is dropped within a run unless --keep-duplicates is given.

Stops after --max-messages alerts, after --timeout seconds, or on Ctrl-C / SIGTERM. Exit status 0
when at least one alert was printed, 1 when none arrived, 2 on a usage or fatal Kafka error.

Without --group a throwaway consumer group is used and nothing is committed; with --group the
group's offsets are committed, so the next run continues where this one stopped (unless
--from-beginning, which always starts at the oldest alert still in the topic).

Needs confluent-kafka (`python3 -m pip install confluent-kafka`).
"""
import argparse
import collections
import json
import os
import signal
import socket
import sys
import time

try:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("subscribe_alerts: the confluent-kafka module is missing: python3 -m pip install confluent-kafka")


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description="Print Driftline alerts from Kafka as JSON lines.")
    parser.add_argument("--brokers", default="127.0.0.1:9092", help="bootstrap brokers, host:port[,host:port...] (default: %(default)s)")
    parser.add_argument("--topic", default="driftline.alerts", help="alert topic (default: %(default)s)")
    parser.add_argument("--group", help="consumer group; offsets are committed (default: a throwaway group, nothing committed)")
    parser.add_argument("--max-messages", type=int, metavar="N", help="stop after N alerts")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop after this many seconds")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest alert in the topic, even for a group with committed offsets")
    parser.add_argument("--keep-duplicates", action="store_true", help="print an alert again when its id repeats")
    parser.add_argument("-X", dest="properties", action="append", default=[], metavar="KEY=VALUE",
                        help="any librdkafka property, e.g. -X security.protocol=SASL_SSL (repeatable)")
    arguments = parser.parse_args(argv)
    if arguments.max_messages is not None and arguments.max_messages < 1:
        parser.error("--max-messages must be at least 1")
    if arguments.timeout is not None and arguments.timeout <= 0:
        parser.error("--timeout must be positive")
    for item in arguments.properties:
        if "=" not in item:
            parser.error(f"-X {item}: expected KEY=VALUE")
    return arguments


def consumer_settings(arguments):
    settings = {
        "bootstrap.servers": arguments.brokers,
        "group.id": arguments.group or f"driftline-alert-subscriber-{socket.gethostname()}-{os.getpid()}",
        "client.id": "driftline-alert-subscriber",
        "auto.offset.reset": "earliest" if arguments.from_beginning else "latest",
        "enable.auto.commit": arguments.group is not None,
        "enable.partition.eof": False,
        # A member that vanished (killed while joining) holds a rebalance up for this long.
        "session.timeout.ms": 10000,
    }
    for item in arguments.properties:
        key, value = item.split("=", 1)
        settings[key] = value
    return settings


class RecentIds:
    """The ids seen lately (bounded: the oldest are forgotten first)."""

    def __init__(self, capacity=100_000):
        self.capacity = capacity
        self.ids = collections.OrderedDict()

    def seen(self, identifier):
        if identifier in self.ids:
            self.ids.move_to_end(identifier)
            return True
        self.ids[identifier] = None
        if len(self.ids) > self.capacity:
            self.ids.popitem(last=False)
        return False


def decoded(data):
    return None if data is None else data.decode("utf-8", errors="replace")


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def on_assign(consumer, partitions):
        if arguments.from_beginning:
            for partition in partitions:
                partition.offset = OFFSET_BEGINNING
        consumer.assign(partitions)

    try:
        consumer = Consumer(consumer_settings(arguments))
    except KafkaException as error:
        print(f"subscribe_alerts: {error}", file=sys.stderr)
        return 2
    consumer.subscribe([arguments.topic], on_assign=on_assign)
    deadline = None if arguments.timeout is None else time.monotonic() + arguments.timeout
    recent = RecentIds()
    printed = 0
    status = None
    try:
        while not stopping:
            if arguments.max_messages is not None and printed >= arguments.max_messages:
                break
            wait = 1.0
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait = min(wait, left)
            message = consumer.poll(wait)
            if message is None:
                continue
            if message.error():
                error = message.error()
                print(f"subscribe_alerts: {error}", file=sys.stderr)
                if error.fatal():
                    status = 2
                    break
                continue
            text = decoded(message.value())
            try:
                value = json.loads(text) if text is not None else None
            except json.JSONDecodeError as error:
                print(f"subscribe_alerts: {message.topic()}[{message.partition()}]@{message.offset()} is not JSON ({error}); skipped", file=sys.stderr)
                continue
            identifier = value.get("id") if isinstance(value, dict) else None
            if identifier is not None and not arguments.keep_duplicates and recent.seen(identifier):
                continue
            line = {"key": decoded(message.key()), "topic": message.topic(), "partition": message.partition(), "offset": message.offset(), "value": value}
            print(json.dumps(line, ensure_ascii=False, separators=(",", ":")), flush=True)
            printed += 1
    except KafkaException as error:
        print(f"subscribe_alerts: {error}", file=sys.stderr)
        status = 2
    finally:
        consumer.close()
    if status is not None:
        return status
    if printed == 0:
        print(f"subscribe_alerts: no alerts on {arguments.topic}", file=sys.stderr)
    return 0 if printed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
