"""LEAN020 — Credentials written into the Dockerfile.

What it does: reports (never rewrites) a credential written out in an ENV or ARG value or in a
RUN command (heredocs included): tokens with a known shape (GitHub ``ghp_``/``github_pat_``,
AWS ``AKIA…``, Slack ``xoxb-``/``xoxp-``, GitLab ``glpat-``, npm ``npm_``, PyPI, Stripe live
keys, Google API keys), private key blocks, the password of a ``scheme://user:password@host``
URL, an ``Authorization: Bearer …`` header, and the literal value of a name that says it is a
credential (``DB_PASSWORD=…``, ``ARG NPM_TOKEN=…``, ``--password …``, ``_authToken=…``,
``password: …`` in a config heredoc). Each finding names the BuildKit alternative. The reason
shows at most the first 4 characters of the value (fewer for a short one), then ``***``.

Why: ENV values are stored in the image config (``docker inspect``); ARG values used by a RUN
and every RUN command line are stored in the image history (``docker history``); a file a RUN
writes stays in its layer even when a later RUN deletes it. Anyone who can pull the image can
read them. A secret mount exists only while one RUN runs and leaves nothing in the image.

Example:
    ARG NPM_TOKEN=npm_0123456789abcdefghijklmnopqrstuvwxyz
    RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc
Use instead:
    RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN \\
        echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc && npm ci && rm .npmrc
    # docker build --secret id=npm_token,env=NPM_TOKEN .
(``env=`` needs the Dockerfile frontend 1.10 or later; ``target=/run/secrets/<id>`` works on
all BuildKit versions.)

Findings, not fixes: moving a secret changes how the image is built (the build command needs
``--secret``), which only the owner can do. A finding does not change the file, so it does not
make ``--check`` fail, the same as any other suggestion.

Left alone (decided, and covered by hazard cases):
- a name without a value (``ARG NPM_TOKEN``): the file holds no credential; BuildKit's own
  check ``SecretsUsedInArgOrEnv`` reports secret-looking names;
- values that point at a secret instead of holding one: ``PASSWORD_FILE=/run/secrets/db``,
  paths, ``$VARIABLE`` references (``https://$USER:$PASS@host``);
- placeholders (``changeme``, ``password``, ``example``, ``xxx``, ``<your-token>``, ``TODO``...):
  they are public by definition, and a finding a reviewer must dismiss teaches them to dismiss
  the real ones;
- booleans and small numbers (``REQUIRE_PASSWORD=true``, ``PASSWORD_MIN_LENGTH=8``), GPG key
  fingerprints (``GPG_KEY=…``: public keys), comments.

Also: LEAN014 (multi-stage split) leaves a file with a finding alone, so a credential is never
copied into a new stage.
"""

from __future__ import annotations

import re

from leanify.context import Facts
from leanify.model import Dockerfile, Instruction
from leanify.redact import Hit, mask
from leanify.rules import Change, Rule, Safety
from leanify.secretscan import findings  # the same reading scrubs verification reports

RULE = Rule(
    id="LEAN020",
    title="secret-in-dockerfile",
    safety=Safety.SAFE,  # never edits: findings only
    summary="A credential written into ENV, ARG or RUN ends up in the image config or history; "
            "pass it with a BuildKit secret mount instead.",
    phase=5,
)

_SECRET_MOUNT = "`RUN --mount=type=secret,id={id},env={env}` and `docker build --secret id={id},env={env}`"


def _line_of(ins: Instruction, value: str) -> int:
    at = ins.text.find(value)
    return ins.start_line + (ins.text.count("\n", 0, at) if at >= 0 else 0)


def _ident(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "secret"


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" or noun.startswith("npm") else "a ") + noun


def reason(ins: Instruction, where: str, h: Hit) -> str:
    shown = mask(h.value)
    if h.kind == "private key":
        return (f"{ins.command} writes a private key block ({shown}) into the image: anyone who can "
                "pull it can extract the key; mount it for the one step that needs it: "
                "`RUN --mount=type=secret,id=ssh_key,target=/root/.ssh/id_rsa` with "
                "`docker build --secret id=ssh_key,src=...` (or `--mount=type=ssh` with "
                "`docker build --ssh default`)")
    name = where if where not in ("RUN",) else (h.what if h.kind == "assignment" else "")
    env = re.sub(r"[^A-Z0-9]+", "_", (name or h.what).upper()).strip("_")
    if h.kind == "url password":
        env = "REPO_PASSWORD" if not name else env
    mount = _SECRET_MOUNT.format(id=_ident(env), env=env)
    what = "a literal credential" if h.kind == "assignment" else (
        _a(h.what) if h.kind != "url password" else f"a literal {h.what}")
    if ins.command == "ENV":
        return (f"ENV {where} holds {what} ({shown}): ENV values are stored in the image config "
                f"(`docker inspect`) for anyone who can pull the image; pass it with {mount}, or "
                "at run time")
    if ins.command == "ARG":
        return (f"ARG {where} has {what} as its default ({shown}): build-arg values end up in the "
                f"image history (`docker history`) of every RUN that uses them; use {mount}")
    subject = f"{name} = " if h.kind == "assignment" else ""
    return (f"RUN contains {what} ({subject}{shown}): RUN command lines are stored in the image "
            f"history (`docker history`) and in build logs; read it from {mount}"
            + (" and write `$" + env + "` in the URL" if "URL" in h.what else ""))


def apply(model: Dockerfile, facts: Facts):
    changes = []
    seen: set[tuple[int, str]] = set()
    for ins, where, h in findings(model):
        if (ins.index, h.value) in seen:
            continue
        seen.add((ins.index, h.value))
        line = _line_of(ins, h.value)
        changes.append(Change(RULE.id, RULE.title, (line, line), reason(ins, where, h),
                              applied=False, data={"kind": h.kind, "what": h.what}))
    return model, changes
