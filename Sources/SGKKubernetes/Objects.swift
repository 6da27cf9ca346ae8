import Foundation
import NIOHTTP1
import OrderedCollections
import SGKData

/// Identity of one object: kind, apiVersion, name and namespace.
public struct ObjectRef: Sendable, Hashable, CustomStringConvertible {
    public var kind: String
    public var apiVersion: String
    public var name: String
    public var namespace: String?

    public init(kind: String, apiVersion: String, name: String, namespace: String?) {
        self.kind = kind; self.apiVersion = apiVersion; self.name = name; self.namespace = namespace
    }

    /// Reads the identity of a manifest object.
    public init(_ object: JSON) throws {
        guard let kind = object["kind"]?.stringValue, !kind.isEmpty else {
            throw KubeError.invalidObject("object has no kind")
        }
        guard let apiVersion = object["apiVersion"]?.stringValue, !apiVersion.isEmpty else {
            throw KubeError.invalidObject("\(kind) has no apiVersion")
        }
        guard let name = object.at("metadata", "name")?.stringValue, !name.isEmpty else {
            throw KubeError.invalidObject("\(kind) has no metadata.name (generateName is not supported by apply)")
        }
        self.init(kind: kind, apiVersion: apiVersion, name: name,
                  namespace: object.at("metadata", "namespace")?.stringValue.flatMap { $0.isEmpty ? nil : $0 })
    }

    public var description: String {
        if let namespace { return "\(kind) \(namespace)/\(name)" }
        return "\(kind) \(name)"
    }
}

/// `DeleteOptions.propagationPolicy`.
public enum PropagationPolicy: String, Sendable {
    case background = "Background"
    case foreground = "Foreground"
    case orphan = "Orphan"
}

extension KubeClient {
    /// The namespace to use for a resource: nil for cluster-scoped ones.
    func effectiveNamespace(_ resource: APIResource, _ namespace: String?) -> String? {
        resource.namespaced ? (namespace ?? defaultNamespace) : nil
    }

    /// GET one object. Throws `KubeError.api` (404 → `isNotFound`).
    public func get(_ resource: APIResource, name: String, namespace: String? = nil) async throws -> JSON {
        try await sendJSON(.GET, resource.objectPath(name: name, namespace: effectiveNamespace(resource, namespace)))
    }

    /// GET one object, or nil when it does not exist.
    public func getIfExists(_ resource: APIResource, name: String, namespace: String? = nil) async throws -> JSON? {
        do {
            return try await get(resource, name: name, namespace: namespace)
        } catch let e as KubeError where e.isNotFound {
            return nil
        }
    }

    /// GET one object by the name a user typed (`deploy`, `trainingjob.sagemaker.aws.amazon.com`).
    public func get(_ resourceName: String, name: String, namespace: String? = nil) async throws -> JSON {
        try await get(resolveResource(resourceName), name: name, namespace: namespace)
    }

