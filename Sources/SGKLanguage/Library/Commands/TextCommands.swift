import Foundation
import OrderedCollections
import SGKData

/// Text and formats: split, join, replace, lines, yaml parse|emit, json parse|emit.
public enum TextCommands: CommandLibrary {
    public static var commands: [NativeCommand] {
        [split, join, replace, lines, yamlParse, yamlEmit, jsonParse, jsonEmit]
    }

    static let split = NativeCommand(CommandSignature(
        "split", positionals: [.init("separator", optional: true, "the separator text (default: runs of whitespace)")],
        input: .subject,
        summary: "Split a string into a list at every separator (empty parts kept); with no separator, at whitespace.",
        example: "$issuer | split \"/\" | last")) { inv in
        let s = try inv.subjectString()
        guard let sep = try inv.args.optionalString(0, "SEPARATOR") else {
            return .list(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
        }
        if sep.isEmpty { return .list(s.map { .string(String($0)) }) }
        return .list(s.splitAll(sep).map(Value.string))
    }

    static let join = NativeCommand(CommandSignature(
        "join", positionals: [.init("separator", optional: true, "put between items (default: nothing)")],
        input: .subject,
        summary: "Join a list of strings (or numbers, bools) into one string.",
        example: "[\"a\", \"b\"] | join \", \"")) { inv in
        let l = try inv.subjectList("a list")
        let sep = try inv.args.optionalString(0, "SEPARATOR") ?? ""
        var out = ""
        for (i, v) in l.enumerated() {
            if i > 0 { out += sep }
            switch v {
            case .string(let s): out += s
            case .int, .double, .bool, .duration, .null: out += v.text
            default:
                throw CommandError("item [\(i)] is \(v.aTypeName); join takes strings and scalars", hint: "turn items into strings first, e.g. each { $it | to-string }", argument: .input)
            }
        }
        return .string(out)
    }

    static let replace = NativeCommand(CommandSignature(
        "replace", positionals: [.init("old", "the text (or regex) to find"), .init("new", "the replacement; with regex: true, $1 refers to a group")],
        keywords: [.init("regex", isSwitch: true, "OLD is a regular expression")],
        input: .subject,
        summary: "Replace every occurrence of OLD in a string with NEW (regex: true for a regular expression).",
        example: "$yaml | replace \"DELETE_ME\" $role_name")) { inv in
        let s = try inv.subjectString()
        let old = try inv.args.string(0, "OLD")
        let new = try inv.args.string(1, "NEW")
        if try inv.args.bool(keyword: "regex") {
            let re: NSRegularExpression
            do { re = try NSRegularExpression(pattern: old) } catch {
                throw CommandError("invalid regular expression \(Value.quote(old))", hint: "with regex: true, OLD is an ICU regular expression", argument: .positional(0))
            }
            return .string(re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: new))
        }
        guard !old.isEmpty else { throw CommandError("OLD must not be empty", argument: .positional(0)) }
        return .string(s.replacingAll(old, with: new))
    }

    static let lines = NativeCommand(CommandSignature(
        "lines", input: .subject,
        summary: "Split a string into lines (\\n or \\r\\n); a final newline does not add an empty line.",
        example: "(sh kubectl get pods).stdout | lines")) { inv in
        let s = try inv.subjectString()
        if s.isEmpty { return .list([]) }
        // Split on bytes: "\r\n" is one Character, so Character splitting would miss it.
        var parts = s.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true { parts.removeLast() }
        var out: [Value] = []
        out.reserveCapacity(parts.count)
        for p in parts {
            let line = p.last == UInt8(ascii: "\r") ? p.dropLast() : p
            out.append(.string(String(decoding: line, as: UTF8.self)))
        }
        return .list(out)
    }

    static let yamlParse = NativeCommand(CommandSignature(
        "yaml parse",
        keywords: [.init("documents", isSwitch: true, "always return the list of documents, even for one")],
        input: .subject,
        summary: "Parse YAML text: one document gives its value, several (---) give a list of documents.",
        example: "fetch $installer | yaml parse")) { inv in
        let s = try inv.subjectString()
        let docs = try SGKDataBridge.parseYAMLDocuments(s)
        if try inv.args.bool(keyword: "documents") { return .list(docs) }
        switch docs.count {
        case 0: return .null
        case 1: return docs[0]
        default: return .list(docs)
        }
    }

    /// Whether a list should be written as several YAML documents.
    static func isManifestList(_ l: [Value]) -> Bool {
        !l.isEmpty && l.allSatisfy { item in
            guard case .map(let m) = item else { return false }
            return m["kind"] != nil || m["apiVersion"] != nil
        }
    }

    static let yamlEmit = NativeCommand(CommandSignature(
        "yaml emit",
        keywords: [.init("documents", "true: a list is written as ---separated documents; false: as one document (default: documents when every item is a manifest)")],
        input: .subject,
        summary: "Write a value as YAML text; a list of manifests becomes ---separated documents.",
        example: "$manifest | yaml emit | write installer.yaml")) { inv in
        let v = try inv.subject("a value")
        let docs: Bool
        if inv.args.has("documents") { docs = try inv.args.bool(keyword: "documents") } else if case .list(let l) = v { docs = isManifestList(l) } else { docs = false }
        if docs, case .list(let l) = v { return .string(YAMLCodec.emitDocuments(l.map(\.json))) }
        return .string(SGKDataBridge.emitYAML(v))
    }

    static let jsonParse = NativeCommand(CommandSignature(
        "json parse", input: .subject,
        summary: "Parse JSON text into a value (key order and int/double kept).",
        example: "read trust.json | json parse")) { inv in
        try SGKDataBridge.parseJSON(try inv.subjectString())
    }

    static let jsonEmit = NativeCommand(CommandSignature(
        "json emit",
        keywords: [.init("compact", isSwitch: true, flags: ["-c", "--compact"], "one line, no spaces")],
        input: .subject,
        summary: "Write a value as JSON text, pretty-printed (2 spaces) unless compact: true.",
        example: "$trust | json emit compact: true")) { inv in
        let v = try inv.subject("a value")
        return .string(try SGKDataBridge.checkedJSON(v, pretty: !(try inv.args.bool(keyword: "compact"))))
    }
}
