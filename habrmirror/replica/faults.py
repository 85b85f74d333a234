"""The replica's hostile mode: a seeded fault plan that decides, per response, whether and how it misbehaves.

Place in the flow: the server (``server.py``) routes a request to a :class:`~habrmirror.replica.server.Response`,
then asks :meth:`FaultPlan.decide` for the fault of that response and applies it on the wire (statuses, bodies,
header blocks, resets, trickles, stalls). The decision is a pure function of ``(seed, path, attempt)``: a hash
of the seed and the path picks the fault, the attempt number (how many times this server has been asked for the
path) says whether it still applies: a *transient* fault hits attempt 1 only (a retry recovers), a *permanent*
one every attempt. So concurrency order never changes which request is hit, and the same seed gives the same
faults for the same requests.

SPEC grammar (``--faults SPEC``; items separated by commas, no spaces needed)::

    SPEC   := ITEM ("," ITEM)*
    ITEM   := "rate=" FLOAT            fraction 0..1 of eligible responses given a random fault (default 0)
            | "kinds=" KINDS           kinds random faults draw from, "+"-separated: names, "all",
                                       "transient", "permanent" (default all)
            | "big=" BYTES             size of an ``oversized`` body (default 25000000)
            | "hang=" SECONDS          how long a ``*_timeout`` response stalls before a reset (default 30)
            | "trickle=" MS            how long a ``trickle`` body takes to arrive (default 400)
            | KIND ":" GLOB ["@" N]    fault KIND for every path matching GLOB (fnmatch; "*" any path) on its
                                       first N attempts (default: 1 for transient kinds, every for permanent)

Random faults apply to article pages, listings, media, the comments API and comments pages (never robots.txt or
``/_replica/``), each kind only where it makes sense (:data:`KINDS`). Examples:
``rate=0.2,kinds=all``, ``reset:/ru/articles/1000/,429:*``, ``captcha_forever:/ru/articles/8000*@99``.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field

# The response kinds faults apply to (the server's ``Response.kind``): the comments API and the comments page
# (the crawl's fallback when the API fails) are both "the comments".
ARTICLE, LISTING, MEDIA = "article", "listing", "media"
COMMENTS, COMMENTS_PAGE = "comments", "comments_page"
ANY = frozenset({ARTICLE, LISTING, MEDIA, COMMENTS, COMMENTS_PAGE})
COMMENTS_ANSWERS = frozenset({COMMENTS, COMMENTS_PAGE})


@dataclass(frozen=True)
class FaultKind:
    """One way a response can go wrong: where it applies, whether a retry gets past it, what it does."""

    name: str
    targets: frozenset[str]
    permanent: bool
    does: str


_KIND_LIST = [
    FaultKind("429", ANY, False, "429 Too Many Requests with Retry-After: 1"),
    FaultKind("503", ANY, False, "503 Service Unavailable with Retry-After: 1"),
    FaultKind("reset", ANY, False, "headers and half the body, then a TCP reset"),
    FaultKind("truncate", ANY, False, "Content-Length of the whole body, half of it sent, then close"),
    FaultKind("trickle", ANY, False, "the body in 8 pieces spread over `trickle` ms"),
    FaultKind("captcha", frozenset({ARTICLE}), False, "a captcha page with status 200"),
    FaultKind("login", frozenset({ARTICLE}), False, "a login-required page with status 200"),
    FaultKind("maintenance", frozenset({ARTICLE}), False, "a maintenance page with status 200"),
    FaultKind("charset", frozenset({ARTICLE}), True, "Content-Type says windows-1251 for the UTF-8 page"),
    FaultKind("bad_utf8", frozenset({ARTICLE}), True, "invalid UTF-8 bytes inserted before the first </h1>"),
    FaultKind("captcha_forever", frozenset({ARTICLE}), True, "a captcha page with status 200, every time"),
    FaultKind("redirect_loop", frozenset({ARTICLE}), True, "302 to the same path (?loop=N), for ever"),
    FaultKind("bomb", frozenset({ARTICLE}), True, "Content-Encoding: gzip of 64 MB of zeros (64 KB sent)"),
    FaultKind("oversized", frozenset({ARTICLE}), True, "a body of `big` bytes (the page, then padding)"),
    FaultKind("410", frozenset({ARTICLE}), True, "410 Gone"),
    FaultKind("403", frozenset({ARTICLE}), True, "403 Forbidden"),
    FaultKind("huge_headers", frozenset({ARTICLE}), True, "a 70,000-byte header line"),
    FaultKind("bad_status", frozenset({ARTICLE}), True, "a malformed status line (HTTP/1.1 two-hundred OK)"),
    FaultKind("image_404", frozenset({MEDIA}), True, "404 for an image or page asset"),
    FaultKind("image_timeout", frozenset({MEDIA}), False, "no answer for `hang` s, then a reset"),
    FaultKind("comments_404", COMMENTS_ANSWERS, True, "404 from the comments API or comments page"),
    FaultKind("comments_timeout", COMMENTS_ANSWERS, False, "no answer for `hang` s, then a reset"),
    FaultKind("next_loop", frozenset({LISTING}), False, "the next-page link points back to page 1"),
    FaultKind("next_vanish", frozenset({LISTING}), False, "the next-page link is missing"),
]
KINDS: dict[str, FaultKind] = {kind.name: kind for kind in _KIND_LIST}
GROUPS = {
    "all": [k.name for k in _KIND_LIST],
    "transient": [k.name for k in _KIND_LIST if not k.permanent],
    "permanent": [k.name for k in _KIND_LIST if k.permanent],
}


class FaultSpecError(ValueError):
    """A ``--faults`` SPEC that does not parse; the message says which item and why."""


@dataclass(frozen=True)
class Rule:
    """``KIND:GLOB@N``: this fault for matching paths on their first ``attempts`` attempts (None: every one)."""

    kind: str
    glob: str
    attempts: int | None


@dataclass(frozen=True)
class Fault:
    """The fault one response gets: its kind and the attempt it hit."""

    kind: str
    attempt: int

    @property
    def permanent(self) -> bool:
        return KINDS[self.kind].permanent


@dataclass
class FaultPlan:
    """Rules, a random rate over some kinds, the seed, and the sizes/durations faults use."""

    seed: int = 0
    rate: float = 0.0
    kinds: list[str] = field(default_factory=lambda: list(GROUPS["all"]))
    rules: list[Rule] = field(default_factory=list)
    big: int = 25_000_000
    hang: float = 30.0
    trickle: float = 0.4  # seconds

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> FaultPlan:
        """The plan a SPEC string describes (grammar in the module docstring); :class:`FaultSpecError` if bad."""
        plan = cls(seed=seed)
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            key, eq, value = item.partition("=")
            if eq and ":" not in key:
                plan._option(key.strip(), value.strip(), item)
                continue
            kind, colon, target = item.partition(":")
            if not colon or not target:
                raise FaultSpecError(
                    f"fault item {item!r}: expected KIND:GLOB[@N] or rate=/kinds=/big=/hang="
                )
            plan.rules.append(_rule(kind.strip(), target.strip(), item))
        return plan

    def _option(self, key: str, value: str, item: str) -> None:
        try:
            if key == "rate":
                self.rate = float(value)
                if not 0 <= self.rate <= 1:
                    raise ValueError("must be 0 to 1")
            elif key == "kinds":
                self.kinds = _kinds(value)
            elif key == "big":
                self.big = int(value)
                if self.big < 1:
                    raise ValueError("must be 1 or more bytes")
            elif key == "hang":
                self.hang = float(value)
                if not 0 < self.hang <= 600:
                    raise ValueError("must be more than 0 and at most 600 seconds")
            elif key == "trickle":
                self.trickle = float(value) / 1000
                if not 0 <= self.trickle <= 60:
                    raise ValueError("must be 0 to 60000 ms")
            else:
                raise ValueError("unknown option (rate, kinds, big, hang, trickle)")
        except ValueError as error:
            raise FaultSpecError(f"fault item {item!r}: {error}") from None

    def decide(self, path: str, target: str, attempt: int) -> Fault | None:
        """The fault of attempt ``attempt`` (1 = first) at ``path``, a response of kind ``target``, or None."""
        for rule in self.rules:
            if target in KINDS[rule.kind].targets and fnmatch.fnmatchcase(path, rule.glob):
                limit = rule.attempts if rule.attempts is not None else _default_attempts(rule.kind)
                return Fault(rule.kind, attempt) if limit is None or attempt <= limit else None
        if self.rate <= 0:
            return None
        eligible = [name for name in self.kinds if target in KINDS[name].targets]
        if not eligible:
            return None
        digest = hashlib.sha256(f"{self.seed}\0{path}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
            return None
        kind = eligible[int.from_bytes(digest[8:16], "big") % len(eligible)]
        if not KINDS[kind].permanent and attempt > 1:
            return None  # transient: the retry gets the real answer
        return Fault(kind, attempt)

    def describe(self) -> str:
        """One line for the replica's start-up message."""
        parts = [f"rate {self.rate:g} over {len(self.kinds)} kinds"] if self.rate else []
        parts += [f"{r.kind}:{r.glob}" + (f"@{r.attempts}" if r.attempts else "") for r in self.rules]
        return f"faults (seed {self.seed}): " + (", ".join(parts) or "none")


