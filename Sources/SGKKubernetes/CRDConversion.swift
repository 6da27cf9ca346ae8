import Foundation
import OrderedCollections
import SGKData

/// Converts `apiextensions.k8s.io/v1beta1` CustomResourceDefinitions to `v1`, for servers that no
/// longer serve v1beta1 (Kubernetes ≥ 1.22).
public enum CRDConversion {
    public static let v1beta1 = "apiextensions.k8s.io/v1beta1"
    public static let v1 = "apiextensions.k8s.io/v1"

    /// Whether an object is a v1beta1 CRD.
    public static func isV1beta1CRD(_ object: JSON) -> Bool {
        object["kind"]?.stringValue == "CustomResourceDefinition" && object["apiVersion"]?.stringValue == v1beta1
    }

    /// The one-line notice printed when a CRD is converted.
    public static func notice(name: String) -> String {
        "converted CustomResourceDefinition \(name) from apiextensions.k8s.io/v1beta1 to v1 (server does not serve v1beta1)"
    }

    /// Converts one v1beta1 CRD to v1:
    /// - `spec.version` → `spec.versions` (served, storage), keeping existing `versions`;
    /// - `spec.validation.openAPIV3Schema` → each version's `schema.openAPIV3Schema`;
    /// - `spec.subresources` and `spec.additionalPrinterColumns` (`JSONPath` → `jsonPath`) → each version;
    /// - `preserveUnknownFields` removed (v1 rejects `true`), its meaning kept: where v1beta1
    ///   preserved unknown fields (`preserveUnknownFields` true, v1beta1's default), every object
    ///   node of the schema, the root included, gets `x-kubernetes-preserve-unknown-fields: true`,
    ///   as the server's own conversion keeps them, so that custom resources keep the spec and
    ///   status fields their schema does not list; nodes without a `type`, free-form objects,
    ///   and versions without a schema get it anyway;
    ///   schema keywords v1 rejects are removed;
    /// - `conversion.webhookClientConfig` → `conversion.webhook.clientConfig`; `status` dropped.
    public static func convert(_ crd: JSON) throws -> JSON {
        guard case .object(let top) = crd, isV1beta1CRD(crd) else {
            throw KubeError.invalidObject("not an apiextensions.k8s.io/v1beta1 CustomResourceDefinition")
        }
        guard case .object(let spec)? = top["spec"] else {
            throw KubeError.invalidObject("CustomResourceDefinition \(crd.at("metadata", "name")?.stringValue ?? "?") has no spec")
        }
        let topSchema = spec["validation"]?["openAPIV3Schema"]
        let preserveUnknown = spec["preserveUnknownFields"]?.boolValue ?? true
        let topSubresources = spec["subresources"]
        let topColumns = spec["additionalPrinterColumns"]?.arrayValue

        var versions: [JSON] = spec["versions"]?.arrayValue ?? []
        if versions.isEmpty {
            guard let v = spec["version"]?.stringValue, !v.isEmpty else {
                throw KubeError.invalidObject("CustomResourceDefinition has neither spec.version nor spec.versions")
            }
            versions = [.object(["name": .string(v), "served": .bool(true), "storage": .bool(true)])]
        }
        if !versions.contains(where: { $0["storage"]?.boolValue == true }), case .object(var first)? = versions.first {
            first["storage"] = .bool(true)
            versions[0] = .object(first)
        }

        var newVersions: [JSON] = []
        for v in versions {
            guard case .object(let vo) = v, let name = vo["name"]?.stringValue else {
                throw KubeError.invalidObject("spec.versions entry without a name")
            }
            var nv = OrderedDictionary<String, JSON>()
            nv["name"] = .string(name)
            nv["served"] = vo["served"] ?? .bool(true)
            nv["storage"] = vo["storage"] ?? .bool(false)
            if let d = vo["deprecated"] { nv["deprecated"] = d }
            if let d = vo["deprecationWarning"] { nv["deprecationWarning"] = d }
            let schema = vo["schema"]?["openAPIV3Schema"] ?? topSchema
            var s: JSON = schema.map { structural($0, path: [], preserveUnknown: preserveUnknown) }
                ?? .object(["type": .string("object"), "x-kubernetes-preserve-unknown-fields": .bool(true)])
            if case .object(var so) = s, so["type"] == nil {
                so["type"] = .string("object")
                s = .object(so)
            }
            nv["schema"] = .object(["openAPIV3Schema": s])
            if let sub = vo["subresources"] ?? topSubresources { nv["subresources"] = sub }
            if let cols = vo["additionalPrinterColumns"]?.arrayValue ?? topColumns {
                nv["additionalPrinterColumns"] = .array(cols.map(convertColumn))
            }
            newVersions.append(.object(nv))
        }

        var newSpec = OrderedDictionary<String, JSON>()
        for (k, v) in spec {
            switch k {
            case "version", "validation", "subresources", "additionalPrinterColumns", "preserveUnknownFields":
                continue
            case "versions":
                newSpec["versions"] = .array(newVersions)
            case "conversion":
                newSpec["conversion"] = convertConversion(v)
            default:
                newSpec[k] = v
            }
        }
        if newSpec["versions"] == nil { newSpec["versions"] = .array(newVersions) }

        var out = OrderedDictionary<String, JSON>()
        for (k, v) in top {
            switch k {
            case "apiVersion": out[k] = .string(v1)
            case "spec": out[k] = .object(newSpec)
            case "status": continue
            default: out[k] = v
            }
        }
        return .object(out)
    }

