import TradeSyncCore

/// The stored cursor of a `stop_when_older` stream: the newest record timestamp seen in each
/// fan-out context (a Google location), as one JSON object `{"<context>": "<timestamp>"}`.
///
/// Per context, because one timestamp for the whole stream is not safe when reads stop early:
/// a location added since the last run has only reviews older than the stream-wide newest, and
/// would be read one page deep and never in full. A context without an entry is read to its
/// end. The object is written once, with the last page the run needs, so the cursor still
/// moves only when the whole stream is in.
struct NewestFirstCursor: Sendable, Equatable {
    /// Context key → the newest timestamp (as the provider wrote it) seen there.
    var byContext: [String: String] = [:]
    /// A plain timestamp stored by a cursor without contexts: it stands for every context.
    var fallback: String?

    init(stored: String?) {
        guard let stored, !stored.isEmpty else { return }
        if stored.hasPrefix("{"), let object = (try? JSONValue.parse(stored))?.objectValue {
            for e in object.entries {
                if let text = e.value.stringValue { byContext[e.key] = text }
            }
        } else {
            fallback = stored
        }
    }

    init(byContext: [String: String]) { self.byContext = byContext }

    /// `name=value` bindings, sorted and joined with `&`; "" for a stream without a parent.
    static func key(_ context: [String: String]) -> String {
        context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
    }

    func value(for key: String) -> String? { byContext[key] ?? fallback }

    /// The stored form: keys sorted, so an unchanged cursor is the same text.
    var text: String {
        JSONValue.object(JSONObject(byContext.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })).jsonText
    }
}
