"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0) section 2.1, over ledger entries.

Pure functions over 32-byte SHA-256 hashes; nothing here knows Django or the database, so an
outside verifier can read this file alone. The definitions, with D[n] a list of n leaves and
k the largest power of two smaller than n:

    MTH({})      = SHA-256()                                    (the empty string)
    MTH({d(0)})  = SHA-256(0x00 || d(0))                         leaf_hash()
    MTH(D[n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   node_hash()

Every function below takes *leaf hashes* (already SHA-256(0x00 || entry)), not entries, so the
ledger can store one hash per entry and never re-read payloads to build a tree.

Generators (root, inclusion_proof, consistency_proof) raise ValueError for arguments no proof
can exist for. Verifiers (verify_inclusion, verify_consistency) never raise: anything malformed,
of the wrong type or length, or simply wrong returns False, because they are fed data from
outside (a witness, an API client) and a crash there would be a denial of service.

A verifier learns only the *shape* of a proof from the sizes it is given (which side each node
is hashed in), and different sizes can share a shape: the proof of leaf 0 in a tree of 5 also
verifies as "leaf 0 of 6" against the same root. So tree sizes and roots must be taken together
from one signed checkpoint, never the size from the caller and the root from elsewhere.

`CompactRange` keeps the O(log n) state (the roots of the perfect subtrees that make up the
first n leaves) from which the root of n + k leaves follows by hashing only the k new leaves.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_HASH_TYPES = (bytes, bytearray)


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf (RFC 9162 2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node (RFC 9162 2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, size), largest (leftmost) first.

    There is one subtree per set bit of `size`, so the state is at most 64 hashes for any
    ledger that will ever exist. Store `size` and `nodes` next to a checkpoint and the next
    checkpoint costs only the hashes of the entries appended since:

        state = CompactRange.from_state(size, nodes)
        state.extend(new_leaf_hashes)
        state.root()
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._nodes: list[bytes] = []

    @classmethod
    def from_state(cls, size: int, nodes: Sequence[bytes]) -> CompactRange:
        """Rebuild a range from a stored (size, nodes) pair; ValueError if they disagree."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"size must be a non-negative integer, not {size!r}")
        if len(nodes) != size.bit_count():
            raise ValueError(
                f"a range of {size} leaves has {size.bit_count()} nodes, not {len(nodes)}"
            )
        for node in nodes:
            _require_hash(node, "node")
        compact = cls()
        compact._size = size
        compact._nodes = [bytes(node) for node in nodes]
        return compact

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> list[bytes]:
        return list(self._nodes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash at position `size`."""
        _require_hash(leaf, "leaf hash")
        node = bytes(leaf)
        size = self._size
        nodes = self._nodes
        # Each trailing one bit of the old size is a perfect subtree of the same height as the
        # one being carried up, so they merge like a binary increment.
        while size & 1:
            node = hashlib.sha256(_NODE_PREFIX + nodes.pop() + node).digest()
            size >>= 1
        nodes.append(node)
        self._size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add leaf hashes in order; the tight loop of `root()` over millions of entries."""
        size = self._size
        nodes = self._nodes
        sha256 = hashlib.sha256
        for leaf in leaves:
            if type(leaf) is not bytes or len(leaf) != HASH_SIZE:
                _require_hash(leaf, "leaf hash")
                leaf = bytes(leaf)
            node = leaf
            carry = size
            while carry & 1:
                node = sha256(_NODE_PREFIX + nodes.pop() + node).digest()
                carry >>= 1
            nodes.append(node)
            size += 1
        self._size = size

    def root(self) -> bytes:
        """MTH of the leaves so far: fold the subtree roots from the right (RFC 9162 2.1.1)."""
        if not self._nodes:
            return EMPTY_ROOT
        result = self._nodes[-1]
        for node in reversed(self._nodes[:-1]):
            result = node_hash(node, result)
        return result

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"


def root(leaf_hashes: Sequence[bytes] | Iterable[bytes]) -> bytes:
    """MTH over the given leaf hashes: O(n) hashing, O(log n) memory, streams any iterable."""
    compact = CompactRange()
    compact.extend(leaf_hashes)
    return compact.root()


def _subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    # Indexes instead of slicing so that a proof in a tree of millions never copies the list.
    compact = CompactRange()
    compact.extend(leaf_hashes[i] for i in range(start, end))
    return compact.root()


def _check_size(leaf_hashes: Sequence[bytes], tree_size: int, name: str) -> None:
    if not isinstance(tree_size, int) or isinstance(tree_size, bool):
        raise ValueError(f"{name} must be an integer, not {tree_size!r}")
    if tree_size < 0:
        raise ValueError(f"{name} must not be negative, got {tree_size}")
    if tree_size > len(leaf_hashes):
        raise ValueError(f"{name} {tree_size} exceeds the {len(leaf_hashes)} leaves given")


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """PATH(index, D[tree_size]) of RFC 9162 2.1.3.1: sibling hashes from the leaf upwards.

    Only the first `tree_size` entries of `leaf_hashes` are used, so one list serves every
    checkpoint. Costs one pass of hashing over the tree, O(log n) memory.
    """
    _check_size(leaf_hashes, tree_size, "tree_size")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ValueError(f"index must be an integer, not {index!r}")
    if not 0 <= index < tree_size:
        raise ValueError(f"index {index} is outside a tree of {tree_size} leaves")
    # PATH recurses into the half holding the leaf and appends the other half's root, so the
    # siblings come out top-down; the proof lists them bottom-up.
    siblings: list[bytes] = []
    start, end = 0, tree_size
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            siblings.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            siblings.append(_subtree_root(leaf_hashes, start, start + k))
            start += k
    siblings.reverse()
    return siblings


def consistency_proof(
    leaf_hashes: Sequence[bytes], first_size: int, second_size: int
) -> list[bytes]:
    """PROOF(first_size, D[second_size]) of RFC 9162 2.1.4.1.

    Empty when first_size is 0 or equals second_size: the empty tree and a tree itself are
    trivially consistent, and the verifier then only compares roots.
    """
    _check_size(leaf_hashes, second_size, "second_size")
    if not isinstance(first_size, int) or isinstance(first_size, bool):
        raise ValueError(f"first_size must be an integer, not {first_size!r}")
    if not 0 <= first_size <= second_size:
        raise ValueError(f"first_size {first_size} must be between 0 and second_size {second_size}")
    if first_size in (0, second_size):
        return []
    # SUBPROOF(m, D[start:end], b), unrolled; nodes are collected top-down and reversed.
    nodes: list[bytes] = []
    m, start, end, whole = first_size, 0, second_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            nodes.append(_subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            nodes.append(_subtree_root(leaf_hashes, start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        nodes.append(_subtree_root(leaf_hashes, start, end))
    nodes.reverse()
    return nodes


def _is_hash(value: object) -> bool:
    return isinstance(value, _HASH_TYPES) and len(value) == HASH_SIZE


def _require_hash(value: object, name: str) -> None:
    if not _is_hash(value):
        raise ValueError(f"{name} must be {HASH_SIZE} bytes, got {type(value).__name__}")


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_proof(proof: object) -> bool:
    return isinstance(proof, (list, tuple)) and all(_is_hash(node) for node in proof)


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` place `leaf_hash` at `index` in the tree with `root`?"""
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_proof(proof)):
        return False
    if not (_is_size(index) and _is_size(tree_size)) or index >= tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False  # more nodes than the path has levels
        if fn & 1 or fn == sn:
            r = node_hash(bytes(p), r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, bytes(p))
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, bytes(root))


def verify_consistency(
    first_size: int,
    second_size: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (first_size, first_root) a prefix of the second one?

    The RFC defines proofs for 0 < first_size < second_size. At the edges: equal sizes are
    consistent exactly when the roots are equal and the proof is empty; size 0 is consistent
    with every tree when first_root is the empty-tree hash and the proof is empty.
    """
    if not (_is_hash(first_root) and _is_hash(second_root) and _is_proof(proof)):
        return False
    if not (_is_size(first_size) and _is_size(second_size)) or first_size > second_size:
        return False
    first_root, second_root = bytes(first_root), bytes(second_root)
    if first_size == 0:
        return not proof and hmac.compare_digest(first_root, EMPTY_ROOT)
    if first_size == second_size:
        return not proof and hmac.compare_digest(first_root, second_root)
    if not proof:
        return False
    path = [bytes(node) for node in proof]
    if first_size & (first_size - 1) == 0:
        # A power-of-two first tree is itself a node of the second, so the proof omits it.
        path.insert(0, first_root)
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False  # more nodes than the trees have levels
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, first_root) and hmac.compare_digest(sr, second_root)
