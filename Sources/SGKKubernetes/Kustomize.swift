import Crypto
import Foundation
import OrderedCollections
import SGKData

/// An error of a kustomization: what is wrong, naming the file.
public struct KustomizeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// `kubectl kustomize DIR` natively: reads a kustomization directory and returns its objects in the
/// order kustomize v5.5.0 (kubectl v1.32) prints them (its legacy kind order), each with its keys
/// sorted as kustomize prints them. The fields supported are `Kustomize.supportedFields`; any other
/// is an error naming it and the file.
public enum Kustomize {
    public static let supportedFields: [String] = [
        "apiVersion", "kind", "resources", "namespace", "namePrefix", "nameSuffix", "images",
        "commonLabels", "labels", "commonAnnotations", "patches", "patchesStrategicMerge",
        "patchesJson6902", "configMapGenerator", "secretGenerator",
    ]
    public static let fileNames = ["kustomization.yaml", "kustomization.yml", "Kustomization"]

    /// Renders the kustomization in `directory`. `environment` answers an `envs` file's line that
    /// names a variable without a value (as kustomize reads the process environment).
    public static func render(directory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(KustomizeError) -> [JSON] {
        var b = Builder(environment: environment)
        var resources = try b.build(directory: absolute(directory))
        // Generated ConfigMaps and Secrets get their content hash as a name suffix, then every
        // reference to a renamed object follows it.
        for i in resources.indices where resources[i].hashed {
            let h = try hash(resources[i].obj)
            let name = "\(resources[i].name)-\(h)"
            resources[i].rename(name)
        }
        NameReferences.fix(&resources)
        return legacySorted(resources.map { sortKeys($0.obj) })
    }

    // MARK: order

    static let orderFirst = ["Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount",
                             "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap",
                             "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume",
                             "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget"]
    static let orderLast = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]

    static func typeOrder(_ kind: String) -> Int {
        if let i = orderFirst.firstIndex(of: kind) { return -orderFirst.count + i }
        if let i = orderLast.firstIndex(of: kind) { return 1 + i }
        return 0
    }

