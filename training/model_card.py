"""Model cards: a markdown page per trained model (purpose, data, period, metrics, limits)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from models.tasks import TaskSpec
from training.splits import TimeSplit

KIND_METHOD: MappingProxyType[str, str] = MappingProxyType({
    "classifier": (
        "LightGBM binary classifier (log-odds), early stopping on the validation period, then "
        "calibrated on the validation period with isotonic regression or Platt scaling, "
        "whichever has the lower cross-validated Brier score there."
    ),
    "severity": (
        "LightGBM gamma regression with log link. Chosen because a claim's cost is strictly "
        "positive and right-skewed with noise proportional to its size (gamma variance "
        "V(mu) = mu^2); the log link predicts E[cost] directly, so no retransformation (the "
        "smearing a log-normal fit needs) can bias the premium, and Tweedie's point mass at zero "
        "is not needed because the model is conditional on a claim."
    ),
    "value": (
        "Three LightGBM quantile boosters (alpha 0.1, 0.5, 0.9) on log(price). P10 and P90 are "
        "shifted by conformal offsets measured on the validation period and clipped around the "
        "P50 so the quantiles never cross."
    ),
})
KIND_LIMITS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "classifier": (
        "Calibrated on the validation period: a change in base rate after it (a litigation "
        "wave, a credit cycle) shifts calibration before it shifts ranking; watch test_ece.",
    ),
    "severity": (
        "Trained on closed cases only: long, expensive cases close late, so recent periods "
        "under-represent them (right censoring) and expected cost may be biased low.",
    ),
    "value": (
        "Learned from observed transactions, which over-represent patents worth trading; "
        "values of never-traded patents are extrapolations.",
        "The quantile boosters learn a smoothed pinball loss (LightGBM's own quantile "
        "objective refuses monotone constraints), so the registry's directions hold for P10, "
        "P50 and P90.",
    ),
})
COMMON_LIMITS = (
    "Features are computed as of each snapshot date from facts known then; a fact recorded "
    "late in the source (e.g. a transfer registered months after it happened) is still leaked "
    "only as far as the source dates allow.",
    "On the synthetic world, the oracle is the world's own probability; a real dataset has no "
    "oracle and its metrics are only comparable between runs on the same data.",
)


@dataclass(frozen=True)
class CardInputs:
    """Everything a model card reports about one training run."""

    spec: TaskSpec
    dataset: str
    source: str
    fingerprint: str
    end_date: str
    split: TimeSplit
    metrics: Mapping[str, float]
    params: Mapping[str, object]
    constraints: Mapping[str, int]
    calibration: str | None = None
    run_id: str = ""
    notes: list[str] = field(default_factory=list)


def render_model_card(card: CardInputs) -> str:
    """The model card as markdown."""
    spec, split = card.spec, card.split
    sizes = split.sizes()
    lines = [
        f"# Model card: {spec.registered_name}",
        "",
        "## Purpose",
        spec.purpose,
        "",
        "## Method",
        KIND_METHOD[spec.kind],
    ]
    if card.calibration:
        lines.append(f"Calibration chosen on validation: **{card.calibration}**.")
    lines += [
        "",
        "## Data",
        f"- dataset `{card.dataset}` (source `{card.source}`, data complete to {card.end_date}),"
        f" fingerprint `{card.fingerprint}`",
        f"- run `{card.run_id}`" if card.run_id else "- run: not logged",
        "",
        "## Period (out of time, never a random split)",
        "| part | as-of from | as-of to | rows |",
        "|---|---|---|---|",
        f"| train | {split.train_period[0]} | {split.train_period[1]} | {sizes['train']} |",
        f"| validation | {split.valid_period[0]} | {split.valid_period[1]} | {sizes['valid']} |",
        f"| test | {split.test_period[0]} | {split.test_period[1]} | {sizes['test']} |",
        "",
        "## Metrics on the test period",
        f"Primary gate metric: `{spec.primary_metric}` "
        f"({'higher' if spec.higher_is_better else 'lower'} is better).",
        "",
        "| metric | model | oracle |",
        "|---|---|---|",
    ]
    for name, value in sorted(card.metrics.items()):
        if name.startswith("oracle_") or not name.startswith("test_"):
            continue
        oracle = card.metrics.get(f"oracle_{name}")
        lines.append(f"| {name} | {value:.4f} | {'' if oracle is None else f'{oracle:.4f}'} |")
    lines += ["", "## Monotone constraints (from the feature registry)"]
    constrained = {k: v for k, v in card.constraints.items() if v}
    if constrained:
        lines += ["| feature | direction |", "|---|---|"]
        lines += [
            f"| {k} | {'+1 (never lowers the output)' if v > 0 else '-1 (never raises it)'} |"
            for k, v in sorted(constrained.items())
        ]
    else:
        lines.append("None.")
    lines += ["", "## Hyper-parameters"]
    lines += [f"- {k}: {v}" for k, v in sorted(card.params.items())]
    lines += ["", "## Limits"]
    lines += [f"- {text}" for text in [*KIND_LIMITS[spec.kind], *COMMON_LIMITS, *card.notes]]
    return "\n".join(lines) + "\n"
