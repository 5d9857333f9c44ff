"""The bench patrons' API tokens, known to both sides without Django: the data builder stores
their hashes, the load generator sends them."""

import hashlib


def patron_token(n: int) -> str:
    """The raw patron token of ``b<n>@patrons.example``: derived from ``n`` so that the load
    generator knows it without asking (bench data only; real tokens are random)."""
    return f"bench{n:06d}-" + hashlib.sha256(f"bench-patron-{n}".encode()).hexdigest()[:32]
