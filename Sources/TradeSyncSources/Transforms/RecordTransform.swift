public import TradeSyncCore

/// Turns a response into records when they are not a plain list at a path: a provider adapter.
/// One type per file, like a pagination strategy: its `kind`, its YAML decoding, the request
/// parameters it needs and the binding it takes from a fan-out parent, and the records it
/// builds. Listed once in `Transform.components`.
public protocol RecordTransform: Sendable {
    static var kind: String { get }
    /// Reads its keys from the mapping form (`transform: {kind: …, …}`); `kind` is already read.
    /// The scalar form (`transform: <kind>`) decodes from an empty mapping.
    static func decode(_ object: ConfigObject?) -> Self?
    /// Query parameters every request of the stream carries (a date window, say).
    func requestParams(nowMicros: Int64) -> [(name: String, value: String)]
    /// The same transform for one fan-out context (`{parent.*}` variables).
    func bound(to parent: [String: String]) -> Self
    /// The records of one response.
    func records(from json: JSONValue) -> [JSONValue]
}

extension RecordTransform {
    public func requestParams(nowMicros: Int64) -> [(name: String, value: String)] { [] }
    public func bound(to parent: [String: String]) -> Self { self }

    static func decodeAny(_ object: ConfigObject?) -> (any RecordTransform)? { decode(object) }
    /// `bound(to:)` erased to the protocol, for callers holding `any RecordTransform`.
    public func boundAny(to parent: [String: String]) -> any RecordTransform { bound(to: parent) }
}

/// A stream's `transform:`, as `transform: <kind>` or `transform: {kind: <kind>, …}`.
public struct Transform: Sendable, ConfigDecodable {
    /// Every record transform, once. Adding one is a new file and a line here.
    public static let components: [any RecordTransform.Type] = [
        GoogleDailyMetrics.self,
        MapsRankSnapshot.self,
    ]

    /// Nil for `transform: none`.
    public var component: (any RecordTransform)?

    public init(_ component: (any RecordTransform)?) { self.component = component }

    public static func decode(_ node: ConfigNode) -> Transform? {
        let object: ConfigObject?
        let kindNode: ConfigNode
        if case .mapping = node.node {
            guard let o = node.object() else { return nil }
            guard let k = o.child("kind") else {
                o.missing("kind")
                o.skipRest()
                return nil
            }
            object = o
            kindNode = k
        } else {
            object = nil
            kindNode = node
        }
        guard let kind = String.decode(kindNode) else {
            object?.skipRest()
            return nil
        }
        if kind == "none", object == nil { return Transform(nil) }
        guard let type = components.first(where: { $0.kind == kind }) else {
            let names = ["none"] + components.map { $0.kind }
            if let s = closestMatch(to: kind, in: names) {
                kindNode.error("unknown value '\(kind)'; did you mean '\(s)'?")
            } else {
                kindNode.error("unknown value '\(kind)' (expected one of: \(names.joined(separator: ", ")))")
            }
            object?.skipRest()
            return nil
        }
        let component = type.decodeAny(object)
        object?.finish()
        guard let component else { return nil }
        return Transform(component)
    }
}
