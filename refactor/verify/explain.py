"""Why a difference the smoke run did not see still fails the proof (pure): a smoke run exercises
one path through the program; the checks below read what every other path would load."""

from __future__ import annotations

#: reason prefix (as ``decide`` words it) -> (the check, why its difference matters)
_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("content missing: node:", "node packages",
     ("Node's require would find nothing for it when the code that requires it runs; the smoke run "
      "did not reach that code")),
    ("package version changed: node:", "node packages",
     ("Node would load a version the dependent's declared range excludes, or that the lockfile does not "
      "pin: code the smoke run did not reach would run against another release of it")),
    ("content missing: python:", "Python distributions",
     ("the app imports it (or an installed distribution requires it): the import fails on the first path "
      "that reaches it, which the smoke run did not")),
    ("package version changed: python:", "Python distributions",
     ("another release of a distribution the app imports or another one requires: behaviour the smoke "
      "run did not exercise may differ")),
    ("content different: python:", "Python distributions",
     ("a file its RECORD lists is gone or changed: a module the smoke run did not import would fail or "
      "behave differently")),
    ("content missing: lib:", "shared libraries",
     ("the dynamic loader fails when the program or extension that needs it loads, which the smoke run "
      "did not do")),
    ("content missing:", "files",
     ("a file the original ships at this path is gone: whatever reads it later (another command, another "
      "request) fails")),
    ("content different:", "files",
     ("a file the app ships differs from the original's: the smoke run did not read it")),
    ("config differs:", "image config",
     ("the image would start with other settings (command, environment, user, ports) than the original")),
)


def why_it_matters(reasons: list[str]) -> list[str]:
    """One line per failed check, for a verdict whose smoke run passed: which check failed (with
    its first difference) and why that difference matters."""
    out: dict[str, str] = {}
    for reason in reasons:
        for prefix, check, why in _CHECKS:
            if reason.startswith(prefix):
                out.setdefault(check, f"the smoke run passed, but the {check} check failed "
                                      f"({reason.split(': ', 1)[1]}): {why}")
                break
    return list(out.values())
