"""The evidence guard's pure rule: declarations, judgements, transitions and messages."""

from __future__ import annotations

import pytest

from hookswarm.hooks import evidence_rule as rule
from hookswarm.hooks.evidence_rule import Claim, Evidence, Mark

OLD = Mark("/p/calc.py", True, 10, 100, 100, 7)


@pytest.mark.parametrize(("texts", "paths"), [
    (("[expects: src/calc.py, tests/test_calc.py] write calc",),
     ("src/calc.py", "tests/test_calc.py")),
    (("write calc [Expects: `calc.py`]",), ("calc.py",)),
    (("[EXPECTS:calc.py,calc.py , 'b.py']",), ("calc.py", "b.py")),
    (("[expects: a.py]", "[expects: b.py, a.py]"), ("a.py", "b.py")),
    (("[expects: ]", "[expects: , ]"), ()),
    (("write calc.py", "expects: calc.py"), ()),
    ((None, 3, ["[expects: a]"]), ()),
])
def test_declared_paths(texts: tuple[object, ...], paths: tuple[str, ...]) -> None:
    assert rule.declared(*texts) == paths


def test_declared_paths_are_bounded() -> None:
    many = ", ".join(f"f{i}.py" for i in range(100))
    assert len(rule.declared(f"[expects: {many}]")) == rule.MAX_FILES
    assert len(rule.declared(f"[expects: {'x' * 1000}]")[0]) == rule.MAX_PATH_CHARS


@pytest.mark.parametrize(("before", "after", "why"), [
    (Mark("/p/calc.py"), Mark("/p/calc.py"), rule.MISSING),
    (OLD, Mark("/p/calc.py"), rule.MISSING),
    (Mark("/p/calc.py"), Mark("/p/calc.py", True, 0, 5, 5, 8), rule.EMPTY),
    (OLD, OLD, rule.UNCHANGED),
    (OLD, OLD._replace(size=11), ""),
    (OLD, OLD._replace(mtime_ns=101), ""),
    (OLD, OLD._replace(ctime_ns=101), ""),
    (OLD, OLD._replace(ino=9), ""),
    (Mark("/p/calc.py"), OLD, ""),
])
def test_shortfalls(before: Mark, after: Mark, why: str) -> None:
    found = rule.shortfalls([before], [after], ["calc.py"])
    assert found == ([rule.Shortfall("calc.py", why)] if why else [])


def claim(*paths: str, blocks: int = 0, key: str = "toolu_1", agent_id: str = "",
          digest: str = "d1", seq: int = 0) -> Claim:
    return Claim(key, "main", "write calc", paths, tuple(Mark(f"/p/{p}") for p in paths),
                 digest, agent_id, blocks, seq)


def written(*paths: str) -> tuple[Mark, ...]:
    return tuple(Mark(f"/p/{p}", True, 5, 1, 1, 1) for p in paths)


@pytest.mark.parametrize(("blocks", "max_blocks", "mode", "blocked"), [
    (0, 2, "block", True),
    (1, 2, "block", True),
    (2, 2, "block", False),
    (0, 0, "block", False),
    (0, 2, "warn", False),
])
def test_a_shortfall_blocks_until_the_limit_then_tells_the_parent(
        blocks: int, max_blocks: int, mode: str, blocked: bool) -> None:
    ruling = rule.rule(claim("calc.py", "b.py", blocks=blocks), (Mark("/p/calc.py"),
                                                                  *written("b.py")),
                       claimed="done, calc.py written", mode=mode, max_blocks=max_blocks)
    assert ruling.block is blocked
    if blocked:
        assert "calc.py (missing)" in ruling.reason
        assert "b.py" not in ruling.reason.split(
            "do not hold yet")[1]
        assert ruling.note == ""
    else:
        assert ruling.reason == ""
        assert "'write calc' unverified: calc.py (missing); 1/2 declared files hold" in ruling.note
        assert '"done, calc.py written"' in ruling.note


