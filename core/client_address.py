"""The client's address, as far as Tessera can vouch for it.

`REMOTE_ADDR` is the peer of the TCP connection: behind nginx, the proxy. The proxy appends the
peer it saw to `X-Forwarded-For` (`$proxy_add_x_forwarded_for`), but everything to the left of
that was written by the client and may be forged. So the header is read only when the request
came from a proxy listed in `TESSERA_TRUSTED_PROXIES`, and from the right: the first address
that is not itself a trusted proxy is the client. A malformed entry stops the walk at the last
address a trusted proxy vouched for.

One function for every consumer: the ledger (audit.middleware), the login lockout (django-axes,
`AXES_CLIENT_IP_CALLABLE`) and the API throttles.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """`TESSERA_TRUSTED_PROXIES` parsed: addresses and CIDR ranges, IPv4 or IPv6."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TESSERA_TRUSTED_PROXIES: {entry!r} is not an address or a CIDR range"
            ) from exc
    return tuple(networks)


def _parse(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:192.0.2.1) is that IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(request) -> str:
    """The address of the client that sent `request` (see the module docstring)."""
    remote_text = request.META.get("REMOTE_ADDR", "") or ""
    remote = _parse(remote_text)
    networks = trusted_networks(tuple(getattr(settings, "TESSERA_TRUSTED_PROXIES", ())))
    if remote is None:
        return remote_text
    if not networks or not _trusted(remote, networks):
        return str(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = remote
    for entry in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _parse(entry)
        if address is None:
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)
