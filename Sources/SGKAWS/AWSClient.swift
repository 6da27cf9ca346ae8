import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SGKData
import SGKHTTP

/// The SDKs' standard retry mode: a few attempts, exponential backoff with full jitter; throttling
/// (a `Throttling…` code or HTTP 429) is retried for longer, honouring a `Retry-After` answer.
public struct RetryPolicy: Sendable {
    /// Total attempts including the first (standard mode: 3).
    public var maxAttempts: Int
    /// Backoff base in seconds (attempt n waits random(0, min(cap, base·2ⁿ))).
    public var base: Double
    /// Backoff cap in seconds.
    public var cap: Double
    /// Total attempts when the answers say "throttled" (default 10; 1 for a policy of one attempt).
    public var throttledMaxAttempts: Int
    /// The longest a throttled request is retried, in seconds from its first attempt (default 60).
    public var throttledBudget: Double
    public init(maxAttempts: Int = 3, base: Double = 0.1, cap: Double = 20, throttledMaxAttempts: Int? = nil, throttledBudget: Double = 60) {
        self.maxAttempts = max(1, maxAttempts); self.base = base; self.cap = cap
        self.throttledMaxAttempts = max(self.maxAttempts, throttledMaxAttempts ?? (maxAttempts <= 1 ? 1 : 10))
        self.throttledBudget = throttledBudget
    }
    /// 3 attempts, 0.1 s base, 20 s cap; throttled: 10 attempts within 60 s.
    public static let standard = RetryPolicy()
    /// One attempt.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Full-jitter delay before retry number `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Double {
        let ceiling = min(cap, base * pow(2, Double(attempt - 1)))
        return Double.random(in: 0...max(0, ceiling))
    }

    /// The delay before retrying a throttled request: the server's `Retry-After` (seconds, at most
    /// `cap`) when it sent one, else full jitter on a base five times the ordinary one.
    public func throttledDelay(afterAttempt attempt: Int, retryAfter: String?) -> Double {
        if let ra = retryAfter.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), ra >= 0 { return min(ra, cap) }
        let ceiling = min(cap, 5 * base * pow(2, Double(attempt - 1)))
        return Double.random(in: 0...max(0, ceiling))
    }
}

/// Raw HTTP response.
struct RawResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
}

/// Shared HTTP plumbing: one transport (system trust roots, the environment's proxies), timeouts.
final class AWSTransport: Sendable {
    let http: HTTPTransport
    let ownsTransport: Bool
    let requestTimeout: TimeAmount
    private let isShutDown = LockedFlag()

    init(transport: HTTPTransport?, connectTimeout: TimeAmount = .seconds(10), requestTimeout: TimeAmount = .seconds(60)) {
        if let transport {
            http = transport
            ownsTransport = false
        } else {
            // Failed connects are retried by the standard-mode loop (with backoff, bounded).
            http = HTTPTransport(configuration: .init(connectTimeout: connectTimeout, userAgent: nil))
            ownsTransport = true
        }
        self.requestTimeout = requestTimeout
    }

    func send(method: HTTPMethod, url: String, headers: HTTPHeaders, body: [UInt8]?, timeout: TimeAmount? = nil, logger: Logger) async throws -> RawResponse {
        let resp = try await http.execute(HTTPRequest(method: method, url: url, headers: headers, body: body), timeout: timeout ?? requestTimeout)
        return RawResponse(status: resp.status, headers: resp.headers, body: try await resp.body.collect(upTo: 32 << 20))
    }

    func shutdown() async throws {
        guard ownsTransport, isShutDown.setOnce() else { return }
        await http.shutdown()
    }
}

/// A flag that can be set once, safely from any thread.
final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    /// Sets the flag; true if this call set it.
    func setOnce() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if value { return false }
        value = true
        return true
    }
}

/// A signed request about to be sent.
struct AWSRequestSpec: Sendable {
    var service: AWSService
    var operation: String
    var method: HTTPMethod
    var path: String
    var query: [QueryParameter]
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// Field names whose values must not be logged (`WebIdentityToken`).
    var sensitiveFields: [String] = []
    /// nil: sign with the client's credentials; .some(nil): send unsigned.
    var credentialsOverride: AWSCredentials?? = nil
    var endpointOverride: AWSEndpoint? = nil