@pytest.mark.parametrize(("blocks", "says"), [
    (0, "1 more blocked stop(s)"), (1, "this is the last block")])
def test_the_block_reason_says_how_many_blocks_are_left(blocks: int, says: str) -> None:
    ruling = rule.rule(claim("calc.py", blocks=blocks), (Mark("/p/calc.py"),), claimed="",
                       mode="block", max_blocks=2)
    assert says in ruling.reason
    assert "Write them now" in ruling.reason


def test_all_files_holding_is_verified_for_the_parent() -> None:
    ruling = rule.rule(claim("calc.py", "b.py", blocks=1), written("calc.py", "b.py"),
                       claimed="done", mode="block", max_blocks=2)
    assert ruling == rule.Ruling(False, note=(
        "hookswarm evidence guard: agent 'write calc' verified: 2/2 files (calc.py, b.py) "
        "exist, are non-empty and changed since its spawn."))


def test_a_long_claim_is_shortened_to_one_line() -> None:
    note = rule.unverified(claim("calc.py"), [rule.Shortfall("calc.py", rule.MISSING)],
                           "line one\n\n" + "x" * 1000)
    said = note.split('claimed: "')[1].split('"')[0]
    assert said.startswith("line one xxx")
    assert said.endswith("...")
    assert len(said) == rule.MAX_CLAIM_CHARS


def test_find_a_claim_by_agent_then_spawn_key_then_a_unique_prompt() -> None:
    linked, by_key, by_prompt = (claim("a", key="t1", agent_id="ag1"), claim("b", key="t2"),
                                 claim("c", key="t3", digest="dc"))
    evidence = Evidence({c.key: c for c in (linked, by_key, by_prompt)})
    assert rule.find(evidence, agent_id="ag1", spawn_key="t2", prompt_digest="") == linked
    assert rule.find(evidence, agent_id="ag9", spawn_key="t2", prompt_digest="dc") == by_key
    assert rule.find(evidence, agent_id="ag9", spawn_key="", prompt_digest="dc") == by_prompt
    assert rule.find(evidence, agent_id="ag9", spawn_key="t1", prompt_digest="") is None
    assert rule.find(evidence, agent_id="", spawn_key="", prompt_digest="") is None


def test_two_unlinked_claims_with_one_prompt_match_neither() -> None:
    evidence = Evidence({k: claim("a", key=k, digest="same") for k in ("t1", "t2")})
    assert rule.find(evidence, agent_id="ag", spawn_key="", prompt_digest="same") is None


def test_claims_beyond_the_bound_drop_the_oldest() -> None:
    evidence = Evidence()
    for seq in range(rule.MAX_CLAIMS + 5):
        evidence = rule.declare(evidence, claim("a", key=f"t{seq}", seq=seq))
    assert len(evidence.claims) == rule.MAX_CLAIMS
    assert "t0" not in evidence.claims
    assert f"t{rule.MAX_CLAIMS + 4}" in evidence.claims


def test_blocked_counts_and_links_then_settle_leaves_one_note_for_the_parent() -> None:
    evidence = Evidence({"t1": claim("a", key="t1")})
    evidence = rule.blocked(evidence, evidence.claims["t1"], "ag1")
    assert evidence.claims["t1"][-3:] == ("ag1", 1, 0)
    evidence = rule.settle(evidence, evidence.claims["t1"], "note one")
    assert evidence.claims == {}
    evidence, notes = rule.take_notes(evidence, "main")
    assert notes == ("note one",)
    assert rule.take_notes(evidence, "main")[1] == ()


def test_notes_per_thread_are_bounded() -> None:
    evidence = Evidence()
    for index in range(rule.MAX_NOTES + 3):
        evidence = rule.settle(evidence, claim("a"), f"n{index}")
    notes = rule.take_notes(evidence, "main")[1]
    assert len(notes) == rule.MAX_NOTES
    assert notes[-1] == f"n{rule.MAX_NOTES + 2}"
