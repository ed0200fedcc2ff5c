"""The canonical encoding: the documented form, and orjson's fast path byte-identical to it."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.canonical import GENESIS_HASH, encode, encode_fast, entry_hash

ENTRY = {
    "seq": 7,
    "occurred_at": datetime(2026, 11, 27, 10, 0, 0, 5, tzinfo=UTC),
    "event_type": "governance.dataset_published",
    "actor_id": "5f0c",
    "actor_kind": "user",
    "target_type": "governance.dataset",
    "target_id": "TSR-DS-000001",
    "payload": {"z": [1, {"b": None, "a": True}], "é": "ü\n"},
    "request_id": "r1",
    "client_addr": "127.0.0.1",
    "prev_hash": GENESIS_HASH,
}

# Our event helpers never write floats (see test_float_payloads_... for why that matters).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def test_encoding_is_sorted_compact_utf8_with_microsecond_utc_time():
    expected = (
        '{"actor_id":"5f0c","actor_kind":"user","client_addr":"127.0.0.1",'
        '"event_type":"governance.dataset_published","occurred_at":"2026-11-27T10:00:00.000005Z",'
        '"payload":{"z":[1,{"a":true,"b":null}],"é":"ü\\n"},"prev_hash":"' + "0" * 64 + '",'
        '"request_id":"r1","seq":7,"target_id":"TSR-DS-000001","target_type":"governance.dataset"}'
    ).encode()
    assert encode(ENTRY) == expected
    assert entry_hash(ENTRY) == hashlib.sha256(expected).hexdigest()


def test_fields_outside_the_hashed_set_do_not_change_the_hash():
    assert entry_hash({**ENTRY, "hash": "x", "pending_id": 3}) == entry_hash(ENTRY)


@settings(max_examples=400, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_orjson_fast_path_is_byte_identical_to_the_reference(payload):
    entry = {**ENTRY, "payload": payload}
    assert encode_fast(entry) == encode(entry)


@settings(max_examples=200, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_payload_read_back_from_json_text_encodes_the_same(payload):
    # The sequencer and the verifier hash the payload as parsed back from the database's text.
    text = json.dumps(payload)
    entry = {**ENTRY, "payload": json.loads(text)}
    assert encode_fast(entry) == encode({**ENTRY, "payload": payload})


def test_every_control_character_and_non_bmp_character_encodes_identically():
    text = "".join(chr(c) for c in [*range(0, 0x20), 0x7F, 0x2028, 0x2029, 0xFEFF, 0x1F600])
    entry = {**ENTRY, "payload": {text: text}}
    assert encode_fast(entry) == encode(entry)


def test_float_payloads_can_differ_in_orjson_so_the_verifier_needs_its_fallback():
    entry = {**ENTRY, "payload": {"ratio": 1e-05}}
    assert encode(entry) != encode_fast(entry)
    assert b'"ratio":1e-05' in encode(entry)


def test_integers_beyond_64_bits_fall_back_to_the_reference():
    entry = {**ENTRY, "payload": {"big": 2**70}}
    assert encode_fast(entry) == encode(entry)
