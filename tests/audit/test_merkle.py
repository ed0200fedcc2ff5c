"""audit.merkle against published vectors and a naive reimplementation of RFC 9162 section 2.1.

The reference below is written straight from the RFC's recursive definitions (MTH, PATH,
PROOF/SUBPROOF), slicing lists as the text does, and hashes with hashlib itself; it shares no
code with the module under test.
"""

from __future__ import annotations

import functools
import hashlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle

# --- the naive reference (RFC 9162 2.1.1, 2.1.3.1, 2.1.4.1) ----------------------------------


def ref_sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: list[bytes]) -> bytes:
    n = len(entries)
    if n == 0:
        return ref_sha256(b"")
    if n == 1:
        return ref_sha256(b"\x00" + entries[0])
    k = ref_k(n)
    return ref_sha256(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:]))


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    n = len(entries)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    n = len(entries)
    if m == n:
        return [] if b else [ref_mth(entries)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, entries[:k], b), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


def ref_proof(m: int, entries: list[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


# The shape of a proof is all a verifier learns from (index, size) or (first, second): on which
# side each node is hashed in, and (consistency) whether the first root seeds the walk. Two
# positions with the same shape are indistinguishable to any RFC 9162 verifier, which is why
# the tree size a root belongs to has to come from a signed checkpoint, not from the caller.


@functools.cache
def ref_path_shape(m: int, n: int) -> tuple[str, ...]:
    if n == 1:
        return ()
    k = ref_k(n)
    if m < k:
        return (*ref_path_shape(m, k), "sibling on the right")
    return (*ref_path_shape(m - k, n - k), "sibling on the left")


@functools.cache
def ref_proof_shape(m: int, n: int, b: bool = True) -> tuple[bool, tuple[str, ...]]:
    if m == n:
        return b, ()
    k = ref_k(n)
    if m <= k:
        seeded_by_first_root, sides = ref_proof_shape(m, k, b)
        return seeded_by_first_root, (*sides, "right")
    seeded_by_first_root, sides = ref_proof_shape(m - k, n - k, False)
    return seeded_by_first_root, (*sides, "left")


# --- fixtures of data --------------------------------------------------------------------------

MAX_SIZE = 64
ENTRIES = [f"ledger entry {i}".encode() for i in range(300)]
LEAF_HASHES = [ref_sha256(b"\x00" + entry) for entry in ENTRIES]
ROOTS = [ref_mth(ENTRIES[:n]) for n in range(MAX_SIZE + 2)]
ARBITRARY_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def flip_bit(node: bytes, bit: int) -> bytes:
    changed = bytearray(node)
    changed[bit // 8 % len(changed)] ^= 1 << (bit % 8)
    return bytes(changed)


def proof_mutations(proof: list[bytes], root: bytes) -> list[tuple[str, list[bytes]]]:
    """Every way the brief asks a proof to be broken: flipped bits, extra and missing nodes."""
    mutations = []
    for i, node in enumerate(proof):
        for bit in (0, 7, 8 * i + 3, 255):
            mutations.append(
                (
                    f"bit {bit} of node {i} flipped",
                    [*proof[:i], flip_bit(node, bit), *proof[i + 1 :]],
                )
            )
        mutations.append((f"node {i} missing", proof[:i] + proof[i + 1 :]))
        mutations.append((f"node {i} repeated", proof[: i + 1] + proof[i:]))
    for position in range(len(proof) + 1):
        for extra in (ARBITRARY_HASH, root, merkle.EMPTY_ROOT):
            mutations.append(
                (f"extra node at {position}", [*proof[:position], extra, *proof[position:]])
            )
    if len(proof) > 1:
        mutations.append(("nodes swapped", [proof[1], proof[0], *proof[2:]]))
        mutations.append(("nodes reversed", proof[::-1]))
    return mutations


# --- published test vectors ------------------------------------------------------------------
# From transparency-dev/merkle, proof/verify_test.go (`leaves`, `roots`, `inclusionProofs`,
# `consistencyProofs`), the vectors Trillian and the Go CT libraries test against; the same
# leaves and roots appear in google/certificate-transparency's C++ merkle_tree_test.cc. There
# leaf numbers in inclusion vectors are 1-based; they are 0-based here.

VECTOR_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VECTOR_ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
VECTOR_INCLUSION = [  # (index, tree_size, proof)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
VECTOR_CONSISTENCY = [  # (first_size, second_size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
VECTOR_LEAF_HASHES = [merkle.leaf_hash(entry) for entry in VECTOR_ENTRIES]


def test_empty_tree_root_is_the_sha256_of_nothing():
    assert merkle.root([]) == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.root([]) == merkle.EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated_sha256():
    assert merkle.leaf_hash(b"") == VECTOR_ROOTS[0]  # the one-leaf tree of the empty entry
    assert merkle.leaf_hash(b"abc") == ref_sha256(b"\x00abc")
    assert merkle.node_hash(b"L" * 32, b"R" * 32) == ref_sha256(b"\x01" + b"L" * 32 + b"R" * 32)
    assert merkle.leaf_hash(b"\x01" + b"x" * 64) != merkle.node_hash(b"x" * 32, b"x" * 32)


@pytest.mark.parametrize("size", range(1, 9))
def test_root_matches_published_vector(size):
    assert merkle.root(VECTOR_LEAF_HASHES[:size]) == VECTOR_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), VECTOR_INCLUSION)
def test_inclusion_proof_matches_published_vector(index, size, proof):
    expected = [bytes.fromhex(node) for node in proof]
    leaf = VECTOR_LEAF_HASHES[index]
    root = VECTOR_ROOTS[size - 1]
    assert merkle.inclusion_proof(VECTOR_LEAF_HASHES, index, size) == expected
    assert merkle.verify_inclusion(leaf, index, size, expected, root)
    for description, broken in proof_mutations(expected, root):
        assert not merkle.verify_inclusion(leaf, index, size, broken, root), description


@pytest.mark.parametrize(("index", "size", "proof"), VECTOR_INCLUSION)
def test_published_inclusion_corruptions_are_rejected(index, size, proof):
    # The probe list of corruptInclusionProof() in the same Go file.
    nodes = [bytes.fromhex(node) for node in proof]
    leaf = VECTOR_LEAF_HASHES[index]
    root = VECTOR_ROOTS[size - 1]
    probes = [
        (index - 1, size, root, leaf, nodes),
        (index + 1, size, root, leaf, nodes),
        (index ^ 2, size, root, leaf, nodes),
        (index, size * 2, root, leaf, nodes),
        (index, size // 2, root, leaf, nodes),
        (index, size, root, b"WrongLeaf", nodes),
        (index, size, merkle.EMPTY_ROOT, leaf, nodes),
        (index, size, ARBITRARY_HASH, leaf, nodes),
        (index, size, root, leaf, [*nodes, b""]),
        (index, size, root, leaf, [*nodes, root]),
        (index, size, root, leaf, [b"", *nodes]),
        (index, size, root, leaf, [root, *nodes]),
    ]
    for probe in probes:
        probe_index, probe_size, probe_root, probe_leaf, probe_proof = probe
        assert not merkle.verify_inclusion(
            probe_leaf, probe_index, probe_size, probe_proof, probe_root
        ), probe[:2]


@pytest.mark.parametrize(("first", "second", "proof"), VECTOR_CONSISTENCY)
def test_consistency_proof_matches_published_vector(first, second, proof):
    expected = [bytes.fromhex(node) for node in proof]
    first_root, second_root = VECTOR_ROOTS[first - 1], VECTOR_ROOTS[second - 1]
    assert merkle.consistency_proof(VECTOR_LEAF_HASHES, first, second) == expected
    assert merkle.verify_consistency(first, second, first_root, second_root, expected)
    if not expected:
        return
    for description, broken in proof_mutations(expected, second_root):
        assert not merkle.verify_consistency(first, second, first_root, second_root, broken), (
            description
        )
    # The probe list of corruptConsistencyProof() in the same Go file.
    probes = [
        (first - 1, second, first_root, second_root, expected),
        (first + 1, second, first_root, second_root, expected),
        (first ^ 2, second, first_root, second_root, expected),
        (first, second * 2, first_root, second_root, expected),
        (first, second // 2, first_root, second_root, expected),
        (first, second, ARBITRARY_HASH, second_root, expected),
        (first, second, first_root, ARBITRARY_HASH, expected),
        (first, second, second_root, first_root, expected),
        (first, second, first_root, second_root, []),
    ]
    for probe in probes:
        assert not merkle.verify_consistency(*probe), probe[:2]


# --- every size up to 64 against the naive reference -------------------------------------------


def test_root_equals_reference_for_every_size_up_to_64():
    for n in range(MAX_SIZE + 1):
        assert merkle.root(LEAF_HASHES[:n]) == ROOTS[n], n


def test_leaf_hash_equals_reference():
    assert [merkle.leaf_hash(entry) for entry in ENTRIES] == LEAF_HASHES


@pytest.mark.parametrize("n", range(1, MAX_SIZE + 1))
def test_every_inclusion_proof_equals_reference_and_verifies(n):
    for index in range(n):
        proof = merkle.inclusion_proof(LEAF_HASHES, index, n)
        assert proof == ref_path(index, ENTRIES[:n]), (index, n)
        assert merkle.verify_inclusion(LEAF_HASHES[index], index, n, proof, ROOTS[n])


@pytest.mark.parametrize("n", range(1, MAX_SIZE + 1))
def test_every_broken_inclusion_proof_is_rejected(n):
    root = ROOTS[n]
    for index in range(n):
        proof = merkle.inclusion_proof(LEAF_HASHES, index, n)
        leaf = LEAF_HASHES[index]
        for description, broken in proof_mutations(proof, root):
            assert not merkle.verify_inclusion(leaf, index, n, broken, root), (
                index,
                n,
                description,
            )
        for bit in (0, 100, 255):
            assert not merkle.verify_inclusion(flip_bit(leaf, bit), index, n, proof, root)
            assert not merkle.verify_inclusion(leaf, index, n, proof, flip_bit(root, bit))
        for other_root in (ROOTS[n - 1], ROOTS[n + 1], merkle.EMPTY_ROOT):
            assert not merkle.verify_inclusion(leaf, index, n, proof, other_root)
        # Another leaf's hash at this position, and this leaf at every other position.
        for other in range(n):
            if other != index:
                assert not merkle.verify_inclusion(LEAF_HASHES[other], index, n, proof, root)
                assert not merkle.verify_inclusion(leaf, other, n, proof, root), (index, other, n)


def test_inclusion_proof_verifies_at_another_size_only_when_the_rfc_cannot_tell_them_apart():
    """A wrong tree size fails unless PATH has the very same shape at both sizes.

    Example: leaf 0 has siblings on the right at every level in trees of 5 and of 6 leaves, so
    the same three nodes are hashed the same way; such pairs pass any RFC 9162 verifier.
    """
    aliased = rejected = 0
    for n in range(1, MAX_SIZE + 1):
        for index in range(n):
            proof = merkle.inclusion_proof(LEAF_HASHES, index, n)
            shape = ref_path_shape(index, n)
            for other_size in range(0, 2 * MAX_SIZE + 2):
                if other_size == n:
                    continue
                same_shape = index < other_size and ref_path_shape(index, other_size) == shape
                verified = merkle.verify_inclusion(
                    LEAF_HASHES[index], index, other_size, proof, ROOTS[n]
                )
                assert verified == same_shape, (index, n, other_size)
                aliased += same_shape
                rejected += not same_shape
    assert rejected > aliased > 0


@pytest.mark.parametrize("n", range(1, MAX_SIZE + 1))
def test_every_consistency_proof_equals_reference_and_verifies(n):
    for m in range(0, n + 1):
        proof = merkle.consistency_proof(LEAF_HASHES, m, n)
        expected = ref_proof(m, ENTRIES[:n]) if 0 < m < n else []
        assert proof == expected, (m, n)
        assert merkle.verify_consistency(m, n, ROOTS[m], ROOTS[n], proof), (m, n)


@pytest.mark.parametrize("n", range(2, MAX_SIZE + 1))
def test_every_broken_consistency_proof_is_rejected(n):
    second_root = ROOTS[n]
    for m in range(1, n):
        first_root = ROOTS[m]
        proof = merkle.consistency_proof(LEAF_HASHES, m, n)
        for description, broken in proof_mutations(proof, second_root):
            assert not merkle.verify_consistency(m, n, first_root, second_root, broken), (
                m,
                n,
                description,
            )
        assert not merkle.verify_consistency(m, n, first_root, second_root, [])
        assert not merkle.verify_consistency(m, n, second_root, first_root, proof)
        for bit in (0, 100, 255):
            assert not merkle.verify_consistency(
                m, n, flip_bit(first_root, bit), second_root, proof
            )
            assert not merkle.verify_consistency(
                m, n, first_root, flip_bit(second_root, bit), proof
            )
        for other in range(MAX_SIZE + 1):
            if other not in (m, n):
                assert not merkle.verify_consistency(m, n, ROOTS[other], second_root, proof)
                assert not merkle.verify_consistency(m, n, first_root, ROOTS[other], proof)


def test_consistency_proof_verifies_at_other_sizes_only_when_the_rfc_cannot_tell_them_apart():
    aliased = rejected = 0
    for n in range(2, MAX_SIZE + 1):
        for m in range(1, n):
            proof = merkle.consistency_proof(LEAF_HASHES, m, n)
            shape = ref_proof_shape(m, n)
            others = {
                *((first, n) for first in range(0, n + 2)),
                *((m, second) for second in range(0, 2 * n + 2)),
                *itertools.product((m - 1, m, m + 1), (n - 1, n, n + 1)),
            } - {(m, n)}
            for other_first, other_second in sorted(others):
                same_shape = (
                    0 < other_first < other_second
                    and ref_proof_shape(other_first, other_second) == shape
                )
                verified = merkle.verify_consistency(
                    other_first, other_second, ROOTS[m], ROOTS[n], proof
                )
                assert verified == same_shape, (m, n, other_first, other_second)
                aliased += same_shape
                rejected += not same_shape
    assert rejected > aliased > 0


def test_equal_sizes_are_consistent_only_with_equal_roots_and_no_proof():
    for n in range(1, 10):
        assert merkle.verify_consistency(n, n, ROOTS[n], ROOTS[n], [])
        assert not merkle.verify_consistency(n, n, ROOTS[n], ROOTS[n + 1], [])
        assert not merkle.verify_consistency(n, n, ROOTS[n], ROOTS[n], [ROOTS[n]])


def test_the_empty_tree_is_consistent_with_every_tree_but_only_under_the_empty_root():
    for n in range(0, 10):
        assert merkle.verify_consistency(0, n, merkle.EMPTY_ROOT, ROOTS[n], [])
        assert not merkle.verify_consistency(0, n, ARBITRARY_HASH, ROOTS[n], [])
        assert not merkle.verify_consistency(0, n, merkle.EMPTY_ROOT, ROOTS[n], [ROOTS[n]])


# --- incremental roots -------------------------------------------------------------------------


def test_compact_range_gives_every_intermediate_root():
    compact = merkle.CompactRange()
    assert compact.root() == ROOTS[0]
    for n in range(1, MAX_SIZE + 1):
        compact.append(LEAF_HASHES[n - 1])
        assert compact.size == n
        assert len(compact.nodes) == bin(n).count("1")
        assert compact.root() == ROOTS[n]


def test_checkpoint_can_continue_from_stored_state_without_rehashing_old_leaves():
    for stored_size in range(0, 40):
        before = merkle.CompactRange()
        before.extend(LEAF_HASHES[:stored_size])
        resumed = merkle.CompactRange.from_state(before.size, before.nodes)
        # Old leaves are not handed over at all: only the new ones.
        resumed.extend(iter(LEAF_HASHES[stored_size:MAX_SIZE]))
        assert resumed.root() == ROOTS[MAX_SIZE], stored_size


@pytest.mark.parametrize(
    ("size", "nodes"),
    [
        (-1, []),
        (True, [LEAF_HASHES[0]]),
        (3, [LEAF_HASHES[0]]),
        (2, [LEAF_HASHES[0], LEAF_HASHES[1]]),
        (1, [b"short"]),
        (1, ["not bytes" * 4]),
    ],
)
def test_compact_range_refuses_inconsistent_state(size, nodes):
    with pytest.raises(ValueError):
        merkle.CompactRange.from_state(size, nodes)


def test_root_accepts_a_stream_without_materialising_it():
    stream = (ref_sha256(b"\x00" + entry) for entry in ENTRIES[:MAX_SIZE])
    assert merkle.root(stream) == ROOTS[MAX_SIZE]


def test_root_of_a_large_tree_agrees_with_the_recursive_definition_on_its_halves():
    # 2**16 + 3 leaves: MTH splits at 2**16, so the root is node_hash(left half, the 3 left over).
    size = 2**16 + 3
    leaves = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size)]
    left = merkle.root(leaves[: 2**16])
    right = ref_sha256(
        b"\x01" + ref_sha256(b"\x01" + leaves[2**16] + leaves[2**16 + 1]) + leaves[2**16 + 2]
    )
    assert merkle.root(leaves) == ref_sha256(b"\x01" + left + right)
    proof = merkle.inclusion_proof(leaves, size - 1, size)
    assert merkle.verify_inclusion(leaves[-1], size - 1, size, proof, merkle.root(leaves))
    proof = merkle.consistency_proof(leaves, 2**16 - 5, size)
    assert merkle.verify_consistency(
        2**16 - 5, size, merkle.root(leaves[: 2**16 - 5]), merkle.root(leaves), proof
    )


# --- argument checking -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "tree_size", "message"),
    [
        (0, 0, "outside a tree of 0"),
        (5, 5, "outside a tree of 5"),
        (-1, 5, "outside"),
        (0, 11, "exceeds the 10 leaves"),
        (0, -1, "must not be negative"),
        (True, 5, "index must be an integer"),
        (0, 2.0, "tree_size must be an integer"),
    ],
)
def test_inclusion_proof_refuses_impossible_arguments(index, tree_size, message):
    with pytest.raises(ValueError, match=message):
        merkle.inclusion_proof(LEAF_HASHES[:10], index, tree_size)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (6, 5, "between 0 and second_size 5"),
        (-1, 5, "between 0 and"),
        (0, 11, "exceeds the 10 leaves"),
        (1.0, 5, "first_size must be an integer"),
        (1, None, "second_size must be an integer"),
    ],
)
def test_consistency_proof_refuses_impossible_arguments(first, second, message):
    with pytest.raises(ValueError, match=message):
        merkle.consistency_proof(LEAF_HASHES[:10], first, second)


