import Foundation
import Logging
import TradeSyncConfig
import TradeSyncCore
import TradeSyncMapping
import TradeSyncSources
import TradeSyncStore

/// Mapping configuration → the interpreter's rules.
enum MappingCompiler {
    static func rules(_ m: MappingConfig) -> [FieldRule] {
        m.fields.entries.map { rule($0.name, $0.value) }
    }

    static func rule(_ target: String, _ f: FieldMappingConfig) -> FieldRule {
        let source: FieldRule.Source = f.const.map { .constant($0) } ?? .path(JSONPath(f.from ?? ""))
        var map: [String: JSONValue]?
        if let m = f.map {
            var d: [String: JSONValue] = [:]
            for e in m.entries { d[e.name] = e.value }
            map = d
        }
        let onUnmapped: UnmappedAction
        switch f.onUnmapped {
        case .fail: onUnmapped = .fail
        case .null: onUnmapped = .null
        case .default: onUnmapped = .useDefault(f.default ?? .null)
        case .passthrough: onUnmapped = .passthrough
        }
        return FieldRule(
            target: target, source: source,
            lookup: f.lookup.map { Lookup(stream: $0.stream.value, key: JSONPath($0.key), value: JSONPath($0.value)) },
            valueMap: map, unspecified: Set(f.unspecified), onUnmapped: onUnmapped,
            cast: f.cast,
            each: f.each.map { $0.entries.map { rule($0.name, $0.value) } },
            first: f.first.map { FirstElement(condition: JSONPath($0.condition), value: $0.value.map(JSONPath.init)) })
    }
}
