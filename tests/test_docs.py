"""The project's docs live in the repository and say what the code does (issue 11).

- No tracked text file names a path on one machine (a workspace, root's or a user's home, a pytest temp
  dir): such paths mean nothing on another machine. Plain temp dirs in examples (``/tmp/drop``) are fine.
- Every dbt docs block (``dbt_project/models/docs.md``) is named in ``docs/metrics.md``, the metric
  dictionary the blocks follow.
- The README links the metric dictionary and the design, and the docs' relative links resolve.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
METRICS = REPO / "docs" / "metrics.md"
DESIGN = REPO / "docs" / "design.md"
DBT_DOCS = REPO / "dbt_project" / "models" / "docs.md"

# An absolute path that only exists on one machine: the shared workspace, root's home, a user's home, or
# pytest's per-user temp dir. The look-behind keeps URL and relative paths (``repo/root/x``) out.
MACHINE_PATH = re.compile(
    r"(?<![\w.~/-])/(?:work|root)/"
    r"|(?<![\w.~/-])/home/[A-Za-z0-9_.-]+/"
    r"|(?<![\w.~/-])/tmp/pytest-(?:of-)?\w"
)
DOCS_BLOCK = re.compile(r"{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%}")


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"not a git checkout ({err}): nothing to list")
    return [REPO / name for name in out.decode("utf-8").split("\0") if name]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte, or not UTF-8) or one absent from the work tree."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def machine_paths(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line holding a machine-specific absolute path."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if MACHINE_PATH.search(line)]


def docs_blocks(text: str) -> list[str]:
    return DOCS_BLOCK.findall(text)


def test_no_tracked_file_names_a_machine_path():
    found = []
    for path in tracked_files():
        if path == Path(__file__).resolve():
            continue  # this file holds the examples the checker must flag (below)
        text = text_of(path)
        if text is None:
            continue
        found += [f"{path.relative_to(REPO)}:{n}: {line[:120]}" for n, line in machine_paths(text)]
    assert not found, (
        "machine-specific absolute paths in tracked files (write a relative path, SALESCOPE_HOME/…, or a "
        "description such as 'a scale-10 home'):\n" + "\n".join(found)
    )


def test_every_dbt_docs_block_is_in_the_metric_dictionary():
    blocks = docs_blocks(DBT_DOCS.read_text(encoding="utf-8"))
    assert len(blocks) > 50, (
        f"only {len(blocks)} docs blocks parsed from {DBT_DOCS.name}: is the parser broken?"
    )
    assert len(blocks) == len(set(blocks)), "a docs block name is defined twice"
    metrics = METRICS.read_text(encoding="utf-8")
    missing = [b for b in blocks if f"`{b}`" not in metrics]
    assert not missing, f"docs blocks not named (as `name`) in docs/metrics.md: {missing}"


def test_the_dbt_docs_follow_the_metric_dictionary():
    assert "docs/metrics.md" in DBT_DOCS.read_text(encoding="utf-8")
    assert "docs/metrics.md" in (REPO / "dbt_project" / "README.md").read_text(encoding="utf-8")


def test_the_readme_links_the_docs():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "](docs/metrics.md)" in readme
    assert "](docs/design.md)" in readme


@pytest.mark.parametrize("doc", [METRICS, DESIGN], ids=lambda p: p.name)
def test_relative_links_in_the_docs_resolve(doc):
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8"))
    broken = [link for link in links if "://" not in link and not (doc.parent / link).exists()]
    assert not broken, f"{doc.name}: links to missing files: {broken}"


# ---- the checkers themselves: they must see what they claim to see -----------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        # built from parts, so this file names no machine path itself
        "rows in /" + "work/shared/METRICS.md",
        '"snapshot": "/' + 'work/s10_home/serving/serving.duckdb"',
        "cd /root/project",
        "see /home/alice/salescope/README.md",
        "tmp_path is /tmp/pytest-of-root/pytest-3/test_x0",
        "(/home/bob/x)",
    ],
)
def test_a_machine_path_is_found(line):
    assert machine_paths(line) == [(1, line)]


@pytest.mark.parametrize(
    "line",
    [
        "salescope generate --out /tmp/drop",
        "SALESCOPE_HOME=/tmp/s10 salescope run --scale 10",
        "https://example.com/" + "work/index.html",
        "the repo/root/ folder and ~/" + "work/notes",
        "cd .salescope/dbt/docs-target",
        "/home/ alone is no user's home",
    ],
)
def test_an_ordinary_path_is_not_flagged(line):
    assert machine_paths(line) == []


def test_docs_blocks_are_parsed():
    text = "{% docs a_b %}x{% enddocs %}\n{%- docs c -%}\ny\n{%- enddocs -%}\n{# {% docs #}"
    assert docs_blocks(text) == ["a_b", "c"]
