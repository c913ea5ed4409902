"""The README and docs/: generated figures equal the results, links resolve, examples parse, no ../shared."""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path

import pytest

from conftest import ROOT

from benchmarks import figures
from twitchsense.cli import build_parser

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install '.[test]' && .venv/bin/python -m pytest -q"
RUN_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install . && "
               ".venv/bin/twitchsense replay recordings/demo/frequent-twitching.csv")


def results() -> dict:
    return json.loads(figures.RESULTS.read_text(encoding="utf-8"))


def test_readme_and_speed_figures_are_the_ones_results_json_gives():
    assert figures.stale(results(), figures.real_results()) == [], "regenerate with: python -m benchmarks.figures"


def test_the_real_folder_tables_follow_real_data_json():
    real = figures.real_results()
    assert real is not None, "run python -m benchmarks.real_data"
    row = real["folders"][0]
    for path in (figures.README, figures.CARD, figures.EXPERIMENTS):
        assert row["folder"] in figures.block(path.read_text(encoding="utf-8"), "real-data")
    changed = copy.deepcopy(real)
    changed["folders"][0]["model"]["per_h"] = 987.6
    assert figures.stale(results(), changed) == [figures.README, figures.CARD, figures.EXPERIMENTS]


def test_the_figures_table_follows_the_results():
    doc = results()
    table = figures.readme_table(doc)
    decoded = doc["sections"]["decoder"]["rows"][0]["samples_per_cpu_s"]
    assert f"{decoded / 1e6:.2f} M samples/s" in table and "F1 " in table
    changed = copy.deepcopy(doc)
    changed["sections"]["decoder"]["rows"][0]["samples_per_cpu_s"] = 654_321
    changed["sections"]["quality"]["rows"] = []
    table = figures.readme_table(changed)
    assert "0.65 M samples/s" in table and "| **no** |" in table.split("decode the wire protocol")[1].splitlines()[0]
    assert "| simulated sessions, fresh seeds, every class | not measured in this run |" in table
    assert figures.stale(changed) == [figures.README, figures.SPEED]
    assert "654321" in figures.speed_results(changed)


def test_replace_block_replaces_only_between_its_markers():
    text = "a\n<!-- x:start -->\nold\n<!-- x:end -->\nb\n"
    new = figures.replace_block(text, "x", "new")
    assert new.startswith("a\n<!-- x:start -->\n") and new.endswith("\nnew\n<!-- x:end -->\nb\n")
    assert figures.block(new, "x").strip().endswith("new")
    with pytest.raises(ValueError, match="no block 'y'"):
        figures.replace_block(text, "y", "new")


def test_the_set_up_commands_are_the_ones_ci_runs():
    text = README.read_text(encoding="utf-8")
    assert f"\n{RUN_COMMAND}\n" in text and f"\n{TEST_COMMAND}\n" in text
    assert f"\n{TEST_COMMAND} 2>&1" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_stays_a_users_document():
    assert len(README.read_text(encoding="utf-8").splitlines()) < 400  # the notebook lives in docs/


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_sends_the_reader_to_shared(page):
    """A clone has no ../shared: only the data folder the training command reads may be named."""
    text = page.read_text(encoding="utf-8")
    assert not re.findall(r"\.\./shared(?!/data\b)", text)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    out, seen, fenced = set(), {}, False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            slug = _slug(line.lstrip("#"))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), f"{page.name}: link to {target}: no such file"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{page.name}: link to {target}: no such heading"


def _examples(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", text, flags=re.S)
    lines = [line for b in blocks for line in b.splitlines() if line.startswith("twitchsense ")]
    return [line for line in lines if not re.match(r"twitchsense [\w-]+: ", line)]  # error messages shown


@pytest.mark.parametrize("page", [README, ROOT / "docs" / "formats.md", ROOT / "docs" / "protocol.md",
                                  ROOT / "docs" / "simulator.md", ROOT / "docs" / "data.md"], ids=lambda p: p.name)
def test_every_documented_command_line_parses(page):
    """Each example's command and options exist (the README's were also run by hand on the demo recordings)."""
    lines = _examples(page)
    assert lines
    parser = build_parser()
    for line in lines:
        args = shlex.split(line, comments=True)[1:]
        try:
            parser.parse_args(args)
        except SystemExit as exc:
            pytest.fail(f"{page.name}: {line!r} does not parse (exit {exc.code})")
