from __future__ import annotations

import math

import pytest

from features.registry import (
    FEATURES,
    TASKS,
    features_for,
    format_reason,
    get,
    monotone_constraints,
    task_features,
)


def test_names_unique_and_every_task_has_features() -> None:
    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names))
    for task in TASKS:
        assert task_features(task)
    assert "claim_kind" in task_features("severity")
    assert "claim_kind" not in task_features("litigation")
    assert {f.entity for f in features_for("loan")} == {"loan"}


def test_monotone_constraints_follow_directions() -> None:
    names = ["forward_citations", "lapsed", "patent_type", "num_inventors"]
    assert monotone_constraints("litigation", names) == [1, -1, 0, 0]
    assert monotone_constraints("default", ["loan_ltv", "borrower_revenue_log"]) == [1, -1]
    with pytest.raises(ValueError, match="task must be one of"):
        monotone_constraints("nope", names)


def test_reason_texts() -> None:
    assert format_reason("forward_citations_5y", 42, 0.3) == (
        "42 forward citations in 5 years: raises risk")
    assert format_reason("forward_citations_5y", 42, 0.3, "zh") == "5年内被引42次：风险上升"
    assert format_reason("loan_ltv", 0.6, -0.1) == "loan-to-value 60%: lowers risk"
    assert format_reason("owner_kind", 4, 0.2) == "owner is npe: raises risk"
    assert format_reason("owner_kind", -1, 0.2) == "owner is unknown: raises risk"
    assert format_reason("num_claims", math.nan, -1, "zh") == "权利要求未知项：风险下降"
    assert format_reason("num_claims", 30, 1, task="value") == "30 claims: raises value"


def test_every_feature_has_both_texts() -> None:
    for f in FEATURES:
        assert f.description_en
        assert f.description_zh
        assert f.unit
        assert f.source
        assert "{v}" in f.reason_en
        assert "{v}" in f.reason_zh
    with pytest.raises(KeyError, match="not in the registry"):
        get("nope")


def test_chinese_reasons_name_categories_in_chinese() -> None:
    from features.registry import CATEGORY_LABELS_ZH, FEATURES, PATENT_TYPES, format_reason

    code = PATENT_TYPES.index("utility_model")
    assert format_reason("patent_type", code, 0.3, "zh") == "专利类型实用新型：风险上升"
    assert "utility_model" in format_reason("patent_type", code, 0.3, "en")
    # every word-like category label of every feature has a Chinese name
    for f in FEATURES:
        for label in f.categories or ():
            if (label.isalpha() and len(label) > 3) or "_" in label:
                assert label in CATEGORY_LABELS_ZH, (f.name, label)


def test_every_value_feature_has_one_gbt_axis() -> None:
    from features.registry import VALUE_AXES, Feature

    value = [f for f in FEATURES if "value" in f.directions]
    assert value
    assert {f.axis for f in value} == set(VALUE_AXES)
    assert all(f.axis is None for f in FEATURES if "value" not in f.directions)
    assert get("remaining_term_years").axis == "legal"
    assert get("forward_citations_5y").axis == "technical"
    assert get("licences").axis == "economic"
    assert VALUE_AXES["legal"] == ("Legal value", "法律价值")
    with pytest.raises(ValueError, match="GB/T value axis"):
        Feature("x", "patent", "x", "x", "n", {"value": 1}, "s", "{v}", "{v}")
    with pytest.raises(ValueError, match="GB/T value axis"):
        Feature("y", "firm", "y", "y", "n", {"liability": 1}, "s", "{v}", "{v}", axis="legal")
