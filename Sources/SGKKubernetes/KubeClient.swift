import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SGKData
import SGKHTTP
import Synchronization

/// Options of a `KubeClient`.
public struct KubeClientOptions: Sendable {
    /// Deadline of one ordinary request (watches have their own).
    public var requestTimeout: TimeAmount = .seconds(60)
    public var connectTimeout: TimeAmount = .seconds(10)
    /// Retries on a 5xx answer and on a connection that broke under an idempotent request.
    public var maxRetries: Int = 4
    /// Retries on 429 (the server throttles: it did not act on the request), longer than on a 5xx:
    /// up to this many, within `throttledBudgetSeconds` of the first attempt.
    public var maxThrottledRetries: Int = 9
    /// The longest a throttled request is retried, in seconds from its first attempt.
    public var throttledBudgetSeconds: Double = 60
    /// The longest `Retry-After` honoured, in seconds.
    public var maxRetryAfterSeconds: Double = 10
    /// Concurrent HTTP/1 connections per host (HTTP/2 multiplexes on one).
    public var maxConnections: Int = 16
    public var userAgent: String = "sgk"
    /// Consulted before running an exec plugin (see `ExecTokenProvider`).
    public var execTokenProvider: ExecTokenProvider?
    /// Environment for exec plugins (`PATH`, `KUBERNETES_EXEC_INFO` …).
    public var environment: KubeEnvironment

    /// A time-out of the environment that is not one; `KubeClient.init` reports it.
    var settingError: TimeoutSetting.Invalid?

    /// Time-outs from `SGK_CONNECT_TIMEOUT` (10 s) and `SGK_REQUEST_TIMEOUT` (60 s) of `environment`.
    public init(environment: KubeEnvironment = .process(), execTokenProvider: ExecTokenProvider? = nil) {
        self.environment = environment
        self.execTokenProvider = execTokenProvider
        do {
            connectTimeout = .nanoseconds(Int64(try TimeoutSetting.seconds(environment.variables, TimeoutSetting.connectVariable, default: 10) * 1e9))
            requestTimeout = .nanoseconds(Int64(try TimeoutSetting.seconds(environment.variables, TimeoutSetting.requestVariable, default: 60) * 1e9))
        } catch {
            settingError = error
        }
    }
}

/// A response with its body fully read.
public struct KubeResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The credentials its request carried (never shown; see `KubeClient.error(for:info:)`).
    var credentials: [String] = []
    /// The request was sent again after a connection broke under it: an earlier attempt may have
    /// been carried out (so a 200 to a create-or-update may answer a retry of this run's own create).
    public var resent = false

    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status; self.headers = headers; self.body = body
    }
    /// The body parsed as JSON.
    public func json() throws -> JSON {
        do { return try JSONCodec.parse(bytes: body) } catch {
            throw KubeError.other("response is not JSON: \(error)")
        }
    }
}

/// A Kubernetes REST client for one cluster and user: TLS with the kubeconfig's trust roots,
/// tokens / client certificates / basic auth / exec plugins, keep-alive connections, retries,
/// cached discovery. Call `shutdown()` when done.
public final class KubeClient: Sendable {
    /// The resolved context.
    public let target: KubeTarget
    public let options: KubeClientOptions
    let logger: Logger
    let transports: TransportPool
    let execCache: ExecCredentialCache?
    let baseURL: String
    let tokenFileCache = TokenFileCache()
    /// When the first client was made: the origin of the offsets in request logs.
    static let loaded = Date()
    /// Discovery, cached for the life of the client (see `Discovery.invalidate()`).
    public let discovery: Discovery
    /// The server's warnings (`Warning: 299` headers, e.g. deprecated APIs), each told once.
    let warnings = ServerWarnings()
    /// The cluster's identity as the server tells it (see `clusterID()`), once read.
    let identity = Mutex<(read: Bool, id: String?)>((read: false, id: nil))

    /// What the server says the cluster is: the UID of its `kube-system` namespace, which every
    /// cluster has from its start and which no two clusters share. Unlike the server URL it does not
    /// depend on how the server is spelled (`https://127.0.0.1:P` and `https://localhost:P` are one
    /// cluster). Read once per client; nil when it cannot be read (no permission to get the
    /// namespace): then the server URL is all there is. A transport failure is not remembered.
    public func clusterID() async -> String? {
        if let known = identity.withLock({ $0.read ? Optional($0.id) : nil }) { return known }
        let id: String?
        do {
            let ns = try await sendJSON(.GET, "/api/v1/namespaces/kube-system")
            id = ns.at("metadata", "uid")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } catch let e as KubeError {
            guard case .api = e else { return nil }
            id = nil
        } catch {
            return nil
        }
        identity.withLock { $0 = (read: true, id: id) }
        return id
    }