    static func convertColumn(_ c: JSON) -> JSON {
        guard case .object(let o) = c else { return c }
        var n = OrderedDictionary<String, JSON>()
        for (k, v) in o { n[k == "JSONPath" ? "jsonPath" : k] = v }
        return .object(n)
    }

    static func convertConversion(_ c: JSON) -> JSON {
        guard case .object(let o) = c else { return c }
        var n = OrderedDictionary<String, JSON>()
        n["strategy"] = o["strategy"] ?? .string("None")
        if n["strategy"]?.stringValue == "Webhook" {
            var w = OrderedDictionary<String, JSON>()
            if let cc = o["webhookClientConfig"] { w["clientConfig"] = cc }
            w["conversionReviewVersions"] = o["conversionReviewVersions"] ?? .array([.string("v1beta1")])
            n["webhook"] = .object(w)
        }
        return .object(n)
    }

    /// Keywords that structural v1 schemas reject.
    static let rejected: Set<String> = ["$schema", "$ref", "id", "definitions", "additionalItems", "patternProperties",
                                        "dependencies", "uniqueItems"]

    /// Makes a schema node structural: removes rejected keywords, marks untyped and free-form nodes
    /// with `x-kubernetes-preserve-unknown-fields`.
    static func structural(_ node: JSON, path: [String], preserveUnknown: Bool = false) -> JSON {
        guard case .object(let o) = node else { return node }
        var n = OrderedDictionary<String, JSON>()
        for (k, v) in o {
            if rejected.contains(k) { continue }
            switch k {
            case "properties":
                guard case .object(let props) = v else { continue }
                var np = OrderedDictionary<String, JSON>()
                for (pk, pv) in props { np[pk] = structural(pv, path: path + [pk], preserveUnknown: preserveUnknown) }
                n[k] = .object(np)
            case "items":
                if case .array(let arr) = v, let first = arr.first {
                    n[k] = structural(first, path: path + ["[]"], preserveUnknown: preserveUnknown)  // tuple items are not structural
                } else {
                    n[k] = structural(v, path: path + ["[]"], preserveUnknown: preserveUnknown)
                }
            case "additionalProperties":
                if case .bool(false) = v { continue }
                if case .bool(true) = v {
                    n["x-kubernetes-preserve-unknown-fields"] = .bool(true)
                    continue
                }
                n[k] = structural(v, path: path + ["{}"], preserveUnknown: preserveUnknown)
            default:
                n[k] = v
            }
        }
        if n["properties"] != nil, n["additionalProperties"] != nil { n["additionalProperties"] = nil }
        let isRootMetadata = path == ["metadata"]
        let intOrString = n["x-kubernetes-int-or-string"]?.boolValue == true
        let preserve = n["x-kubernetes-preserve-unknown-fields"]?.boolValue == true
        if n["type"] == nil, !intOrString, !preserve, !path.isEmpty {
            n["x-kubernetes-preserve-unknown-fields"] = .bool(true)
        }
        if n["type"]?.stringValue == "object", n["properties"] == nil, n["additionalProperties"] == nil,
           !preserve, !isRootMetadata, !path.isEmpty {
            n["x-kubernetes-preserve-unknown-fields"] = .bool(true)
        }
        if preserveUnknown, !isRootMetadata, n["type"]?.stringValue == "object" || (n["type"] == nil && n["properties"] != nil) {
            n["x-kubernetes-preserve-unknown-fields"] = .bool(true)
        }
        if isRootMetadata {
            // v1 allows only name/generateName restrictions on the root metadata.
            var m = OrderedDictionary<String, JSON>()
            m["type"] = .string("object")
            if let d = n["description"] { m["description"] = d }
            if let p = n["properties"]?.objectValue {
                let allowed = p.filter { $0.key == "name" || $0.key == "generateName" }
                if !allowed.isEmpty { m["properties"] = .object(allowed) }
            }
            return .object(m)
        }
        return .object(n)
    }

