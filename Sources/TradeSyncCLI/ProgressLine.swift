import Foundation
import TradeSyncEngine

/// A progress line on standard error, redrawn at most every half second.
final class ProgressLine: @unchecked Sendable {
    let label: String
    let lock = NSLock()
    var lastDraw = 0.0
    var drawn = false
    let isTerminal = isatty(2) == 1

    init(label: String) { self.label = label }

    func update(_ p: SyncProgress) {
        lock.withLock {
            let now = Date().timeIntervalSince1970
            guard now - lastDraw >= (isTerminal ? 0.5 : 5), p.elapsedSeconds > 1 else { return }
            lastDraw = now
            drawn = true
            let rate = p.elapsedSeconds > 0 ? Int(Double(p.fetched) / p.elapsedSeconds) : 0
            let text = "\(label) \(p.stream): \(p.fetched) records, \(p.pages) pages, \(rate) records/s"
            FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + text + (isTerminal ? "" : "\n")).utf8))
        }
    }

    func finish() {
        lock.withLock {
            if drawn && isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}
