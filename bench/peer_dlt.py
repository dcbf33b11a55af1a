#!/usr/bin/env python3
"""The peer of the benchmark: a generic sync framework doing billsync's work against the same
billsync-sim. A dlt `rest_api` pipeline, written from dlt's documentation, that reads what a
billsync backfill reads (Northflank invoices and hourly usage of the org and each team, the
Typesense Cloud invoice list and every invoice's detail, the UsageFlow invoices) and writes
it as CSV files with dlt's filesystem destination.

Usage: peer_dlt.py BASE_URL OUT_DIR USAGE_START END ACCOUNT... (ACCOUNT is `org` or a team)

Run by bench/run.py under `/usr/bin/time -v`, in a virtual environment with
`dlt[filesystem]` from PyPI."""
import os
import sys

import dlt
from dlt.sources.rest_api import rest_api_source

base, out, usage_start, end, *accounts = sys.argv[1:]
KEYS = {"nf": "nf-sim-key", "ts": "ts-sim-key", "uf": "uf-sim-key"}


def cursor_paginator():
    # Northflank: `pagination.cursor` until `hasNextPage` is false (the cursor is then absent).
    return {"type": "cursor", "cursor_path": "pagination.cursor", "cursor_param": "cursor"}


northflank_resources = []
for account in accounts:
    prefix = "v1/billing" if account == "org" else f"v1/teams/{account}/billing"
    name = account.replace("-", "_")
    northflank_resources += [
        {
            "name": f"northflank_invoices_{name}",
            "table_name": "northflank_invoices",
            "endpoint": {"path": f"{prefix}/invoices", "params": {"per_page": 100}, "data_selector": "data.invoices",
                         "paginator": cursor_paginator()},
        },
        {
            "name": f"northflank_usage_{name}",
            "table_name": "northflank_usage",
            "endpoint": {"path": f"{prefix}/usage",
                         "params": {"per_page": 100, "startTime": int(usage_start), "endTime": int(end)},
                         "data_selector": "data.usage", "paginator": cursor_paginator()},
        },
    ]

northflank = rest_api_source({
    "client": {"base_url": base, "auth": {"type": "bearer", "token": KEYS["nf"]}},
    "resource_defaults": {"write_disposition": "append"},
    "resources": northflank_resources,
}, name="northflank")

def header_key_source(name, header, key, resources):
    """A source whose API key goes in a header of its own (Typesense Cloud, UsageFlow)."""
    return rest_api_source({
        "client": {"base_url": base, "auth": {"type": "api_key", "name": header, "api_key": key, "location": "header"}},
        "resource_defaults": {"write_disposition": "append"},
        "resources": resources,
    }, name=name)


typesense = header_key_source("typesense", "X-TYPESENSE-CLOUD-MANAGEMENT-API-KEY", KEYS["ts"], [
    {
        "name": "typesense_invoices",
        "endpoint": {"path": "api/v1/invoices", "params": {"per_page": 50}, "data_selector": "invoices",
                     # `total` counts invoices, not pages: stop at the first empty page.
                     "paginator": {"type": "page_number", "base_page": 1, "page_param": "page",
                                   "total_path": None, "stop_after_empty_page": True}},
    },
    {
        "name": "typesense_invoice_details",
        "endpoint": {"path": "api/v1/invoices/{resources.typesense_invoices.id}", "data_selector": "$",
                     "paginator": "single_page"},
    },
])

usageflow = header_key_source("usageflow", "x-usageflow-api-key", KEYS["uf"], [
    {"name": "usageflow_invoices",
     "endpoint": {"path": "api/invoices", "data_selector": "invoices", "paginator": "single_page"}},
])

os.environ["DESTINATION__FILESYSTEM__BUCKET_URL"] = "file://" + os.path.abspath(out)
pipeline = dlt.pipeline(pipeline_name="billing_peer", destination="filesystem", dataset_name="billing",
                        pipelines_dir=os.path.join(out, ".dlt"))
info = pipeline.run([northflank, typesense, usageflow], loader_file_format="csv")
print(info, file=sys.stderr)
