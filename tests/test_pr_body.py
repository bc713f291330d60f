"""The pull-request words: only measured numbers, no table without verification, a commit
message with a short subject and the rules in its body."""

from __future__ import annotations

from leanify.pipeline import run_pipeline
from leanify.pr_body import MARKER, NOT_MEASURED, FileOutcome, body, commit_message, title
from leanify.verify import ConfigDiff, ImageFacts, Rebuild, Verification

LEGACY = """FROM debian:bookworm-slim
MAINTAINER Ops <ops@example.com>
RUN apt-get update
RUN apt-get install -y curl
RUN rm -rf /var/lib/apt/lists/*
CMD ["sh"]
"""


def outcome(path: str = "Dockerfile", verification: Verification | None = None) -> FileOutcome:
    return FileOutcome(path, run_pipeline(LEGACY), verification)


def measured(**over) -> Verification:
    v = Verification(builder="buildkit", verdict="pass",
                     before=ImageFacts(image_bytes=120_400_000, layers=6, build_seconds=31.0),
                     after=ImageFacts(image_bytes=80_200_000, layers=4, build_seconds=None),
                     rebuild_before=Rebuild(steps_rerun=3, seconds=12.5),
                     rebuild_after=Rebuild(steps_rerun=None, seconds=None),
                     config=ConfigDiff(equal=True, allowed=["MAINTAINER became a label"]))
    for k, val in over.items():
        setattr(v, k, val)
    return v


def table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| |"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_verified_body_shows_only_measured_numbers() -> None:
    text = body([outcome(verification=measured())], verified=True, base="main", branch="leanify/rewrite")
    rows = table_rows(text)
    assert rows["image size"] == ["120.4 MB", "80.2 MB", "−40.2 MB (-33%)"]
    assert rows["layers"] == ["6", "4", "−2 (-33%)"]
    # what the engine did not measure is said, never estimated, and gets no delta
    assert rows["cold build time"] == ["31.0 s", NOT_MEASURED, "—"]
    assert rows["rebuild time after a source change"] == ["12.5 s", NOT_MEASURED, "—"]
    assert rows["steps re-run on that rebuild"] == ["3", NOT_MEASURED, "—"]
    assert "Verification **passed** (buildkit builder)" in text
    assert "image config equal (accepted: MAINTAINER became a label)" in text
    assert "Not verified" not in text


def test_unverified_body_says_so_and_has_no_table() -> None:
    text = body([outcome()], verified=False, base="main", branch="leanify/rewrite")
    assert text.startswith(MARKER)
    assert "**Not verified.**" in text and table_rows(text) == {}
    assert "MB" not in text and " s |" not in text  # no figure at all
    # per rule: heading with title and safety, the rule's why, each change with its line and reason
    assert "#### LEAN001 — maintainer-label (safe)" in text
    assert "- `Dockerfile:2` — MAINTAINER is deprecated; moved 'Ops &lt;ops@example.com&gt;' into LABEL maintainer" in text
    assert "- `Dockerfile:5` — cleanup of apt lists moved" in text
    # a rule that needs verification is listed as not applied, once per reason
    not_applied = text.split("#### Not applied", 1)[1].split("###", 1)[0]
    assert not_applied.count("LEAN004") == 1
    # how to back out
    for needle in ("close this pull request", "git revert", "`leanify pr --ignore LEAN001`", "`ignore = [\"LEAN001\"]`",
                   "`# leanify: ignore=LEAN0NN`", "leanify explain"):
        assert needle in text


def test_failed_verification_is_shown_as_failed_with_its_reasons() -> None:
    v = measured(verdict="fail", reasons=["smoke output differs"])
    text = body([outcome(verification=v)], verified=True, base="main", branch="b")
    assert "Verification **FAILED**" in text and "- smoke output differs" in text


def test_commit_message_subject_and_rule_list() -> None:
    msg = commit_message([outcome()], verified=False)
    lines = msg.splitlines()
    assert lines[0] == "leanify: rewrite Dockerfile (LEAN001, LEAN002, LEAN008)" and lines[1] == ""
    assert lines[2] == "Rules applied:"
    assert "- LEAN002 apt-update-with-install: 2 change(s)" in lines
    assert "- Dockerfile" in lines and lines[-1] == "Generated-by: leanify 0.1.0"
    msg = commit_message([outcome(verification=measured())], verified=True)
    assert "- Dockerfile: size 120.4 MB -> 80.2 MB, layers 6 -> 4" in msg