def _default_attempts(kind: str) -> int | None:
    return None if KINDS[kind].permanent else 1


def _kinds(value: str) -> list[str]:
    names: list[str] = []
    for token in (t.strip() for t in value.replace("|", "+").split("+")):
        if token in GROUPS:
            names += GROUPS[token]
        elif token in KINDS:
            names.append(token)
        else:
            raise ValueError(f"unknown fault kind {token!r}; kinds: {', '.join([*GROUPS, *KINDS])}")
    if not names:
        raise ValueError("names no kind")
    return list(dict.fromkeys(names))


def _rule(kind: str, target: str, item: str) -> Rule:
    if kind not in KINDS:
        raise FaultSpecError(f"fault item {item!r}: unknown fault kind {kind!r}; kinds: {', '.join(KINDS)}")
    glob, at, count = target.partition("@")
    attempts = None
    if at:
        if not count.isdigit() or int(count) < 1:
            raise FaultSpecError(f"fault item {item!r}: @N must be a whole number of attempts, 1 or more")
        attempts = int(count)
    if not glob.startswith(("/", "*")):
        raise FaultSpecError(f"fault item {item!r}: GLOB must be a path (/ru/articles/1000/) or start with *")
    return Rule(kind, glob, attempts)


# --- what the faulty bodies say --------------------------------------------------------------------------------
# Wordings of the interstitials Habr and its anti-bot fronts show (a captcha form, "войдите", "технические работы").
CAPTCHA_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="UTF-8"><title>Проверка: вы не робот?</title></head>
<body><form action="/captcha/check" class="captcha-form"><p>Подтвердите, что вы не робот.</p>
<img src="/captcha/image.png" alt="captcha"><input name="answer"><button>Отправить</button></form></body></html>
"""
LOGIN_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="UTF-8"><title>Вход — Хабр Аккаунт</title></head>
<body><div class="login-page"><h1>Войдите, чтобы продолжить</h1>
<form action="https://account.habr.com/login/" method="post"><input name="email" type="email">
<input name="password" type="password"><button>Войти</button></form></div></body></html>
"""
MAINTENANCE_PAGE = """<!DOCTYPE html>
<html lang="ru"><head><meta charset="UTF-8"><title>Технические работы / Хабр</title></head>
<body><div class="maintenance"><h1>Ведутся технические работы</h1>
<p>Хабр скоро вернётся. Мы проводим плановое обслуживание, зайдите через несколько минут.</p></div></body></html>
"""
BODY_PAGES = {
    "captcha": CAPTCHA_PAGE,
    "captcha_forever": CAPTCHA_PAGE,
    "login": LOGIN_PAGE,
    "maintenance": MAINTENANCE_PAGE,
}
BOMB_DECODED_BYTES = 64 * 1024 * 1024
_bomb: list[bytes] = []


def bomb_body() -> bytes:
    """gzip of 64 MB of zeros (about 64 KB), built once."""
    if not _bomb:
        import zlib

        packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip wrapper
        zeros = bytes(1024 * 1024)
        _bomb.append(b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush())
    return _bomb[0]
