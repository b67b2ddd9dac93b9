public import Foundation

/// What `apply` would do to a store, computed by `plan` as a value: connections, schema, the data
/// effect of mapping changes, and drift. Rendered for people (`human`) and as JSON (`json`,
/// schema in docs/plan.md); `apply --plan FILE` reads the JSON back and refuses it when either
/// hash no longer matches.
public struct DeploymentPlan: Codable, Sendable, Equatable {
    /// The JSON schema's version.
    public var version = 1
    /// Hash of the configuration as planned (every connection, mapping, schedule and the model).
    public var configHash: String
    /// Hash of what the store held when planned (applied state, connections, schema, last run).
    public var storeHash: String
    public var connections: [ConnectionChange] = []
    public var schema: [SchemaChange] = []
    public var mappings: [MappingChange] = []
    /// Reported, never changed by `apply`.
    public var drift: [DriftItem] = []

    /// What `apply` would change: drift alone is not a change (`apply` cannot settle it).
    public var hasChanges: Bool { !connections.isEmpty || !schema.isEmpty || !mappings.isEmpty }

    public enum Action: String, Codable, Sendable {
        case add, remove, change

        var sign: String {
            switch self {
            case .add: return "+"
            case .remove: return "-"
            case .change: return "~"
            }
        }
    }

    /// One field of a connection: its old and new value as text (credential *references* only).
    public struct FieldChange: Codable, Sendable, Equatable {
        public var field: String
        public var old: String?
        public var new: String?
    }

    public struct ConnectionChange: Codable, Sendable, Equatable {
        public var action: Action
        /// `<contractor id>/<connection id>`.
        public var connection: String
        public var integration: String
        public var fields: [FieldChange]
    }

