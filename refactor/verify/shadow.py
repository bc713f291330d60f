"""/etc/shadow in the whole-image comparison (pure).

useradd, passwd and chage write the day they ran (days since 1970) into each account's third
field. Two builds of the same steps on different days, or one whose layer the build cache kept
from yesterday, differ there and nowhere else: build-time noise, like a file's mtime. Anything
else that differs (an account, a password, an ageing rule, the day 0 that forces a password
change) is the image's behaviour and stays a failure.
"""

from __future__ import annotations

from .image_facts import ImageView, Verdict

FILES = ("/etc/shadow", "/etc/shadow-")  # the file and the backup shadow's tools keep beside it


def _accounts(data: bytes) -> list[list[str]] | None:
    rows = [line.split(":") for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return rows if all(len(r) == 9 for r in rows) else None


def _a_day(field: str) -> bool:
    return field.isdigit() and int(field) > 0  # 0: the password must be changed at the next login


def judge(path: str, before: ImageView, after: ImageView) -> Verdict | None:
    """"account dates" when the two files differ only in the day an account was last changed;
    None for any other path or difference (the comparison's other rules then decide)."""
    if path not in FILES or path not in before.tree or path not in after.tree:
        return None
    b, a = before.tree[path], after.tree[path]
    if (b.kind, b.mode, b.uid, b.gid) != (a.kind, a.mode, a.uid, a.gid) or b.kind != "file":
        return None
    rows = [_accounts(data) if (data := view.read(path)) is not None else None for view in (before, after)]
    if rows[0] is None or rows[1] is None or len(rows[0]) != len(rows[1]):
        return None
    for rb, ra in zip(*rows, strict=True):
        if rb[:2] + rb[3:] != ra[:2] + ra[3:] or (rb[2] != ra[2] and not (_a_day(rb[2]) and _a_day(ra[2]))):
            return None
    return Verdict("state", "account dates", "only the day each build changed an account differs (useradd's "
                                             "days since 1970): build-time noise")
