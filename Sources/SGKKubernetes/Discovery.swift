import Foundation
import Logging
import SGKData

/// A resource type as served by discovery (`APIResourceList.resources[]`).
public struct APIResource: Sendable, Hashable {
    /// Plural name, e.g. `deployments`; subresources look like `deployments/status`.
    public var name: String
    public var singularName: String
    public var namespaced: Bool
    public var kind: String
    public var verbs: [String]
    public var shortNames: [String]
    public var categories: [String]
    /// Empty for the core group.
    public var group: String
    public var version: String

    public init(name: String, singularName: String, namespaced: Bool, kind: String, verbs: [String] = [],
                shortNames: [String] = [], categories: [String] = [], group: String, version: String) {
        self.name = name; self.singularName = singularName; self.namespaced = namespaced; self.kind = kind
        self.verbs = verbs; self.shortNames = shortNames; self.categories = categories
        self.group = group; self.version = version
    }

    /// `v1` or `apps/v1`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// True for `pods/status` and the like.
    public var isSubresource: Bool { name.contains("/") }
    /// `deployments.apps`, or `pods` for the core group.
    public var qualifiedName: String { group.isEmpty ? name : "\(name).\(group)" }

    /// The REST path of the collection (`namespace` nil: all namespaces or cluster-scoped).
    public func collectionPath(namespace: String?) -> String {
        let prefix = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { return "\(prefix)/namespaces/\(namespace)/\(name)" }
        return "\(prefix)/\(name)"
    }

    /// The REST path of one object.
    public func objectPath(name objectName: String, namespace: String?) -> String {
        collectionPath(namespace: namespace) + "/" + objectName
    }

    /// `kind.group/name` as `kubectl -o name` prints it.
    public func nameOutput(_ objectName: String) -> String {
        let k = kind.lowercased()
        return group.isEmpty ? "\(k)/\(objectName)" : "\(k).\(group)/\(objectName)"
    }
}

/// A group with its versions, from `/api` and `/apis`.
public struct APIGroupInfo: Sendable, Hashable {
    public var name: String
    public var versions: [String]
    public var preferredVersion: String
}

/// What discovery knew at one moment: groups and their resources. Pure: resolution is testable
/// from recorded discovery documents.
public struct DiscoverySnapshot: Sendable {
    /// Core group first, then `/apis` order.
    public var groups: [APIGroupInfo]
    /// Resources by group-version (`v1`, `apps/v1`).
    public var resources: [String: [APIResource]]

    public init(groups: [APIGroupInfo], resources: [String: [APIResource]]) {
        self.groups = groups; self.resources = resources
    }

    /// Builds a snapshot from `/api` (APIVersions), `/apis` (APIGroupList) and the resource lists by group-version.
    public static func build(api: JSON, apis: JSON, resourceLists: [String: JSON]) -> DiscoverySnapshot {
        var groups: [APIGroupInfo] = []
        let core = (api["versions"]?.arrayValue ?? []).compactMap { $0.stringValue }
        if !core.isEmpty { groups.append(APIGroupInfo(name: "", versions: core, preferredVersion: core.first ?? "v1")) }
        for g in apis["groups"]?.arrayValue ?? [] {
            guard let name = g["name"]?.stringValue else { continue }
            let versions = (g["versions"]?.arrayValue ?? []).compactMap { $0["version"]?.stringValue }
            let preferred = g.at("preferredVersion", "version")?.stringValue ?? versions.first ?? ""
            groups.append(APIGroupInfo(name: name, versions: versions, preferredVersion: preferred))
        }
        var resources: [String: [APIResource]] = [:]
        for (gv, list) in resourceLists { resources[gv] = parseResourceList(list, groupVersion: gv) }
        return DiscoverySnapshot(groups: groups, resources: resources)
    }

