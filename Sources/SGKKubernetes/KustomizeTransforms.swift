import Foundation
import OrderedCollections
import SGKData

// MARK: generators

/// `configMapGenerator` and `secretGenerator`: literals, files and env files, with behavior
/// (create, merge, replace) and options (labels, annotations, disableNameSuffixHash, immutable).
enum Generators {
    static func run(_ ctx: Context, into res: inout [KResource], environment: [String: String]) throws(KustomizeError) {
        for g in try ctx.maps("configMapGenerator") { try generate(g, kind: "ConfigMap", ctx: ctx, into: &res, environment: environment) }
        for g in try ctx.maps("secretGenerator") { try generate(g, kind: "Secret", ctx: ctx, into: &res, environment: environment) }
    }

    static func generate(_ g: OrderedDictionary<String, JSON>, kind: String, ctx: Context, into res: inout [KResource],
                         environment: [String: String]) throws(KustomizeError) {
        let field = kind == "ConfigMap" ? "configMapGenerator" : "secretGenerator"
        var allowed = ["name", "namespace", "behavior", "literals", "files", "envs", "options"]
        if kind == "Secret" { allowed.append("type") }
        try Context.checkKeys(g, allowed, "a \(field) entry", file: ctx.file)
        let sub = Context(file: ctx.file, dir: ctx.dir, k: g)
        guard let name = try sub.string("name"), !name.isEmpty else {
            throw KustomizeError("\(ctx.file): a \(field) entry has no name")
        }
        let what = "\(field) '\(name)'"
        let behavior = try sub.string("behavior") ?? "create"
        guard ["create", "merge", "replace"].contains(behavior) else {
            throw KustomizeError("\(ctx.file): \(what): behavior '\(behavior)' is not one of create, merge, replace")
        }

        var data = OrderedDictionary<String, [UInt8]>()
        func put(_ key: String, _ value: [UInt8]) throws(KustomizeError) {
            guard !key.isEmpty else { throw KustomizeError("\(ctx.file): \(what): a key is empty") }
            guard data[key] == nil else {
                throw KustomizeError("\(ctx.file): \(what): cannot add key '\(key)', another key by that name already exists")
            }
            data[key] = value
        }
        for lit in try sub.strings("literals") {
            guard let eq = lit.firstIndex(of: "=") else {
                throw KustomizeError("\(ctx.file): \(what): the literal '\(lit)' is not KEY=VALUE")
            }
            var v = String(lit[lit.index(after: eq)...])
            if v.count >= 2, let f = v.first, f == "\"" || f == "'", v.last == f { v = String(v.dropFirst().dropLast()) }
            try put(String(lit[..<eq]), Array(v.utf8))
        }
        for spec in try sub.strings("files") {
            let (key, rel): (String, String)
            if let eq = spec.firstIndex(of: "=") {
                (key, rel) = (String(spec[..<eq]), String(spec[spec.index(after: eq)...]))
            } else {
                (key, rel) = ((spec as NSString).lastPathComponent, spec)
            }
            let p = ctx.path(rel)
            try ctx.requireInside(p, what: "file '\(rel)' of \(what)")
            guard let bytes = FileManager.default.contents(atPath: p) else {
                throw KustomizeError("\(ctx.file): \(what): cannot read the file '\(rel)' (\(p))")
            }
            try put(key, Array(bytes))
        }
        for rel in try sub.strings("envs") {
            let text = try ctx.readFile(rel, what: "env file of \(what)")
            for (n, raw) in text.components(separatedBy: "\n").enumerated() {
                var line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
                if n == 0, line.hasPrefix("\u{FEFF}") { line = String(line.dropFirst()) }
                line = String(line.drop { $0 == " " || $0 == "\t" })
                if line.isEmpty || line.hasPrefix("#") { continue }
                if let eq = line.firstIndex(of: "=") {
                    let key = String(line[..<eq])
                    guard !key.contains(where: { $0 == " " || $0 == "\t" }) else {
                        throw KustomizeError("\(ctx.file): \(what): \(rel):\(n + 1): the key '\(key)' has white space")
                    }
                    try put(key, Array(line[line.index(after: eq)...].utf8))
                } else if let v = environment[line] {
                    try put(line, Array(v.utf8))
                }
            }
        }

        var meta = OrderedDictionary<String, JSON>()
        meta["name"] = .string(name)
        if let ns = try sub.string("namespace") { meta["namespace"] = .string(ns) }
        var hashed = true
        var immutable = false
        var optionsGiven = false
        if let opts = sub.value("options") {
            optionsGiven = true
            guard case .object(let o) = opts else { throw KustomizeError("\(ctx.file): \(what): options must be a map") }
            try Context.checkKeys(o, ["labels", "annotations", "disableNameSuffixHash", "immutable"], "the options of \(what)", file: ctx.file)
            let labels = try ctx.stringMap(o["labels"], "options.labels")
            let annotations = try ctx.stringMap(o["annotations"], "options.annotations")
            if !labels.isEmpty { meta["labels"] = .object(labels.mapValues { .string($0) }) }
            if !annotations.isEmpty { meta["annotations"] = .object(annotations.mapValues { .string($0) }) }
            hashed = !(o["disableNameSuffixHash"]?.boolValue ?? false)
            immutable = o["immutable"]?.boolValue ?? false
        }

        var obj = OrderedDictionary<String, JSON>()
        obj["apiVersion"] = .string("v1")
        obj["kind"] = .string(kind)
        obj["metadata"] = .object(meta)
        obj.merge(encode(data, kind: kind), uniquingKeysWith: { $1 })
        if kind == "Secret" { obj["type"] = .string(try sub.string("type") ?? "Opaque") }
        if immutable { obj["immutable"] = .bool(true) }

        var r = KResource(.object(obj))
        r.hashed = hashed
        r.generated = true
        switch behavior {
        case "create":
            if res.contains(where: { $0.kind == kind && $0.name == name && $0.namespace == r.namespace }) {
                throw KustomizeError("\(ctx.file): \(what): a \(kind) '\(name)' already exists; use behavior merge or replace")
            }
            res.append(r)
        default:
            let ns = meta["namespace"]?.stringValue
            guard let i = res.firstIndex(where: { $0.kind == kind && $0.name == name && (ns == nil || $0.namespace == ns) }) else {
                throw KustomizeError("\(ctx.file): \(what): behavior \(behavior) needs a \(kind) '\(name)' from the resources, and there is none")
            }
            var old = res[i]
            var o = old.obj.objectValue ?? [:]
            if behavior == "merge" {
                for f in ["data", "binaryData"] {
                    var merged = o[f]?.objectValue ?? [:]
                    for (k, v) in obj[f]?.objectValue ?? [:] { merged[k] = v }
                    if !merged.isEmpty { o[f] = .object(merged) }
                }
                var m = o["metadata"]?.objectValue ?? [:]
                for f in ["labels", "annotations"] {
                    var merged = m[f]?.objectValue ?? [:]
                    for (k, v) in meta[f]?.objectValue ?? [:] { merged[k] = v }
                    if !merged.isEmpty { m[f] = .object(merged) }
                }
                o["metadata"] = .object(m)
                if immutable { o["immutable"] = .bool(true) }
                if kind == "Secret", let t = try sub.string("type") { o["type"] = .string(t) }
            } else {
                o["data"] = nil
                o["binaryData"] = nil
                o.merge(encode(data, kind: kind), uniquingKeysWith: { $1 })
                var m = o["metadata"]?.objectValue ?? [:]
                for f in ["labels", "annotations"] { if let v = meta[f] { m[f] = v } }
                o["metadata"] = .object(m)
            }
            old.obj = .object(o)
            if optionsGiven { old.hashed = hashed }
            old.generated = true
            res[i] = old
        }
    }

