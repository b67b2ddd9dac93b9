import Foundation

/// A time-ordered UUID (version 7: 48-bit Unix milliseconds, then random bits) in lowercase
/// text, the form of every internal id. Time order keeps inserts at the end of the primary-key
/// B-trees instead of scattered over them, which is most of an insert's I/O on large tables.
public func newIdentifier() -> String { IdentifierGenerator.shared.next() }

final class IdentifierGenerator: @unchecked Sendable {
    static let shared = IdentifierGenerator()
    private let lock = NSLock()
    private var state: (UInt64, UInt64)
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next() | 1, system.next() | 1)
    }

    /// xorshift128+: no system call per id (getrandom was a measurable share of a sync).
    private func random() -> UInt64 {
        lock.withLock {
            var s1 = state.0
            let s0 = state.1
            state.0 = s0
            s1 ^= s1 << 23
            state.1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26)
            return state.1 &+ s0
        }
    }

    func next() -> String {
        let millis = UInt64(max(0, currentMicros() / 1000))
        let r1 = random()
        let r2 = random()
        let high = (millis << 16) | 0x7000 | (r1 & 0x0FFF)
        let low = (r2 & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let hex = IdentifierGenerator.hex
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var i = 0
            func put(_ value: UInt64, _ nibbles: Int) {
                for n in stride(from: nibbles - 1, through: 0, by: -1) {
                    buffer[i] = hex[Int((value >> (UInt64(n) * 4)) & 0xF)]
                    i += 1
                }
            }
            put(high >> 32, 8); buffer[i] = 45; i += 1
            put((high >> 16) & 0xFFFF, 4); buffer[i] = 45; i += 1
            put(high & 0xFFFF, 4); buffer[i] = 45; i += 1
            put(low >> 48, 4); buffer[i] = 45; i += 1
            put(low & 0xFFFF_FFFF_FFFF, 12)
            return i
        }
    }
}
