"""The coverage corpus (test/corpus/*.json, see corpus.py): every case, translated from a peer's regression suite,
runs on a DuckLake with a DuckDB-file catalog; after every batch of changes the model's table must equal a full run
of its query, and the case's outcome (incremental, full, refused or failed, with the message) must be the one
recorded in its `expect` field (`python test/python/corpus.py --record` rewrites them from a run)."""
import pytest

import corpus
import lakes

CASES = corpus.load_cases()


def test_corpus_is_large_and_varied():
    assert len(CASES) >= 110, len(CASES)
    peers = {c["from"].split()[0] for c in CASES}
    assert len(peers) >= 4, peers
    for case in CASES:
        assert corpus.outcome_class(case["expect"]) in ("incremental", "full", "refused", "failed"), case["name"]
        kinds = {s.split()[0].upper() for batch in case["changes"] for s in batch}
        assert {"INSERT", "UPDATE", "DELETE"} <= kinds, (case["name"], kinds)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case, tmp_path):
    lakes.skip_unless_lake_host()
    got = corpus.run_case(case, tmp_path)
    assert got["outcome"] != "wrong", f"{case['name']}: the table differs from its query {got['detail']}"
    assert got["outcome"] == case["expect"], f"{case['name']}: {got}"
