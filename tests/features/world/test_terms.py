import numpy as np
import pandas as pd
import pytest

from features.terms import add_months, expiry_dates, renewal_schedule


@pytest.mark.parametrize(
    ("jur", "typ", "filing", "grant", "expected"),
    [
        ("CN", "invention", "2010-03-01", "2013-01-01", "2030-03-01"),
        ("CN", "utility_model", "2015-07-10", "2016-01-01", "2025-07-10"),
        ("CN", "design", "2021-05-31", "2022-01-01", "2031-05-31"),
        ("CN", "design", "2021-06-01", "2022-01-01", "2036-06-01"),
        ("US", "utility", "2004-03-03", "2007-01-01", "2024-03-03"),
        ("US", "design", "2015-05-12", "2017-01-10", "2031-01-10"),
        ("US", "design", "2015-05-13", "2017-01-10", "2032-01-10"),
        ("CN", "invention", "2020-02-29", "2022-01-01", "2040-02-29"),
        ("US", "utility", "2004-02-29", "2006-01-01", "2024-02-29"),
        ("CN", "utility_model", "2012-02-29", "2013-01-01", "2022-02-28"),
    ],
)
def test_statutory_terms(jur: str, typ: str, filing: str, grant: str, expected: str) -> None:
    out = expiry_dates([jur], [typ], [filing], [grant])
    assert out.iloc[0] == pd.Timestamp(expected)


def test_unknown_type_has_no_expiry() -> None:
    assert pd.isna(expiry_dates(["US"], ["utility_model"], ["2010-01-01"], ["2012-01-01"]).iloc[0])


def test_add_months_clamps_to_month_end() -> None:
    d = np.array(["2020-08-31", "2021-01-15"], dtype="datetime64[D]")
    assert list(add_months(d, 6).astype(str)) == ["2021-02-28", "2021-07-15"]


def test_us_maintenance_fees_due_at_3_5_7_5_11_5_years_with_grace() -> None:
    s = renewal_schedule(["US"], ["utility"], ["2004-03-03"], ["2007-01-31"])
    assert list(s["due_date"].dt.strftime("%Y-%m-%d")) == ["2010-07-31", "2014-07-31",
                                                           "2018-07-31"]
    assert list(s["grace_end"].dt.strftime("%Y-%m-%d")) == ["2011-01-31", "2015-01-31",
                                                            "2019-01-31"]
    assert list(s["fee"]) == [2150.0, 4040.0, 8280.0]
    assert set(s["currency"]) == {"USD"}


def test_us_design_pays_no_maintenance_fee() -> None:
    assert renewal_schedule(["US"], ["design"], ["2010-01-01"], ["2011-01-01"]).empty


def test_cn_annual_fees_each_year_after_grant_until_expiry() -> None:
    s = renewal_schedule(["CN"], ["invention"], ["2010-03-01"], ["2012-06-01"])
    # grant in patent year 3; fees due at the start of years 4..20
    assert list(s["patent_year"]) == list(range(4, 21))
    assert s["due_date"].iloc[0] == pd.Timestamp("2013-03-01")
    assert s["due_date"].iloc[-1] == pd.Timestamp("2029-03-01")
    assert s.loc[s["patent_year"] == 10, "fee"].item() == 4000.0
    assert s.loc[s["patent_year"] == 20, "fee"].item() == 8000.0
    assert list(s["fee_number"]) == list(range(1, 18))


def test_cn_utility_model_fees_stop_at_ten_years() -> None:
    s = renewal_schedule(["CN"], ["utility_model"], ["2015-01-10"], ["2015-09-01"])
    assert list(s["patent_year"]) == list(range(2, 11))
    assert s.loc[s["patent_year"] == 9, "fee"].item() == 2000.0