def test_generators_reject_leaf_hashes_of_the_wrong_length():
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.root([LEAF_HASHES[0], b"too short"])
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.root([LEAF_HASHES[0], "a str of thirty-two characters.."])


GARBAGE = [None, "", "x" * 32, 0, -1, 1.5, True, [], b"", b"x" * 31, b"x" * 33, object()]


def test_inclusion_verifier_returns_false_for_garbage_and_never_raises():
    good = (LEAF_HASHES[2], 2, 5, merkle.inclusion_proof(LEAF_HASHES, 2, 5), ROOTS[5])
    assert merkle.verify_inclusion(*good)
    for position in range(5):
        for junk in GARBAGE:
            arguments = list(good)
            arguments[position] = junk
            assert merkle.verify_inclusion(*arguments) is False, (position, junk)
    for junk in GARBAGE:
        assert merkle.verify_inclusion(good[0], 2, 5, [*good[3][:-1], junk], good[4]) is False
    for huge in (2**64, 2**200):
        assert merkle.verify_inclusion(good[0], 2, huge, good[3], good[4]) is False
        assert merkle.verify_inclusion(good[0], huge, huge + 1, good[3], good[4]) is False
    assert merkle.verify_inclusion(LEAF_HASHES[0], 0, 0, [], merkle.EMPTY_ROOT) is False


