import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// sgk's one HTTP/1.1 client: every request to AWS, to a Kubernetes API server and of `fetch`
/// goes through a `HTTPTransport`. It owns, in one place, what the three need alike: TLS (trust
/// roots, client certificates, the server's identity checked as Go's crypto/x509 checks it,
/// `tls-server-name`), proxies (an explicit one, or the environment's `HTTPS_PROXY` / `HTTP_PROXY`
/// / `NO_PROXY`), time-outs, redirects, the user agent, and kept-alive connections.
///
/// Create one per identity and reuse it; call `shutdown()` when done.
public final class HTTPTransport: Sendable {
    public let configuration: Configuration
    /// Made on the first https connection: loading trust roots is work a run that never
    /// connects should not pay for.
    private let sslContextCache = Mutex<NIOSSLContext?>(nil)
    let pool: ConnectionPool

    /// What a transport is set up with.
    public struct Configuration: Sendable {
        public var tls: TLSOptions
        public var proxy: ProxySetting
        /// Establishing a connection: TCP, a proxy's handshake and TLS.
        public var connectTimeout: TimeAmount
        /// A kept-alive connection idle longer than this is not reused.
        public var idleTimeout: TimeAmount
        public var maxConnectionsPerHost: Int
        /// Redirects followed (0: a 3xx is returned as it is).
        public var maxRedirects: Int
        /// Sent unless a request sets its own.
        public var userAgent: String?

        public init(tls: TLSOptions = TLSOptions(), proxy: ProxySetting = .environment(ProcessInfo.processInfo.environment),
                    connectTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(60),
                    maxConnectionsPerHost: Int = 16, maxRedirects: Int = 0, userAgent: String? = "sgk") {
            self.tls = tls; self.proxy = proxy; self.connectTimeout = connectTimeout; self.idleTimeout = idleTimeout
            self.maxConnectionsPerHost = max(1, maxConnectionsPerHost); self.maxRedirects = maxRedirects; self.userAgent = userAgent
        }
    }

    /// Makes no connection and reads no certificate yet: a TLS setting that cannot be used fails
    /// the first https request (check it first with `TLSOptions.validate()` to fail earlier).
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.pool = ConnectionPool(maxPerKey: configuration.maxConnectionsPerHost, idleTimeout: configuration.idleTimeout)
    }

    /// Closes every connection. Requests made afterwards fail.
    func sslContext() throws -> NIOSSLContext {
        try sslContextCache.withLock { cached in
            if let cached { return cached }
            let context = try configuration.tls.makeContext()
            cached = context
            return context
        }
    }

    public func shutdown() async {
        await pool.shutdown()
    }

    /// Sends `request` and returns the response once its head has arrived; its body streams
    /// (`HTTPResponse.body`). `timeout` bounds the whole exchange, the body included: a body still
    /// streaming then ends with `HTTPTransportError.deadlineExceeded`.
    public func execute(_ request: HTTPRequest, timeout: TimeAmount) async throws -> HTTPResponse {
        let deadline = NIODeadline.now() + timeout
        var current = request
        var redirects = 0
        while true {
            let response = try await executeOnce(current, deadline: deadline)
            guard configuration.maxRedirects > 0, [301, 302, 303, 307, 308].contains(response.status),
                  let location = response.headers.first(name: "Location") else {
                return response
            }
            guard redirects < configuration.maxRedirects else {
                throw HTTPTransportError.tooManyRedirects(configuration.maxRedirects)
            }
            redirects += 1
            _ = try? await response.body.collect(upTo: 1 << 20)
            guard let next = URL(string: location, relativeTo: URL(string: current.url))?.absoluteURL.absoluteString,
                  let nextTarget = try? RequestTarget(url: next), ["http", "https"].contains(nextTarget.scheme) else {
                throw HTTPTransportError.invalidURL(location)
            }
            let previousTarget = try RequestTarget(url: current.url)
            if response.status == 303 || ((response.status == 301 || response.status == 302) && current.method == .POST) {
                current.method = .GET
                current.body = nil
                current.headers.remove(name: "Content-Type")
            }
            if nextTarget.host != previousTarget.host || nextTarget.scheme != previousTarget.scheme {
                // Credentials are for the host they were given for.
                current.headers.remove(name: "Authorization")
                current.headers.remove(name: "Cookie")
            }
            current.headers.remove(name: "Host")   // the next URL's host
            current.url = next
        }
    }

    func executeOnce(_ request: HTTPRequest, deadline: NIODeadline) async throws -> HTTPResponse {
        let target = try RequestTarget(url: request.url)
        let route = try Route(target: target, proxy: configuration.proxy)
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: route.requestURI(for: target))
        head.headers = request.headers
        if !head.headers.contains(name: "Host") { head.headers.replaceOrAdd(name: "Host", value: target.hostHeader) }
        if let ua = configuration.userAgent, !head.headers.contains(name: "User-Agent") {
            head.headers.add(name: "User-Agent", value: ua)
        }
        if let auth = route.proxyAuthorization, !target.isHTTPS { head.headers.replaceOrAdd(name: "Proxy-Authorization", value: auth) }
        if let body = request.body {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        } else if [.POST, .PUT, .PATCH].contains(request.method) {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        try HTTPRequest.validate(head.headers)

        let lease = try await pool.acquire(key: route.key)
        let connection: HTTPConnection
        switch lease {
        case .reuse(let c):
            connection = c
        case .create:
            do {
                connection = try await HTTPConnection.connect(route: route, target: target,
                                                              sslContext: target.isHTTPS ? try sslContext() : nil,
                                                              tls: configuration.tls, connectTimeout: configuration.connectTimeout,
                                                              deadline: deadline)
            } catch {
                await pool.abandon(key: route.key)
                throw error
            }
            await pool.register(connection)
        }
        let pool = self.pool
        return try await connection.exchange(head: head, body: request.body, deadline: deadline) { reusable in
            Task { await pool.release(connection, reusable: reusable) }
        }
    }
}

