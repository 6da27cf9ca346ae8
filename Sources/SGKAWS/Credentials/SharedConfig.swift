import Foundation
import SGKData

/// The parsed `~/.aws/config` and `~/.aws/credentials` files.
///
/// botocore's rules: in the config file a profile is `[profile NAME]` (or `[default]`);
/// in the credentials file it is `[NAME]`. Credentials-file values win for the same key.
/// `[services NAME]` sections hold per-service settings (`iam =` then indented `endpoint_url = …`).
public struct SharedConfig: Sendable {
    /// Profile name → key → value, merged from both files.
    public var profiles: [String: [String: String]]
    /// Profile name → key → value, credentials file only.
    public var credentialsFileProfiles: [String: [String: String]]
    /// `[services NAME]` → `service.key` → value.
    public var services: [String: [String: String]]
    /// `[sso-session NAME]` and similar sections are kept here by their full header.
    public var otherSections: [String: [String: String]]
    /// Lines the AWS CLI would refuse (`FILE line N: …`; never a value, which may be a secret).
    public var problems: [String] = []

    public init(profiles: [String: [String: String]] = [:], credentialsFileProfiles: [String: [String: String]] = [:],
                services: [String: [String: String]] = [:], otherSections: [String: [String: String]] = [:]) {
        self.profiles = profiles
        self.credentialsFileProfiles = credentialsFileProfiles
        self.services = services
        self.otherSections = otherSections
    }

    /// Reads both files as named by the environment (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`),
    /// defaulting to `HOME/.aws/config` and `HOME/.aws/credentials`. Missing files are empty.
    public static func load(environment: [String: String], homeDirectory: String?) -> SharedConfig {
        let home = homeDirectory ?? environment["HOME"] ?? NSHomeDirectory()
        func expand(_ p: String) -> String {
            if p == "~" { return home }
            if p.hasPrefix("~/") { return home + p.dropFirst(1) }
            return p
        }
        let configPath = expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config")
        let credsPath = expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
        var problems: [String] = []
        let configText = readFile(configPath, problems: &problems)
        let credsText = readFile(credsPath, problems: &problems)
        var result = parse(config: configText, credentials: credsText, configName: configPath, credentialsName: credsPath)
        result.problems = problems + result.problems
        return result
    }

    /// The most a config or credentials file may hold (they are a few KiB).
    static let maxFileSize = 16 << 20

    /// A file's text; "" when it does not exist. A folder, an unreadable file, one that is not
    /// UTF-8 or is too large is a problem naming the file (and reads as ""): the AWS CLI refuses them.
    static func readFile(_ path: String, problems: inout [String]) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return "" }
            problems.append("cannot read \(path): \(String(cString: strerror(e)))")
            return ""
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            problems.append("\(path) is a folder, not a file")
            return ""
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                problems.append("cannot read \(path): \(String(cString: strerror(errno)))")
                return ""
            }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > maxFileSize {
                problems.append("\(path) is larger than \(maxFileSize >> 20) MiB: not a config file")
                return ""
            }
        }
        if bytes.contains(0) {
            problems.append("\(path) is not a text file (it holds NUL bytes)")
            return ""
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            // The first line whose bytes are not UTF-8, for the message.
            var line = 1
            for part in bytes.split(separator: 10, omittingEmptySubsequences: false) {
                if String(validating: part, as: UTF8.self) == nil { break }
                line += 1
            }
            problems.append("\(path) is not UTF-8 text (line \(line))")
            return ""
        }
        return text
    }

    /// Builds from the two files' texts.
    public static func parse(config: String, credentials: String, configName: String = "config", credentialsName: String = "credentials") -> SharedConfig {
        var result = SharedConfig()
        for (header, values) in parseINI(config, file: configName, problems: &result.problems) {
            let h = header.trimmingCharacters(in: .whitespaces)
            if h == "default" {
                // `[profile default]` wins over `[default]` when both exist.
                if result.profiles["default"] == nil { result.profiles["default"] = values }
            } else if h.hasPrefix("profile ") || h.hasPrefix("profile\t") {
                let name = h.dropFirst(8).trimmingCharacters(in: .whitespaces)
                result.profiles[name] = values
            } else if h.hasPrefix("services ") {
                result.services[h.dropFirst(9).trimmingCharacters(in: .whitespaces)] = values
            } else {
                result.otherSections[h] = values  // `[name]` without `profile` is not a profile in the config file
            }
        }
        for (header, values) in parseINI(credentials, file: credentialsName, problems: &result.problems) {
            let name = header.trimmingCharacters(in: .whitespaces)
            result.credentialsFileProfiles[name] = values
            result.profiles[name, default: [:]].merge(values) { _, new in new }
        }
        return result
    }

    /// A value of a profile, or nil.
    public func value(_ key: String, profile: String) -> String? {
        guard let v = profiles[profile]?[key], !v.isEmpty else { return nil }
        return v
    }

    /// Section header → key → value; sub-keys under an empty-valued key become `parent.sub`.
    static func parseINI(_ text: String) -> [(String, [String: String])] {
        var ignored: [String] = []
        return parseINI(text, file: "", problems: &ignored)
    }

    static func parseINI(_ text: String, file: String, problems: inout [String]) -> [(String, [String: String])] {
        var sections: [(String, [String: String])] = []
        var current: String?
        var values: [String: String] = [:]
        var parentKey: String?
        var seen = Set<String>()
        func flush() { if let current { sections.append((current, values)) } }
        var lineNumber = 0
        if text.utf8.contains(0) { problems.append("\(file) is not a text file (it holds NUL bytes)"); return [] }
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            var line = String(rawLine).replacingAll("\r", with: "")
            if lineNumber == 1, line.unicodeScalars.first == "\u{FEFF}" { line.unicodeScalars.removeFirst() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"
            if trimmed.hasPrefix("[") && !indented {
                guard trimmed.hasSuffix("]") else {
                    problems.append("\(file) line \(lineNumber): a section header without its closing ']'")
                    flush()
                    current = nil
                    continue
                }
                flush()
                current = String(trimmed.dropFirst().dropLast())
                if !seen.insert(current!.trimmingCharacters(in: .whitespaces)).inserted {
                    problems.append("\(file) line \(lineNumber): section [\(current!)] appears twice")
                }
                values = [:]
                parentKey = nil
                continue
            }
            guard let eq = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                // An indented line without `=` continues the value above (configparser); anything else is not INI.
                if !indented { problems.append("\(file) line \(lineNumber): not a 'key = value' line") }
                continue
            }
            guard current != nil else {
                problems.append("\(file) line \(lineNumber): a setting outside any [section]")
                continue
            }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // Inline comments need whitespace before `#`/`;` (as in configparser).
            for marker in [" #", " ;", "\t#", "\t;"] {
                if let r = value.firstRange(of: marker) { value = value[..<r.lowerBound].trimmingCharacters(in: .whitespaces) }
            }
            if indented, let parentKey {
                values["\(parentKey).\(key)"] = value
            } else {
                values[key] = value
                parentKey = value.isEmpty ? key : nil
            }
        }
        flush()
        return sections
    }
}
