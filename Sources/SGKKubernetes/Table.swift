import Foundation
import OrderedCollections
import SGKData

/// Renders rows as kubectl does (Go's tabwriter with padding 3): every column but the last is
/// padded to its widest cell plus three spaces.
public enum TableRenderer {
    public static func render(headers: [String]?, rows: [[String]]) -> String {
        let all = (headers.map { [$0] } ?? []) + rows
        guard let columns = all.map(\.count).max(), columns > 0 else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for r in all {
            for (i, c) in r.enumerated() where i < columns { widths[i] = max(widths[i], c.count) }
        }
        var out = ""
        for r in all {
            var line = ""
            for (i, c) in r.enumerated() {
                if i == r.count - 1 {
                    line += c
                } else {
                    line += c + String(repeating: " ", count: widths[i] - c.count + 3)
                }
            }
            out += line + "\n"
        }
        return out
    }
}

/// A server-side table (`meta.k8s.io/v1` `Table`): kubectl's exact columns, including a CRD's
/// `additionalPrinterColumns`.
public struct KubeTable: Sendable {
    /// One column definition.
    public struct Column: Sendable, Hashable {
        public var name: String
        public var type: String
        public var format: String
        public var description: String
        /// 0 for default columns; > 0 for `-o wide` columns.
        public var priority: Int
    }
    public var columns: [Column]
    /// Cells of each row, in column order.
    public var cells: [[JSON]]
    /// The row's object (metadata only unless requested), when the server included it.
    public var objects: [JSON?]

    /// Parses a `Table` document.
    public init(_ json: JSON) throws {
        guard json["kind"]?.stringValue == "Table" else {
            throw KubeError.other("the server did not return a Table (kind \(json["kind"]?.stringValue ?? "none"))")
        }
        columns = (json["columnDefinitions"]?.arrayValue ?? []).map {
            Column(name: $0["name"]?.stringValue ?? "", type: $0["type"]?.stringValue ?? "string",
                   format: $0["format"]?.stringValue ?? "", description: $0["description"]?.stringValue ?? "",
                   priority: $0["priority"]?.intValue ?? 0)
        }
        let rows = json["rows"]?.arrayValue ?? []
        cells = rows.map { $0["cells"]?.arrayValue ?? [] }
        objects = rows.map { $0["object"] }
    }

    init(columns: [Column], cells: [[JSON]], objects: [JSON?]) {
        self.columns = columns; self.cells = cells; self.objects = objects
    }

    /// Appends the rows of another page / namespace.
    public mutating func append(_ other: KubeTable) {
        cells += other.cells
        objects += other.objects
    }

    /// A cell as kubectl prints it (`<none>` for null).
    public static func text(_ cell: JSON) -> String {
        switch cell {
        case .null: return "<none>"
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .bool(let b): return b ? "true" : "false"
        case .array(let a): return a.map(text).joined(separator: ",")
        case .object: return JSONCodec.serialize(cell, pretty: false)
        }
    }

    /// Rows as ordered (upper-case column name → cell text). `wide` includes priority columns;
    /// `namespaceColumn` prefixes NAMESPACE (from the row objects) as `-A` does.
    public func rows(wide: Bool = false, namespaceColumn: Bool = false) -> [OrderedDictionary<String, String>] {
        let visible = columns.enumerated().filter { wide || $0.element.priority == 0 }
        return cells.enumerated().map { (r, row) in
            var d = OrderedDictionary<String, String>()
            if namespaceColumn {
                let obj: JSON? = r < objects.count ? objects[r] : nil
                d["NAMESPACE"] = obj?.at("metadata", "namespace")?.stringValue ?? ""
            }
            for (i, col) in visible {
                d[col.name.uppercased()] = i < row.count ? KubeTable.text(row[i]) : ""
            }
            return d
        }
    }

    /// Renders as kubectl does: upper-case headers, columns separated by three spaces.
    public func render(wide: Bool = false, namespaceColumn: Bool = false, headers: Bool = true) -> String {
        let visible = columns.filter { wide || $0.priority == 0 }
        var names = visible.map { $0.name.uppercased() }
        if namespaceColumn { names.insert("NAMESPACE", at: 0) }
        let rs = rows(wide: wide, namespaceColumn: namespaceColumn).map { r in names.map { r[$0] ?? "" } }
        if rs.isEmpty { return "" }
        return TableRenderer.render(headers: headers ? names : nil, rows: rs)
    }
}

extension KubeClient {
    /// The accept header that asks for a server-side Table.
    public static let tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

    /// `kubectl get` as a table: one object (`name`) or a list (selectors, all namespaces), in pages
    /// of 500 as kubectl reads them. `objects: true` has each row carry its whole object (with `kind`
    /// and `apiVersion`), so that one request gives both the table and the objects, as kubectl asks.
    public func table(_ resource: APIResource, name: String? = nil, namespace: String? = nil, allNamespaces: Bool = false,
                      labelSelector: String? = nil, fieldSelector: String? = nil, objects: Bool = false) async throws -> KubeTable {
        let ns: String? = resource.namespaced ? (allNamespaces ? nil : (namespace ?? defaultNamespace)) : nil
        var path = resource.collectionPath(namespace: ns)
        if let name { path += "/" + name }
        var table: KubeTable?
        var cont: String?
        repeat {
            var query: [(String, String)] = [("includeObject", objects ? "Object" : "Metadata")]
            if name == nil { query.append(("limit", "500")) }
            if let labelSelector { query.append(("labelSelector", labelSelector)) }
            if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
            if let cont { query.append(("continue", cont)) }
            let json = try await sendJSON(.GET, path, query: query, accept: KubeClient.tableAccept)
            let page = try KubeTable(json)
            if table == nil { table = page } else { table?.append(page) }
            cont = json.at("metadata", "continue")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while cont != nil
        return table!
    }
}
