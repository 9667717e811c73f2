"""Collect the promptfoo corpus (tests/data/promptfoo_corpus/) from a git directory of promptfoo.

    python scripts/promptfoo_corpus_collect.py GIT_DIR COMMIT [OUT]

Takes every `examples/**/promptfooconfig*.yaml` at COMMIT and the files it references
(`file://` values and bare relative paths that name a file of the tree, followed through the
YAML, JSON and CSV files they reach, globs expanded), and nothing else: no images, no binaries,
no file above 256 KB. The layout of the repository is kept (examples/<suite>/...), so a
config's relative references resolve as they do in promptfoo.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import subprocess
import sys
from pathlib import Path

_TEXT = {".yaml", ".yml", ".json", ".jsonl", ".csv", ".txt", ".md", ".j2", ".njk", ".py", ".js", ".mjs",
         ".cjs", ".ts", ".tsv", ".xml", ".html", ".prompt", ""}
_FOLLOW = {".yaml", ".yml", ".json", ".jsonl"}
_MAX_BYTES = 256 * 1024
_TOKEN = re.compile(r"""(?:file://)?([A-Za-z0-9_.\-/*?\[\]{}]+\.[A-Za-z0-9]+)""")


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout


def collect(git_dir: str, commit: str, out: Path) -> list[str]:
    sizes: dict[str, int] = {}
    for line in _git(git_dir, "ls-tree", "-r", "-l", commit, "examples").decode().splitlines():
        meta, path = line.split("\t", 1)
        size = meta.split()[3]
        sizes[path] = int(size) if size.isdigit() else 0
    configs = sorted(p for p in sizes if re.search(r"/promptfooconfig[^/]*\.ya?ml$", p))
    keep: set[str] = set()
    for config in configs:
        todo, seen = [config], set()
        while todo:
            path = todo.pop()
            if path in seen or path not in sizes or sizes[path] > _MAX_BYTES:
                continue
            seen.add(path)
            if posixpath.splitext(path)[1].lower() not in _TEXT:
                continue
            keep.add(path)
            if path != config and posixpath.splitext(path)[1].lower() not in _FOLLOW:
                continue
            text = _git(git_dir, "show", f"{commit}:{path}").decode("utf-8", "replace")
            for token in _TOKEN.findall(text):
                token = token.split(":")[0]
                for base in {posixpath.dirname(config), posixpath.dirname(path)}:
                    target = posixpath.normpath(posixpath.join(base, token))
                    if any(ch in target for ch in "*?["):
                        todo.extend(p for p in sizes if fnmatch.fnmatch(p, target))
                    elif target in sizes:
                        todo.append(target)
    for path in sorted(keep):
        data = _git(git_dir, "show", f"{commit}:{path}")
        if b"\0" in data:
            continue
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return configs


def main() -> None:
    git_dir, commit = sys.argv[1], sys.argv[2]
    out = Path(sys.argv[3] if len(sys.argv) > 3 else "tests/data/promptfoo_corpus")
    configs = collect(git_dir, commit, out)
    print(f"{len(configs)} suites into {out}")


if __name__ == "__main__":
    main()