    /// A ConfigMap's values are text (`binaryData`, base64, when not UTF-8); a Secret's are base64.
    static func encode(_ data: OrderedDictionary<String, [UInt8]>, kind: String) -> OrderedDictionary<String, JSON> {
        var text = OrderedDictionary<String, JSON>()
        var binary = OrderedDictionary<String, JSON>()
        for (k, v) in data {
            if kind == "Secret" {
                text[k] = .string(Kustomize.base64Lines(v))
            } else if let s = String(validating: v, as: UTF8.self) {
                text[k] = .string(s)
            } else {
                binary[k] = .string(Kustomize.base64Lines(v))
            }
        }
        var out = OrderedDictionary<String, JSON>()
        if !text.isEmpty || binary.isEmpty { out["data"] = .object(text) }
        if !binary.isEmpty { out["binaryData"] = .object(binary) }
        return out
    }
}

// MARK: transformers

/// The transformers of one kustomization, in kustomize's order: patchesStrategicMerge, patches,
/// namespace, namePrefix, nameSuffix, labels (commonLabels, labels), commonAnnotations,
/// patchesJson6902, images.
enum Transformers {
    static func run(_ ctx: Context, on res: inout [KResource]) throws(KustomizeError) {
        // patchesStrategicMerge: files (or inline YAML) of strategic merge patches, each matched by its own id.
        for entry in try ctx.strings("patchesStrategicMerge") {
            let (text, source) = try entry.contains("\n") ? (entry, "an inline patch") : (ctx.readFile(entry, what: "patch"), entry)
            for p in try Builder.parseDocs(text, file: "\(ctx.file): \(source)") {
                try strategicPatch(p, target: nil, source: source, ctx: ctx, res: &res)
            }
        }
        for p in try ctx.maps("patches") {
            try Context.checkKeys(p, ["path", "patch", "target"], "a patches entry", file: ctx.file)
            let (text, source) = try patchText(p, ctx: ctx, field: "patches")
            let target = try selector(p["target"], ctx: ctx)
            let docs = try Builder.parseDocs(text, file: "\(ctx.file): \(source)")
            if docs.count == 1, case .array = docs[0] {
                guard let target else { throw KustomizeError("\(ctx.file): the JSON patch \(source) has no target") }
                try jsonPatch(docs[0], target: target, source: source, ctx: ctx, res: &res)
            } else {
                for d in docs { try strategicPatch(d, target: target, source: source, ctx: ctx, res: &res) }
            }
        }
        if let ns = try ctx.string("namespace"), !ns.isEmpty { setNamespace(ns, &res) }
        let prefix = try ctx.string("namePrefix") ?? ""
        let suffix = try ctx.string("nameSuffix") ?? ""
        if !prefix.isEmpty || !suffix.isEmpty {
            for i in res.indices where !skipsPrefix(res[i]) {
                res[i].rename(prefix + res[i].name + suffix)
            }
        }
        let common = try ctx.stringMap(ctx.value("commonLabels"), "commonLabels")
        if !common.isEmpty { Labels.add(common, selectors: true, templates: true, to: &res) }
        for l in try ctx.maps("labels") {
            try Context.checkKeys(l, ["pairs", "includeSelectors", "includeTemplates"], "a labels entry", file: ctx.file)
            let pairs = try ctx.stringMap(l["pairs"], "labels.pairs")
            let sel = l["includeSelectors"]?.boolValue ?? false
            Labels.add(pairs, selectors: sel, templates: sel || (l["includeTemplates"]?.boolValue ?? false), to: &res)
        }
        let annotations = try ctx.stringMap(ctx.value("commonAnnotations"), "commonAnnotations")
        if !annotations.isEmpty { Labels.annotate(annotations, &res) }
        for p in try ctx.maps("patchesJson6902") {
            try Context.checkKeys(p, ["path", "patch", "target"], "a patchesJson6902 entry", file: ctx.file)
            let (text, source) = try patchText(p, ctx: ctx, field: "patchesJson6902")
            guard let target = try selector(p["target"], ctx: ctx) else {
                throw KustomizeError("\(ctx.file): the patchesJson6902 entry \(source) has no target")
            }
            let docs = try Builder.parseDocs(text, file: "\(ctx.file): \(source)")
            guard docs.count == 1, case .array = docs[0] else {
                throw KustomizeError("\(ctx.file): the patchesJson6902 entry \(source) is not a list of JSON patch operations")
            }
            try jsonPatch(docs[0], target: target, source: source, ctx: ctx, res: &res)
        }
        for img in try ctx.maps("images") {
            try Context.checkKeys(img, ["name", "newName", "newTag", "digest"], "an images entry", file: ctx.file)
            let s = Context(file: ctx.file, dir: ctx.dir, k: img)
            guard let name = try s.string("name"), !name.isEmpty else { throw KustomizeError("\(ctx.file): an images entry has no name") }
            let rule = Images.Rule(name: name, newName: try s.string("newName") ?? "", newTag: try s.string("newTag") ?? "",
                                   digest: try s.string("digest") ?? "")
            for i in res.indices { res[i].obj = Images.apply(rule, res[i].obj) }
        }
    }

