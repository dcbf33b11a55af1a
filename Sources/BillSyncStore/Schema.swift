/// The schema, as named append-only migrations: never edit one that has shipped; add the next.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-sources-invoices-usage") { db in
            try db.execute(
                sql: """
                    CREATE TABLE source_state (
                        source TEXT PRIMARY KEY NOT NULL,
                        provider TEXT NOT NULL,
                        -- an invoice walk in progress: 1 while pages remain, with the next page's cursor (NULL = first page)
                        walk_active INTEGER NOT NULL DEFAULT 0,
                        walk_cursor TEXT,
                        -- the next walk reads the whole list, without stopping early (first sync, after reset)
                        walk_full INTEGER NOT NULL DEFAULT 1,
                        usage_start INTEGER,
                        -- every hour before this has been read at least once
                        usage_done_until INTEGER,
                        -- a usage window in progress: [start, end) and the next page's cursor
                        usage_window_start INTEGER,
                        usage_window_end INTEGER,
                        usage_window_cursor TEXT,
                        last_attempt_at INTEGER,
                        last_success_at INTEGER,
                        last_error TEXT,
                        last_error_at INTEGER,
                        last_sync_requests INTEGER NOT NULL DEFAULT 0,
                        requests_total INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE invoices (
                        source TEXT NOT NULL,
                        invoice_id TEXT NOT NULL,
                        provider TEXT NOT NULL,
                        invoice_number TEXT NOT NULL,
                        status TEXT NOT NULL,
                        provider_status TEXT NOT NULL,
                        currency TEXT NOT NULL,
                        period_start INTEGER NOT NULL,
                        period_end INTEGER NOT NULL,
                        issued_on INTEGER NOT NULL,
                        paid_on INTEGER,
                        subtotal TEXT,
                        total TEXT NOT NULL,
                        credits_applied TEXT NOT NULL,
                        url TEXT NOT NULL,
                        has_lines INTEGER NOT NULL,
                        first_seen_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (source, invoice_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX invoices_open ON invoices (source, status);
                    CREATE TABLE line_items (
                        source TEXT NOT NULL,
                        invoice_id TEXT NOT NULL,
                        line_no INTEGER NOT NULL,
                        line_type TEXT NOT NULL,
                        category TEXT NOT NULL,
                        description TEXT NOT NULL,
                        quantity TEXT,
                        unit TEXT NOT NULL,
                        unit_price TEXT,
                        amount TEXT NOT NULL,
                        resource_id TEXT NOT NULL,
                        attributes TEXT NOT NULL,
                        PRIMARY KEY (source, invoice_id, line_no)
                    ) WITHOUT ROWID;
                    CREATE TABLE invoice_history (
                        id INTEGER PRIMARY KEY,
                        source TEXT NOT NULL,
                        invoice_id TEXT NOT NULL,
                        seen_at INTEGER NOT NULL,
                        change TEXT NOT NULL,
                        status TEXT NOT NULL,
                        provider_status TEXT NOT NULL,
                        total TEXT NOT NULL,
                        credits_applied TEXT NOT NULL
                    );
                    CREATE INDEX invoice_history_invoice ON invoice_history (source, invoice_id);
                    CREATE TABLE usage_hours (
                        source TEXT NOT NULL,
                        hour_start INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        paas_total TEXT NOT NULL,
                        cpu TEXT NOT NULL,
                        memory TEXT NOT NULL,
                        storage TEXT NOT NULL,
                        gpu TEXT NOT NULL,
                        byoc_total TEXT NOT NULL,
                        byoc_vcpu TEXT NOT NULL,
                        byoc_memory TEXT NOT NULL,
                        byoc_gpu_memory TEXT NOT NULL,
                        byoc_cluster TEXT NOT NULL,
                        PRIMARY KEY (source, hour_start)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-export-dirty") { db in
            try db.execute(
                sql: """
                    -- what changed since the last export: "invoices", or "usage:YYYY-MM"; seq counts the marks
                    CREATE TABLE export_dirty (key TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v3-usage-total") { db in
            // paas_total + byoc_total, kept so that exports copy it instead of adding up again;
            // NULL in rows written before this migration.
            try db.execute(sql: "ALTER TABLE usage_hours ADD COLUMN total TEXT")
        }
        migrator.registerMigration("v4-line-items-by-rowid") { db in
            // Line items in insertion order, found through an index: invoice ids are random, and
            // a table ordered by them has every sync rewrite pages all over the file.
            try db.execute(
                sql: """
                    CREATE TABLE line_items_v4 (
                        id INTEGER PRIMARY KEY,
                        source TEXT NOT NULL,
                        invoice_id TEXT NOT NULL,
                        line_no INTEGER NOT NULL,
                        line_type TEXT NOT NULL,
                        category TEXT NOT NULL,
                        description TEXT NOT NULL,
                        quantity TEXT,
                        unit TEXT NOT NULL,
                        unit_price TEXT,
                        amount TEXT NOT NULL,
                        resource_id TEXT NOT NULL,
                        attributes TEXT NOT NULL
                    );
                    INSERT INTO line_items_v4 (source, invoice_id, line_no, line_type, category, description, quantity, unit,
                        unit_price, amount, resource_id, attributes)
                    SELECT source, invoice_id, line_no, line_type, category, description, quantity, unit, unit_price, amount,
                        resource_id, attributes FROM line_items ORDER BY source, invoice_id, line_no;
                    DROP TABLE line_items;
                    ALTER TABLE line_items_v4 RENAME TO line_items;
                    CREATE UNIQUE INDEX line_items_invoice ON line_items (source, invoice_id, line_no);
                    """)
        }
        migrator.registerMigration("v5-usage-amounts-as-integers") { db in
            // Usage amounts as integers of 10^-8 where they fit (see BillingStore.usageAmountDecimals).
            // Their columns are declared without a type, so that SQLite keeps each value as it is
            // bound: a TEXT column would turn the integers back into text. Rows stored before
            // v3 get their total here.
            try db.execute(
                sql: """
                    CREATE TABLE usage_hours_v5 (
                        source TEXT NOT NULL,
                        hour_start INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        paas_total NOT NULL,
                        cpu NOT NULL,
                        memory NOT NULL,
                        storage NOT NULL,
                        gpu NOT NULL,
                        byoc_total NOT NULL,
                        byoc_vcpu NOT NULL,
                        byoc_memory NOT NULL,
                        byoc_gpu_memory NOT NULL,
                        byoc_cluster NOT NULL,
                        total,
                        PRIMARY KEY (source, hour_start)
                    ) WITHOUT ROWID;
                    """)
            try BillingStore.copyUsageHoursAsIntegers(db, into: "usage_hours_v5")
            try db.execute(sql: "DROP TABLE usage_hours; ALTER TABLE usage_hours_v5 RENAME TO usage_hours")
        }
        migrator.registerMigration("v6-no-random-secondary-indexes") { db in
            // Both were keyed by random invoice ids, so every page of new invoices rewrote index
            // pages all over the file (a seventh of a backfill's page writes), for lookups that
            // are rare and cheap without them: the owed invoices, once per walk, read the
            // source's range of the primary key; an invoice's history is read only by tests, and
            // `status` counts it by source in one pass.
            try db.execute(
                sql: """
                    DROP INDEX invoices_open;
                    DROP INDEX invoice_history_invoice;
                    """)
        }
        migrator.registerMigration("v7-invoice-fallbacks") { db in
            // The fields a provider left out that billsync filled (see the README's field table),
            // comma-separated; empty for a complete invoice.
            try db.execute(sql: "ALTER TABLE invoices ADD COLUMN fallbacks TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v8-accrual-months") { db in
            // The UTC months a sync found used but not yet invoiced (see `noteUnbilledMonths`): a
            // month stays listed once its invoice arrives, and its accrual then shows reversed.
            try db.execute(
                sql: """
                    CREATE TABLE accrual_months (
                        source TEXT NOT NULL,
                        month_start INTEGER NOT NULL,
                        noted_at INTEGER NOT NULL,
                        PRIMARY KEY (source, month_start)
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v9-budgets-and-spikes") { db in
            // What has been reported, so that it is reported once: each budget threshold once
            // per month, each usage spike once per hour; across restarts.
            try db.execute(
                sql: """
                    CREATE TABLE budget_thresholds (
                        budget TEXT NOT NULL,
                        month_start INTEGER NOT NULL,
                        threshold TEXT NOT NULL,
                        crossed_at INTEGER NOT NULL,
                        month_to_date TEXT NOT NULL,
                        PRIMARY KEY (budget, month_start, threshold)
                    ) WITHOUT ROWID;
                    CREATE TABLE usage_spikes (
                        source TEXT NOT NULL,
                        hour_start INTEGER NOT NULL,
                        total TEXT NOT NULL,
                        baseline TEXT NOT NULL,
                        found_at INTEGER NOT NULL,
                        PRIMARY KEY (source, hour_start)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v10-usage-fine-amounts-as-blobs") { db in
            // Usage amounts finer than 10^-8 (or past 64 bits) as a short BLOB instead of their
            // decimal text (see BillingStore.usageAmountDecimals): 2 to 9 bytes where the text
            // took 12 or more, a seventh of the file with a JavaScript server's amounts. Text
            // that does not read as a decimal stays as it is. (v5, run on an older store now,
            // writes the BLOBs itself.)
            try BillingStore.storeUsageTextAmountsInTheirForm(db)
        }
        return migrator
    }
}
