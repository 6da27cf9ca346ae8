import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SGKData
import SGKHTTP

/// The default credential chain, in botocore's order:
///
/// 1. environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) — skipped when the
///    profile was named explicitly;
/// 2. assume-role profile (`role_arn` + `source_profile` or `credential_source`) via STS AssumeRole;
/// 3. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, or profile `web_identity_token_file`)
///    via STS AssumeRoleWithWebIdentity;
/// 4. static keys in the shared credentials file, 5. `credential_process`, 6. static keys in the config file;
/// 7. container credentials (`AWS_CONTAINER_CREDENTIALS_FULL_URI` / `_RELATIVE_URI`);
/// 8. EC2 instance metadata (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
///
/// The first source that answers wins and is remembered; temporary credentials are
/// cached and refreshed `refreshMargin` seconds before they expire. Concurrent callers
/// share one refresh.
public actor AWSCredentialChain: AWSCredentialProvider {
    /// The configuration (environment, files, profile, region) the chain reads.
    public nonisolated let configuration: AWSConfiguration
    /// Refresh this many seconds before expiry (default 5 minutes).
    public nonisolated let refreshMargin: TimeInterval
    let transport: AWSTransport
    let logger: Logger
    private var cached: AWSCredentials?
    private var winner: Source?
    private var inFlight: Task<(AWSCredentials, Source), Error>?

    enum Source: Sendable {
        case environment
        case profile(String)
        case webIdentityEnv
        case container
        case imds
    }

    /// A chain with its own HTTP plumbing is created by `AWSClient`; use this to share a transport.
    public init(configuration: AWSConfiguration, httpTransport: HTTPTransport, refreshMargin: TimeInterval = 300, logger: Logger = Logger(label: "sgk.aws")) {
        self.init(configuration: configuration, transport: AWSTransport(transport: httpTransport), refreshMargin: refreshMargin, logger: logger)
    }

    init(configuration: AWSConfiguration, transport: AWSTransport, refreshMargin: TimeInterval = 300, logger: Logger) {
        self.configuration = configuration
        self.transport = transport
        self.refreshMargin = refreshMargin
        self.logger = logger
    }

    /// Current credentials: cached, refreshed before expiry, or resolved through the chain.
    public func credentials() async throws -> AWSCredentials {
        if let cached, !cached.expires(within: refreshMargin) { return cached }
        if let inFlight { return try await inFlight.value.0 }
        let winner = self.winner
        let task = Task { [configuration, transport, logger] in
            let r = Resolver(config: configuration, transport: transport, logger: logger)
            if let winner {
                return (try await r.resolve(winner), winner)
            }
            return try await r.resolveChain()
        }
        inFlight = task
        defer { inFlight = nil }
        do {
            let (creds, source) = try await task.value
            // Fresh credentials that have already expired (a credential_process or
            // AWS_CREDENTIAL_EXPIRATION in the past) would only be refused by AWS: say so here.
            if let exp = creds.expiration, exp <= Date() {
                throw CredentialsError(message: "the credentials from \(creds.source) expired at \(SigV4Time.iso8601(exp))", code: "ExpiredCredentials",
                                       hint: "refresh them (log in again, re-run the credential process) or check the clock")
            }
            self.cached = creds
            self.winner = source
            return creds
        } catch {
            // Advisory refresh failed: keep using credentials that have not expired yet.
            if let cached, !cached.expires(within: 0) {
                logger.debug("credential refresh failed, using cached credentials: \(error)")
                return cached
            }
            throw error
        }
    }

    /// Forgets cached credentials and the remembered source.
    public func invalidate() {
        cached = nil
        winner = nil
    }
}

/// Does the work of one resolution (not an actor: no state).
struct Resolver: Sendable {
    let config: AWSConfiguration
    let transport: AWSTransport
    let logger: Logger

    var env: [String: String] { config.environment }
    func envValue(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }

    func resolve(_ source: AWSCredentialChain.Source) async throws -> AWSCredentials {
        switch source {
        case .environment:
            guard let c = try environmentCredentials() else { throw CredentialsError(message: "environment credentials disappeared") }
            return c
        case .profile(let name):
            var visited: [String] = []
            guard let c = try await profileCredentials(name, visited: &visited, topLevel: true) else {
                throw CredentialsError(message: "profile \(name) no longer provides credentials")
            }
            return c
        case .webIdentityEnv:
            guard let c = try await webIdentityFromEnvironment() else { throw CredentialsError(message: "web identity variables disappeared") }
            return c
        case .container:
            guard let c = try await containerCredentials() else { throw CredentialsError(message: "container credentials variables disappeared") }
            return c
        case .imds:
            guard let c = try await imdsCredentials() else { throw CredentialsError(message: "instance metadata gave no credentials") }
            return c
        }
    }

