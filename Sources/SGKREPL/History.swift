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
    /// starts with a space (bash `ignorespace`), is blank, looks like it holds a secret, or gives a
    /// value to a name that says secret (`let token = …`, `aws_secret_access_key: …`, `--token …`):
    /// the rule `:vars` hides values by (`SecretText.mayShow`).
    public static func mayRecord(_ entry: String) -> Bool {
        if entry.hasPrefix(" ") || entry.hasPrefix("\t") { return false }
        if entry.allSatisfy(\.isWhitespace) { return false }
        return !looksSecret(entry) && !SecretText.bindsSecretName(entry)
    }

    /// True when the text holds something that looks like a credential (`SecretText`).
    public static func looksSecret(_ text: String) -> Bool { SecretText.looksSecret(text) }
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
