import duckdb
import pandas as pd

from features.terms import expiry_dates, expiry_sql


def test_sql_and_numpy_expiry_agree_on_every_rule_and_leap_days() -> None:
    rows = pd.DataFrame(
        {
            "jurisdiction": ["CN", "CN", "CN", "CN", "US", "US", "US", "CN", "US"],
            "patent_type": ["invention", "utility_model", "design", "design", "utility",
                            "design", "design", "invention", "design"],
            "filing_date": pd.to_datetime(["2012-02-29", "2016-03-01", "2021-06-01", "2021-05-31",
                                           "2004-02-29", "2015-05-13", "2015-05-12",
                                           "2000-01-01", "2019-01-10"]),
            "grant_date": pd.to_datetime(["2014-01-01", "2016-09-01", "2021-12-01", "2021-11-30",
                                          "2008-02-29", "2016-02-29", "2016-02-29",
                                          "2003-05-05", "2020-02-29"]),
        }
    )
    con = duckdb.connect()
    con.register("p", rows)
    sql = con.execute(f"SELECT CAST({expiry_sql()} AS DATE) AS e FROM p").df()["e"]
    numpy = expiry_dates(rows["jurisdiction"], rows["patent_type"], rows["filing_date"],
                         rows["grant_date"])
    assert pd.to_datetime(sql).tolist() == pd.to_datetime(numpy).tolist()
    expected = ["2032-02-29", "2026-03-01", "2036-06-01", "2031-05-31", "2024-02-29",
                "2031-02-28", "2030-02-28", "2020-01-01", "2035-02-28"]
    assert [d.strftime("%Y-%m-%d") for d in pd.to_datetime(numpy)] == expected