/// One request.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// An absolute `http://` or `https://` URL.
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]?

    public init(method: HTTPMethod = .GET, url: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8]? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }

    /// A header a server would read as two (CR, LF or NUL in it) is refused before anything is
    /// sent, never quoted: header values are credentials more often than not.
    static func validate(_ headers: HTTPHeaders) throws {
        for (name, value) in headers {
            if name.utf8.contains(where: { $0 <= 32 || $0 >= 127 || $0 == UInt8(ascii: ":") }) {
                throw HTTPTransportError.invalidHeaderField(name: nil)
            }
            if value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
                throw HTTPTransportError.invalidHeaderField(name: name)
            }
        }
    }
}

/// A response: its head, and its body as it streams.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: HTTPBody
}

/// A response body: an async sequence of byte buffers, read once.
public struct HTTPBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let stream: AsyncThrowingStream<ByteBuffer, Error>

    public func makeAsyncIterator() -> AsyncThrowingStream<ByteBuffer, Error>.AsyncIterator {
        stream.makeAsyncIterator()
    }

    /// The whole body; `HTTPTransportError.responseTooLarge` past `limit` bytes.
    public func collect(upTo limit: Int) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in stream {
            guard out.count + chunk.readableBytes <= limit else { throw HTTPTransportError.responseTooLarge(limit) }
            out.append(contentsOf: chunk.readableBytesView)
        }
        return out
    }
}

/// What can go wrong in a transport, in words a user can act on. (`NetworkErrorText` in SGKData
/// reads these descriptions and NIO's.)
public enum HTTPTransportError: Error, Sendable, CustomStringConvertible, Equatable {
    case invalidURL(String)
    case unsupportedScheme(String)
    case connectTimeout
    case tlsHandshakeTimeout
    case deadlineExceeded
    case remoteConnectionClosed
    case invalidHeaderField(name: String?)
    case responseTooLarge(Int)
    case tooManyRedirects(Int)
    case proxyRefused(status: Int)
    case proxyFailed(String)
    case shutDown

    public var description: String {
        switch self {
        case .invalidURL: return "invalid URL"
        case .unsupportedScheme(let s): return "URL scheme \(s) is not supported (use http:// or https://)"
        case .connectTimeout: return "connect timeout: the connection timed out"
        case .tlsHandshakeTimeout: return "tlsHandshakeTimeout: the TLS handshake timed out"
        case .deadlineExceeded: return "deadlineExceeded: the server did not answer in time"
        case .remoteConnectionClosed: return "remoteConnectionClosed: the server closed the connection"
        case .invalidHeaderField(let name):
            return "invalidHeaderFieldValues: the request header \(name ?? "name") holds a character HTTP does not allow"
        case .responseTooLarge(let n): return "the response is larger than \(n) bytes"
        case .tooManyRedirects(let n): return "more than \(n) redirects"
        case .proxyRefused(let status): return "the proxy refused the tunnel (HTTP \(status))"
        case .proxyFailed(let why): return "the proxy failed: \(why)"
        case .shutDown: return "the HTTP client was shut down"
        }
    }
}

/// Where a request goes: scheme, host and port of its URL.
struct RequestTarget: Sendable {
    var scheme: String
    /// Without brackets for IPv6.
    var host: String
    var port: Int
    /// Path and query, at least `/`.
    var pathAndQuery: String
    var isHTTPS: Bool { scheme == "https" }
    var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (isHTTPS ? 443 : 80) ? h : "\(h):\(port)"
    }

    init(url: String) throws {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), var host = c.host, !host.isEmpty else {
            throw HTTPTransportError.invalidURL(url)
        }
        guard scheme == "http" || scheme == "https" else { throw HTTPTransportError.unsupportedScheme(scheme) }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.scheme = scheme
        self.host = host
        self.port = c.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw HTTPTransportError.invalidURL(url) }
        var p = c.percentEncodedPath
        if p.isEmpty { p = "/" }
        if let q = c.percentEncodedQuery { p += "?" + q }
        self.pathAndQuery = p
    }
}
