from __future__ import annotations

import math

import pytest

from features.registry import task_features
from models.explain import MAX_REASONS, output_effects, top_reasons


def test_top_reasons_rank_by_absolute_contribution_with_both_languages() -> None:
    names = task_features("default")[:6]
    contributions = {"shap_base": -3.0, **{f"shap__{n}": c for n, c in zip(
        names, [0.1, -0.9, 0.5, 0.0, 0.3, -0.05], strict=True)}}
    values = {n: float(i + 1) for i, n in enumerate(names)}
    reasons = top_reasons("default", contributions, values)
    assert [r.feature for r in reasons] == [names[1], names[2], names[4], names[0]]
    assert len(reasons) == MAX_REASONS
    assert reasons[0].contribution == -0.9
    assert reasons[0].value == 2.0
    assert "lowers risk" in reasons[0].text_en
    assert "风险下降" in reasons[0].text_zh
    assert "raises risk" in reasons[1].text_en


def test_top_reasons_skip_zero_and_nan_and_refuse_more_than_four() -> None:
    names = task_features("litigation")[:3]
    contributions = {names[0]: 0.0, names[1]: math.nan, names[2]: 0.2}
    reasons = top_reasons("litigation", contributions, dict.fromkeys(names, 1.0), n=2)
    assert [r.feature for r in reasons] == [names[2]]
    with pytest.raises(ValueError, match="n must be between 1 and 4"):
        top_reasons("litigation", contributions, {}, n=5)


def test_top_reasons_name_a_missing_feature_value() -> None:
    name = task_features("liability")[0]
    with pytest.raises(KeyError, match=name):
        top_reasons("liability", {name: 1.0}, {})


def test_output_effects_add_up_to_the_answer_and_keep_each_sign() -> None:
    contributions = {"shap_base": -2.0, "shap__a": 0.8, "shap__b": -0.3, "shap__c": 0.0}
    effects = output_effects(contributions, output=0.12, base_output=0.05)
    assert set(effects) == {"a", "b", "c"}
    assert math.fsum(effects.values()) == pytest.approx(0.12 - 0.05, abs=1e-15)
    assert effects["a"] > 0 > effects["b"]
    assert effects["c"] == 0.0


def test_reasons_follow_the_effect_on_the_answer_not_the_raw_push() -> None:
    names = task_features("litigation")[:3]
    contributions = {names[0]: 0.5, names[1]: -0.2, names[2]: 0.1}
    values = dict.fromkeys(names, 1.0)
    # A flat calibrator step: the score moved, the probability did not; nothing is a reason.
    flat = output_effects(contributions, output=0.04, base_output=0.04)
    assert top_reasons("litigation", contributions, values, effects=flat) == []
    moved = output_effects(contributions, output=0.06, base_output=0.04)
    reasons = top_reasons("litigation", contributions, values, effects=moved)
    assert [r.feature for r in reasons] == list(names)
    assert reasons[0].effect == pytest.approx(0.02 * 0.5 / 0.4)
    assert "raises risk" in reasons[0].text_en
    assert "lowers risk" in reasons[1].text_en


def test_axis_subtotals_add_up_to_the_contributions() -> None:
    from models.explain import axis_subtotals

    contribs = {"shap__num_claims": 0.5, "shap__remaining_term_years": -0.2,
                "shap__forward_citations": 0.3, "shap__licences": 0.1, "shap_base": 9.0}
    axes = axis_subtotals(contribs)
    assert [a.axis for a in axes] == ["legal", "technical", "economic"]
    assert [a.contribution for a in axes] == pytest.approx([0.3, 0.3, 0.1])
    assert sum(a.contribution for a in axes) == pytest.approx(0.7)
    assert axes[0].name_zh == "法律价值"
    with pytest.raises(KeyError, match="axis"):
        axis_subtotals({"shap__firm_age_years": 1.0})
