public import TradeSyncCore

/// A declared conversion (`cast: integer`). The target field's type decides the stored form; a
/// cast says which field types it may fill (checked by `validate`) and may adjust the source
/// value before the conversion. One type per file, listed once in `Cast.components`.
public protocol CastComponent: Sendable {
    static var kind: String { get }
    /// Field types the cast may fill.
    static var fills: Set<FieldType> { get }
    /// The source value as the conversion to the field's type should see it.
    static func prepare(_ value: JSONValue) -> JSONValue
}

extension CastComponent {
    public static func prepare(_ value: JSONValue) -> JSONValue { value }
}

/// A field's `cast:`, one of the registered components.
public struct Cast: Sendable, Hashable, ConfigDecodable, CustomStringConvertible {
    /// Every cast, once. Adding one is a new file and a line here.
    public static let components: [any CastComponent.Type] = [
        StringCast.self, IntegerCast.self, DecimalCast.self, BooleanCast.self, TimestampCast.self, DateCast.self, JSONCast.self,
    ]

    public let component: any CastComponent.Type
    public var kind: String { component.kind }
    public var description: String { kind }

    public init(_ component: any CastComponent.Type) { self.component = component }

    public init?(kind: String) {
        guard let c = Self.components.first(where: { $0.kind == kind }) else { return nil }
        component = c
    }

    public func fits(_ type: FieldType) -> Bool { component.fills.contains(type) }

    public func prepare(_ value: JSONValue) -> JSONValue { component.prepare(value) }

    public static func == (a: Cast, b: Cast) -> Bool { a.kind == b.kind }
    public func hash(into h: inout Hasher) { h.combine(kind) }

    public static func decode(_ node: ConfigNode) -> Cast? {
        guard let text = String.decode(node) else { return nil }
        if let cast = Cast(kind: text) { return cast }
        let names = components.map { $0.kind }
        if let s = closestMatch(to: text, in: names) {
            node.error("unknown value '\(text)'; did you mean '\(s)'?")
        } else {
            node.error("unknown value '\(text)' (expected one of: \(names.joined(separator: ", ")))")
        }
        return nil
    }
}
