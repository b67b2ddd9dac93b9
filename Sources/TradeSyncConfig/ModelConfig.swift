public import TradeSyncCore
import Yams

/// `mappings/model.yaml`: the internal model.
public struct ModelConfig: Sendable, ConfigDecodable {
    public var entities = NamedMap<EntityConfig>()

    public static func decode(_ node: ConfigNode) -> ModelConfig? {
        guard let o = node.object() else { return nil }
        var c = ModelConfig()
        c.entities = o.required("entities") ?? NamedMap()
        o.finish()
        var tables: [String: String] = [:]
        for entry in c.entities.entries {
            let table = entry.value.table ?? "contractor_\(entry.name)"
            if let other = tables[table] {
                node.sink.add(Diagnostic(.error, entry.location, keyPath: entry.keyPath,
                                         "table '\(table)' is already used by entity '\(other)'"))
            }
            tables[table] = entry.name
        }
        return c
    }

    /// The model as plain values, for stores and the mapping interpreter.
    public var dataModel: DataModel {
        DataModel(entities: entities.entries.map { entry in
            EntityModel(
                name: entry.name,
                table: entry.value.table ?? "contractor_\(entry.name)",
                description: entry.value.description,
                fields: entry.value.fields.entries.map {
                    ModelField(name: $0.name, type: $0.value.type, values: $0.value.values, description: $0.value.description)
                })
        })
    }
}

public struct EntityConfig: Sendable, ConfigDecodable {
    public var table: String?
    public var description: String?
    public var fields = NamedMap<FieldConfig>()

    public static func decode(_ node: ConfigNode) -> EntityConfig? {
        guard let o = node.object() else { return nil }
        var c = EntityConfig()
        if let table: Located<String> = o.optional("table") {
            if !isSQLIdentifier(table.value) {
                node.sink.add(Diagnostic(.error, table.location, keyPath: table.keyPath,
                                         "'\(table.value)' is not a valid table name (lowercase letters, digits, _)"))
            }
            c.table = table.value
        }
        c.description = o.optional("description")
        c.fields = o.required("fields") ?? NamedMap()
        o.finish()
        for entry in c.fields.entries {
            if EntityModel.standardColumns.contains(entry.name) {
                node.sink.add(Diagnostic(.error, entry.location, keyPath: entry.keyPath,
                                         "'\(entry.name)' is a standard column of every entity table; choose another name"))
            } else if !isSQLIdentifier(entry.name) {
                node.sink.add(Diagnostic(.error, entry.location, keyPath: entry.keyPath,
                                         "'\(entry.name)' is not a valid field name (lowercase letters, digits, _)"))
            }
        }
        return c
    }
}

extension FieldType: ConfigEnum {}

public struct FieldConfig: Sendable, ConfigDecodable {
    public var type = FieldType.string
    public var values: [String] = []
    public var description: String?

    public static func decode(_ node: ConfigNode) -> FieldConfig? {
        if case .scalar = node.node {
            guard let t = FieldType.decode(node) else { return nil }
            if t == .enumeration { node.error("an enum field needs its values: { type: enum, values: [...] }") }
            return FieldConfig(type: t)
        }
        guard let o = node.object() else { return nil }
        var c = FieldConfig()
        c.type = o.required("type") ?? .string
        c.values = o.optional("values") ?? []
        c.description = o.optional("description")
        if c.type == .enumeration, c.values.isEmpty { o.missing("values") }
        if c.type != .enumeration, o.has("values"), let v = o.keyNode("values") {
            v.error("only enum fields have values")
        }
        o.finish()
        return c
    }
}

func isSQLIdentifier(_ s: String) -> Bool {
    guard let first = s.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) || first == UInt8(ascii: "_")
    else { return false }
    return s.utf8.allSatisfy {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || $0 == UInt8(ascii: "_")
    } && s.utf8.count <= 63
}
