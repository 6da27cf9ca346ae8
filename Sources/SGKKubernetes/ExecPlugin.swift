import Foundation
import Logging
import OrderedCollections
import SGKData

/// The credential an exec plugin returns (`ExecCredential.status`).
public struct ExecCredential: Sendable, Hashable {
    public var token: String?
    /// PEM client certificate and key, when the plugin returns a certificate instead of a token.
    public var clientCertificateData: String?
    public var clientKeyData: String?
    /// When the credential expires; nil means "until the server rejects it".
    public var expirationTimestamp: Date?

    public init(token: String? = nil, clientCertificateData: String? = nil, clientKeyData: String? = nil,
                expirationTimestamp: Date? = nil) {
        self.token = token; self.clientCertificateData = clientCertificateData
        self.clientKeyData = clientKeyData; self.expirationTimestamp = expirationTimestamp
    }

    /// Parses a plugin's stdout (an `ExecCredential` object).
    public static func parse(_ text: String, expectedAPIVersion: String) throws -> ExecCredential {
        let json: JSON
        do { json = try JSONCodec.parse(text) } catch {
            throw KubeError.other("exec plugin output is not JSON: \(error)")
        }
        guard json["kind"]?.stringValue == "ExecCredential" else {
            throw KubeError.other("exec plugin output is not an ExecCredential (kind \(json["kind"]?.stringValue ?? "missing"))")
        }
        if let v = json["apiVersion"]?.stringValue, v != expectedAPIVersion {
            throw KubeError.other("exec plugin returned apiVersion \(v), expected \(expectedAPIVersion)")
        }
        guard let status = json["status"] else { throw KubeError.other("exec plugin output has no status") }
        var c = ExecCredential()
        c.token = status["token"]?.stringValue
        c.clientCertificateData = status["clientCertificateData"]?.stringValue
        c.clientKeyData = status["clientKeyData"]?.stringValue
        if let ts = status["expirationTimestamp"]?.stringValue {
            c.expirationTimestamp = parseRFC3339(ts)
        }
        if c.token == nil && (c.clientCertificateData == nil || c.clientKeyData == nil) {
            throw KubeError.other("exec plugin returned neither a token nor a client certificate and key")
        }
        return c
    }

    /// An ExecCredential document for this credential (what `sgk eks token` prints).
    public func document(apiVersion: String = "client.authentication.k8s.io/v1beta1") -> JSON {
        var status = OrderedDictionary<String, JSON>()
        if let e = expirationTimestamp { status["expirationTimestamp"] = .string(formatRFC3339(e)) }
        if let t = token { status["token"] = .string(t) }
        if let c = clientCertificateData { status["clientCertificateData"] = .string(c) }
        if let k = clientKeyData { status["clientKeyData"] = .string(k) }
        return .object(["kind": .string("ExecCredential"), "apiVersion": .string(apiVersion), "spec": .object([:]),
                        "status": .object(status)])
    }
}

/// A credential source that runs in-process instead of spawning the exec plugin (e.g. native EKS
/// token code for `aws eks get-token` / `sgk eks token`). Return nil to fall back to running the command.
public typealias ExecTokenProvider = @Sendable (ExecConfig) async throws -> ExecCredential?

/// Runs exec plugins and caches their credentials until `expirationTimestamp`.
public actor ExecCredentialCache {
    private var cache: [ExecConfig: ExecCredential] = [:]
    private var inflight: [ExecConfig: Task<ExecCredential, Error>] = [:]
    /// A plugin that just failed fails the requests that follow at once (for a while), instead of
    /// being run again for each of them (a plugin that hangs would cost its timeout each time).
    private var failures: [ExecConfig: (error: Error, at: Date)] = [:]
    private let failureMemory: TimeInterval = 30
    private let provider: ExecTokenProvider?
    private let environment: KubeEnvironment
    private let logger: Logger
    /// Credentials are refreshed this long before they expire.
    private let skew: TimeInterval = 10

    public init(provider: ExecTokenProvider?, environment: KubeEnvironment, logger: Logger) {
        self.provider = provider; self.environment = environment; self.logger = logger
    }

    /// The cached credential if still valid, else a fresh one (provider first, then the command).
    public func credential(for config: ExecConfig, now: Date = Date()) async throws -> ExecCredential {
        if let c = cache[config], c.expirationTimestamp.map({ $0.timeIntervalSince(now) > skew }) ?? true {
            return c
        }
        if let t = inflight[config] { return try await t.value }
        if let f = failures[config], now.timeIntervalSince(f.at) < failureMemory { throw f.error }
        let provider = provider, environment = environment, logger = logger
        let task = Task<ExecCredential, Error> {
            if let provider, let c = try await provider(config) {
                logger.debug("exec credential from in-process provider", metadata: ["command": "\(config.command)"])
                return c
            }
            return try await ExecPluginRunner.run(config, environment: environment, logger: logger)
        }
        inflight[config] = task
        defer { inflight[config] = nil }
        do {
            let c = try await task.value
            cache[config] = c
            failures[config] = nil
            return c
        } catch {
            failures[config] = (error, Date())
            throw error
        }
    }

    /// Drops a cached credential (after a 401).
    public func invalidate(_ config: ExecConfig) { cache[config] = nil; failures[config] = nil }
}

