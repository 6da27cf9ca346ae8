import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SGKData

/// What may be written to the history, and the history file itself.
public enum HistoryPolicy {
    /// Whether an entered statement may be recorded: not when its first line
    /// starts with a space (bash `ignorespace`), is blank, or looks like it holds a secret.
    public static func mayRecord(_ entry: String) -> Bool {
        if entry.hasPrefix(" ") || entry.hasPrefix("\t") { return false }
        if entry.allSatisfy(\.isWhitespace) { return false }
        return !looksSecret(entry)
    }

    static let secretPatterns: [String] = [
        // An AWS secret access key: 40 base64-ish characters after its name or "secret".
        #"(?i)(aws_secret_access_key|secret_?access_?key|secret[_-]?key|secret)["']?\s*[:=]?\s*["']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"#,
        // A bearer token.
        #"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"#,
        // An EKS token (what `aws eks get-token` returns).
        #"k8s-aws-v1\.[A-Za-z0-9_=-]*"#,
        // A JWT (service-account tokens, OIDC id tokens).
        #"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}"#,
        // A session token, by name or by the prefixes STS gives them.
        #"(?i)(aws_session_token|session[_-]?token|security[_-]?token|x-amz-security-token)["']?\s*[:=]?\s*["']?[A-Za-z0-9/+=]{16,}"#,
        #"(IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]*"#,
        // Passwords given inline.
        #"(?i)(password|passwd)["']?\s*[:=]\s*\S+"#,
        // Anything that long and base64-ish is a token.
        #"[A-Za-z0-9/+=_-]{100,}"#,
    ]

    /// True when the text holds something that looks like a credential.
    public static func looksSecret(_ text: String) -> Bool {
        for p in secretPatterns where matches(p, text) { return true }
        // An access key id is recorded only when nothing secret-like is near it.
        if matches(#"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"#, text),
           matches(#"(?i)secret|session|token|(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"#, text) {
            return true
        }
        return false
    }

    static func matches(_ pattern: String, _ text: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return false }
        return re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// The history file: `$SGK_HISTORY`, else `~/.sgk_history`; created 0600.
/// One entry a line; a multi-line statement is one entry with `\n` escaped.
public final class HistoryFile {
    public let path: String
    public let limit: Int

    public init(path: String, limit: Int = 1000) { self.path = path; self.limit = limit }

    /// The file for an environment (`SGK_HISTORY`, `HOME`).
    public convenience init(environment: [String: String]) {
        if let p = environment["SGK_HISTORY"], !p.isEmpty {
            self.init(path: p)
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            self.init(path: (home.hasSuffix("/") ? home : home + "/") + ".sgk_history")
        }
    }

    /// The recorded entries, oldest first (at most `limit`).
    public func load() -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map { HistoryFile.decode(String($0)) }
        return Array(lines.suffix(limit))
    }

    /// Appends an entry, creating the file with mode 0600 (and tightening a wider mode).
    @discardableResult
    public func append(_ entry: String) -> Bool {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_mode & 0o077 != 0 { _ = fchmod(fd, 0o600) }
        let bytes = Array((HistoryFile.encode(entry) + "\n").utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    static func encode(_ s: String) -> String {
        s.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    static func decode(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var escaped = false
        for ch in s {
            if escaped {
                out.append(ch == "n" ? "\n" : ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        if escaped { out.append("\\") }
        return out
    }
}
