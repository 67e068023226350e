"""The context budget: duplicates dropped, a fair share per hook, a notice naming who was cut."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from hookswarm.executor.context import fair_shares, fit, notice
from hookswarm.executor.merge import merge
from hookswarm.executor.results import HookResult
from hookswarm.lib.errors import ConfigError
from hookswarm.lib.hookconfig import DEFAULT_BUDGET, parse
from hookswarm.lib.protocol import CLAUDE_CODE_CUT
from tests.helpers.payloads import prompt

if TYPE_CHECKING:
    from tests.helpers.project import Project


@pytest.mark.parametrize(("lengths", "room", "shares"), [
    ([10, 10], 100, [10, 10]),
    ([10, 500, 500], 310, [10, 150, 150]),
    ([500, 10, 80], 210, [120, 10, 80]),
    ([300, 300, 300], 90, [30, 30, 30]),
    ([7], 0, [0]),
    ([], 50, []),
])
def test_fair_shares(lengths: list[int], room: int, shares: list[int]) -> None:
    assert fair_shares(lengths, room) == shares


def test_exact_duplicate_lines_are_dropped_across_hooks() -> None:
    fitted = fit([("a", "branch: main\nclean"), ("b", "branch: main\n\nnode 20\nclean")], 0)
    assert fitted.text == "branch: main\nclean\n\nnode 20"
    assert fitted.cut == ()


def test_under_the_budget_nothing_is_cut() -> None:
    fitted = fit([("a", "x" * 400), ("b", "y" * 400)], 900)
    assert fitted.text == "x" * 400 + "\n\n" + "y" * 400
    assert fitted.sizes == {"a": 400, "b": 400}


def test_over_the_budget_the_long_hooks_share_what_is_left_and_are_named() -> None:
    small = "short context"
    big = "\n".join(f"line {i:04d} " + "z" * 40 for i in range(200))
    fitted = fit([("git", small), ("docs", big), ("todo", big.replace("z", "t"))], 2000)
    assert len(fitted.text) <= 2000
    assert fitted.text.startswith(small + "\n\n")
    assert fitted.cut == ("docs", "todo")
    assert fitted.text.endswith(notice(2000, ["docs", "todo"]))
    docs, todo = fitted.text.split("\n\n")[1:3]
    assert abs(len(docs) - len(todo)) < 60  # a fair share each, cut at a line break
    assert fitted.sizes["docs"] == len(big.encode())


def test_the_default_budget_is_below_claude_codes_cut() -> None:
    assert DEFAULT_BUDGET < CLAUDE_CODE_CUT


def context(name: str, text: str) -> HookResult:
    answer: dict[str, Any] = {"hookSpecificOutput": {"hookEventName": "UserPromptSubmit",
                                                     "additionalContext": text}}
    return HookResult(position=0, name=name, status="ok", exit_code=0, output=answer)


def test_merge_keeps_the_merged_context_within_the_budget_and_says_who_was_cut() -> None:
    results = [context(f"h{i}", f"hook {i}\n" + f"{i:02d}" * 1000) for i in range(13)]
    response = merge("UserPromptSubmit", results, on_error={})
    text = json.loads(response.stdout)["hookSpecificOutput"]["additionalContext"]
    assert len(text) <= DEFAULT_BUDGET
    assert all(f"hook {i}" in text for i in range(13))
    assert response.context_cut == tuple(f"h{i}" for i in range(13))
    assert response.stderr.count("\n") == 1
    assert "shortened: h0, h1" in response.stderr


@pytest.mark.parametrize(("value", "ok"), [(0, True), (500, True), (20000, True), (499, False),
                                           (-1, False), (True, False), ("9000", False)])
def test_context_budget_is_checked(value: object, ok: bool) -> None:
    data = {"defaults": {"context_budget": value}, "hooks": []}
    if ok:
        assert parse(data, "h.toml").context_budget == value
    else:
        with pytest.raises(ConfigError, match="context_budget"):
            parse(data, "h.toml")


def test_run_records_carry_context_bytes_per_hook(project: Project) -> None:
    project.config('''
        [defaults]
        context_budget = 600
        [[hooks]]
        name = "big"
        event = "UserPromptSubmit"
        command = "python3 -c 'print(\\"b\\" * 1000)'"
        [[hooks]]
        name = "small"
        event = "UserPromptSubmit"
        command = "echo small"
    ''')
    ran = project.run(prompt())
    assert len(ran.specific["additionalContext"]) <= 600
    hooks = ran.hooks()
    assert (hooks["big"]["context_bytes"], hooks["big"]["context_cut"]) == (1000, True)
    assert (hooks["small"]["context_bytes"], hooks["small"]["context_cut"]) == (5, False)
