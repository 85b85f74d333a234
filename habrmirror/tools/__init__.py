"""Offline commands over an archive: ``verify``, ``reindex``, ``pack``. No network, no Scrapy."""