    /// Parses an `APIResourceList`.
    public static func parseResourceList(_ list: JSON, groupVersion gv: String) -> [APIResource] {
        let (group, version) = splitAPIVersion(gv)
        return (list["resources"]?.arrayValue ?? []).compactMap { r in
            guard let name = r["name"]?.stringValue, let kind = r["kind"]?.stringValue else { return nil }
            return APIResource(
                name: name, singularName: r["singularName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? kind.lowercased(),
                namespaced: r["namespaced"]?.boolValue ?? false, kind: kind,
                verbs: (r["verbs"]?.arrayValue ?? []).compactMap { $0.stringValue },
                shortNames: (r["shortNames"]?.arrayValue ?? []).compactMap { $0.stringValue },
                categories: (r["categories"]?.arrayValue ?? []).compactMap { $0.stringValue },
                group: r["group"]?.stringValue ?? group, version: r["version"]?.stringValue ?? version)
        }
    }

    /// Built-in resource names (plural, singular, short names) and the group-versions serving them,
    /// preferred first. Built-in groups come before any CRD's in discovery, so these names resolve
    /// to the same resource with or without the full snapshot.
    public static let wellKnown: [String: [String]] = {
        var m: [String: [String]] = [:]
        let table: [([String], [String])] = [
            (["pods", "pod", "po", "services", "service", "svc", "namespaces", "namespace", "ns", "configmaps", "configmap", "cm",
              "secrets", "secret", "serviceaccounts", "serviceaccount", "sa", "nodes", "node", "no",
              "persistentvolumeclaims", "persistentvolumeclaim", "pvc", "endpoints", "ep"], ["v1"]),
            (["deployments", "deployment", "deploy", "replicasets", "replicaset", "rs", "statefulsets", "statefulset", "sts",
              "daemonsets", "daemonset", "ds"], ["apps/v1"]),
            (["customresourcedefinitions", "customresourcedefinition", "crd", "crds"],
             ["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"]),
            (["roles", "role", "rolebindings", "rolebinding", "clusterroles", "clusterrole", "clusterrolebindings", "clusterrolebinding"],
             ["rbac.authorization.k8s.io/v1"]),
            (["jobs", "job"], ["batch/v1"]),
        ]
        for (names, gvs) in table { for n in names { m[n] = gvs } }
        return m
    }()

    /// Whether a group-version is served.
    public func serves(_ apiVersion: String) -> Bool {
        let (g, v) = splitAPIVersion(apiVersion)
        return groups.contains { $0.name == g && $0.versions.contains(v) }
    }

    /// The resource of the preferred version of each group, without subresources (as `kubectl api-resources` lists them).
    public var preferredResources: [APIResource] {
        var out: [APIResource] = []
        for g in groups {
            let gv = g.name.isEmpty ? g.preferredVersion : "\(g.name)/\(g.preferredVersion)"
            out += (resources[gv] ?? []).filter { !$0.isSubresource }
        }
        return out
    }

    /// The resource for a kind in an apiVersion (`Deployment`, `apps/v1`).
    public func resource(kind: String, apiVersion: String) -> APIResource? {
        resources[apiVersion]?.first { $0.kind == kind && !$0.isSubresource }
    }

    /// Resolves what a user types as kubectl does: plural, singular, short name or kind,
    /// case-insensitive, optionally qualified by group (`trainingjobs.sagemaker.aws.amazon.com`)
    /// or version and group (`deployments.v1.apps`). Prefers the group's preferred version.
    public func resolve(_ input: String) throws -> APIResource {
        let lower = input.lowercased()
        var candidates: [(name: String, group: String?, version: String?)] = [(lower, nil, nil)]
        if let dot = lower.firstIndex(of: ".") {
            let name = String(lower[..<dot])
            let rest = String(lower[lower.index(after: dot)...])
            candidates = [(name, rest, nil)]
            if let dot2 = rest.firstIndex(of: ".") {
                candidates.append((name, String(rest[rest.index(after: dot2)...]), String(rest[..<dot2])))
            }
            // A dotted name that is not group-qualified (rare) is matched whole as a last resort.
            candidates.append((lower, nil, nil))
        }
        for c in candidates {
            if let r = match(name: c.name, group: c.group, version: c.version) { return r }
        }
        if input == "all" {
            throw KubeError.unknownResource("sgk has no \"all\": name the types, e.g. kubectl get deployments,services,pods")
        }
        throw KubeError.unknownResource("the server doesn't have a resource type \"\(input)\"")
    }

    func match(name: String, group: String?, version: String?) -> APIResource? {
        // Short names first (kubectl expands them before matching), then plural, singular, kind.
        let tests: [(APIResource) -> Bool] = [
            { $0.shortNames.contains { $0.lowercased() == name } },
            { $0.name.lowercased() == name },
            { $0.singularName.lowercased() == name },
            { $0.kind.lowercased() == name },
        ]
        for test in tests {
            for g in groups {
                if let group, g.name.lowercased() != group { continue }
                var versions = [g.preferredVersion] + g.versions.filter { $0 != g.preferredVersion }
                if let version { versions = versions.filter { $0 == version } }
                for v in versions {
                    let gv = g.name.isEmpty ? v : "\(g.name)/\(v)"
                    if let r = resources[gv]?.first(where: { !$0.isSubresource && test($0) }) { return r }
                }
            }
        }
        return nil
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
public func splitAPIVersion(_ apiVersion: String) -> (group: String, version: String) {
    if let slash = apiVersion.firstIndex(of: "/") {
        return (String(apiVersion[..<slash]), String(apiVersion[apiVersion.index(after: slash)...]))
    }
    return ("", apiVersion)
}

/// Discovery cache of one client: per group-version resource lists (fetched lazily) and the full
/// snapshot (fetched on demand). Concurrent requests share one fetch.
public actor Discovery {
    private var groupVersions: [String: Task<[APIResource]?, Error>] = [:]
    private var full: Task<DiscoverySnapshot, Error>?

    public init() {}

    /// Forgets everything (call after CRDs are applied or removed).
    public func invalidate() {
        groupVersions = [:]
        full = nil
    }

    /// Forgets one group-version.
    public func invalidate(groupVersion: String) {
        groupVersions[groupVersion] = nil
        full = nil
    }

    func resources(groupVersion: String, fetch: @escaping @Sendable () async throws -> [APIResource]?) async throws -> [APIResource]? {
        if let t = groupVersions[groupVersion] { return try await t.value }
        let t = Task { try await fetch() }
        groupVersions[groupVersion] = t
        do {
            return try await t.value
        } catch {
            groupVersions[groupVersion] = nil
            throw error
        }
    }

    func snapshot(fetch: @escaping @Sendable () async throws -> DiscoverySnapshot) async throws -> DiscoverySnapshot {
        if let full { return try await full.value }
        let t = Task { try await fetch() }
        full = t
        do {
            return try await t.value
        } catch {
            full = nil
            throw error
        }
    }
}

extension KubeClient {
    /// The resources of one group-version (`apps/v1`), or nil when the server does not serve it. Cached.
    public func resources(groupVersion gv: String) async throws -> [APIResource]? {
        try await discovery.resources(groupVersion: gv) { [self] in
            let path = gv.contains("/") ? "/apis/\(gv)" : "/api/\(gv)"
            do {
                let list = try await sendJSON(.GET, path)
                return DiscoverySnapshot.parseResourceList(list, groupVersion: gv)
            } catch let e as KubeError where e.httpStatus == 404 {
                return nil
            }
        }
    }

    /// Whether the server serves a group-version (e.g. `apiextensions.k8s.io/v1beta1`).
    public func serves(_ apiVersion: String) async throws -> Bool {
        try await resources(groupVersion: apiVersion) != nil
    }

    /// The full discovery: `/api`, `/apis` and every group-version's resources (fetched concurrently). Cached.
    public func discoverySnapshot() async throws -> DiscoverySnapshot {
        try await discovery.snapshot { [self] in
            async let api = sendJSON(.GET, "/api")
            async let apis = sendJSON(.GET, "/apis")
            let (a, g) = try await (api, apis)
            let shell = DiscoverySnapshot.build(api: a, apis: g, resourceLists: [:])
            var gvs: [String] = []
            for grp in shell.groups {
                for v in grp.versions { gvs.append(grp.name.isEmpty ? v : "\(grp.name)/\(v)") }
            }
            var lists: [String: [APIResource]] = [:]
            try await withThrowingTaskGroup(of: (String, [APIResource]?).self) { tg in
                for gv in gvs {
                    tg.addTask {
                        do {
                            return (gv, try await self.resources(groupVersion: gv))
                        } catch {
                            self.logger.warning("discovery of \(gv) failed: \(error)")
                            return (gv, nil)
                        }
                    }
                }
                for try await (gv, r) in tg { if let r { lists[gv] = r } }
            }
            return DiscoverySnapshot(groups: shell.groups, resources: lists)
        }
    }

    /// Forgets cached discovery (after CRDs are applied or deleted).
    public func invalidateDiscovery() async { await discovery.invalidate() }

    /// Resolves a resource name the user typed (`deploy`, `crd`, `trainingjobs.sagemaker.aws.amazon.com`).
    /// Refreshes discovery once when the name is unknown (a CRD may just have been created).
    /// Common built-in names are answered from their one group-version (`crd` from
    /// `apiextensions.k8s.io/v1`, `pods` from `v1`) without fetching every group-version.
    public func resolveResource(_ name: String) async throws -> APIResource {
        let lower = name.lowercased()
        if let gvs = DiscoverySnapshot.wellKnown[lower] {
            for gv in gvs {
                guard let list = try? await resources(groupVersion: gv) else { continue }
                let found = list.first { r in
                    !r.isSubresource && (r.name == lower || r.singularName == lower || r.kind.lowercased() == lower
                                         || r.shortNames.contains { $0.lowercased() == lower })
                }
                if let found { return found }
            }
        }
        if let r = try? await discoverySnapshot().resolve(name) { return r }
        await invalidateDiscovery()
        return try await discoverySnapshot().resolve(name)
    }

    /// The resource for a kind and apiVersion (from an object's `kind` and `apiVersion`).
    /// Refreshes the group-version once when the kind is unknown.
    public func resource(kind: String, apiVersion: String) async throws -> APIResource {
        if let list = try await resources(groupVersion: apiVersion), let r = list.first(where: { $0.kind == kind && !$0.isSubresource }) {
            return r
        }
        await discovery.invalidate(groupVersion: apiVersion)
        guard let list = try await resources(groupVersion: apiVersion) else {
            throw KubeError.unknownResource("the server does not serve \(apiVersion) (for kind \(kind)); is its CRD installed?")
        }
        guard let r = list.first(where: { $0.kind == kind && !$0.isSubresource }) else {
            throw KubeError.unknownResource("no kind \"\(kind)\" is registered for version \"\(apiVersion)\"")
        }
        return r
    }

    /// `kubectl api-resources` rows (preferred versions, no subresources), sorted like kubectl (by group, then name).
    public func apiResources() async throws -> [APIResource] {
        try await discoverySnapshot().preferredResources
    }

    /// `kubectl version`: the server's `/version` document (`gitVersion`, `major`, `minor`, …).
    public func serverVersion() async throws -> JSON {
        try await sendJSON(.GET, "/version")
    }
}

/// Text of `kubectl api-resources`: NAME SHORTNAMES APIVERSION NAMESPACED KIND.
public func renderAPIResources(_ resources: [APIResource]) -> String {
    let rows = resources.map {
        [$0.name, $0.shortNames.joined(separator: ","), $0.apiVersion, $0.namespaced ? "true" : "false", $0.kind]
    }
    return TableRenderer.render(headers: ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], rows: rows)
}
