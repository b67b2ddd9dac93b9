import Hummingbird

/// The seed's IntegrationsPanel as three static assets compiled into the binary (HTML, CSS, JS in
/// the files beside this one), so `serve` needs no web root and the page loads nothing from elsewhere.
enum IntegrationsPanel {
    /// Everything from this origin only; no inline script or style, no eval, no framing. The
    /// `data:` image is the empty favicon, which keeps the browser from asking for /favicon.ico.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
        "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// One asset as a response with the page's security headers.
    static func response(_ text: String, contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        // The assets change with the binary; revalidating costs one small request.
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
