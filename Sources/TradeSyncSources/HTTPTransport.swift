public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import TradeSyncCore

public struct HTTPRequestData: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }
}

public struct HTTPResponseData: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// The network boundary: real HTTP in production and tests (against the sandbox over loopback).
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData
}

public struct TransportError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// async-http-client behind the transport protocol.
public final class AsyncHTTPTransport: HTTPTransport {
    let client: HTTPClient
    let ownsClient: Bool
    /// Responses above this size are refused (a runaway body must not exhaust memory).
    public let maxBodyBytes: Int

    public init(client: HTTPClient? = nil, maxBodyBytes: Int = 64 << 20, connectTimeout: Duration = RetryPolicy().connectTimeout) {
        if let client {
            self.client = client
            ownsClient = false
        } else {
            var config = HTTPClient.Configuration()
            config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 8)
            // A failed connection attempt fails the request at once with its cause; the
            // Requester decides about retries. (With the pool's own retries a refused
            // connection surfaced only when the request timed out, a minute later.)
            config.connectionPool.retryConnectionEstablishment = false
            config.timeout.connect = .nanoseconds(Int64(nanoseconds(connectTimeout)))
            config.decompression = .enabled(limit: .ratio(50))
            self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
            ownsClient = true
        }
        self.maxBodyBytes = maxBodyBytes
    }

    public func shutdown() async {
        if ownsClient { try? await client.shutdown() }
    }

    public func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        var r = HTTPClientRequest(url: request.url)
        r.method = HTTPMethod(rawValue: request.method)
        for h in request.headers { r.headers.add(name: h.name, value: h.value) }
        if let body = request.body { r.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(r, timeout: .nanoseconds(Int64(nanoseconds(timeout))))
        var buffer = try await response.body.collect(upTo: maxBodyBytes)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        return HTTPResponseData(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: bytes)
    }
}

func nanoseconds(_ d: Duration) -> Int64 {
    d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
}

/// Why a request got no response, in words a person acting on it understands.
public enum TransportCause: Sendable, Equatable {
    case connectionRefused
    case connectTimeout
    case requestTimeout
    case dnsFailure
    case tlsFailure
    case connectionReset
    case other(String)

    public init(_ error: any Error) {
        if let e = error as? HTTPClientError {
            switch e {
            case .connectTimeout: self = .connectTimeout
            case .deadlineExceeded, .readTimeout, .writeTimeout: self = .requestTimeout
            case .remoteConnectionClosed: self = .connectionReset
            case .tlsHandshakeTimeout: self = .tlsFailure
            default: self = TransportCause(text: String(describing: e))
            }
        } else if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first {
                self = TransportCause(first.error)
            } else if e.dnsAError != nil || e.dnsAAAAError != nil {
                self = .dnsFailure
            } else {
                self = TransportCause(text: String(describing: e))
            }
        } else if let e = error as? IOError {
            switch e.errnoCode {
            case ECONNREFUSED: self = .connectionRefused
            case ECONNRESET, EPIPE: self = .connectionReset
            case ETIMEDOUT: self = .connectTimeout
            default: self = TransportCause(text: String(describing: e))
            }
        } else if let e = error as? ChannelError {
            switch e {
            case .connectTimeout: self = .connectTimeout
            case .eof, .ioOnClosedChannel, .alreadyClosed: self = .connectionReset
            default: self = TransportCause(text: String(describing: e))
            }
        } else {
            self = TransportCause(text: String(reflecting: error))
        }
    }

    /// Errors of libraries this module does not import (NIOSSL, resolvers), by their words.
    init(text: String) {
        let t = text.lowercased()
        if t.contains("refused") {
            self = .connectionRefused
        } else if t.contains("getaddrinfo") || t.contains("dns") || t.contains("unknown host") || t.contains("resolve") {
            self = .dnsFailure
        } else if t.contains("ssl") || t.contains("tls") || t.contains("certificate") || t.contains("handshake") {
            self = .tlsFailure
        } else if t.contains("reset") || t.contains("closed") {
            self = .connectionReset
        } else if t.contains("timeout") || t.contains("timed out") {
            self = .requestTimeout
        } else {
            self = .other(String(text.prefix(200)))
        }
    }

    public var words: String {
        switch self {
        case .connectionRefused: return "connection refused (nothing is listening there)"
        case .connectTimeout: return "connection timed out"
        case .requestTimeout: return "no response within the request timeout"
        case .dnsFailure: return "DNS lookup failed"
        case .tlsFailure: return "TLS handshake failed"
        case .connectionReset: return "connection reset (closed before a response arrived)"
        case .other(let text): return text
        }
    }

    /// Faults that a few seconds of backoff will not heal. A connect timeout counts: each
    /// attempt already waited the whole connect timeout.
    public var isPersistent: Bool {
        switch self {
        case .connectionRefused, .connectTimeout, .dnsFailure, .tlsFailure: return true
        default: return false
        }
    }
}

/// Percent-encoding for URL parts. `/` stays literal in paths (Google resource names).
public enum URLEncoding {
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
            || b == 0x5F || b == 0x7E
    }

    public static func encode(_ s: String, keeping extra: Set<UInt8> = []) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            if isUnreserved(b) || extra.contains(b) {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "%" + String(b >> 4, radix: 16, uppercase: true) + String(b & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }

    public static func pathSegment(_ s: String) -> String { encode(s, keeping: [UInt8(ascii: "/"), UInt8(ascii: ":")]) }
    public static func queryValue(_ s: String) -> String { encode(s) }

    /// `application/x-www-form-urlencoded` body.
    public static func form(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { encode($0.0) + "=" + encode($0.1) }.joined(separator: "&").utf8)
    }
}
