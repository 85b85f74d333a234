"""The WARC format only: writer (``warc``), reader (``reader``), strict reader (``strict``), revisit dedup
(``digests``), CDXJ (``cdxj``) and atomic file writes (``atomic``). No Scrapy, nothing from above this room."""
