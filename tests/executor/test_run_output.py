"""``hookrun run`` keeps stdout a protocol channel: one answer, valid JSON, whatever hooks write."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.helpers.payloads import bash, prompt

if TYPE_CHECKING:
    from tests.helpers.project import Project

pytestmark = pytest.mark.timeout(60)


def test_an_undecodable_file_name_in_an_answer_keeps_the_block(project: Project) -> None:
    (project.root / os.fsdecode(b"caf\xe9.txt")).write_text("x")  # not UTF-8: a lone surrogate
    project.module("recent", """
        import os
        def files(payload):
            return "Files: " + ", ".join(sorted(os.listdir(".")))
    """)
    project.config('''
        [[hooks]]
        name = "recent"
        event = "UserPromptSubmit"
        call = "recent:files"
        [[hooks]]
        name = "secret"
        event = "UserPromptSubmit"
        command = """echo '{"decision":"block","reason":"prompt contains a secret"}'"""
        after = ["recent"]
    ''')
    ran = project.run(prompt())
    assert ran.code == 0, ran.stderr
    assert ran.answer["decision"] == "block"
    assert "prompt contains a secret" in ran.answer["reason"]


def test_what_a_call_hooks_child_writes_to_stdout_goes_to_stderr(project: Project) -> None:
    project.module("branch", """
        import subprocess
        from hookswarm.lib.protocol import deny
        def check(payload):
            subprocess.run(["echo", "on branch main"], check=True)
            return deny("not on main")
    """)
    project.config('[[hooks]]\nname = "branch"\nevent = "PreToolUse"\ncall = "branch:check"\n')
    ran = project.run(bash())
    assert ran.specific["permissionDecision"] == "deny", ran.stdout
    assert "on branch main" in ran.stderr
