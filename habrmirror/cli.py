"""``habrmirror <command>``: a thin command line over the library; every command is one library call.

Every argument of every command is checked before anything starts (no crawl, no file written); anything a user
or a server can cause (bad argument, locked archive, post deleted, unwritable directory) becomes one line on
stderr (``habrmirror: ...``) and a documented exit code (README, "Exit codes"), never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from habrmirror import __version__
from habrmirror.exits import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
)
from habrmirror.urls import (
    DEFAULT_ORIGIN,
    LISTING_KINDS,
    MAX_ARTICLE_ID,
    NotAnArticleUrl,
    article_id,
    checked_origin,
    request_url,
)
from habrmirror.wording import plural

if TYPE_CHECKING:  # the crawl (Scrapy, Twisted) is imported by the commands that crawl, not by every command
    from habrmirror.crawl.run import RunResult, SharedJob, SharedOutcome

DEFAULT_ARCHIVE = Path("archives")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SETTING_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
T = TypeVar("T")


class UsageError(Exception):
    """Bad arguments: reported in one line with exit code 2."""


class CliParser(argparse.ArgumentParser):
    """argparse, with its own errors as one line too: ``habrmirror: argument --pages: ... (see ... --help)``."""

    def error(self, message: str) -> NoReturn:
        # "argument --since: --since must be ...": the checks name their option for the spiders' -a users too
        message = re.sub(r"^argument (--[a-z-]+): \1[: ]+", r"argument \1: ", message)
        print(f"habrmirror: {message} (see: {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


# --- argument checks: each turns a ValueError into argparse's one-line error ---------------------------------


def checked(parse: Callable[[str], T], name: str) -> Callable[[str], T]:
    """An argparse ``type=`` that reports ``parse``'s ValueError message as is."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name
    return convert


def amount(unit: str) -> Callable[[str], float]:
    """A finite number of ``unit`` (seconds, days), 0 or more."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"expected a number of {unit}, got {text!r}") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"expected 0 or more {unit}, got {text!r}")
        return value

    return parse


def redis_url(text: str) -> str:
    from habrmirror.crawl.frontier.jobs import check_redis_url

    return check_redis_url(text)


def job_name(text: str) -> str:
    from habrmirror.crawl.frontier.jobs import check_job_name

    return check_job_name(text)


def positive_rate(text: str) -> float:
    """Requests per second, more than 0."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected requests per second, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected more than 0 requests per second, got {text!r}")
    return value


def whole(minimum: int, meaning: str) -> Callable[[str], int]:
    """A whole number ``>= minimum`` (``meaning`` says what the smallest value means)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise ValueError(f"expected {minimum} ({meaning}) or more, got {value}")
        return value

    return parse


def since_date(text: str) -> datetime:
    from habrmirror.crawl.spiders.articles import parse_since

    moment = parse_since(text)
    if moment is None:
        raise ValueError("--since needs a date, e.g. 2024-05-01")
    return moment


def id_range(text: str) -> str:
    from habrmirror.crawl.spiders.articles import parse_id_range

    parse_id_range(text)
    return text.strip()


def listings(text: str) -> str:
    from habrmirror.crawl.spiders.articles import parse_listings

    return ",".join(parse_listings(text))


def log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {text!r}")
    return text.upper()


def writable_dir(text: str) -> Path:
    """``--out DIR`` of a writer: a directory that exists and can be written to, or can be created."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{text} exists and is not a directory")
    _check_can_create_in(path if path.exists() else _existing_parent(path), text)
    return path


def writable_file(text: str) -> Path:
    """``--out FILE`` of ``pack``: not a directory, and its directory exists or can be created, writable."""
    path = Path(text)
    if path.is_dir():
        raise ValueError(f"{text} is a directory; name the file to write, e.g. {Path(text) / 'habr.wacz'}")
    _check_can_create_in(_existing_parent(path.parent), text)
    return path


def _existing_parent(path: Path) -> Path:
    probe = path.absolute()
    while not probe.exists():
        probe = probe.parent
    return probe


def _check_can_create_in(directory: Path, text: str) -> None:
    """Create (and remove) a file in ``directory``: permissions, read-only mounts and root all answer truly."""
    if not directory.is_dir():
        raise ValueError(f"cannot write {text}: {directory} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=directory, prefix=".habrmirror-probe-"):
            pass
    except OSError as error:
        raise ValueError(f"cannot write {text}: {directory} is not writable ({error.strerror})") from None


def setting(text: str) -> tuple[str, Any]:
    """``--set KEY=VALUE``: an upper-case setting name; the value is parsed as JSON when it is JSON, else kept
    as text, and must fit the setting's default (a number for a number, true/false for a flag ...).
    A ``HABR_*`` name must be one of habrmirror's settings (a typo would be ignored silently)."""
    from scrapy.settings import default_settings

    from habrmirror import settings as habr_settings

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not _SETTING_NAME.fullmatch(key):
        raise ValueError(
            f"--set expects KEY=VALUE with an upper-case setting name, e.g. HABR_IMAGES=false; got {text!r}"
        )
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    known = [name for name in dir(habr_settings) if name.isupper()]
    if key.startswith("HABR_") and key not in known:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]}?" if close else " (README, Settings)"
        raise ValueError(f"--set {key}: no such habrmirror setting{hint}")
    default = getattr(habr_settings, key, getattr(default_settings, key, None))
    if not _fits(value, default):
        raise ValueError(f"--set {key}={raw}: expected {_kind(default)} (the default is {default!r})")
    return key, value


def _fits(value: Any, default: Any) -> bool:
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool) or str(value) in ("0", "1", "true", "false", "True", "False")
    if isinstance(default, (int, float)):
        if isinstance(value, bool):
            return False
        try:
            return math.isfinite(float(value))
        except (TypeError, ValueError):
            return False
    if isinstance(default, dict):
        return isinstance(value, dict)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, str))
    return True


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, (int, float)):
        return "a number"
    if isinstance(default, dict):
        return "a JSON object"
    if isinstance(default, (list, tuple)):
        return "a JSON list or comma-separated text"
    return "a value"