    /// Where the server's warnings go (each distinct text once per client), as kubectl prints
    /// them with `Warning:`; by default they are logged at warning level.
    public func onWarning(_ handler: @escaping @Sendable (String) -> Void) {
        warnings.setHandler(handler)
    }

    /// A server URL for messages: user info and query replaced (they may hold secrets).
    static func redactedURL(_ s: String) -> String { SecretText.redactedURL(s) }

    /// Creates a client for a resolved target.
    public init(target: KubeTarget, options: KubeClientOptions = KubeClientOptions(), logger: Logger = Logger(label: "sgk.kube")) throws {
        _ = KubeClient.loaded
        if let e = options.settingError { throw KubeError.config(e.description) }
        self.target = target
        self.options = options
        self.logger = logger
        guard let url = URL(string: target.cluster.server), url.scheme != nil, url.host != nil else {
            throw KubeError.config("invalid server URL \(KubeClient.redactedURL(target.cluster.server)) of cluster \(target.cluster.name)")
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw KubeError.config("invalid server URL \(KubeClient.redactedURL(target.cluster.server)) of cluster \(target.cluster.name): port \(port) is not 1–65535")
        }
        if url.user != nil || url.password != nil || url.query != nil || url.fragment != nil {
            // Credentials belong in the user entry; API paths go after the server's path.
            throw KubeError.config("the server URL of cluster \(target.cluster.name) holds \(url.query != nil || url.fragment != nil ? "a query" : "credentials"): \(KubeClient.redactedURL(target.cluster.server)) (write https://HOST[:PORT][/PATH]; a token or password goes in the kubeconfig's user)")
        }
        var base = target.cluster.server
        if base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        if target.cluster.insecureSkipTLSVerify {
            logger.warning("insecure-skip-tls-verify is set for cluster \(target.cluster.name): the server's certificate is not verified")
        }
        if let p = target.user.authProvider, target.user.exec == nil {
            throw KubeError.config("user \(target.user.name) uses auth-provider \(p), which is not supported; use an exec plugin")
        }
        let proxy = try KubeClient.proxy(target.cluster.proxyURL, environment: options.environment)
        self.transports = TransportPool(cluster: target.cluster, proxy: proxy, options: options)
        if let exec = target.user.exec {
            _ = exec
            self.execCache = ExecCredentialCache(provider: options.execTokenProvider, environment: options.environment, logger: logger)
        } else {
            self.execCache = nil
        }
        self.discovery = Discovery()
        // Static client certificate: build its transport eagerly (fails fast on bad PEM).
        if let cert = target.user.clientCertificateData {
            guard let key = target.user.clientKeyData else {
                throw KubeError.config("user \(target.user.name) has a client certificate but no client key")
            }
            _ = try TransportPool.tlsOptions(cluster: target.cluster, cert: cert, key: key)
        }
    }

    /// Loads the kubeconfig from the environment (or in-cluster config when none exists and the
    /// service variables are set) and creates a client for `context`.
    public static func fromEnvironment(_ environment: KubeEnvironment = .process(), kubeconfig: String? = nil,
                                       context: String? = nil, namespace: String? = nil,
                                       execTokenProvider: ExecTokenProvider? = nil,
                                       logger: Logger = Logger(label: "sgk.kube")) throws -> KubeClient {
        let config = try KubeConfig.load(environment: environment, explicitPath: kubeconfig)
        let target: KubeTarget
        if config.contexts.isEmpty, kubeconfig == nil, environment.variables["KUBERNETES_SERVICE_HOST"] != nil {
            var t = try KubeConfig.inCluster(environment: environment)
            if let namespace { t.namespace = namespace }
            target = t
        } else {
            target = try config.resolve(context: context, namespace: namespace)
        }
        return try KubeClient(target: target, options: KubeClientOptions(environment: environment, execTokenProvider: execTokenProvider), logger: logger)
    }

    /// Closes all connections. Must be called once the client is no longer used.
    public func shutdown() async {
        await transports.shutdown()
    }

    /// The namespace of the context (or the override given at resolution).
    public var defaultNamespace: String { target.namespace }

