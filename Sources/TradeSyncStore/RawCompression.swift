import CZlib

/// Deflates the raw payloads kept for re-mapping (`keep_raw`) and inflates them back, with the
/// system zlib (zlib format: a 2-byte header and an Adler-32 check, so a damaged payload is
/// detected rather than re-mapped). Level 1: the payloads are written in every page's
/// transaction, and level 1 keeps most of the gain at a fraction of level 6's time on JSON.
public enum RawCompression {
    public static func deflate(_ text: String) -> [UInt8] {
        RawCompressor().deflate(text)
    }

    /// The payload as text, or nil when it is not a zlib stream of UTF-8 text.
    public static func inflate(_ bytes: [UInt8]) -> String? {
        guard let out = inflateBytes(bytes) else { return nil }
        return String(validating: out, as: UTF8.self)
    }

    /// The inflated bytes, or nil when they are not a zlib stream.
    static func inflateBytes(_ bytes: [UInt8]) -> [UInt8]? {
        guard !bytes.isEmpty else { return nil }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = bytes
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 4)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { src in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while status == Z_OK {
                chunk.withUnsafeMutableBufferPointer { dst in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    let produced = dst.count - Int(stream.avail_out)
                    out.append(contentsOf: dst[0..<produced])
                }
                if status == Z_BUF_ERROR, stream.avail_in == 0 { break }
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return out
    }
}

/// Deflates many payloads with one zlib state, reset between them. `compress2` allocates and
/// clears about 260 KB of state per call, which cost more than the page write itself; a record
/// is a few KB at most, so a 4 KB window and a small hash table lose almost nothing. Not
/// shared across tasks: one per page being prepared.
public final class RawCompressor {
    private var stream = z_stream()
    private let ready: Bool

    public init() {
        ready = deflateInit2_(&stream, 1, Z_DEFLATED, 12, 4, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                              Int32(MemoryLayout<z_stream>.size)) == Z_OK
    }

    deinit {
        if ready { deflateEnd(&stream) }
    }

    public func deflate(_ text: String) -> [UInt8] {
        guard ready, deflateReset(&stream) == Z_OK else { return [] }
        var input = Array(text.utf8)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        let status = input.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        // deflateBound is enough by zlib's contract, so one call finishes the stream.
        guard status == Z_STREAM_END else { return [] }
        output.removeLast(Int(stream.avail_out))
        return output
    }
}
