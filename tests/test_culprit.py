"""The search for the rules that broke a rewrite (``leanify.culprit``), and the build error it
reports. The engine's part is tested end to end in tests/e2e/test_verify_culprit.py; here the
trial is a predicate over the dropped rules, so every combination of culprits can be tried."""

from __future__ import annotations

import itertools
import math

import pytest

from leanify.culprit import LOG_LINES, budget_for, build_error, search

RULES = ("LEAN001", "LEAN003", "LEAN007", "LEAN010", "LEAN014", "LEAN015")


def breaks_with(culprits: set[str], calls: list[frozenset[str]]):
    """A rewrite passes when every culprit is dropped (the monotony the search assumes)."""
    def trial(dropped: frozenset[str]):
        calls.append(dropped)
        return culprits <= dropped, f"without {sorted(dropped)}"
    return trial


def test_one_culprit_is_found_by_bisection_and_the_rest_delivered() -> None:
    calls: list[frozenset[str]] = []
    s = search(RULES, breaks_with({"LEAN007"}, calls), "full failed")
    assert [r for r, _ in s.culprits] == ["LEAN007"]
    assert s.culprits[0][1] == "without ['LEAN010', 'LEAN014', 'LEAN015']"  # the failure adding it caused
    assert s.delivered == ("LEAN001", "LEAN003", "LEAN010", "LEAN014", "LEAN015") and s.unproven == ()
    assert s.passed == "without ['LEAN007']"
    assert s.trials == len(calls) <= math.ceil(math.log2(len(RULES))) + 1


def test_the_last_rule_as_culprit_costs_no_extra_candidate() -> None:
    calls: list[frozenset[str]] = []
    s = search(RULES, breaks_with({"LEAN015"}, calls), "full failed")
    assert [r for r, _ in s.culprits] == ["LEAN015"] and s.culprits[0][1] == "full failed"
    assert s.delivered == RULES[:-1] and calls[-1] == frozenset({"LEAN015"})
    assert len(calls) == math.ceil(math.log2(len(RULES)))


def test_two_culprits_are_both_named() -> None:
    calls: list[frozenset[str]] = []
    s = search(RULES, breaks_with({"LEAN003", "LEAN014"}, calls), "full failed", budget=10)
    assert [r for r, _ in s.culprits] == ["LEAN003", "LEAN014"]
    assert s.delivered == ("LEAN001", "LEAN007", "LEAN010", "LEAN015")
    assert len(set(calls)) == len(calls)  # no candidate built twice


@pytest.mark.parametrize("n", range(1, len(RULES) + 1))
def test_every_combination_of_culprits_within_the_default_budget(n: int) -> None:
    """Whatever breaks it: what is delivered passed, every rule named broke it, nothing is
    tried twice, the original (every rule dropped) is never rebuilt, the budget holds."""
    rules = RULES[:n]
    for k in range(n + 1):
        for culprits in map(set, itertools.combinations(rules, k)):
            if not culprits:
                continue  # the rewrite with every rule failed: at least one culprit
            calls: list[frozenset[str]] = []
            s = search(rules, breaks_with(culprits, calls), "full failed")
            named = {r for r, _ in s.culprits}
            assert named <= culprits and not culprits & set(s.delivered), (culprits, s)
            assert set(s.delivered) | named | set(s.unproven) == set(rules)
            assert len(calls) == len(set(calls)) == s.trials <= budget_for(n) == math.ceil(math.log2(n)) + 2
            assert frozenset(rules) not in calls
            if len(culprits) == 1:
                assert named == culprits and s.unproven == ()


def test_out_of_budget_delivers_only_what_passed() -> None:
    calls: list[frozenset[str]] = []
    s = search(RULES, breaks_with({"LEAN001", "LEAN010", "LEAN015"}, calls), "full failed", budget=2)
    assert s.trials == 2 and s.unproven and s.exhausted
    assert not {"LEAN001", "LEAN010", "LEAN015"} & set(s.delivered)


def test_a_candidate_that_never_passes_ends_the_search() -> None:
    """A smoke that differs on every run (a clock): every candidate fails; the search stops,
    delivers nothing and names the rules the bisection pointed at, within its budget."""
    calls: list[frozenset[str]] = []
    s = search(RULES, lambda dropped: (calls.append(dropped), (False, "flaky"))[1], "full failed")
    assert s.delivered == () and s.passed is None and s.trials <= s.budget
    assert s.culprits and s.culprits[0][0] == "LEAN001"


def test_no_rule_no_search() -> None:
    s = search((), lambda dropped: pytest.fail("no candidate to build"), "full failed")
    assert s.culprits == [] and s.delivered == () and s.trials == 0


# BuildKit 0.13's plain progress for a RUN that failed, as this engine printed it (the closing
# copy under `------` lost the `mkdir: ` of the step's own line)
BUILDKIT_TAIL = """#4 [1/3] FROM docker.io/library/debian:bookworm
#4 DONE 0.0s
#5 [2/3] RUN apt-get update
#5 CACHED
#6 [3/3] RUN mkdir /srv/x/broken
#6 0.111 mkdir: cannot create directory '/srv/x/broken': No such file or directory
#6 ERROR: process "/bin/sh -c mkdir /srv/x/broken" did not complete successfully: exit code: 1
------
 > [3/3] RUN mkdir /srv/x/broken:
cannot create directory '/srv/x/broken': No such file or directory
------
Dockerfile:3
--------------------
   1 |     FROM debian:bookworm
   2 |     RUN apt-get update
   3 | >>> RUN mkdir /srv/x/broken
--------------------
ERROR: failed to solve: process "/bin/sh -c mkdir /srv/x/broken" did not complete successfully: exit code: 1
""".splitlines()


def test_build_error_names_the_step_its_exit_code_and_the_telling_line() -> None:
    line, log = build_error(BUILDKIT_TAIL)
    assert line == ("step 3/3 `RUN mkdir /srv/x/broken` failed (exit code: 1): "
                    "mkdir: cannot create directory '/srv/x/broken': No such file or directory")
    assert log == ["mkdir: cannot create directory '/srv/x/broken': No such file or directory"]


def test_build_error_reads_the_closing_copy_when_the_steps_lines_are_cut_off() -> None:
    npm = ["#9 ERROR: process \"/bin/sh -c npm ci\" did not complete successfully: exit code: 1",
           "------", " > [4/5] RUN npm ci:",
           *[f"1.{i:03d} npm ERR! line {i}" for i in range(12)],
           "1.200 npm ERR! Missing: fsevents@2.3.3 from lock file", "1.201 npm ERR! A complete log of this run",
           "------", "ERROR: failed to solve: process \"/bin/sh -c npm ci\" did not complete successfully: exit code: 1"]
    line, log = build_error(npm)
    assert line.startswith("step 4/5 `RUN npm ci` failed (exit code: 1): npm ERR! Missing: fsevents@2.3.3")
    assert len(log) == LOG_LINES and log[-1] == "npm ERR! A complete log of this run"


def test_build_error_of_the_classic_builder() -> None:
    line, log = build_error(["Step 3/3 : RUN false", " ---> Running in 0123",
                             "The command '/bin/sh -c false' returned a non-zero code: 1"])
    assert line == "The command '/bin/sh -c false' returned a non-zero code: 1" and len(log) == 3