    static func patchText(_ p: OrderedDictionary<String, JSON>, ctx: Context, field: String) throws(KustomizeError) -> (String, String) {
        switch (p["path"]?.stringValue, p["patch"]?.stringValue) {
        case (let path?, nil): return (try ctx.readFile(path, what: "patch"), path)
        case (nil, let text?): return (text, "(inline patch)")
        case (.some, .some): throw KustomizeError("\(ctx.file): a \(field) entry has both path and patch")
        case (nil, nil): throw KustomizeError("\(ctx.file): a \(field) entry has neither path nor patch")
        }
    }

    // MARK: selection

    struct Selector {
        var group: String?, version: String?, kind: String?, name: String?, namespace: String?
        var labelSelector: String?, annotationSelector: String?

        var display: String {
            [group.map { "group=\($0)" }, version.map { "version=\($0)" }, kind.map { "kind=\($0)" }, name.map { "name=\($0)" },
             namespace.map { "namespace=\($0)" }, labelSelector.map { "labelSelector=\($0)" },
             annotationSelector.map { "annotationSelector=\($0)" }].compactMap { $0 }.joined(separator: " ")
        }
    }

    static func selector(_ v: JSON?, ctx: Context) throws(KustomizeError) -> Selector? {
        guard let v, v != .null else { return nil }
        guard case .object(let o) = v else { throw KustomizeError("\(ctx.file): a patch target must be a map") }
        try Context.checkKeys(o, ["group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"], "a patch target", file: ctx.file)
        let s = Context(file: ctx.file, dir: ctx.dir, k: o)
        return Selector(group: try s.string("group"), version: try s.string("version"), kind: try s.string("kind"),
                        name: try s.string("name"), namespace: try s.string("namespace"),
                        labelSelector: try s.string("labelSelector"), annotationSelector: try s.string("annotationSelector"))
    }

