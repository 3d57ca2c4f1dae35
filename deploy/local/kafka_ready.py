#!/usr/bin/env python3
"""Readiness probe for a Kafka broker that speaks the wire protocol (stdlib only).

An open TCP port is not enough: a KRaft broker accepts connections before it has
registered with the controller. This probe sends a Metadata v4 request (empty topic list)
and succeeds only when a well-formed response lists at least one live broker.

Usage: kafka_ready.py [HOST:PORT] [--timeout SECONDS] [--quiet]
Exit status: 0 ready, 1 not ready (reason on stderr).
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys

METADATA_API_KEY = 3
METADATA_VERSION = 4  # non-flexible; supported by Kafka 1.0 .. 4.x
CORRELATION_ID = 0x0EC4
CLIENT_ID = b"ecm-kafka-ready"


class ProtocolError(Exception):
    """The peer answered, but not with a well-formed Metadata response."""


def _build_request() -> bytes:
    # Request header v1: api_key, api_version, correlation_id, client_id (int16 string).
    header = struct.pack(
        ">hhih", METADATA_API_KEY, METADATA_VERSION, CORRELATION_ID, len(CLIENT_ID)
    )
    header += CLIENT_ID
    # Metadata v4 body: topics (array, 0 = none; -1 would mean all), allow_auto_topic_creation.
    body = struct.pack(">i?", 0, False)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ProtocolError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ProtocolError("truncated response")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def int32(self) -> int:
        return self._take(">i")

    def int16(self) -> int:
        return self._take(">h")

    def string(self) -> str | None:
        length = self.int16()
        if length < 0:
            return None
        if self.pos + length > len(self.data):
            raise ProtocolError("truncated string")
        value = self.data[self.pos : self.pos + length].decode("utf-8")
        self.pos += length
        return value


def probe(host: str, port: int, timeout: float) -> dict:
    """Return {'brokers': [...], 'cluster_id': ..., 'controller_id': ...} or raise."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(_build_request())
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if size <= 0 or size > 16 * 1024 * 1024:
            raise ProtocolError(f"implausible response size {size}")
        reader = _Reader(_recv_exact(sock, size))

    if reader.int32() != CORRELATION_ID:
        raise ProtocolError("correlation id mismatch")
    reader.int32()  # throttle_time_ms
    count = reader.int32()
    if count < 0 or count > 10_000:
        raise ProtocolError(f"implausible broker count {count}")
    brokers = []
    for _ in range(count):
        node_id = reader.int32()
        broker_host = reader.string()
        broker_port = reader.int32()
        reader.string()  # rack
        brokers.append((node_id, broker_host, broker_port))
    cluster_id = reader.string()
    controller_id = reader.int32()
    return {"brokers": brokers, "cluster_id": cluster_id, "controller_id": controller_id}


def main(argv: list[str] | None = None) -> int:
    """Probe the broker named on the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap", nargs="?", default="127.0.0.1:9092")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    host, _, port = args.bootstrap.rpartition(":")
    try:
        result = probe(host or "127.0.0.1", int(port), args.timeout)
    except (OSError, ProtocolError, ValueError, UnicodeDecodeError) as exc:
        if not args.quiet:
            print(f"kafka not ready at {args.bootstrap}: {exc}", file=sys.stderr)
        return 1
    if not result["brokers"]:
        if not args.quiet:
            print(f"kafka at {args.bootstrap} answered but lists no live broker", file=sys.stderr)
        return 1
    if not args.quiet:
        brokers = ", ".join(f"{n}@{h}:{p}" for n, h, p in result["brokers"])
        print(f"kafka ready: cluster_id={result['cluster_id']} brokers=[{brokers}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
