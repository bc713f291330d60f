"""The lossless model: round trip, what each instruction exposes, edits, and refusals."""

from __future__ import annotations

import pytest

from leanify import Dockerfile, DockerfileError
from leanify.edits import Edit, EditConflict, apply_edits

TRICKY = [
    "FROM debian\nRUN echo a \\\n  # a comment inside a continuation\n  && echo b\n",
    "FROM debian\n\n\n   \nRUN true   \n# trailing comment",  # blank lines, trailing spaces, no final newline
    "FROM debian\r\nRUN a \\\r\n b\r\n",  # CRLF
    "\ufeffFROM debian\nRUN a\n",  # BOM
    "# syntax=docker/dockerfile:1\n# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  c:\\\n",
    "FROM debian\nRUN <<EOF\nset -e\necho hi\nEOF\nCOPY <<A <<B /dst/\na\nA\nb\nB\nRUN <<-X cat\n\tindented\n\tX\n",
    'FROM debian\nCMD ["bash", "-c", "echo hi"]\nENTRYPOINT exec foo\n',
    "ARG BASE=debian\nFROM $BASE AS one\nonbuild run --mount=type=cache,target=/c echo\nfrom one\ncopy --from=one --chown=1:1 --chmod=644 --link a b\n",
    "FROM --platform=linux/amd64 debian\nRUN --mount=type=cache,target=/var/cache/apt --network=none \\\n    --security=insecure true\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip_is_byte_identical(text: str) -> None:
    assert Dockerfile.parse(text).render() == text


def test_instruction_fields() -> None:
    d = Dockerfile.parse(TRICKY[7])
    arg, frm, onb, frm2, cp = d.instructions
    assert (arg.keyword, arg.stage, arg.lines) == ("ARG", -1, (1, 1))
    assert frm.value == ("$BASE", "AS", "one") and frm.stage == 0
    assert onb.keyword == "ONBUILD" and onb.sub_keyword == "RUN" and onb.raw_keyword == "onbuild"
    assert onb.flags == ("--mount=type=cache,target=/c",) and onb.body == "echo"
    assert cp.flags == ("--from=one", "--chown=1:1", "--chmod=644", "--link")
    assert cp.flag("from") == "one" and cp.flag("link") == "" and cp.flag("nope") is None
    assert cp.stage == 1 and cp.body == "a b"
    assert [s.name for s in d.stages] == ["one", None]
    assert d.stages[1].base == "one" and d.stages[1].instructions == (3, 4)


def test_flags_across_continuations_and_body() -> None:
    d = Dockerfile.parse(TRICKY[8])
    frm, run = d.instructions
    assert frm.flag("platform") == "linux/amd64"
    assert run.flags == ("--mount=type=cache,target=/var/cache/apt", "--network=none", "--security=insecure")
    assert run.body == "true" and run.lines == (2, 3)


def test_heredocs_and_json() -> None:
    d = Dockerfile.parse(TRICKY[5])
    run, copy, run2 = d.instructions[1:]
    assert run.lines == (2, 5) and run.heredocs[0].content == "set -e\necho hi\n"
    assert [h.name for h in copy.heredocs] == ["A", "B"] and copy.lines == (6, 10)
    assert run2.lines == (11, 13)
    d2 = Dockerfile.parse(TRICKY[6])
    assert d2.instructions[1].json and not d2.instructions[2].json
    assert d2.instructions[1].value == ("bash", "-c", "echo hi")


def test_escape_newline_bom_indent() -> None:
    assert Dockerfile.parse(TRICKY[4]).escape == "`"
    assert Dockerfile.parse(TRICKY[2]).newline == "\r\n"
    assert Dockerfile.parse(TRICKY[3]).has_bom and Dockerfile.parse(TRICKY[3]).instructions[0].raw_keyword == "FROM"
    assert Dockerfile.parse(TRICKY[0]).indent == "  "


def test_comment_inside_continuation_belongs_to_instruction() -> None:
    d = Dockerfile.parse(TRICKY[0])
    assert d.instructions[1].lines == (2, 4)
    assert d.instructions[1].value == ("echo a   && echo b",)


def test_edits_leave_everything_else_byte_for_byte() -> None:
    text = "FROM debian\r\n# keep me  \r\nRUN a\r\n\r\nRUN b\r\nCMD c"
    d = Dockerfile.parse(text)
    run_a, run_b, cmd = d.instructions[1:]
    new = d.edit([d.replace(run_a, "RUN x"), d.delete(run_b), d.insert_after(cmd, "USER app")])
    assert new.render() == "FROM debian\r\n# keep me  \r\nRUN x\r\n\r\nCMD c\r\nUSER app"
    moved = d.edit([d.delete(run_a), d.insert_before(cmd, run_a.text)])
    assert moved.render() == "FROM debian\r\n# keep me  \r\n\r\nRUN b\r\nRUN a\r\nCMD c"


def test_delete_last_line_without_newline_and_leading_comments() -> None:
    d = Dockerfile.parse("FROM debian\n# about b\n# more\nRUN b")
    assert d.edit([d.delete(d.instructions[1], with_comments=True)]).render() == "FROM debian"


def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(EditConflict):
        apply_edits("abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])
    assert apply_edits("abc", [Edit(1, 1, "1"), Edit(1, 1, "2")]) == "a12bc"


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("FROM x\nRUN <<EOF\nnever closed\n", 2, "unterminated heredoc"),
        ("FROM x\nRUN a\nFOO bar\n", 3, "unknown instruction: FOO"),
        ("# only a comment\n", 1, "no instructions"),
        ("FROM x\nRUN a\x00b\n", 2, "binary"),
        ("RUN a\n", 1, "before the first FROM"),
        ("# escape=x\nFROM a\n", 1, "invalid escape"),
    ],
)
def test_refusals_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(DockerfileError) as exc:
        Dockerfile.parse(text)
    assert exc.value.line == line and fragment in exc.value.message


