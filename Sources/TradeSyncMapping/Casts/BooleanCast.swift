public import TradeSyncCore

/// true/false, 1/0, "yes"/"no".
public enum BooleanCast: CastComponent {
    public static let kind = "boolean"
    public static let fills: Set<FieldType> = [.boolean]
}
