"""Reports of a ``leanify bulk`` run; the format follows the file name.

- ``.json``: ``{"leanify_bulk": 1, "summary": {...}, "files": [record, ...]}``, one record per file
  (path, repo, repo_root, status, rules, changes, suggestions, reasons, notes, files, error,
  verification, written); an unchanged file's ``reasons`` say why, when a rule declined.
- ``.csv``: one row per file, the figures flattened.
- ``.md``: counts, changes per rule, a table of the files (a PR or wiki page).
- ``.html``: one self-contained page (no network, no external script or font): counts, a
  sortable table (click a header), and inline SVG charts — image size before/after per
  repository (when ``--verify`` measured it) and changes per rule.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from pathlib import Path

from .bulk import STATUSES, summarize
from .errors import LeanifyError

FORMATS = (".json", ".csv", ".md", ".html")


def report_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".htm":
        suffix = ".html"
    if suffix not in FORMATS:
        raise LeanifyError(f"--report {path}: unknown format {suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    return suffix


def render(records: list[dict], fmt: str, meta: dict | None = None) -> str:
    summary = summarize(records)
    meta = meta or {}
    if fmt == ".json":
        return json.dumps({"leanify_bulk": 1, "summary": summary, "meta": meta, "files": records}, indent=2) + "\n"
    if fmt == ".csv":
        return render_csv(records)
    if fmt == ".md":
        return render_md(records, summary, meta)
    return render_html(records, summary, meta)


def write_report(path: Path, records: list[dict], meta: dict | None = None) -> None:
    """Write the report atomically (a reader never sees half a report)."""
    import os
    import tempfile

    text = render(records, report_format(path), meta)
    path = Path(path)
    folder = path.resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------------------------------ figures


def _fig(rec: dict, side: str, key: str):
    v = rec.get("verification") or {}
    return (v.get(side) or {}).get(key)


CSV_COLUMNS = ["repo", "path", "status", "rules", "changes", "suggestions", "files", "written", "error",
               "verdict", "image_bytes_before", "image_bytes_after", "layers_before", "layers_after",
               "build_seconds_before", "build_seconds_after", "repo_root"]


def render_csv(records: list[dict]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in records:
        v = r.get("verification") or {}
        w.writerow([r["repo"], r["path"], r["status"], " ".join(r["rules"]), len(r["changes"]), len(r["suggestions"]),
                    " ".join(r["files"]), "yes" if r.get("written") else "no", r.get("error") or "",
                    v.get("verdict", ""), _blank(_fig(r, "before", "image_bytes")), _blank(_fig(r, "after", "image_bytes")),
                    _blank(_fig(r, "before", "layers")), _blank(_fig(r, "after", "layers")),
                    _blank(_fig(r, "before", "build_seconds")), _blank(_fig(r, "after", "build_seconds")),
                    r["repo_root"]])
    return out.getvalue()


def _blank(x) -> str:
    return "" if x is None else str(x)


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def render_md(records: list[dict], summary: dict, meta: dict) -> str:
    lines = ["# leanify bulk report", ""]
    lines.append(f"{summary['files']} files in {summary['repos']} repositories: "
                 + ", ".join(f"{summary[s]} {s}" for s in STATUSES)
                 + f"; {summary['changes']} changes" + (f", {summary['written']} files written" if summary["written"] else "")
                 + ".")
    lines += ["", "| rule | changes | files |", "| --- | ---: | ---: |"]
    for rule, n in summary["changes_per_rule"].items():
        lines.append(f"| {rule} | {n} | {summary['files_per_rule'].get(rule, 0)} |")
    sizes = _repo_sizes(records)
    if sizes:
        lines += ["", "## Image size per repository (measured by --verify)", "",
                  "| repository | before | after | change |", "| --- | ---: | ---: | ---: |"]
        for repo, (b, a) in sizes.items():
            lines.append(f"| {_md_cell(repo)} | {_human(b)} | {_human(a)} | {_pct(b, a)} |")
    lines += ["", "## Files", "", "| repository | path | status | rules | note |", "| --- | --- | --- | --- | --- |"]
    for r in records:
        note = r.get("error") or ("; ".join(r["reasons"]) if r["status"] in ("skipped", "unchanged") else "")
        lines.append(f"| {_md_cell(r['repo'])} | {_md_cell(r['path'])} | {r['status']} | {' '.join(r['rules'])} | {_md_cell(note)} |")
    return "\n".join(lines) + "\n"


def _repo_sizes(records: list[dict]) -> dict[str, tuple[int, int]]:
    """Per repository, the summed image bytes before/after over files where both were measured."""
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in records:
        b, a = _fig(r, "before", "image_bytes"), _fig(r, "after", "image_bytes")
        if isinstance(b, int) and isinstance(a, int):
            acc[r["repo"]][0] += b
            acc[r["repo"]][1] += a
    return {k: (v[0], v[1]) for k, v in sorted(acc.items())}


def _human(n: int | None) -> str:
    if n is None:
        return ""
    x = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(x) < 1000 or unit == "GB":
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1000
    return f"{x:.1f} GB"


def _pct(b: int | None, a: int | None) -> str:
    if not b or a is None:
        return ""
    return f"{(a - b) / b * 100:+.1f}%"


# ------------------------------------------------------------------------------------------ html

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.meta{color:#5b6475;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #d9dee8;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:22px}
.changed b{color:#1b7f3b}.unchanged b{color:#5b6475}.skipped b{color:#a26b00}.error b{color:#b3261e}
.charts{display:flex;gap:32px;flex-wrap:wrap;align-items:flex-start}
.chart{border:1px solid #d9dee8;border-radius:8px;padding:12px}
.note{color:#5b6475;font-style:italic}
table{border-collapse:collapse;width:100%;margin-top:8px}
th,td{border-bottom:1px solid #e6e9f0;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f9;cursor:pointer;user-select:none;white-space:nowrap;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
td.num,th.num{text-align:right}
.st-changed{color:#1b7f3b;font-weight:600}.st-error{color:#b3261e;font-weight:600}.st-skipped{color:#a26b00}
.st-unchanged{color:#5b6475}
details summary{cursor:pointer;color:#2f5fb3}
code{font-size:12px}
"""

