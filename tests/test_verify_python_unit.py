"""Python distributions compared by name, version and the files their RECORD lists, never by
where site-packages sits (leanify.verify.packages, the probe's ``record``); a virtual environment
in the WORKDIR found by its pyvenv.cfg, whatever its name (leanify.verify.content)."""

from __future__ import annotations

from leanify.verify import FileEntry, diff_python_dists, diff_trees

#: what the probe reports for idna 3.7 wherever it is installed (paths inside the distribution)
IDNA_RECORD = {"idna/__init__.py": "5c1e4bd17a0a4a7b", "idna/codec.py": "0b3c1c2e8f9d2a11",
               "idna/core.py": "9a7d3e5f1b2c4d6e", "idna/py.typed": "e3b0c44298fc1c14"}
IDNA = {"version": "3.7", "top": ["idna"], "requires": [], "record": IDNA_RECORD}
PSYCOPG = {"version": "2.9.9", "top": ["psycopg2"], "requires": [],
           "record": {"psycopg2/__init__.py": "aa11bb22cc33dd44",
                      "psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so": "",
                      "../../../bin/psycopg-tool": ""}}


def test_the_same_files_wherever_site_packages_sits_pass():
    """/usr/local/lib/python3.11/site-packages -> /opt/venv/lib/python3.11/site-packages: the
    RECORD's paths are inside the distribution, so a relocation changes nothing compared."""
    d = diff_python_dists({"idna": IDNA}, {"idna": dict(IDNA)}, {"idna"})
    assert d["different"] == [] and d["missing"] == [] and d["changed"] == []


def test_a_file_the_record_lists_gone_or_changed_fails():
    after = {**IDNA, "record": {**IDNA_RECORD, "idna/codec.py": "-", "idna/core.py": "ffffffffffffffff"}}
    d = diff_python_dists({"idna": IDNA}, {"idna": after}, {"idna"})
    assert d["different"] == [("python:idna==3.7: files its RECORD lists differ from the original's; missing "
                              "idna/codec.py; changed idna/core.py")]
    # the same file absent from the after RECORD altogether
    after = {**IDNA, "record": {k: v for k, v in IDNA_RECORD.items() if k != "idna/codec.py"}}
    assert "missing idna/codec.py" in diff_python_dists({"idna": IDNA}, {"idna": after}, {"idna"})["different"][0]


def test_rebuilt_extensions_and_scripts_count_by_presence():
    """psycopg2 built from source in each build: its .so bytes differ; its script names the
    interpreter it was installed for. Present is enough; gone is not."""
    rebuilt = {**PSYCOPG, "record": dict(PSYCOPG["record"])}
    assert diff_python_dists({"psycopg2": PSYCOPG}, {"psycopg2": rebuilt}, {"psycopg2"})["different"] == []
    gone = {**PSYCOPG, "record": {**PSYCOPG["record"], "psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so": "-"}}
    d = diff_python_dists({"psycopg2": PSYCOPG}, {"psycopg2": gone}, {"psycopg2"})
    assert d["different"] == [("python:psycopg2==2.9.9: files its RECORD lists differ from the original's; missing "
                              "psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so")]


def test_files_of_a_distribution_nothing_uses_are_not_compared():
    pip = {"version": "24.0", "top": ["pip"], "requires": [], "record": {"pip/__init__.py": "1111111111111111"}}
    after = {**pip, "record": {"pip/__init__.py": "-"}}
    assert diff_python_dists({"pip": pip}, {"pip": after}, {"flask"})["different"] == []


def test_a_distribution_without_a_record_is_compared_by_version():
    legacy = {"version": "1.0", "top": ["legacy"], "requires": [], "record": None}
    assert diff_python_dists({"legacy": legacy}, {"legacy": dict(legacy)}, {"legacy"})["different"] == []


def fe(path, sha="a"):
    return FileEntry(path, "file", 1, sha)


def test_a_virtual_environment_is_found_by_its_pyvenv_cfg_not_its_name():
    """The original kept its venv in /app/env; the rewrite moved it to /opt/venv. Its files are
    distributions (compared as such), not app files gone missing."""
    before = {"app.py": fe("/app/app.py"), "env/pyvenv.cfg": fe("/app/env/pyvenv.cfg"),
              "env/bin/gunicorn": fe("/app/env/bin/gunicorn"), "env/bin/python3": fe("/app/env/bin/python3")}
    d = diff_trees(before, {"app.py": fe("/app/app.py")})
    assert d["missing"] == []
    assert "/app/env/bin/gunicorn (a virtual environment (compared as Python distributions))" in d["dropped"]
    # without its pyvenv.cfg, env/ is the app's own folder: a file gone is missing
    del before["env/pyvenv.cfg"]
    assert "/app/env/bin/gunicorn" in diff_trees(before, {"app.py": fe("/app/app.py")})["missing"]


def test_headers_outside_the_site_land_where_the_scheme_puts_them_but_scripts_count():
    """greenlet installs greenlet.h as ../../../../include/python3.11/greenlet/greenlet.h; in a venv
    it lands in /opt/venv/include/site/...: a split into /opt/venv was rejected for it (a real
    project, simple-flask-blog). A script outside the site still counts by presence."""
    header = "../../../../include/python3.11/greenlet/greenlet.h"
    greenlet = {"version": "3.2.4", "top": ["greenlet"], "requires": [],
                "record": {"greenlet/__init__.py": "1234123412341234", header: "abcdabcdabcdabcd"}}
    moved = {**greenlet, "record": {"greenlet/__init__.py": "1234123412341234",
                                    "../../../include/site/python3.11/greenlet/greenlet.h": "abcdabcdabcdabcd"}}
    assert diff_python_dists({"greenlet": greenlet}, {"greenlet": moved}, {"greenlet"})["different"] == []
    gone = {**PSYCOPG, "record": {**PSYCOPG["record"], "../../../bin/psycopg-tool": "-"}}
    assert "missing ../../../bin/psycopg-tool" in diff_python_dists(
        {"psycopg2": PSYCOPG}, {"psycopg2": gone}, {"psycopg2"})["different"][0]