    static func gvk(_ o: JSON) -> (group: String, version: String, kind: String) {
        let av = o["apiVersion"]?.stringValue ?? ""
        let parts = av.split(separator: "/", maxSplits: 1).map(String.init)
        let (g, v) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts.first ?? "")
        return (g, v, o["kind"]?.stringValue ?? "")
    }

    static func gvkSortString(_ o: JSON) -> String {
        let (g, v, k) = gvk(o)
        return [g.isEmpty ? "~G" : g, v.isEmpty ? "~V" : v, k.isEmpty ? "~K" : k].joined(separator: "_")
    }

    /// kustomize's legacy order: by kind (its fixed list first, webhooks last), then
    /// group_version_kind, then namespace|name.
    static func legacySorted(_ objs: [JSON]) -> [JSON] {
        objs.sorted { a, b in
            let (ga, gb) = (gvk(a), gvk(b))
            if ga != gb {
                let (ia, ib) = (typeOrder(ga.kind), typeOrder(gb.kind))
                if ia != ib { return ia < ib }
                if ga.kind == "Namespace" && gb.kind == "Namespace" && (ga.group.isEmpty || gb.group.isEmpty) {
                    return gvkSortString(a) > gvkSortString(b)
                }
                return gvkSortString(a) < gvkSortString(b)
            }
            func key(_ o: JSON) -> String {
                let ns = o.at("metadata", "namespace")?.stringValue ?? ""
                let n = o.at("metadata", "name")?.stringValue ?? ""
                return (ns.isEmpty ? "~X" : ns) + "|" + (n.isEmpty ? "~N" : n)
            }
            return key(a) < key(b)
        }
    }

    static func sortKeys(_ j: JSON) -> JSON {
        switch j {
        case .object(let o):
            var out = OrderedDictionary<String, JSON>()
            for k in o.keys.sorted() { out[k] = sortKeys(o[k]!) }
            return .object(out)
        case .array(let a): return .array(a.map(sortKeys))
        default: return j
        }
    }

    // MARK: hash

    /// kustomize's name suffix of a generated ConfigMap or Secret: the SHA-256 of Go's json.Marshal
    /// of a map (keys in byte order, HTML-safe escapes) of
    ///   ConfigMap: {kind, name, data (, binaryData when it is a map)}
    ///   Secret:    {kind, name, type, data (, stringData when it is a map)}
    /// then its first 10 hex digits with 0 1 3 a e spelled g h k m t. kustomize v5.5 looks the name
    /// up as one field called "metadata/name", which no object has, so it is always "" (checked
    /// against kubectl v1.32.4); a missing type or data is "" too. The data values are hashed as the
    /// object holds them: a generated Secret's base64 in kustomize's 70-column lines.
    static func hash(_ o: JSON) throws(KustomizeError) -> String {
        func field(_ k: String) -> JSON {
            switch o[k] {
            case nil, .null?: return .string("")
            case .string(let s)?: return .string(s)
            case .bool(let b)?: return .string(b ? "true" : "false")
            case .int(let i)?: return .string(String(i))
            case .double(let d)?: return .string(JSONCodec.serialize(.double(d)))
            case .object(let m)?: return .object(m)
            case .array?: return .null  // not a map: Go's json.Unmarshal into a map leaves it nil
            }
        }
        var m = OrderedDictionary<String, JSON>()
        let kind = o["kind"]?.stringValue ?? ""
        m["kind"] = .string(kind)
        m["name"] = .string("")
        m["data"] = field("data")
        if kind == "Secret" {
            m["type"] = field("type")
            if let sd = o["stringData"]?.objectValue { m["stringData"] = .object(sd) }
        } else {
            if let bd = o["binaryData"]?.objectValue { m["binaryData"] = .object(bd) }
        }
        let text = goJSON(goSorted(.object(m)))
        let digest = SHA256.hash(data: Array(text.utf8))
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        let map: [Character: Character] = ["0": "g", "1": "h", "3": "k", "a": "m", "e": "t"]
        return String(hex.prefix(10).map { map[$0] ?? $0 })
    }

    /// Map keys in the byte order of their UTF-8, as Go's encoding/json writes them.
    static func goSorted(_ j: JSON) -> JSON {
        switch j {
        case .object(let o):
            var out = OrderedDictionary<String, JSON>()
            for (k, v) in o.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) { out[k] = goSorted(v) }
            return .object(out)
        case .array(let a): return .array(a.map(goSorted))
        default: return j
        }
    }

    /// Base64 as kustomize (kyaml) writes generated Secret data and ConfigMap binaryData: from 70
    /// characters on, lines of 70 each ending in a newline; shorter, one line without one.
    static func base64Lines(_ bytes: [UInt8]) -> String {
        let b = Data(bytes).base64EncodedString()
        guard b.utf8.count >= 70 else { return b }
        var out = ""
        var rest = Substring(b)
        while !rest.isEmpty {
            out += rest.prefix(70) + "\n"
            rest = rest.dropFirst(70)
        }
        return out
    }

    /// JSON as Go's encoding/json writes it (compact, HTML-safe escapes).
    static func goJSON(_ j: JSON) -> String {
        switch j {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return JSONCodec.serialize(.double(d))
        case .string(let s): return goString(s)
        case .array(let a): return "[" + a.map(goJSON).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { goString($0.key) + ":" + goJSON($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func goString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{c}": out += "\\f"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += String(format: "\\u%04x", u.value)
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    // MARK: paths

    static func absolute(_ path: String) -> String {
        let p = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return (p as NSString).standardizingPath
    }
}

/// One object of a build, with the names and namespaces it had (references to any of them follow it).
struct KResource {
    var obj: JSON
    var names: [String]
    var namespaces: [String]
    /// A generated ConfigMap/Secret whose name gets the content hash.
    var hashed = false
    var generated = false

    init(_ obj: JSON) {
        self.obj = obj
        names = [obj.at("metadata", "name")?.stringValue ?? ""]
        namespaces = [obj.at("metadata", "namespace")?.stringValue ?? ""]
    }

    var name: String { obj.at("metadata", "name")?.stringValue ?? "" }
    var namespace: String { obj.at("metadata", "namespace")?.stringValue ?? "" }
    var kind: String { obj["kind"]?.stringValue ?? "" }
    var group: String { Kustomize.gvk(obj).group }
    var version: String { Kustomize.gvk(obj).version }

    mutating func rename(_ n: String) {
        obj = KPath.set(obj, ["metadata", "name"], .string(n))
        if !names.contains(n) { names.append(n) }
    }

    /// Records the current name and namespace (after a patch, which may change them).
    mutating func noteIdentity() {
        if !names.contains(name) { names.append(name) }
        if !namespaces.contains(namespace) { namespaces.append(namespace) }
    }

    var id: String { "\(kind).\(version).\(group)/\(name).\(namespace.isEmpty ? "[noNs]" : namespace)" }
}

/// Small path helpers over the JSON tree: keys, with `[]` for every element of a list.
enum KPath {
    static func set(_ j: JSON, _ path: [String], _ v: JSON) -> JSON {
        guard let k = path.first else { return v }
        var o = j.objectValue ?? [:]
        o[k] = set(o[k] ?? .object([:]), Array(path.dropFirst()), v)
        return .object(o)
    }

    /// Calls `body` on the value at `path` (every match through `[]`). With `create`, missing maps
    /// on the way (not lists) are made, and `body` gets nil for a missing leaf.
    static func modify(_ j: inout JSON, _ path: ArraySlice<String>, create: Bool, _ body: (inout JSON?) throws -> Void) rethrows {
        guard let k = path.first else {
            var v: JSON? = j
            try body(&v)
            j = v ?? .null
            return
        }
        if k == "[]" {
            guard case .array(var a) = j else { return }
            for i in a.indices { try modify(&a[i], path.dropFirst(), create: create, body) }
            j = .array(a)
            return
        }
        guard case .object(var o) = j else { return }
        if path.count == 1 {
            var v = o[k]
            if v == nil && !create { return }
            try body(&v)
            o[k] = v
            j = .object(o)
            return
        }
        if o[k] == nil {
            guard create, path.dropFirst().first != "[]" else { return }
            o[k] = .object([:])
        }
        var child = o[k]!
        if case .null = child { if create { child = .object([:]) } else { return } }
        try modify(&child, path.dropFirst(), create: create, body)
        o[k] = child
        j = .object(o)
    }
}

struct Builder {
    let environment: [String: String]
    var visiting: [String] = []

    init(environment: [String: String]) { self.environment = environment }

    static func kustomizationFile(in dir: String) throws(KustomizeError) -> String? {
        let found = Kustomize.fileNames.filter { FileManager.default.fileExists(atPath: dir + "/" + $0) }
        if found.count > 1 {
            throw KustomizeError("found multiple kustomization files under \(dir): \(found.joined(separator: ", "))")
        }
        return found.first.map { dir + "/" + $0 }
    }

    static func hasKustomization(_ dir: String) -> Bool {
        Kustomize.fileNames.contains { FileManager.default.fileExists(atPath: dir + "/" + $0) }
    }

    static func read(_ path: String) throws(KustomizeError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KustomizeError("cannot read \(path)")
        }
        guard let s = String(data: data, encoding: .utf8) else { throw KustomizeError("\(path) is not UTF-8 text") }
        return s
    }

    static func parseDocs(_ text: String, file: String) throws(KustomizeError) -> [JSON] {
        do {
            return try YAMLCodec.parseDocuments(text).filter { if case .null = $0 { return false }; return true }
        } catch {
            throw KustomizeError("\(file): \(error)")
        }
    }

    /// Builds one kustomization directory: its resources, generators, then its transformers.
    mutating func build(directory dir: String) throws(KustomizeError) -> [KResource] {
        guard let file = try Builder.kustomizationFile(in: dir) else {
            throw KustomizeError("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '\(dir)'")
        }
        if visiting.contains(dir) {
            throw KustomizeError("cycle in kustomizations: \((visiting + [dir]).joined(separator: " -> "))")
        }
        visiting.append(dir)
        defer { visiting.removeLast() }

        let docs = try Builder.parseDocs(try Builder.read(file), file: file)
        let k: OrderedDictionary<String, JSON>
        switch docs.count {
        case 0: k = [:]
        case 1:
            guard case .object(let o) = docs[0] else { throw KustomizeError("\(file): a kustomization must be a map") }
            k = o
        default: throw KustomizeError("\(file): a kustomization must be one YAML document")
        }
        for key in k.keys where !Kustomize.supportedFields.contains(key) {
            throw KustomizeError("\(file): the kustomization field '\(key)' is not supported by sgk (supported: \(Kustomize.supportedFields.joined(separator: ", ")))")
        }
        let ctx = Context(file: file, dir: dir, k: k)
        if let kind = try ctx.string("kind"), kind != "Kustomization" {
            throw KustomizeError("\(file): kind '\(kind)' is not supported (only Kustomization)")
        }
        if let av = try ctx.string("apiVersion"), av != "kustomize.config.k8s.io/v1beta1" {
            throw KustomizeError("\(file): apiVersion '\(av)' is not supported (kustomize.config.k8s.io/v1beta1)")
        }

        var res: [KResource] = []
        for entry in try ctx.strings("resources") {
            for r in try resources(entry, ctx: ctx) { try add(r, to: &res, file: file) }
        }
        try Generators.run(ctx, into: &res, environment: environment)
        try Transformers.run(ctx, on: &res)
        return res
    }

    func add(_ r: KResource, to res: inout [KResource], file: String) throws(KustomizeError) {
        if res.contains(where: { $0.kind == r.kind && $0.group == r.group && $0.name == r.name && $0.namespace == r.namespace }) {
            throw KustomizeError("\(file): may not add resource with an already registered id: \(r.id)")
        }
        res.append(r)
    }

    mutating func resources(_ entry: String, ctx: Context) throws(KustomizeError) -> [KResource] {
        if entry.contains("://") || entry.hasPrefix("github.com/") || entry.hasPrefix("git@") {
            throw KustomizeError("\(ctx.file): the resource '\(entry)' is remote; sgk reads local trees only (clone it and name the directory)")
        }
        let path = ((entry.hasPrefix("/") ? entry : ctx.dir + "/" + entry) as NSString).standardizingPath
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw KustomizeError("\(ctx.file): the resource '\(entry)' does not exist (\(path))")
        }
        if isDir.boolValue {
            guard try Builder.kustomizationFile(in: path) != nil else {
                throw KustomizeError("\(ctx.file): the resource '\(entry)' is a directory without a kustomization: unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '\(path)'")
            }
            return try build(directory: path)
        }
        try ctx.requireInside(path, what: "resource '\(entry)'")
        return try Builder.objects(try Builder.parseDocs(try Builder.read(path), file: path), file: path).map(KResource.init)
    }

    /// A file's objects: `kind: List` flattened; each must have a kind and a name.
    static func objects(_ docs: [JSON], file: String) throws(KustomizeError) -> [JSON] {
        var out: [JSON] = []
        for d in docs {
            guard case .object = d else { throw KustomizeError("\(file): a document is not a map") }
            if d["kind"]?.stringValue == "List", case .array(let items)? = d["items"] {
                out += try objects(items, file: file)
                continue
            }
            guard d["kind"]?.stringValue?.isEmpty == false else { throw KustomizeError("\(file): an object has no kind") }
            guard d.at("metadata", "name")?.stringValue?.isEmpty == false else {
                throw KustomizeError("\(file): a \(d["kind"]?.stringValue ?? "") object has no metadata.name")
            }
            out.append(d)
        }
        return out
    }
}

/// One kustomization file being built: typed reads of its fields, with errors naming the file.
struct Context {
    let file: String
    let dir: String
    let k: OrderedDictionary<String, JSON>

    func value(_ key: String) -> JSON? {
        if case .null? = k[key] { return nil }
        return k[key]
    }

    func string(_ key: String) throws(KustomizeError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = Context.scalar(v) else { throw KustomizeError("\(file): '\(key)' must be a string") }
        return s
    }

    func strings(_ key: String) throws(KustomizeError) -> [String] {
        guard let v = value(key) else { return [] }
        guard case .array(let a) = v else { throw KustomizeError("\(file): '\(key)' must be a list") }
        var out: [String] = []
        for x in a {
            guard let s = x.stringValue else { throw KustomizeError("\(file): the entries of '\(key)' must be strings") }
            out.append(s)
        }
        return out
    }

    func maps(_ key: String) throws(KustomizeError) -> [OrderedDictionary<String, JSON>] {
        guard let v = value(key) else { return [] }
        guard case .array(let a) = v else { throw KustomizeError("\(file): '\(key)' must be a list") }
        var out: [OrderedDictionary<String, JSON>] = []
        for x in a {
            guard case .object(let o) = x else { throw KustomizeError("\(file): the entries of '\(key)' must be maps") }
            out.append(o)
        }
        return out
    }

    func stringMap(_ v: JSON?, _ what: String) throws(KustomizeError) -> OrderedDictionary<String, String> {
        guard let v, v != .null else { return [:] }
        guard case .object(let o) = v else { throw KustomizeError("\(file): '\(what)' must be a map") }
        var out = OrderedDictionary<String, String>()
        for (key, x) in o {
            guard let s = Context.scalar(x) else { throw KustomizeError("\(file): '\(what).\(key)' must be a string") }
            out[key] = s
        }
        return out
    }

    /// A scalar as kustomize reads it into a string field.
    static func scalar(_ v: JSON) -> String? {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .double(let d): return JSONCodec.serialize(.double(d))
        default: return nil
        }
    }

    static func checkKeys(_ o: OrderedDictionary<String, JSON>, _ allowed: [String], _ what: String, file: String) throws(KustomizeError) {
        for key in o.keys where !allowed.contains(key) {
            throw KustomizeError("\(file): the field '\(key)' of \(what) is not supported by sgk (supported: \(allowed.joined(separator: ", ")))")
        }
    }

    func path(_ rel: String) -> String {
        ((rel.hasPrefix("/") ? rel : dir + "/" + rel) as NSString).standardizingPath
    }

    /// kustomize's default load restriction: files a kustomization reads are in or below its directory.
    func requireInside(_ path: String, what: String) throws(KustomizeError) {
        guard path.hasPrefix(dir + "/") else {
            throw KustomizeError("\(file): the \(what) is outside the kustomization's directory \(dir) (kustomize's load restriction)")
        }
    }

    func readFile(_ rel: String, what: String) throws(KustomizeError) -> String {
        let p = path(rel)
        try requireInside(p, what: "\(what) '\(rel)'")
        guard FileManager.default.fileExists(atPath: p) else { throw KustomizeError("\(file): the \(what) '\(rel)' does not exist (\(p))") }
        return try Builder.read(p)
    }
}