def archive_root(text: str) -> Path:
    """An archive to read: the directory must hold one. A directory that holds none but has archives directly
    below it says which (``archives/ holds no archive; did you mean archives/demo?``)."""
    from habrmirror.tools.listing import archives_below, is_archive

    path = Path(text)
    if is_archive(path):
        return path
    if not path.exists():
        raise UsageError(f"no archive at {text} (no such directory)")
    below = archives_below(path)
    if len(below) == 1:
        raise UsageError(f"{text} holds no archive; did you mean {below[0]}?")
    if below:
        raise UsageError(f"{text} holds no archive; did you mean one of {', '.join(map(str, below))}?")
    raise UsageError(f"no archive at {text} (no archive.json or warc/ in it)")


def target_id(text: str, position: int | None = None) -> int:
    try:
        return article_id(text)
    except NotAnArticleUrl as error:
        where = f" (argument {position})" if position is not None else ""
        raise UsageError(f"{error}{where}") from None


# --- archive / demo: one line per argument ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One ``archive`` argument: the post it names, the URL to fetch, and which argument's fetch answers it."""

    position: int  # 1-based, as the user counts
    text: str
    id: int
    url: str
    fetched_by: (
        int  # position of the argument whose URL is fetched for this post (itself, or an earlier/later one)
    )


def plan_targets(texts: Sequence[str], origin: str) -> list[Target]:
    """Each argument with its post; arguments naming the same post are fetched once: from the first argument
    that is a URL (it says where the post is; an id only guesses ``/ru/articles/ID/``), else the first."""
    ids = [target_id(text, position if len(texts) > 1 else None) for position, text in enumerate(texts, 1)]
    chosen: dict[int, int] = {}
    for position, (text, post) in enumerate(zip(texts, ids, strict=True), 1):
        current = chosen.get(post)
        is_url = not text.strip().isdigit()
        if current is None or (is_url and texts[current - 1].strip().isdigit()):
            chosen[post] = position
    return [
        Target(position, text, post, request_url(text, origin), chosen[post])
        for position, (text, post) in enumerate(zip(texts, ids, strict=True), 1)
    ]


COMMENT_SOURCES = {
    "api": "from the comments API",
    "page": "read from the article page",
    "comments_page": "read from the comments page (the API answer failed or was disallowed)",
    "none": "posts without comments",
    "failed": "failed (asked again on the next refresh)",
    "skipped_robots": "skipped (robots.txt)",
    "not_fetched": "not fetched",
}


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
    if summary.get("failures_not_listed"):
        print(f"  ... and {plural(summary['failures_not_listed'], 'more failure')} (see the run summary)")
    comments = (summary.get("comments") or {}).get("by_status") or {}
    if comments:
        parts = [
            f"{count} {COMMENT_SOURCES.get(status, status)}" for status, count in sorted(comments.items())
        ]
        print(f"  comments: {', '.join(parts)}")
    for mismatch in ((summary.get("comments") or {}).get("count_mismatches") or [])[:10]:
        print(
            f"  comments of {mismatch['id']}: Habr counts {mismatch['commentsCount']}, archived"
            f" {mismatch['archived']} (deleted or hidden ones are not served)"
        )
    if summary.get("known_gone_skipped"):
        print(
            f"  not requested: {plural(summary['known_gone_skipped'], 'id')} that answered 404/410 lately"
            " (each is asked again after 7, 14, 28 ... up to 180 days)"
        )
    if summary.get("retry_pending"):
        print(
            f"  retry list: {plural(len(summary['retry_pending']), 'post')} asked again first by the next run"
            " (the listing marks did not wait for them)"
        )
    for given in summary.get("retry_given_up") or []:
        print(
            f"  given up: {given['id']} after {plural(given['runs'], 'run')}: {given['outcome']}: "
            f"{given['reason']} (habrmirror archive {given['id']} asks again)"
        )
    if summary.get("run"):
        print(f"  run summary: {out / 'runs' / (summary['run'] + '.json')}")


def cmd_archive(args: argparse.Namespace) -> int:
    """Archive posts given as URLs or ids."""
    from habrmirror.crawl.run import crawl_settings, run_spider

    targets = plan_targets(args.targets, args.origin)
    overrides = {"HABR_LOCK_WAIT": args.wait, "HABR_COMMAND": "habrmirror archive", **dict(args.set)}
    if args.no_images:
        overrides["HABR_IMAGES"] = False
    if args.no_comments:
        overrides["HABR_COMMENTS"] = False
    settings = crawl_settings(args.out, args.origin, overrides)
    fetched = [target.url for target in targets if target.fetched_by == target.position]
    result = run_spider("article", settings, urls=fetched)
    return report_article_run(result, args.out, targets)


