import OrderedCollections
import Yams

/// YAML reader and writer producing/consuming the ordered `JSON` tree.
///
/// Reading uses Yams' Node API (libyaml underneath), keeps mapping key order
/// and resolves scalars the way kubectl does (sigs.k8s.io/yaml, i.e. go-yaml
/// v2, YAML 1.1 flavoured):
///
/// * A quoted scalar (single, double, literal `|`, folded `>`) is always a string.
/// * Plain `null`, `Null`, `NULL`, `~` and the empty scalar are null.
/// * Plain `true/True/TRUE`, `false/False/FALSE` are bools, and so are the YAML 1.1
///   forms `yes/Yes/YES`, `no/No/NO`, `on/On/ON`, `off/Off/OFF`, `y/Y`, `n/N`,
///   exactly as go-yaml v2 (and therefore kubectl) reads them. Quote them to
///   get strings; the emitter always does.
/// * Plain integers: optional sign, decimal, `0x` hex, `0o` octal, `0b` binary,
///   and a leading-`0` octal (`0644` → 420, as for Kubernetes `defaultMode`);
///   `_` separators are ignored. Integers that do not fit in `Int` become doubles.
/// * Plain floats: `1.5`, `1e3`, `.5`, `-1.5E-3`, `.inf`, `-.inf`, `.nan` (all spellings
///   go-yaml v2 accepts). Anything else, including timestamps, is a string.
/// * A number beyond the range of a double (`1e999`, a 400-digit integer) is an error
///   at its position, never infinity (go-yaml would read it as a string: quote it for that);
///   only the `.inf` spellings give infinity.
/// * Explicit tags are honoured: `!!str`, `!!int`, `!!float`, `!!bool`, `!!null`
///   (a value that does not fit its tag is an error); `!!binary`, `!!timestamp`,
///   `!` and unknown tags on scalars give the text as a string.
/// * Anchors and aliases are expanded; merge keys `<<` are applied (explicit keys
///   win, then earlier merge sources). Alias expansion is bounded, so an
///   "alias bomb" is an error rather than a memory exhaustion.
/// * Mapping keys that are not strings become their string form (`1: x` → "1",
///   `true: y` → "true"); collection keys are an error; duplicate keys are an error.
public enum YAMLCodec {
    /// Every non-empty document of a (multi-document) stream. Empty documents,
    /// such as the one after a trailing `---`, are skipped.
    public static func parseDocuments(_ text: String) throws(DataParseError) -> [JSON] {
        try parseDocumentsWithMarks(text).map(\.value)
    }

    /// Exactly one document: no document gives `.null`, several are an error.
    public static func parse(_ text: String) throws(DataParseError) -> JSON {
        let docs = try parseDocumentsWithMarks(text)
        guard docs.count <= 1 else {
            let mark = docs[1].mark
            throw DataParseError(
                format: "YAML",
                message: "expected a single YAML document but found \(docs.count); use parseDocuments for a multi-document stream",
                line: mark?.line ?? 1, column: mark?.column ?? 1)
        }
        return docs.first?.value ?? .null
    }

    /// Block-style YAML (2-space indentation, kubectl layout) ending with "\n".
    /// `parse(emit(x)) == x` for every value x, with two exceptions: NaN (never equal to
    /// itself) and a string that begins with U+FEFF, whose leading BOM Yams drops on reading.
    public static func emit(_ value: JSON) -> String {
        var writer = YAMLWriter()
        writer.document(value)
        return String(decoding: writer.out, as: UTF8.self)
    }

    /// Several documents joined with "---\n".
    public static func emitDocuments(_ docs: [JSON]) -> String {
        docs.map(emit).joined(separator: "---\n")
    }

    // MARK: Reading

    private static func parseDocumentsWithMarks(_ text: String) throws(DataParseError) -> [(value: JSON, mark: Mark?)] {
        let parser: Parser
        do {
            parser = try Parser(yaml: text, resolver: .basic, constructor: .default, encoding: .utf8)
        } catch {
            throw dataParseError(error, text: text)
        }
        var converter = NodeConverter(budget: text.utf8.count + 1_000_000)
        var docs: [(value: JSON, mark: Mark?)] = []
        while true {
            let root: Node?
            do {
                root = try parser.nextRoot()
            } catch {
                throw dataParseError(error, text: text)
            }
            guard let root else { break }
            if case .scalar(let s) = root, s.string.isEmpty, s.style == .plain || s.style == .any,
               s.tag.description.isEmpty {
                continue  // an empty document
            }
            docs.append((try converter.convert(root, depth: 0), root.mark))
        }
        return docs
    }

