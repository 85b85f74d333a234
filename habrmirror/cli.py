"""``habrmirror <command>``: a thin command line over the library; every command is one library call.

Errors a user can expect (bad id, locked archive, post deleted) become one line on stderr and a documented
exit code (README, "Exit codes"), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from habrmirror import __version__
from habrmirror.crawl.run import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    RunResult,
    crawl_settings,
    run_spider,
)
from habrmirror.urls import DEFAULT_ORIGIN, LISTING_KINDS, NotAnArticleUrl, article_id, normalize_origin

DEFAULT_ARCHIVE = Path("archives")


class UsageError(Exception):
    """Bad arguments: reported in one line with exit code 2."""


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs (values parsed as JSON when they are JSON, else kept as text)."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def print_summary(result: RunResult, out: Path) -> None:
    """What was archived, skipped and failed, and where the files are."""
    summary = result.summary or {}
    outcomes = summary.get("outcomes", {})
    print(
        f"archive: {out}  |  archived {outcomes.get('archived', 0)}, gone {outcomes.get('gone', 0)}, "
        f"failed {summary.get('failed', 0)}, skipped by robots.txt {outcomes.get('robots', 0)}"
        f"  |  WARC files: {', '.join(summary.get('warc_files', [])) or 'none'}"
    )
    for failure in summary.get("failures", []):
        print(f"  failed: {failure['id'] or failure['url']}: {failure['outcome']}: {failure['reason']}")
    if summary.get("run"):
        print(f"  run summary: {out / 'runs' / (summary['run'] + '.json')}")


def archived_rows(out: Path, ids: Sequence[int]) -> list[dict[str, Any]]:
    from habrmirror.store.index import IndexStore

    store = IndexStore(out / "index")
    return [row for row in (store.get(i) for i in ids) if row]


def cmd_archive(args: argparse.Namespace) -> int:
    """Archive posts given as URLs or ids."""
    try:
        ids = [article_id(target) for target in args.targets]
    except NotAnArticleUrl as error:
        raise UsageError(str(error)) from None
    overrides = {"HABR_LOCK_WAIT": args.wait, **parse_overrides(args.set)}
    if args.no_images:
        overrides["HABR_IMAGES"] = False
    settings = crawl_settings(args.out, normalize_origin(args.origin), overrides)
    result = run_spider("article", settings, url=",".join(args.targets))
    return report_article_run(result, args.out, ids)


def report_article_run(result: RunResult, out: Path, ids: Sequence[int]) -> int:
    """Print one line per requested post; exit code from what happened to them."""
    if result.locked:
        print(f"habrmirror: {result.error}", file=sys.stderr)
        return EXIT_LOCKED
    if result.summary is None:
        print(f"habrmirror: the crawl did not run: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    run_id = result.summary["run"]
    from habrmirror.store.captures import iter_captures

    # only the capture files of this run's months: the log of a long-lived archive is large
    first_file = f"{result.summary['started'][:7]}.jsonl"
    this_run = iter_captures(out / "captures", after={"file": first_file, "offset": 0})
    latest = {c.id: c for c in this_run if c.run == run_id}
    rows = {row["id"]: row for row in archived_rows(out, ids)}
    failed = 0
    for requested in ids:
        capture = latest.get(requested)
        if capture is not None and capture.outcome == "archived" and requested in rows:
            row = rows[requested]
            images = row["images"]
            archived_images = sum(1 for image in images if image["archived"])
            print(
                f"archived {requested}: {row['title']!r} -> {out / row['warc']['filename']} "
                f"@{row['warc']['offset']} ({archived_images}/{len(images)} images), index {out / 'index'}"
            )
        else:
            failed += 1
            reason = f"{capture.outcome}: {capture.reason}" if capture else "not captured (see the log above)"
            print(f"habrmirror: could not archive {requested}: {reason}", file=sys.stderr)
    print_summary(result, out)
    if failed == 0:
        return EXIT_OK
    return EXIT_FAILED if failed == len(ids) else EXIT_PARTIAL


def sample_article_urls(origin: str) -> list[str]:
    """One URL per real sample post the replica holds, in the forms users paste (one old form redirects)."""
    from habrmirror.replica.catalog import load_sample_entries

    urls = []
    for entry in load_sample_entries():
        if not entry.canonical:
            urls.append(origin + entry.paths[0])  # the AMP rendering, the mirror page
        elif entry.era == "tm":
            urls.append(f"{origin}/ru/post/{entry.id}/")  # 301 to /ru/articles/ID/, both hops recorded
        else:
            urls.append(origin + (entry.paths[0] if entry.paths else f"/ru/articles/{entry.id}/"))
    return urls


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the bundled replica and archive every sample post it holds."""
    from habrmirror.replica import ReplicaProcess

    with ReplicaProcess() as replica:
        print(f"replica of habr.com running at {replica.origin}")
        urls = sample_article_urls(replica.origin)
        overrides = {"HABR_LOOPBACK_ONLY": True, "AUTOTHROTTLE_START_DELAY": 0.1, **parse_overrides(args.set)}
        settings = crawl_settings(args.out, replica.origin, overrides)
        result = run_spider("article", settings, url=",".join(urls))
        return report_article_run(result, args.out, [article_id(url) for url in urls])


