"""What layouts return: plain data the spiders turn into Scrapy requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Link:
    """A link on a page: its absolute URL and the text a reader sees."""

    url: str
    text: str = ""


@dataclass(frozen=True)
class PageRequest:
    """A further page of a list (GET, or the POST a CMS's paging script would send: a form's
    fields, or a JSON object)."""

    url: str
    method: str = "GET"
    formdata: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class Posted:
    """What a list page was asked for with: the fields of the form POSTed, or of the JSON
    object (`json`: axios, a Vue or React portal's default)."""

    fields: dict[str, Any]
    json: bool = False


def json_objects(data: Any) -> list[dict[str, Any]]:
    """Every JSON object inside `data`, depth first."""
    out: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            out.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return out
