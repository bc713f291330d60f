"""Which rule broke a rewrite: a bounded search over the rules that applied.

Under ``--verify`` a rewrite that does not build, or builds and fails verification, is not all
or nothing: the rules are tried by prefix, in pipeline order. Keeping the first ``k`` applied
rules (and dropping the rest) gives one candidate; keeping none is the original file, which the
verification already built as its baseline, and keeping all is the rewrite that failed. The
smallest failing prefix names the culprit: the rule whose addition broke it (with the failure
it caused). Bisection finds it in ``ceil(log2 n)`` candidates. Then the rewrite without the
culprit is tried; if it fails too, the search goes on among the rules after it, while the
budget lasts (``ceil(log2 n) + 2`` candidates, which is ``n`` or more when ``n <= 5``).

The search assumes monotony (dropping rules never breaks a rewrite that passed), the way
``git bisect`` does; every candidate it delivers has passed, so a wrong assumption can cost a
rule that was sound, never an unproven rewrite. Pure: the caller's ``trial`` builds and
verifies; BuildKit's cache makes the shared steps of successive candidates cheap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: how many lines of a failed step's output a report carries (BuildKit prints its last 10)
LOG_LINES = 10


@dataclass
class Search:
    rules: tuple[str, ...]  # the rules that applied in the rewrite that failed, pipeline order
    budget: int
    culprits: list[tuple[str, Any]] = field(default_factory=list)  # (rule, the failed trial's outcome)
    delivered: tuple[str, ...] = ()  # the rules of the best candidate that passed
    passed: Any = None  # that candidate's outcome (None: no rule kept, the original file)
    trials: int = 0  # candidates tried (the failed rewrite itself not counted)

    @property
    def exhausted(self) -> bool:
        """Rules neither delivered nor named as culprits: the budget ran out before they were proven."""
        return bool(self.unproven)

    @property
    def unproven(self) -> tuple[str, ...]:
        named = {r for r, _ in self.culprits}
        return tuple(r for r in self.rules if r not in named and r not in self.delivered)


def budget_for(n: int) -> int:
    return math.ceil(math.log2(n)) + 2 if n > 0 else 0


def search(rules: Sequence[str], trial: Callable[[frozenset[str]], tuple[bool, Any]], failed: Any,
           budget: int | None = None) -> Search:
    """Find the rules to drop. ``trial(dropped)`` builds and verifies the rewrite without the
    rules in ``dropped`` and returns (passed, outcome); ``failed`` is the outcome of the rewrite
    with every rule in ``rules`` (which failed). Never calls ``trial`` twice with the same set."""
    rules = tuple(dict.fromkeys(rules))
    s = Search(rules, budget_for(len(rules)) if budget is None else budget)
    if not rules:
        return s
    seen: dict[frozenset[str], tuple[bool, Any]] = {frozenset(rules): (True, None)}  # the original: the baseline

    def attempt(dropped: frozenset[str]) -> tuple[bool, Any] | None:
        if dropped not in seen:
            if s.trials >= s.budget:
                return None
            s.trials += 1
            seen[dropped] = trial(dropped)
        return seen[dropped]

    dropped: set[str] = set()
    lo, hi, lo_out, hi_out = 0, len(rules), None, failed  # keep(rules[:lo]) passed, keep(rules[:hi]) failed
    while True:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            got = attempt(frozenset(dropped | set(rules[mid:])))
            if got is None:
                break
            if got[0]:
                lo, lo_out = mid, got[1]
            else:
                hi, hi_out = mid, got[1]
        if hi - lo > 1:  # out of budget mid-bisection: deliver what passed
            break
        culprit = rules[hi - 1]
        if culprit in dropped:  # cannot happen under monotony; never loop on it
            break
        s.culprits.append((culprit, hi_out))
        dropped.add(culprit)
        if hi == len(rules):  # nothing after it: keep(rules[:lo]) is the rewrite without the culprits
            break
        got = attempt(frozenset(dropped))
        if got is None:
            break
        if got[0]:
            lo, lo_out = len(rules), got[1]
            break
        hi, hi_out = len(rules), got[1]
    s.delivered = tuple(r for r in rules[:lo] if r not in dropped)
    s.passed = lo_out
    return s


# ---- the failure, as a reviewer reads it ----------------------------------------------------------
_STEP = re.compile(r"^ > \[(?P<step>[^\]]+)\] (?P<instruction>.*):$")
_STEP_ERROR = re.compile(r"^#(?P<id>\d+) ERROR: ")
_EXIT = re.compile(r"exit code: (\d+)")


def build_error(log_tail: Sequence[str]) -> tuple[str, list[str]]:
    """(one line, the failed step's last output lines) from the tail of a failed build's log.

    BuildKit's plain progress prints each output line of step N as ``#N 0.123 text``, then
    ``#N ERROR: ... exit code: 1``, and closes with the step's last lines again between
    ``------`` rulers under `` > [2/4] RUN ...:`` (that copy can lose a line's ``prog: ``
    prefix, so the step's own lines are preferred). The classic builder prints ``The command
    ... returned a non-zero code: N``. Lines are taken as the verification scrubbed them
    (build-arg values and credentials masked)."""
    lines = [line.rstrip() for line in log_tail]
    failed = next((m for line in reversed(lines) if (m := _STEP_ERROR.match(line))), None)
    header = next((m for line in reversed(lines) if (m := _STEP.match(line))), None)
    if header is None:
        shown = [line for line in lines if line.strip()][-3:]
        last = next((line for line in reversed(shown) if "error" in line.lower()), shown[-1] if shown else "")
        return _clip(last.removeprefix("ERROR: "), 300), shown
    output = []
    if failed is not None:
        own = re.compile(rf"^#{failed['id']} \d+\.\d+ (.*)$")
        output = [m[1] for line in lines if (m := own.match(line))]
    if not output:  # only the closing copy is in the tail
        start = lines.index(header.string) + 1
        for line in lines[start:]:
            if line.startswith("------"):
                break
            output.append(re.sub(r"^\d+\.\d+ ", "", line))
    code = _EXIT.search(failed.string if failed is not None else "\n".join(lines))
    what = f"step {header['step']} `{_clip(header['instruction'])}` failed" + (f" (exit code: {code[1]})" if code else "")
    shown = [line for line in output if line.strip()][-LOG_LINES:]
    return what + (f": {_clip(_telling(shown), 300)}" if shown else ""), shown


def _telling(output: Sequence[str]) -> str:
    """The line of a step's output that says what went wrong: the first that reads like an
    error, else the last."""
    for line in output:
        if re.search(r"(?i)\b(error|err!|fatal|cannot|can't|not found|no such|missing|denied|failed)\b", line):
            return line.strip()
    return output[-1].strip()


def _clip(s: str, n: int = 120) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."
