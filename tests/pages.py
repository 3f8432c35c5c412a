"""Paging through a list over HTTP, for tests that compare whole lists page by page."""

from typing import Any


async def every_page(client: Any, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every page of `url` (its query without a cursor), following `next_cursor` to the end."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        separator = "&" if "?" in url else "?"
        response = await client.get(url + (f"{separator}cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