def test_bytes_checks() -> None:
    with pytest.raises(DockerfileError, match="empty"):
        Dockerfile.from_bytes(b"  \n")
    with pytest.raises(DockerfileError, match="UTF-8") as exc:
        Dockerfile.from_bytes(b"FROM x\nRUN \xff\n")
    assert exc.value.line == 2
    with pytest.raises(DockerfileError, match="too large"):
        Dockerfile.from_bytes(b"FROM x\n" + b"#" * (2 << 20))


def test_lenient_parse_keeps_unknown_instructions() -> None:
    text = "FROM x\nENTRY_POINT foo\n"
    assert Dockerfile.parse(text, strict=False).render() == text


def test_shell_of_follows_shell_instruction_and_stage_inheritance() -> None:
    d = Dockerfile.parse('FROM a AS one\nRUN x\nSHELL ["bash", "-o", "pipefail", "-c"]\nRUN y\nFROM one\nRUN z\nFROM b\nRUN w\n')
    runs = [i for i in d if i.keyword == "RUN"]
    assert [d.shell_of(r) for r in runs] == [
        ("/bin/sh", "-c"), ("bash", "-o", "pipefail", "-c"), ("bash", "-o", "pipefail", "-c"), ("/bin/sh", "-c")]


def test_logical_line_maps_back_to_source() -> None:
    text = "FROM x\nRUN pip install \\\n    # why flask\n    flask  \\\n\n    gunicorn\n"
    d = Dockerfile.parse(text)
    run = d.instructions[1]
    logical, offsets = run.logical()
    assert logical == run.value[0] == "pip install     flask      gunicorn"
    assert all(text[o] == c for o, c in zip(offsets, logical, strict=False))
    at = logical.index("install") + len("install")
    new = d.edit([d.body_edit(run, at, at, " --no-cache-dir")])
    assert new.render() == text.replace("install \\", "install --no-cache-dir \\")
    assert d.instructions[0].logical() == ("x", (5,)) and Dockerfile.parse("FROM x\nCMD [\"a\"]").instructions[1].logical() is None


def test_move_and_add_stage() -> None:
    d = Dockerfile.parse("FROM a\nRUN one\n# about two\nRUN two\nCMD x\n")
    one, two = d.instructions[1], d.instructions[2]
    assert d.edit(d.move(two, before=one)).render() == "FROM a\n# about two\nRUN two\nRUN one\nCMD x\n"
    staged = d.edit([d.add_stage("FROM b AS builder\nRUN make", before=d.stages[0])])
    assert staged.render().startswith("FROM b AS builder\nRUN make\n\nFROM a\n")
    assert [s.name for s in staged.stages] == ["builder", None]
    assert d.edit([d.add_stage("FROM c")]).render().endswith("CMD x\n\nFROM c\n")


def test_windows_images_default_to_cmd() -> None:
    d = Dockerfile.parse("# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN powershell -Command Get-Date\n")
    assert d.shell_of(d.instructions[1]) == ("cmd", "/S", "/C")