_JS = """
(function(){
  var table=document.getElementById('files');
  var heads=table.tHead.rows[0].cells;
  function key(cell,num){var v=cell.getAttribute('data-sort');if(v===null)v=cell.textContent;
    if(num){var f=parseFloat(v);return isNaN(f)?-Infinity:f;}return v.toLowerCase();}
  Array.prototype.forEach.call(heads,function(th,i){
    th.addEventListener('click',function(){
      var num=th.classList.contains('num');
      var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir===1?'ascending':'descending');
      var body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.forEach(function(r,n){r._n=n;});
      rows.sort(function(a,b){var x=key(a.cells[i],num),y=key(b.cells[i],num);
        return x<y?-dir:x>y?dir:(a._n-b._n);});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
})();
"""


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def _bar_chart_sizes(sizes: dict[str, tuple[int, int]]) -> str:
    if not sizes:
        return '<p class="note" id="no-sizes">No image sizes were measured (run <code>leanify bulk --verify</code>).</p>'
    label_w, bar_w, row_h = 220, 360, 34
    top = max(max(b, a) for b, a in sizes.values()) or 1
    h = row_h * len(sizes) + 40
    parts = [(f'<svg id="chart-sizes" width="{label_w + bar_w + 150}" height="{h}" '
              f'role="img" aria-label="image size before and after per repository">'),
             '<rect x="0" y="0" width="12" height="10" fill="#9aa5b8"/><text x="16" y="9" font-size="11">before</text>',
             '<rect x="70" y="0" width="12" height="10" fill="#2f9e5b"/><text x="86" y="9" font-size="11">after</text>']
    for n, (repo, (b, a)) in enumerate(sizes.items()):
        y = 24 + n * row_h
        name = repo if len(repo) <= 32 else repo[:30] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end"><title>{_e(repo)}</title>{_e(name)}</text>')
        for k, (val, color) in enumerate(((b, "#9aa5b8"), (a, "#2f9e5b"))):
            w = max(1, round(bar_w * val / top))
            parts.append(f'<rect class="bar" x="{label_w}" y="{y + k * 13}" width="{w}" height="12" fill="{color}">'
                         f'<title>{_e(repo)} {"before" if k == 0 else "after"}: {_human(val)}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4}" y="{y + k * 13 + 10}" font-size="11">{_human(val)}'
                         f'{" (" + _pct(b, a) + ")" if k == 1 else ""}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bar_chart_rules(per_rule: dict[str, int]) -> str:
    if not per_rule:
        return '<p class="note" id="no-rules">No rule fired.</p>'
    label_w, bar_w, row_h = 80, 320, 20
    top = max(per_rule.values()) or 1
    h = row_h * len(per_rule) + 8
    parts = [(f'<svg id="chart-rules" width="{label_w + bar_w + 60}" height="{h}" '
              f'role="img" aria-label="changes per rule">')]
    for n, (rule, count) in enumerate(per_rule.items()):
        y = 4 + n * row_h
        w = max(1, round(bar_w * count / top))
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" font-size="12" text-anchor="end">{_e(rule)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y}" width="{w}" height="15" fill="#3c6fd1">'
                     f'<title>{_e(rule)}: {count} changes</title></rect>'
                     f'<text x="{label_w + w + 4}" y="{y + 12}" font-size="11">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(records: list[dict], summary: dict, meta: dict) -> str:
    cards = "".join(f'<div class="card {s}" id="count-{s}"><b>{summary[s]}</b>{s}</div>' for s in STATUSES)
    cards = (f'<div class="card" id="count-files"><b>{summary["files"]}</b>files</div>'
             f'<div class="card" id="count-repos"><b>{summary["repos"]}</b>repositories</div>' + cards
             + f'<div class="card" id="count-changes"><b>{summary["changes"]}</b>changes</div>')
    rows = []
    for r in records:
        b, a = _fig(r, "before", "image_bytes"), _fig(r, "after", "image_bytes")
        note_bits = []
        if r.get("error"):
            note_bits.append(f'<span class="err">{_e(r["error"])}</span>')
        if r["reasons"]:
            items = "".join(f"<li>{_e(x)}</li>" for x in r["reasons"])
            label = (f"why {r['status']}" if r["status"] in ("skipped", "unchanged")
                     else f"{len(r['reasons'])} reason(s)")
            note_bits.append(f"<details><summary>{label}</summary><ul>{items}</ul></details>")
        if r["files"]:
            note_bits.append("new files: " + ", ".join(f"<code>{_e(f)}</code>" for f in r["files"]))
        reduction = (a - b) / b * 100 if isinstance(a, int) and isinstance(b, int) and b else None
        rows.append(
            "<tr>"
            f"<td>{_e(r['repo'])}</td><td><code>{_e(r['path'])}</code></td>"
            f'<td class="st-{_e(r["status"])}">{_e(r["status"])}</td>'
            f"<td>{_e(' '.join(r['rules']))}</td>"
            f'<td class="num">{len(r["changes"])}</td>'
            f'<td class="num" data-sort="{"" if b is None else b}">{_human(b)}</td>'
            f'<td class="num" data-sort="{"" if a is None else a}">{_human(a)}</td>'
            f'<td class="num" data-sort="{"" if reduction is None else f"{reduction:.3f}"}">{_pct(b, a)}</td>'
            f"<td>{''.join(note_bits)}</td>"
            "</tr>")
    heads = [("repository", ""), ("path", ""), ("status", ""), ("rules", ""), ("changes", "num"),
             ("size before", "num"), ("size after", "num"), ("size change", "num"), ("notes", "")]
    thead = "".join(f'<th scope="col"{f" class={chr(34)}{c}{chr(34)}" if c else ""}>{_e(h)}</th>' for h, c in heads)
    generated = " · ".join(_e(f"{k}: {v}") for k, v in meta.items() if v not in (None, "", [], {}))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>leanify bulk report — {summary['files']} files</title>
<style>{_CSS}</style></head>
<body>
<h1>leanify bulk report</h1>
<div class="meta">{generated}</div>
<div class="cards">{cards}</div>
<h2>Charts</h2>
<div class="charts">
<div class="chart"><h3>Image size per repository, before / after</h3>{_bar_chart_sizes(_repo_sizes(records))}</div>
<div class="chart"><h3>Changes per rule</h3>{_bar_chart_rules(summary['changes_per_rule'])}</div>
</div>
<h2>Files</h2>
<p class="note">Click a column header to sort; click again to reverse.</p>
<table id="files"><thead><tr>{thead}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<script>{_JS}</script>
</body></html>
"""
