"""The one settings object of patentrisk, read from `PATENTRISK_*` environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration for every part of patentrisk; build once and pass it in."""

    model_config = SettingsConfigDict(env_prefix="PATENTRISK_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("./var"), description="Root folder for datasets, stores and artifacts."
    )
    dataset: str = Field(
        default="world",
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Name of the active dataset folder under data_dir/datasets.",
    )
    mlflow_tracking_uri: SecretStr | None = Field(
        default=None,
        description="MLflow tracking and registry URI (secret: may hold a password); default "
        "SQLite file under data_dir.",
    )
    mlflow_artifact_root: str | None = Field(
        default=None, description="Where MLflow stores artifacts; default data_dir/mlartifacts."
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL for assessments and API keys (secret: may hold a password); "
        "default SQLite under data_dir.",
    )
    host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API binds to.")
    keep_alive_seconds: int = Field(
        default=75, ge=1, le=3600,
        description="Idle time after which the server closes a keep-alive connection. Longer "
        "than clients' and proxies' idle timeouts, so that they close first: a client sending on "
        "a connection the server is closing gets a reset without an answer (uvicorn's 5 s "
        "default did that under load).",
    )
    server_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        default="auto",
        description="Event loop of `patentrisk serve`: uvloop (installed with patentrisk; with "
        "httptools about a third fewer instructions per `/healthz` than asyncio with h11), "
        "asyncio, or auto (uvloop when installed).",
    )
    server_http: Literal["auto", "httptools", "h11"] = Field(
        default="auto",
        description="HTTP parser of `patentrisk serve`: httptools (installed with patentrisk; "
        "C, faster than the pure-Python h11), h11, or auto (httptools when installed).",
    )
    seed: int = Field(default=1, ge=0, description="Seed for the synthetic world.")
    world_patents: int = Field(
        default=50_000, ge=100, le=5_000_000, description="Patents in the demo world."
    )
    as_of: date | None = Field(
        default=None,
        description="Date the service scores as of; default today, capped at the data's end.",
    )
    policy_file: Path | None = Field(
        default=None, description="Rating and pricing policy YAML; default the packaged policy."
    )
    max_batch_items: int = Field(
        default=1000, ge=1, le=100_000, description="Most items in one batch request."
    )
    assessment_commit_batch: int = Field(
        default=64, ge=1, le=10_000,
        description="Most assessment records committed in one transaction (group commit of "
        "concurrent requests; 1: one commit per record).",
    )
    max_body_bytes: int = Field(
        default=5_000_000, ge=1_000, description="Largest request body accepted, in bytes."
    )
    train_trials: int = Field(
        default=10, ge=0, le=1000, description="Optuna trials per task when training."
    )
    admin_api_key: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Optional bootstrap admin key accepted in addition to stored keys.",
    )
    api_key_cache_seconds: float = Field(
        default=5.0, ge=0.0, le=60.0,
        description="Longest time the service keeps a looked-up API key's caller in memory: a "
        "key revoked in the store is refused at most this long after (0: look up every request).",
    )
    rate_limit_per_minute: int = Field(
        default=1200, ge=0, le=1_000_000,
        description="Requests per minute each API key may send (0: no limit); above it 429.",
    )
    rate_limit_burst: int = Field(
        default=120, ge=1, le=100_000,
        description="Requests a key may send at once before the per-minute rate applies.",
    )
    monitoring_window_days: int = Field(
        default=30, ge=1, le=366,
        description="Days of served traffic (up to today) the model monitoring PSI is taken over.",
    )
    monitoring_flush_seconds: float = Field(
        default=30.0, ge=0.0, le=3600.0,
        description="Longest time served-row summaries stay in memory before they are stored.",
    )
    log_level: str = Field(default="INFO", description="Logging level name.")
    online_store_url: str | None = Field(
        default=None,
        pattern=r"^(redis|rediss|unix)://|^sqlite:///",
        description="Online store of materialized features and model outputs: redis://host:port/db "
        "(shared by workers and hosts) or sqlite:///FOLDER; default a SQLite file per "
        "materialization under data_dir/online.",
    )
    score_on_event_loop: bool = Field(
        default=True,
        description="Whether a request answered from stored records is scored on the event "
        "loop instead of a worker thread, when those records are local (the embedded online "
        "store and a SQLite database); with Redis or PostgreSQL it always uses a thread.",
    )
    online_auto_materialize: bool = Field(
        default=True,
        description="Whether the service materializes at start and after the data or models "
        "change when the stored materialization does not match.",
    )
    spark_master: str = Field(
        default="local[2]",
        pattern=r"^(local(\[(\*|[1-9][0-9]*)(,[1-9][0-9]*)?\])?|(spark|yarn|k8s|mesos)\S*)$",
        description="Spark master URL for `patentrisk batch --engine spark` (local[N], "
        "spark://host:7077, yarn, k8s://...).",
    )
    spark_driver_memory: str = Field(
        default="2g",
        pattern=r"^[1-9][0-9]*[mg]$",
        description="Memory of the Spark driver (in local mode: of all of Spark), e.g. 2g.",
    )
    spark_shuffle_partitions: int = Field(
        default=0,
        ge=0,
        le=100_000,
        description="spark.sql.shuffle.partitions of the Spark session; 0: two per core on "
        "local[N] masters, Spark's own setting (spark-defaults.conf) on clusters.",
    )
    spark_cache_shared_ctes: bool = Field(
        default=False,
        description="Whether the Spark run computes each feature CTE that several steps read "
        "once, as a cached view (Spark otherwise recomputes it at every use); off by default: up "
        "to 60,000 patents on local[2] the extra jobs cost more than the recomputation.",
    )
    console_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Key signing the web console's session cookies; default a random key kept "
        "in data_dir/console-secret (created on first use, mode 0600).",
    )
    console_session_minutes: int = Field(
        default=480, ge=5, le=10_080,
        description="How long a console sign-in lasts before it must be repeated, in minutes.",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        allowed = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        upper = value.upper()
        if upper not in allowed:
            raise ValueError(f"log_level must be one of {sorted(allowed)}, got {value!r}")
        return upper

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied; its derived paths and URLs follow the copy's fields.

        The cached properties below live in the instance's `__dict__`, which pydantic copies:
        without dropping them a copy with another `database_url` or `data_dir` would still
        resolve to the original's database or folders.
        """
        copied = super().model_copy(update=update, deep=deep)
        for name, attr in vars(Settings).items():
            if isinstance(attr, cached_property):
                copied.__dict__.pop(name, None)
        return copied

    @cached_property
    def dataset_dir(self) -> Path:
        """Folder holding the active dataset's canonical Parquet tables."""
        return self.data_dir / "datasets" / self.dataset

    @cached_property
    def resolved_tracking_uri(self) -> str:
        """MLflow tracking URI, defaulting to a SQLite store under the data directory."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    @cached_property
    def resolved_artifact_root(self) -> str:
        """MLflow artifact location, defaulting to data_dir/mlartifacts."""
        if self.mlflow_artifact_root:
            return self.mlflow_artifact_root
        return (self.data_dir / "mlartifacts").resolve().as_uri()

    @cached_property
    def resolved_database_url(self) -> str:
        """Assessment store URL, defaulting to SQLite under the data directory."""
        if self.database_url:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'assessments.db').resolve()}"

