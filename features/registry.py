"""The feature registry: every model feature declared once, with texts, units and directions.

Models read monotone constraints from it, the API reads reason texts from it, docs are generated
from it. A feature is used by a task exactly when the task appears in its `directions`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from features.schema import ASSIGNEE_KINDS

Entity = Literal["patent", "firm", "loan"]
TASKS = ("litigation", "liability", "severity", "default", "value")
ENTITIES: tuple[str, ...] = ("patent", "firm", "loan")

# Canonical category orders; codes are positions in these tuples, unknown -> -1.
PATENT_TYPES = ("invention", "utility_model", "design", "utility")
JURISDICTIONS = ("CN", "US")
CPC_SECTIONS = tuple("ABCDEFGHY")
CPC_CLASSES = (
    "A01", "A21", "A22", "A23", "A24", "A41", "A42", "A43", "A44", "A45", "A46", "A47", "A61",
    "A62", "A63", "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B21", "B22",
    "B23", "B24", "B25", "B26", "B27", "B28", "B29", "B30", "B31", "B32", "B33", "B41", "B42",
    "B43", "B44", "B60", "B61", "B62", "B63", "B64", "B65", "B66", "B67", "B68", "B81", "B82",
    "C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11", "C12", "C13",
    "C14", "C21", "C22", "C23", "C25", "C30", "C40", "D01", "D02", "D03", "D04", "D05", "D06",
    "D07", "D10", "D21", "E01", "E02", "E03", "E04", "E05", "E06", "E21", "F01", "F02", "F03",
    "F04", "F15", "F16", "F17", "F21", "F22", "F23", "F24", "F25", "F26", "F27", "F28", "F41",
    "F42", "G01", "G02", "G03", "G04", "G05", "G06", "G07", "G08", "G09", "G10", "G11", "G12",
    "G16", "G21", "H01", "H02", "H03", "H04", "H05", "H10", "Y02", "Y04", "Y10",
)
INDUSTRIES = (
    "electronics", "telecom", "software", "semiconductors", "pharma", "biotech",
    "medical_devices", "chemicals", "materials", "machinery", "automotive", "energy",
    "consumer_goods", "other",
)
CLAIM_KINDS = ("enforcement", "liability")

# GB/T 42748-2023 (专利评估指引) groups value indicators into legal, technical and economic value;
# every feature of the value model belongs to exactly one of these axes (`Feature.axis`).
ValueAxis = Literal["legal", "technical", "economic"]
VALUE_AXES: dict[str, tuple[str, str]] = {
    "legal": ("Legal value", "法律价值"),
    "technical": ("Technical value", "技术价值"),
    "economic": ("Economic value", "经济价值"),
}

# How Chinese reason texts name category values (codes such as CPC classes read the same).
CATEGORY_LABELS_ZH: dict[str, str] = {
    "invention": "发明", "utility_model": "实用新型", "design": "外观设计",
    "utility": "发明（美国）",
    "CN": "中国", "US": "美国",
    "large_firm": "大型企业", "sme": "中小企业", "university": "高校或科研机构",
    "individual": "个人", "npe": "非专利实施主体",
    "electronics": "电子", "telecom": "通信", "software": "软件", "semiconductors": "半导体",
    "pharma": "制药", "biotech": "生物技术", "medical_devices": "医疗器械", "chemicals": "化工",
    "materials": "材料", "machinery": "机械", "automotive": "汽车", "energy": "能源",
    "consumer_goods": "消费品", "other": "其他",
    "enforcement": "维权费用", "liability": "侵权赔偿",
}


@dataclass(frozen=True)
class Feature:
    """One model feature: what it means (EN/ZH), its unit, source and effect per task."""

    name: str
    entity: Entity
    description_en: str
    description_zh: str
    unit: str
    directions: Mapping[str, int]
    source: str
    reason_en: str
    reason_zh: str
    categories: tuple[str, ...] = ()
    fmt: str = ".0f"
    axis: ValueAxis | None = None
    # Source columns read without a date: their value today stands in for their value at T.
    undated: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.entity not in ENTITIES:
            raise ValueError(f"feature {self.name}: entity must be one of {ENTITIES}")
        if ("value" in self.directions) != (self.axis is not None):
            raise ValueError(
                f"feature {self.name}: a value-model feature needs a GB/T value axis "
                f"({', '.join(VALUE_AXES)}) and only value-model features have one, got "
                f"axis={self.axis!r}"
            )
        if self.axis is not None and self.axis not in VALUE_AXES:
            raise ValueError(
                f"feature {self.name}: axis must be one of {tuple(VALUE_AXES)}, got {self.axis!r}"
            )
        for task, d in self.directions.items():
            if task not in TASKS or d not in (-1, 0, 1):
                raise ValueError(
                    f"feature {self.name}: directions must map a task in {TASKS} to -1, 0 or +1,"
                    f" got {task}={d}"
                )

    @property
    def is_categorical(self) -> bool:
        """Whether the feature holds integer category codes."""
        return bool(self.categories)

    @property
    def is_static(self) -> bool:
        """Whether the feature reads an undated column, so the point-in-time guard cannot see it."""
        return bool(self.undated)


L, LI, S, D, V = "litigation", "liability", "severity", "default", "value"


def _patent(name: str, en: str, zh: str, unit: str, lit: int, val: int, source: str,
            r_en: str, r_zh: str, categories: tuple[str, ...] = (), fmt: str = ".0f", *,
            axis: ValueAxis) -> Feature:
    """A patent feature used by litigation, severity and value, on its GB/T value axis."""
    return Feature(name, "patent", en, zh, unit, {L: lit, S: 0, V: val}, source, r_en, r_zh,
                   categories, fmt, axis)


def _firm(name: str, en: str, zh: str, unit: str, li: int, source: str, r_en: str, r_zh: str,
          categories: tuple[str, ...] = (), fmt: str = ".0f") -> Feature:
    """A firm feature used by infringement liability."""
    return Feature(name, "firm", en, zh, unit, {LI: li}, source, r_en, r_zh, categories, fmt)


def _loan(name: str, en: str, zh: str, unit: str, de: int, source: str, r_en: str, r_zh: str,
          categories: tuple[str, ...] = (), fmt: str = ".0f") -> Feature:
    """A loan feature used by pledge-loan default."""
    return Feature(name, "loan", en, zh, unit, {D: de}, source, r_en, r_zh, categories, fmt)


_DECLARED: tuple[Feature, ...] = (
    # --- patent: bibliographic facts ---
    _patent("patent_age_years", "Years since filing", "自申请日起的年数", "years", 0, 0,
            "patents.filing_date", "{v} years since filing", "申请已{v}年", fmt=".1f",
            axis="technical"),
    _patent("remaining_term_years", "Years left of the statutory term", "剩余法定保护期（年）",
            "years", 1, 1, "patents.expiry_date (statutory term if missing)",
            "{v} years of term left", "剩余保护期{v}年", fmt=".1f", axis="legal"),
    _patent("patent_type", "Patent type", "专利类型", "category", 0, 0, "patents.patent_type",
            "patent type {v}", "专利类型{v}", PATENT_TYPES, axis="legal"),
    _patent("jurisdiction", "Issuing office", "授权国家/地区", "category", 0, 0,
            "patents.jurisdiction", "issued in {v}", "授权地{v}", JURISDICTIONS, axis="legal"),
    _patent("cpc_section", "CPC section of the main class", "主分类号所属CPC部", "category", 0, 0,
            "patents.cpc_main", "CPC section {v}", "CPC部{v}", CPC_SECTIONS, axis="technical"),
    _patent("cpc_class", "CPC class of the main class", "主分类号所属CPC大类", "category", 0, 0,
            "patents.cpc_main", "CPC class {v}", "CPC大类{v}", CPC_CLASSES, axis="technical"),
    _patent("num_claims", "Number of claims", "权利要求数", "claims", 1, 1, "patents.num_claims",
            "{v} claims", "权利要求{v}项", axis="legal"),
    _patent("num_independent_claims", "Independent claims", "独立权利要求数", "claims", 1, 1,
            "patents.num_independent_claims", "{v} independent claims", "独立权利要求{v}项",
            axis="legal"),
    _patent("first_claim_words", "Words in the first claim", "首项权利要求字数", "words", 0, 0,
            "patents.first_claim_words", "first claim of {v} words", "首项权利要求{v}字",
            axis="legal"),
    _patent("family_size", "Members of the patent family", "同族专利数", "patents", 1, 1,
            "patents.family_size", "family of {v} patents", "同族专利{v}件", axis="legal"),
    _patent("num_inventors", "Number of inventors", "发明人数", "people", 0, 0,
            "patents.num_inventors", "{v} inventors", "发明人{v}名", axis="technical"),
    _patent("grant_lag_years", "Years from filing to grant", "审查周期（年）", "years", 0, 0,
            "patents.filing_date, grant_date", "granted {v} years after filing",
            "申请后{v}年授权", fmt=".1f", axis="legal"),
    # --- patent: citations known by T ---
    _patent("backward_citations", "Patents this patent cites", "引用的在先专利数", "citations",
            0, 0, "citations (citing side)", "cites {v} earlier patents", "引用在先专利{v}件",
            axis="technical"),
    _patent("forward_citations", "Citations received up to T", "截至评估日被引次数", "citations",
            1, 1, "citations (cited side, citation_date <= T)", "{v} forward citations",
            "被引{v}次", axis="technical"),
    _patent("forward_citations_3y", "Citations received within 3 years of grant, up to T",
            "授权后3年内被引次数", "citations", 1, 1, "citations",
            "{v} forward citations in 3 years", "3年内被引{v}次", axis="technical"),
    _patent("forward_citations_5y", "Citations received within 5 years of grant, up to T",
            "授权后5年内被引次数", "citations", 1, 1, "citations",
            "{v} forward citations in 5 years", "5年内被引{v}次", axis="technical"),
    _patent("self_citation_share", "Share of forward citations from the patent's own assignee",
            "自引比例", "share", 0, 0, "citations, patents.assignee_id",
            "{v} of citations are self-citations", "自引占{v}", fmt=".0%", axis="technical"),
    _patent("originality", "1 - Herfindahl over the classes of cited patents", "原创性指数",
            "index 0-1", 0, 0, "citations, patents.cpc_main", "originality {v}", "原创性{v}",
            fmt=".2f", axis="technical"),
    _patent("generality", "1 - Herfindahl over the classes of citing patents", "通用性指数",
            "index 0-1", 0, 1, "citations, patents.cpc_main", "generality {v}", "通用性{v}",
            fmt=".2f", axis="technical"),
    # --- patent: legal events known by T ---
    _patent("renewals_paid", "Annual or maintenance fees paid", "已缴年费/维持费次数", "payments",
            0, 1, "legal_events renewal_paid", "{v} renewal fees paid", "已缴年费{v}次",
            axis="economic"),
    _patent("lapsed", "Lapsed for non-payment (1) or not (0)", "是否因未缴费失效", "flag", -1, -1,
            "legal_events lapsed", "lapse status {v}", "失效状态{v}", axis="legal"),
    _patent("transfers", "Ownership transfers", "权利转移次数", "transfers", 1, 1,
            "legal_events transferred", "{v} ownership transfers", "转让{v}次", axis="economic"),
    _patent("licences", "Licences granted", "许可次数", "licences", 1, 1,
            "legal_events licensed", "{v} licences", "许可{v}次", axis="economic"),
    _patent("pledges", "Times pledged as collateral", "质押次数", "pledges", 0, 0,
            "legal_events pledged", "pledged {v} times", "质押{v}次", axis="economic"),
    _patent("invalidation_requests", "Invalidation requests filed", "无效宣告请求次数",
            "requests", 1, 0, "legal_events invalidation_requested",
            "{v} invalidation requests", "被请求无效{v}次", axis="legal"),
    _patent("invalidations_upheld", "Invalidation requests decided with the patent upheld",
            "无效宣告后维持有效次数", "decisions", 1, 1, "legal_events upheld",
            "upheld {v} times against invalidation", "无效宣告中维持有效{v}次", axis="legal"),
    _patent("invalidated", "Invalidated (1) or not (0)", "是否被宣告无效", "flag", -1, -1,
            "legal_events invalidated", "invalidation status {v}", "无效状态{v}", axis="legal"),
    # --- patent: litigation and owner, known by T ---
    _patent("suits_on_patent", "Earlier suits on this patent", "本专利既往诉讼数", "cases", 1, 1,
            "cases.patent_id, filed_date <= T", "{v} earlier suits on the patent",
            "本专利既往诉讼{v}起", axis="legal"),
    _patent("owner_suits_as_plaintiff", "Owner's earlier suits as plaintiff",
            "权利人作为原告的既往诉讼数", "cases", 1, 0,
            "cases.plaintiff_id, owner via legal_events transfers",
            "owner sued others {v} times", "权利人曾起诉{v}次", axis="economic"),
    _patent("owner_suits_as_defendant", "Owner's earlier suits as defendant",
            "权利人作为被告的既往诉讼数", "cases", 0, 0, "cases.defendant_id",
            "owner was sued {v} times", "权利人曾被诉{v}次", axis="economic"),
    _patent("owner_kind", "Kind of owner at T", "权利人类型", "category", 0, 0,
            "assignees.kind, owner via transfers", "owner is {v}", "权利人类型为{v}",
            ASSIGNEE_KINDS, axis="economic"),
    _patent("owner_portfolio_size", "Patents in force held by the owner at T",
            "权利人有效专利数", "patents", 0, 0, "patents, legal_events",
            "owner holds {v} patents", "权利人持有{v}件有效专利", axis="economic"),
    _patent("class_suit_rate", "Suits per 1,000 patents in force per year in the patent's CPC "
            "subclass over the 3 years before T", "所属技术领域近3年诉讼率（每千件每年）",
            "suits per 1,000 patent-years", 1, 0, "cases, patents.cpc_main",
            "{v} suits per 1,000 patents a year in its field", "所属领域每千件年诉讼{v}起",
            fmt=".2f", axis="economic"),
    Feature("claim_kind", "patent", "Kind of claim: enforcement costs or liability damages",
            "索赔类型（执行费用或侵权赔偿）", "category", {S: 0}, "cases",
            "claim kind {v}", "索赔类型{v}", CLAIM_KINDS),
    # --- firm (infringement liability) ---
    _firm("firm_kind", "Kind of firm", "企业类型", "category", 0, "assignees.kind",
          "firm is {v}", "企业类型为{v}", ASSIGNEE_KINDS),
    _firm("firm_industry", "Industry", "所属行业", "category", 0, "assignees.industry",
          "industry {v}", "行业{v}", INDUSTRIES),
    _firm("firm_age_years", "Years since founding", "成立年限", "years", 0,
          "assignees.founded_year", "founded {v} years ago", "成立{v}年"),
    _firm("firm_revenue_log", "log10 of revenue of the latest known fiscal year",
          "最近可得年度营业收入（log10）", "log10 currency", 1, "firm_financials",
          "revenue 10^{v}", "营业收入10^{v}", fmt=".1f"),
    _firm("firm_assets_log", "log10 of total assets of the latest known fiscal year",
          "最近可得年度总资产（log10）", "log10 currency", 1, "firm_financials",
          "total assets 10^{v}", "总资产10^{v}", fmt=".1f"),
    _firm("firm_debt_ratio", "Debt / total assets", "资产负债率", "ratio", 0, "firm_financials",
          "debt ratio {v}", "资产负债率{v}", fmt=".0%"),
    _firm("firm_profit_margin", "Net income / revenue", "净利润率", "ratio", 0,
          "firm_financials", "profit margin {v}", "净利润率{v}", fmt=".0%"),
    _firm("firm_roa", "Net income / total assets", "总资产收益率", "ratio", 0,
          "firm_financials", "return on assets {v}", "总资产收益率{v}", fmt=".0%"),
    _firm("firm_revenue_growth", "Revenue growth over the previous fiscal year", "营业收入增长率",
          "ratio", 0, "firm_financials", "revenue growth {v}", "营收增长{v}", fmt=".0%"),
    _firm("firm_tech_classes", "Product technology classes practised", "产品技术领域数",
          "classes", 1, "firm_technology", "works in {v} technology classes",
          "涉及{v}个技术领域"),
    _firm("firm_tech_concentration", "Herfindahl of product class weights",
          "产品技术领域集中度", "index 0-1", 0, "firm_technology",
          "technology concentration {v}", "技术集中度{v}", fmt=".2f"),
    _firm("firm_portfolio_size", "Patents in force held at T", "持有有效专利数", "patents", 0,
          "patents, legal_events", "holds {v} patents", "持有{v}件有效专利"),
    _firm("firm_portfolio_citations_mean", "Mean forward citations of patents held at T",
          "持有专利平均被引次数", "citations", 0, "citations, patents",
          "its patents have {v} citations on average", "持有专利平均被引{v}次", fmt=".1f"),
    _firm("firm_suits_as_defendant", "Earlier suits as defendant", "既往被诉次数", "cases", 1,
          "cases.defendant_id", "sued {v} times before", "既往被诉{v}次"),
    _firm("firm_suits_as_defendant_3y", "Suits as defendant in the 3 years before T",
          "近3年被诉次数", "cases", 1, "cases.defendant_id", "sued {v} times in 3 years",
          "近3年被诉{v}次"),
    _firm("firm_suits_as_plaintiff", "Earlier suits as plaintiff", "既往作为原告起诉次数",
          "cases", 0, "cases.plaintiff_id", "sued others {v} times", "曾起诉他人{v}次"),
    _firm("firm_class_suit_intensity", "Suit rate of the firm's product classes, weighted by "
          "exposure", "产品技术领域诉讼强度（加权）", "suits per 1,000 patent-years", 1,
          "firm_technology, cases, patents", "its product fields see {v} suits per 1,000 "
          "patents a year", "产品领域每千件年诉讼{v}起", fmt=".2f"),
    # --- loan (pledge-loan default) ---
    # A larger loan against the same collateral never lowers default risk (business rule).
    _loan("loan_amount_log", "log10 of the loan amount", "贷款金额（log10）", "log10 currency", 1,
          "loans.amount", "loan of 10^{v}", "贷款金额10^{v}", fmt=".1f"),
    _loan("loan_term_months", "Loan term", "贷款期限（月）", "months", 1, "loans.term_months",
          "{v}-month term", "期限{v}个月"),
    _loan("loan_ltv", "Loan amount / appraised value of the pledged portfolio", "质押率",
          "ratio", 1, "loans.amount, appraised_value", "loan-to-value {v}", "质押率{v}",
          fmt=".0%"),
    _loan("borrower_kind", "Kind of borrower", "借款人类型", "category", 0, "assignees.kind",
          "borrower is {v}", "借款人类型为{v}", ASSIGNEE_KINDS),
    _loan("borrower_revenue_log", "log10 of the borrower's revenue", "借款人营业收入（log10）",
          "log10 currency", -1, "firm_financials", "borrower revenue 10^{v}",
          "借款人营收10^{v}", fmt=".1f"),
    _loan("borrower_debt_ratio", "Borrower's debt / total assets", "借款人资产负债率", "ratio", 1,
          "firm_financials", "borrower debt ratio {v}", "借款人资产负债率{v}", fmt=".0%"),
    _loan("borrower_profit_margin", "Borrower's net income / revenue", "借款人净利润率", "ratio",
          -1, "firm_financials", "borrower profit margin {v}", "借款人净利润率{v}", fmt=".0%"),
    _loan("borrower_roa", "Borrower's net income / total assets", "借款人总资产收益率", "ratio",
          -1, "firm_financials", "borrower return on assets {v}", "借款人总资产收益率{v}",
          fmt=".0%"),
    _loan("borrower_prior_defaults", "Borrower's earlier loan defaults", "借款人既往违约次数",
          "loans", 1, "loans.default_date <= T", "{v} earlier defaults", "既往违约{v}次"),
    _loan("pledged_count", "Patents pledged", "质押专利数", "patents", 0, "loan_patents",
          "{v} patents pledged", "质押专利{v}件"),
    _loan("pledged_citations_mean", "Mean forward citations of pledged patents",
          "质押专利平均被引次数", "citations", -1, "citations",
          "pledged patents cited {v} times on average", "质押专利平均被引{v}次", fmt=".1f"),
    _loan("pledged_citations_max", "Most forward citations of a pledged patent",
          "质押专利最高被引次数", "citations", -1, "citations",
          "best pledged patent cited {v} times", "质押专利最高被引{v}次"),
    _loan("pledged_remaining_term_mean", "Mean remaining term of pledged patents",
          "质押专利平均剩余保护期（年）", "years", -1, "patents",
          "pledged patents have {v} years left on average", "质押专利平均剩余{v}年", fmt=".1f"),
    _loan("pledged_claims_mean", "Mean claims of pledged patents", "质押专利平均权利要求数",
          "claims", 0, "patents", "{v} claims per pledged patent", "质押专利平均{v}项权利要求",
          fmt=".1f"),
    _loan("pledged_share_lapsed", "Share of pledged patents lapsed or invalidated by T",
          "质押专利失效比例", "share", 1, "legal_events", "{v} of pledged patents lapsed",
          "质押专利失效{v}", fmt=".0%"),
    _loan("pledged_share_invention", "Share of pledged patents that are inventions or utility "
          "patents", "质押专利中发明专利比例", "share", -1, "patents",
          "{v} of pledged patents are inventions", "发明专利占{v}", fmt=".0%"),
    _loan("pledged_suits", "Earlier suits on pledged patents", "质押专利既往诉讼数", "cases", 0,
          "cases", "{v} earlier suits on pledged patents", "质押专利既往诉讼{v}起"),
    _loan("pledged_class_suit_rate_mean", "Mean class suit rate of pledged patents",
          "质押专利所属领域平均诉讼率", "suits per 1,000 patent-years", 0, "cases, patents",
          "pledged fields see {v} suits per 1,000 patents a year", "质押专利领域每千件年诉讼{v}起",
          fmt=".2f"),
)

# Columns the sources hold only as they are today. PatentsView's `g_cpc_current` gives the CPC
# after later reclassification, family size counts members filed after T, an owner labelled `npe`
# today may not have been one then, and a firm's product classes carry no dates. The leakage
# guard cuts dated facts at T and so cannot catch these: they are flagged static, listed by the
# guard and by the validation report, and a test rewrites the columns to prove the list complete.
UNDATED_CPC = "patents.cpc_main (current classification)"
UNDATED_FAMILY = "patents.family_size (members counted today)"
UNDATED_KIND = "assignees.kind (kind today)"
UNDATED_INDUSTRY = "assignees.industry (industry today)"
UNDATED_TECH = "firm_technology (product classes today)"
UNDATED_SOURCES: dict[str, tuple[str, ...]] = {
    "cpc_section": (UNDATED_CPC,),
    "cpc_class": (UNDATED_CPC,),
    "family_size": (UNDATED_FAMILY,),
    "originality": (UNDATED_CPC,),
    "generality": (UNDATED_CPC,),
    "owner_kind": (UNDATED_KIND,),
    "class_suit_rate": (UNDATED_CPC,),
    "firm_kind": (UNDATED_KIND,),
    "firm_industry": (UNDATED_INDUSTRY,),
    "firm_tech_classes": (UNDATED_TECH,),
    "firm_tech_concentration": (UNDATED_TECH,),
    "firm_class_suit_intensity": (UNDATED_TECH, UNDATED_CPC),
    "borrower_kind": (UNDATED_KIND,),
    "pledged_class_suit_rate_mean": (UNDATED_CPC,),
}
if set(UNDATED_SOURCES) - {f.name for f in _DECLARED}:
    raise ValueError(f"UNDATED_SOURCES names unknown features "
                     f"{sorted(set(UNDATED_SOURCES) - {f.name for f in _DECLARED})}")
FEATURES: tuple[Feature, ...] = tuple(
    replace(f, undated=UNDATED_SOURCES.get(f.name, ())) for f in _DECLARED
)

_RISK_WORDS = {"en": ("raises risk", "lowers risk"), "zh": ("风险上升", "风险下降")}
_VALUE_WORDS = {"en": ("raises value", "lowers value"), "zh": ("价值上升", "价值下降")}


def get(name: str) -> Feature:
    """The registered feature called `name`."""
    for f in FEATURES:
        if f.name == name:
            return f
    raise KeyError(f"feature {name!r} is not in the registry")


def features_for(entity: str) -> list[Feature]:
    """Registered features of `entity` (patent, firm or loan), in registry order."""
    if entity not in ENTITIES:
        raise ValueError(f"entity must be one of {ENTITIES}, got {entity!r}")
    return [f for f in FEATURES if f.entity == entity]


def task_features(task: str) -> list[str]:
    """Names of the features a task's model uses, in registry order."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return [f.name for f in FEATURES if task in f.directions]


