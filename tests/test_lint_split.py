"""leanify.lint.split_counts: a multi-stage split repeats the original's instructions in its
runtime stage; the same hadolint finding said once per stage is not one the rewrite adds."""

from __future__ import annotations

from collections import Counter

from leanify.lint import split_counts, worse

BEFORE = "FROM ubuntu:latest\nRUN apt-get update && apt-get install -y gcc curl\nRUN make\n"
AFTER = ("FROM ubuntu:latest AS builder\nRUN apt-get update && apt-get install -y gcc curl\nRUN make\n\n"
         "FROM ubuntu:latest\nRUN apt-get update && apt-get install -y curl\nCOPY --from=builder /src /src\n")


def test_a_finding_repeated_in_the_runtime_stage_is_counted_once() -> None:
    found = [{"code": "DL3007", "line": 1}, {"code": "DL3008", "line": 2}, {"code": "DL3007", "line": 5},
             {"code": "DL3008", "line": 6}]
    after = split_counts(BEFORE, AFTER, found)
    assert after == Counter({"DL3007": 1, "DL3008": 1})
    assert worse(Counter({"DL3007": 1, "DL3008": 1}), after) == {}


def test_a_code_no_stage_had_before_still_counts_and_so_does_one_stage_having_more() -> None:
    found = [{"code": "DL3008", "line": 2}, {"code": "DL3059", "line": 6}, {"code": "DL3008", "line": 6},
             {"code": "DL3008", "line": 7}]
    after = split_counts(BEFORE, AFTER, found)
    assert worse(Counter({"DL3008": 1}), after) == {"DL3059": (0, 1), "DL3008": (1, 2)}


def test_a_file_that_was_already_multi_stage_is_counted_whole() -> None:
    found = [{"code": "DL3008", "line": 2}, {"code": "DL3008", "line": 6}]
    assert split_counts(AFTER, AFTER, found) == Counter({"DL3008": 2})
