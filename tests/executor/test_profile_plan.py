"""What ``hookrun profile`` will run: a payload per matcher, and why a hook is skipped."""

from __future__ import annotations

from hookswarm.executor.profile_plan import Plan, plan
from hookswarm.lib.hookconfig import HookSpec


def hook(name: str, event: str = "PreToolUse", matcher: str = "") -> HookSpec:
    return HookSpec(position=0, name=name, event=event, command="true", matcher=matcher)


def fired(result: Plan) -> dict[str, tuple[str, ...]]:
    return {p.label: p.hooks for p in result.runs}


def test_one_payload_per_matcher_reusing_one_that_fits() -> None:
    hooks = [hook("bash", matcher="Bash"), hook("files", matcher="Write|Edit"),
             hook("edits", matcher="Edit"), hook("every", matcher="*"),
             hook("db", matcher="mcp__db__query"), hook("github", matcher="mcp__github__.*")]
    result = plan("PreToolUse", hooks, cwd="/p")
    assert fired(result) == {
        "tool Bash": ("bash", "every"),
        "tool Write": ("files", "every"),
        "tool Edit": ("files", "edits", "every"),
        "tool mcp__db__query": ("every", "db"),
    }
    (skipped,) = result.skipped
    assert skipped.name == "github"
    assert "'mcp__github__.*'" in skipped.reason
    assert "--payload FILE" in skipped.reason


def test_built_payloads_carry_the_tools_input() -> None:
    result = plan("PostToolUse", [hook("fmt", "PostToolUse", "Write")], cwd="/p")
    (planned,) = result.runs
    assert planned.payload["tool_name"] == "Write"
    assert set(planned.payload["tool_input"]) == {"file_path", "content"}
    assert (planned.payload["hook_event_name"], planned.payload["cwd"]) == ("PostToolUse", "/p")


def test_a_given_payload_runs_what_it_matches_and_names_what_it_does_not() -> None:
    hooks = [hook("bash", matcher="Bash"), hook("files", matcher="Write|Edit")]
    result = plan("PreToolUse", hooks, cwd="/p", payload={"tool_name": "Bash"})
    assert fired(result) == {"the --payload file": ("bash",)}
    (skipped,) = result.skipped
    assert skipped.name == "files"
    assert skipped.reason == ("its matcher 'Write|Edit' does not match tool Bash in the "
                              "--payload file")


def test_events_matched_on_other_fields() -> None:
    hooks = [hook("resume", "SessionStart", "resume"), hook("any", "SessionStart"),
             hook("auto", "PreCompact", "auto")]
    assert fired(plan("SessionStart", hooks[:2], cwd="/p")) == {
        "source resume": ("resume", "any")}
    assert fired(plan("PreCompact", hooks[2:], cwd="/p")) == {"trigger auto": ("auto",)}


def test_an_event_without_matchers_gets_one_plain_payload() -> None:
    result = plan("Stop", [hook("a", "Stop"), hook("b", "Stop", "ignored")], cwd="/p")
    assert fired(result) == {"a plain payload": ("a", "b")}
    assert "\n".join(result.lines(3)).startswith("hookrun profile runs these Stop hooks 3 time")
