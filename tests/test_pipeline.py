"""Pipeline mechanics: order, selection, fixpoint, suggestions, fault isolation, line mapping."""

from __future__ import annotations

import pytest

from leanify.context import Facts
from leanify.errors import LeanifyError
from leanify.model import Dockerfile
from leanify.pipeline import PipelineError, all_transforms, run_pipeline, select
from leanify.rules import Rule, Safety, Transform, change, fixed

SRC = "FROM debian\nMAINTAINER a@example.com\nRUN true\n"


def _rule(rule_id: str, safety=Safety.SAFE) -> Rule:
    return Rule(rule_id, "test-rule", safety, "for tests")


def append_user(model: Dockerfile, facts: Facts):
    last = model.instructions[-1]
    if last.keyword == "USER":
        return model, []
    rule = _rule("LEAN900")
    return fixed(model, [model.insert_after(last, "USER nobody")], [change(rule, last.lines, "append USER")])


def test_select_and_ignore_by_id_and_prefix() -> None:
    ts = all_transforms()
    assert [t.rule.id for t in select(ts, ["LEAN001"])] == ["LEAN001"]
    assert select(ts, ["LEAN0"], ["LEAN001"]) == [t for t in ts if t.rule.id != "LEAN001"]
    assert select(ts, ["ALL"]) == ts
    with pytest.raises(LeanifyError, match="unknown rule"):
        select(ts, ["LEAN999"])


def test_fixpoint_and_second_run_changes_nothing() -> None:
    t = Transform(_rule("LEAN900"), append_user)
    r = run_pipeline(SRC, transforms=[t])
    assert r.output.text.endswith("RUN true\nUSER nobody\n") and r.passes == 2
    assert not run_pipeline(r.output, transforms=[t]).changed


def test_a_rule_that_never_settles_is_an_error() -> None:
    def grow(model, facts):
        last = model.instructions[-1]
        return fixed(model, [model.insert_after(last, "RUN true")], [change(_rule("LEAN901"), last.lines, "grow")])

    with pytest.raises(PipelineError, match="did not settle"):
        run_pipeline(SRC, transforms=[Transform(_rule("LEAN901"), grow)])


def test_needs_verify_rules_are_suggestions_unless_opted_in() -> None:
    t = Transform(_rule("LEAN902", Safety.NEEDS_VERIFY), append_user)
    r = run_pipeline(SRC, transforms=[t])
    assert not r.changed and len(r.suggested) == 1 and "needs verification" in r.suggested[0].reason
    r2 = run_pipeline(SRC, transforms=[t], unsafe=True)
    assert r2.changed and r2.applied[0].rule == "LEAN900"


def test_failing_or_unparseable_rules_are_isolated() -> None:
    def boom(model, facts):
        raise RuntimeError("bug")

    def garbage(model, facts):
        return fixed(model, [model.insert_after(model.instructions[-1], "RUN <<EOF")], [])

    good = [t for t in all_transforms() if t.rule.id == "LEAN001"]
    r = run_pipeline(SRC, transforms=[Transform(_rule("LEAN903"), boom), Transform(_rule("LEAN904"), garbage), *good])
    assert [e.split(":")[0] for e in r.errors] == ["LEAN903", "LEAN904"]
    assert r.output.text == 'FROM debian\nLABEL maintainer="a@example.com"\nRUN true\n'


def test_change_lines_map_back_to_the_original_file() -> None:
    def insert_top(model, facts):
        first = model.instructions[0]
        if model.instructions[1].keyword == "LABEL" and model.instructions[1].value[0] == "x":
            return model, []
        return fixed(model, [model.insert_after(first, "LABEL x=1\nLABEL y=2")], [change(_rule("LEAN905"), first.lines, "top")])

    order = [Transform(_rule("LEAN905"), insert_top), *[t for t in all_transforms() if t.rule.id == "LEAN001"]]
    r = run_pipeline(SRC, transforms=order)
    lean001 = [c for c in r.changes if c.rule == "LEAN001"][0]
    assert lean001.lines == (2, 2)  # line 4 of the intermediate file is line 2 of the user's


def propose_ignore(model: Dockerfile, facts: Facts):
    rule = _rule("LEAN906")
    c = change(rule, model.instructions[0].lines, "propose .dockerignore",
               add_file={"path": ".dockerignore", "content": ".git\n", "old": None})
    return model, [c]


def test_a_rule_may_propose_another_file_once() -> None:
    r = run_pipeline(SRC, transforms=[Transform(_rule("LEAN906"), propose_ignore)])
    assert r.changed and r.output.text == SRC
    assert r.files == {".dockerignore": (None, ".git\n")} and len(r.changes) == 1
