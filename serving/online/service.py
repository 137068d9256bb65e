"""The online store as the service sees it: the generation in service, staleness, rebuilds.

The view in service changes only by one assignment, to a generation that is complete: a running
service keeps answering from the previous one while a new one is written. A refresher thread
follows the store's pointer (another worker, host or `patentrisk materialize` may swap it) and
compares what the generation was built from with the dataset and models now; when the data,
date or feature code changed it says so in `/readyz` and rebuilds in the background.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from features.settings import Settings
from features.store import TableStore
from serving.logs import SecretMasker
from serving.online.backends import OnlineStore, OnlineStoreUnreachableError, open_online_store
from serving.online.materialize import (
    MaterializeReport,
    expected_stamp,
    materialize,
    model_stamp,
)
from serving.online.view import OnlineView

if TYPE_CHECKING:
    from serving.modelset import ModelSet

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
# The rebuild lock outlives a crashed builder by this long at most (Redis; flock frees at once).
LOCK_TTL_SECONDS = 3600


class OnlineService:
    """The generation in service (`view`), what no longer matches (`stale`), and rebuilding."""

    def __init__(
        self,
        settings: Settings,
        store: OnlineStore,
        models: Callable[[], ModelSet],
        follow_models: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._models = models
        # Called with a new generation's model versions when they differ from those in service
        # (another worker or host reloaded new champions): the app loads them too.
        self._follow_models = follow_models
        self._followed: str | None = None
        self.view: OnlineView | None = None
        self._previous: OnlineView | None = None
        self.stale: list[str] = []
        self.last_error: str | None = None
        # The store stopped answering (Redis down): requests compute their answers meanwhile.
        self.unreachable = False
        self._swap = threading.Lock()
        self._build_lock = threading.Lock()
        self._builder: threading.Thread | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        models: Callable[[], ModelSet],
        follow_models: Callable[[dict[str, str]], None] | None = None,
    ) -> OnlineService:
        """The service over the configured store (`Settings.online_store_url`)."""
        store = open_online_store(settings.online_store_url, settings.data_dir, settings.dataset)
        return cls(settings, store, models, follow_models)

    # --- following the store ---

    def refresh(self) -> None:
        """Open the store's current generation if it changed, and recheck staleness."""
        try:
            gen = self.store.current_id()
            if gen and (self.view is None or gen != self.view.generation):
                self._install(OnlineView(self.store.open(gen)))
            elif gen is None and self.view is not None:
                # The store lost its generations (a Redis restarted empty): nothing is stored
                # any more, so answers are computed per request and the store is rebuilt.
                log.warning("online store has no generation any more; rebuilding it")
                with self._swap:
                    self._previous, self.view = self.view, None
            view = self.view
            if (view is not None and self._follow_models is not None
                    and self._followed != view.generation
                    and view.stamp.models != model_stamp(self._models())):
                self._followed = view.generation  # once per generation, whatever the outcome
                self._follow_models(view.stamp.models)
            self.stale = self._stale_reasons()
            self.last_error = None
            self.unreachable = False
        except OnlineStoreUnreachableError as exc:
            self.last_error = str(exc)
            self.unreachable = True
            log.warning("online store refresh failed: %s", self.last_error)
        except Exception as exc:  # noqa: BLE001 - the service keeps the view it has; readyz says why
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.warning("online store refresh failed: %s", self.last_error)

    def _install(self, view: OnlineView) -> None:
        """Make `view` the one in service, keeping the previous one for requests still reading it.

        The one before the previous is not closed here: a slow request may still hold it across
        two swaps (closing it answered 500 "closed database"); its reader closes when the last
        request lets go of it and it is garbage-collected.
        """
        with self._swap:
            self._previous, self.view = self.view, view
        log.info("online store generation %s in service", view.generation)

    def _stale_reasons(self) -> list[str]:
        """What differs between the generation in service and the data and models now."""
        if self.view is None:
            return ["no materialization"]
        if not TableStore(self.settings.dataset_dir).exists("patents"):
            return []
        now = expected_stamp(self.settings, self._models())
        return self.view.stamp.differences(now)

    def needs_rebuild(self) -> bool:
        """Whether the generation in service must be rebuilt by this worker.

        When the data, the date or the feature code moved on; or when this worker serves a
        model (or policy) the generation has no outputs of, once it tried to follow the
        generation's own models (`follow_models`): e.g. a build that started before a reload.
        A worker with fewer models never rebuilds for that (it computes what it lacks).
        """
        view = self.view
        if view is None:
            return TableStore(self.settings.dataset_dir).exists("patents")
        if not TableStore(self.settings.dataset_dir).exists("patents"):
            return False
        models = self._models()
        now = expected_stamp(self.settings, models)
        old = view.stamp
        data = (old.dataset, old.fingerprint, old.as_of, old.features_hash)
        if data != (now.dataset, now.fingerprint, now.as_of, now.features_hash):
            return True
        if self._follow_models is not None and self._followed != view.generation:
            return False
        lacking = any(old.models.get(t) != v for t, v in now.models.items())
        policy = now.policy_hash is not None and now.policy_hash != old.policy_hash
        return lacking or policy

    # --- rebuilding ---

    def rebuild(
        self, models: ModelSet | None = None, wait: bool = True
    ) -> MaterializeReport | None:
        """Materialize with `models` (default: those in service) and put it in service.

        Only one builder runs across workers and hosts (the store's lock); without `wait`,
        returns None at once when another build holds it.
        """
        chosen = models or self._models()
        with self._build_lock:
            deadline = time.monotonic() + LOCK_TTL_SECONDS
            while not self.store.try_lock(LOCK_TTL_SECONDS):
                if not wait or time.monotonic() > deadline:
                    return None
                time.sleep(0.5)
            try:
                report = materialize(self.settings, chosen, self.store)
            finally:
                self.store.unlock()
            self._install(OnlineView(self.store.open(report.generation)))
            self.stale = self._stale_reasons()
            return report

    def rebuild_in_background(self) -> None:
        """Start a rebuild thread unless one runs."""
        if self._builder is not None and self._builder.is_alive():
            return

        def run() -> None:
            try:
                self.rebuild(wait=False)
            except Exception as exc:  # noqa: BLE001 - logged and shown; the old view serves on
                self.last_error = f"materialization failed: {exc.__class__.__name__}: {exc}"
                log.exception("background materialization failed")

        self._builder = threading.Thread(target=run, name="online-materialize", daemon=True)
        self._builder.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait for a background rebuild to finish; whether none runs any more."""
        if self._builder is not None:
            self._builder.join(timeout)
            return not self._builder.is_alive()
        return True

    # --- lifecycle ---

    def start(self) -> None:
        """Open the current generation, rebuild if it does not match, follow the store."""
        self.refresh()
        if self.settings.online_auto_materialize and self.needs_rebuild():
            self.rebuild_in_background()

        def loop() -> None:
            while not self._stop.wait(REFRESH_SECONDS):
                self.refresh()
                if (self.settings.online_auto_materialize and not self.unreachable
                        and self.needs_rebuild()):
                    self.rebuild_in_background()

        self._thread = threading.Thread(target=loop, name="online-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following the store, let a rebuild finish, close readers."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.wait_idle(600)
        for view in (self.view, self._previous):
            if view is not None:
                view.close()
        self.store.close()

    def describe(self) -> tuple[bool, str, dict[str, Any]]:
        """(ok, detail, facts) for `/readyz`: the generation, staleness and any rebuild."""
        try:
            building = self.store.status()
        except OnlineStoreUnreachableError:
            building = None  # the refresh loop records the error below
        info: dict[str, Any] = {"store": SecretMasker().mask(self.store.url),
                                "stale": bool(self.stale)}
        parts = []
        if self.view is not None:
            d = self.view.describe()
            info.update(generation=d["generation"], as_of=d["as_of"], rows=d["rows"])
            parts.append(f"generation {d['generation']} as of {d['as_of']}: "
                         f"{d['rows']['patent']} patents, {d['rows']['firm']} firms")
        else:
            parts.append("nothing materialized yet: answers are computed per request")
        if self.stale:
            parts.append("stale: " + "; ".join(self.stale))
            info["stale_reasons"] = self.stale
        if building:
            parts.append(f"rebuilding ({building.get('reason')}): {building.get('step')} "
                         f"{100 * float(building.get('fraction', 0)):.0f}% since "
                         f"{building.get('started_at')}")
            info["rebuilding"] = building
        if self.last_error:
            parts.append(f"last error: {self.last_error}")
        if self.unreachable:
            parts.append("unreachable: answers are computed per request until it answers again")
            info["unreachable"] = True
        # Without a generation (or a stale one, or a store that does not answer) answers are
        # still right, computed per request or from the previous data: the service is ready;
        # the flags and detail say how it serves.
        return self.last_error is None or self.unreachable, "; ".join(parts), info

