"""Console texts in English and Chinese, and the language a request is answered in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT_LANGUAGE = "en"

# key -> (English, 中文). Templates call t("key"); `{name}` placeholders are filled by keyword.
MESSAGES: Mapping[str, tuple[str, str]] = {
    # layout
    "product": ("patentrisk console", "专利保险服务平台"),
    "tagline": ("Patent risk and value for insurance and pledge lending",
                "专利保险与质押融资的风险和价值评估"),
    "signed_in_as": ("Signed in as {name} ({role})", "已登录：{name}（{role}）"),
    "sign_out": ("Sign out", "退出"),
    "language": ("Language", "语言"),
    "api_docs": ("API docs", "API 文档"),
    "print": ("Print", "打印"),
    # roles
    "role.underwriter": ("underwriter", "承保人"),
    "role.bank": ("bank", "银行"),
    "role.scientist": ("data scientist", "数据科学家"),
    "role.regulator": ("regulator", "监管"),
    "role.admin": ("administrator", "管理员"),
    "role.adjuster": ("adjuster", "理赔员"),
    # nav
    "nav.search": ("Patent search", "检索查询"),
    "nav.quote": ("Quote", "保险报价"),
    "nav.loans": ("Pledge loans", "质押贷款"),
    "nav.regulator": ("Supervision", "监管"),
    "nav.assessments": ("Assessments", "评估记录"),
    "nav.models": ("Models", "模型"),
    "nav.reports": ("Reports", "报告"),
    # sign-in
    "signin.title": ("Sign in", "登录"),
    "signin.with_password": ("With username and password", "用户名和密码"),
    "signin.with_key": ("With an API key", "使用 API 密钥"),
    "signin.username": ("Username", "用户名"),
    "signin.password": ("Password", "密码"),
    "signin.api_key": ("API key", "API 密钥"),
    "signin.submit": ("Sign in", "登录"),
    "signin.failed": ("Unknown username or wrong password.", "用户名或密码错误。"),
    "signin.bad_key": ("Invalid or revoked API key.", "API 密钥无效或已吊销。"),
    "signin.required": ("Sign in to continue.", "请先登录。"),
    "signin.signed_out": ("You are signed out.", "您已退出登录。"),
    "signin.hint": ("Accounts come from `patentrisk users create`; API keys from "
                    "`patentrisk keys create` (make run prints demo ones).",
                    "账户由 `patentrisk users create` 创建，API 密钥由 `patentrisk keys create` "
                    "创建（make run 会打印演示账户）。"),
    # errors
    "error.title": ("Something went wrong", "出错了"),
    "error.403": ("Your role may not open this page.", "您的角色无权访问此页面。"),
    "error.404": ("Not found.", "未找到。"),
    "error.csrf": ("The form was not sent from this console session (missing or stale "
                   "CSRF token). Reload the page and try again.",
                   "表单并非来自当前会话（缺少或过期的 CSRF 令牌）。请刷新页面后重试。"),
    "error.500": ("Internal error; the service logged it under id {error_id}.",
                  "内部错误，服务已记录，编号 {error_id}。"),
    "error.unavailable": ("Not available right now: {message}", "暂不可用：{message}"),
    "error.back": ("Back to the console", "返回平台首页"),
    "form.fix": ("Please correct the fields marked below.", "请更正下方标注的字段。"),
    # reports (serving/console/report_pages.py)
    "reports.title": ("Reports", "分析报告"),
    "reports.kind.market": ("Market and demand", "市场与需求分析"),
    "reports.kind.rates": ("Rate adequacy", "费率充足性回测"),
    "reports.kind.portfolio": ("Portfolio valuation", "质押组合估值"),
    "reports.about.market": (
        "Patents in force, litigation observed and expected, eligible firms, premium volume and "
        "subsidy budget at the take-up rates, expected loss ratio and concentration of risk.",
        "有效专利存量、实际与模型预期诉讼、可投保企业、按投保率测算的保费规模和补贴预算、"
        "预期赔付率及风险集中度。"),
    "reports.about.rates": (
        "The rate table backtested per product, grade and past year: premium charged against "
        "the losses in the data, actual / expected claims with a 95 % interval.",
        "按险种、评级和年度回测费率表：应收保费与数据中的实际损失对比，"
        "实际/预期出险比及其95%置信区间。"),
    "reports.about.portfolio": (
        "A borrower's patents in force (or the listed patents) valued P10/P50/P90 with reasons "
        "and the GB/T 42748-2023 axes, loan-to-value, default probability, grade and stress.",
        "借款人的有效专利（或所列专利）的P10/P50/P90估值及原因、GB/T 42748-2023维度、"
        "质押率、违约概率、评级与压力测试。"),
    "reports.as_of": ("Report date (optional)", "报告基准日（可选）"),
    "reports.region": ("Owner region", "权利人地区"),
    "reports.industry": ("Industry", "行业"),
    "reports.owner_kind": ("Owner kind", "权利人类型"),
    "reports.cpc_section": ("CPC section", "CPC 部"),
    "reports.take_up": ("Take-up rates (comma-separated)", "投保率（逗号分隔）"),
    "reports.years_market": ("Years of litigation shown", "显示的诉讼年数"),
    "reports.years_rates": ("Past years backtested", "回测年数"),
    "reports.borrower": ("Borrower firm id", "借款企业编号"),
    "reports.amount": ("Requested amount (default: the policy's max loan)",
                       "申请金额（默认：政策最高可贷额）"),
    "reports.patents": ("…or patent ids (one per line or separated by ';' or ',')",
                        "……或专利号（每行一个，或以“;”“,”分隔）"),
    "reports.build": ("Build the report", "生成报告"),
    "reports.wait": ("On a large dataset a report takes up to a minute or two.",
                     "数据量大时生成报告可能需要一到两分钟。"),
    "reports.zip": ("Download (HTML + CSV, zip)", "下载（HTML + CSV，zip）"),
    "reports.open_page": ("Open as a page", "单独打开"),
    "reports.csv": ("CSV tables", "CSV 数据表"),
    # search
    "search.title": ("Patent search", "专利检索查询"),
    "search.q": ("Id or title words", "专利号或标题关键词"),
    "search.owner": ("Owner (id or name)", "权利人（编号或名称）"),
    "search.cpc": ("CPC class", "CPC 分类"),
    "search.jurisdiction": ("Jurisdiction", "法域"),
    "search.type": ("Type", "类型"),
    "search.in_force": ("In force only", "仅有效专利"),
    "search.grade": ("Grade at most", "评级不差于"),
    "search.any": ("any", "不限"),
    "search.submit": ("Search", "检索"),
    "search.results": ("{total} patents match; showing {first}–{last}.",
                       "共 {total} 件专利符合条件，显示第 {first}–{last} 件。"),
    "search.filtered": ("{shown} of the {scanned} matches looked at pass the grade / in-force "
                        "filters.", "已查看的 {scanned} 件中有 {shown} 件符合评级/有效性条件。"),
    "search.none": ("No patent matches.", "没有符合条件的专利。"),
    "search.next": ("Next page", "下一页"),
    "search.prev": ("First page", "第一页"),
    "search.value_band": ("Value P10–P90", "价值区间 P10–P90"),
    "search.not_scored": ("Scores need the litigation and value models: {message}",
                          "评分需要诉讼和价值模型：{message}"),
    # patent facts
    "patent.id": ("Patent", "专利号"),
    "patent.title": ("Title", "标题"),
    "patent.jurisdiction": ("Jurisdiction", "法域"),
    "patent.type": ("Type", "类型"),
    "patent.filing_date": ("Filed", "申请日"),
    "patent.grant_date": ("Granted", "授权日"),
    "patent.expiry_date": ("Expires", "届满日"),
    "patent.num_claims": ("Claims", "权利要求数"),
    "patent.family_size": ("Family size", "同族数"),
    "patent.cpc": ("CPC classes", "CPC 分类"),
    "patent.owner": ("Owner", "权利人"),
    "patent.in_force": ("In force", "有效"),
    "patent.not_in_force": ("Not in force", "已失效"),
    "type.invention": ("invention", "发明"),
    "type.utility_model": ("utility model", "实用新型"),
    "type.design": ("design", "外观设计"),
    "type.utility": ("utility", "实用专利"),
    "decision.accept": ("accept", "承保"),
    "decision.refer": ("refer to an underwriter", "转人工核保"),
    "decision.decline": ("decline", "拒保"),
    "kind.large_firm": ("large firm", "大型企业"),
    "kind.sme": ("small or medium firm", "中小企业"),
    "kind.university": ("university", "高校"),
    "kind.individual": ("individual", "个人"),
    "kind.npe": ("non-practising entity", "非专利实施主体"),
    "event.renewal_paid": ("annual fee paid", "缴纳年费"),
    "event.lapsed": ("lapsed (fee not paid)", "未缴年费失效"),
    "event.transferred": ("transferred", "权利转移"),
    "event.licensed": ("licensed", "许可"),
    "event.pledged": ("pledged", "质押"),
    "event.pledge_released": ("pledge released", "解除质押"),
    "event.invalidation_requested": ("invalidation requested", "请求宣告无效"),
    "event.invalidated": ("invalidated", "宣告无效"),
    "event.upheld": ("upheld after challenge", "无效请求后维持有效"),
    "quote.expected_loss": ("Expected loss", "预期损失"),
    "quote.risk_loading": ("Risk loading", "风险附加"),
    "quote.expense_loading": ("Expense loading", "费用附加"),
    "quote.minimum_premium": ("Minimum premium", "最低保费"),
    # profile
    "profile.facts": ("Facts", "基本信息"),
    "profile.owner": ("Owner", "权利人"),
    "profile.owner_kind": ("Kind", "类型"),
    "profile.region": ("Region", "地区"),
    "profile.industry": ("Industry", "行业"),
    "profile.events": ("Legal-event timeline", "法律状态时间线"),
    "profile.no_events": ("No legal events recorded.", "无法律事件记录。"),
    "profile.event_date": ("Date", "日期"),
    "profile.event_type": ("Event", "事件"),
    "profile.counterparty": ("Counterparty", "相对方"),
    "profile.citations": ("Citations", "引证"),
    "profile.cited_by": ("Cited by ({n})", "被引（{n}）"),
    "profile.cites": ("Cites ({n})", "引用（{n}）"),
    "profile.cases": ("Litigation on this patent", "涉诉记录"),
    "profile.risk": ("Litigation risk", "诉讼风险"),
    "profile.probability": ("12-month probability of a suit", "12个月内被诉（涉诉）概率"),
    "profile.grade": ("Grade", "评级"),
    "profile.decision": ("Enforcement cover decision", "执行险承保结论"),
    "profile.value": ("Value", "价值评估"),
    "profile.value_chart": ("Value P10 / P50 / P90", "价值 P10 / P50 / P90"),
    "profile.reasons": ("Top reasons", "主要原因"),
    "profile.waterfall": ("How the score is built (SHAP contributions)",
                          "评分的构成（SHAP 贡献）"),
    "profile.base": ("average (base value)", "平均水平（基准值）"),
    "profile.others": ("other features", "其他特征"),
    "profile.score": ("this patent", "本专利"),
    "loans.this_loan": ("this loan", "本笔贷款"),
    "quote.this_firm": ("this firm", "本企业"),
    "profile.contribution": ("model score (log-odds; value: log)",
                             "模型评分（对数几率；价值为对数）"),
    "profile.versions": ("Model and policy versions", "模型与政策版本"),
    "profile.assessment": ("Stored as assessment {id}", "已存档，评估编号 {id}"),
    "profile.quote_this": ("Quote enforcement cover for this patent", "为该专利报价执行险"),
    "profile.as_of": ("As of {date}", "评估基准日 {date}"),
    # quote
    "quote.title": ("Insurance quote", "专利保险报价"),
    "quote.product": ("Product", "险种"),
    "product.enforcement": ("Patent enforcement insurance", "专利执行险"),
    "product.liability": ("Infringement liability insurance", "侵犯专利权责任险"),
    "product.pledge_loan": ("Pledge-loan guarantee insurance", "专利权质押贷款保证保险"),
    "quote.patent_id": ("Patent id (enforcement)", "专利号（执行险）"),
    "quote.assignee_id": ("Firm id (liability)", "企业编号（责任险）"),
    "quote.product_classes": ("Product CPC classes, separated by ';' (liability)",
                              "产品 CPC 分类，用 ; 分隔（责任险）"),
    "quote.annual_revenue": ("Last year's revenue (liability, optional)",
                             "上年营业收入（责任险，可选）"),
    "quote.applicant": ("Applicant", "投保人"),
    "quote.applicant_id": ("Applicant id", "投保人编号"),
    "quote.role": ("Applicant role", "投保人身份"),
    "quote.licence_type": ("Licence type (licensees)", "许可类型（被许可人）"),
    "quote.contract_allows": ("Licence contract allows enforcement", "许可合同允许维权"),
    "quote.sme": ("Small or medium enterprise", "中小企业"),
    "quote.pilot": ("Pilot enterprise", "试点企业"),
    "quote.award": ("Patent award winner", "专利奖获奖企业"),
    "quote.high_tech": ("High-tech enterprise", "高新技术企业"),
    "quote.cover_limit": ("Cover limit per claim", "每次赔偿限额"),
    "quote.deductible": ("Deductible", "免赔额"),
    "quote.period_months": ("Period (months)", "保险期间（月）"),
    "quote.submit": ("Quote", "报价"),
    "quote.result": ("Quote", "报价结果"),
    "quote.probability": ("12-month claim probability", "12个月出险概率"),
    "quote.period_probability": ("Probability over the period", "保险期间出险概率"),
    "quote.expected_cost": ("Expected claim cost", "预期赔付成本"),
    "quote.payable": ("Payable per claim", "每次实际赔付"),
    "quote.premium_parts": ("Premium parts", "保费构成"),
    "quote.gross": ("Gross premium", "总保费"),
    "quote.subsidy": ("Subsidy", "保费补贴"),
    "quote.net": ("Net premium", "净保费"),
    "quote.policy_reasons": ("Policy reasons", "政策依据"),
    "quote.record": ("Open the stored record", "查看存档记录"),
    "quote.none": ("none", "无"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    # loans
    "loans.title": ("Patent-pledge loan assessment", "专利权质押贷款评估"),
    "loans.borrower": ("Borrower firm id", "借款企业编号"),
    "loans.amount": ("Requested amount", "申请金额"),
    "loans.term": ("Term (months)", "期限（月）"),
    "loans.pledged": ("Pledged patent ids (one per line or separated by ';')",
                      "质押专利号（每行一个或用 ; 分隔）"),
    "loans.appraised": ("Bank's appraised value (optional)", "银行评估价值（可选）"),
    "loans.csv": ("…or upload a CSV (columns borrower.assignee_id, requested_amount, "
                  "term_months, pledged with ids separated by ';')",
                  "……或上传 CSV（列 borrower.assignee_id、requested_amount、term_months、"
                  "pledged，专利号用 ; 分隔）"),
    "loans.submit": ("Assess", "评估"),
    "loans.result": ("Assessment", "评估结果"),
    "loans.portfolio": ("Portfolio value", "质押组合价值"),
    "loans.total": ("portfolio total", "组合合计"),
    "loans.default_probability": ("Default probability over the term", "期限内违约概率"),
    "loans.annual_pd": ("Annualised", "年化"),
    "loans.max_loan": ("Maximum loan", "最高贷款额"),
    "loans.ltv": ("Loan-to-value applied", "适用质押率"),
    "loans.over_limit": ("Requested amount is over the maximum loan", "申请金额超过最高贷款额"),
    "loans.lgd": ("Loss given default", "违约损失率"),
    "loans.expected_loss": ("Expected loss", "预期损失"),
    "loans.loss_sharing": ("Loss sharing (insurer : bank : guarantor)",
                           "损失分担（保险 : 银行 : 担保）"),
    "loans.premium": ("Guarantee insurance premium", "保证保险保费"),
    "loans.csv_rows": ("Row {n} of the CSV", "CSV 第 {n} 行"),
    "loans.csv_only_first": ("The CSV held {n} loans; each was assessed and stored.",
                             "CSV 包含 {n} 笔贷款，均已评估并存档。"),
    # regulator
    "reg.title": ("Supervision (监管)", "监管"),
    "reg.rate_table": ("Rate table per grade", "分级费率表"),
    "reg.band": ("Probability band", "概率区间"),
    "reg.loading": ("Risk loading", "风险附加"),
    "reg.rate": ("Premium per unit of cover", "单位保额保费"),
    "reg.ltv": ("LTV", "质押率"),
    "reg.decision": ("Decision", "结论"),
    "reg.search": ("Assessment search", "评估记录查询"),
    "reg.kind": ("Kind", "类型"),
    "reg.since": ("From (date)", "起始日期"),
    "reg.until": ("Before (date)", "截止日期"),
    "reg.id": ("Assessment id", "评估编号"),
    "reg.created": ("Created (UTC)", "时间（UTC）"),
    "reg.caller": ("Caller", "调用方"),
    "reg.subject": ("Subject", "对象"),
    "reg.open": ("open", "查看"),
    "reg.total": ("{total} assessments", "共 {total} 条评估记录"),
    "reg.policy": ("Policy {version}, SHA-256 {sha}", "政策版本 {version}，SHA-256 {sha}"),
    "record.title": ("Stored assessment {id}", "评估存档 {id}"),
    "record.request": ("Request", "请求"),
    "record.outputs": ("Outputs", "输出"),
    "record.features": ("Resolved features", "特征值"),
    "record.explanation": ("Explanation", "解释"),
    "record.models": ("Model versions", "模型版本"),
    "record.policy": ("Policy version and hash", "政策版本与哈希"),
    "record.status": ("Status", "状态"),
    # models
    "models.title": ("Models in service", "在用模型"),
    "models.task": ("Task", "任务"),
    "models.champion": ("Champion", "冠军模型"),
    "models.challenger": ("Challenger", "挑战者模型"),
    "models.served": ("Served now", "当前服务"),
    "models.none": ("none", "无"),
    "models.metrics": ("Test metrics against the oracle", "测试期指标（对照真值）"),
    "models.metric": ("Metric", "指标"),
    "models.calibration": ("Calibration of the champion (test period)",
                           "冠军模型校准曲线（测试期）"),
    "models.predicted": ("mean predicted probability", "平均预测概率"),
    "models.observed": ("observed rate", "实际发生率"),
    "models.gate": ("Gate decision", "准入结论"),
    "models.mlflow": ("Open the MLflow UI to compare runs:", "在 MLflow 界面中比较训练记录："),
    "models.unreachable": ("The model registry could not be read: {message}",
                           "无法读取模型注册表：{message}"),
    "models.no_calibration": ("No calibration data logged for this version.",
                              "该版本未记录校准数据。"),
    "models.validation": ("Validation report", "模型验证报告"),
    "models.no_validation": ("Not validated yet: run `patentrisk validate --task {task}`.",
                             "尚未验证：请运行 `patentrisk validate --task {task}`。"),
    "models.no_report": ("No validation report is logged for the champion of task {task}.",
                         "任务 {task} 的冠军模型尚无验证报告。"),
}


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The remembered language, else the browser's first supported one, else English."""
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


class Translator:
    """`t(key, **values)`: the text of `key` in one language, placeholders filled."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
        self.lang = lang
        self._index = LANGUAGES.index(lang)

    def __call__(self, key: str, **values: Any) -> str:
        """The text of `key`; an unknown key shows as itself so a gap is visible, not fatal."""
        texts = MESSAGES.get(key)
        text = texts[self._index] if texts else key
        return text.format(**values) if values else text

    def pick(self, text_en: str | None, text_zh: str | None) -> str:
        """The text of a pair (reason texts, policy reasons) in this language."""
        chosen = text_zh if self.lang == "zh" else text_en
        return chosen or text_en or text_zh or ""