    /// The cluster's `proxy-url`, else the environment's proxies (as kubectl).
    static func proxy(_ url: String?, environment: KubeEnvironment) throws -> ProxySetting {
        guard let url, !url.isEmpty else { return .environment(environment.variables) }
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), u.host != nil else {
            throw KubeError.config("invalid proxy-url \(SecretText.redactedURL(url))")
        }
        guard scheme == "http" || scheme == "socks5" else {
            throw KubeError.config("proxy-url scheme \(scheme) is not supported (use http:// or socks5://)")
        }
        return .url(url)
    }

    // MARK: - Requests

    /// Whether sending the request twice does what sending it once does: GET, HEAD, PUT, DELETE,
    /// and PATCH but a JSON patch (`application/json-patch+json`, whose `add` to a list adds twice).
    /// POST (a create) is not.
    static func isIdempotent(_ method: HTTPMethod, contentType: String?) -> Bool {
        switch method {
        case .GET, .HEAD, .PUT, .DELETE: return true
        case .PATCH: return contentType?.hasPrefix("application/json-patch") != true
        default: return false
        }
    }

    /// Sends one request and returns the response when it is a success (2xx); otherwise throws
    /// `KubeError.api` carrying the status. Retries (bounded, with backoff): a 429 answer (up to
    /// `maxThrottledRetries` within `throttledBudgetSeconds`, honouring `Retry-After`), a 5xx answer
    /// to an idempotent request, or to any when it carries `Retry-After` (the server asks for the
    /// retry), and a connection that broke under an idempotent request (`isIdempotent`).
    public func send(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
                     contentType: String? = nil, accept: String = "application/json",
                     timeout: TimeAmount? = nil) async throws -> KubeResponse {
        let pathWithQuery = KubeClient.pathWithQuery(path, query)
        let info = KubeRequestInfo(verb: method.rawValue, path: pathWithQuery)
        let idempotent = KubeClient.isIdempotent(method, contentType: contentType)
        var attempt = 0
        var throttled = 0
        let firstAttempt = Date()
        var reauthenticated = false
        var resent = false
        while true {
            let started = Date()
            var response: KubeResponse
            do {
                response = try await sendOnce(method, pathWithQuery, body: body, contentType: contentType,
                                              accept: accept, timeout: timeout ?? options.requestTimeout)
                response.resent = resent
            } catch let e as KubeError {
                throw e
            } catch {
                // Retried: a connection that broke under an idempotent request. Not retried: what a retry
                // cannot change (refused, DNS, TLS) or what already waited its timeout.
                let text = String(describing: error)
                let transient = !NetworkErrorText.neverSent(error) && !text.contains("imeout") && !text.contains("deadlineExceeded")
                if idempotent, transient, attempt < options.maxRetries, !(error is CancellationError), !Task.isCancelled {
                    attempt += 1
                    resent = true
                    logger.debug("retrying after transport error", metadata: ["request": "\(info)", "error": "\(error)"])
                    try await Task.sleep(nanoseconds: UInt64(0.2 * pow(2, Double(attempt - 1)) * 1e9))
                    continue
                }
                throw KubeError.transport(request: KubeRequestInfo(verb: info.verb, path: target.cluster.server + info.path),
                                          message: Redaction.redact(NetworkErrorText.plain(error)))
            }
            logger.debug("\(info) → \(response.status) at +\(String(format: "%.1f", started.timeIntervalSince(KubeClient.loaded) * 1000)) ms, \(String(format: "%.1f", Date().timeIntervalSince(started) * 1000)) ms, \(response.body.count) bytes")
            warnings.report(response.headers["Warning"], logger: logger)
            if (200..<300).contains(response.status) { return response }
            if response.status == 401, !reauthenticated, let exec = target.user.exec, let execCache {
                await execCache.invalidate(exec)
                reauthenticated = true
                continue
            }
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            if response.status == 429 {
                // Throttled: the server did not act on the request, so any request is sent again,
                // for longer than after a failure.
                throttled += 1
                let delay = min(max(retryAfter ?? 0.5 * pow(2, Double(throttled - 1)), 0), options.maxRetryAfterSeconds)
                if throttled <= options.maxThrottledRetries, Date().timeIntervalSince(firstAttempt) + delay <= options.throttledBudgetSeconds {
                    logger.debug("retrying", metadata: ["request": "\(info)", "status": "429", "delay": "\(delay)"])
                    try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                    continue
                }
                throw error(for: response, info: info)
            }
            // A 5xx: sent again when that is harmless (an idempotent request), or when the server asks
            // for it (`Retry-After`, as client-go); a create that met a crashed admission path is not
            // repeated, and its answer is the error.
            let failed = [500, 502, 503, 504].contains(response.status) && !KubeClient.isTypedPatchError(response)
            if failed, idempotent || retryAfter != nil, attempt < options.maxRetries {
                attempt += 1
                let delay = min(max(retryAfter ?? 0.2 * pow(2, Double(attempt - 1)), 0), options.maxRetryAfterSeconds)
                logger.debug("retrying", metadata: ["request": "\(info)", "status": "\(response.status)", "delay": "\(delay)"])
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                continue
            }
            throw error(for: response, info: info)
        }
    }

    /// Sends a request and parses the JSON response.
    public func sendJSON(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSON? = nil,
                         contentType: String = "application/json", accept: String = "application/json") async throws -> JSON {
        let bytes = body.map { Array(JSONCodec.serialize($0, pretty: false).utf8) }
        return try await send(method, path, query: query, body: bytes, contentType: bytes == nil ? nil : contentType,
                              accept: accept).json()
    }

    func error(for response: KubeResponse, info: KubeRequestInfo) -> KubeError {
        let json = try? JSONCodec.parse(bytes: response.body)
        var status = json.flatMap { KubeStatus($0) }
        var bodyText = status == nil ? String(decoding: response.body.prefix(500), as: UTF8.self) : nil
        // A server (or a proxy, or a webhook) may echo the credential it refused
        // (`Forbidden: user with token … cannot list`): every credential this client holds is
        // taken out of what the error shows.
        let secrets = response.credentials + [target.user.token, target.user.password].compactMap { $0 }
        if let m = status?.message { status?.message = Redaction.redact(m, secrets: secrets) }
        if let b = bodyText { bodyText = Redaction.redact(b, secrets: secrets) }
        if let causes = status?.causes {
            status?.causes = causes.map { var c = $0; c.message = c.message.map { Redaction.redact($0, secrets: secrets) }; return c }
        }
        if KubeClient.isTypedPatchError(response), status != nil {
            // Server-side apply reports a manifest that does not fit the schema as a 500: it is the
            // object that is invalid (HTTP 422), and sending it again changes nothing.
            status?.reason = "Invalid"
            status?.code = 422
            return .api(httpStatus: 422, status: status, request: info, context: target.contextName, body: bodyText)
        }
        return .api(httpStatus: response.status, status: status, request: info, context: target.contextName, body: bodyText)
    }

    /// A 500 of server-side apply about the object's shape (`failed to create typed patch object`).
    static func isTypedPatchError(_ response: KubeResponse) -> Bool {
        response.status == 500 && String(decoding: response.body.prefix(2000), as: UTF8.self).contains("failed to create typed")
    }

    static func pathWithQuery(_ path: String, _ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return path }
        let q = query.map { "\(URIEncoding.encode($0.0))=\(URIEncoding.encode($0.1))" }.joined(separator: "&")
        return path + (path.contains("?") ? "&" : "?") + q
    }

    /// Headers for authentication, and the client certificate to use (exec plugins may return one).
    func authentication() async throws -> (header: String?, cert: ([UInt8], [UInt8])?) {
        let user = target.user
        if let exec = user.exec, let execCache {
            let c = try await execCache.credential(for: exec)
            if let t = c.token { return ("Bearer \(t)", nil) }
            if let cert = c.clientCertificateData, let key = c.clientKeyData {
                return (nil, (Array(cert.utf8), Array(key.utf8)))
            }
        }
        if let cert = user.clientCertificateData, let key = user.clientKeyData {
            if let t = user.token { return ("Bearer \(t)", (cert, key)) }
            return (nil, (cert, key))
        }
        if let t = user.token, !t.isEmpty { return ("Bearer \(t)", nil) }
        if let f = user.tokenFile {
            let t = try await tokenFileCache.read(f)
            return ("Bearer \(t)", nil)
        }
        if let u = user.username, let p = user.password {
            return ("Basic " + Data("\(u):\(p)".utf8).base64EncodedString(), nil)
        }
        return (nil, nil)
    }

    func sendOnce(_ method: HTTPMethod, _ pathWithQuery: String, body: [UInt8]?, contentType: String?,
                  accept: String, timeout: TimeAmount) async throws -> KubeResponse {
        let (request, http) = try await prepare(method, pathWithQuery, body: body, contentType: contentType, accept: accept)
        let response = try await http.execute(request, timeout: timeout)
        var r = KubeResponse(status: response.status, headers: response.headers, body: try await response.body.collect(upTo: 512 * 1024 * 1024))
        r.credentials = KubeClient.credentials(in: request)
        return r
    }

    /// The secrets a request carried (its bearer token, its basic-auth password) and the static
    /// ones of the user: a server message that echoes one of them must not show it.
    static func credentials(in request: HTTPRequest) -> [String] {
        guard let auth = request.headers.first(name: "Authorization") else { return [] }
        let parts = auth.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return [auth] }
        var out = [parts[1]]
        if parts[0].lowercased() == "basic", let d = Data(base64Encoded: parts[1]), let text = String(data: d, encoding: .utf8),
           let colon = text.firstIndex(of: ":") {
            out.append(String(text[text.index(after: colon)...]))
        }
        return out
    }

    func prepare(_ method: HTTPMethod, _ pathWithQuery: String, body: [UInt8]?, contentType: String?,
                 accept: String) async throws -> (HTTPRequest, HTTPTransport) {
        let auth = try await authentication()
        let http = try await transports.client(cert: auth.cert)
        var request = HTTPRequest(method: method, url: baseURL + pathWithQuery)
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: options.userAgent)
        if let h = auth.header { request.headers.add(name: "Authorization", value: h) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType ?? "application/json")
            request.body = body
        }
        return (request, http)
    }

    /// Streams a watch (`?watch=1`): calls `onEvent` for each event until it returns false, the
    /// server ends the stream, or `timeout` passes. Throws `KubeError.api` for error statuses and
    /// `KubeError.transport` when the connection fails or the stream breaks (`waitUntil` watches again).
    public func watch(_ path: String, query: [(String, String)], timeout: TimeAmount,
                      onEvent: @Sendable (WatchEvent) async throws -> Bool) async throws {
        let pathWithQuery = KubeClient.pathWithQuery(path, query + [("watch", "1")])
        let info = KubeRequestInfo(verb: "GET", path: pathWithQuery)
        let (request, http) = try await prepare(.GET, pathWithQuery, body: nil, contentType: nil, accept: "application/json")
        let response: HTTPResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw KubeError.transport(request: KubeRequestInfo(verb: info.verb, path: target.cluster.server + info.path),
                                          message: Redaction.redact(NetworkErrorText.plain(error)))
        }
        guard response.status == 200 else {
            var r = KubeResponse(status: response.status, headers: response.headers, body: try await response.body.collect(upTo: 1 << 20))
            r.credentials = KubeClient.credentials(in: request)
            throw error(for: r, info: info)
        }
        var pending: [UInt8] = []
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let nl = pending.firstIndex(of: 10) {
                    let line = Array(pending[pending.startIndex..<nl])
                    pending.removeSubrange(pending.startIndex...nl)
                    if line.isEmpty { continue }
                    let json = try JSONCodec.parse(bytes: line)
                    let ev = WatchEvent(type: json["type"]?.stringValue ?? "", object: json["object"] ?? .null)
                    if try await !onEvent(ev) { return }
                }
            }
        } catch let e as KubeError {
            throw e
        } catch {
            if (error as? HTTPTransportError) == .deadlineExceeded { return }
            if error is CancellationError { throw error }
            // The stream broke (connection reset or closed mid-stream): the caller (`waitUntil`)
            // lists and watches again, after a pause.
            logger.debug("watch stream ended: \(error)")
            throw KubeError.transport(request: KubeRequestInfo(verb: info.verb, path: target.cluster.server + info.path),
                                      message: "the watch stream broke: " + Redaction.redact(NetworkErrorText.plain(error)))
        }
    }
}