    static func fullMatch(_ pattern: String, _ s: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: "^(?:" + pattern + ")$") else { return pattern == s }
        return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    static func matches(_ sel: Selector, _ r: KResource, ctx: Context) throws(KustomizeError) -> Bool {
        if let g = sel.group, g != r.group { return false }
        if let v = sel.version, v != r.version { return false }
        if let k = sel.kind, k != r.kind { return false }
        if let n = sel.name, !r.names.contains(where: { fullMatch(n, $0) }) { return false }
        if let ns = sel.namespace, !r.namespaces.contains(where: { fullMatch(ns, $0.isEmpty ? "default" : $0) }) { return false }
        if let ls = sel.labelSelector {
            guard try LabelSelector.matches(ls, r.obj.at("metadata", "labels")?.objectValue ?? [:], file: ctx.file) else { return false }
        }
        if let asel = sel.annotationSelector {
            guard try LabelSelector.matches(asel, r.obj.at("metadata", "annotations")?.objectValue ?? [:], file: ctx.file) else { return false }
        }
        return true
    }

    // MARK: patches

    static func strategicPatch(_ patch: JSON, target: Selector?, source: String, ctx: Context, res: inout [KResource]) throws(KustomizeError) {
        guard case .object = patch else { throw KustomizeError("\(ctx.file): the patch \(source) is not a map") }
        var indices: [Int] = []
        if let target {
            for i in res.indices { if try matches(target, res[i], ctx: ctx) { indices.append(i) } }
        } else {
            let id = KResource(patch)
            guard !id.kind.isEmpty, !id.name.isEmpty else {
                throw KustomizeError("\(ctx.file): the strategic merge patch \(source) has no kind or metadata.name (or give it a target)")
            }
            indices = res.indices.filter { i in
                res[i].kind == id.kind && (id.group.isEmpty || res[i].group == id.group) && res[i].names.contains(id.name)
                    && (id.namespace.isEmpty || res[i].namespaces.contains(id.namespace))
            }
            if indices.isEmpty { throw KustomizeError("\(ctx.file): no resource matches the strategic merge patch \(source) (\(id.id))") }
            if indices.count > 1 { throw KustomizeError("\(ctx.file): the strategic merge patch \(source) (\(id.id)) matches \(indices.count) resources") }
        }
        for i in indices {
            // The patch takes the target's identity: it changes the object, never which one it is.
            var p = patch.objectValue ?? [:]
            p["apiVersion"] = res[i].obj["apiVersion"]
            p["kind"] = res[i].obj["kind"]
            var meta = p["metadata"]?.objectValue ?? [:]
            meta["name"] = .string(res[i].name)
            if res[i].namespace.isEmpty { meta["namespace"] = nil } else { meta["namespace"] = .string(res[i].namespace) }
            p["metadata"] = .object(meta)
            do {
                res[i].obj = try StrategicMerge.merge(res[i].obj, .object(p))
            } catch {
                throw KustomizeError("\(ctx.file): the patch \(source) on \(res[i].id): \(error)")
            }
        }
    }

