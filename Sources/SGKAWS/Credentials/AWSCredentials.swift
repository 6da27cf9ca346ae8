import Foundation

/// AWS access key credentials. `description` never shows the secret or the token.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public var expiration: Date?
    /// Which provider produced them (`environment`, `shared-credentials-file`, `assume-role`, …).
    public var source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil, source: String = "static") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    /// True when they expire within `margin` seconds of `now`.
    public func expires(within margin: TimeInterval, now: Date = Date()) -> Bool {
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) < margin
    }

    public var description: String {
        var s = "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>"
        if sessionToken != nil { s += ", sessionToken: <redacted>" }
        if let expiration { s += ", expiration: \(SigV4Time.iso8601(expiration))" }
        return s + ", source: \(source))"
    }
    public var debugDescription: String { description }
}

/// Anything that can hand out credentials; implementations must be safe to call concurrently.
public protocol AWSCredentialProvider: Sendable {
    /// Current credentials, refreshed as needed.
    func credentials() async throws -> AWSCredentials
}

/// Always the same credentials.
public struct StaticCredentialProvider: AWSCredentialProvider {
    public let value: AWSCredentials
    public init(_ value: AWSCredentials) { self.value = value }
    public func credentials() async throws -> AWSCredentials { value }
}

/// Why no credentials could be produced.
public struct CredentialsError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Each provider tried, with why it gave nothing.
    public var tried: [String]
    /// A short name for scripts to tell the failures apart (`NoCredentials`, `PartialCredentials`, …).
    public var code: String
    public var hint: String?
    public init(message: String, tried: [String] = [], code: String = "CredentialsError", hint: String? = nil) {
        self.message = message; self.tried = tried; self.code = code; self.hint = hint
    }
    public var description: String {
        guard !tried.isEmpty else { return message }
        return message + "\n  tried:\n" + tried.map { "    - \($0)" }.joined(separator: "\n")
    }
}