/// One event of a watch stream.
public struct WatchEvent: Sendable {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    public var type: String
    public var object: JSON
}

/// The transports of a `KubeClient`: one per client certificate identity (normally exactly one).
actor TransportPool {
    let cluster: ClusterConfig
    let proxy: ProxySetting
    let options: KubeClientOptions
    private var clients: [String: HTTPTransport] = [:]
    private var retired: [HTTPTransport] = []

    init(cluster: ClusterConfig, proxy: ProxySetting, options: KubeClientOptions) {
        self.cluster = cluster; self.proxy = proxy; self.options = options
    }

    func client(cert: ([UInt8], [UInt8])?) throws -> HTTPTransport {
        let key = cert.map { String(decoding: $0.0, as: UTF8.self) } ?? ""
        if let c = clients[key] { return c }
        let transport = HTTPTransport(configuration: .init(
            tls: try TransportPool.tlsOptions(cluster: cluster, cert: cert?.0, key: cert?.1), proxy: proxy,
            connectTimeout: options.connectTimeout, maxConnectionsPerHost: options.maxConnections, userAgent: nil))
        // An exec plugin that rotates certificates: keep the old transport until shutdown.
        retired.append(contentsOf: clients.values)
        clients = [key: transport]
        return transport
    }

    /// The TLS settings of the cluster entry (and a client certificate), checked.
    static func tlsOptions(cluster: ClusterConfig, cert: [UInt8]?, key: [UInt8]?) throws -> TLSOptions {
        let tls = TLSOptions(trustRootsPEM: cluster.certificateAuthorityData, clientCertificatePEM: cert, clientKeyPEM: key,
                             insecureSkipVerify: cluster.insecureSkipTLSVerify, serverName: cluster.tlsServerName)
        do { try tls.validate() } catch { throw configError(error, cluster: cluster) }
        return tls
    }

    static func configError(_ problem: TLSOptions.Problem, cluster: ClusterConfig) -> KubeError {
        switch problem {
        case .noCertificateInCA: return .config("no certificate in the CA of cluster \(cluster.name)")
        case .invalidCA(let why): return .config("certificate-authority of cluster \(cluster.name) is not valid PEM: \(why)")
        case .invalidClientCertificate(let why): return .config("client certificate is not valid PEM: \(why)")
        case .invalidClientKey(let why): return .config("client key is not a valid PEM RSA or EC key: \(why)")
        case .certificateWithoutKey: return .config("a client certificate without its key")
        case .clientCertificateExpired, .clientCertificateNotYetValid:
            return .config("\(problem) (the kubeconfig's client-certificate-data for cluster \(cluster.name)): renew it, or use a user with a token or exec plugin (for EKS: aws eks update-kubeconfig writes one)")
        }
    }

    func shutdown() async {
        for c in clients.values + retired { await c.shutdown() }
        clients = [:]
        retired = []
    }
}