    /// libyaml's limit on nested block and flow collections (`MAX_NESTING_LEVEL`).
    static let libyamlMaxNesting = 1000

    static func dataParseError(_ error: any Error, text: String) -> DataParseError {
        func make(_ message: String, _ mark: Mark?) -> DataParseError {
            DataParseError(format: "YAML", message: message, line: mark?.line ?? 1, column: mark?.column ?? 1)
        }
        guard let yamlError = error as? YamlError else {
            return make(String(describing: error), nil)
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            // libyaml's "Maximum nesting level reached, set with yaml_set_max_nest_level())" names
            // a C function: say what it means.
            if problem.hasPrefix("Maximum nesting level reached") {
                return make("nesting too deep (more than \(libyamlMaxNesting) levels of lists and mappings)", mark)
            }
            var message = problem
            if let context {
                message += " (\(context.text) started at \(context.mark.line):\(context.mark.column))"
            }
            if character(in: text, line: mark.line, column: mark.column) == "\t" {
                message += "; tabs cannot be used for indentation"
            }
            return make(message, mark)
        case .reader(let problem, let offset, let value, _):
            var message = problem
            if value != -1 { message += " (#x" + String(value, radix: 16, uppercase: true) + ")" }
            var line = 1
            var column = 1
            if let offset {
                var copy = text
                (line, column) = copy.withUTF8 { lineColumn(of: offset, in: $0) }
            }
            return DataParseError(format: "YAML", message: message, line: line, column: column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return make("duplicate mapping key \(keys)", context.mark)
        case .memory:
            return make("out of memory while parsing", nil)
        default:
            return make(String(describing: yamlError), nil)
        }
    }

    /// The Unicode scalar at a 1-based line and column, if any.
    private static func character(in text: String, line: Int, column: Int) -> Unicode.Scalar? {
        var currentLine = 1
        var currentColumn = 1
        for u in text.unicodeScalars {
            if currentLine == line && currentColumn == column { return u }
            if currentLine > line { return nil }
            if u == "\n" {
                currentLine += 1
                currentColumn = 1
            } else {
                currentColumn += 1
            }
        }
        return nil
    }

    // MARK: Scalar resolution (go-yaml v2 rules)

    static let strTag = "tag:yaml.org,2002:str"
    static let intTag = "tag:yaml.org,2002:int"
    static let floatTag = "tag:yaml.org,2002:float"
    static let boolTag = "tag:yaml.org,2002:bool"
    static let nullTag = "tag:yaml.org,2002:null"
    static let mergeTag = "tag:yaml.org,2002:merge"
    static let mapTag = "tag:yaml.org,2002:map"
    static let seqTag = "tag:yaml.org,2002:seq"

    /// Resolves an untagged plain scalar.
    static func resolvePlain(_ s: String) -> JSON {
        guard let first = s.utf8.first else { return .null }
        switch first {
        case UInt8(ascii: "~"), UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "y"), UInt8(ascii: "Y"),
             UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"),
             UInt8(ascii: "o"), UInt8(ascii: "O"):
            switch s {
            case "~", "null", "Null", "NULL": return .null
            case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return .bool(true)
            case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return .bool(false)
            default: return .string(s)
            }
        case UInt8(ascii: "."):
            switch s {
            case ".nan", ".NaN", ".NAN": return .double(.nan)
            case ".inf", ".Inf", ".INF": return .double(.infinity)
            default:
                if isYAMLFloatSyntax(Array(s.utf8)), let d = Double(s) { return .double(d) }
                return .string(s)
            }
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            switch s {
            case "+.inf", "+.Inf", "+.INF": return .double(.infinity)
            case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
            default: break
            }
            var plain = Array(s.utf8)
            if plain.contains(UInt8(ascii: "_")) { plain.removeAll { $0 == UInt8(ascii: "_") } }
            switch parseGoInteger(plain) {
            case .int(let n): return .int(n)
            case .tooLarge(let d): return .double(d)
            case .invalid: break
            }
            if isYAMLFloatSyntax(plain), let d = Double(String(decoding: plain, as: UTF8.self)) {
                return .double(d)
            }
            return .string(s)
        default:
            return .string(s)
        }
    }

    enum IntegerParse { case int(Int), tooLarge(Double), invalid }

