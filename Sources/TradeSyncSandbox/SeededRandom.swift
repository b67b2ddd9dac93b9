/// Deterministic pseudo-randomness: every generated record draws from a stream keyed by
/// (seed, kind, index), so any record can be produced on its own, in any order.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64, stream: UInt64, index: Int) {
        state = SeededRandom.mix(seed &+ stream &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(bitPattern: Int64(index)) &* 0xD1B5_4A32_D192_ED03)
    }

    init(seed: UInt64) { state = SeededRandom.mix(seed) }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededRandom.mix(state)
    }

    /// Uniform in 0..<bound (bound > 0; 0 when bound ≤ 0).
    mutating func below(_ bound: Int) -> Int {
        guard bound > 0 else { return 0 }
        return Int(next() % UInt64(bound))
    }

    mutating func below64(_ bound: Int64) -> Int64 {
        guard bound > 0 else { return 0 }
        return Int64(next() % UInt64(bound))
    }

    /// True with probability percent/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    mutating func pick<T>(_ items: [T]) -> T? {
        items.isEmpty ? nil : items[below(items.count)]
    }
}
