"""Where a webhook may be sent: https only, and never into the operator's own network (server-side
request forgery). The host is resolved and every address it resolves to is checked, when a
subscription is saved and again before each delivery (a name may be re-pointed later).
`WEBHOOKS_ALLOW_LOOPBACK` (tests, local development) admits plain http to loopback addresses."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.core.config import get_settings
from app.webhooks.errors import WebhookUrlRefused

RESOLVE_SECONDS = 5  # a name that does not resolve in time is refused, not waited for


def _address_allowed(address: str, *, loopback: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return loopback
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved and
    # unspecified ranges; multicast is never an endpoint.
    return ip.is_global and not ip.is_multicast


async def check_url(url: str) -> None:
    """422 `webhook.url_refused` unless `url` may receive webhooks."""
    loopback = get_settings().webhooks_allow_loopback
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlRefused("The URL is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlRefused("The URL must be https://host/...")
    if parts.username or parts.password:
        raise WebhookUrlRefused("The URL may not carry credentials")
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port or 443,
                                                                 type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError):
        raise WebhookUrlRefused(f"The host {parts.hostname} does not resolve") from None
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(_address_allowed(a, loopback=loopback) for a in addresses):
        raise WebhookUrlRefused(f"The host {parts.hostname} resolves to an address webhooks may not reach")
    if parts.scheme == "http" and not (loopback and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback
                                                        for a in addresses)):
        raise WebhookUrlRefused("The URL must be https")
