"""The verification table (rich), with the culprit search when ``--verify`` ran one."""

from __future__ import annotations

from .result import Verification
from .smoke import COMPARE_MODES


def _human(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _delta(b, a, fmt) -> str:
    if b is None or a is None:
        return "—"
    d = a - b
    pct = f" ({d / b * 100:+.0f}%)" if b else ""
    sign = "+" if d > 0 else ("−" if d < 0 else "±")
    return f"{sign}{fmt(abs(d))}{pct}"


def render_table(v: Verification, console) -> None:
    from rich.table import Table

    t = Table(title=f"leanify verify ({v.builder or '?'} builder)", show_lines=False)
    t.add_column("")
    t.add_column("before", justify="right")
    t.add_column("after", justify="right")
    t.add_column("delta", justify="right")
    secs = lambda x: "—" if x is None else f"{x:.1f} s"  # noqa: E731
    num = lambda x: "—" if x is None else str(x)  # noqa: E731
    pct = lambda x: "—" if x is None else f"{x * 100:.1f} %"  # noqa: E731
    rows = [
        ("image size", v.before.image_bytes, v.after.image_bytes, _human, _human),
        ("layers", v.before.layers, v.after.layers, num, str),
        ("cold build", v.before.build_seconds, v.after.build_seconds, secs, lambda d: f"{d:.1f} s"),
        ("wasted", v.before.wasted_bytes, v.after.wasted_bytes, _human, _human),
        ("efficiency", v.before.efficiency, v.after.efficiency, pct, lambda d: f"{d * 100:.1f} pt"),
        ("rebuild: steps re-run", v.rebuild_before.steps_rerun, v.rebuild_after.steps_rerun, num, str),
        ("rebuild: time", v.rebuild_before.seconds, v.rebuild_after.seconds, secs,
         lambda d: f"{d:.1f} s"),
    ]
    for label, b, a, f, df in rows:
        t.add_row(label, f(b), f(a), _delta(b, a, df).split(" (")[0] if label == "efficiency"
                  else _delta(b, a, df))
    console.print(t)
    ok = lambda x: "[green]equal[/]" if x else ("[red]differs[/]" if x is not None else "—")  # noqa: E731
    if v.config is not None:
        console.print(f"config: {ok(v.config.equal)}"
                      + "".join(f"\n  allowed: {a}" for a in v.config.allowed))
    if v.smoke is not None:
        console.print(f"smoke ({v.smoke.how}; compared: {COMPARE_MODES.get(v.smoke.compare, v.smoke.compare)}"
                      f"{f'; {v.smoke.reruns} rerun(s)' if v.smoke.reruns else ''}): {ok(v.smoke.equal)}")
    if v.content is not None:
        c = v.content
        console.print(f"content: {ok(c.get('equal'))}; {len(c.get('missing', []))} missing, "
                      f"{len(c.get('extra', []))} extra, {len(c.get('rebuilt', []))} rebuilt, "
                      f"{len(c.get('removed_packages', []))} package{'' if len(c.get('removed_packages', [])) == 1 else 's'} removed"
                      + (f"; {c['node']['resolutions']} node resolutions compared, {len(c['node']['moved'])} "
                         "moved" if c.get("node") else ""))
    if v.whole_image is not None:
        wi = v.whole_image
        console.print("whole image: " + ("[green]every difference classified[/]" if wi.get("equal") else
                                         f"[red]{wi.get('unclassified_count')} unclassified[/]"))
        for line in wi.get("summary", []):
            console.print(f"  {line}", markup=False, highlight=False)
    if v.rebuild_file:
        console.print(f"rebuild: touched {v.rebuild_file}")
    for line in v.python.lines() if v.python is not None else ():
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    color = {"pass": "green", "fail": "red"}.get(v.verdict, "yellow")
    console.print(f"verdict: [bold {color}]{v.verdict}[/]")
    for r in v.reasons:
        console.print(f"  - {r}", markup=False, highlight=False)
    for w in v.warnings:
        console.print(f"  warning: {w}", markup=False, highlight=False)
    if v.log_tail:
        console.print("build log (last lines):")
        for line in v.log_tail:
            console.print("  " + line, markup=False, highlight=False)
    if v.search is not None:
        _render_search(v.search, console)
    if v.timings is not None:
        console.print(v.timings.line(), markup=False, highlight=False, soft_wrap=True)


def _render_search(search: dict, console) -> None:
    """The rules that broke the first rewrite, each with its failure (``leanify.culprit``)."""
    delivered = ", ".join(search["delivered"]) or "none (the file is left as it was)"
    console.print(f"culprit search: {search['candidates_built']} candidate(s) built (at most "
                  f"{search['budget']}); rules delivered: {delivered}", markup=False, highlight=False)
    for c in search["culprits"]:
        console.print(f"  culprit: {c['rule']} — {c['reason']}", markup=False, highlight=False)
        for line in c["log"]:
            console.print("    " + line, markup=False, highlight=False)
    if search["unproven"]:
        console.print(f"  not proven (the search stopped): {', '.join(search['unproven'])}",
                      markup=False, highlight=False)
