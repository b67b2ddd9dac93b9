import Foundation
import TradeSyncCore

/// Migration 8: the id map (`contractor_data_mappings`, named by the seed) stops being a table
/// and becomes a view over the entity tables. Its internal id was always the entity row's `id`
/// and its `last_synced_at` moved exactly when the row's `updated_at` did, so the table held
/// nothing of its own, and writing it cost every record a second heap row and two more
/// B-trees. Kept in its own file because other migrations are added beside it.
extension Schema {
    static let idMapName = "contractor_data_mappings"

    /// Drops the table; `migrate` then creates the view (`idMapView`). A mapping whose entity row
    /// no longer existed is lost with it: the next sync that sees that record inserts it again,
    /// under a new internal id.
    static let idMapAsView = Migration(version: 8, name: "id map as a view over the entity tables") { _ in
        ["DROP TABLE IF EXISTS \(idMapName)"]
    }

    /// The id map over every entity of `model`, with the seed's columns: one row per entity row,
    /// whose own id is the row's id (as is its internal id). Recreated by every migration, after
    /// the entity tables, since a new entity adds a branch; it holds no data.
    static func idMapView(_ model: DataModel, _ d: SQLDialect) -> [String] {
        // The entity type is a literal: typed (and on PostgreSQL collated like the key columns
        // it stood beside), so every branch of the UNION, and the empty view, agree.
        let key: (String) -> String = { d == .postgres ? "CAST(\($0) AS TEXT) COLLATE \"C\"" : "CAST(\($0) AS TEXT)" }
        let branches = model.entities.map { e in
            """
            SELECT id, integration_id, \(key(literal(e.name))) AS entity_type, external_id, id AS internal_id,
                   created_at, updated_at AS last_synced_at
            FROM \(quote(e.table))
            """
        }
        // A model without entities still has the relation, empty, with the same columns and types.
        let empty = """
            SELECT \(key("NULL")) AS id, \(key("NULL")) AS integration_id, \(key("NULL")) AS entity_type,
                   \(key("NULL")) AS external_id, \(key("NULL")) AS internal_id,
                   CAST(NULL AS \(ts(d))) AS created_at, CAST(NULL AS \(ts(d))) AS last_synced_at
            WHERE 1 = 0
            """
        let body = branches.isEmpty ? empty : branches.joined(separator: "\nUNION ALL\n")
        return ["DROP VIEW IF EXISTS \(idMapName)", "CREATE VIEW \(idMapName) AS\n\(body)"]
    }

    /// A SQL string literal. Entity names come from validated configuration; quoted anyway.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
