"""Cells back into report documents shaped like the official templates, HTML or text.

The inverse of the parser, used by the tests (round trips, seed truths as HTML) and the
benchmark. Tables follow the templates' merged cells (rowspan/colspan of the Word originals);
`Style` adds the distortions publishers introduce: Word markup with runs split mid-word, one
table cut into several, one cell per paragraph, TSV in <pre>, TAB-prefixed lines, blank-line
paragraphs, labels broken across lines, rows shifted by a TAB.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from html import escape

from crawler.report.schema import (
    ACTIVE_COLS,
    REQUEST_COLS,
    REQUEST_ROW_ORDER,
    REVIEW_COLS,
)

Data = dict[tuple[str, str, str], str]  # (section, row, col) -> raw text as published


@dataclass
class Spec:
    """One cell of a logical table."""

    text: str
    colspan: int = 1
    rowspan: int = 1
    value: bool = False


@dataclass
class Style:
    """How to distort the rendering; all off = a clean template table."""

    seed: int = 0
    word: bool = False  # MsoNormalTable, <p><span> runs split mid-word
    split_tables: bool = False  # one <table> cut into several
    label_spans: bool = False  # random extra colspan on label cells, spacer cells
    broken_labels: bool = False  # text: labels broken across lines
    shifted: bool = False  # text (TSV): some rows shifted by a TAB
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)


_ITEMS = {
    "regulations": "第二十条第（一）项",
    "licensing": "第二十条第（五）项",
    "penalty": "第二十条第（六）项",
    "fees": "第二十条第（八）项",
    "procurement": "第二十条第（九）项",
}
_ROW_LABEL = {
    "regulations": "规章",
    "normative_documents": "规范性文件",
    "licensing": "行政许可",
    "other_services": "其他对外管理服务事项",
    "penalty": "行政处罚",
    "coercion": "行政强制",
    "fees": "行政事业性收费",
    "procurement": "政府集中采购",
}
_COL_LABEL = {
    "made": "本年新制作数量",
    "published": "本年新公开数量",
    "total_published": "对外公开总数量",
    "items_last_year": "上一年项目数量",
    "items_change": "本年增/减",
    "decisions": "处理决定数量",
    "procurement_items": "采购项目数量",
    "procurement_amount": "采购总金额",
    "issued": "本年制发件数",
    "repealed": "本年废止件数",
    "in_force": "现行有效件数",
    "fee_amount": "本年收费金额（单位：万元）",
}
_REQ_LABEL = {
    "new": "一、本年新收政府信息公开申请数量",
    "carried_over": "二、上年结转政府信息公开申请数量",
    "disclosed": "（一）予以公开",
    "partially_disclosed": "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "withheld_state_secret": "1.属于国家秘密",
    "withheld_prohibited_by_law": "2.其他法律行政法规禁止公开",
    "withheld_three_safeties": "3.危及“三安全一稳定”",
    "withheld_third_party": "4.保护第三方合法权益",
    "withheld_internal_affairs": "5.属于三类内部事务信息",
    "withheld_process_info": "6.属于四类过程性信息",
    "withheld_enforcement_files": "7.属于行政执法案卷",
    "withheld_inquiry": "8.属于行政查询事项",
    "unavailable_not_held": "1.本机关不掌握相关政府信息",
    "unavailable_needs_creation": "2.没有现成信息需要另行制作",
    "unavailable_unclear": "3.补正后申请内容仍不明确",
    "unprocessed_petition": "1.信访举报投诉类申请",
    "unprocessed_duplicate": "2.重复申请",
    "unprocessed_publication": "3.要求提供公开出版物",
    "unprocessed_mass_repetitive": "4.无正当理由大量反复申请",
    "unprocessed_confirm_reissue": "5.要求行政机关确认或重新出具已获取信息",
    "other": "（六）其他处理",
    "other_no_correction": "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other_unpaid_fee": "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other_other": "3.其他",
    "total_processed": "（七）总计",
    "carried_forward": "四、结转下年度继续办理",
}
_GROUPS = {  # first row of a group -> (group label, number of rows)
    "withheld_state_secret": ("（三）不予公开", 8),
    "unavailable_not_held": ("（四）无法提供", 3),
    "unprocessed_petition": ("（五）不予处理", 5),
    "other_no_correction": ("（六）其他处理", 3),
}
_IN_GROUP = {
    row
    for first, (_, n) in _GROUPS.items()
    for row in REQUEST_ROW_ORDER["2021"][REQUEST_ROW_ORDER["2021"].index(first) :][:n]
}
HEADINGS = {
    "active": "二、主动公开政府信息情况",
    "requests": "三、收到和处理政府信息公开申请情况",
    "review_litigation": "四、政府信息公开行政复议、行政诉讼情况",
}
_REVIEW_COL_LABEL = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")


def active_table(fmt: str, data: Data) -> list[list[Spec]]:
    rows: list[list[Spec]] = []
    cols_of = ACTIVE_COLS[fmt]
    for row, cols in cols_of.items():
        if row in _ITEMS:
            rows.append([Spec(_ITEMS[row], colspan=4)])
            header = [Spec("信息内容")]
            span = 3 if len(cols) == 1 else 1
            header += [Spec(_COL_LABEL[c], colspan=span) for c in cols]
            rows.append(header)
        label = "行政规范性文件" if (fmt == "2021" and row == "normative_documents") else None
        cells = [Spec(label or _ROW_LABEL[row])]
        span = 3 if len(cols) == 1 else 1
        cells += [Spec(data.get(("active", row, c), ""), colspan=span, value=True) for c in cols]
        rows.append(cells)
    return rows


def requests_table(fmt: str, data: Data) -> list[list[Spec]]:
    order = REQUEST_ROW_ORDER[fmt]
    note = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    rows = [
        [Spec(note, colspan=3, rowspan=3), Spec("申请人情况", colspan=7)],
        [Spec("自然人", rowspan=2), Spec("法人或其他组织", colspan=5), Spec("总计", rowspan=2)],
        [Spec(t) for t in ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")],
    ]
    results = order[2:-1]
    for row in order:
        cells: list[Spec] = []
        if row == "disclosed":
            cells.append(Spec("三、本年度办理结果", rowspan=len(results)))
        if row in _GROUPS:
            label, n = _GROUPS[row]
            cells.append(Spec(label, rowspan=n))
        if row in ("new", "carried_over", "carried_forward"):
            cells.append(Spec(_REQ_LABEL[row], colspan=3))
        elif row in _IN_GROUP:
            cells.append(Spec(_REQ_LABEL[row]))
        else:
            cells.append(Spec(_REQ_LABEL[row], colspan=2))
        cells += [Spec(data.get(("requests", row, c), ""), value=True) for c in REQUEST_COLS]
        rows.append(cells)
    return rows


def review_table(data: Data) -> list[list[Spec]]:
    keys = ("review", "litigation_direct", "litigation_after_review")
    return [
        [Spec("行政复议", colspan=5), Spec("行政诉讼", colspan=10)],
        [Spec(t, rowspan=2) for t in _REVIEW_COL_LABEL]
        + [Spec("未经复议直接起诉", colspan=5), Spec("复议后起诉", colspan=5)],
        [Spec(t) for t in _REVIEW_COL_LABEL * 2],
        [
            Spec(data.get(("review_litigation", k, c), ""), value=True)
            for k in keys
            for c in REVIEW_COLS
        ],
    ]


def tables(fmt: str, data: Data) -> dict[str, list[list[Spec]]]:
    """The logical tables of the sections present in `data`."""
    present = {s for s, _, _ in data}
    out: dict[str, list[list[Spec]]] = {}
    if "active" in present:
        out["active"] = active_table(fmt, data)
    if "requests" in present:
        out["requests"] = requests_table(fmt, data)
    if "review_litigation" in present:
        out["review_litigation"] = review_table(data)
    return out


# ----- HTML ------------------------------------------------------------------------------------


def _split_runs(text: str, style: Style) -> str:
    """Word output: a cell's text in several <span> runs, cut at random points (mid-word)."""
    if not style.word or len(text) < 2:
        return escape(text)
    cut = sorted(style.rng.sample(range(1, len(text)), k=min(2, len(text) - 1)))
    parts = [text[a:b] for a, b in zip([0, *cut], [*cut, len(text)], strict=True)]
    runs = "".join(f'<span lang="EN-US" style="font-size:10.5pt">{escape(p)}</span>' for p in parts)
    return f'<p class="MsoNormal" align="center">{runs}</p>'


