"""The citation network: newer patents cite older ones, valuable and already-cited ones more."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.world.params import WorldParams
from features.world.patents import Patents


@dataclass(frozen=True)
class Citations:
    """Citation pairs (patent numbers) and forward counts known on 1 January of each year."""

    citing: np.ndarray  # int32
    cited: np.ndarray  # int32
    by_examiner: np.ndarray  # bool
    forward_at_jan1: np.ndarray  # (years, patents) int32: citations received before 1 Jan

    @property
    def n(self) -> int:
        """Number of citations."""
        return len(self.citing)


def build_citations(
    params: WorldParams, patents: Patents, rng: np.random.Generator, progress: object = None
) -> Citations:
    """Draw every citation year by year; a citation is known at the citing patent's grant."""
    n = patents.n
    years = list(params.years)
    grant_year = patents.grant.astype("datetime64[Y]").astype(np.int64) + 1970
    # candidates are laid out by class so a same-class draw is a draw inside one block
    by_class = np.argsort(patents.cls, kind="stable")
    cls_sorted = patents.cls[by_class]
    n_cls = len(params.classes)
    block_lo = np.searchsorted(cls_sorted, np.arange(n_cls), side="left")
    block_hi = np.searchsorted(cls_sorted, np.arange(n_cls), side="right")
    attract = np.exp(params.citation_value_power * patents.log_value[by_class])
    attract /= attract.mean()
    gy_sorted = grant_year[by_class]
    inv = _inverse(by_class)
    received = np.zeros(n, dtype=np.int64)  # in by_class order
    forward = np.zeros((len(years), n), dtype=np.int32)
    back_mean = np.asarray(params.backward_citations_mean)[patents.jurisdiction]
    examiner_p = np.asarray(params.examiner_share)[patents.jurisdiction]
    citing_parts, cited_parts = [], []
    for yi, year in enumerate(years):
        forward[yi, by_class] = received
        citing_idx = np.flatnonzero(grant_year == year)
        age = year - gy_sorted
        cand = age >= 1
        if len(citing_idx) == 0 or not cand.any():
            if progress is not None:
                progress.update(1)  # type: ignore[attr-defined]
            continue
        x = np.where(cand, age + 0.5, 1.0)
        peak = params.citation_age_peak
        w = np.where(cand, attract * x * np.exp(-x / peak), 0.0)
        w *= 1.0 + params.citation_attachment * np.minimum(received, params.citation_attachment_cap)
        cum = np.cumsum(w)
        m = rng.poisson(back_mean[citing_idx])
        src = np.repeat(citing_idx, m)
        same = rng.random(len(src)) < params.citation_same_class
        c = patents.cls[src]
        lo = np.where(block_lo[c] > 0, cum[np.maximum(block_lo[c] - 1, 0)], 0.0)
        hi = np.where(block_hi[c] > 0, cum[np.maximum(block_hi[c] - 1, 0)], 0.0)
        same &= hi > lo
        lo = np.where(same, lo, 0.0)
        hi = np.where(same, hi, cum[-1])
        u = lo + rng.random(len(src)) * (hi - lo)
        pos = np.minimum(np.searchsorted(cum, u, side="right"), n - 1)
        dst = by_class[pos]
        # one citation per pair
        key = np.unique(src.astype(np.int64) * n + dst)
        src, dst = (key // n).astype(np.int32), (key % n).astype(np.int32)
        citing_parts.append(src)
        cited_parts.append(dst)
        received += np.bincount(inv[dst], minlength=n)
        if progress is not None:
            progress.update(1)  # type: ignore[attr-defined]
    citing = np.concatenate(citing_parts) if citing_parts else np.array([], np.int32)
    cited = np.concatenate(cited_parts) if cited_parts else np.array([], np.int32)
    by_examiner = rng.random(len(citing)) < examiner_p[citing]
    return Citations(citing=citing, cited=cited, by_examiner=by_examiner, forward_at_jan1=forward)


def _inverse(perm: np.ndarray) -> np.ndarray:
    """Inverse of a permutation."""
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    return inv
