"""Prove a rewrite: build the original and the rewritten Dockerfile from the same context on a
real engine and compare what was measured — never estimated.

Compared: image size and layers, cold build time, the image config, a smoke run, the content
the runtime needs (WORKDIR tree, files ENTRYPOINT/CMD reference, installed Python
distributions and node packages, the shared libraries that ELF files need), the whole image
file by file (every difference in a named class, or the proof fails), waste (when
``leanify.waste`` is available) and the rebuild after a source change.

The rooms, bottom to top (an import only goes down):

- pure comparisons, dicts in and findings out, unit tested without an engine:
  ``config_diff`` (the image config), ``file_entry`` (one file digested: sha256, ELF, zip),
  ``packages`` (Python distributions), ``node_packages``
  (node packages, as Node's ``require`` resolves them), ``content`` (trees, referenced files,
  libraries), ``owners`` (who owns a file: dpkg/apk, RECORD, npm's record),
  ``image_facts`` (what each side's tree and the rewrite's file say), ``image_classes`` (why a
  difference is allowed; ``debconf`` judges debconf's answers) and ``whole_image`` (every entry of both
  final filesystems, classified), ``result`` (:class:`Verification` and the verdict, :func:`decide`);
- reading a built image: ``image_reader`` (files through a created container) and
  ``runtime_needs`` (what the image's command needs, for ``content``);
- running things: ``smoke`` (the smoke command, in both images) and ``rebuild`` (the rebuild
  after touching a source file);
- ``run``: :func:`verify`, the orchestration: builds, each comparison, the decision, signals,
  cleanup and scrubbing;
- ``render``: the table.

A new verification check: its comparison goes in a pure module of its own (or beside its
kin above), tested in tests/test_verify_unit.py; what it needs from the image is read through
``image_reader``; ``run._verify`` calls it and stores its findings on :class:`Verification`
(``result``), where :func:`decide` turns what must not differ into reasons; ``render`` shows it.

Callers import from ``leanify.verify``: the names below stay here whatever module holds them.
"""

from __future__ import annotations

from ..engine import EngineError
from .config_diff import ConfigDiff, declared_keys, diff_config, final_base
from .content import build_scripts, compare_content, diff_trees, is_artifact, runtime_relevance
from .file_entry import FileEntry, elf_dynamic
from .image_reader import _ImageReader
from .node_packages import diff_node_resolutions, node_tree, pinned_by_lockfile
from .packages import diff_python_dists, normalize_dist, python_imports
from .rebuild import pick_rebuild_file
from .render import _delta, _human, render_table
from .result import SIZE_SLACK_BYTES, ImageFacts, Rebuild, Verification, decide
from .run import Terminated, build_key, terminate_as_interrupt, verify
from .runtime_needs import _probe_source, referenced_files, unresolved_libs
from .smoke import SmokeResult, compare_runs, run_smoke, smoke_command
from .whole_image import WholeImage, compare_images

__all__ = ["verify", "Verification", "render_table", "diff_config", "ConfigDiff", "compare_runs",
           "SmokeResult", "diff_trees", "diff_python_dists", "diff_node_resolutions", "elf_dynamic",
           "compare_images", "WholeImage",
           "runtime_relevance", "pick_rebuild_file", "decide", "EngineError",
           # also imported by leanify's own modules and tests
           "FileEntry", "ImageFacts", "Rebuild", "SIZE_SLACK_BYTES", "declared_keys", "final_base",
           "build_scripts", "compare_content", "is_artifact", "node_tree", "pinned_by_lockfile", "normalize_dist",
           "python_imports", "smoke_command", "run_smoke", "referenced_files", "unresolved_libs",
           "build_key", "Terminated", "terminate_as_interrupt", "_probe_source", "_ImageReader",
           "_delta", "_human"]