    /// Whether sending the request twice does what sending it once does. Creates, deletes and
    /// detaches do not (the second says EntityAlreadyExists or NoSuchEntity): after a failure that
    /// may have come once the request was sent, they are not retried here (the primitives read
    /// back instead: see `AWSLibrary.settle`).
    var isIdempotent: Bool { !(operation.hasPrefix("Create") || operation.hasPrefix("Delete") || operation.hasPrefix("Detach")) }

    /// Whether the operation only reads.
    var isRead: Bool { ["Get", "List", "Describe", "Assume"].contains { operation.hasPrefix($0) } }
}

/// The AWS client: credentials, endpoints, signing, retries, error parsing and logging.
///
/// Create one per process and reuse it (it keeps connections alive); call `shutdown()` at the end.
public final class AWSClient: Sendable {
    /// Region, profile and endpoint settings.
    public let configuration: AWSConfiguration
    /// Where credentials come from (the default chain unless one was passed).
    public let credentialProvider: any AWSCredentialProvider
    /// Retry behaviour.
    public let retryPolicy: RetryPolicy
    let transport: AWSTransport
    let logger: Logger
    let keyCache = SigningKeyCache()
    /// A time-out setting of the environment that is not one (said at the first request).
    let settingError: TimeoutSetting.Invalid?

    /// - Parameters:
    ///   - configuration: region/profile/endpoints (default: from the process environment and `~/.aws`).
    ///   - credentialProvider: default: `AWSCredentialChain` over the same configuration.
    ///   - transport: share an existing transport (then `shutdown()` leaves it running).
    ///   - retryPolicy: default: standard mode.
    ///   - logger: debug level logs each request and response line, secrets redacted.
    public init(
        configuration: AWSConfiguration = .load(),
        credentialProvider: (any AWSCredentialProvider)? = nil,
        transport: HTTPTransport? = nil,
        retryPolicy: RetryPolicy = .standard,
        connectTimeout: TimeAmount? = nil,
        requestTimeout: TimeAmount? = nil,
        logger: Logger = Logger(label: "sgk.aws")
    ) {
        self.configuration = configuration
        self.retryPolicy = retryPolicy
        self.logger = logger
        // Unless given: SGK_CONNECT_TIMEOUT (10 s) and SGK_REQUEST_TIMEOUT (60 s) of the
        // configuration's environment; a value that is no time-out fails the first request.
        var settingError: TimeoutSetting.Invalid?
        func setting(_ given: TimeAmount?, _ variable: String, _ fallback: Double) -> TimeAmount {
            if let given { return given }
            do { return .nanoseconds(Int64(try TimeoutSetting.seconds(configuration.environment, variable, default: fallback) * 1e9)) } catch {
                settingError = error
                return .nanoseconds(Int64(fallback * 1e9))
            }
        }
        let connect = setting(connectTimeout, TimeoutSetting.connectVariable, 10)
        let request = setting(requestTimeout, TimeoutSetting.requestVariable, 60)
        self.settingError = settingError
        let transport = AWSTransport(transport: transport, connectTimeout: connect, requestTimeout: request)
        self.transport = transport
        self.credentialProvider = credentialProvider
            ?? AWSCredentialChain(configuration: configuration, transport: transport, logger: logger)
    }

    init(configuration: AWSConfiguration, credentialProvider: any AWSCredentialProvider, transport: AWSTransport,
         retryPolicy: RetryPolicy, logger: Logger) {
        self.configuration = configuration
        self.credentialProvider = credentialProvider
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.settingError = nil
    }

    /// Closes connections (only if this client created its transport).
    public func shutdown() async throws { try await transport.shutdown() }

    /// The region in effect, or nil.
    public var region: String? { configuration.region }
    /// The partition of the region in effect.
    public var partition: AWSPartition { configuration.partition }

    /// IAM operations.
    public var iam: IAM { IAM(client: self) }
    /// STS operations.
    public var sts: STS { STS(client: self) }
    /// EKS operations.
    public var eks: EKS { EKS(client: self) }

