"""The labelled 查重 set of bench/dedup_labelled.py, on a small sample with exact expected
counts (issue 19 point 8): the product's keys (student_index.keys.identity_keys, the near
keys included) and decision (keys.match_kind) replayed, per duplicate kind and per tier.
When 查重 improves, these figures change on purpose; bench/RESULTS.md has the full-size
run on three seeds."""

from __future__ import annotations

from bench.dedup_labelled import KINDS, evaluate, generate

# Every kind is found: the ID kinds by the ID once the validator has made the registrar
# type it again; the no-ID kinds by the name, pinyin or near keys (a near-homophone such
# as 林/玲 by the folded pinyin, a birth date a day off or day/month swapped by the birth
# keys). One near-homophone of a two-character name reaches only the low-priority list.
FOUND = dict.fromkeys(KINDS, 20)
FOUND_BY_TIER = {
    ("exact", "duplicate"): 20,
    ("id_typo", "duplicate"): 20,
    ("id_transposed", "duplicate"): 20,
    ("missing_id", "suspected"): 20,
    ("stray_spaces", "suspected"): 20,
    ("homophone", "suspected"): 20,
    ("traditional", "suspected"): 20,
    ("wrong_sex", "suspected"): 20,
    ("near_homophone", "suspected"): 19,
    ("near_homophone", "low"): 1,
    ("birth_off", "suspected"): 20,
}
FOUND_STRICT = 60
# Sent to review: 139 pairs, all the same child (the 19 planted collisions with two ID
# numbers went to the low-priority list by the twin guard).
REVIEW = {"same": 139}
# The low-priority list (never blocks): 19 planted collisions, one twin pair, five other
# different children, and the one near-homophone above.
LOW = {"same": 1, "collision": 19, "twin": 1, "different": 5}


def test_the_labelled_sample_gives_the_recorded_figures() -> None:
    data = generate(children=4000, schools=20, seed=3, duplicates_per_kind=20)
    outcome = evaluate(data)

    assert len(data.entries) == 4200
    assert all(outcome.planted[kind] == 20 for kind in KINDS)
    assert {kind: outcome.found[kind] for kind in KINDS} == FOUND
    assert dict(outcome.found_by) == FOUND_BY_TIER
    # the strict tier (the same ID number) never joins two children
    assert outcome.strict["different"] == 0
    assert outcome.strict["same"] == FOUND_STRICT
    assert dict(outcome.review) == REVIEW
    assert dict(outcome.low) == LOW
