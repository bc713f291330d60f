"""leanify.layer_evidence without an engine: the mapping of an image's history to the final
stage's instructions, on history entries as BuildKit 0.13 (Engine 26) writes them."""

from __future__ import annotations

import pytest

from leanify.build_evidence import parse_os_release
from leanify.layer_evidence import Unmapped, _resolve_from, _steps, map_history
from leanify.model import Dockerfile

BK = "buildkit.dockerfile.v0"
BASE = [{"created_by": "", "comment": "Imported from -"},
        {"created_by": "RUN /bin/sh -c apt-get update # buildkit", "comment": BK}]

DOCKERFILE = """\
FROM debian:bookworm-slim
ARG FOO=bar
ENV K=V \\
    K2="two words"
WORKDIR app
RUN mkdir -p /app/out && \\
    echo x > /app/out/a
COPY --chown=1000:1000 ["sub dir/", "/data/"]
ONBUILD RUN echo later
RUN <<EOT
echo heredoc > /h
EOT
COPY $SRC /srv/
USER 1000
CMD ["sh"]
"""

HISTORY = [
    {"created_by": "ARG FOO=bar", "comment": BK, "empty_layer": True},
    {"created_by": "ENV K=V K2=two words", "comment": BK, "empty_layer": True},
    {"created_by": "WORKDIR /app", "comment": BK},
    {"created_by": "RUN |1 FOO=bar /bin/sh -c mkdir -p /app/out &&     echo x > /app/out/a # buildkit", "comment": BK},
    {"created_by": "COPY --chown=1000:1000 sub dir/ /data/ # buildkit", "comment": BK},
    {"created_by": "RUN |1 FOO=bar /bin/sh -c echo heredoc > /h\n # buildkit", "comment": BK},
    {"created_by": "COPY src/app /srv/ # buildkit", "comment": BK},
    {"created_by": "USER 1000", "comment": BK, "empty_layer": True},
    {"created_by": 'CMD ["sh"]', "comment": BK, "empty_layer": True},
]


def mapped(history, text=DOCKERFILE, base=BASE):
    model = Dockerfile.parse(text)
    return [(ins.start_line, ins.keyword, layer) for ins, _h, layer in map_history([*base, *history], len(base), _steps(model))]


def test_each_instruction_after_from_gets_its_entry_and_layer_onbuild_none():
    assert mapped(HISTORY) == [(2, "ARG", None), (3, "ENV", None), (5, "WORKDIR", 2), (6, "RUN", 3), (8, "COPY", 4),
                               (10, "RUN", 5), (13, "COPY", 6), (14, "USER", None), (15, "CMD", None)]


def test_an_extra_or_a_missing_entry_is_no_mapping():
    with pytest.raises(Unmapped, match="10 history entries after its base's 2, the final stage 9"):
        mapped([*HISTORY, {"created_by": "LABEL a=b", "comment": BK, "empty_layer": True}])
    with pytest.raises(Unmapped, match="the final stage 9"):
        mapped(HISTORY[1:])


def test_entries_shifted_by_one_are_caught_by_the_keyword():
    shifted = [HISTORY[0], *HISTORY[:-1]]  # one entry of the base's counted as the stage's
    with pytest.raises(Unmapped, match="ENV at line 3"):
        mapped(shifted)


@pytest.mark.parametrize("index,created_by,why", [
    (3, "RUN |1 FOO=bar /bin/sh -c mkdir -p /elsewhere # buildkit", "line 6"),
    (4, "COPY --chown=1000:1000 other/ /data/ # buildkit", "line 8"),
    (2, "WORKDIR /srv", "line 5"),
    (1, "ENV K=V OTHER=two words", "line 3"),
    (0, "ARG BAR=foo", "line 2"),
    (5, "RUN |1 FOO=bar /bin/sh -c echo something else # buildkit", "line 10"),
    (3, "RUN |1 FOO=bar /bin/sh -c rmkdir -p /app/out &&     echo x > /app/out/a # buildkit", "line 6"),
])
def test_an_entry_whose_text_is_another_instructions_is_no_mapping(index, created_by, why):
    history = [dict(h) for h in HISTORY]
    history[index]["created_by"] = created_by
    with pytest.raises(Unmapped, match=why):
        mapped(history)


def test_a_variable_matches_what_buildkit_expanded_it_to_and_nothing_else():
    history = [dict(h) for h in HISTORY]
    history[6]["created_by"] = "COPY anything/at/all /srv/ # buildkit"
    assert mapped(history)[6] == (13, "COPY", 6)
    history[6]["created_by"] = "COPY anything /elsewhere/ # buildkit"
    with pytest.raises(Unmapped, match="line 13"):
        mapped(history)


def test_the_classic_builders_history_is_no_mapping():
    classic = [{"created_by": f"/bin/sh -c #(nop)  {h['created_by']}"} for h in HISTORY]
    with pytest.raises(Unmapped, match="not written by BuildKit"):
        mapped(classic)


def test_a_base_of_another_length_is_no_mapping():
    steps = _steps(Dockerfile.parse(DOCKERFILE))
    with pytest.raises(Unmapped, match="after its base's 1"):
        map_history([*BASE, *HISTORY], 1, steps)  # the image holds 2 entries before the stage, the base 1


def test_exec_form_run_is_recorded_joined():
    text = 'FROM x\nRUN ["/bin/sh", "-c", "echo exec > /exec"]\n'
    assert mapped([{"created_by": "RUN /bin/sh -c echo exec > /exec # buildkit", "comment": BK}], text) == [(2, "RUN", 2)]


def test_os_release_is_read_as_shell_assignments():
    data = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n# c\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n\n'
    assert parse_os_release(data) == {"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "ID": "debian", "VERSION_ID": "12",
                                 "VERSION_CODENAME": "bookworm"}
    assert parse_os_release(None) == {}


def test_from_with_global_args_resolves_simple_references_only():
    model = Dockerfile.parse('ARG PY=3.11\nARG VARIANT\nFROM python:${PY}-$VARIANT\n')
    assert _resolve_from(model, "python:${PY}-$VARIANT", {"VARIANT": "slim"}) == "python:3.11-slim"
    assert _resolve_from(model, "python:${PY}-$VARIANT", {}) is None  # VARIANT has no value
    assert _resolve_from(model, "python:${PY:-3}", {}) is None