    // MARK: - Schema rules newer than the server

    /// `x-kubernetes-validations` (CEL rules) came with Kubernetes 1.25; older servers refuse a
    /// CRD that holds them under server-side apply (the field is not in their schema of CRDs).
    public static let validationsKey = "x-kubernetes-validations"
    public static let validationsSince = 25

    /// How many `x-kubernetes-validations` rules a v1 CRD's schemas hold.
    public static func validationRuleCount(_ crd: JSON) -> Int {
        guard crd["kind"]?.stringValue == "CustomResourceDefinition", crd["apiVersion"]?.stringValue == v1 else { return 0 }
        func count(_ node: JSON) -> Int {
            switch node {
            case .object(let o):
                var n = o[validationsKey]?.arrayValue?.count ?? 0
                for (k, v) in o where k != validationsKey { n += count(v) }
                return n
            case .array(let a):
                return a.reduce(0) { $0 + count($1) }
            default:
                return 0
            }
        }
        return (crd.at("spec", "versions")?.arrayValue ?? []).reduce(0) { $0 + count($1["schema"] ?? .null) }
    }

    /// The CRD without its `x-kubernetes-validations` rules, for a server older than 1.25;
    /// nothing else changes.
    public static func lowerValidationRules(_ crd: JSON) -> JSON {
        func strip(_ node: JSON) -> JSON {
            switch node {
            case .object(let o):
                var n = OrderedDictionary<String, JSON>()
                for (k, v) in o where k != validationsKey { n[k] = strip(v) }
                return .object(n)
            case .array(let a):
                return .array(a.map(strip))
            default:
                return node
            }
        }
        guard case .object(var top) = crd, case .object(var spec)? = top["spec"], let versions = spec["versions"]?.arrayValue else { return crd }
        spec["versions"] = .array(versions.map { v in
            guard case .object(var vo) = v, let schema = vo["schema"] else { return v }
            vo["schema"] = strip(schema)
            return .object(vo)
        })
        top["spec"] = .object(spec)
        return .object(top)
    }

    /// The one line said for a lowered CRD, as kubectl prints a server's warning.
    public static func loweringWarning(name: String, rules: Int, serverVersion: String) -> String {
        "Warning: CustomResourceDefinition \(name): its \(rules) x-kubernetes-validations rule(s) are left out: the server (\(serverVersion)) does not know the field (Kubernetes 1.\(validationsSince)+), so they are not checked on this cluster"
    }

    /// Whether rules must be left out for a server of this `/version`: only for a readable 1.x
    /// before 1.25 — never for a server that knows the field, nor one whose version is unknown.
    public static func lowersValidationRules(forServer version: JSON) -> Bool {
        guard let minor = minorVersion(version) else { return false }
        return minor < validationsSince
    }

    /// The minor version of a `/version` document (`"20"`, `"20+"` → 20), or nil.
    public static func minorVersion(_ version: JSON) -> Int? {
        guard version["major"]?.stringValue == "1", let minor = version["minor"]?.stringValue else { return nil }
        return Int(minor.prefix { $0.isNumber })
    }
}