    // MARK: - protocols

    /// Calls a query-protocol (IAM/STS) action and returns the parsed XML root.
    public func queryAction(_ service: AWSService, action: String, version: String, parameters: [QueryParameter]) async throws -> XMLNode {
        try await queryAction(service, action: action, version: version, parameters: parameters, credentials: nil, sensitiveFields: [])
    }

    func queryAction(_ service: AWSService, action: String, version: String, parameters: [QueryParameter],
                     credentials: AWSCredentials??, sensitiveFields: [String], endpoint: AWSEndpoint? = nil) async throws -> XMLNode {
        let body = URIEncoding.formEncode([QueryParameter("Action", action), QueryParameter("Version", version)] + parameters)
        var spec = AWSRequestSpec(
            service: service, operation: action, method: .POST, path: "/", query: [],
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: Array(body.utf8))
        spec.sensitiveFields = sensitiveFields
        spec.credentialsOverride = credentials
        spec.endpointOverride = endpoint
        let resp = try await send(spec)
        do {
            return try XMLReader.parse(String(decoding: resp.body, as: UTF8.self))
        } catch {
            throw AWSResponseError(service: service.rawValue, operation: action, message: "\(error)")
        }
    }

    /// Calls a rest-json (EKS) operation; returns the parsed body (`.null` when empty).
    public func restJSON(_ service: AWSService, operation: String, method: HTTPMethod, path: String,
                         query: [QueryParameter] = [], body: JSON? = nil) async throws -> JSON {
        var headers: [(name: String, value: String)] = []
        var bytes: [UInt8] = []
        if let body {
            headers.append(("Content-Type", "application/json"))
            bytes = Array(JSONCodec.serialize(body).utf8)
        }
        let spec = AWSRequestSpec(service: service, operation: operation, method: method, path: path, query: query, headers: headers, body: bytes)
        let resp = try await send(spec)
        if resp.body.isEmpty { return .null }
        do {
            return try JSONCodec.parse(bytes: resp.body)
        } catch {
            throw AWSResponseError(service: service.rawValue, operation: operation, message: "invalid JSON: \(error.message)")
        }
    }

    // MARK: - sending

