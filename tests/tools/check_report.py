#!/usr/bin/env python3
"""check_report.py REPORT.html METRICS.json - checks what an evaluation report shows
against the figures winnow wrote to --json, by parsing the HTML (html.parser, no
browser):
  - the document is well nested (every opened element closed, in order);
  - the "Metrics per stage" table has one row per stage of the JSON, in a column per
    measure, each cell equal to the JSON value rounded to the decimals the cell shows
    (latency columns "ms mean", "ms p50", ... against latency_ms);
  - every <svg> is well-formed XML (attribute values that HTML allows unquoted are
    quoted first) with drawn content (a line, path, rect, circle or polyline) and
    numeric coordinates;
  - nothing is fetched from the network (no http:// or https:// reference).
Exits 1 with the reasons, 0 when every check holds."""
import json
import re
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
SVG_IN_HTML = {"rect", "line", "path", "circle", "polyline", "polygon", "text", "g", "title", "tspan", "ellipse"}


class Report(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tables = [], [], []
        self.row = self.cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.row = []
            self.tables[-1].append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass  # <rect .../>: opens and closes

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s> (line %d)" % (tag, self.stack[-1] if self.stack else "nothing", self.getpos()[0]))
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def main():
    html_path, json_path = sys.argv[1:3]
    text = open(html_path, encoding="utf-8").read()
    figures = json.load(open(json_path))
    errors = []
    p = Report()
    p.feed(text)
    p.close()
    errors += p.errors
    if p.stack:
        errors.append("unclosed elements at the end: %s" % p.stack)
    if re.search(r"https?://", text):
        errors.append("the report references the network")
    # the metrics table: the one whose header row starts with "stage"
    table = next((t for t in p.tables if t and t[0] and t[0][0] == "stage"), None)
    if table is None:
        errors.append("no metrics table (a table whose first header is 'stage')")
    else:
        head, rows = table[0], {r[0]: r for r in table[1:] if r}
        checked = 0
        for stage, m in figures.items():
            if stage not in rows:
                errors.append("stage %s of the JSON has no row in the table (rows: %s)" % (stage, sorted(rows)))
                continue
            row = rows[stage]
            if len(row) != len(head):
                errors.append("row %s has %d cells, the header %d" % (stage, len(row), len(head)))
                continue
            for col, cell in zip(head[1:], row[1:]):
                want = m["latency_ms"].get(col[3:]) if col.startswith("ms ") and "latency_ms" in m else m.get(col)
                if want is None:
                    continue
                dec = len(cell.split(".")[1]) if "." in cell else 0
                try:
                    got = float(cell)
                except ValueError:
                    errors.append("%s / %s: '%s' is not a number" % (stage, col, cell))
                    continue
                if abs(got - want) > 0.5 * 10 ** -dec + 1e-9:
                    errors.append("%s / %s: the report shows %s, the JSON has %r" % (stage, col, cell, want))
                checked += 1
        measures = [c for c in head if "@" in c or c == "map"]
        if len(measures) < 3:
            errors.append("the table has only these measures: %s" % measures)
        if checked < len(figures) * 5:
            errors.append("only %d cells could be checked" % checked)
    svgs = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    if not svgs:
        errors.append("no <svg> chart")
    for i, s in enumerate(svgs):
        try:
            root = ET.fromstring(re.sub(r"""(\s[\w:-]+)=([^\s"'>]+)""", r'\1="\2"', s))
        except ET.ParseError as e:
            errors.append("svg %d is not well-formed: %s" % (i + 1, e))
            continue
        drawn = [e for e in root.iter() if e.tag in ("line", "path", "rect", "circle", "polyline", "polygon")]
        if not drawn:
            errors.append("svg %d draws nothing" % (i + 1))
        for e in drawn:
            for a in ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "width", "height"):
                v = e.get(a)
                if v is not None and not re.fullmatch(r"-?[0-9.]+(e-?[0-9]+)?", v):
                    errors.append("svg %d: <%s %s=\"%s\">" % (i + 1, e.tag, a, v))
    for e in errors[:20]:
        print("check_report: " + e)
    if not errors:
        print("check_report: %s: %d stages, %d charts as the JSON says" % (html_path, len(figures), len(svgs)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
