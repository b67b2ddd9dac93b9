import Foundation
import TradeSyncCore
import TradeSyncEngine

/// Renders run results as a table.
enum RunTable {
    static func render(_ results: [RunResult]) -> String {
        var rows: [[String]] = [["connection", "stream", "status", "fetched", "inserted", "updated", "unchanged", "failed", "duration"]]
        for r in results {
            for s in r.streams {
                rows.append([r.connectionKey, s.stream, s.error == nil ? "ok" : "error", String(s.fetched), String(s.inserted),
                             String(s.updated), String(s.unchanged), String(s.failed), ""])
            }
            rows.append([r.connectionKey, "(run)", r.status.rawValue + (r.dryRun ? " (dry run)" : ""), String(r.fetched),
                         String(r.inserted), String(r.updated), String(r.unchanged), String(r.failed),
                         String(format: "%.2fs", Double(r.durationMs) / 1000)])
        }
        var out = table(rows)
        let errors = results.flatMap { r in r.streams.compactMap { s in s.error.map { "\(r.connectionKey)/\(s.stream): \($0)" } } }
        if !errors.isEmpty { out += "\n" + errors.joined(separator: "\n") }
        let failures = results.flatMap(\.failures).prefix(10)
        if !failures.isEmpty {
            out += "\nrecords that failed mapping (first \(failures.count)):\n"
            out += failures.map { "  \($0.stream) \($0.externalId): \($0.reason)" }.joined(separator: "\n")
        }
        return out
    }

    static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in
                i >= 3 ? String(repeating: " ", count: widths[i] - c.count) + c : c + String(repeating: " ", count: widths[i] - c.count)
            }.joined(separator: "  ").trimmingTrailingSpaces
        }.joined(separator: "\n")
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
