from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import pytest

from models.policy import Grade, PolicyError, Product, load_policy


def test_default_policy_loads_with_version_and_file_hash(policy):
    raw = resources.files("models.policy").joinpath("default.yaml").read_bytes()
    assert policy.version == "2025.1"
    assert policy.sha256 == hashlib.sha256(raw).hexdigest()
    assert set(policy.products) == set(Product)
    for spec in policy.products.values():
        assert [b.grade for b in spec.scale] == list(Grade)


def test_hash_changes_with_the_file_bytes(write_policy, policy):
    path = write_policy(lambda d: d.update(description="changed"))
    changed = load_policy(path)
    assert changed.version == policy.version
    assert changed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != policy.sha256


def test_exchange_rates_are_optional_and_exact(write_policy, policy):
    from decimal import Decimal

    assert policy.exchange_rates == {}
    assert policy.exchange_rate("CNY") == 1
    assert policy.exchange_rate("USD") is None
    rated = load_policy(write_policy(lambda d: d.update(exchange_rates={"USD": "7.1"})))
    assert rated.exchange_rate("USD") == Decimal("7.1")


def _band(data, product, index):
    return data["products"][product]["scale"][index]


BAD_POLICIES = [
    pytest.param(
        lambda d: _band(d, "enforcement", 2).update(lower=0.0015),
        r"products\.enforcement: scale\[2\] \(A\): bands overlap: lower 0\.0015 is below "
        r"upper 0\.002 of AA",
        id="overlapping-bands",
    ),
    pytest.param(
        lambda d: _band(d, "liability", 3).update(lower=0.012),
        r"products\.liability: scale\[3\] \(BBB\): gap between bands: lower 0\.012",
        id="gap-between-bands",
    ),
    pytest.param(
        lambda d: _band(d, "enforcement", 0).update(lower=0.0001),
        r"scale\[0\] \(AAA\): gap: the scale must start at probability 0",
        id="gap-at-zero",
    ),
    pytest.param(
        lambda d: _band(d, "enforcement", 9).update(upper=0.99),
        r"scale\[9\] \(D\): gap: the scale must end at probability 1",
        id="gap-at-one",
    ),
    pytest.param(
        lambda d: _band(d, "enforcement", 4).update(risk_loading=-0.1),
        r"products\.enforcement\.scale\[4\]\.risk_loading: Input should be greater than or "
        r"equal to 0",
        id="negative-loading",
    ),
    pytest.param(
        lambda d: _band(d, "enforcement", 5).update(risk_loading=0.1),
        r"scale\[5\] \(B\): risk_loading must not decrease down the scale",
        id="non-monotone-loading",
    ),
    pytest.param(
        lambda d: _band(d, "pledge_loan", 1).update(ltv=0.5),
        r"scale\[1\] \(AA\): ltv must not increase down the scale",
        id="non-monotone-ltv",
    ),
    pytest.param(
        lambda d: d["products"]["enforcement"]["scale"].reverse(),
        r"grades must be listed once each in master-scale order",
        id="non-monotone-order",
    ),
    pytest.param(
        lambda d: d["products"].update(trade_credit=d["products"]["liability"]),
        r"products\.trade_credit\.\[key\]: Input should be 'enforcement', 'liability' or "
        r"'pledge_loan'",
        id="unknown-product",
    ),
    pytest.param(
        lambda d: d["products"].pop("liability"),
        r"every product must be defined; missing \['liability'\]",
        id="missing-product",
    ),
    pytest.param(
        lambda d: d["loan"]["loss_sharing"].update(guarantor=0.1),
        r"loan\.loss_sharing: shares must sum to 1, got 0\.9",
        id="shares-not-summing-to-one",
    ),
    pytest.param(
        lambda d: d["subsidy"].update(cap_per_policy=60000.0),
        r"subsidy: caps: cap_per_policy \(60000\.0\) must not exceed cap_per_applicant_year",
        id="per-policy-cap-above-yearly-cap",
    ),
    pytest.param(
        lambda d: d["subsidy"].update(cap_per_applicant_year=-1),
        r"subsidy\.cap_per_applicant_year: Input should be greater than or equal to 0",
        id="negative-cap",
    ),
    pytest.param(
        lambda d: d["loan"]["patent_type_caps"].update(design=1.5),
        r"patent_type_caps\.design must be between 0 and 1, got 1\.5",
        id="bad-type-cap",
    ),
    pytest.param(
        lambda d: d["products"]["pledge_loan"].update(refer_at="C", decline_at="B"),
        r"refer_at \(C\) must be at or above decline_at \(B\)",
        id="refer-after-decline",
    ),
    pytest.param(
        lambda d: _band(d, "pledge_loan", 3).pop("ltv"),
        r"products\.pledge_loan\.scale: every band needs an ltv",
        id="missing-ltv",
    ),
    pytest.param(
        lambda d: d["products"]["enforcement"].pop("licensee"),
        r"licensee: rules are required when eligible_roles include licensee",
        id="licensee-without-rules",
    ),
    pytest.param(
        lambda d: d["products"]["liability"]["eligible_roles"].append("landlord"),
        r"products\.liability\.eligible_roles\[5\]: Input should be",
        id="unknown-role",
    ),
    pytest.param(
        lambda d: d.update(exchange_rates={"USD": 0}),
        r"exchange_rates\.USD: must be a positive rate",
        id="zero-exchange-rate",
    ),
    pytest.param(
        lambda d: d.update(exchange_rates={"CNY": 1}),
        r"exchange_rates\.CNY: must be an ISO 4217 code other than the policy's currency CNY",
        id="own-currency-rate",
    ),
    pytest.param(
        lambda d: d.update(sha256="0" * 64),
        r"sha256 must not be set in the file",
        id="hash-in-file",
    ),
]


@pytest.mark.parametrize(("edit", "message"), BAD_POLICIES)
def test_bad_policy_is_refused_naming_field_and_rule(write_policy, edit, message):
    path = write_policy(edit)
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


def test_unreadable_and_non_yaml_files_are_refused(tmp_path: Path):
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [1,\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="must be a YAML mapping"):
        load_policy(bad)