def test_consistency_verifier_returns_false_for_garbage_and_never_raises():
    good = (3, 7, ROOTS[3], ROOTS[7], merkle.consistency_proof(LEAF_HASHES, 3, 7))
    assert merkle.verify_consistency(*good)
    for position in range(5):
        for junk in GARBAGE:
            arguments = list(good)
            arguments[position] = junk
            assert merkle.verify_consistency(*arguments) is False, (position, junk)
    for junk in GARBAGE:
        assert merkle.verify_consistency(3, 7, ROOTS[3], ROOTS[7], [*good[4][:-1], junk]) is False
    for huge in (2**64, 2**200):
        assert merkle.verify_consistency(3, huge, ROOTS[3], ROOTS[7], good[4]) is False
        assert merkle.verify_consistency(huge, huge + 1, ROOTS[3], ROOTS[7], good[4]) is False
    assert merkle.verify_consistency(7, 3, ROOTS[7], ROOTS[3], good[4]) is False


def test_verifiers_accept_bytearray_as_well_as_bytes():
    proof = [bytearray(node) for node in merkle.inclusion_proof(LEAF_HASHES, 1, 3)]
    assert merkle.verify_inclusion(bytearray(LEAF_HASHES[1]), 1, 3, proof, bytearray(ROOTS[3]))
    proof = [bytearray(node) for node in merkle.consistency_proof(LEAF_HASHES, 3, 7)]
    assert merkle.verify_consistency(3, 7, bytearray(ROOTS[3]), ROOTS[7], tuple(proof))