    public struct SchemaChange: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case table, column }
        public var kind: Kind
        public var table: String
        /// A new column; for a new table, nil.
        public var column: String?
        /// The column's model type; for a new table, its fields as `name:type`.
        public var type: String?
        public var columns: [String]?
    }

    /// One changed field value of one record, as the store holds it and as it would be.
    public struct ValueDiff: Codable, Sendable, Equatable {
        public var externalId: String
        public var old: String?
        public var new: String?
    }

    public struct FieldEffect: Codable, Sendable, Equatable {
        public var field: String
        /// Rows whose value of this field would change.
        public var rows: Int
        /// Up to five, by external id.
        public var examples: [ValueDiff]
    }

    public struct RecordFailure: Codable, Sendable, Equatable {
        public var externalId: String
        public var reason: String
    }

    /// A mapping whose file changed since it was applied, and what re-mapping each connection's
    /// kept raw payloads under it would do to the stored rows.
    public struct MappingChange: Codable, Sendable, Equatable {
        public var action: Action
        /// `<provider>/<stream>`: the file `mappings/<provider>/<stream>.yaml`.
        public var mapping: String
        public var effects: [DataEffect]
    }

    public struct DataEffect: Codable, Sendable, Equatable {
        public var connection: String
        public var stream: String
        public var entity: String
        /// Kept raw payloads re-mapped.
        public var remapped: Int
        /// Rows whose stored content would change.
        public var changedRows: Int
        public var fields: [FieldEffect]
        /// Records stored today that would fail under the new mapping (kept as failures, their
        /// rows left as they are), up to 20, and how many in all.
        public var newlyFailing: [RecordFailure]
        public var newlyFailingCount: Int
        /// Kept failed records the new mapping would map (and `apply` would write), up to 20.
        public var fixed: [String]
        public var fixedCount: Int
        /// Why the stored rows cannot be re-mapped from raw payloads (the next sync re-maps what
        /// it fetches); nil when they were.
        public var notRemapped: String?
    }

    public struct DriftItem: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            /// In the store, in no applied configuration: created through the API.
            case connectionNotInConfiguration = "connection_not_in_configuration"
            case unresolvedCredential = "unresolved_credential"
        }
        public var kind: Kind
        public var connection: String
        public var detail: String
    }

    // MARK: Rendering

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // The types hold only strings, numbers, optionals and arrays: encoding cannot fail.
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Reads a plan saved with `plan --out` (or `--json`).
    public static func decode(_ data: Data) throws -> DeploymentPlan {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(DeploymentPlan.self, from: data)
    }

    /// Terraform-style: `+` add, `~` change, `-` remove, then the counts.
    public var human: String {
        var out: [String] = []
        func show(_ v: String?) -> String { v.map { "\"\($0)\"" } ?? "null" }
        if !connections.isEmpty {
            out.append("Connections:")
            for c in connections {
                out.append("  \(c.action.sign) \(c.connection) (\(c.integration))")
                for f in c.fields {
                    switch c.action {
                    case .add: out.append("      + \(f.field): \(show(f.new))")
                    case .remove: out.append("      - \(f.field): \(show(f.old))")
                    case .change: out.append("      ~ \(f.field): \(show(f.old)) → \(show(f.new))")
                    }
                }
                if c.action == .remove { out.append("      (its rows are kept; the connection is marked removed)") }
            }
            out.append("")
        }
        if !schema.isEmpty {
            out.append("Schema:")
            for s in schema {
                switch s.kind {
                case .table: out.append("  + table \(s.table) (\((s.columns ?? []).joined(separator: ", ")))")
                case .column: out.append("  + column \(s.table).\(s.column ?? "") \(s.type ?? "")")
                }
            }
            out.append("")
        }
        if !mappings.isEmpty {
            out.append("Mappings:")
            for m in mappings {
                out.append("  \(m.action.sign) \(m.mapping)")
                for e in m.effects {
                    if let why = e.notRemapped {
                        out.append("      \(e.connection) \(e.stream): not re-mapped: \(why)")
                        continue
                    }
                    out.append("      \(e.connection) \(e.stream) → \(e.entity): \(e.remapped) re-mapped, \(e.changedRows) row\(e.changedRows == 1 ? "" : "s") would change")
                    for f in e.fields {
                        out.append("        ~ \(f.field): \(f.rows) row\(f.rows == 1 ? "" : "s")")
                        for x in f.examples { out.append("            \(x.externalId): \(show(x.old)) → \(show(x.new))") }
                    }
                    if e.newlyFailingCount > 0 {
                        out.append("        ! \(e.newlyFailingCount) record\(e.newlyFailingCount == 1 ? "" : "s") would newly fail (kept; rows left as they are)")
                        for f in e.newlyFailing { out.append("            \(f.externalId): \(f.reason)") }
                    }
                    if e.fixedCount > 0 {
                        out.append("        + \(e.fixedCount) kept failed record\(e.fixedCount == 1 ? "" : "s") would map: \(e.fixed.joined(separator: ", "))")
                    }
                }
            }
            out.append("")
        }
        if !drift.isEmpty {
            out.append("Drift (reported, not changed by apply):")
            for d in drift {
                switch d.kind {
                case .connectionNotInConfiguration: out.append("  ? \(d.connection): \(d.detail)")
                case .unresolvedCredential: out.append("  ! \(d.connection): \(d.detail)")
                }
            }
            out.append("")
        }
        let count = { (a: Action) in self.connections.filter { $0.action == a }.count }
        let rows = mappings.flatMap(\.effects).reduce(0) { $0 + $1.changedRows }
        if hasChanges {
            out.append("Plan: \(count(.add)) to add, \(count(.change)) to change, \(count(.remove)) to remove (connections); "
                       + "\(schema.count) schema change\(schema.count == 1 ? "" : "s"); \(mappings.count) mapping change\(mappings.count == 1 ? "" : "s"), "
                       + "\(rows) row\(rows == 1 ? "" : "s") to re-map.")
        } else {
            out.append("No changes. The store matches the configuration.")
        }
        return out.joined(separator: "\n") + "\n"
    }
}