    /// Go's `strconv.ParseInt(s, 0, 64)` syntax: sign, then `0x`/`0o`/`0b` prefix,
    /// a leading `0` meaning octal, or decimal.
    static func parseGoInteger(_ b: [UInt8]) -> IntegerParse {
        var k = 0
        var negative = false
        if k < b.count, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") {
            negative = b[k] == UInt8(ascii: "-")
            k += 1
        }
        guard k < b.count else { return .invalid }
        var radix: UInt64 = 10
        if b[k] == UInt8(ascii: "0"), k + 1 < b.count {
            switch b[k + 1] {
            case UInt8(ascii: "x"), UInt8(ascii: "X"): radix = 16; k += 2
            case UInt8(ascii: "o"), UInt8(ascii: "O"): radix = 8; k += 2
            case UInt8(ascii: "b"), UInt8(ascii: "B"): radix = 2; k += 2
            default: radix = 8; k += 1
            }
            guard k < b.count else { return .invalid }
        }
        var value: UInt64 = 0
        var overflow = false
        var approx: Double = 0
        while k < b.count {
            let c = b[k]
            let d: UInt64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt64(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt64(c - UInt8(ascii: "A") + 10)
            default: return .invalid
            }
            guard d < radix else { return .invalid }
            approx = approx * Double(radix) + Double(d)
            if !overflow {
                let (m, o1) = value.multipliedReportingOverflow(by: radix)
                let (s, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { overflow = true } else { value = s }
            }
            k += 1
        }
        if !overflow {
            if negative {
                if value <= UInt64(Int.max) { return .int(-Int(value)) }
                if value == UInt64(Int.max) + 1 { return .int(Int.min) }
            } else if value <= UInt64(Int.max) {
                return .int(Int(value))
            }
        }
        // go-yaml falls back to uint64 (non-negative, no sign) and then to float
        // syntax for decimal; either way the JSON tree holds a double.
        if radix == 10 { return .invalid }  // decimal: the float path gives the exact rounding
        if overflow || negative || b.first == UInt8(ascii: "+") { return .invalid }
        return .tooLarge(approx)
    }

    /// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
    static func isYAMLFloatSyntax(_ b: [UInt8]) -> Bool {
        var k = 0
        func digits() -> Int {
            let start = k
            while k < b.count, b[k] >= UInt8(ascii: "0"), b[k] <= UInt8(ascii: "9") { k += 1 }
            return k - start
        }
        if k < b.count, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") { k += 1 }
        if k < b.count, b[k] == UInt8(ascii: ".") {
            k += 1
            if digits() == 0 { return false }
        } else {
            if digits() == 0 { return false }
            if k < b.count, b[k] == UInt8(ascii: ".") {
                k += 1
                _ = digits()
            }
        }
        if k < b.count, b[k] == UInt8(ascii: "e") || b[k] == UInt8(ascii: "E") {
            k += 1
            if k < b.count, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") { k += 1 }
            if digits() == 0 { return false }
        }
        return k == b.count
    }
}

// MARK: - Node → JSON

private struct NodeConverter {
    /// Remaining nodes that may be produced (bounds alias expansion).
    var budget: Int