def html_table(rows: list[list[Spec]], style: Style) -> str:
    cls = ' class="MsoNormalTable" border="1" cellspacing="0"' if style.word else ' border="1"'
    out = [f"<table{cls}><tbody>"]
    for n, row in enumerate(rows):
        if style.split_tables and n and style.rng.random() < 0.15:
            out.append(f"</tbody></table>\n<p> </p>\n<table{cls}><tbody>")
        cells = []
        for spec in row:
            attrs = ""
            colspan = spec.colspan
            if style.label_spans and not spec.value and style.rng.random() < 0.3:
                colspan += 1
            if colspan > 1:
                attrs += f' colspan="{colspan}"'
            if spec.rowspan > 1:
                attrs += f' rowspan="{spec.rowspan}"'
            cells.append(f"<td{attrs}>{_split_runs(spec.text, style)}</td>")
        if style.label_spans and style.rng.random() < 0.2:
            cells.append("<td></td>")  # Word's trailing empty cell
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def html_paragraphs(rows: list[list[Spec]], style: Style) -> str:
    return "\n".join(f"<p>{_split_runs(s.text, style)}</p>" for row in rows for s in row if s.text)


def html_pre(rows: list[list[Spec]]) -> str:
    return "<pre>" + escape("\n".join(_tsv_line(r) for r in rows)) + "</pre>"


