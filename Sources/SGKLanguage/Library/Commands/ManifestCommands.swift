import OrderedCollections

/// Kubernetes manifests as data: annotate, images, set-image.
public enum ManifestCommands: CommandLibrary {
    public static var commands: [NativeCommand] { [annotate, images, setImage] }

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

    // MARK: images

    /// The pod spec of a workload document: a Pod's `spec`, a CronJob's
    /// `spec.jobTemplate.spec.template.spec`, any other's `spec.template.spec`; with its path.
    static func podSpecPath(_ doc: OrderedDictionary<String, Value>) -> [String]? {
        guard case .map(let spec)? = doc["spec"] else { return nil }
        if doc["kind"]?.stringValue == "Pod" { return ["spec"] }
        if case .map(let jt)? = spec["jobTemplate"], case .map(let js)? = jt["spec"], case .map(let t)? = js["template"],
           case .map? = t["spec"] {
            return ["spec", "jobTemplate", "spec", "template", "spec"]
        }
        if case .map(let t)? = spec["template"], case .map? = t["spec"] { return ["spec", "template", "spec"] }
        return nil
    }

    static func record(_ pairs: [(String, Value)]) -> Value {
        .map(OrderedDictionary(pairs, uniquingKeysWith: { _, last in last }))
    }

    static let containerLists = ["initContainers", "containers", "ephemeralContainers"]

    /// Calls `body` with every container of a document (in place).
    static func forEachContainer(_ doc: inout OrderedDictionary<String, Value>,
                                 _ body: (_ list: String, _ container: inout OrderedDictionary<String, Value>) throws -> Void) rethrows {
        guard let path = podSpecPath(doc) else { return }
        func visit(_ m: inout OrderedDictionary<String, Value>, _ rest: ArraySlice<String>) throws {
            guard let key = rest.first else {
                for list in containerLists {
                    guard case .list(var items)? = m[list] else { continue }
                    m[list] = .null
                    for i in items.indices {
                        guard case .map(var c) = items[i] else { continue }
                        items[i] = .null
                        try body(list, &c)
                        items[i] = .map(c)
                    }
                    m[list] = .list(items)
                }
                return
            }
            guard case .map(var inner)? = m[key] else { return }
            m[key] = .null
            try visit(&inner, rest.dropFirst())
            m[key] = .map(inner)
        }
        try visit(&doc, path[...])
    }

    static func documents(_ subject: Value, _ what: String) throws -> [Value] {
        switch subject {
        case .map: return [subject]
        case .list(let docs): return docs
        default:
            throw CommandError("needs a manifest (a list of maps, or one map) as input, got \(describeType(subject))",
                               hint: "parse YAML first: fetch $url | yaml parse | \(what)", argument: .input)
        }
    }

    static func row(_ doc: OrderedDictionary<String, Value>, _ container: OrderedDictionary<String, Value>) -> [(String, Value)] {
        let meta = doc["metadata"]?.mapValue
        return [("kind", doc["kind"] ?? .null), ("name", meta?["name"] ?? .null), ("namespace", meta?["namespace"] ?? .null),
                ("container", container["name"] ?? .null)]
    }

    static let images = NativeCommand(CommandSignature(
        "images", input: .subject,
        summary: "The container images of a manifest's workloads: [{kind, name, namespace, container, image}] (init containers too).",
        example: "fetch $installer | yaml parse | images | each { $it.image }")) { inv in
        let docs = try documents(try inv.subject("a manifest (a list of maps, or one map)"), "images")
        var out: [Value] = []
        for d in docs {
            guard case .map(var m) = d else { continue }
            let original = m
            forEachContainer(&m) { _, c in
                out.append(record(row(original, c) + [("image", c["image"] ?? .null)]))
            }
        }
        return .list(out)
    }

    /// One rewrite rule: an image equal to `from` becomes `to`; a `from` ending in `/` or `:`
    /// is a prefix, and the rest of the reference is kept.
    struct ImageRule {
        var from: String
        var to: String
        var rule: Value

        func rewrite(_ image: String) -> String? {
            if from.hasSuffix("/") || from.hasSuffix(":") {
                return image.hasPrefix(from) ? to + image.dropFirst(from.count) : nil
            }
            return image == from ? to : nil
        }
    }

    static let setImage = NativeCommand(CommandSignature(
        "set-image", positionals: [.init("rules", "a map OLD: NEW, or a list of {from, to, …}; a from ending in / or : is a prefix")],
        input: .subject,
        summary: "Rewrite the container images of a manifest by rules (the first that matches wins): {manifest, changes: [{kind, name, namespace, container, from, to, rule}]}.",
        example: "($docs | set-image {\"gcr.io/kubebuilder/\": \"registry.k8s.io/kubebuilder/\"}).manifest")) { inv in
        let subject = try inv.subject("a manifest (a list of maps, or one map)")
        var docs = try documents(subject, "set-image RULES")
        guard let rawRules = inv.args.positional(0) else { throw CommandError("missing RULES", argument: .positional(0)) }
        var rules: [ImageRule] = []
        switch rawRules {
        case .map(let m):
            for (k, v) in m {
                guard case .string(let to) = v, !k.isEmpty, !to.isEmpty else {
                    throw CommandError("RULES: \(k) maps to \(describeType(v)), not an image", argument: .positional(0))
                }
                rules.append(ImageRule(from: k, to: to, rule: record([("from", .string(k)), ("to", .string(to))])))
            }
        case .list(let items):
            for (i, item) in items.enumerated() {
                guard case .map(let m) = item, case .string(let from)? = m["from"], case .string(let to)? = m["to"], !from.isEmpty, !to.isEmpty else {
                    throw CommandError("RULES[\(i)] is not a map with from: and to: strings", argument: .positional(0))
                }
                rules.append(ImageRule(from: from, to: to, rule: item))
            }
        case .null:
            break
        default:
            throw CommandError("RULES must be a map OLD: NEW or a list of {from, to}, not \(describeType(rawRules))", argument: .positional(0))
        }
        var changes: [Value] = []
        for i in docs.indices {
            guard case .map(var m) = docs[i] else { continue }
            let original = m
            docs[i] = .null
            forEachContainer(&m) { _, c in
                guard case .string(let image)? = c["image"] else { return }
                for r in rules {
                    guard let new = r.rewrite(image), new != image else { continue }
                    c["image"] = .string(new)
                    changes.append(record(row(original, c) + [("from", .string(image)), ("to", .string(new)), ("rule", r.rule)]))
                    break
                }
            }
            docs[i] = .map(m)
        }
        let manifest: Value
        if case .map = subject { manifest = docs.first ?? .null } else { manifest = .list(docs) }
        return record([("manifest", manifest), ("changes", .list(changes))])
    }
}
