public import TradeSyncCore

/// A whole number; `true`/`false` count as 1/0 only when the cast is declared (a boolean in
/// an integer field is otherwise a mistake worth reporting).
public enum IntegerCast: CastComponent {
    public static let kind = "integer"
    public static let fills: Set<FieldType> = [.integer, .decimal]

    public static func prepare(_ value: JSONValue) -> JSONValue {
        if case .bool(let b) = value { return .integer(b ? 1 : 0) }
        return value
    }
}
