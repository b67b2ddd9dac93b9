public import TradeSyncCore

/// Fan-out over a list-valued connection field: one pass of the stream per element
/// (SerpApi: one search per tracked keyword). Each pass binds the element as `{parent.<as>}`
/// and the `with` templates (rendered once per connection, `{connection.*}` and `{run.date}`)
/// as further `{parent.*}` variables; records carry them as `_parent.<name>`, like the records
/// of a stream whose `parent` is another stream.
///
/// ```yaml
/// fan_out:
///   field: tracked_keywords          # a string_list connection field
///   as: keyword
///   with: { own_place_id: "{connection.place_id}", snapshot_date: "{run.date}" }
/// ```
public struct FanOutConfig: Sendable, ConfigDecodable {
    public var field: Located<String>
    public var name: String
    public var with: NamedMap<String>

    public static func decode(_ node: ConfigNode) -> FanOutConfig? {
        guard let o = node.object() else { return nil }
        let field: Located<String>? = o.required("field")
        let name: String? = o.required("as")
        let with: NamedMap<String>? = o.optional("with")
        o.finish()
        guard let field, let name else { return nil }
        return FanOutConfig(field: field, name: name, with: with ?? NamedMap())
    }

    /// Every `{parent.*}` variable a fan-out pass binds.
    public var bindings: Set<String> { Set([name] + with.names) }
}