# --- properties --------------------------------------------------------------------------------

SIZES = st.integers(min_value=1, max_value=len(LEAF_HASHES))


@st.composite
def mutated(draw, proof: list[bytes]) -> list[bytes]:
    kind = draw(st.sampled_from(["flip", "drop", "insert"] if proof else ["insert"]))
    if kind == "flip":
        i = draw(st.integers(0, len(proof) - 1))
        return [*proof[:i], flip_bit(proof[i], draw(st.integers(0, 255))), *proof[i + 1 :]]
    if kind == "drop":
        i = draw(st.integers(0, len(proof) - 1))
        return proof[:i] + proof[i + 1 :]
    i = draw(st.integers(0, len(proof)))
    return [*proof[:i], draw(st.binary(min_size=32, max_size=32)), *proof[i:]]


@settings(max_examples=300, deadline=None)
@given(n=SIZES, data=st.data())
def test_property_inclusion_proofs_verify_and_any_mutation_breaks_them(n, data):
    index = data.draw(st.integers(0, n - 1))
    root = merkle.root(LEAF_HASHES[:n])
    proof = merkle.inclusion_proof(LEAF_HASHES, index, n)
    assert merkle.verify_inclusion(LEAF_HASHES[index], index, n, proof, root)
    broken = data.draw(mutated(proof))
    assert not merkle.verify_inclusion(LEAF_HASHES[index], index, n, broken, root)


