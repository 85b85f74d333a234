"""A job in Redis: its keys, the lease queue's Lua scripts, seeding, the done/fold decision, job names, status.

Scrapy-free (the scheduler, middleware and worker extension in this package call it). Every step that reads and
writes more than one key is one Lua script, so two workers never see half of a step. Lease expiry is a key TTL
(``alive:<worker>``, refreshed by the worker's heartbeat), and the rate limit reads Redis ``TIME``: no decision
here uses a worker's own clock, so machines whose clocks differ share a job safely.

Keys, under ``habrmirror:job:<name>:``: ``queue`` (sorted set of encoded requests, score = -priority), ``blocks``
(list of ``A-B`` id blocks not claimed yet), ``leases:<worker>`` (hash lease-id -> what was popped),
``alive:<worker>`` (PX TTL), ``workers`` / ``active`` / ``dead`` (sets), ``stats:<worker>`` (hash), ``seeded``,
``fold`` (who folds), ``done`` (the job's result, JSON), ``archived`` (bitmap: ids with a row in the archive
when the job was seeded, plus ids this job archived), ``job-archived`` (bitmap: ids this job archived),
``walks:<worker>`` (JSON: how far the worker walked each listing), ``dupefilter`` (scrapy-redis's set).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

PREFIX = "habrmirror"
JOBS_KEY = f"{PREFIX}:jobs"  # every job name this Redis has seen
DEFAULT_LEASE_TTL = 30.0  # seconds a worker's leases outlive its last heartbeat
DONE_KEEP_SECONDS = 7 * 24 * 3600  # a finished job's summary and counters stay this long (jobs command)

# Redis errors that mean "the server is not there" (refused, reset, timed out): the worker stops on them.
REDIS_GONE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


class JobClosed(RuntimeError):
    """The job is done, or its last worker is folding it: a worker starting now has nothing to do."""


class RedisUnavailable(RuntimeError):
    """Redis cannot be reached (at start) or went away (mid-run); the message is one line, password masked."""


def mask_url(url: str) -> str:
    """``redis://user:secret@host:6379/0`` -> ``redis://user:***@host:6379/0``: what logs and summaries show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def check_redis_url(url: str) -> str:
    """A ``redis://``, ``rediss://`` or ``unix://`` URL (raises ValueError with a one-line message)."""
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"--redis must be a redis://HOST:PORT/DB URL, got {mask_url(url)!r}")
    return url


def connect(url: str, timeout: float = 10.0) -> redis.Redis:
    """A client for ``url`` that has answered a PING; :class:`RedisUnavailable` otherwise."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    except REDIS_GONE as error:
        raise RedisUnavailable(f"cannot reach Redis at {mask_url(url)}: {gone_reason(error)}") from None
    except redis.exceptions.ResponseError as error:  # wrong password, no such db ...
        raise RedisUnavailable(f"Redis at {mask_url(url)} refused us: {error}") from None
    return client


def gone_reason(error: BaseException) -> str:
    """One line for a connection error (redis-py's messages carry the host, never the password)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text.removeprefix("Error ").strip()


def default_worker_id() -> str:
    """``<host>-<pid>``: unique per process on a machine, readable in ``habrmirror jobs`` and WARC names."""
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()).strip("-.") or "host"
    return f"{host}-{os.getpid()}"


def default_job_name(spider: str, arguments: dict[str, Any], origin: str, hour: datetime) -> str:
    """``articles-<hash of the arguments>-<YYYYMMDDHH>``: the same command in the same hour (by Redis's clock)
    names the same job on every machine, so one cron line everywhere joins one job per hour."""
    described = json.dumps({"spider": spider, "origin": origin, **arguments}, sort_keys=True, default=str)
    digest = hashlib.sha1(described.encode("utf-8")).hexdigest()[:8]
    return f"{spider}-{digest}-{hour.astimezone(timezone.utc).strftime('%Y%m%d%H')}"


def check_job_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
        raise ValueError(f"--job must be letters, digits, '.', '_' or '-' (at most 100), got {name!r}")
    return name


def redis_time(client: redis.Redis) -> datetime:
    """Redis's clock (the one all workers share)."""
    seconds, micros = client.time()
    return datetime.fromtimestamp(seconds + micros / 1e6, tz=timezone.utc)


# --- Lua --------------------------------------------------------------------------------------------------------
# KEYS[1] is always the job prefix ("habrmirror:job:NAME:"); keys are built from it inside the scripts (one
# Redis, not a cluster). ARGV[1] is the worker id where a worker acts.

