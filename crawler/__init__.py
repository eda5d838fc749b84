"""nianbao: crawl, archive and parse Chinese government transparency annual reports."""

__version__ = "0.1.0"