    private func error(_ message: String, _ mark: Mark?) -> DataParseError {
        DataParseError(format: "YAML", message: message, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    mutating func convert(_ node: Node, depth: Int) throws(DataParseError) -> JSON {
        budget -= 1
        if budget < 0 {
            throw error("document too large after alias expansion (too many aliases)", node.mark)
        }
        if depth > JSONCodec.maxDepth {
            throw error("nesting too deep (more than \(JSONCodec.maxDepth) levels)", node.mark)
        }
        switch node {
        case .scalar(let s):
            return try scalar(s)
        case .sequence(let seq):
            let tag = seq.tag.description
            if tag.hasPrefix("tag:yaml.org,2002:") && tag != YAMLCodec.seqTag {
                throw error("a sequence cannot have the tag \(shortTag(tag))", seq.mark)
            }
            var array: [JSON] = []
            array.reserveCapacity(seq.count)
            for item in seq {
                array.append(try convert(item, depth: depth + 1))
            }
            return .array(array)
        case .mapping(let mapping):
            return .object(try convertMapping(mapping, depth: depth))
        case .alias(let alias):
            throw error("unresolved alias '\(alias.anchor)'", alias.mark)
        }
    }

    private func shortTag(_ tag: String) -> String {
        tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
    }

    private mutating func convertMapping(_ mapping: Node.Mapping, depth: Int) throws(DataParseError) -> OrderedDictionary<String, JSON> {
        let tag = mapping.tag.description
        if tag.hasPrefix("tag:yaml.org,2002:") && tag != YAMLCodec.mapTag {
            throw error("a mapping cannot have the tag \(shortTag(tag))", mapping.mark)
        }
        var result = OrderedDictionary<String, JSON>(minimumCapacity: mapping.count)
        var hasMerge = false
        for (key, _) in mapping where isMergeKey(key) { hasMerge = true }
        if !hasMerge {
            for (key, value) in mapping {
                let k = try keyString(key)
                // Libyaml's check compares spellings; `1` and `0x1` are the same key "1".
                guard result.updateValue(try convert(value, depth: depth + 1), forKey: k) == nil else {
                    throw error("duplicate mapping key '\(k)'", key.mark)
                }
            }
            return result
        }
        // Explicit keys win over merged ones wherever they appear.
        var explicitKeys = Set<String>()
        for (key, _) in mapping where !isMergeKey(key) {
            explicitKeys.insert(try keyString(key))
        }
        for (key, value) in mapping {
            if isMergeKey(key) {
                let sources: [Node]
                switch value {
                case .mapping: sources = [value]
                case .sequence(let seq): sources = Array(seq)
                default:
                    throw error("the merge key '<<' needs a mapping or a sequence of mappings", value.mark ?? key.mark)
                }
                for source in sources {
                    guard case .mapping(let m) = source else {
                        throw error("the merge key '<<' needs a mapping or a sequence of mappings", source.mark ?? key.mark)
                    }
                    budget -= 1
                    for (k, v) in try convertMapping(m, depth: depth + 1)
                    where !explicitKeys.contains(k) && result[k] == nil {
                        result[k] = v
                    }
                }
            } else {
                let k = try keyString(key)
                result[k] = try convert(value, depth: depth + 1)
            }
        }
        return result
    }

    private func isMergeKey(_ key: Node) -> Bool {
        guard case .scalar(let s) = key, s.string == "<<", s.style == .plain || s.style == .any else { return false }
        let tag = s.tag.description
        // Yams resolves implicit key tags to !!str while checking for duplicates.
        return tag.isEmpty || tag == YAMLCodec.strTag || tag == YAMLCodec.mergeTag
    }

    private func keyString(_ key: Node) throws(DataParseError) -> String {
        guard case .scalar(let s) = key else {
            throw error("mapping keys must be scalars (found a \(key.mapping != nil ? "mapping" : "sequence"))", key.mark)
        }
        let tag = s.tag.description
        let value: JSON
        if (s.style == .plain || s.style == .any) && (tag.isEmpty || tag == YAMLCodec.strTag) {
            // Yams has already turned implicit key tags into !!str; a plain key is resolved.
            value = try resolvePlain(s)
        } else {
            value = try scalar(s)
        }
        switch value {
        case .string(let t): return t
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .double(let d):
            if d.isNaN { return ".nan" }
            if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
            return JSONWriter.formatDouble(d)
        case .array, .object: return s.string
        }
    }

    /// A plain scalar's value; a number too large for a double is an error, not infinity.
    private func resolvePlain(_ s: Node.Scalar) throws(DataParseError) -> JSON {
        let value = YAMLCodec.resolvePlain(s.string)
        if case .double(let d) = value, d.isInfinite, !s.string.lowercased().hasSuffix(".inf") {
            let text = s.string.count > 40 ? s.string.prefix(37) + "…" : s.string
            throw error("number '\(text)' is out of range (doubles reach about 1.8e308); quote it to keep it as a string", s.mark)
        }
        return value
    }

    private func scalar(_ s: Node.Scalar) throws(DataParseError) -> JSON {
        let tag = s.tag.description
        let text = s.string
        if tag.isEmpty {
            if s.style == .plain || s.style == .any { return try resolvePlain(s) }
            return .string(text)
        }
        switch tag {
        case YAMLCodec.nullTag:
            return .null
        case YAMLCodec.boolTag:
            if case .bool(let b) = YAMLCodec.resolvePlain(text) { return .bool(b) }
            throw error("invalid !!bool value '\(text)'", s.mark)
        case YAMLCodec.intTag:
            if case .int(let n) = YAMLCodec.resolvePlain(text) { return .int(n) }
            throw error("invalid !!int value '\(text)'", s.mark)
        case YAMLCodec.floatTag:
            switch try resolvePlain(s) {
            case .int(let n): return .double(Double(n))
            case .double(let d): return .double(d)
            default: throw error("invalid !!float value '\(text)'", s.mark)
            }
        case YAMLCodec.mapTag, YAMLCodec.seqTag:
            throw error("a scalar cannot have the tag \(shortTag(tag))", s.mark)
        default:
            // !!str, !!binary, !!timestamp, the non-specific "!" and unknown tags.
            return .string(text)
        }
    }
}

// MARK: - JSON → YAML

struct YAMLWriter {
    var out: [UInt8] = []

    init() { out.reserveCapacity(1024) }

    mutating func document(_ value: JSON) {
        switch value {
        case .object(let o) where !o.isEmpty:
            writeMapping(o, indent: 0, firstInline: false)
        case .array(let a) where !a.isEmpty:
            writeSequence(a, indent: 0, firstInline: false)
        default:
            writeScalar(value, blockIndent: 2)
            out.append(0x0A)
        }
    }

    private mutating func spaces(_ n: Int) {
        for _ in 0..<n { out.append(0x20) }
    }

    private mutating func append(_ s: String) {
        out.append(contentsOf: s.utf8)
    }

    /// Entries at column `indent`; with `firstInline` the first entry continues the current line.
    private mutating func writeMapping(_ o: OrderedDictionary<String, JSON>, indent: Int, firstInline: Bool) {
        var first = true
        for (key, value) in o {
            if !(first && firstInline) { spaces(indent) }
            first = false
            let keyText = YAMLWriter.scalarText(forKey: key)
            if keyText.utf8.count > 1000 {
                // Simple keys are limited to 1024 characters; use an explicit key.
                append("? ")
                append(keyText)
                out.append(0x0A)
                spaces(indent)
            } else {
                append(keyText)
            }
            out.append(UInt8(ascii: ":"))
            switch value {
            case .object(let inner) where !inner.isEmpty:
                out.append(0x0A)
                writeMapping(inner, indent: indent + 2, firstInline: false)
            case .array(let inner) where !inner.isEmpty:
                out.append(0x0A)
                writeSequence(inner, indent: indent, firstInline: false)
            default:
                out.append(0x20)
                writeScalar(value, blockIndent: indent + 2)
                out.append(0x0A)
            }
        }
    }

    private mutating func writeSequence(_ a: [JSON], indent: Int, firstInline: Bool) {
        var first = true
        for item in a {
            if !(first && firstInline) { spaces(indent) }
            first = false
            out.append(UInt8(ascii: "-"))
            out.append(0x20)
            switch item {
            case .object(let inner) where !inner.isEmpty:
                writeMapping(inner, indent: indent + 2, firstInline: true)
            case .array(let inner) where !inner.isEmpty:
                writeSequence(inner, indent: indent + 2, firstInline: true)
            default:
                writeScalar(item, blockIndent: indent + 2)
                out.append(0x0A)
            }
        }
    }

    /// A scalar (or empty collection) without its line break. Literal block
    /// content, if any, is indented to `blockIndent`.
    private mutating func writeScalar(_ value: JSON, blockIndent: Int) {
        switch value {
        case .null: append("null")
        case .bool(let b): append(b ? "true" : "false")
        case .int(let n): append(String(n))
        case .double(let d): append(YAMLWriter.formatDouble(d))
        case .object: append("{}")
        case .array: append("[]")
        case .string(let s):
            switch YAMLWriter.style(for: s, isKey: false) {
            case .plain: append(s)
            case .doubleQuoted: append(YAMLWriter.doubleQuoted(s))
            case .literal: writeLiteral(s, indent: blockIndent)
            }
        }
    }

    static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        let text = d.description
        // YAML 1.1 readers (PyYAML) need a '.' in a float: "1e+20" → "1.0e+20".
        if !text.contains("."), let e = text.firstIndex(of: "e") {
            return text[..<e] + ".0" + text[e...]
        }
        return text
    }

    static func scalarText(forKey key: String) -> String {
        style(for: key, isKey: true) == .plain ? key : doubleQuoted(key)
    }

    enum Style { case plain, doubleQuoted, literal }

    static func style(for s: String, isKey: Bool) -> Style {
        let b = Array(s.utf8)
        guard let first = b.first, let last = b.last else { return .doubleQuoted }
        var hasNewline = false
        var hasOtherSpecial = false   // needs escapes: cannot be plain or literal
        var asciiOnly = true
        for c in b {
            if c == 0x0A { hasNewline = true } else if c < 0x20 && c != 0x09 || c == 0x7F { hasOtherSpecial = true }
            if c >= 0x80 { asciiOnly = false }
        }
        if !asciiOnly {
            for u in s.unicodeScalars where !isPrintable(u) { hasOtherSpecial = true; break }
        }
        if hasOtherSpecial { return .doubleQuoted }
        if hasNewline {
            return !isKey && literalIsSafe(b) ? .literal : .doubleQuoted
        }
        // Single line: plain unless something would change its meaning.
        if first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 { return .doubleQuoted }
        if b.contains(0x09) { return .doubleQuoted }
        switch first {
        case UInt8(ascii: "-"):
            if b.count == 1 || b[1] == 0x20 || s.hasPrefix("---") { return .doubleQuoted }
        case UInt8(ascii: "?"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"),
             UInt8(ascii: "!"), UInt8(ascii: "|"), UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""),
             UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"), UInt8(ascii: "="), UInt8(ascii: "<"):
            return .doubleQuoted
        case UInt8(ascii: "."):
            if s.hasPrefix("...") { return .doubleQuoted }
        default:
            break
        }
        if last == UInt8(ascii: ":") { return .doubleQuoted }
        var k = 0
        while k + 1 < b.count {
            if b[k] == UInt8(ascii: ":") && b[k + 1] == 0x20 { return .doubleQuoted }
            if b[k] == 0x20 && b[k + 1] == UInt8(ascii: "#") { return .doubleQuoted }
            k += 1
        }
        if case .string = YAMLCodec.resolvePlain(s) {} else { return .doubleQuoted }
        // Things other YAML 1.1 readers take for numbers or timestamps (go-yaml quotes them too).
        if first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") {
            if b.contains(UInt8(ascii: ":")) { return .doubleQuoted }
            if b.count >= 5, b[0...3].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), b[4] == UInt8(ascii: "-") {
                return .doubleQuoted
            }
        }
        return .plain
    }

    private static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09, 0x0A, 0x20...0x7E: return true
        case 0x2028, 0x2029: return false   // YAML 1.1 line breaks
        case 0xA0...0xD7FF: return true
        case 0xE000...0xFFFD: return u.value != 0xFEFF
        case 0x10000...0x10FFFF: return true
        default: return false   // C0/C1 controls (including NEL), DEL, surrogates
        }
    }

    /// A `|` block keeps the string exactly if the first content line does not
    /// start with white space (indentation is auto-detected), no line before it
    /// holds spaces, and the string has some content.
    private static func literalIsSafe(_ b: [UInt8]) -> Bool {
        if b.contains(0x0D) { return false }
        var k = 0
        while k < b.count && b[k] == 0x0A { k += 1 }
        guard k < b.count else { return false }       // only line breaks
        if b[k] == 0x20 || b[k] == 0x09 { return false }
        return true
    }

    private mutating func writeLiteral(_ s: String, indent: Int) {
        let b = Array(s.utf8)
        var trailing = 0
        var end = b.count
        while end > 0 && b[end - 1] == 0x0A { end -= 1; trailing += 1 }
        append(trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+")
        out.append(0x0A)
        var lineStart = 0
        var k = 0
        while k <= end {
            if k == end || b[k] == 0x0A {
                if k > lineStart {
                    spaces(indent)
                    out.append(contentsOf: b[lineStart..<k])
                }
                out.append(0x0A)
                lineStart = k + 1
            }
            k += 1
        }
        for _ in 0..<max(0, trailing - 1) { out.append(0x0A) }
        // The caller appends the final line break; drop ours so exactly one remains.
        out.removeLast()
    }

    static func doubleQuoted(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\t": r += "\\t"
            case "\r": r += "\\r"
            case "\0": r += "\\0"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    r += "\\x" + hex(u.value, width: 2)
                } else if u.value >= 0x80 && !isPrintable(u) || u.value == 0x85 || u.value == 0x2028 || u.value == 0x2029 {
                    r += "\\u" + hex(u.value, width: 4)
                } else {
                    r.unicodeScalars.append(u)
                }
            }
        }
        r += "\""
        return r
    }

    private static func hex(_ v: UInt32, width: Int) -> String {
        let h = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }
}