    func send(_ spec: AWSRequestSpec) async throws -> RawResponse {
        if let settingError { throw AWSConfigurationError.invalidTimeout(settingError) }
        let endpoint = try spec.endpointOverride ?? configuration.endpoint(for: spec.service)
        let creds: AWSCredentials?
        if let override = spec.credentialsOverride { creds = override } else { creds = try await credentialProvider.credentials() }
        let secrets = [creds?.secretAccessKey, creds?.sessionToken].compactMap { $0 }
        let basePath = URLComponents(string: endpoint.url)?.path ?? ""
        let path = (basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath) + spec.path
        let queryString = URIEncoding.formEncode(spec.query)
        let origin: String = {
            guard var c = URLComponents(string: endpoint.url) else { return endpoint.url }
            c.path = ""; c.query = nil
            return c.string ?? endpoint.url
        }()
        let url = origin + path + (queryString.isEmpty ? "" : "?" + queryString)
        let payloadHash = SigV4Signer.sha256Hex(spec.body)
        let signer = SigV4Signer(service: endpoint.signingName, region: endpoint.signingRegion, cache: keyCache)

        var attempt = 0
        let firstAttempt = DispatchTime.now().uptimeNanoseconds
        while true {
            attempt += 1
            var headers = HTTPHeaders()
            var toSign = spec.headers
            toSign.append(("Host", endpoint.hostHeader))
            for h in toSign { headers.add(name: h.name, value: h.value) }
            if let creds {
                let sig = signer.signHeaders(
                    method: spec.method.rawValue, path: path, query: spec.query, headers: toSign,
                    payloadHash: payloadHash, credentials: creds, date: Date())
                for h in sig.headersToAdd { headers.add(name: h.name, value: h.value) }
            }
            headers.add(name: "User-Agent", value: "sgk/0.1 (Swift)")
            let start = DispatchTime.now().uptimeNanoseconds
            if logger.logLevel <= .debug {
                logRequest(spec, url: url, headers: headers, secrets: secrets, attempt: attempt)
            }
            let response: RawResponse
            do {
                response = try await transport.send(method: spec.method, url: url, headers: headers, body: spec.body.isEmpty && spec.method == .GET ? nil : spec.body, logger: logger)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let reason = Redactor.redact(NetworkErrorText.plain(error), secrets: secrets)
                logger.debug("← \(spec.service.rawValue) \(spec.operation) transport error: \(reason)")
                let neverSent = NetworkErrorText.neverSent(error)
                if attempt < retryPolicy.maxAttempts, neverSent || spec.isIdempotent {
                    try await Task.sleep(nanoseconds: UInt64(retryPolicy.delay(afterAttempt: attempt) * 1e9))
                    continue
                }
                throw AWSTransportError(service: spec.service.rawValue, operation: spec.operation, url: url, reason: reason, attempts: attempt,
                                        neverSent: neverSent, isWrite: !spec.isRead)
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            if logger.logLevel <= .debug {
                let rid = response.headers.first(name: "x-amzn-RequestId") ?? response.headers.first(name: "x-amz-request-id") ?? "-"
                logger.debug("← \(response.status) \(spec.service.rawValue) \(spec.operation) \(String(format: "%.1f", ms)) ms request-id=\(rid) \(response.body.count) bytes")
                if logger.logLevel <= .trace {
                    logger.trace("← body: \(Redactor.redact(String(decoding: response.body.prefix(4096), as: UTF8.self), secrets: secrets))")
                }
            }
            if (200..<300).contains(response.status) { return response }
            let err = AWSError.parse(service: spec.service.rawValue, operation: spec.operation, status: response.status,
                                     headers: response.headers, body: response.body, secrets: secrets)
            if err.isThrottling {
                // Throttling is retried longer than a failure: up to `throttledMaxAttempts`, within
                // `throttledBudget` seconds, waiting what `Retry-After` asks when it is said.
                let delay = retryPolicy.throttledDelay(afterAttempt: attempt, retryAfter: response.headers.first(name: "Retry-After"))
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - firstAttempt) / 1e9
                if attempt < retryPolicy.throttledMaxAttempts, elapsed + delay <= retryPolicy.throttledBudget {
                    logger.debug("← \(spec.service.rawValue) \(spec.operation) throttled (\(err.code)): retrying in \(String(format: "%.2f", delay)) s")
                    try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                    continue
                }
            } else if err.isRetryable, attempt < retryPolicy.maxAttempts {
                try await Task.sleep(nanoseconds: UInt64(retryPolicy.delay(afterAttempt: attempt) * 1e9))
                continue
            }
            throw err
        }
    }

    private func logRequest(_ spec: AWSRequestSpec, url: String, headers: HTTPHeaders, secrets: [String], attempt: Int) {
        var line = "→ \(spec.method.rawValue) \(Redactor.redact(SecretText.redactedURL(url, keepQuery: true), secrets: secrets)) \(spec.service.rawValue) \(spec.operation)"
        if attempt > 1 { line += " (attempt \(attempt))" }
        logger.debug("\(line)")
        for h in headers {
            logger.debug("  \(h.name): \(Redactor.header(h.name, h.value, secrets: secrets))")
        }
        if !spec.body.isEmpty {
            var text = String(decoding: spec.body.prefix(4096), as: UTF8.self)
            for field in spec.sensitiveFields {
                text = Redactor.redactFormField(text, field: field)
            }
            logger.debug("  body: \(Redactor.redact(text, secrets: secrets))")
        }
    }
}

extension Redactor {
    /// Replaces the value of `field=` in a form body.
    static func redactFormField(_ text: String, field: String) -> String {
        URIEncoding.parseQuery(text).map { p in
            URIEncoding.encode(p.name) + "=" + (p.name == field ? marker : URIEncoding.encode(p.value))
        }.joined(separator: "&")
    }
}

extension SigV4Signer {
    init(service: String, region: String, normalizePath: Bool = true, cache: SigningKeyCache) {
        self.init(service: service, region: region, normalizePath: normalizePath, sharedCache: cache)
    }
}
