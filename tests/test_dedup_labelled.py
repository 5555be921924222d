"""The labelled 查重 set of bench/dedup_labelled.py, on a small sample with exact expected
counts (issue 19 point 8): the product's keys and decision replayed, per duplicate kind and
per tier. When 查重 improves, these figures change on purpose; bench/RESULTS.md has the
full-size run."""

from __future__ import annotations

from bench.dedup_labelled import KINDS, evaluate, generate

# Today's three keys: the ID kinds are found by the ID once the validator has made the
# registrar type it again; the no-ID kinds by name or pinyin, except a near-homophone
# (林/玲) and a birth date a day off or day/month swapped, which no key bridges yet.
FOUND = {
    "exact": 20,
    "id_typo": 20,
    "id_transposed": 20,
    "missing_id": 20,
    "stray_spaces": 20,
    "homophone": 20,
    "traditional": 20,
    "wrong_sex": 20,
    "near_homophone": 0,
    "birth_off": 0,
}
FOUND_STRICT = 60
# Sent to review: 100 true pairs, and 19 of the 20 planted collisions (two children).
REVIEW = {"same": 100, "collision": 19}


def test_the_labelled_sample_gives_the_recorded_figures() -> None:
    data = generate(children=4000, schools=20, seed=3, duplicates_per_kind=20)
    outcome = evaluate(data)

    assert len(data.entries) == 4200
    assert all(outcome.planted[kind] == 20 for kind in KINDS)
    assert {kind: outcome.found[kind] for kind in KINDS} == FOUND
    # the strict tier (the same ID number) never joins two children
    assert outcome.strict["different"] == 0
    assert outcome.strict["same"] == FOUND_STRICT
    assert dict(outcome.review) == REVIEW
