"""What varies from one run of the same program to the next, masked before two smoke outputs are
compared (pure): timestamps in the common formats, durations, PIDs, container ids and hostnames,
temporary paths, addresses and ports, UUIDs and random hex ids or digests. Each is replaced by a
placeholder naming what it was, so ``started at 12:00:01`` and ``started at 12:00:02`` compare
equal while ``started`` and ``failed`` never do.

The patterns are ordered: a timestamp is masked before its time of day could be read as an IPv6
address, a UUID before its parts could be read as hex ids.
"""

from __future__ import annotations

import re

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_TZ = r"(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})\b)?"
_FRACTION = r"(?:[.,]\d+)?"

#: (what, pattern): the placeholder is ``<what>``
NOISE: tuple[tuple[str, re.Pattern], ...] = tuple((what, re.compile(p, re.IGNORECASE)) for what, p in (
    # 2024-05-01T12:00:00.123Z, 2024-05-01 12:00:00,123 (Python logging), 2024/05/01 12:00:00 (Go log)
    ("time", rf"\b\d{{4}}[-/]\d{{2}}[-/]\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}}{_FRACTION})?{_TZ})?"),
    # Wed, 01 May 2024 12:00:00 GMT (HTTP, RFC 2822)
    ("time", rf"\b{_DAY},?\s+\d{{1,2}}\s+{_MON}\s+\d{{4}}\s+\d{{2}}:\d{{2}}:\d{{2}}{_TZ}"),
    # Wed May 01 2024 12:00:00 GMT+0000 (Coordinated Universal Time) (JavaScript's Date)
    ("time", rf"\b{_DAY}\s+{_MON}\s+\d{{1,2}}\s+\d{{4}}\s+\d{{2}}:\d{{2}}:\d{{2}}(?:\s+GMT[+-]\d{{4}})?(?:\s+\([^)]*\))?"),
    # Wed May  1 12:00:00 2024 (ctime, date(1)), Wed May  1 12:00:00 UTC 2024
    ("time", rf"\b{_DAY}\s+{_MON}\s+\d{{1,2}}\s+\d{{2}}:\d{{2}}:\d{{2}}{_TZ}(?:\s+[A-Z]{{3,4}})?\s+\d{{4}}"),
    # 01/May/2024:12:00:00 +0000 (Apache and nginx access logs)
    ("time", rf"\b\d{{2}}/{_MON}/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}(?:\s[+-]\d{{4}})?"),
    # May  1 12:00:00 (syslog)
    ("time", rf"\b{_MON}\s+\d{{1,2}}\s+\d{{2}}:\d{{2}}:\d{{2}}"),
    # 12:00:00, 12:00:00.123, 12:00:00 PM
    ("time", rf"\b\d{{1,2}}:\d{{2}}:\d{{2}}{_FRACTION}(?:\s?[AP]M\b)?"),
    # seconds or milliseconds since the epoch, 2017 to 2036
    ("time", r"\b(?:1[5-9]|20)\d{8}(?:\d{3})?(?:\.\d+)?\b"),
    ("uuid", r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
    ("tmp", r"(?:/tmp|/var/tmp|/dev/shm)/[^\s'\":,;)\]}]+"),
    # 127.0.0.1:43817, 0.0.0.0, [::1]:8080, fe80::1
    ("addr", r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"),
    ("addr", r"\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d{1,5})?"),
    ("addr", r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])"),
    ("port", r"(?<=\bport )\d{1,5}\b|(?<=\bport=)\d{1,5}\b|(?<=\bport: )\d{1,5}\b"),
    # pid 7, PID: 7, process 7, node[7]: (syslog), gunicorn's [7] [INFO]
    ("pid", r"(?<=\bpid )\d+|(?<=\bpid=)\d+|(?<=\bpid: )\d+|(?<=\bpid:)\d+|(?<=\bprocess )\d+\b"),
    ("pid", r"(?<=\w\[)\d+(?=\])|(?<=\[)\d+(?=\]\s*\[)"),
    # 12 ms, 1.5s, 0.52 seconds, 3m, 2 minutes, 150µs
    ("duration", r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)\b"),
    # container ids, hostnames made of them, digests, random hex ids: 12+ hex digits with a letter
    # and a digit, or any 16+
    ("hex", r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{12,}\b|\b[0-9a-f]{16,}\b"),
))


def normalize(text: str) -> str:
    """``text`` with what varies from run to run replaced by ``<time>``, ``<duration>``, ``<pid>``,
    ``<tmp>``, ``<addr>``, ``<port>``, ``<uuid>``, ``<hex>`` (a container's id, and the hostname
    made of it, is hex; the smoke runs also share one fixed hostname)."""
    for what, pattern in NOISE:
        text = pattern.sub(f"<{what}>", text)
    return text