# Pop the best request (lowest score) or, when none is queued, the next id block, into this worker's leases.
_POP = """
local p = KEYS[1]
local w = ARGV[1]
local item = redis.call('ZPOPMIN', p .. 'queue', 1)
local field, value
if item[1] then
  field = 'r' .. redis.call('INCR', p .. 'seq') .. ':' .. item[2]
  value = item[1]
else
  value = redis.call('LPOP', p .. 'blocks')
  if not value then return false end
  field = 'b' .. redis.call('INCR', p .. 'seq')
end
redis.call('HSET', p .. 'leases:' .. w, field, value)
redis.call('HINCRBY', p .. 'stats:' .. w, 'leased', 1)
return {field, value}
"""

# Give every lease of `w` back: requests to the queue with their score, blocks to the front of the blocks.
_REQUEUE_FN = """
local function requeue(p, w)
  local lk = p .. 'leases:' .. w
  local all = redis.call('HGETALL', lk)
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    if string.sub(f, 1, 1) == 'b' then
      redis.call('LPUSH', p .. 'blocks', v)
    else
      local score = string.sub(f, string.find(f, ':') + 1)
      redis.call('ZADD', p .. 'queue', tonumber(score), v)
    end
  end
  if #all > 0 then
    redis.call('HINCRBY', p .. 'stats:' .. w, 'requeued', #all / 2)
    redis.call('DEL', lk)
  end
  return #all / 2
end
local function reap(p)
  local n = 0
  for _, m in ipairs(redis.call('SMEMBERS', p .. 'workers')) do
    if redis.call('EXISTS', p .. 'alive:' .. m) == 0 then
      n = n + requeue(p, m)
      if redis.call('SREM', p .. 'active', m) == 1 then redis.call('SADD', p .. 'dead', m) end
    end
  end
  return n
end
local function pending(p)
  local leased = 0
  for _, m in ipairs(redis.call('SMEMBERS', p .. 'workers')) do
    leased = leased + redis.call('HLEN', p .. 'leases:' .. m)
  end
  return {redis.call('ZCARD', p .. 'queue'), redis.call('LLEN', p .. 'blocks'), leased}
end
"""

# Heartbeat: keep this worker's leases alive, then requeue the leases of workers whose heartbeat stopped.
# Once a worker folds (or has folded) the job, nobody joins it any more: -1. (The fold is claimed only when no
# worker is active, and joining is this same step, so a worker either joined before the claim, and the claim
# waits for it to leave, or is refused.)
_HEARTBEAT = (
    _REQUEUE_FN
    + """
local p = KEYS[1]
local w = ARGV[1]
if redis.call('EXISTS', p .. 'fold') == 1 or redis.call('EXISTS', p .. 'done') == 1 then
  if redis.call('GET', p .. 'fold') ~= w then return -1 end
end
redis.call('SET', p .. 'alive:' .. w, '1', 'PX', ARGV[2])
redis.call('SADD', p .. 'workers', w)
redis.call('SADD', p .. 'active', w)
redis.call('SREM', p .. 'dead', w)
return reap(p)
"""
)

# Idle check: requeue dead workers' leases, then {queued, blocks, leased} (all zero and seeded: the job is done).
_PENDING = (
    _REQUEUE_FN
    + """
local p = KEYS[1]
reap(p)
local counts = pending(p)
counts[4] = redis.call('EXISTS', p .. 'seeded')
counts[5] = redis.call('EXISTS', p .. 'fold')
return counts
"""
)

# Leave: give back what this worker still holds, forget dead workers, and decide who folds: the worker that
# finds the job done and no other worker alive gets 'fold' (exactly one does: SET NX).
_LEAVE = (
    _REQUEUE_FN
    + """
local p = KEYS[1]
local w = ARGV[1]
requeue(p, w)
redis.call('DEL', p .. 'alive:' .. w)
redis.call('SREM', p .. 'active', w)
reap(p)
local owner = redis.call('GET', p .. 'fold')
if owner then return {'folded_by', owner} end
-- folded already: the claim is gone with the frontier, the result stays (a second fold would find nothing
-- and overwrite it)
local result = redis.call('GET', p .. 'done')
if result then return {'folded_by', cjson.decode(result)['folded_by'] or '?'} end
local counts = pending(p)
local done = redis.call('EXISTS', p .. 'seeded') == 1 and counts[1] == 0 and counts[2] == 0 and counts[3] == 0
if not done then return {'left', ''} end
if redis.call('SCARD', p .. 'active') > 0 then return {'wait', ''} end
if not redis.call('SET', p .. 'fold', w, 'NX', 'PX', ARGV[2]) then return {'folded_by', redis.call('GET', p .. 'fold')} end
return {'fold', w}
"""
)

