"""A full disk or an unwritable data folder during ingest and materialization.

The CLI runs in a child process whose file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes
every write past a few hundred bytes fail with EFBIG, as a full disk does; or a file sits where
the ingest's staging folder must go. Each run ends in one clear error line (exit 1, no
traceback), and the dataset, or the online store's generation in service, is as it was.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from features.settings import Settings
from serving.cli import app
from serving.online.backends import open_online_store
from tests.features.ingest.conftest import FIXTURES
from tests.serving.conftest import write_tiny_world

WORKTREE = Path(__file__).resolve().parents[2]
FULL_AT_BYTES = 512


def _disk_full() -> None:
    """In the child: writes past FULL_AT_BYTES fail with EFBIG instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FULL_AT_BYTES, FULL_AT_BYTES))


def _cli(data_dir: Path, *args: str, disk_full: bool) -> subprocess.CompletedProcess[str]:
    """`patentrisk ARGS` of this checkout in a child process, over `data_dir`."""
    env = {**os.environ, "PATENTRISK_DATA_DIR": str(data_dir), "PATENTRISK_DATASET": "base",
           "PATENTRISK_LOG_LEVEL": "WARNING", "PYTHONDONTWRITEBYTECODE": "1",
           "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "serving.cli", *args], cwd=WORKTREE, env=env, text=True,
        capture_output=True, timeout=300, check=False,
        preexec_fn=_disk_full if disk_full else None,  # noqa: PLW1509 - only sets limits
    )


def _files(root: Path, skip: tuple[str, ...] = ("rejects",)) -> dict[str, str]:
    """Hash of every file under `root`, except folders named in `skip`."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not set(skip) & set(p.relative_to(root).parts)
    }


def _clear_failure(done: subprocess.CompletedProcess[str], says: str) -> None:
    """Exit 1 with an error line naming the cause, and no traceback."""
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out, out
    assert "error:" in out, out
    assert says in " ".join(out.split()), out


@pytest.fixture
def ingested(tmp_path: Path) -> Path:
    """A data folder whose dataset `base` holds one loaded cn-export file."""
    data_dir = tmp_path / "var"
    done = _cli(data_dir, "ingest", "cn-export", str(FIXTURES / "cn_export_utf8bom.csv"),
                disk_full=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return data_dir


def test_a_full_disk_during_ingest_leaves_the_dataset_as_it_was(ingested: Path) -> None:
    dataset = ingested / "datasets" / "base"
    before = _files(dataset)
    done = _cli(ingested, "ingest", "cn-export", str(FIXTURES / "cn_export_gbk.csv"),
                disk_full=True)
    _clear_failure(done, "is there room on its disk? The dataset is as it was")
    assert _files(dataset) == before
    assert not list(dataset.glob("*.merging"))
    assert not (dataset / ".ingest-staging").exists()
    # With room again the same file loads.
    again = _cli(ingested, "ingest", "cn-export", str(FIXTURES / "cn_export_gbk.csv"),
                 disk_full=False)
    assert again.returncode == 0, again.stdout + again.stderr


def test_an_unwritable_staging_folder_fails_the_ingest_clearly(ingested: Path) -> None:
    dataset = ingested / "datasets" / "base"
    (dataset / ".ingest-staging").write_text("a file where the staging folder goes")
    before = _files(dataset)
    done = _cli(ingested, "ingest", "cn-export", str(FIXTURES / "cn_export_gbk.csv"),
                disk_full=False)
    _clear_failure(done, "is the data directory writable")
    assert _files(dataset) == before


def test_a_full_disk_during_materialization_keeps_the_generation_in_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "var", dataset="base")
    write_tiny_world(settings.dataset_dir)
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PATENTRISK_DATASET", "base")
    first = CliRunner().invoke(app, ["materialize"])
    assert first.exit_code == 0, first.output
    store = open_online_store(None, settings.data_dir, "base")
    serving = store.current_id()
    online = settings.data_dir / "online"
    before = _files(online, skip=("STATUS", "LOCK"))
    done = _cli(settings.data_dir, "materialize", "--force", disk_full=True)
    _clear_failure(done, "The generation in service is unchanged")
    assert store.current_id() == serving
    assert _files(online, skip=("STATUS", "LOCK")) == before  # nothing half-written is left
    reader = store.current()
    assert reader is not None
    assert reader.get_many("patent", ["CN100000001B"])[0] is not None
    reader.close()
    store.close()
