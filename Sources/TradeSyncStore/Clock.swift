import Foundation

/// The store's clock: µs since the epoch (timestamps, lease expiry, identifiers).
public func currentMicros() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
}
