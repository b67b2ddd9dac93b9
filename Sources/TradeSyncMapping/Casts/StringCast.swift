public import TradeSyncCore

/// Text of any scalar (an id sent as a number, say) into a string, text or enum field.
public enum StringCast: CastComponent {
    public static let kind = "string"
    public static let fills: Set<FieldType> = [.string, .text, .enumeration]
}
