"""The archive directory's state: its layout and lock (``layout``), the index shards (``index``), the capture
log (``captures``), the listing marks (``marks``) and crash recovery (``recovery``). No Scrapy."""
