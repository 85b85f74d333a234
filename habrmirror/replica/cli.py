"""Command line of the replica: ``python -m habrmirror.replica`` (also ``habrmirror replica`` via the CLI).

Binds, prints one line with the origin (``replica serving N articles at http://127.0.0.1:PORT``), optionally
writes the port to a file for :class:`~habrmirror.replica.process.ReplicaProcess`, and serves until SIGINT or
SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from habrmirror.replica.catalog import Catalog
from habrmirror.replica.faults import KINDS, FaultPlan, FaultSpecError
from habrmirror.replica.server import Replica, start_server


def build_parser() -> argparse.ArgumentParser:
    """The replica's options."""
    parser = argparse.ArgumentParser(
        prog="habrmirror replica",
        description="Serve the saved real Habr pages (plus synthetic ones) on 127.0.0.1 for tests and demos.",
        epilog="example: python -m habrmirror.replica --port 8089 --log sent.jsonl --synthetic 200 "
        "--disallow /ru/articles/1000/ --latency 100 --faults 'rate=0.2,kinds=all,reset:/ru/articles/1000/' --seed 7",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8089, help="port; 0 picks a free one (default 8089)")
    parser.add_argument("--log", type=Path, help="append one JSON line per response sent to this file")
    parser.add_argument(
        "--synthetic", type=int, default=0, metavar="N", help="serve N extra synthetic articles"
    )
    parser.add_argument(
        "--disallow", action="append", default=[], metavar="PATH", help="extra robots.txt Disallow line"
    )
    parser.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    parser.add_argument(
        "--latency",
        type=non_negative_ms,
        default=0.0,
        metavar="MS",
        help="wait MS milliseconds before the first byte of every response (default 0: none); pipelined "
        "answers stay in order",
    )
    parser.add_argument(
        "--faults",
        type=fault_spec,
        metavar="SPEC",
        help="hostile mode: misbehave as SPEC says. Comma-separated items: rate=R (0..1 of the article, "
        "listing, media, comments API and comments page responses get a random fault), kinds=K+K (what random faults draw from: "
        "kind names, all, transient, permanent; default all), KIND:GLOB[@N] (this fault for paths matching "
        "GLOB on their first N attempts; default 1 for transient kinds, every attempt for permanent ones), "
        "big=BYTES (oversized bodies, default 25000000), hang=S (timeouts, default 30), trickle=MS (default "
        f"400). Kinds: {', '.join(KINDS)}. A transient fault hits a path's first attempt only, so a retry "
        "recovers. Default: none",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of the random faults (default 0): the same seed, the same faults for the same requests",
    )
    return parser


def fault_spec(text: str) -> str:
    """``--faults``: checked here (one clear line when bad), kept as text for the server to parse again."""
    try:
        FaultPlan.parse(text)
    except FaultSpecError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def non_negative_ms(text: str) -> float:
    """``--latency``: milliseconds, 0 or more (fractions allowed)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds (a number), got {text!r}") from None
    if not 0 <= value <= 600_000:
        raise argparse.ArgumentTypeError(f"must be 0 to 600000 ms, got {text!r}")
    return value


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGINT/SIGTERM."""
    catalog = Catalog.load(args.synthetic)
    faults = FaultPlan.parse(args.faults, args.seed) if args.faults else None
    server, replica = await start_server(
        lambda origin: Replica(
            catalog, origin, args.log, args.disallow, latency=args.latency / 1000, faults=faults
        ),
        args.host,
        args.port,
    )
    articles = sum(1 for entry in catalog.entries.values() if catalog.get(entry.id))
    print(f"replica serving {articles} articles at {replica.origin}", flush=True)
    if faults is not None:
        print(faults.describe(), flush=True)
    if args.port_file:
        port = replica.origin.rsplit(":", 1)[1]
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(port)
        tmp.replace(args.port_file)  # the reader never sees a half-written port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        replica.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as error:
        print(f"replica: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0
