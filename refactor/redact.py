"""Credentials: how to recognise them in Dockerfile text and how to keep them out of reports.

Two users:
- rule LEAN020 (``leanify.transforms.secrets``) reports credentials written into a Dockerfile;
- verification (``leanify.engine``, ``leanify.verify``) scrubs every log line, reason and JSON
  value it reports: the values of ``--build-arg`` and anything that looks like a credential
  (a token with a known prefix, a private key block, the password of a ``user:password@`` URL,
  the value of a ``*_TOKEN=``/``password=``-style assignment) become ``***``. BuildKit's plain
  progress echoes each RUN line, so a token in a Dockerfile would otherwise reach the log tail.

Pure functions, no I/O.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MASK = "***"

#: tokens whose shape alone says what they are (prefix, provider); the value is the whole match
TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b")),
    ("GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{50,255}\b")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,250}\b")),
    ("GitLab token", re.compile(r"\bglpat-[0-9A-Za-z_-]{20,}")),
    ("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("PyPI token", re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}")),
    ("Stripe live key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{20,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
)

PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)?",
    re.S,
)

#: scheme://user:password@host — the password group must be a literal (checked by the caller)
URL_CREDENTIALS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@'\"]+):([^/\s@'\"]+)@")

#: NAME=value / --name=value / name: value in shell text, config heredocs and .npmrc lines
ASSIGNMENT = re.compile(
    r"(?P<name>(?<![A-Za-z0-9_])(?:--?)?[A-Za-z_][A-Za-z0-9_.-]*)"
    r"(?P<sep>=|:[ \t]+)"
    r"(?P<q>['\"]?)(?P<value>[^\s'\";&|)]+)"
)
#: ``curl -u user:password`` / ``--user user:password`` (wget: ``--password`` is a flag below)
USER_OPTION = re.compile(r"(?<![A-Za-z0-9_-])(?:-u|--user|--proxy-user)(?:[ \t]+|=)(?P<q>['\"]?)"
                         r"(?P<user>[^\s:'\"$]+):(?P<value>[^\s'\"]+)")
#: ``Authorization: Bearer VALUE`` in a curl/wget header
AUTH_HEADER = re.compile(r"(?i)\bAuthorization:[ \t]*(?:Bearer|Basic|token)[ \t]+"
                         r"(?P<value>[A-Za-z0-9._~+/=-]{8,})")
#: ``--password VALUE`` (space-separated flag value, e.g. ``docker login -u x --password y``)
FLAG_VALUE = re.compile(r"(?<![A-Za-z0-9_-])(?P<name>--(?:password|passwd|token|secret|api-key|apikey))"
                        r"[ \t]+(?P<q>['\"]?)(?P<value>[^\s'\";&|$-][^\s'\";&|]*)")

_SECRET_SUFFIXES = (
    "token", "password", "passwd", "secret", "apikey", "api_key", "api-key", "secret_key",
    "secretkey", "access_key", "accesskey", "private_key", "privatekey", "client_secret",
    "credentials", "credential", "auth_token", "authtoken", "encryption_key", "signing_key",
    "master_key", "secret_key_base", "_auth", "_pass", "-pass", ".pass", "_pwd",
)
_NOT_SECRET_SUFFIXES = ("_file", "_path", "_dir", "_url", "_uri", "_host", "_user", "_username",
                        "_name", "_length", "_len", "_expiry", "_ttl", "_timeout", "_id", "_type",
                        "_header", "_env", "_var", "_policy", "_min", "_max", "_hash_algorithm")

#: values that stand for "no real secret here": documented defaults and template markers.
#: Decided: they are not reported — they are public by definition, and a finding a reviewer
#: must dismiss trains them to dismiss the real ones (the image still ships the default, which
#: `--verify` does not judge).
PLACEHOLDERS = frozenset({
    "changeme", "change_me", "change-me", "changeit", "password", "passwd", "secret", "token",
    "example", "placeholder", "dummy", "test", "testing", "xxx", "xxxx", "xxxxx", "xxxxxx",
    "todo", "tbd", "none", "null", "nil", "undefined", "empty", "default", "replaceme",
    "replace_me", "your_token", "your_password", "yourpassword", "mypassword", "***", "****",
    "redacted", "unset", "notset", "not-set", "fake", "insecure", "foo", "bar", "foobar",
})
_BOOLISH = frozenset({"true", "false", "yes", "no", "on", "off", "0", "1", "enabled", "disabled",
                      "required", "optional"})


def secret_name(name: str) -> bool:
    """Does a variable / key / flag name say it holds a credential? (``DB_PASSWORD``,
    ``GITHUB_TOKEN``, ``--password``, ``_authToken``, ``AWS_SECRET_ACCESS_KEY``; not
    ``PASSWORD_FILE``, ``GPG_KEY``, ``TOKEN_URL``, ``PWD``)."""
    n = name.strip().lstrip("-").lower()
    if not n or n in ("pwd", "pass", "key", "auth"):
        return n == "pass" and name.startswith("--")
    if n.endswith(_NOT_SECRET_SUFFIXES) or n.startswith(("no_", "require_", "use_", "allow_",
                                                         "enable_", "disable_", "skip_")):
        return False
    return n in ("password", "passwd", "secret", "token", "apikey", "credentials") or n.endswith(
        _SECRET_SUFFIXES)


def literal_value(value: str) -> bool:
    """Is this value a credential written out (not a variable, path, flag, placeholder)?"""
    v = value.strip().strip("'\"")
    if len(v) < 4 or "$" in v or v.startswith(("/", "./", "~", "<", "{{", "%")):
        return False
    low = v.lower()
    if low in PLACEHOLDERS or low in _BOOLISH or re.fullmatch(r"x+|\*+|\.+|-+|_+", low):
        return False
    if low.startswith(("your", "<your", "change", "replace", "insert", "put-", "put_")):
        return False
    if re.fullmatch(r"\d{1,5}", v):  # a number: a length, a port, a timeout
        return False
    if re.fullmatch(r"[a-z]+(?:[-_][a-z]+)*\(.*\)", low):  # a function call in a config
        return False
    return True


def mask(value: str) -> str:
    """What a report may show of a credential: at most its first 4 characters (fewer for a short
    value: never more than a third of it), then ``***``."""
    v = value.strip().strip("'\"")
    return v[: min(4, len(v) // 3)] + MASK


@dataclass(frozen=True)
class Hit:
    kind: str  # "token" | "private key" | "url password" | "assignment"
    what: str  # e.g. "GitHub token", "DB_PASSWORD", "https URL password"
    value: str  # the credential itself (never printed: use mask())
    start: int  # offsets of the value in the scanned text
    end: int


#: cheap substring tests first: most RUN lines hold none of these
_TOKEN_HINTS = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "akia", "asia", "abia", "acca",
                "xox", "glpat-", "npm_", "pypi-", "_live_", "aiza")
_NAME_HINTS = ("token", "pass", "pwd", "secret", "key", "auth", "credential")


def find(text: str, *, assignments: bool = True) -> list[Hit]:
    """Every credential in ``text``, in order of position; overlapping hits are reported once
    (the most specific: a known token wins over the assignment it is the value of)."""
    low = text.lower()
    tokens = any(h in low for h in _TOKEN_HINTS)
    keys = "private key" in low
    urls = "://" in low and "@" in low
    names = any(h in low for h in _NAME_HINTS)
    users = "-u" in low or "--user" in low or "--proxy-user" in low
    if not (tokens or keys or urls or names or users):
        return []
    hits: list[Hit] = []
    for what, pat in TOKEN_PATTERNS if tokens else ():
        for m in pat.finditer(text):
            hits.append(Hit("token", what, m.group(0), m.start(), m.end()))
    for m in PRIVATE_KEY.finditer(text) if keys else ():
        hits.append(Hit("private key", "private key block", m.group(0), m.start(), m.end()))
    for m in URL_CREDENTIALS.finditer(text) if urls else ():
        pw = m.group(2)
        if literal_value(pw):
            scheme = text[m.start(): text.index("://", m.start())]
            hits.append(Hit("url password", f"password in a {scheme} URL", pw, m.start(2), m.end(2)))
    for m in USER_OPTION.finditer(text) if users else ():
        if literal_value(m.group("value")):
            hits.append(Hit("url password", "password in a --user option", m.group("value"),
                            m.start("value"), m.end("value")))
    for m in AUTH_HEADER.finditer(text) if "authorization" in low else ():
        if literal_value(m.group("value")):
            hits.append(Hit("token", "Authorization header", m.group("value"), m.start("value"),
                            m.end("value")))
    if assignments and names:
        for pat in (ASSIGNMENT, FLAG_VALUE):
            for m in pat.finditer(text):
                name, value = m.group("name"), m.group("value")
                if secret_name(name) and literal_value(value):
                    hits.append(Hit("assignment", name.lstrip("-"), value, m.start("value"),
                                    m.end("value")))
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    out: list[Hit] = []
    for h in hits:
        if any(h.start < o.end and o.start < h.end for o in out):
            continue
        out.append(h)
    return out


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every given secret value and every recognisable credential replaced by
    ``***``. Values shorter than 4 characters are replaced only where they stand alone as a
    word (a one-letter build arg must not blank out every ``a`` in a log)."""
    if not text:
        return text
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(s) >= 4:
            text = text.replace(s, MASK)
        else:
            text = re.sub(r"(?<![A-Za-z0-9_])" + re.escape(s) + r"(?![A-Za-z0-9_])", MASK, text)
    hits = find(text)
    for h in reversed(hits):
        text = text[: h.start] + MASK + text[h.end:]
    for value in sorted({h.value for h in hits if len(h.value) >= 6}, key=len, reverse=True):
        text = text.replace(value, MASK)  # the same credential elsewhere, in any shape
    return text