/// Reads `tokenFile` at most once a minute (it may be rotated).
actor TokenFileCache {
    private var cached: (path: String, token: String, read: Date)?
    func read(_ path: String) throws -> String {
        if let c = cached, c.path == path, Date().timeIntervalSince(c.read) < 60 { return c.token }
        guard let d = FileManager.default.contents(atPath: path),
              let s = String(data: d, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty else {
            throw KubeError.config("cannot read token file \(path)")
        }
        cached = (path, s, Date())
        return s
    }
}

/// The server's `Warning` headers (RFC 7234 form `299 - "text"`, as the API server sends them),
/// deduplicated per client.
final class ServerWarnings: Sendable {
    private let state = Mutex<(seen: Set<String>, handler: (@Sendable (String) -> Void)?)>((seen: [], handler: nil))

    func setHandler(_ handler: @escaping @Sendable (String) -> Void) {
        state.withLock { $0.handler = handler }
    }

    func report(_ values: [String], logger: Logger) {
        for v in values {
            guard let text = ServerWarnings.text(of: v) else { continue }
            let (isNew, handler) = state.withLock { s in (s.seen.insert(text).inserted, s.handler) }
            guard isNew else { continue }
            if let handler { handler(text) } else { logger.warning("\(text)") }
        }
    }

    /// The text of one warning value: `299 - "text"` gives `text`; other codes are ignored.
    static func text(of value: String) -> String? {
        let v = value.trimmingCharacters(in: .whitespaces)
        guard v.hasPrefix("299 ") else { return nil }
        let rest = v.dropFirst(4).drop { $0 == " " }
        guard let agentEnd = rest.firstIndex(of: " ") else { return nil }
        var t = rest[agentEnd...].drop { $0 == " " }
        guard t.first == "\"" else { return nil }
        t = t.dropFirst()
        var out = ""
        var escaped = false
        for c in t {
            if escaped { out.append(c); escaped = false; continue }
            if c == "\\" { escaped = true; continue }
            if c == "\"" { break }
            out.append(c)
        }
        return out.isEmpty ? nil : out
    }
}