def render_html(
    fmt: str,
    data: Data,
    title: str,
    layout: str = "table",
    style: Style | None = None,
    padding: int = 0,
) -> str:
    """A whole report page; `layout` is table | paragraphs | pre; `padding` adds prose bytes."""
    style = style or Style()
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f'<meta name="ArticleTitle" content="{escape(title)}">',
        f"<title>{escape(title)}_政府网</title>",
        "<style>td{border:1px solid}</style>",
        "<script>var x = '<td>1</td>';</script></head><body>",
        f"<h1>{escape(title)}</h1>",
        "<h2>一、总体情况</h2>",
        "<p>本年度共受理申请12件，同比增长3件。</p>" + "<p>政务公开工作稳步推进。</p>" * padding,
    ]
    for section, rows in tables(fmt, data).items():
        parts.append(f"<h2>{HEADINGS[section]}</h2>")
        if layout == "paragraphs":
            parts.append(html_paragraphs(rows, style))
        elif layout == "pre":
            parts.append(html_pre(rows))
        else:
            parts.append(html_table(rows, style))
        parts.append("<p>与上年相比，申请数量增加27件，占比66.7%。</p>")
    parts.append("<h2>五、存在的主要问题及改进情况</h2><p>一是队伍建设有待加强。</p>")
    parts.append("<h2>六、其他需要报告的事项</h2><p>收取信息处理费840元。</p></body></html>")
    return "\n".join(parts)


# ----- text ------------------------------------------------------------------------------------


def _tsv_line(row: list[Spec]) -> str:
    return "\t".join(s.text + "\t" * (s.colspan - 1 if not s.value else 0) for s in row)


def _break(text: str, style: Style) -> str:
    """A label broken across lines the way Word text export breaks header cells."""
    first = next((n for n, ch in enumerate(text) if "\u4e00" <= ch <= "\u9fff"), len(text))
    if not style.broken_labels or len(text) - first < 3 or style.rng.random() < 0.5:
        return text
    cut = style.rng.randrange(first + 1, len(text) - 1)  # after the numbering, as Word breaks
    return text[:cut] + style.rng.choice(["\n", "\n\n"]) + text[cut:]


def render_text(fmt: str, data: Data, title: str, shape: str, style: Style | None = None) -> str:
    """Plain text of a report: shape is tsv | tab_lines | blank_lines."""
    style = style or Style()
    out = [title, "", "一、总体情况", "本年度共受理申请12件，同比增长3件。", ""]
    for section, rows in tables(fmt, data).items():
        out.append(HEADINGS[section])
        for row in rows:
            if shape == "tsv":
                line = _tsv_line(row)
                if style.shifted and style.rng.random() < 0.2:
                    line = "\t" + line
                out.append(line)
            elif shape == "tab_lines":
                out.extend("\t" + (s.text if s.value else _break(s.text, style)) for s in row)
                out.append("")
            else:  # blank_lines
                for s in row:
                    if s.text:
                        pad = style.rng.choice(["", " ", "\xa0", " \xa0 ", "\u3000"])
                        text = s.text if s.value else _break(s.text, style)
                        out.extend([pad + text + pad[::-1], ""])
        out.append("与上年相比，申请数量增加27件，占比66.7%。")
    out += [
        "五、存在的主要问题及改进情况",
        "一是队伍建设有待加强。",
        "六、其他需要报告的事项",
        "无。",
    ]
    return "\n".join(out)


def truth_data(tables_json: dict) -> Data:
    """truth.json's `tables` (plain numbers or {value, raw}) as renderable raw texts."""
    data: Data = {}
    for section, rows in tables_json.items():
        for row, cols in (rows or {}).items():
            for col, v in cols.items():
                data[(section, row, col)] = v["raw"] if isinstance(v, dict) else str(v)
    return data