# Seed the job once: the first caller pushes the start requests, the id blocks and the archived-id bitmap.
_SEED = """
local p = KEYS[1]
if redis.call('EXISTS', p .. 'seeded') == 1 then return 0 end
local n = tonumber(ARGV[2])
for i = 3, 2 + n * 2, 2 do redis.call('ZADD', p .. 'queue', tonumber(ARGV[i]), ARGV[i + 1]) end
local blocks = tonumber(ARGV[3 + n * 2])
for i = 4 + n * 2, 3 + n * 2 + blocks do redis.call('RPUSH', p .. 'blocks', ARGV[i]) end
local bits = ARGV[4 + n * 2 + blocks]
if bits ~= '' then redis.call('SET', p .. 'archived', bits) end
redis.call('SET', p .. 'seeded', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[5 + n * 2 + blocks])
return 1
"""

# Acknowledge a lease: its work is recorded. Counted once even when called twice.
_ACK = """
local p = KEYS[1]
local w = ARGV[1]
if redis.call('HDEL', p .. 'leases:' .. w, ARGV[2]) == 1 then
  redis.call('HINCRBY', p .. 'stats:' .. w, ARGV[3], 1)
  return 1
end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _reverse_bits(data: bytes) -> bytes:
    """habrmirror's id bitmap is LSB-first per byte; Redis's SETBIT/GETBIT count from the MSB."""
    table = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))
    return data.translate(table)


@dataclass(frozen=True)
class Lease:
    """What a worker popped: ``field`` names the lease (acknowledge it with that), ``value`` is the encoded
    request, or for an id block (``is_block``) its ``A-B`` text."""

    field: str
    value: bytes

    @property
    def is_block(self) -> bool:
        return self.field.startswith("b")


class JobFrontier:
    """One worker's handle on one job (or a reader's, for ``habrmirror jobs``)."""

    def __init__(
        self, client: redis.Redis, job: str, worker: str, lease_ttl: float = DEFAULT_LEASE_TTL
    ) -> None:
        self.client = client
        self.job = job
        self.worker = worker
        self.lease_ttl = lease_ttl
        self.prefix = f"{PREFIX}:job:{job}:"
        self._pop = client.register_script(_POP)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._pending = client.register_script(_PENDING)
        self._leave = client.register_script(_LEAVE)
        self._seed = client.register_script(_SEED)
        self._ack = client.register_script(_ACK)

    def key(self, name: str) -> str:
        return self.prefix + name

    # --- a worker's life ---------------------------------------------------------------------------------------

    def heartbeat(self) -> int:
        """Renew this worker's lease TTL (joining the job the first time); requeue dead workers' leases
        (returns how many). :class:`JobClosed` once the job is being folded or done."""
        requeued = int(self._heartbeat(keys=[self.prefix], args=[self.worker, int(self.lease_ttl * 1000)]))
        if requeued < 0:
            raise JobClosed(f"job {self.job} is {self.state() or 'done'} already; nothing to do")
        return requeued

    def seed(
        self, requests: Sequence[tuple[float, bytes]], blocks: Sequence[str], archived_bits: bytes
    ) -> bool:
        """Push the job's start (requests as (score, encoded), id blocks, the archive's id bitmap) unless the
        job is seeded already; True for the worker that seeded it."""
        args: list[Any] = [self.worker, len(requests)]
        for score, data in requests:
            args += [score, data]
        args += [len(blocks), *blocks, _reverse_bits(archived_bits), self.job]
        return bool(self._seed(keys=[self.prefix, JOBS_KEY], args=args))

    def pop(self) -> Lease | None:
        found = self._pop(keys=[self.prefix], args=[self.worker])
        if not found:
            return None
        field, value = found
        return Lease(field.decode() if isinstance(field, bytes) else field, value)

    def push(self, score: float, data: bytes) -> None:
        self.client.zadd(self.key("queue"), {data: score})

    def ack(self, field: str, outcome: str = "done") -> bool:
        """The leased work is recorded (``done``) or given up (``failed``): the lease is dropped."""
        return bool(self._ack(keys=[self.prefix], args=[self.worker, field, outcome]))

    def pending(self) -> tuple[int, int, int, bool, bool]:
        """(queued requests, unclaimed id blocks, leased anywhere, seeded, fold claimed), dead leases requeued."""
        queued, blocks, leased, seeded, fold = self._pending(keys=[self.prefix])
        return int(queued), int(blocks), int(leased), bool(seeded), bool(fold)

    def leave(self) -> tuple[str, str]:
        """This worker stops: ('fold', me) when it is the one to fold, ('wait', '') when the job is done but
        other workers are still alive, ('folded_by', W), or ('left', '') when the job is not done."""
        what, who = self._leave(keys=[self.prefix], args=[self.worker, int(self.fold_ttl * 1000)])
        return (what.decode(), who.decode() if isinstance(who, bytes) else str(who))

    # --- archived ids ------------------------------------------------------------------------------------------

    def archived(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` have a row (in the archive when the job started, or archived by this job)."""
        return self._bits("archived", ids)

    def archived_in_job(self, ids: Iterable[int]) -> set[int]:
        return self._bits("job-archived", ids)

    def _bits(self, name: str, ids: Iterable[int]) -> set[int]:
        ids = list(ids)
        pipe = self.client.pipeline(transaction=False)
        for article in ids:
            pipe.getbit(self.key(name), article)
        return {article for article, bit in zip(ids, pipe.execute(), strict=True) if bit}

    def note_archived(self, article: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.setbit(self.key("archived"), article, 1)
        pipe.setbit(self.key("job-archived"), article, 1)
        pipe.execute()

    # --- results -----------------------------------------------------------------------------------------------

    def state(self) -> str | None:
        """'done' (folded), 'folding' (a worker is folding), or None (open or new)."""
        if self.client.exists(self.key("done")):
            return "done"
        if self.client.exists(self.key("fold")):
            return "folding"
        return None

    def done_summary(self) -> dict[str, Any] | None:
        data = self.client.get(self.key("done"))
        return json.loads(data) if data else None

    def save_walks(self, walks: dict[str, Any]) -> None:
        self.client.set(self.key(f"walks:{self.worker}"), json.dumps(walks))

    def all_walks(self) -> dict[str, dict[str, Any]]:
        """Each worker's walk summary (workers that died before saving one are missing)."""
        found = {}
        for member in self.client.smembers(self.key("workers")):
            worker = _text(member)
            data = self.client.get(self.key(f"walks:{worker}"))
            if data:
                found[worker] = json.loads(data)
        return found

    def dead_workers(self) -> list[str]:
        return sorted(_text(member) for member in self.client.smembers(self.key("dead")))

    @property
    def fold_ttl(self) -> float:
        """Seconds the folding worker's claim lasts unless renewed (a fold killed midway is taken over)."""
        return max(60.0, 10 * self.lease_ttl)

    def renew_fold(self) -> None:
        """The fold goes on: keep the claim (renewed after each worker archive folded)."""
        self.client.pexpire(self.key("fold"), int(self.fold_ttl * 1000))

    def abandon_fold(self) -> None:
        """The fold failed: let the next worker of the job try again."""
        if self.client.get(self.key("fold")) == self.worker.encode():
            self.client.delete(self.key("fold"))

    def finish(self, summary: dict[str, Any]) -> None:
        """The fold is written: store the job's result, drop the frontier (queue, dupefilter, bitmaps), keep
        the counters a week for ``habrmirror jobs``."""
        keep = ["done", "stats:", "workers", "dead", "seeded"]
        self.client.set(self.key("done"), json.dumps(summary))
        for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            name = key.decode()[len(self.prefix) :]
            if any(name == k or (k.endswith(":") and name.startswith(k)) for k in keep):
                self.client.expire(key, DONE_KEEP_SECONDS)
            else:
                self.client.delete(key)


def job_status(client: redis.Redis, job: str) -> dict[str, Any]:
    """Queued, leased, done, failed per worker of one job, and whether it is done (``habrmirror jobs``)."""
    frontier = JobFrontier(client, job, worker="")
    workers: dict[str, dict[str, Any]] = {}
    dead = {_text(member) for member in client.smembers(frontier.key("dead"))}
    for member in sorted(client.smembers(frontier.key("workers"))):
        worker = _text(member)
        stats = {_text(k): int(v) for k, v in client.hgetall(frontier.key(f"stats:{worker}")).items()}
        ttl = client.pttl(frontier.key(f"alive:{worker}"))
        workers[worker] = {
            "state": "alive" if ttl > 0 else "dead" if worker in dead else "left",
            "leased_now": client.hlen(frontier.key(f"leases:{worker}")),
            "done": stats.get("done", 0),
            "failed": stats.get("failed", 0),
            "requeued": stats.get("requeued", 0),
            "popped": stats.get("leased", 0),
        }
    done = frontier.done_summary()
    return {
        "job": job,
        "state": "done" if done else ("folding" if client.exists(frontier.key("fold")) else "open"),
        "queued": client.zcard(frontier.key("queue")),
        "id_blocks": client.llen(frontier.key("blocks")),
        "leased": sum(w["leased_now"] for w in workers.values()),
        "done": sum(w["done"] for w in workers.values()),
        "failed": sum(w["failed"] for w in workers.values()),
        "workers": workers,
        "result": done,
    }


def job_names(client: redis.Redis) -> list[str]:
    """Every job this Redis knows, oldest name first."""
    return sorted(_text(member) for member in client.smembers(JOBS_KEY))
