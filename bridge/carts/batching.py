"""Splitting SKU lists for platforms that take them comma-joined in a URL query."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import quote


def sku_chunks(skus: Sequence[str], max_count: int, max_chars: int) -> Iterator[list[str]]:
    """Chunks of at most `max_count` SKUs whose encoded, comma-joined filter stays under
    `max_chars` (request lines have a length limit on every server)."""
    chunk: list[str] = []
    length = 0
    for sku in skus:
        size = len(quote(sku, safe="")) + 3  # the comma, encoded
        if chunk and (len(chunk) == max_count or length + size > max_chars):
            yield chunk
            chunk, length = [], 0
        chunk.append(sku)
        length += size
    if chunk:
        yield chunk