/// Spawns an exec credential plugin.
public enum ExecPluginRunner {
    /// The `KUBERNETES_EXEC_INFO` document for a config.
    public static func execInfo(_ config: ExecConfig, interactive: Bool) -> JSON {
        var spec = OrderedDictionary<String, JSON>()
        spec["interactive"] = .bool(interactive)
        if config.provideClusterInfo, let cl = config.cluster {
            var c = OrderedDictionary<String, JSON>()
            c["server"] = .string(cl.server)
            if let n = cl.tlsServerName { c["tls-server-name"] = .string(n) }
            c["insecure-skip-tls-verify"] = .bool(cl.insecureSkipTLSVerify)
            if let ca = cl.certificateAuthorityData {
                c["certificate-authority-data"] = .string(Data(ca).base64EncodedString())
            }
            if let p = cl.proxyURL { c["proxy-url"] = .string(p) }
            if let ext = cl.raw.at("extensions")?.arrayValue,
               let e = ext.first(where: { $0["name"]?.stringValue == "client.authentication.k8s.io/exec" }),
               let cfg = e["extension"] {
                c["config"] = cfg
            }
            spec["cluster"] = .object(c)
        }
        return .object(["apiVersion": .string(config.apiVersion), "kind": .string("ExecCredential"), "spec": .object(spec)])
    }

    /// Runs the plugin and parses its credential. Not interactive, it is bounded by
    /// `SGK_HELPER_TIMEOUT` (60 s by default) and by 1 MiB on each of stdout and stderr.
    public static func run(_ config: ExecConfig, environment: KubeEnvironment, logger: Logger) async throws -> ExecCredential {
        let who = config.described
        guard config.apiVersion == "client.authentication.k8s.io/v1" || config.apiVersion == "client.authentication.k8s.io/v1beta1" else {
            throw KubeError.execPlugin(command: who, message: "unsupported apiVersion \(config.apiVersion)")
        }
        let interactive = config.interactiveMode == "Always" && isatty(0) != 0
        if config.interactiveMode == "Always" && !interactive {
            throw KubeError.execPlugin(command: who, message: "interactiveMode is Always but standard input is not a terminal")
        }
        guard let path = resolveCommand(config.command, environment: environment) else {
            var m = "executable \(config.command) not found"
            if let h = config.installHint { m += "\n\n\(h)" }
            throw KubeError.execPlugin(command: who, message: m)
        }
        var env = environment.variables
        for e in config.env { env[e.name] = e.value }
        env["KUBERNETES_EXEC_INFO"] = JSONCodec.serialize(execInfo(config, interactive: interactive), pretty: false)
        logger.debug("running exec credential plugin", metadata: ["command": "\(config.command)"])

        let timeout: Double
        do { timeout = try HelperProcess.timeout(environment: environment.variables) } catch {
            throw KubeError.config("\(error)")
        }
        let result: HelperResult
        do {
            result = try await HelperProcess.run(executable: path, arguments: config.args, environment: env,
                                                 timeout: timeout, interactive: interactive)
        } catch {
            throw KubeError.execPlugin(command: who, message: "\(error)")
        }
        guard result.termination == .exited(0) else {
            // The kubeconfig's own env values for the plugin (API keys) are masked too.
            let text = String(decoding: result.stderr.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let msg = Redaction.redact(ExecPluginRunner.maskTokens(text), secrets: config.env.map(\.value).filter { $0.count >= 4 })
            throw KubeError.execPlugin(command: who, message: "\(result.termination)\(msg.isEmpty ? "" : ": " + String(msg.suffix(500)))")
        }
        do {
            return try ExecCredential.parse(String(decoding: result.stdout, as: UTF8.self), expectedAPIVersion: config.apiVersion)
        } catch {
            throw KubeError.execPlugin(command: who, message: "\(error)")
        }
    }

    static func resolveCommand(_ command: String, environment: KubeEnvironment) -> String? {
        let fm = FileManager.default
        if command.contains("/") { return fm.isExecutableFile(atPath: command) ? command : nil }
        let pathVar = environment.variables["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in pathVar.split(separator: ":") {
            let p = (String(dir) as NSString).appendingPathComponent(command)
            if fm.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// A plugin's stderr for an error message, with anything shaped like a token (a run of 32 or
    /// more token characters) masked: plugins print what they were given when they fail.
    static func maskTokens(_ text: String) -> String {
        Redaction.redact(SecretText.mask(text))
    }
}

/// Parses an RFC 3339 timestamp (with or without fractional seconds).
public func parseRFC3339(_ s: String) -> Date? {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    if let d = f.date(from: s) { return d }
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: s)
}

/// Formats a date as RFC 3339 in UTC (`2026-01-02T03:04:05Z`).
public func formatRFC3339(_ d: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: d)
}
