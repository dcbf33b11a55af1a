"""Prints an XLSX workbook as JSON, as openpyxl reads it, for billsync's tests.

{"sheets": [{"name", "freeze", "filter", "rows": [[cell, ...], ...]}], "charts": [{"sheet", "type",
"grouping", "series": [{"name", "categories", "values"}]}]}; a cell is null, {"n": repr(float),
"format": number format}, {"d": ISO date-time}, or {"s": text}.
"""
import json
import sys

import openpyxl


def cell(c):
    if c.value is None:
        return None
    if c.data_type == "n":
        return {"n": repr(float(c.value)), "format": c.number_format}
    if c.data_type == "d":
        return {"d": c.value.isoformat(), "format": c.number_format}
    return {"s": str(c.value)}


def ref(r):
    if r is None:
        return None
    for kind in ("numRef", "strRef"):
        inner = getattr(r, kind, None)
        if inner is not None:
            return inner.f
    return None


book = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": [], "charts": []}
for sheet in book.worksheets:
    out["sheets"].append({
        "name": sheet.title,
        "freeze": sheet.freeze_panes,
        "filter": sheet.auto_filter.ref,
        "widths": {k: v.width for k, v in sorted(sheet.column_dimensions.items())},
        "rows": [[cell(c) for c in row] for row in sheet.iter_rows()],
    })
    for chart in sheet._charts:
        out["charts"].append({
            "sheet": sheet.title,
            "type": chart.tagname,
            "grouping": getattr(chart, "grouping", None),
            "series": [{"name": s.tx.strRef.f if s.tx and s.tx.strRef else None,
                        "categories": ref(s.cat), "values": ref(s.val)} for s in chart.series],
        })
json.dump(out, sys.stdout)
