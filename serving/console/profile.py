"""Patent profile: facts, legal events, citations, owner, litigation risk, value, reasons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from serving.auth import Caller
from serving.charts import Interval, Step, interval_chart, waterfall_chart
from serving.console.access import ConsoleScoringDep, page_caller
from serving.console.i18n import Translator
from serving.console.rendering import render, translator
from serving.errors import UnavailableError
from serving.patents import (
    assignee_facts,
    patent_cases,
    patent_citations,
    patent_events,
    patent_facts,
)
from serving.scoring.schemas import PatentRef
from serving.scoring.screening import ScreeningRequest, screen_patents

router = APIRouter(prefix="/console", include_in_schema=False)


def reason_waterfall(explanation: dict[str, Any], t: Translator, title: str,
                     total_label: str = "profile.score") -> str:
    """SHAP waterfall of an explanation: base, the top reasons (texts in `t`'s language), rest."""
    reasons = explanation["reasons"]
    steps = [Step(t.pick(r["text_en"], r["text_zh"]), float(r["contribution"])) for r in reasons]
    shown = sum(s.value for s in steps)
    rest = float(explanation["raw_score"]) - float(explanation["base_value"]) - shown
    if abs(rest) > 1e-9:
        steps.append(Step(t("profile.others"), rest))
    return waterfall_chart(
        float(explanation["base_value"]), steps, title, t("profile.contribution"),
        t("profile.base"), t(total_label),
    )


@router.get("/patents/{patent_id}")
def profile_page(
    request: Request,
    patent_id: Annotated[str, Path(min_length=1, max_length=64)],
    caller: Annotated[Caller, Depends(page_caller("profile"))],
    scoring: ConsoleScoringDep,
) -> Response:
    """The profile of one patent; its screening (risk, grade, value) is scored and stored."""
    t = translator(request)
    ctx = scoring.context(caller)
    facts = patent_facts(ctx.cursor, ctx.tables, patent_id)  # 404 page when unknown
    context: dict[str, Any] = {
        "p": facts,
        "owner": assignee_facts(ctx.cursor, ctx.tables, facts.get("assignee_id")),
        "events": patent_events(ctx.cursor, ctx.tables, patent_id),
        "citations": patent_citations(ctx.cursor, ctx.tables, patent_id),
        "cases": patent_cases(ctx.cursor, ctx.tables, patent_id),
        "as_of": ctx.as_of,
        "screen": None, "answer": None, "score_error": None,
    }
    try:
        answer = screen_patents(ctx, ScreeningRequest(patents=[PatentRef(patent_id=patent_id)]))
    except UnavailableError as exc:
        context["score_error"] = exc.message
    else:
        item = answer.patents[0].model_dump()
        context.update(
            answer=answer, screen=item, currency=answer.currency,
            value_chart=interval_chart(
                [Interval(patent_id, item["p10"], item["p50"], item["p90"])],
                t("profile.value_chart"), answer.currency,
            ),
            waterfall=reason_waterfall(item["litigation_explanation"], t,
                                       t("profile.waterfall")),
        )
    return render(request, "profile.html", **context)