    static func jsonPatch(_ ops: JSON, target: Selector, source: String, ctx: Context, res: inout [KResource]) throws(KustomizeError) {
        for i in res.indices {
            guard try matches(target, res[i], ctx: ctx) else { continue }
            do {
                res[i].obj = try JSONPatch.apply(ops, to: res[i].obj)
            } catch {
                throw KustomizeError("\(ctx.file): the JSON patch \(source) on \(res[i].id): \(error)")
            }
            res[i].noteIdentity()
        }
    }

    // MARK: namespace and names

    static let clusterScoped: Set<String> = [
        "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "ComponentStatus", "CSIDriver",
        "CSINode", "CustomResourceDefinition", "FlowSchema", "IngressClass", "MutatingWebhookConfiguration", "Namespace",
        "Node", "PersistentVolume", "PodSecurityPolicy", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass",
        "SelfSubjectAccessReview", "SelfSubjectRulesReview", "StorageClass", "SubjectAccessReview", "TokenReview",
        "ValidatingWebhookConfiguration", "VolumeAttachment", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "ClusterTrustBundle", "StorageVersion",
    ]

    static func setNamespace(_ ns: String, _ res: inout [KResource]) {
        for i in res.indices {
            let kind = res[i].kind
            if !clusterScoped.contains(kind) {
                res[i].obj = KPath.set(res[i].obj, ["metadata", "namespace"], .string(ns))
                res[i].noteIdentity()
            }
            switch kind {
            case "RoleBinding", "ClusterRoleBinding":
                // kustomize's default (defaultOnly): the subjects named "default" move to the namespace.
                KPath.modify(&res[i].obj, ["subjects", "[]"], create: false) { s in
                    guard case .object(var o)? = s, o["name"]?.stringValue == "default" else { return }
                    o["namespace"] = .string(ns)
                    s = .object(o)
                }
            default: break
            }
        }
    }

    static func skipsPrefix(_ r: KResource) -> Bool {
        r.kind == "CustomResourceDefinition" || r.kind == "Namespace" || (r.kind == "APIService" && r.group == "apiregistration.k8s.io")
    }
}

// MARK: labels and annotations

enum Labels {
    struct Spec { var group: String?; var kinds: [String]; var path: [String]; var create: Bool }