def test_title_stays_short() -> None:
    many = [outcome(f"services/very-long-service-name-{i}/Dockerfile.production") for i in range(12)]
    assert title(many) == "leanify: rewrite 12 Dockerfiles (LEAN001, LEAN002, LEAN008)"
    one = [outcome("services/a-really-really-long-path-for-one-service/Dockerfile.production")]
    assert title(one) == "leanify: rewrite 1 Dockerfile(s) (3 rules)"  # the path would pass 72 chars


def test_unverified_needs_verify_rules_are_named_not_called_safe() -> None:
    """`unsafe-fixes` applied LEAN004 without a build: the body and the commit must not claim that
    only meaning-preserving rules were applied."""
    o = FileOutcome("Dockerfile", run_pipeline(LEGACY, unsafe=True))
    assert any(c.rule == "LEAN004" for c in o.result.applied)  # the premise
    text = body([o], verified=False, base="main", branch="b")
    msg = commit_message([o], verified=False)
    for words in (text, msg):
        assert "Only rules that preserve meaning" not in words and "only rules that preserve meaning" not in words
        assert "applied without verification (LEAN004)" in words
    assert "#### LEAN004 — no-install-recommends (needs-verify)" in text
    assert "#### Not applied" not in text


def test_verified_body_names_the_rules_that_broke_the_first_rewrite() -> None:
    search = {"culprits": [{"rule": "LEAN007", "reason": "the rewritten Dockerfile does not build: step 3/5 "
                            "`RUN npm ci` failed (exit code: 1): npm ERR! Missing: fsevents@2.3.3 from lock file",
                            "log": []}],
              "candidates_built": 3, "budget": 5, "delivered": ["LEAN001", "LEAN014"], "unproven": ["LEAN015"]}
    text = body([outcome(verification=measured(search=search))], verified=True, base="main", branch="b")
    assert "- the rewrite with every rule failed; 3 candidate(s) were built to find the rules that broke it:" in text
    assert "  - LEAN007 rejected: the rewritten Dockerfile does not build: step 3/5 `RUN npm ci` failed" in text
    assert "  - not proven (the search stopped): LEAN015" in text


def test_verified_body_shows_the_whole_image_classes_with_their_bytes() -> None:
    from image_trees import debian_base
    from leanify.verify.image_facts import Rewrite
    from leanify.verify.whole_image import compare_images

    before = debian_base().pkg("gcc-12", {"/usr/bin/gcc-12": b"g" * 290_000_000})
    before.file("/var/lib/apt/lists/InRelease", b"l" * 24_000_000)
    after = debian_base()
    wi = compare_images(before.view(), after.view(), Rewrite(workdir="/app")).to_json()
    text = body([outcome(verification=measured(whole_image=wi))], verified=True, base="main", branch="b")
    assert "every file difference accounted for" in text
    assert "- removed 314.0 MB: build-only package gcc-12 290.0 MB, apt lists 24.0 MB" in text
    broken = debian_base().remove("/usr/lib/x86_64-linux-gnu/libc.so.6")
    wi = compare_images(before.view(), broken.view(), Rewrite(workdir="/app")).to_json()
    v = measured(whole_image=wi)
    from leanify.verify import decide

    decide(v)
    text = body([outcome(verification=v)], verified=True, base="main", branch="b")
    assert "Verification **FAILED**" in text and "1 file difference(s) in no class" in text
    assert "- whole image: /usr/lib/x86_64-linux-gnu/libc.so.6 removed — file of kept package libc6" in text


def test_what_a_rule_left_alone_is_listed_with_its_reason() -> None:
    text = "FROM debian:bookworm-slim\nMAINTAINER x\nRUN apt-get update && apt-get install -y curl\nENV MODE=check\nRUN apt-cache policy curl\n"
    o = FileOutcome("svc/Dockerfile", run_pipeline(text))
    assert o.result.declined  # the premise: LEAN009 keeps the lists line 4 reads
    out = body([o], verified=False, base="main", branch="b")
    left = out.split("#### Left alone, and why", 1)[1].split("###", 1)[0]
    assert "- `svc/Dockerfile:3` LEAN009 — " in left and "`apt-cache policy curl` reads them" in left
