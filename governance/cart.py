"""What the catalogue and a dataset's page tell a signed-in person about their own requests: the
datasets they already hold (an active grant, until its last day) or already have in an open
request, and their open drafts, which a dataset can join ("Add to draft TSR-AR-…?").

Requests and grants belong to `access`, a layer above: `AccessConfig.ready()` registers the
lookup here (`access.portal.cart.catalogue_cart`), as tokens/subjects.py does for visa subjects.
With nothing registered, or nobody signed in, the pages show no notices and "Request access"
starts a new request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict


class CartContext(TypedDict):
    holdings: dict  # dataset id -> {"until": date | None, "requests": [AccessRequest, ...]}
    drafts: list  # the person's open drafts, latest activity first


CatalogueCart = Callable[[object, list], CartContext]

_catalogue_cart: CatalogueCart | None = None


def register_catalogue_cart(lookup: CatalogueCart | None) -> None:
    """Set (or, with None, clear) the lookup of a person's holdings and drafts."""
    global _catalogue_cart  # the one registration point, set at start-up
    _catalogue_cart = lookup


def cart_for(user, datasets) -> CartContext:
    """The person's holdings among `datasets`, and their open drafts."""
    if _catalogue_cart is None or not getattr(user, "is_authenticated", False):
        return {"holdings": {}, "drafts": []}
    return _catalogue_cart(user, list(datasets))