def report_article_run(result: RunResult, out: Path, targets: Sequence[Target]) -> int:
    """Print one line per argument, in order (archived ones on stdout, failures on stderr); exit code from
    what happened to the posts."""
    if result.locked:
        print(f"habrmirror: {result.error}", file=sys.stderr)
        return EXIT_LOCKED
    if result.summary is None:
        print(f"habrmirror: the crawl did not run: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    run_id = result.summary["run"]
    from habrmirror.store.captures import iter_captures
    from habrmirror.store.index import IndexStore

    # only the capture files of this run's months: the log of a long-lived archive is large
    first_file = f"{result.summary['started'][:7]}.jsonl"
    this_run = iter_captures(out / "captures", after={"file": first_file, "offset": 0})
    latest = {c.id: c for c in this_run if c.run == run_id}
    store = IndexStore(out / "index")
    failed: set[int] = set()
    for target in targets:
        capture = latest.get(target.id)
        row = store.get(target.id) if capture is not None and capture.outcome == "archived" else None
        same = f"same post as argument {target.fetched_by}" if target.fetched_by != target.position else None
        if row is not None and capture is not None:
            what = same or archived_line(out, row, capture)
            print(f"archived {target.id}: {what}", flush=True)
        else:
            failed.add(target.id)
            reason = f"{capture.outcome}: {capture.reason}" if capture else "not captured (see the log above)"
            if same:
                reason = f"{same} ({reason})"
            sys.stdout.flush()
            print(f"habrmirror: could not archive {target.id}: {reason}", file=sys.stderr, flush=True)
    print_summary(result, out)
    if result.summary.get("finish_reason") not in (None, "finished"):
        return EXIT_INTERRUPTED
    if not failed:
        return EXIT_OK
    return EXIT_FAILED if failed == {target.id for target in targets} else EXIT_PARTIAL


def archived_line(out: Path, row: dict[str, Any], capture: Any) -> str:
    """``'Title' -> DIR/warc/x.warc.gz@1442 (3/3 images)``; an unchanged page says it was a revisit."""
    images = row["images"]
    archived_images = sum(1 for image in images if image["archived"])
    title = repr(row["title"]) if row.get("title") else "(untitled post)"
    where = f"{out / row['warc']['filename']}@{row['warc']['offset']}"
    if capture.revisit:
        return (
            f"{title} unchanged since {original_date(out, row)}: revisit record (the bytes stay at {where})"
        )
    return f"{title} -> {where} ({archived_images}/{plural(len(images), 'image')})"


def original_date(out: Path, row: dict[str, Any]) -> str:
    """When the bytes a revisit refers to were downloaded: the WARC-Date of the record the row points at."""
    from habrmirror.archive.reader import RecordMismatch, read_record
    from habrmirror.items import WarcPointer

    try:
        stored = read_record(out, WarcPointer(**row["warc"]))
    except (OSError, RecordMismatch, ValueError):
        return "an earlier capture"
    date = stored.warc_headers.get_header("WARC-Date")
    return re.sub(r"\.\d+Z$", "Z", date) if date else "an earlier capture"  # to the second, as people read it


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


DEMO_POST = 568382  # the 2021 server-rendered sample: what the demo's closing lines show the history of


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the bundled replica and archive every sample post it holds; then say what to run next."""
    from habrmirror.crawl.run import crawl_settings, run_spider
    from habrmirror.replica import ReplicaProcess

    with ReplicaProcess() as replica:
        print(f"replica of habr.com running at {replica.origin}")
        urls = sample_article_urls(replica.origin)
        overrides = {
            "HABR_LOOPBACK_ONLY": True,
            "AUTOTHROTTLE_START_DELAY": 0.1,
            "HABR_COMMAND": "habrmirror demo",
            **dict(args.set),
        }
        settings = crawl_settings(args.out, replica.origin, overrides)
        targets = plan_targets(urls, replica.origin)
        result = run_spider("article", settings, urls=[target.url for target in targets])
        code = report_article_run(result, args.out, targets)
    if code in (EXIT_OK, EXIT_PARTIAL):
        where = shlex.quote(str(args.out))
        print(f"demo archive written to {args.out} (kept apart from a real archive); next:")
        print(f"  habrmirror verify {where}")
        print(f"  habrmirror ls {where}")
        print(f"  habrmirror history {DEMO_POST} {where}")
    return code


# --- crawl ------------------------------------------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    """The scheduled crawl: listings newest-first (or an id range), everything not yet archived."""
    from habrmirror.crawl.frontier.jobs import mask_url
    from habrmirror.crawl.run import crawl_settings, run_spider

    spider_args: dict[str, Any] = {"listings": args.listings, "language": args.language}
    if args.pages:
        spider_args["pages"] = args.pages
    if args.since:
        spider_args["since"] = args.since.isoformat()
    if args.ids:
        spider_args["ids"] = args.ids
    if args.refresh_days:
        spider_args["refresh_days"] = args.refresh_days
    overrides = {"HABR_LOCK_WAIT": args.wait, "HABR_COMMAND": "habrmirror crawl", **dict(args.set)}
    if args.budget:
        overrides["HABR_REQUEST_BUDGET"] = args.budget
    if args.no_comments:
        overrides["HABR_COMMENTS"] = False
    if not args.redis and (args.job or args.rate is not None):
        raise UsageError(f"--{'job' if args.job else 'rate'} needs --redis (it names a shared job's setting)")
    shared = None
    if args.redis:
        shared = join_job(args, spider_args)
        if shared.state is not None:
            print(f"job {shared.job}: {shared.state} already; nothing to do{job_result_line(shared.result)}")
            return EXIT_OK
        rate = 5.0 if args.rate is None else args.rate
        overrides = {**shared.settings(rate), **overrides}  # --set HABR_WORKER_ID=... names the worker
        worker = overrides["HABR_WORKER_ID"]
        print(f"job {shared.job} on {mask_url(args.redis)}: worker {worker}, --rate {rate:g}/s per host")
    settings = crawl_settings(args.out, args.origin, overrides, log_level=args.log_level)
    result = run_spider("articles", settings, **spider_args)
    if result.job_closed:
        print(result.error)
        return EXIT_OK
    if result.shared is not None and (result.shared.lost or result.shared.fold_error):
        print(f"habrmirror: {result.shared.lost or result.shared.fold_error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.locked:
        print(f"habrmirror: {result.error}; not starting", file=sys.stderr)
        return EXIT_LOCKED
    if result.summary is None:
        print(f"habrmirror: the crawl did not run: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    print_summary(result, args.out)
    for key, walk in (result.summary.get("listings") or {}).items():
        print(f"  {key}: {walk_line(walk)}")
    if result.shared is not None:
        print(f"  {shared_line(result.shared, args.out)}")
    reason = result.summary.get("finish_reason")
    if reason != "finished":
        return EXIT_INTERRUPTED
    if not result.summary.get("failed"):
        return EXIT_OK
    return EXIT_PARTIAL if result.summary.get("archived") else EXIT_FAILED


def join_job(args: argparse.Namespace, spider_args: dict[str, Any]) -> SharedJob:
    """The shared job of ``--redis`` (Redis unreachable: one line, exit 2, before anything starts)."""
    from habrmirror.crawl.frontier.jobs import RedisUnavailable
    from habrmirror.crawl.run import join_shared_job

    try:
        return join_shared_job(args.redis, args.job, "articles", spider_args, args.origin)
    except RedisUnavailable as error:
        raise UsageError(str(error)) from None


def job_result_line(result: dict[str, Any] | None) -> str:
    if not result:
        return ""
    return (
        f" (folded by {result['folded_by']} at {result['finished']}: {plural(len(result['workers']), 'worker')},"
        f" {plural(result['rows'], 'row')}, {plural(len(result['warc_files']), 'WARC file')} into {result['archive']})"
    )


def shared_line(shared: SharedOutcome, out: Path) -> str:
    """How this worker left its job: it folded the archives, another worker does, or work is left."""
    what, who = shared.left or ("left", "")
    if shared.fold is not None:
        return f"job {shared.job}: done; this worker folded{job_result_line(shared.fold)}"
    if what == "folded_by":
        return f"job {shared.job}: done; {who} folds the workers' archives into {out}"
    return f"job {shared.job}: this worker left, work is still queued or leased (the other workers go on)"


def walk_line(walk: dict[str, Any]) -> str:
    """``newest seen ..., oldest seen ...; 3 pages read, stopped: end of the listing; mark moved to ...``."""
    seen = (
        f"newest seen {walk['newest_seen']}, oldest seen {walk['oldest_seen']}"
        if walk.get("newest_seen")
        else "no entries seen"
    )
    if walk["mark_moved"]:
        mark = f"mark moved to {walk['mark']}"
    else:
        kept = f"it stays at {walk['mark']}" if walk.get("mark") else "there is no mark yet"
        mark = f"mark not moved ({walk['why_not_moved']}); {kept}"
    stopped = f", stopped: {walk['stopped']}" if walk.get("stopped") else ""
    return f"{seen}; {plural(walk.get('pages', 0), 'page')} read{stopped}; {mark}"


def cmd_jobs(args: argparse.Namespace) -> int:
    """Shared crawl jobs in a Redis: queued, leased, done, failed, per worker."""
    from habrmirror.crawl.frontier.jobs import RedisUnavailable, connect, job_names, job_status, mask_url

    try:
        client = connect(args.redis)
    except RedisUnavailable as error:
        raise UsageError(str(error)) from None
    names = [args.job] if args.job else job_names(client)
    if args.job and args.job not in job_names(client):
        raise UsageError(f"Redis at {mask_url(args.redis)} has no job {args.job!r}")
    statuses = [job_status(client, name) for name in names]
    if args.json:
        print(json.dumps(statuses, ensure_ascii=False, indent=1))
        return EXIT_OK
    if not statuses:
        print(f"no jobs in Redis at {mask_url(args.redis)}")
    for status in statuses:
        print(
            f"{status['job']}: {status['state']}; queued {status['queued']} (+{plural(status['id_blocks'], 'id block')}),"
            f" leased {status['leased']}, done {status['done']}, failed {status['failed']}"
            f"{job_result_line(status['result'])}"
        )
        for worker, counts in status["workers"].items():
            print(
                f"  {worker}: {counts['state']}; leased {counts['leased_now']},"
                f" done {counts['done']}, failed {counts['failed']}, requeued after it died {counts['requeued']}"
            )
    return EXIT_OK


# --- offline commands -------------------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    """Check an archive's WARCs, index pointers and images; non-zero on any problem."""
    from habrmirror.tools.verify import verify_archive

    report = verify_archive(archive_root(args.archive))
    for line in report.lines():
        print(line)
    if any(problem.kind == "layout" for problem in report.problems) and len(report.problems) == 1:
        return EXIT_USAGE
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_reindex(args: argparse.Namespace) -> int:
    """Rebuild the index (and the capture log if lost) from the WARCs, offline."""
    from habrmirror.store.layout import LockHeld
    from habrmirror.tools.reindex import reindex_archive

    root = archive_root(args.archive)
    if not (root / "warc").is_dir():
        raise UsageError(f"no archive at {root} (no warc/ directory)")
    try:
        report = reindex_archive(
            root, rebuild_captures=True if args.captures else None, lock_wait=args.wait, jobs=args.jobs
        )
    except LockHeld as error:
        print(f"habrmirror: {error}", file=sys.stderr)
        return EXIT_LOCKED
    for line in report.lines():
        print(line)
    return EXIT_PARTIAL if (report.parse_error_count or report.unreadable or report.invalid) else EXIT_OK


def cmd_pack(args: argparse.Namespace) -> int:
    """Package an archive as a WACZ file."""
    from habrmirror.tools.pack import PackError, pack_archive

    root = archive_root(args.archive)
    try:
        report = pack_archive(root, args.out)
    except PackError as error:
        print(f"habrmirror: cannot pack {args.archive}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"packed {plural(report.pages, 'post')} from {plural(len(report.warc_files), 'WARC file')}"
        f" ({plural(report.cdxj_lines, 'index line')}) -> {report.path} ({report.bytes / 1e6:.1f} MB)"
    )
    if report.rows_without_capture:
        print(
            f"  {plural(report.rows_without_capture, 'index row')} left out: the capture is not in a finished"
            " WARC (a crawl still writing?)"
        )
    if report.reindexed:
        print(
            f"  re-indexed {plural(len(report.reindexed), 'WARC file')} whose indexes/*.cdxj was missing or stale"
        )
    return EXIT_OK


def cmd_site(args: argparse.Namespace) -> int:
    """Build the static mirror of an archive, offline, or bring it up to date."""
    from habrmirror.site import SiteError, build_site

    root = archive_root(args.archive)
    try:
        report = build_site(root, args.out, base_url=args.base_url)
    except SiteError as error:
        print(f"habrmirror: cannot build the site of {root}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(report.summary())
    print(f"  open {args.out / 'index.html'}, or: habrmirror serve {args.out}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve a built mirror on 127.0.0.1 for a look (until Ctrl-C)."""
    from habrmirror.site import serve_site

    if not (args.site / "index.html").is_file():
        raise UsageError(
            f"{args.site} is not a built site (no index.html): run `habrmirror site DIR --out {args.site}`"
        )
    serve_site(args.site, args.port)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    """Full-text search of the archived posts."""
    from habrmirror.store.search import SearchError, ensure_search_index, search_archive

    root = archive_root(args.archive)
    try:
        note = ensure_search_index(root)
        if note:
            print(f"habrmirror: {note}", file=sys.stderr)
        hits = search_archive(
            root,
            args.query,
            hub=args.hub,
            author=args.author,
            since=args.since,
            limit=args.limit,
            comments=args.comments,
            raw=args.raw,
        )
    except SearchError as error:
        raise UsageError(str(error)) from None
    for hit in hits:
        if args.json:
            sys.stdout.buffer.write(hit.as_json() + b"\n")
        else:
            print("\t".join([str(hit.id), (hit.date or "-")[:10], _one_line(hit.title), hit.url or "-"]))
            print("    " + " ".join(hit.snippet.split()))
    sys.stdout.flush()
    if not hits:
        print(f"habrmirror: nothing found for {args.query!r} in {root}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    """The archive in numbers (and a plot of it)."""
    from habrmirror.tools.stats import archive_stats, format_stats, plot_stats

    stats = archive_stats(archive_root(args.archive))
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        for line in format_stats(stats):
            print(line)
    if args.out:
        plot_stats(stats, args.out)
        print(f"habrmirror: wrote {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Export the index as Parquet or as a Hugging Face dataset folder."""
    from habrmirror.tools.dataset import MissingExtra
    from habrmirror.tools.export import ExportError, export_archive

    root = archive_root(args.archive)
    try:
        report = export_archive(
            root,
            format=args.format,
            out=args.out,
            fields=args.fields,
            since=args.since,
            hub=args.hub,
            profile=args.profile,
            jobs=args.jobs,
        )
    except (ExportError, MissingExtra) as error:
        print(f"habrmirror: cannot export {args.archive}: {error}", file=sys.stderr)
        return EXIT_FAILED
    for line in report.lines():
        print(line)
    return EXIT_OK


def processes_option(sub: argparse.ArgumentParser, what: str) -> None:
    """``--jobs N`` of reindex and export: processes, by default one per core this process may use."""
    from habrmirror.tools.pool import available_cores

    cores = available_cores()
    sub.add_argument(
        "--jobs",
        type=checked(whole(1, "one process"), "jobs"),
        default=cores,
        metavar="N",
        help=f"{what}; the output is the same for any N (default: one per core, {cores} here)",
    )


def field_list(text: str) -> list[str]:
    """``--fields a,b,c``: index fields, in this order."""
    from habrmirror.items import Article

    names = [name.strip() for name in text.split(",") if name.strip()]
    known = {field.name for field in dataclass_fields(Article)}
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ValueError(
            f"unknown field {unknown[0]!r}; fields are the index's (README, Index fields)"
            if unknown
            else "no field named"
        )
    return names


def tcp_port(text: str) -> int:
    """``--port N``: 0 (any free port) to 65535."""
    port = int(text) if text.strip().isdigit() else -1
    if not 0 <= port <= 65535:
        raise ValueError(f"expected 0 (any free port) to 65535, got {text!r}")
    return port


def base_url(text: str) -> str:
    """``--base-url``: an absolute http(s) URL, where the site will be published."""
    if (
        not text.startswith(("http://", "https://"))
        or "://" not in text
        or not text.split("://", 1)[1].strip("/")
    ):
        raise ValueError(
            f"expected an absolute http(s) URL such as https://mirror.example/habr/, got {text!r}"
        )
    return text if text.endswith("/") else text + "/"


def cmd_replica(args: argparse.Namespace) -> int:
    """Serve the local Habr replica in the foreground (main() hands ``replica`` over before parsing)."""
    return run_replica(args.replica_args)


def run_replica(argv: list[str]) -> int:
    """The replica's own options, checked here first so that its errors are one line too."""
    from habrmirror.replica.cli import build_parser as replica_parser
    from habrmirror.replica.cli import main as replica_main

    parser = replica_parser()
    parser.error = CliParser.error.__get__(parser)  # type: ignore[method-assign]
    options = parser.parse_args(argv)
    if not 0 <= options.port <= 65535:
        raise UsageError(f"--port must be 0 (any free port) to 65535, got {options.port}")
    if options.synthetic < 0:
        raise UsageError(f"--synthetic must be 0 or more, got {options.synthetic}")
    return replica_main(argv)


def cmd_history(args: argparse.Namespace) -> int:
    """Print the captures of one post."""
    from habrmirror.store.captures import history

    wanted = target_id(args.article)
    root = archive_root(args.archive)
    captures = history(root / "captures", wanted)
    if not captures:
        print(f"habrmirror: no captures of {wanted} in {args.archive}", file=sys.stderr)
        return EXIT_FAILED
    for capture in captures:
        print(capture_line(capture))
    return EXIT_OK


def capture_line(capture: Any) -> str:
    """``TIME  STATUS  OUTCOME  URL  WARC@OFFSET REASON``, as ``history`` and ``show`` print a capture."""
    where = f"{capture.warc.filename}@{capture.warc.offset}" if capture.warc else "-"
    status = capture.status if capture.status is not None else "-"
    revisit = " (unchanged: revisit)" if capture.revisit else ""
    reason = f" {capture.reason}" if capture.reason else ""
    return f"{capture.time}  {status}  {capture.outcome}{revisit}  {capture.url}  {where}{reason}"


def cmd_ls(args: argparse.Namespace) -> int:
    """One line per archived post: id, date, title, captures, size."""
    from habrmirror.tools.listing import list_posts

    root = archive_root(args.archive)
    posts = list_posts(root, since=args.since, hub=args.hub, author=args.author)
    if args.json:
        out = sys.stdout.buffer
        for post in posts:
            out.write(post.as_json() + b"\n")
        out.flush()
    elif sys.stdout.isatty():
        print_post_table(posts)
    else:
        for post in posts:
            fields = [post.id, post.published_at or "-", _one_line(post.title), post.captures, post.size or 0]
            print("\t".join(str(value) for value in fields))
    return EXIT_OK


def _one_line(text: str | None) -> str:
    """A title as one tab-free field; ``-`` when the post has none."""
    return " ".join(text.split()) if text and text.strip() else "-"


def print_post_table(posts: Any, batch: int = 200) -> None:
    """A rich table on a terminal, printed in batches with fixed column widths (memory stays flat)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    shown = 0

    def table(header: bool) -> Table:
        grid = Table(show_header=header, box=None, pad_edge=False)
        grid.add_column("id", justify="right", width=8, no_wrap=True)
        grid.add_column("published", width=10, no_wrap=True)
        grid.add_column("title", ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column("captures", justify="right", width=8, no_wrap=True)
        grid.add_column("size", justify="right", width=9, no_wrap=True)
        return grid

    current = table(header=True)
    for post in posts:
        current.add_row(
            str(post.id),
            (post.published_at or "-")[:10],
            _one_line(post.title) + (" [dim](gone)[/]" if post.gone_at else ""),
            str(post.captures),
            _size(post.size),
        )
        shown += 1
        if shown % batch == 0:
            console.print(current)
            current = table(header=False)
    if current.row_count or shown == 0:
        console.print(current)
    console.print(f"[dim]{plural(shown, 'post')}[/]")


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "kB", "MB"):
        if size < 1000 or unit == "MB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size = size / 1000  # type: ignore[assignment]
    return str(size)


def cmd_show(args: argparse.Namespace) -> int:
    """One post: its index row's main fields, its captures, its files."""
    from habrmirror.tools.listing import show_post

    wanted = target_id(args.article)
    root = archive_root(args.archive)
    record = show_post(root, wanted)
    if record.row is None and not record.captures:
        print(f"habrmirror: no record of {wanted} in {args.archive}", file=sys.stderr)
        return EXIT_FAILED
    row = record.row
    if row is None:
        print(f"id           {wanted} (no index row: never archived, see the captures)")
    else:
        images = row.get("images") or []
        fields = [
            ("id", row["id"]),
            ("title", row.get("title") or "(untitled post)"),
            ("author", row.get("author")),
            ("published", row.get("published_at")),
            ("type", row.get("type")),
            ("language", row.get("language")),
            ("url", row.get("url")),
            ("hubs", ", ".join(row.get("hubs") or []) or None),
            ("tags", ", ".join(row.get("tags") or []) or None),
            ("text", plural(len(row.get("text") or ""), "character")),
            ("images", f"{sum(1 for i in images if i.get('archived'))}/{len(images)} archived"),
            ("links", len(row.get("links") or [])),
            ("parser", row.get("parser")),
            ("fetched", row.get("fetched_url")),
            ("captured", row.get("captured_at")),
            ("gone", row.get("gone_at")),
        ]
        for name, value in fields:
            if value is not None:
                print(f"{name:<12} {value}")
    print(f"captures     {len(record.captures)}")
    for capture in record.captures:
        print(f"  {capture_line(capture)}")
    if row is not None and row.get("warc"):
        warc = row["warc"]
        print("files")
        print(
            f"  warc       {root / warc['filename']}@{warc['offset']} ({plural(warc['length'], 'byte')}, record {warc['record_id']})"
        )
        if record.cdxj:
            print(f"  cdxj       {record.cdxj[0]} line {record.cdxj[1]}")
        else:
            print("  cdxj       none yet (its WARC file is not finished)")
        print(f"  index      {root / 'index' / shard_file(row['id'])}")
    return EXIT_OK


def shard_file(article: int) -> str:
    from habrmirror.store.index import shard_name

    return shard_name(article)


# --- the parser -------------------------------------------------------------------------------------------------


ORIGIN_HELP = (
    "site to fetch from, http(s)://host[:port] (default {default}). It replaces Habr's hosts (habr.com, "
    "m.habr.com, habrahabr.ru, geektimes.ru ...) in every URL form given or listed, so a replica or mirror gets "
    "them all; a URL on another host (a replica, a saved mirror) is fetched from that host; an id is fetched as "
    "ORIGIN/ru/articles/ID/"
)


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
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
            "archive",
            nargs="?",
            default=str(DEFAULT_ARCHIVE),
            metavar="DIR",
            help=f"archive directory (default {DEFAULT_ARCHIVE}/)",
        )

    def filter_options(sub: Any) -> None:
        """``--since`` and ``--hub``: the same post filters for ls, search and export."""
        sub.add_argument(
            "--since", type=checked(since_date, "date"), help="only posts published at or after this ISO date"
        )
        sub.add_argument("--hub", help="only posts in this hub (alias as in /hubs/ALIAS/, or its title)")

    def set_option(sub: Any) -> None:
        sub.add_argument(
            "--set",
            action="append",
            default=[],
            type=checked(setting, "setting"),
            metavar="KEY=VALUE",
            help="override a setting (HABR_* or Scrapy's; value as JSON, e.g. HABR_IMAGES=false); repeatable",
        )

    def crawl_options(sub: Any, default_out: Path = DEFAULT_ARCHIVE) -> None:
        sub.add_argument(
            "--out",
            type=checked(writable_dir, "directory"),
            default=default_out,
            metavar="DIR",
            help=f"archive directory, created if missing (default {default_out}/)",
        )
        sub.add_argument(
            "--origin",
            type=checked(checked_origin, "origin"),
            default=DEFAULT_ORIGIN,
            help=ORIGIN_HELP.format(default=DEFAULT_ORIGIN),
        )
        set_option(sub)

    sub = add(
        "archive",
        cmd_archive,
        "Archive one or more posts (URL or id) with their images.",
        "habrmirror archive https://habr.com/ru/articles/454184/ 568382",
    )
    sub.add_argument(
        "targets",
        nargs="+",
        metavar="URL_OR_ID",
        help=f"an article URL in any form Habr has used (its comments/ page too; #fragment and utm_ parameters are "
        f"dropped) or an id (1 to {MAX_ARTICLE_ID}); arguments naming the same post fetch it once",
    )
    crawl_options(sub)
    sub.add_argument(
        "--wait",
        type=checked(amount("seconds"), "seconds"),
        default=60,
        help="seconds to wait for a running crawl's lock, 0 = give up at once (default 60)",
    )
    sub.add_argument("--no-images", action="store_true", help="do not fetch the body images (default: fetch)")
    sub.add_argument(
        "--no-comments",
        action="store_true",
        help="do not fetch the comments API (rows say comments_status not_fetched; default: fetch)",
    )

    sub = add(
        "demo",
        cmd_demo,
        "Offline demo: start the bundled replica and archive every sample post it holds, apart from a real "
        "archive; then print the commands to look at it.",
        "habrmirror demo --out archives/demo",
    )
    sub.add_argument(
        "--out",
        type=checked(writable_dir, "directory"),
        default=DEFAULT_ARCHIVE / "demo",
        metavar="DIR",
        help=f"archive directory (default {DEFAULT_ARCHIVE / 'demo'}/, not {DEFAULT_ARCHIVE}/: demo posts stay "
        "out of a real archive)",
    )
    set_option(sub)

    sub = add(
        "crawl",
        cmd_crawl,
        "Scheduled crawl: archive every post in the listings not archived yet, back to the last completed run.",
        "habrmirror crawl --pages 5 --refresh-days 3",
    )
    crawl_options(sub)
    sub.add_argument(
        "--pages",
        type=checked(whole(0, "no limit"), "pages"),
        default=0,
        help="read at most N listing pages of each listing; 0 = no limit (default 0: walk back to the last "
        "completed run's mark; the first run walks the whole listing). The summary says why each walk stopped",
    )
    sub.add_argument(
        "--since",
        type=checked(since_date, "date"),
        help="also stop at posts published before this ISO date or time, e.g. 2024-05-01 (UTC unless it says "
        "otherwise; default: no date limit)",
    )
    sub.add_argument(
        "--ids",
        type=checked(id_range, "ids"),
        help=f"backfill the ids A-B (inclusive, 1 to {MAX_ARTICLE_ID}) instead of walking listings, e.g. "
        "454000-455000; ids that answer 404 are counted as gone (default: walk listings)",
    )
    sub.add_argument(
        "--refresh-days",
        type=checked(amount("days"), "days"),
        metavar="N",
        help="also re-capture archived posts published in the last N days (edits get a new capture, unchanged "
        "pages a revisit record); 0 = none (default 0)",
    )
    sub.add_argument(
        "--listings",
        type=checked(listings, "listings"),
        default="articles,news",
        help=f"comma-separated listings to walk, from {', '.join(LISTING_KINDS)} (default articles,news)",
    )
    sub.add_argument("--language", default="ru", choices=["ru", "en"], help="listing language (default ru)")
    sub.add_argument(
        "--no-comments",
        action="store_true",
        help="do not fetch the comments API (rows say comments_status not_fetched; default: fetch)",
    )
    sub.add_argument(
        "--budget",
        type=checked(whole(0, "no budget"), "budget"),
        default=0,
        metavar="N",
        help="stop after N requests (the mark stays, exit 5); 0 = no budget (default 0)",
    )
    sub.add_argument(
        "--wait",
        type=checked(amount("seconds"), "seconds"),
        default=0,
        help="seconds to wait for another writer's lock; 0 = give up at once (default 0)",
    )
    sub.add_argument(
        "--log-level",
        type=checked(log_level, "level"),
        default="WARNING",
        help=f"Scrapy log level, one of {', '.join(LOG_LEVELS)} (default WARNING)",
    )
    sub.add_argument(
        "--redis",
        type=checked(redis_url, "URL"),
        metavar="URL",
        help="be one worker of a shared job on this Redis (redis://[:PASSWORD@]HOST:6379/0): every machine "
        "given the same URL, arguments and --out shares one queue and one archive (default: crawl alone)",
    )
    sub.add_argument(
        "--job",
        type=checked(job_name, "name"),
        metavar="NAME",
        help="the shared job to join (default: named after the arguments and the hour, by Redis's clock, so "
        "the same cron line on every machine joins one job per hour); needs --redis",
    )
    sub.add_argument(
        "--rate",
        type=checked(positive_rate, "rate"),
        metavar="R",
        help="requests per second per host for all workers of the Redis together (default 5; needs --redis)",
    )

    sub = add(
        "jobs",
        cmd_jobs,
        "Shared crawl jobs in a Redis: queued, leased, done and failed requests, per worker.",
        "habrmirror jobs --redis redis://127.0.0.1:6379/0",
    )
    sub.add_argument(
        "--redis", required=True, type=checked(redis_url, "URL"), metavar="URL", help="the Redis of the jobs"
    )
    sub.add_argument(
        "--job", type=checked(job_name, "name"), metavar="NAME", help="only this job (default: all)"
    )
    sub.add_argument("--json", action="store_true", help="one JSON list of the jobs (default: lines)")

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
    sub.add_argument(
        "--captures",
        action="store_true",
        help="rebuild captures/ too, even when it exists (default: only if lost)",
    )
    sub.add_argument(
        "--wait",
        type=checked(amount("seconds"), "seconds"),
        default=60,
        help="seconds to wait for a running crawl's lock; 0 = give up at once (default 60)",
    )
    processes_option(sub, "processes that parse")

    sub = add(
        "pack",
        cmd_pack,
        "Package an archive as a WACZ file (ReplayWeb.page).",
        "habrmirror pack archives --out habr.wacz",
    )
    archive_argument(sub)
    sub.add_argument(
        "--out",
        type=checked(writable_file, "file"),
        required=True,
        metavar="FILE.wacz",
        help="the .wacz file to write (its directory must be writable; it appears when complete)",
    )

    sub = add("history", cmd_history, "Show the captures of one post.", "habrmirror history 454184 archives/")
    sub.add_argument("article", metavar="URL_OR_ID")
    archive_argument(sub)

    sub = add(
        "ls",
        cmd_ls,
        "List the archived posts, one line each: id, publication date, title, captures, size of its WARC "
        "record (tab-separated when not on a terminal).",
        "habrmirror ls archives/demo --since 2021-01-01",
    )
    archive_argument(sub)
    filter_options(sub)
    sub.add_argument("--author", help="only posts by this author (login)")
    sub.add_argument("--json", action="store_true", help="one JSON object per line instead")

    sub = add(
        "show",
        cmd_show,
        "Show one archived post: its index record, its captures and its files (WARC record, CDXJ, index shard).",
        "habrmirror show 568382 archives/demo",
    )
    sub.add_argument("article", metavar="URL_OR_ID")
    archive_argument(sub)

    sub = add(
        "search",
        cmd_search,
        "Full-text search of the archived posts (title, text, tags; comments with --comments), best match "
        "first, each with a snippet; Russian and English word forms match (транзакция finds транзакции).",
        'habrmirror search "транзакция" archives/demo --hub programming',
    )
    sub.add_argument(
        "query",
        metavar="QUERY",
        help="words to find, all of them; quotes, dashes, * and AND/OR/NOT are plain words unless --raw",
    )
    archive_argument(sub)
    sub.add_argument("--hub", help="only posts in this hub (alias as in /hubs/ALIAS/, or its title)")
    sub.add_argument("--author", help="only posts by this author (login)")
    sub.add_argument(
        "--since", type=checked(since_date, "date"), help="only posts published at or after this ISO date"
    )
    sub.add_argument(
        "--limit", type=checked(whole(1, "one hit"), "number"), default=20, help="at most N hits (default 20)"
    )
    sub.add_argument("--comments", action="store_true", help="search the archived comments too")
    sub.add_argument(
        "--raw",
        action="store_true",
        help='QUERY is SQLite FTS5 syntax: "a phrase", OR, NOT, NEAR(a b, 5), prefix*, title: word',
    )
    sub.add_argument("--json", action="store_true", help="one JSON object per hit instead")

    sub = add(
        "stats",
        cmd_stats,
        "The archive in numbers: posts by year, hub, author, language and type; comments; captures and "
        "revisits; size on disk by kind.",
        "habrmirror stats archives/demo --out stats.png",
    )
    archive_argument(sub)
    sub.add_argument(
        "--out",
        type=checked(writable_file, "file"),
        metavar="FILE.png",
        help="also draw posts per month and captures per day into this PNG",
    )
    sub.add_argument("--json", action="store_true", help="the numbers as one JSON object")

    sub = add(
        "export",
        cmd_export,
        "Export the index as Parquet, or as a Hugging Face dataset folder that datasets.load_dataset(PATH) loads.",
        "habrmirror export archives/demo --format hf --out habr-hf --profile gusev",
    )
    archive_argument(sub)
    sub.add_argument(
        "--format",
        choices=["parquet", "hf", "sqlite", "csv", "jsonl.zst"],
        default="parquet",
        help="parquet: one .parquet file; hf: a folder with data/*.parquet and a dataset card; sqlite: a"
        " database Datasette opens (articles, hubs, tags, images, links, comments, articles_fts); csv: one file,"
        " lists joined by ' | '; jsonl.zst: the index lines in one zstd stream (default parquet)",
    )
    sub.add_argument(
        "--out",
        type=checked(writable_file, "path"),
        required=True,
        metavar="PATH",
        help="the .parquet file, or the folder for --format hf; it appears when complete",
    )
    sub.add_argument(
        "--fields",
        type=checked(field_list, "fields"),
        help="comma-separated index fields to keep, in this order (default: all)",
    )
    filter_options(sub)
    sub.add_argument(
        "--profile",
        choices=["gusev"],
        help="gusev: exactly the IlyaGusev/habr columns and types (gone posts included, no gone_at column)",
    )
    processes_option(sub, "worker processes")

    sub = add(
        "site",
        cmd_site,
        'Build the static mirror of an archive: a page per post (local images, comments, "Source:" link), '
        "All Articles, hub and author pages, Atom feed, sitemap, search. Offline; a re-run rewrites what changed.",
        "habrmirror site archives/demo --out site/",
    )
    archive_argument(sub)
    sub.add_argument(
        "--out",
        type=checked(writable_dir, "directory"),
        required=True,
        metavar="SITE",
        help="the site folder",
    )
    sub.add_argument(
        "--base-url",
        type=checked(base_url, "URL"),
        help="where the site will be published: makes atom.xml and sitemap.xml absolute (default: relative)",
    )

    sub = add(
        "serve",
        cmd_serve,
        "Serve a built mirror on http://127.0.0.1:PORT/ for a look (search needs a server; the rest works from file://).",
        "habrmirror serve site/ --port 8000",
    )
    sub.add_argument("site", type=Path, metavar="SITE")
    sub.add_argument(
        "--port",
        type=checked(tcp_port, "port"),
        default=8000,
        help="0 (any free port) to 65535 (default 8000)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["replica"]:  # the replica has its own options and --help; hand them over untouched
            return run_replica(argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except UsageError as error:
        print(f"habrmirror: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:  # argparse: --help, --version (0) and its one-line errors (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("habrmirror: interrupted", file=sys.stderr)
        return 130
    except (
        OSError
    ) as error:  # a disk that fills up, a directory removed under us: the system's words, one line
        print(f"habrmirror: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
