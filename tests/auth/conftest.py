from collections.abc import AsyncIterator, Callable

import httpx
import pytest


@pytest.fixture
async def client_from(app) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """client_from("203.0.113.7") → a client whose requests come from that address."""
    clients: dict[str, httpx.AsyncClient] = {}

    def make(address: str) -> httpx.AsyncClient:
        if address not in clients:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 40000))
            clients[address] = httpx.AsyncClient(transport=transport, base_url="http://test")
        return clients[address]

    yield make
    for c in clients.values():
        await c.aclose()


def strip_volatile(response: httpx.Response) -> dict:
    return {k: v for k, v in response.json().items() if k != "request_id"}
