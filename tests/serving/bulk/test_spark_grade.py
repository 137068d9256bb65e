"""The native Spark grade is `Policy.grade` for every probability and refuses what it refuses."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from models.policy import Product, load_policy
from serving.bulk.spark_run import grade_column

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _probabilities(product: Product) -> list[float]:
    """Every band bound, the floats just either side of it, the ends and random draws."""
    scale = load_policy().product(product).scale
    bounds = {b.lower for b in scale} | {b.upper for b in scale}
    near = {x for b in bounds for x in (b, math.nextafter(b, 0.0), math.nextafter(b, 1.0))}
    draws = np.random.default_rng(0).random(500).tolist()
    return sorted(p for p in near | set(draws) | {0.0, 1.0, 5e-324} if 0.0 <= p <= 1.0)


@pytest.mark.parametrize("product", list(Product))
def test_native_grade_is_policy_grade(spark: Any, product: Product) -> None:
    policy = load_policy()
    probabilities = _probabilities(product)
    df = spark.createDataFrame([(p,) for p in probabilities], "p double")
    got = [r["grade"] for r in df.select("p", grade_column(policy, product, "p"))
           .orderBy("p").collect()]
    assert got == [policy.grade(product, p).value for p in probabilities]


@pytest.mark.parametrize("bad", [float("nan"), -0.01, 1.5, None])
def test_native_grade_refuses_what_policy_grade_refuses(spark: Any, bad: float | None) -> None:
    policy = load_policy()
    df = spark.createDataFrame([(0.5,), (bad,)], "p double")
    with pytest.raises(Exception, match="must be between 0 and 1"):
        df.select(grade_column(policy, Product.ENFORCEMENT, "p")).collect()
