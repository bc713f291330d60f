"""debconf's database in the whole-image comparison (pure).

``/var/cache/debconf`` is no cache: ``config.dat`` holds the answers the packages were
configured with (``debconf-set-selections``, a maintainer script's ``db_set``), ``passwords.dat``
the answers to password questions. They are system state the image carries, so a rewrite may
differ there only in questions whose every owner it dropped or added on evidence (a build-only
package's): never in an answer a package both images have was given. The templates (what each
package asks) come with the packages, and the ``-old`` files are debconf's own backups.
"""

from __future__ import annotations

from collections.abc import Mapping

from .image_facts import ImageView, Verdict, _no

DB = "/var/cache/debconf"
#: the files that hold answers, judged question by question
ANSWERS = (f"{DB}/config.dat", f"{DB}/passwords.dat")


def questions(data: bytes) -> dict[str, tuple[str | None, frozenset[str]]]:
    """name -> (value, owning packages) of each question in a file of debconf's File driver
    (paragraphs of ``Field: value`` lines; an indented line continues ``Variables:``)."""
    out: dict[str, tuple[str | None, frozenset[str]]] = {}
    for para in data.decode("utf-8", "replace").split("\n\n"):
        fields: dict[str, str] = {}
        for line in para.splitlines():
            if line and line[0] not in " \t" and ":" in line:
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        if fields.get("Name"):
            owners = frozenset(o.strip().split(":")[0] for o in fields.get("Owners", "").split(",") if o.strip())
            out[fields["Name"]] = (fields.get("Value"), owners)
    return out


def judge(path: str, before: ImageView, after: ImageView, dropped: Mapping[str, Verdict],
          added: Mapping[str, Verdict], before_db) -> Verdict | None:
    """The verdict on a difference at ``path`` when it is a file of answers (None: it is not).
    ``dropped``/``added``: the verdicts on the system packages the rewrite lacks and the ones new
    in it (``Classifier``); ``before_db``: the original's package database (a package both have,
    at another version too, is kept: its answers must stay)."""
    if path not in ANSWERS:
        return None

    def owner_ok(name: str) -> bool:
        v = dropped.get(name) or (None if before_db is not None and name in before_db.packages else added.get(name))
        return v is not None and v.ok

    sides = []
    for view in (before, after):
        data = view.read(path) if path in view.tree else b""
        if data is None:
            return _no(f"{path}: debconf's answers could not be read")
        sides.append(questions(data))
    b, a = sides
    for name in sorted(set(b) | set(a)):
        (vb, ob), (va, oa) = b.get(name, (None, frozenset())), a.get(name, (None, frozenset()))
        if name in b and name in a and vb == va:
            continue
        owners = ob | oa
        if owners and all(owner_ok(o) for o in owners):
            continue
        how = (f"lacks the answer {vb} the original has" if name not in a and vb is not None else
               "lacks it" if name not in a else "adds it" if name not in b else
               f"answers {va} where the original answered {vb}")
        return _no(f"debconf question {name} (owned by {', '.join(sorted(owners)) or 'no package'}): the rewrite {how}")
    return Verdict("state", "debconf answers", "only questions of packages the rewrite dropped or added differ")