def static_features(task: str) -> list[str]:
    """Features of `task` that read undated columns (their value today stands in for T)."""
    return [n for n in task_features(task) if get(n).is_static]


def monotone_constraints(task: str, names: Sequence[str]) -> list[int]:
    """LightGBM monotone constraints (+1/-1/0) for `names` under `task`."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return [0 if get(n).is_categorical else get(n).directions.get(task, 0) for n in names]


def format_value(name: str, value: float, lang: str = "en") -> str:
    """A feature value as a reader sees it: category label, count, share or unknown."""
    f = get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown" if lang == "en" else "未知"
    if f.categories:
        code = int(value)
        if 0 <= code < len(f.categories):
            label = f.categories[code]
            return CATEGORY_LABELS_ZH.get(label, label) if lang == "zh" else label
        return "unknown" if lang == "en" else "未知"
    return format(float(value), f.fmt)


def format_reason(name: str, value: float, contribution: float, lang: str = "en",
                  task: str | None = None) -> str:
    """Reason text such as '42 forward citations in 5 years: raises risk' (EN) or ZH."""
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    f = get(name)
    words = (_VALUE_WORDS if task == "value" else _RISK_WORDS)[lang]
    word = words[0] if contribution >= 0 else words[1]
    text = (f.reason_en if lang == "en" else f.reason_zh).format(v=format_value(name, value, lang))
    return f"{text}: {word}" if lang == "en" else f"{text}：{word}"


__all__ = [
    "CATEGORY_LABELS_ZH",
    "CLAIM_KINDS",
    "CPC_CLASSES",
    "CPC_SECTIONS",
    "FEATURES",
    "VALUE_AXES",
    "INDUSTRIES",
    "JURISDICTIONS",
    "PATENT_TYPES",
    "TASKS",
    "Feature",
    "ValueAxis",
    "features_for",
    "format_reason",
    "format_value",
    "get",
    "monotone_constraints",
    "static_features",
    "task_features",
]
