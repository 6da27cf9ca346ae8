import OrderedCollections
import SGKData

/// JSON/YAML text ↔ values.
public enum SGKDataBridge {
    public static func parseJSON(_ s: String) throws -> Value { Value(json: try JSONCodec.parse(s)) }
    public static func parseYAMLDocuments(_ s: String) throws -> [Value] { try YAMLCodec.parseDocuments(s).map(Value.init(json:)) }
    public static func emitJSON(_ v: Value, pretty: Bool) -> String { JSONCodec.serialize(v.json, pretty: pretty) }

    /// JSON text of a value that JSON can hold: inf and nan have no JSON number (they would be
    /// written as null without a word), so they are an error naming where they are.
    public static func checkedJSON(_ v: Value, pretty: Bool) throws -> String {
        var stack: [(Value, String)] = [(v, "")]
        while let (x, path) = stack.popLast() {
            switch x {
            case .double(let d) where !d.isFinite:
                throw CommandError("JSON has no number for \(Value.formatNumber(d))\(path.isEmpty ? "" : " (at \(path))")",
                                   hint: "make it a string or null first, e.g. to-string")
            case .list(let l): for (i, e) in l.enumerated() { stack.append((e, "\(path)[\(i)]")) }
            case .map(let m): for (k, e) in m { stack.append((e, path.isEmpty ? k : "\(path).\(k)")) }
            default: break
            }
        }
        return emitJSON(v, pretty: pretty)
    }
    public static func emitYAML(_ v: Value) -> String { YAMLCodec.emit(v.json) }
}

/// Output formats shared by `-o FORMAT`, the REPL and `print`.
public enum Formatter {
    public static let formats = ["yaml", "json", "table", "wide", "name", "text", "compact"]

    public static func format(_ v: Value, as format: String) throws -> String {
        switch format {
        case "yaml":
            if case .list(let l) = v, l.allSatisfy({ $0.mapValue?["kind"] != nil }) , !l.isEmpty {
                return YAMLCodec.emitDocuments(l.map(\.json))
            }
            return SGKDataBridge.emitYAML(v)
        case "json": return try SGKDataBridge.checkedJSON(v, pretty: true) + "\n"
        case "compact": return try SGKDataBridge.checkedJSON(v, pretty: false) + "\n"
        case "table", "wide": return table(v) ?? (SGKDataBridge.emitYAML(v))
        case "name": return names(v)
        case "text": return v.text + "\n"
        default:
            throw CommandError("unknown output format '\(format)'", hint: "formats: \(formats.joined(separator: ", "))")
        }
    }

    /// `kind/name` lines for Kubernetes objects, or names/ARNs for other maps.
    static func names(_ v: Value) -> String {
        let items = v.listValue ?? [v]
        var out = ""
        for item in items {
            guard case .map(let m) = item else { out += item.text + "\n"; continue }
            if let kind = m["kind"]?.stringValue, let name = m["metadata"]?["name"]?.stringValue {
                let api = m["apiVersion"]?.stringValue ?? ""
                let group = api.contains("/") ? "." + (api.split(separator: "/").first.map(String.init) ?? "") : ""
                out += "\(kind.lowercased())\(group)/\(name)\n"
            } else if let n = m["name"] ?? m["Name"] ?? m["Arn"] ?? m["arn"] {
                out += n.text + "\n"
            } else {
                out += item.description + "\n"
            }
        }
        return out
    }

    /// A table for a list of maps (columns are the scalar keys, in first-seen order) or a map.
    public static func table(_ v: Value) -> String? {
        switch v {
        case .list(let rows):
            let maps = rows.compactMap(\.mapValue)
            guard !maps.isEmpty, maps.count == rows.count else { return nil }
            var columns: [String] = []
            var seen = Set<String>()
            for m in maps { for (k, x) in m where !seen.contains(k) && isScalar(x) { seen.insert(k); columns.append(k) } }
            guard !columns.isEmpty else { return nil }
            let cells = maps.map { m in columns.map { m[$0].map(cell) ?? "" } }
            return render(header: columns.map { $0.uppercased() }, rows: cells)
        case .map(let m):
            return render(header: ["KEY", "VALUE"], rows: m.map { [$0.key, cell($0.value)] })
        default:
            return nil
        }
    }

    static func isScalar(_ v: Value) -> Bool {
        switch v { case .list, .map, .function: return false; default: return true }
    }

    static func cell(_ v: Value) -> String {
        switch v {
        case .null: return "<none>"
        case .list(let l): return l.map(\.text).joined(separator: ",")
        default: return v.text.replacingAll("\n", with: " ")
        }
    }

    /// Columns padded and separated by three spaces, as kubectl prints them.
    public static func render(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var s = ""
            for (i, c) in cells.enumerated() {
                if i == cells.count - 1 { s += c } else { s += c + String(repeating: " ", count: widths[i] - c.count + 3) }
            }
            return s + "\n"
        }
        return line(header) + rows.map(line).joined()
    }
}
