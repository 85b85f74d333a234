"""The archive side of the flow: WARC writing (``warc``), reading (``reader``), revisit dedup (``digests``),
the directory layout (``layout``) and, apart from these Scrapy-free modules, the Scrapy glue (``extension``).
"""