@settings(max_examples=300, deadline=None)
@given(n=SIZES, data=st.data())
def test_property_consistency_proofs_verify_and_any_mutation_breaks_them(n, data):
    m = data.draw(st.integers(0, n))
    first_root, second_root = merkle.root(LEAF_HASHES[:m]), merkle.root(LEAF_HASHES[:n])
    proof = merkle.consistency_proof(LEAF_HASHES, m, n)
    assert merkle.verify_consistency(m, n, first_root, second_root, proof)
    broken = data.draw(mutated(proof))
    assert not merkle.verify_consistency(m, n, first_root, second_root, broken)


@settings(max_examples=200, deadline=None)
@given(
    entries=st.lists(st.binary(max_size=40), min_size=1, max_size=40),
    data=st.data(),
)
def test_property_module_agrees_with_reference_on_arbitrary_entries(entries, data):
    leaves = [merkle.leaf_hash(entry) for entry in entries]
    n = len(entries)
    assert merkle.root(leaves) == ref_mth(entries)
    index = data.draw(st.integers(0, n - 1))
    assert merkle.inclusion_proof(leaves, index, n) == ref_path(index, entries)
    m = data.draw(st.integers(1, n))
    expected = ref_proof(m, entries) if m < n else []
    assert merkle.consistency_proof(leaves, m, n) == expected
    assert merkle.verify_consistency(m, n, ref_mth(entries[:m]), ref_mth(entries), expected)
