import Foundation

/// The bytes of a configuration file turned into text the YAML parser can take: bounded in
/// size, strictly UTF-8 (a replacement character would hide a corrupted file), and without
/// a leading byte-order mark (libyaml is told the encoding, so it would read the mark as content).
enum ConfigText {
    enum Outcome {
        case text(String)
        /// Where (1-based line and column, counted in Unicode scalars like libyaml) and why.
        case rejected(line: Int, column: Int, message: String)
    }

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    static func decode(_ data: Data, limits: YAMLLimits) -> Outcome {
        if data.count > limits.maxFileBytes {
            return .rejected(line: 1, column: 1,
                             message: "file is \(data.count) bytes; configuration files may be at most \(limits.maxFileBytes) bytes")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: byteOrderMark) { bytes.removeFirst(byteOrderMark.count) }
        if let bad = firstInvalidUTF8(bytes) {
            return .rejected(line: bad.line, column: bad.column,
                             message: "invalid UTF-8 (byte 0x\(String(bad.byte, radix: 16, uppercase: true))); configuration files must be UTF-8 text")
        }
        return .text(String(decoding: bytes, as: UTF8.self))
    }

    /// The position of the first byte that is not part of well-formed UTF-8, if any.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> (line: Int, column: Int, byte: UInt8)? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        var line = 1
        var column = 1
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offset += encoded.count
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                return nil
            case .error:
                return (line, column, bytes[offset])
            }
        }
    }
}
