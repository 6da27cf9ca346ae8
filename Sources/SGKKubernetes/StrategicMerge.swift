import OrderedCollections
import SGKData

/// Strategic merge of a patch into an object, as kustomize (v5) does it:
/// - maps merge key by key; a `null` value deletes the key;
/// - lists of the built-in kinds with a patch merge key (containers by name, env by name, container
///   ports by containerPort, Service ports by port, volumeMounts by mountPath, …) merge element by
///   element: the patch's elements first, in the patch's order (each merged into the object's element
///   of the same key), then the object's other elements in their order;
/// - every other list (tolerations, args, rules, and every list of a custom resource) is replaced;
/// - `$patch: delete` (a map, or a list element) removes it, `$patch: replace` replaces the map or
///   list instead of merging, `$patch: merge` is the default.
public enum StrategicMerge {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// API groups whose kinds have a schema (and so merge keys); custom resources have none.
    static let builtInGroups: Set<String> = [
        "", "apps", "batch", "autoscaling", "policy", "rbac.authorization.k8s.io", "networking.k8s.io",
        "admissionregistration.k8s.io", "apiextensions.k8s.io", "storage.k8s.io", "scheduling.k8s.io",
        "coordination.k8s.io", "certificates.k8s.io", "discovery.k8s.io", "node.k8s.io",
        "apiregistration.k8s.io", "events.k8s.io", "extensions", "flowcontrol.apiserver.k8s.io",
    ]

    /// The patch merge key of a list field of the built-in kinds (by the field's name; `ports` depends
    /// on whether it is a container's or a Service's).
    static func mergeKey(field: String, parentPath: [String], kind: String) -> String? {
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets",
             "webhooks", "resourceClaims", "schedulingGates":
            return "name"
        case "volumeMounts": return "mountPath"
        case "volumeDevices": return "devicePath"
        case "hostAliases": return "ip"
        case "topologySpreadConstraints": return "topologyKey"
        case "conditions": return "type"
        case "ownerReferences": return "uid"
        case "ports":
            // A container's ports (…/containers[]/ports) by containerPort; a Service's by port.
            if kind == "Service" && parentPath == ["spec"] { return "port" }
            return parentPath.last == "[]" ? "containerPort" : nil
        default: return nil
        }
    }

    /// Merges `patch` into `object` (both whole objects; the patch's kind decides the merge keys).
    public static func merge(_ object: JSON, _ patch: JSON) throws(Failure) -> JSON {
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : ""
        let kind = object["kind"]?.stringValue ?? ""
        let schema = builtInGroups.contains(group)
        guard let merged = try mergeValue(object, patch, path: [], kind: kind, schema: schema) else {
            throw Failure(message: "the patch deletes the whole object ($patch: delete)")
        }
        return merged
    }

    /// nil: the value is deleted.
    static func mergeValue(_ original: JSON?, _ patch: JSON, path: [String], kind: String, schema: Bool) throws(Failure) -> JSON? {
        switch patch {
        case .null: return nil
        case .object(var p):
            if let directive = p["$patch"] {
                p["$patch"] = nil
                switch directive.stringValue {
                case "delete": return nil
                case "replace": return stripDirectives(.object(p))
                case "merge": break
                default: throw Failure(message: "unknown $patch directive \(JSONCodec.serialize(directive)) at \(display(path))")
                }
            }
            for k in p.keys where k.hasPrefix("$") {
                throw Failure(message: "the strategic merge directive \(k) at \(display(path)) is not supported (only $patch)")
            }
            guard case .object(var o)? = original else { return stripDirectives(.object(p)) }
            for (k, v) in p {
                if let m = try mergeValue(o[k], v, path: path + [k], kind: kind, schema: schema) { o[k] = m } else { o[k] = nil }
            }
            return .object(o)
        case .array(let items):
            let field = path.last ?? ""
            let key = schema ? mergeKey(field: field, parentPath: Array(path.dropLast()), kind: kind) : nil
            // `- $patch: replace` in the list: the rest of the list replaces the object's.
            let replace = items.contains { $0["$patch"]?.stringValue == "replace" }
            let rest = items.filter { $0["$patch"]?.stringValue != "replace" }
            guard let key, !replace, case .array(let orig)? = original else {
                return stripDirectives(.array(rest.filter { $0["$patch"]?.stringValue != "delete" }))
            }
            var out: [JSON] = []
            var used = Set<Int>()
            for item in rest {
                guard case .object = item, let kv = item[key] else {
                    throw Failure(message: "an element of \(display(path)) has no merge key \"\(key)\"")
                }
                let match = orig.indices.first { !used.contains($0) && orig[$0][key] == kv }
                if let match { used.insert(match) }
                if let m = try mergeValue(match.map { orig[$0] }, item, path: path + ["[]"], kind: kind, schema: schema) {
                    out.append(m)
                }
            }
            for (i, o) in orig.enumerated() where !used.contains(i) { out.append(o) }
            return .array(out)
        default:
            return patch
        }
    }

    static func stripDirectives(_ v: JSON) -> JSON {
        switch v {
        case .object(let o):
            var out = OrderedDictionary<String, JSON>()
            for (k, x) in o where !k.hasPrefix("$") {
                if case .null = x { continue }
                out[k] = stripDirectives(x)
            }
            return .object(out)
        case .array(let a): return .array(a.map(stripDirectives))
        default: return v
        }
    }

    static func display(_ path: [String]) -> String {
        path.isEmpty ? "the top" : path.joined(separator: ".").replacingOccurrences(of: ".[]", with: "[]")
    }
}
