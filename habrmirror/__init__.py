"""habrmirror: archive habr.com posts into WARC files plus a JSON index researchers can load as is."""

__version__ = "0.1.0"
