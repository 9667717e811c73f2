"""The README starts with the two commands, and says how to install Tierwise for one's own project."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_exactly_the_two_commands():
    block = re.match(r"# Tierwise\n\n```bash\n(.*?)```", README, re.S)
    assert block is not None
    assert [line.split()[0] for line in block.group(1).splitlines()] == ["scripts/example", "scripts/test"]


def test_readme_says_how_to_install_for_ones_own_project_with_the_real_extras():
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    installs = re.findall(r"^pip install .*$", README, re.M)
    assert any("git+" in line for line in installs) and any("-e " in line for line in installs)
    named = {e for line in installs for group in re.findall(r"\[([a-z,]+)\]", line) for e in group.split(",")}
    assert {"local", "postgres"} <= named <= extras