    /// A list: its items (with `kind` and `apiVersion` filled in) and the list's resourceVersion.
    /// Follows `continue` tokens (pages of 500).
    public func listWithVersion(_ resource: APIResource, namespace: String? = nil, allNamespaces: Bool = false,
                                labelSelector: String? = nil, fieldSelector: String? = nil) async throws -> (items: [JSON], resourceVersion: String) {
        let ns: String? = resource.namespaced && !allNamespaces ? (namespace ?? defaultNamespace) : nil
        var items: [JSON] = []
        var cont: String?
        var rv = ""
        repeat {
            var q: [(String, String)] = [("limit", "500")]
            if let labelSelector, !labelSelector.isEmpty { q.append(("labelSelector", labelSelector)) }
            if let fieldSelector, !fieldSelector.isEmpty { q.append(("fieldSelector", fieldSelector)) }
            if let cont { q.append(("continue", cont)) }
            let list = try await sendJSON(.GET, resource.collectionPath(namespace: ns), query: q)
            for case .object(var o) in list["items"]?.arrayValue ?? [] {
                if o["kind"] == nil || o["apiVersion"] == nil {
                    var n = OrderedDictionary<String, JSON>()
                    n["apiVersion"] = .string(resource.apiVersion)
                    n["kind"] = .string(resource.kind)
                    for (k, v) in o where k != "apiVersion" && k != "kind" { n[k] = v }
                    o = n
                }
                items.append(.object(o))
            }
            rv = list.at("metadata", "resourceVersion")?.stringValue ?? rv
            cont = list.at("metadata", "continue")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while cont != nil
        return (items, rv)
    }

    /// `kubectl get RESOURCE [-l …] [--field-selector …] [-A]`: the items.
    public func list(_ resource: APIResource, namespace: String? = nil, allNamespaces: Bool = false,
                     labelSelector: String? = nil, fieldSelector: String? = nil) async throws -> [JSON] {
        try await listWithVersion(resource, namespace: namespace, allNamespaces: allNamespaces,
                                  labelSelector: labelSelector, fieldSelector: fieldSelector).items
    }

    /// POST an object (create).
    public func create(_ resource: APIResource, _ object: JSON, namespace: String? = nil, dryRun: Bool = false,
                       fieldManager: String = "sgk") async throws -> JSON {
        var q: [(String, String)] = [("fieldManager", fieldManager)]
        if dryRun { q.append(("dryRun", "All")) }
        return try await sendJSON(.POST, resource.collectionPath(namespace: effectiveNamespace(resource, namespace)), query: q, body: object)
    }

    /// PATCH an object with a patch type (`application/merge-patch+json`, `application/strategic-merge-patch+json`,
    /// `application/json-patch+json`, `application/apply-patch+yaml`). `subresource` e.g. `status`.
    public func patch(_ resource: APIResource, name: String, namespace: String? = nil, patch: JSON,
                      contentType: String = "application/merge-patch+json", subresource: String? = nil,
                      query: [(String, String)] = []) async throws -> JSON {
        var path = resource.objectPath(name: name, namespace: effectiveNamespace(resource, namespace))
        if let subresource { path += "/" + subresource }
        return try await sendJSON(.PATCH, path, query: query, body: patch, contentType: contentType)
    }

    /// DELETE an object. Returns false when it did not exist. With `waitTimeout`, waits (watch-based)
    /// until the object is gone, throwing `KubeError.timeout` past the bound.
    @discardableResult
    public func delete(_ resource: APIResource, name: String, namespace: String? = nil,
                       propagationPolicy: PropagationPolicy? = .background, dryRun: Bool = false,
                       waitTimeout: TimeInterval? = nil,
                       progress: (@Sendable (String) -> Void)? = nil) async throws -> Bool {
        let ns = effectiveNamespace(resource, namespace)
        var q: [(String, String)] = []
        if dryRun { q.append(("dryRun", "All")) }
        var body: JSON?
        if let propagationPolicy {
            body = .object(["kind": .string("DeleteOptions"), "apiVersion": .string("v1"), "propagationPolicy": .string(propagationPolicy.rawValue)])
        }
        do {
            _ = try await sendJSON(.DELETE, resource.objectPath(name: name, namespace: ns), query: q, body: body)
        } catch let e as KubeError where e.isNotFound {
            return false
        }
        if let waitTimeout, !dryRun {
            try await wait(resource, name: name, namespace: ns, for: .deleted, timeout: waitTimeout, progress: progress)
        }
        return true
    }

    /// `kubectl get … -o name` lines for objects.
    public func nameOutput(_ objects: [JSON]) async throws -> [String] {
        var out: [String] = []
        for o in objects {
            let ref = try ObjectRef(o)
            let r = try await resource(kind: ref.kind, apiVersion: ref.apiVersion)
            out.append(r.nameOutput(ref.name))
        }
        return out
    }
}
