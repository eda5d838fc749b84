"""WARC side of nianbao: writing, indexing and reading archives. Knows nothing about reports."""
