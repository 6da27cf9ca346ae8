import Foundation
import SGKLanguage

/// How the REPL shows a statement's value (`:format`).
public enum DisplayFormat: String, CaseIterable, Sendable {
    /// Scalars plainly, short maps and lists inline, longer ones as YAML,
    /// a list of uniform maps as a table.
    case auto
    case yaml, json, table, inline
}

/// Renders values for the REPL.
public struct Display: Sendable {
    public var format: DisplayFormat
    public var color: Bool
    /// Maps and lists whose inline form is at most this wide are shown inline.
    public var inlineWidth: Int

    public init(format: DisplayFormat = .auto, color: Bool = false, inlineWidth: Int = 80) {
        self.format = format; self.color = color; self.inlineWidth = inlineWidth
    }

    /// The text to show for a value (ends with a newline), or nil for null. A Kubernetes Secret
    /// shows its keys, not its values (as `kubectl describe` does): they are the value's, for a
    /// path (`$s.data.token`) or an explicit `-o yaml` to show.
    public func render(_ v: Value) -> String? {
        if v.isNull { return nil }
        let v = Display.hidingSecretValues(v)
        switch format {
        case .inline: return paint(v) + "\n"
        case .json: return SGKDataBridge.emitJSON(v, pretty: true) + "\n"
        case .yaml: return isScalar(v) ? paint(v) + "\n" : yaml(v)
        case .table:
            if let t = table(v) { return t }
            return isScalar(v) ? paint(v) + "\n" : yaml(v)
        case .auto:
            if isScalar(v) { return paint(v) + "\n" }
            if let t = uniformTable(v) { return t }
            let inline = v.description
            if inline.count <= inlineWidth && !inline.contains("\n") { return paint(v) + "\n" }
            return yaml(v)
        }
    }

    /// A Secret's `data` and `stringData` values replaced by `<hidden: N bytes>`; lists and a
    /// List's `items` are looked through.
    static func hidingSecretValues(_ v: Value) -> Value {
        switch v {
        case .list(let items):
            return .list(items.map(hidingSecretValues))
        case .map(var m):
            if case .list(let items)? = m["items"] { m["items"] = .list(items.map(hidingSecretValues)) }
            guard m["kind"]?.stringValue == "Secret", m["apiVersion"]?.stringValue == "v1" else { return .map(m) }
            for field in ["data", "stringData"] {
                guard case .map(var values)? = m[field] else { continue }
                for (key, value) in values {
                    guard let text = value.stringValue else { continue }
                    let bytes = field == "data" ? (Data(base64Encoded: text)?.count ?? text.utf8.count) : text.utf8.count
                    values[key] = .string("<hidden: \(bytes) bytes>")
                }
                m[field] = .map(values)
            }
            return .map(m)
        default:
            return v
        }
    }

    func isScalar(_ v: Value) -> Bool {
        switch v { case .list, .map: return false; default: return true }
    }

    // MARK: colours (only when asked: a terminal without NO_COLOR)

    static let reset = "\u{1B}[0m"

    func paint(_ v: Value) -> String {
        guard color else { return v.description }
        switch v {
        case .string: return "\u{1B}[32m" + v.description + Display.reset
        case .int, .double, .duration: return "\u{1B}[33m" + v.description + Display.reset
        case .bool, .null: return "\u{1B}[35m" + v.description + Display.reset
        default: return v.description
        }
    }

    func yaml(_ v: Value) -> String {
        var text = SGKDataBridge.emitYAML(v)
        if !text.hasSuffix("\n") { text += "\n" }
        guard color else { return text }
        // Keys in cyan: the text before the first ": " on a line that is not inside a block scalar.
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let s = String(line)
            let body = s.drop { $0 == " " || $0 == "-" }
            guard let r = body.firstRange(of: ": ") ?? (body.hasSuffix(":") ? body.range(of: ":", options: .backwards) : nil) else { return s }
            let key = body[..<r.lowerBound]
            if key.isEmpty || key.contains("\"") || key.contains(" ") { return s }
            let lead = String(s.prefix(s.count - body.count))
            return lead + "\u{1B}[36m" + String(key) + Display.reset + String(body[r.lowerBound...])
        }.joined(separator: "\n")
    }

    // MARK: tables

    func table(_ v: Value) -> String? {
        if let t = kubernetesTable(v) { return t }
        guard let t = SGKLanguage.Formatter.table(v) else { return nil }
        return bold(header: t)
    }

    /// A list of maps that share their keys and hold mostly scalars, or a list of Kubernetes objects.
    func uniformTable(_ v: Value) -> String? {
        guard case .list(let rows) = v, !rows.isEmpty else { return nil }
        let maps = rows.compactMap(\.mapValue)
        guard maps.count == rows.count else { return nil }
        if let t = kubernetesTable(v) { return t }
        guard rows.count >= 2, let first = maps.first else { return nil }
        let keys = Set(first.keys)
        guard maps.allSatisfy({ Set($0.keys) == keys }) else { return nil }
        let scalars = first.values.filter(isScalar).count
        guard scalars * 2 >= first.count, scalars > 0 else { return nil }
        return table(v)
    }

    /// `kubectl get`-style rows: KIND, NAMESPACE (when any), NAME.
    func kubernetesTable(_ v: Value) -> String? {
        guard case .list(let rows) = v, !rows.isEmpty else { return nil }
        var cells: [[String]] = []
        var anyNamespace = false
        for r in rows {
            guard let kind = r["kind"]?.stringValue, let meta = r["metadata"], let name = meta["name"]?.stringValue else { return nil }
            let ns = meta["namespace"]?.stringValue ?? ""
            if !ns.isEmpty { anyNamespace = true }
            cells.append([kind, ns, name])
        }
        let header = anyNamespace ? ["KIND", "NAMESPACE", "NAME"] : ["KIND", "NAME"]
        let body = anyNamespace ? cells : cells.map { [$0[0], $0[2]] }
        return bold(header: SGKLanguage.Formatter.render(header: header, rows: body))
    }

    func bold(header table: String) -> String {
        guard color, let nl = table.firstIndex(of: "\n") else { return table }
        return "\u{1B}[1m" + String(table[..<nl]) + Display.reset + String(table[nl...])
    }
}
