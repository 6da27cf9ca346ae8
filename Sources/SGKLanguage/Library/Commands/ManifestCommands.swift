import OrderedCollections

/// Kubernetes manifests as data: annotate.
public enum ManifestCommands: CommandLibrary {
    public static var commands: [NativeCommand] { [annotate] }

    static func describe(_ doc: Value) -> String {
        let kind = doc["kind"]?.stringValue ?? "?"
        let name = doc["metadata"]?["name"]?.stringValue ?? "?"
        return "\(kind)/\(name)"
    }

    static let annotate = NativeCommand(CommandSignature(
        "annotate", positionals: [.init("key", "the annotation's key, e.g. eks.amazonaws.com/role-arn"),
                                  .init("value", "its value (a string)")],
        keywords: [.init("kind", "only documents of this kind"),
                   .init("name", "only documents with this metadata.name"),
                   .init("namespace", flags: ["-n", "--namespace"], "only documents with this metadata.namespace")],
        input: .subject,
        summary: "Set metadata.annotations[KEY] = VALUE on the matching documents of a manifest (a list of maps, or one map).",
        example: "$manifest | annotate kind: ServiceAccount name: $sa \"eks.amazonaws.com/role-arn\" $role.Arn")) { inv in
        let subject = try inv.subject("a manifest (a list of maps, or one map)")
        let key = try inv.args.string(0, "KEY")
        guard !key.isEmpty else { throw CommandError("KEY must not be empty", argument: .positional(0)) }
        guard let rawValue = inv.args.positional(1) else { throw CommandError("missing VALUE", argument: .positional(1)) }
        let value: String
        switch rawValue {
        case .string(let s): value = s
        case .int, .double, .bool, .duration: value = rawValue.text
        default:
            throw CommandError("VALUE must be a string (annotations are strings), not \(describeType(rawValue))", argument: .positional(1))
        }
        let kind = try inv.args.string(keyword: "kind")
        let name = try inv.args.string(keyword: "name")
        let namespace = try inv.args.string(keyword: "namespace")

        func matches(_ m: OrderedDictionary<String, Value>) -> Bool {
            if let kind, m["kind"]?.stringValue != kind { return false }
            if let name, m["metadata"]?["name"]?.stringValue != name { return false }
            if let namespace, m["metadata"]?["namespace"]?.stringValue != namespace { return false }
            return true
        }
        /// Sets the annotation in place; the map is taken apart so nothing is copied.
        func apply(_ doc: inout OrderedDictionary<String, Value>) throws {
            var meta: OrderedDictionary<String, Value>
            switch doc["metadata"] {
            case .map(let m)?: meta = m
            case nil, .null?: meta = [:]
            case let other?:
                throw CommandError("\(describe(.map(doc))): metadata is \(other.aTypeName), not a map", argument: .input)
            }
            doc["metadata"] = .null
            var ann: OrderedDictionary<String, Value>
            switch meta["annotations"] {
            case .map(let a)?: ann = a
            case nil, .null?: ann = [:]
            case let other?:
                throw CommandError("\(describe(.map(doc))): metadata.annotations is \(other.aTypeName), not a map", argument: .input)
            }
            meta["annotations"] = .null
            ann[key] = .string(value)
            meta["annotations"] = .map(ann)
            doc["metadata"] = .map(meta)
        }

        func noMatch(_ docs: [Value]) -> CommandError {
            var wanted: [String] = []
            if let kind { wanted.append("kind: \(kind)") }
            if let name { wanted.append("name: \(name)") }
            if let namespace { wanted.append("namespace: \(namespace)") }
            let sameKind = kind.map { k in docs.filter { $0["kind"]?.stringValue == k } } ?? []
            let hint: String
            if !sameKind.isEmpty {
                let names = sameKind.map { d -> String in
                    let n = d["metadata"]?["name"]?.stringValue ?? "?"
                    return d["metadata"]?["namespace"]?.stringValue.map { "\(n) (namespace \($0))" } ?? n
                }
                hint = "\(kind ?? "") documents: \(names.joined(separator: ", "))"
            } else {
                var seen = Set<String>()
                let kinds = docs.compactMap { $0["kind"]?.stringValue }.filter { seen.insert($0).inserted }
                hint = kinds.isEmpty ? "the manifest has no documents with a kind" : "kinds present: \(kinds.joined(separator: ", "))"
            }
            return CommandError("no document matches \(wanted.joined(separator: " "))", hint: hint, argument: .input)
        }

        switch subject {
        case .map(var m):
            guard matches(m) else { throw noMatch([subject]) }
            try apply(&m)
            return .map(m)
        case .list(var docs):
            var n = 0
            for i in docs.indices {
                guard case .map(var m) = docs[i], matches(m) else { continue }
                docs[i] = .null
                try apply(&m)
                docs[i] = .map(m)
                n += 1
            }
            if n == 0 { throw noMatch(docs) }
            return .list(docs)
        default:
            throw CommandError("needs a manifest (a list of maps, or one map) as input, got \(describeType(subject))",
                               hint: "parse YAML first: fetch $url | yaml parse | annotate …", argument: .input)
        }
    }
}