def scrub(obj: Any, secrets: Iterable[str] = ()) -> Any:
    """``obj`` (JSON-like data or dataclasses) with :func:`redact` applied to every string;
    dataclass instances are updated in place (frozen ones are rebuilt), others are copied."""
    secrets = tuple(secrets)
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, dict):
        return {k: scrub(v, secrets) for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v, secrets) for v in obj]
    if isinstance(obj, tuple):
        return tuple(scrub(v, secrets) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: scrub(getattr(obj, f.name), secrets) for f in dataclasses.fields(obj)}
        if type(obj).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return dataclasses.replace(obj, **changes)
        for k, v in changes.items():
            setattr(obj, k, v)
        return obj
    return obj


def build_arg_values(build_args) -> list[str]:
    """The ``--build-arg`` values to redact: all of them, except values under 4 characters whose
    name does not say secret (``PY=3`` must not blank out every "3" in a report)."""
    return [v for k, v in dict(build_args or {}).items() if v and (len(v) >= 4 or secret_name(k))]


def secret_env_values(env: Iterable[str] | None) -> list[str]:
    """The values of ``NAME=value`` entries of an image config's Env whose name says secret."""
    out = []
    for item in env or ():
        k, _, v = item.partition("=")
        if v and secret_name(k):
            out.append(v)
    return out


__all__ = ["find", "Hit", "mask", "redact", "scrub", "secret_name", "literal_value",
           "secret_env_values", "build_arg_values", "MASK", "PLACEHOLDERS"]