    func resolveChain() async throws -> (AWSCredentials, AWSCredentialChain.Source) {
        var tried: [String] = []
        let profile = config.profile
        // A config or credentials file that cannot be read (a folder, binary, not UTF-8) is an
        // error, as in the AWS CLI: reading it as empty would look for credentials elsewhere.
        if let problem = config.shared.problems.first {
            throw CredentialsError(message: "cannot read the AWS config: \(problem)", code: "ConfigParseError")
        }
        // 1. environment
        if config.profileIsExplicit {
            tried.append("environment: skipped (profile \(profile) named explicitly)")
        } else if let c = try environmentCredentials() {
            return (c, .environment)
        } else {
            tried.append("environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY not set")
        }
        let profileExists = config.shared.profiles[profile] != nil
        let profileNamed = config.profileIsExplicit || envValue("AWS_PROFILE") != nil || envValue("AWS_DEFAULT_PROFILE") != nil
        if !profileExists, profileNamed, profile != "default" {
            throw CredentialsError(message: "the AWS profile \"\(profile)\" was not found in the config or credentials file", tried: tried)
        }
        let p = config.shared.profiles[profile] ?? [:]
        func has(_ k: String) -> Bool { !(p[k] ?? "").isEmpty }
        // 2. assume-role profile
        if has("role_arn"), has("source_profile") || has("credential_source") {
            var visited: [String] = []
            if let c = try await profileCredentials(profile, visited: &visited, topLevel: true) { return (c, .profile(profile)) }
        }
        if has("role_arn"), !has("source_profile"), !has("credential_source"), !has("web_identity_token_file") {
            throw CredentialsError(message: "profile \(profile) has role_arn but neither source_profile, credential_source nor web_identity_token_file",
                                   tried: tried, code: "PartialCredentials", hint: "add source_profile = PROFILE (whose keys assume the role) to profile \(profile)")
        }
        tried.append("assume-role profile: profile \(profile) has no role_arn")
        // 3. web identity
        if let c = try await webIdentityFromEnvironment() { return (c, .webIdentityEnv) }
        if has("role_arn"), has("web_identity_token_file") {
            var visited: [String] = []
            if let c = try await profileCredentials(profile, visited: &visited, topLevel: true) { return (c, .profile(profile)) }
        }
        tried.append("web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN not set, no web_identity_token_file in profile \(profile)")
        // 4-6. static keys / credential_process
        if let c = try staticKeys(profile, fromCredentialsFileOnly: true) { return (c, .profile(profile)) }
        tried.append("shared credentials file: no keys for profile \(profile)")
        if has("credential_process") {
            var visited: [String] = []
            if let c = try await profileCredentials(profile, visited: &visited, topLevel: true) { return (c, .profile(profile)) }
        }
        tried.append("credential_process: none in profile \(profile)")
        if let c = try staticKeys(profile, fromCredentialsFileOnly: false) { return (c, .profile(profile)) }
        tried.append("config file: no keys for profile \(profile)")
        if has("sso_session") || has("sso_start_url") {
            tried.append("sso: profile \(profile) uses IAM Identity Center, which sgk does not support; "
                + "use `credential_process = aws configure export-credentials --profile \(profile) --format process` in another profile")
        }
        // 7. container
        if let c = try await containerCredentials() { return (c, .container) }
        tried.append("container: AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI not set")
        // 8. IMDS
        do {
            if let c = try await imdsCredentials() { return (c, .imds) }
            tried.append("EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED")
        } catch {
            tried.append("EC2 instance metadata: \(error)")
        }
        throw CredentialsError(message: "no AWS credentials found", tried: tried, code: "NoCredentials",
                               hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE to a profile with credentials (aws configure)")
    }

    // MARK: sources

    func environmentCredentials() throws -> AWSCredentials? {
        let id = envValue("AWS_ACCESS_KEY_ID")
        let secret = envValue("AWS_SECRET_ACCESS_KEY")
        if id == nil, secret == nil { return nil }
        guard let id, let secret else {
            throw CredentialsError(message: "partial credentials in the environment: \(id == nil ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") is missing",
                                   code: "PartialCredentials", hint: "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither")
        }
        let token = envValue("AWS_SESSION_TOKEN") ?? envValue("AWS_SECURITY_TOKEN")
        let exp = envValue("AWS_CREDENTIAL_EXPIRATION").flatMap(SigV4Time.parseISO8601)
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token, expiration: exp, source: "environment")
    }

    func staticKeys(_ profile: String, fromCredentialsFileOnly: Bool) throws -> AWSCredentials? {
        let values = fromCredentialsFileOnly ? (config.shared.credentialsFileProfiles[profile] ?? [:]) : (config.shared.profiles[profile] ?? [:])
        let id = values["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = values["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
        if id == nil, secret == nil { return nil }
        guard let id, let secret else {
            throw CredentialsError(message: "partial credentials in profile \(profile): \(id == nil ? "aws_access_key_id" : "aws_secret_access_key") is missing",
                                   code: "PartialCredentials", hint: "a profile holds both aws_access_key_id and aws_secret_access_key, or neither")
        }
        let token = values["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 } ?? values["aws_security_token"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token,
                              source: fromCredentialsFileOnly ? "shared-credentials-file" : "config-file")
    }

    /// Credentials for a profile, following `source_profile` chains.
    func profileCredentials(_ name: String, visited: inout [String], topLevel: Bool) async throws -> AWSCredentials? {
        guard let p = config.shared.profiles[name] else {
            throw CredentialsError(message: "the AWS profile \"\(name)\" was not found")
        }
        func v(_ k: String) -> String? { p[k].flatMap { $0.isEmpty ? nil : $0 } }
        if let roleARN = v("role_arn") {
            if let tokenFile = v("web_identity_token_file") {
                return try await webIdentity(roleARN: roleARN, tokenFile: tokenFile, sessionName: v("role_session_name"), durationSeconds: v("duration_seconds").flatMap { Int($0) })
            }
            let source: AWSCredentials
            if let sourceProfile = v("source_profile") {
                if visited.contains(sourceProfile) && sourceProfile != name {
                    throw CredentialsError(message: "circular source_profile chain: \((visited + [name, sourceProfile]).joined(separator: " → "))",
                                           code: "InvalidConfig", hint: "one profile of the chain must hold keys (or credential_source) instead of a source_profile")
                }
                visited.append(name)
                if sourceProfile == name {
                    guard let s = try staticKeys(name, fromCredentialsFileOnly: false) else {
                        throw CredentialsError(message: "profile \(name) names itself as source_profile but has no keys")
                    }
                    source = s
                } else {
                    guard let s = try await profileCredentials(sourceProfile, visited: &visited, topLevel: false) else {
                        throw CredentialsError(message: "source_profile \(sourceProfile) of profile \(name) provides no credentials")
                    }
                    source = s
                }
            } else if let cs = v("credential_source") {
                switch cs {
                case "Environment":
                    guard let s = try environmentCredentials() else {
                        throw CredentialsError(message: "credential_source Environment of profile \(name): no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
                    }
                    source = s
                case "Ec2InstanceMetadata":
                    guard let s = try await imdsCredentials() else {
                        throw CredentialsError(message: "credential_source Ec2InstanceMetadata of profile \(name): instance metadata is disabled")
                    }
                    source = s
                case "EcsContainer":
                    guard let s = try await containerCredentials() else {
                        throw CredentialsError(message: "credential_source EcsContainer of profile \(name): no container credentials variables")
                    }
                    source = s
                default:
                    throw CredentialsError(message: "profile \(name): unsupported credential_source \(cs) (Environment, Ec2InstanceMetadata, EcsContainer)")
                }
            } else {
                throw CredentialsError(message: "profile \(name) has role_arn but neither source_profile, credential_source nor web_identity_token_file")
            }
            return try await assumeRole(
                roleARN: roleARN, source: source, sessionName: v("role_session_name"), externalID: v("external_id"),
                durationSeconds: v("duration_seconds").flatMap { Int($0) }, mfaSerial: v("mfa_serial"))
        }
        if let s = try staticKeys(name, fromCredentialsFileOnly: false) {
            var s = s
            if config.shared.credentialsFileProfiles[name]?["aws_access_key_id"] != nil { s.source = "shared-credentials-file" }
            return s
        }
        if let cmd = v("credential_process") { return try await credentialProcess(cmd, profile: name) }
        return nil
    }

    // MARK: STS

    private func stsClient(credentials: AWSCredentials?) -> AWSClient {
        AWSClient(configuration: config, credentialProvider: StaticCredentialProvider(credentials ?? AWSCredentials(accessKeyID: "", secretAccessKey: "")),
                  transport: transport, retryPolicy: .standard, logger: logger)
    }

    private func defaultSessionName() -> String { "sgk-session-\(Int(Date().timeIntervalSince1970))" }

    func assumeRole(roleARN: String, source: AWSCredentials, sessionName: String?, externalID: String?, durationSeconds: Int?, mfaSerial: String?) async throws -> AWSCredentials {
        if mfaSerial != nil {
            throw CredentialsError(message: "assume-role with mfa_serial needs an interactive MFA code, which sgk does not prompt for")
        }
        let client = stsClient(credentials: source)
        var r = try await client.sts.assumeRole(roleARN: roleARN, sessionName: sessionName ?? defaultSessionName(), externalID: externalID, durationSeconds: durationSeconds)
        r.credentials.source = "assume-role"
        return r.credentials
    }

    func webIdentityFromEnvironment() async throws -> AWSCredentials? {
        guard let file = envValue("AWS_WEB_IDENTITY_TOKEN_FILE"), let role = envValue("AWS_ROLE_ARN") else { return nil }
        return try await webIdentity(roleARN: role, tokenFile: file, sessionName: envValue("AWS_ROLE_SESSION_NAME"), durationSeconds: nil)
    }

    func webIdentity(roleARN: String, tokenFile: String, sessionName: String?, durationSeconds: Int?) async throws -> AWSCredentials {
        let token: String
        do {
            token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw CredentialsError(message: "cannot read web identity token file \(tokenFile): \(error.localizedDescription)")
        }
        let client = stsClient(credentials: nil)
        var r = try await client.sts.assumeRoleWithWebIdentity(
            roleARN: roleARN, sessionName: sessionName ?? defaultSessionName(), webIdentityToken: token, durationSeconds: durationSeconds)
        r.credentials.source = "assume-role-with-web-identity"
        return r.credentials
    }

    // MARK: process

    /// Runs a profile's `credential_process` with `/bin/sh -c` (as botocore splits and runs it),
    /// bounded by `SGK_HELPER_TIMEOUT` (60 s by default) and 1 MiB of output on each stream.
    func credentialProcess(_ command: String, profile: String) async throws -> AWSCredentials {
        let what = "credential_process of profile \(profile)"
        let timeout: Double
        do { timeout = try HelperProcess.timeout(environment: env) } catch {
            throw CredentialsError(message: "\(error)", code: "InvalidConfig")
        }
        let result: HelperResult
        do {
            result = try await HelperProcess.run(executable: "/bin/sh", arguments: ["-c", command], environment: env, timeout: timeout)
        } catch {
            throw CredentialsError(message: "\(what) \(error)", code: "CredentialProcessError")
        }
        guard result.termination == .exited(0) else {
            // Helpers print what they hold when they fail: keys and tokens are masked.
            let msg = SecretText.mask(String(decoding: result.stderr.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            throw CredentialsError(message: "\(what) \(result.termination)\(msg.isEmpty ? "" : ": " + String(msg.suffix(500)))",
                                   code: "CredentialProcessError")
        }
        if result.stdout.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) {
            throw CredentialsError(message: "\(what) printed nothing on its standard output", code: "CredentialProcessError",
                                   hint: "the process must print {\"Version\": 1, \"AccessKeyId\": …, \"SecretAccessKey\": …} on standard output")
        }
        let json: JSON
        do { json = try JSONCodec.parse(bytes: result.stdout) } catch {
            // The position only: the text may hold part of a key.
            throw CredentialsError(message: "\(what): its output is not JSON (at line \(error.line), column \(error.column))", code: "CredentialProcessError",
                                   hint: "the process must print {\"Version\": 1, \"AccessKeyId\": …, \"SecretAccessKey\": …} on standard output")
        }
        guard json["Version"]?.intValue == 1 else {
            throw CredentialsError(message: "\(what): its output must have \"Version\": 1", code: "CredentialProcessError")
        }
        guard let id = json["AccessKeyId"]?.stringValue, let secret = json["SecretAccessKey"]?.stringValue else {
            throw CredentialsError(message: "\(what): its output lacks AccessKeyId/SecretAccessKey", code: "CredentialProcessError")
        }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: json["SessionToken"]?.stringValue,
                              expiration: json["Expiration"]?.stringValue.flatMap(SigV4Time.parseISO8601), source: "credential_process")
    }

    // MARK: container

    func containerCredentials() async throws -> AWSCredentials? {
        let url: String
        if let rel = envValue("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = "http://169.254.170.2" + (rel.hasPrefix("/") ? rel : "/" + rel)
        } else if let full = envValue("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard let c = URLComponents(string: full), let host = c.host else {
                throw CredentialsError(message: "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
            }
            let allowed = ["localhost", "169.254.170.2", "169.254.170.23", "::1", "[::1]", "fd00:ec2::23", "[fd00:ec2::23]"]
            guard c.scheme == "https" || host.hasPrefix("127.") || allowed.contains(host) else {
                throw CredentialsError(message: "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback/container host, not \(host)")
            }
            url = full
        } else {
            return nil
        }
        var headers = HTTPHeaders()
        if let file = envValue("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            do {
                let t = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                headers.add(name: "Authorization", value: t)
            } catch {
                throw CredentialsError(message: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(file)")
            }
        } else if let t = envValue("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            headers.add(name: "Authorization", value: t)
        }
        headers.add(name: "Accept", value: "application/json")
        let resp: RawResponse
        do {
            resp = try await transport.send(method: .GET, url: url, headers: headers, body: nil, timeout: .seconds(2), logger: logger)
        } catch {
            throw CredentialsError(message: "container credentials endpoint \(SecretText.redactedURL(url)) unreachable: \(error)")
        }
        guard resp.status == 200 else { throw CredentialsError(message: "container credentials endpoint answered HTTP \(resp.status)") }
        return try parseCredentialJSON(resp.body, source: "container-role", what: "container credentials")
    }

    func parseCredentialJSON(_ body: [UInt8], source: String, what: String) throws -> AWSCredentials {
        guard let json = try? JSONCodec.parse(bytes: body),
              let id = json["AccessKeyId"]?.stringValue, let secret = json["SecretAccessKey"]?.stringValue else {
            throw CredentialsError(message: "\(what): response lacks AccessKeyId/SecretAccessKey")
        }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: json["Token"]?.stringValue ?? json["SessionToken"]?.stringValue,
                              expiration: json["Expiration"]?.stringValue.flatMap(SigV4Time.parseISO8601), source: source)
    }

    // MARK: IMDS

    func imdsCredentials() async throws -> AWSCredentials? {
        if envValue("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" { return nil }
        var base = envValue("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? config.shared.value("ec2_metadata_service_endpoint", profile: config.profile)
            ?? "http://169.254.169.254"
        while base.hasSuffix("/") { base.removeLast() }
        let timeoutSeconds = envValue("AWS_METADATA_SERVICE_TIMEOUT").flatMap { Int64($0) } ?? 1
        let timeout = TimeAmount.seconds(max(1, timeoutSeconds))
        var token: String?
        do {
            var h = HTTPHeaders()
            h.add(name: "x-aws-ec2-metadata-token-ttl-seconds", value: "21600")
            let r = try await transport.send(method: .PUT, url: base + "/latest/api/token", headers: h, body: [], timeout: timeout, logger: logger)
            if r.status == 200 { token = String(decoding: r.body, as: UTF8.self) }
            else if r.status == 400 { throw CredentialsError(message: "IMDS token request rejected (HTTP 400)") }
            // 403/404/405: fall back to IMDSv1 as botocore does
        } catch let e as CredentialsError {
            throw e
        } catch {
            throw CredentialsError(message: "no instance metadata service at \(base) (\(Redactor.redact(String(describing: error))))")
        }
        var h = HTTPHeaders()
        if let token { h.add(name: "x-aws-ec2-metadata-token", value: token) }
        let listURL = base + "/latest/meta-data/iam/security-credentials/"
        let list = try await transport.send(method: .GET, url: listURL, headers: h, body: nil, timeout: timeout, logger: logger)
        guard list.status == 200 else { throw CredentialsError(message: "instance metadata: no IAM role attached (HTTP \(list.status))") }
        guard let role = String(decoding: list.body, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw CredentialsError(message: "instance metadata: no IAM role attached")
        }
        let cr = try await transport.send(method: .GET, url: listURL + URIEncoding.encode(role), headers: h, body: nil, timeout: timeout, logger: logger)
        guard cr.status == 200 else { throw CredentialsError(message: "instance metadata: role \(role) credentials HTTP \(cr.status)") }
        return try parseCredentialJSON(cr.body, source: "iam-role", what: "instance metadata")
    }
}
