import CSQLite
import Foundation

/// Named migrations applied once each, in order, each in its own transaction, recorded in the
/// file (in the table the store has always kept them in).
struct DatabaseMigrator {
    private var migrations: [(String, (Database) throws -> Void)] = []

    mutating func registerMigration(_ identifier: String, _ body: @escaping (Database) throws -> Void) {
        migrations.append((identifier, body))
    }

    /// Applies the migrations the file has not had; returns their identifiers, in order.
    @discardableResult
    func migrate(_ pool: DatabasePool) throws -> [String] {
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        }
        let applied = Set(
            try pool.write { db in
                try Row.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").map { $0[0] as String }
            })
        var now: [String] = []
        for (identifier, body) in migrations where !applied.contains(identifier) {
            try pool.write { db in
                try body(db)
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [identifier])
            }
            now.append(identifier)
        }
        return now
    }
}