def cmd_crawl(args: argparse.Namespace) -> int:
    """The scheduled crawl: listings newest-first (or an id range), everything not yet archived."""
    spider_args: dict[str, Any] = {"listings": args.listings, "language": args.language}
    if args.pages:
        spider_args["pages"] = args.pages
    if args.since:
        spider_args["since"] = args.since
    if args.ids:
        spider_args["ids"] = args.ids
    if args.refresh_days:
        spider_args["refresh_days"] = args.refresh_days
    try:
        from habrmirror.crawl.spiders.articles import parse_id_range, parse_since

        if args.ids:
            parse_id_range(args.ids)
        parse_since(args.since)
        unknown = [
            kind for kind in args.listings.split(",") if kind.strip() and kind.strip() not in LISTING_KINDS
        ]
        if unknown:
            raise ValueError(f"unknown listing {unknown[0]!r}; choose from {', '.join(LISTING_KINDS)}")
    except ValueError as error:
        raise UsageError(str(error)) from None
    overrides = {"HABR_LOCK_WAIT": args.wait, **parse_overrides(args.set)}
    if args.budget:
        overrides["HABR_REQUEST_BUDGET"] = args.budget
    settings = crawl_settings(args.out, normalize_origin(args.origin), overrides, log_level=args.log_level)
    result = run_spider("articles", settings, **spider_args)
    if result.locked:
        print(f"habrmirror: {result.error}; not starting", file=sys.stderr)
        return EXIT_LOCKED
    if result.summary is None:
        print(f"habrmirror: the crawl did not run: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    print_summary(result, args.out)
    for key, walk in (result.summary.get("listings") or {}).items():
        state = "moved to" if walk["mark_moved"] else f"kept at ({walk['why_not_moved']})"
        print(
            f"  {key}: newest seen {walk['newest_seen']}, oldest seen {walk['oldest_seen']}; mark {state} {walk['mark']}"
        )
    reason = result.summary.get("finish_reason")
    if reason != "finished":
        return EXIT_INTERRUPTED
    if not result.summary.get("failed"):
        return EXIT_OK
    return EXIT_PARTIAL if result.summary.get("archived") else EXIT_FAILED


def cmd_verify(args: argparse.Namespace) -> int:
    """Check an archive's WARCs, index pointers and images; non-zero on any problem."""
    from habrmirror.tools.verify import verify_archive

    root = Path(args.archive)
    if not root.is_dir():
        raise UsageError(f"no archive directory at {root}")
    report = verify_archive(root)
    for line in report.lines():
        print(line)
    if any(problem.kind == "layout" for problem in report.problems) and len(report.problems) == 1:
        return EXIT_USAGE
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_reindex(args: argparse.Namespace) -> int:
    """Rebuild the index (and the capture log if lost) from the WARCs, offline."""
    from habrmirror.store.layout import LockHeld
    from habrmirror.tools.reindex import reindex_archive

    root = Path(args.archive)
    if not (root / "warc").is_dir():
        raise UsageError(f"no archive at {root} (no warc/ directory)")
    try:
        report = reindex_archive(root, rebuild_captures=True if args.captures else None, lock_wait=args.wait)
    except LockHeld as error:
        print(f"habrmirror: {error}", file=sys.stderr)
        return EXIT_LOCKED
    for line in report.lines():
        print(line)
    return EXIT_PARTIAL if (report.parse_error_count or report.unreadable or report.invalid) else EXIT_OK


def cmd_pack(args: argparse.Namespace) -> int:
    """Package an archive as a WACZ file."""
    from habrmirror.tools.pack import PackError, pack_archive

    try:
        report = pack_archive(Path(args.archive), args.out)
    except PackError as error:
        print(f"habrmirror: cannot pack {args.archive}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"packed {report.pages} posts from {len(report.warc_files)} WARC file(s) ({report.cdxj_lines} index lines)"
        f" -> {report.path} ({report.bytes / 1e6:.1f} MB)"
    )
    if report.rows_without_capture:
        print(
            f"  {report.rows_without_capture} index rows left out: their capture is not in a finished WARC"
            " (a crawl still writing?)"
        )
    if report.reindexed:
        print(f"  re-indexed {len(report.reindexed)} WARC file(s) whose indexes/*.cdxj was missing or stale")
    return EXIT_OK


def cmd_replica(args: argparse.Namespace) -> int:
    """Serve the local Habr replica in the foreground (main() hands ``replica`` over before parsing)."""
    from habrmirror.replica.cli import main as replica_main

    return replica_main(args.replica_args)


def cmd_history(args: argparse.Namespace) -> int:
    """Print the captures of one post."""
    from habrmirror.store.captures import history

    try:
        wanted = article_id(args.article)
    except NotAnArticleUrl as error:
        raise UsageError(str(error)) from None
    captures = history(Path(args.archive) / "captures", wanted)
    if not captures:
        print(f"habrmirror: no captures of {wanted} in {args.archive}", file=sys.stderr)
        return EXIT_FAILED
    for capture in captures:
        where = f"{capture.warc.filename}@{capture.warc.offset}" if capture.warc else "-"
        status = capture.status if capture.status is not None else "-"
        revisit = " (unchanged: revisit)" if capture.revisit else ""
        reason = f" {capture.reason}" if capture.reason else ""
        print(f"{capture.time}  {status}  {capture.outcome}{revisit}  {capture.url}  {where}{reason}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="habrmirror",
        description="Archive habr.com posts into WARC files plus a JSON index.",
        epilog="Example: habrmirror demo",
    )
    parser.add_argument("--version", action="version", version=f"habrmirror {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str, example: str) -> Any:
        sub = commands.add_parser(name, help=help_, description=help_, epilog=f"Example: {example}")
        sub.set_defaults(handler=handler)
        return sub

    def archive_argument(sub: Any) -> None:
        sub.add_argument(
            "archive", nargs="?", default=str(DEFAULT_ARCHIVE), help="archive directory (default archives/)"
        )

    def crawl_options(sub: Any, default_out: Path = DEFAULT_ARCHIVE) -> None:
        sub.add_argument(
            "--out", type=Path, default=default_out, help=f"archive directory (default {default_out}/)"
        )
        sub.add_argument("--origin", default=DEFAULT_ORIGIN, help=f"site to crawl (default {DEFAULT_ORIGIN})")
        sub.add_argument(
            "--set", action="append", default=[], metavar="KEY=VALUE", help="override a Scrapy setting"
        )

    sub = add(
        "archive",
        cmd_archive,
        "Archive one or more posts (URL or id) with their images.",
        "habrmirror archive https://habr.com/ru/articles/454184/",
    )
    sub.add_argument("targets", nargs="+", metavar="URL_OR_ID")
    crawl_options(sub)
    sub.add_argument(
        "--wait", type=float, default=60, help="seconds to wait for a running crawl's lock (default 60)"
    )
    sub.add_argument("--no-images", action="store_true", help="do not fetch the body images")

    sub = add(
        "demo",
        cmd_demo,
        "Offline demo: start the bundled replica and archive every sample post it holds.",
        "habrmirror demo --out archives/demo",
    )
    sub.add_argument(
        "--out", type=Path, default=DEFAULT_ARCHIVE / "demo", help="archive directory (archives/demo/)"
    )
    sub.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a Scrapy setting"
    )

    sub = add(
        "crawl",
        cmd_crawl,
        "Scheduled crawl: archive every post in the listings not archived yet, back to the last completed run.",
        "habrmirror crawl --pages 5 --refresh-days 3",
    )
    crawl_options(sub)
    sub.add_argument("--pages", type=int, help="walk at most N listing pages per listing")
    sub.add_argument("--since", help="stop at posts published before this ISO date")
    sub.add_argument("--ids", help="backfill an id range instead of listings, e.g. 454000-455000")
    sub.add_argument("--refresh-days", type=float, help="also re-capture posts published in the last N days")
    sub.add_argument("--listings", default="articles,news", help="listings to walk: articles,news,all")
    sub.add_argument("--language", default="ru", choices=["ru", "en"], help="listing language (default ru)")
    sub.add_argument("--budget", type=int, help="stop after this many requests")
    sub.add_argument(
        "--wait", type=float, default=0, help="seconds to wait for another writer's lock (default 0)"
    )
    sub.add_argument("--log-level", default="WARNING", help="Scrapy log level (default WARNING)")

    sub = add(
        "replica",
        cmd_replica,
        "Serve the local Habr replica (real saved pages) on 127.0.0.1.",
        "habrmirror replica --port 8089",
    )
    sub.add_argument("replica_args", nargs=argparse.REMAINDER, help="options of the replica (--port N, ...)")

    sub = add(
        "verify",
        cmd_verify,
        "Check every WARC record, index pointer and archived image of an archive.",
        "habrmirror verify archives/demo",
    )
    archive_argument(sub)

    sub = add(
        "reindex",
        cmd_reindex,
        "Rebuild index/ (and captures/ when lost) from the WARC files alone, with no network.",
        "habrmirror reindex archives/demo",
    )
    archive_argument(sub)
    sub.add_argument("--captures", action="store_true", help="rebuild captures/ too, even when it exists")
    sub.add_argument(
        "--wait", type=float, default=60, help="seconds to wait for a running crawl's lock (default 60)"
    )

    sub = add(
        "pack",
        cmd_pack,
        "Package an archive as a WACZ file (ReplayWeb.page).",
        "habrmirror pack archives --out habr.wacz",
    )
    archive_argument(sub)
    sub.add_argument("--out", type=Path, required=True, help="the .wacz file to write")

    sub = add("history", cmd_history, "Show the captures of one post.", "habrmirror history 454184 archives/")
    sub.add_argument("article", metavar="URL_OR_ID")
    archive_argument(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["replica"]:  # the replica has its own options and --help; hand them over untouched
        from habrmirror.replica.cli import main as replica_main

        return replica_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as error:
        print(f"habrmirror: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("habrmirror: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
