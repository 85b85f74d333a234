"""Typed errors a page object raises, so a spider knows whether to retry, skip or report a page.

The WARC keeps the bytes of every page whatever happens here; these errors only decide what the index says.
"""


class PageError(Exception):
    """Base class: the page could not be turned into an item."""


class NotAnArticlePage(PageError):
    """The page is not an article (a listing, a hub, an error page): skip it, do not retry."""


class BlockedPage(PageError):
    """A captcha, rate-limit or maintenance page: the article is still there, retry later."""


class ParseError(PageError):
    """An article page whose markup we failed to read: report it; the WARC keeps the bytes for re-indexing."""