    static let workloads = ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"]
    static let affinity: [[String]] = [
        ["podAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "[]", "podAffinityTerm"],
        ["podAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "[]"],
        ["podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "[]", "podAffinityTerm"],
        ["podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "[]"],
    ]

    /// Where commonLabels (and labels with includeSelectors) go besides metadata.labels.
    static let selectorSpecs: [Spec] = {
        var s: [Spec] = [
            Spec(group: "", kinds: ["Service"], path: ["spec", "selector"], create: true),
            Spec(group: "", kinds: ["ReplicationController"], path: ["spec", "selector"], create: true),
            Spec(group: nil, kinds: workloads, path: ["spec", "selector", "matchLabels"], create: true),
            Spec(group: "batch", kinds: ["Job"], path: ["spec", "selector", "matchLabels"], create: false),
            Spec(group: "batch", kinds: ["CronJob"], path: ["spec", "jobTemplate", "spec", "selector", "matchLabels"], create: false),
            Spec(group: "policy", kinds: ["PodDisruptionBudget"], path: ["spec", "selector", "matchLabels"], create: false),
            Spec(group: "networking.k8s.io", kinds: ["NetworkPolicy"], path: ["spec", "podSelector", "matchLabels"], create: false),
            Spec(group: "networking.k8s.io", kinds: ["NetworkPolicy"], path: ["spec", "ingress", "[]", "from", "[]", "podSelector", "matchLabels"], create: false),
            Spec(group: "networking.k8s.io", kinds: ["NetworkPolicy"], path: ["spec", "egress", "[]", "to", "[]", "podSelector", "matchLabels"], create: false),
        ]
        for a in affinity {
            s.append(Spec(group: "apps", kinds: ["Deployment", "StatefulSet"], path: ["spec", "template", "spec", "affinity"] + a + ["labelSelector", "matchLabels"], create: false))
        }
        s.append(Spec(group: "apps", kinds: ["Deployment", "StatefulSet"], path: ["spec", "template", "spec", "topologySpreadConstraints", "[]", "labelSelector", "matchLabels"], create: false))
        return s
    }()

    /// Where labels with includeTemplates (and commonLabels) go: the pod templates' labels.
    static let templateSpecs: [Spec] = [
        Spec(group: "", kinds: ["ReplicationController"], path: ["spec", "template", "metadata", "labels"], create: true),
        Spec(group: nil, kinds: workloads, path: ["spec", "template", "metadata", "labels"], create: true),
        Spec(group: "apps", kinds: ["StatefulSet"], path: ["spec", "volumeClaimTemplates", "[]", "metadata", "labels"], create: true),
        Spec(group: "batch", kinds: ["Job"], path: ["spec", "template", "metadata", "labels"], create: true),
        Spec(group: "batch", kinds: ["CronJob"], path: ["spec", "jobTemplate", "metadata", "labels"], create: true),
        Spec(group: "batch", kinds: ["CronJob"], path: ["spec", "jobTemplate", "spec", "template", "metadata", "labels"], create: true),
    ]

    static let annotationSpecs: [Spec] = [
        Spec(group: "", kinds: ["ReplicationController"], path: ["spec", "template", "metadata", "annotations"], create: true),
        Spec(group: nil, kinds: workloads, path: ["spec", "template", "metadata", "annotations"], create: true),
        Spec(group: "batch", kinds: ["Job"], path: ["spec", "template", "metadata", "annotations"], create: true),
        Spec(group: "batch", kinds: ["CronJob"], path: ["spec", "jobTemplate", "metadata", "annotations"], create: true),
        Spec(group: "batch", kinds: ["CronJob"], path: ["spec", "jobTemplate", "spec", "template", "metadata", "annotations"], create: true),
    ]

    static func put(_ pairs: OrderedDictionary<String, String>, _ specs: [Spec], _ r: inout KResource) {
        let all = [Spec(group: nil, kinds: [], path: ["metadata", pairsField(specs)], create: true)] + specs
        for s in all {
            if !s.kinds.isEmpty && !s.kinds.contains(r.kind) { continue }
            if let g = s.group, g != r.group { continue }
            KPath.modify(&r.obj, s.path[...], create: s.create) { v in
                if !s.create && v == nil { return }
                var o = v?.objectValue ?? [:]
                for (k, x) in pairs { o[k] = .string(x) }
                v = .object(o)
            }
        }
    }

    static func pairsField(_ specs: [Spec]) -> String { specs.first?.path.last == "annotations" ? "annotations" : "labels" }

    static func add(_ pairs: OrderedDictionary<String, String>, selectors: Bool, templates: Bool, to res: inout [KResource]) {
        var specs: [Spec] = []
        if templates { specs += templateSpecs }
        if selectors { specs += selectorSpecs }
        for i in res.indices {
            if specs.isEmpty {
                KPath.modify(&res[i].obj, ["metadata", "labels"], create: true) { v in
                    var o = v?.objectValue ?? [:]
                    for (k, x) in pairs { o[k] = .string(x) }
                    v = .object(o)
                }
            } else {
                put(pairs, specs, &res[i])
            }
        }
    }

    static func annotate(_ pairs: OrderedDictionary<String, String>, _ res: inout [KResource]) {
        for i in res.indices { put(pairs, annotationSpecs, &res[i]) }
    }
}

/// Kubernetes label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`.
enum LabelSelector {
    static func matches(_ selector: String, _ labels: OrderedDictionary<String, JSON>, file: String) throws(KustomizeError) -> Bool {
        var terms: [String] = []
        var cur = ""
        var depth = 0
        for c in selector {
            if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            if c == "," && depth == 0 { terms.append(cur); cur = "" } else { cur.append(c) }
        }
        terms.append(cur)
        for raw in terms {
            let t = raw.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            let value = { (k: String) in labels[k].flatMap(Context.scalar) }
            let words = t.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if words.count >= 3, words[1] == "in" || words[1] == "notin" {
                let set = words[2...].joined().trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                let v = value(words[0])
                let inSet = v.map { set.contains($0) } ?? false
                if words[1] == "in" ? !inSet : inSet { return false }
            } else if let r = t.range(of: "!=") {
                let k = t[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
                if value(k) == t[r.upperBound...].trimmingCharacters(in: .whitespaces) { return false }
            } else if let r = t.range(of: "==") ?? t.range(of: "=") {
                let k = t[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
                if value(k) != t[r.upperBound...].trimmingCharacters(in: .whitespaces) { return false }
            } else if t.hasPrefix("!") {
                if labels[String(t.dropFirst()).trimmingCharacters(in: .whitespaces)] != nil { return false }
            } else if words.count == 1 {
                if labels[t] == nil { return false }
            } else {
                throw KustomizeError("\(file): cannot read the selector '\(selector)'")
            }
        }
        return true
    }
}

// MARK: images

enum Images {
    struct Rule { var name, newName, newTag, digest: String }

    /// name, tag, digest of an image reference (a registry's port is not a tag).
    static func split(_ image: String) -> (String, String, String) {
        let slash = image.firstIndex(of: "/") ?? image.startIndex
        let search = image[slash...]
        let at = search.firstIndex(of: "@")
        let colon = search.firstIndex(of: ":")
        if colon == nil && at == nil { return (image, "", "") }
        if let a = at, colon == nil || a < colon! {
            return (String(image[..<a]), "", String(image[image.index(after: a)...]))
        }
        if let c = colon, let a = at {
            return (String(image[..<c]), String(image[image.index(after: c)..<a]), String(image[image.index(after: a)...]))
        }
        let c = colon ?? image.endIndex
        return (String(image[..<c]), c == image.endIndex ? "" : String(image[image.index(after: c)...]), "")
    }

    static func rewrite(_ rule: Rule, _ image: String) -> String? {
        var (name, tag, digest) = split(image)
        guard name == rule.name else { return nil }
        if !rule.newName.isEmpty { name = rule.newName }
        if !rule.newTag.isEmpty && !rule.digest.isEmpty { (tag, digest) = (rule.newTag, rule.digest) }
        else if !rule.newTag.isEmpty { (tag, digest) = (rule.newTag, "") }
        else if !rule.digest.isEmpty { (tag, digest) = ("", rule.digest) }
        return name + (tag.isEmpty ? "" : ":" + tag) + (digest.isEmpty ? "" : "@" + digest)
    }

    /// Every `image` of every element of a `containers` or `initContainers` list, anywhere in the object.
    static func apply(_ rule: Rule, _ j: JSON) -> JSON {
        switch j {
        case .object(var o):
            for (k, v) in o {
                if (k == "containers" || k == "initContainers"), case .array(var list) = v {
                    for i in list.indices {
                        if case .object(var c) = list[i], let img = c["image"]?.stringValue, let new = rewrite(rule, img) {
                            c["image"] = .string(new)
                            list[i] = .object(c)
                        }
                        list[i] = apply(rule, list[i])
                    }
                    o[k] = .array(list)
                } else {
                    o[k] = apply(rule, v)
                }
            }
            return .object(o)
        case .array(let a): return .array(a.map { apply(rule, $0) })
        default: return j
        }
    }
}

// MARK: name references

/// After names changed (prefix, suffix, hashes), references to the old names follow: ConfigMaps and
/// Secrets in pod templates, ServiceAccounts, Roles and ClusterRoles in RBAC, Services in webhooks.
enum NameReferences {
    struct Ref: Sendable {
        var kind: String            // the referred kind
        var referrers: [String]     // kinds holding the reference ([]: any)
        var path: [String]          // to the map holding the name
        var field: String           // the name's field in that map
        var when: (@Sendable (OrderedDictionary<String, JSON>) -> Bool)? = nil
        var namespaceField: String? = nil
    }

    static let podSpecPrefixes: [(kinds: [String], path: [String])] = [
        (["Pod"], ["spec"]),
        (["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController", "PodTemplate"], ["spec", "template", "spec"]),
        (["CronJob"], ["spec", "jobTemplate", "spec", "template", "spec"]),
    ]

    static let refs: [Ref] = {
        var out: [Ref] = []
        for (kinds, pre) in podSpecPrefixes {
            for c in ["containers", "initContainers", "ephemeralContainers"] {
                out.append(Ref(kind: "ConfigMap", referrers: kinds, path: pre + [c, "[]", "env", "[]", "valueFrom", "configMapKeyRef"], field: "name"))
                out.append(Ref(kind: "ConfigMap", referrers: kinds, path: pre + [c, "[]", "envFrom", "[]", "configMapRef"], field: "name"))
                out.append(Ref(kind: "Secret", referrers: kinds, path: pre + [c, "[]", "env", "[]", "valueFrom", "secretKeyRef"], field: "name"))
                out.append(Ref(kind: "Secret", referrers: kinds, path: pre + [c, "[]", "envFrom", "[]", "secretRef"], field: "name"))
            }
            out.append(Ref(kind: "ConfigMap", referrers: kinds, path: pre + ["volumes", "[]", "configMap"], field: "name"))
            out.append(Ref(kind: "ConfigMap", referrers: kinds, path: pre + ["volumes", "[]", "projected", "sources", "[]", "configMap"], field: "name"))
            out.append(Ref(kind: "Secret", referrers: kinds, path: pre + ["volumes", "[]", "secret"], field: "secretName"))
            out.append(Ref(kind: "Secret", referrers: kinds, path: pre + ["volumes", "[]", "projected", "sources", "[]", "secret"], field: "name"))
            out.append(Ref(kind: "Secret", referrers: kinds, path: pre + ["imagePullSecrets", "[]"], field: "name"))
            out.append(Ref(kind: "ServiceAccount", referrers: kinds, path: pre, field: "serviceAccountName"))
            out.append(Ref(kind: "ServiceAccount", referrers: kinds, path: pre, field: "serviceAccount"))
            out.append(Ref(kind: "PersistentVolumeClaim", referrers: kinds, path: pre + ["volumes", "[]", "persistentVolumeClaim"], field: "claimName"))
        }
        out += [
            Ref(kind: "Secret", referrers: ["ServiceAccount"], path: ["imagePullSecrets", "[]"], field: "name"),
            Ref(kind: "Secret", referrers: ["Ingress"], path: ["spec", "tls", "[]"], field: "secretName"),
            // As kustomize: every subject (whatever its kind) named as a ServiceAccount of the build follows it.
            Ref(kind: "ServiceAccount", referrers: ["RoleBinding", "ClusterRoleBinding"], path: ["subjects", "[]"], field: "name",
                namespaceField: "namespace"),
            Ref(kind: "Role", referrers: ["RoleBinding"], path: ["roleRef"], field: "name", when: { $0["kind"]?.stringValue == "Role" }),
            Ref(kind: "ClusterRole", referrers: ["RoleBinding", "ClusterRoleBinding"], path: ["roleRef"], field: "name",
                when: { $0["kind"]?.stringValue == "ClusterRole" }),
            Ref(kind: "Service", referrers: ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"],
                path: ["webhooks", "[]", "clientConfig", "service"], field: "name", namespaceField: "namespace"),
            Ref(kind: "Service", referrers: ["APIService"], path: ["spec", "service"], field: "name", namespaceField: "namespace"),
            Ref(kind: "Service", referrers: ["StatefulSet"], path: ["spec"], field: "serviceName"),
            Ref(kind: "Service", referrers: ["Ingress"], path: ["spec", "rules", "[]", "http", "paths", "[]", "backend", "service"], field: "name"),
            Ref(kind: "Service", referrers: ["Ingress"], path: ["spec", "defaultBackend", "service"], field: "name"),
        ]
        return out
    }()

    static func fix(_ res: inout [KResource]) {
        let snapshot = res
        for i in res.indices {
            let referrer = res[i]
            for ref in refs where ref.referrers.contains(referrer.kind) {
                KPath.modify(&res[i].obj, ref.path[...], create: false) { holder in
                    guard case .object(var o)? = holder, let old = o[ref.field]?.stringValue else { return }
                    if let when = ref.when, !when(o) { return }
                    let candidates = snapshot.filter { $0.kind == ref.kind && $0.names.contains(old) }
                    guard !candidates.isEmpty else { return }
                    // The referral in the referrer's namespace (or the one the reference names).
                    let wantNS = ref.namespaceField.flatMap { o[$0]?.stringValue } ?? referrer.namespace
                    let scoped = Transformers.clusterScoped.contains(ref.kind)
                    let pick = scoped ? candidates.first
                        : candidates.first(where: { $0.namespaces.contains(wantNS) || ($0.namespace.isEmpty && wantNS == "default") })
                    guard let pick else { return }
                    o[ref.field] = .string(pick.name)
                    if let nf = ref.namespaceField, !pick.namespace.isEmpty { o[nf] = .string(pick.namespace) }
                    holder = .object(o)
                }
            }
        }
    }
}
