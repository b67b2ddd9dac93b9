import Foundation
import Hummingbird
import NIOCore

/// Decoded query string or form body: keys in order, repeats kept.
struct FormFields: Sendable {
    private(set) var pairs: [(key: String, value: String)] = []

    init(_ text: String?) {
        guard let text, !text.isEmpty else { return }
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = FormFields.decode(kv[0])
            let value = kv.count > 1 ? FormFields.decode(kv[1]) : ""
            pairs.append((key, value))
        }
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    subscript(_ key: String) -> String? { pairs.first { $0.key == key }?.value }

    func all(_ key: String) -> [String] { pairs.filter { $0.key == key }.map(\.value) }

    func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

    /// `application/x-www-form-urlencoded` text.
    static func encode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { k, v in
            (k.addingPercentEncoding(withAllowedCharacters: allowed) ?? k) + "="
                + (v.addingPercentEncoding(withAllowedCharacters: allowed) ?? v)
        }.joined(separator: "&")
    }
}

extension HTTPFields {
    /// A header by name, case-insensitively (names such as ST-App-Key are not predefined).
    func value(named name: String) -> String? {
        let lower = name.lowercased()
        for field in self where field.name.canonicalName == lower { return field.value }
        return nil
    }
}

enum Reply {
    static func json(_ status: HTTPResponse.Status, _ body: JSONBuffer, headers extra: [(String, String)] = []) -> Response {
        bytes(status, body.buffer, contentType: "application/json; charset=utf-8", headers: extra)
    }

    static func json(_ status: HTTPResponse.Status, text: String, headers extra: [(String, String)] = []) -> Response {
        bytes(status, ByteBuffer(string: text), contentType: "application/json; charset=utf-8", headers: extra)
    }

    static func text(_ status: HTTPResponse.Status, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        bytes(status, ByteBuffer(string: text), contentType: contentType, headers: [])
    }

    static func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.contentLength] = "0"
        return Response(status: .found, headers: headers)
    }

    static func bytes(_ status: HTTPResponse.Status, _ buffer: ByteBuffer, contentType: String, headers extra: [(String, String)]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentLength] = String(buffer.readableBytes)
        headers[.cacheControl] = "no-store"
        for (name, value) in extra {
            if let fieldName = HTTPFields.Element.Name(name) { headers[fieldName] = value }
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    /// Escapes a string as a JSON literal (for small hand-written bodies).
    static func quote(_ text: String) -> String {
        var out = JSONBuffer(capacity: text.utf8.count + 2)
        out.string(text)
        return String(buffer: out.buffer)
    }
}

/// Opaque page tokens: base64url (no padding) of a short text.
enum OpaqueToken {
    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ token: String) -> String? {
        var b64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !b64.isEmpty, b64.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") }) else {
            return nil
        }
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    /// A random token body of `count` url-safe characters.
    static func random(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var generator = SystemRandomNumberGenerator()
        var out = ""
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
        return out
    }
}
