import Foundation
import Logging
import NIOHTTP1
import OrderedCollections
import SGKData

/// What apply did to one object.
public enum ApplyAction: String, Sendable, Hashable {
    case created, configured, unchanged
}

/// The result of applying one object.
public struct ApplyResult: Sendable {
    public var kind: String
    public var apiVersion: String
    public var name: String
    /// nil for cluster-scoped objects.
    public var namespace: String?
    public var action: ApplyAction
    /// The object as the server returned it.
    public var object: JSON
    /// `kind.group/name` (kubectl's `-o name` form).
    public var resourceName: String
    /// True when the object was applied with `dryRun=All`.
    public var dryRun: Bool
    /// The position of the object in the applied documents.
    public var index: Int

    /// kubectl's line: `deployment.apps/x created` (with ` (server dry run)` for dry runs).
    public var line: String { "\(resourceName) \(action.rawValue)\(dryRun ? " (server dry run)" : "")" }
}

/// An object that failed to apply.
public struct ApplyFailure: Error, Sendable {
    /// `Kind namespace/name`, or the document index when the object has no identity.
    public var object: String
    public var error: KubeError
}

/// Options of `apply`.
public struct ApplyOptions: Sendable {
    /// The field manager (`fieldManager=` query).
    public var fieldManager: String = "sgk"
    /// `force=true`: take ownership of fields other managers own (server-side apply).
    public var force: Bool = false
    /// `dryRun=All` on every write.
    public var dryRun: Bool = false
    /// Use client-side apply (GET, create or merge patch with `last-applied-configuration`).
    public var clientSide: Bool = false
    /// Objects applied at once.
    public var concurrency: Int = 8
    /// Bound of the wait for each CRD to be Established and discoverable.
    public var crdEstablishedTimeout: TimeInterval = 60
    /// Namespace for namespaced objects that name none (default: the context's).
    public var namespace: String?
    /// Wait until applied CRDs are Established and discoverable even when no object of their kinds
    /// follows in the same apply (by default the wait happens only for such objects).
    public var waitForCRDs: Bool = false
    /// Convert v1beta1 CRDs to v1 when the server does not serve v1beta1.
    public var convertCRDs: Bool = true
    /// Called as each object is applied.
    public var progress: (@Sendable (ApplyResult) -> Void)?

    public init(fieldManager: String = "sgk", force: Bool = false, dryRun: Bool = false, clientSide: Bool = false,
                concurrency: Int = 8, namespace: String? = nil) {
        self.fieldManager = fieldManager; self.force = force; self.dryRun = dryRun; self.clientSide = clientSide
        self.concurrency = concurrency; self.namespace = namespace
    }
}

/// The outcome of `apply`: results in document order, and notices (CRD conversions, fallbacks).
public struct ApplyReport: Sendable {
    public var results: [ApplyResult]
    public var notices: [String]
}

/// The ordering phase of an object in apply.
public enum ApplyPhase: Int, Sendable, Comparable {
    /// Namespaces and CustomResourceDefinitions.
    case foundation = 0
    /// Other cluster-scoped objects.
    case clusterScoped = 1
    /// Namespaced objects.
    case namespaced = 2
    public static func < (a: ApplyPhase, b: ApplyPhase) -> Bool { a.rawValue < b.rawValue }
}

/// Annotation of client-side apply.
public let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

extension KubeClient {
    /// Applies manifests (e.g. every document of a YAML stream) as `kubectl apply --server-side` does,
    /// ordered: Namespaces and CRDs first; then other cluster-scoped objects, then namespaced ones,
    /// objects of a phase concurrently. Objects whose kind one of the applied CRDs defines wait until
    /// the CRDs are Established and discoverable (bounded); the others do not wait for it
    /// (`options.waitForCRDs` makes apply wait for the CRDs in any case).
    /// Falls back to client-side apply when the server does not support server-side apply.
    /// Throws `KubeError.applyFailed` (with the objects that did apply) when some fail.
    public func apply(_ documents: [JSON], options: ApplyOptions = ApplyOptions()) async throws -> ApplyReport {
        var notices: [String] = []
        // Flatten Lists, drop empty documents.
        var objects: [(Int, JSON)] = []
        for d in documents {
            switch d {
            case .null: continue
            case .object(let o) where o.isEmpty: continue
            default:
                if d["kind"]?.stringValue?.hasSuffix("List") == true, let items = d["items"]?.arrayValue {
                    for i in items { objects.append((objects.count, i)) }
                } else {
                    objects.append((objects.count, d))
                }
            }
        }
        var failures: [ApplyFailure] = []
        var prepared: [(Int, JSON, ObjectRef)] = []
        for (i, o) in objects {
            do { prepared.append((i, o, try ObjectRef(o))) } catch let e as KubeError {
                failures.append(ApplyFailure(object: "document \(i + 1)", error: e))
            }
        }
        if !failures.isEmpty { throw KubeError.applyFailed(failures: failures, results: []) }

        // CRD conversion.
        if options.convertCRDs, prepared.contains(where: { CRDConversion.isV1beta1CRD($0.1) }),
           try await !serves(CRDConversion.v1beta1) {
            for k in prepared.indices where CRDConversion.isV1beta1CRD(prepared[k].1) {
                let converted = try CRDConversion.convert(prepared[k].1)
                prepared[k].1 = converted
                prepared[k].2.apiVersion = CRDConversion.v1
                let n = CRDConversion.notice(name: prepared[k].2.name)
                notices.append(n)
                logger.notice("\(n)")
            }
        }

        let state = ApplyState(clientSide: options.clientSide)
        var results: [ApplyResult] = []

        // Phase 0: namespaces and CRDs.
        let foundation = prepared.filter { ApplyPlanner.isFoundation($0.2) }
        let rest = prepared.filter { !ApplyPlanner.isFoundation($0.2) }
        let (r0, f0) = await applyConcurrently(foundation, options: options, state: state)
        results += r0
        failures += f0
        if !failures.isEmpty { throw KubeError.applyFailed(failures: failures, results: results.sorted { $0.index < $1.index }) }

        let crds = r0.filter { $0.kind == "CustomResourceDefinition" }
        // Objects whose kind a CRD of this apply defines wait until it is Established and
        // discoverable; the others are applied meanwhile.
        let newKinds = Set(crds.compactMap { c -> String? in
            guard let g = c.object.at("spec", "group")?.stringValue, let k = c.object.at("spec", "names", "kind")?.stringValue else { return nil }
            return "\(g)/\(k)"
        })
        let dependent = rest.filter { newKinds.contains("\(splitAPIVersion($0.2.apiVersion).group)/\($0.2.kind)") }
        let independent = rest.filter { !newKinds.contains("\(splitAPIVersion($0.2.apiVersion).group)/\($0.2.kind)") }
        if !crds.isEmpty { await discovery.invalidate() }
        let waitForCRDs = !crds.isEmpty && !options.dryRun && (options.waitForCRDs || !dependent.isEmpty)
        let crdWait = Task {
            guard waitForCRDs else { return }
            try await withThrowingTaskGroup(of: Void.self) { g in
                for crd in crds {
                    g.addTask { try await self.waitForCRD(crd.object, timeout: options.crdEstablishedTimeout) }
                }
                try await g.waitForAll()
            }
        }
        let (ri, fi) = await applyInScopeOrder(independent, options: options, state: state)
        results += ri
        failures += fi
        do {
            try await crdWait.value
        } catch let e as KubeError {
            throw KubeError.applyFailed(failures: failures + [ApplyFailure(object: "CustomResourceDefinitions", error: e)],
                                        results: results.sorted { $0.index < $1.index })
        }
        let (rd, fd) = await applyInScopeOrder(dependent, options: options, state: state)
        results += rd
        failures += fd
        results.sort { $0.index < $1.index }
        if await state.fellBack { notices.append("the server does not support server-side apply: used client-side apply") }
        if !failures.isEmpty { throw KubeError.applyFailed(failures: failures, results: results) }
        return ApplyReport(results: results, notices: notices)
    }

    /// Applies cluster-scoped objects, then namespaced ones (scope from discovery).
    func applyInScopeOrder(_ items: [(Int, JSON, ObjectRef)], options: ApplyOptions, state: ApplyState) async -> ([ApplyResult], [ApplyFailure]) {
        var cluster: [(Int, JSON, ObjectRef)] = []
        var namespaced: [(Int, JSON, ObjectRef)] = []
        var failures: [ApplyFailure] = []
        for p in items {
            do {
                let r = try await resource(kind: p.2.kind, apiVersion: p.2.apiVersion)
                if r.namespaced { namespaced.append(p) } else { cluster.append(p) }
            } catch let e as KubeError {
                failures.append(ApplyFailure(object: p.2.description, error: e))
            } catch {
                failures.append(ApplyFailure(object: p.2.description, error: .other("\(error)")))
            }
        }
        let (r1, f1) = await applyConcurrently(cluster, options: options, state: state)
        let (r2, f2) = await applyConcurrently(namespaced, options: options, state: state)
        return (r1 + r2, failures + f1 + f2)
    }

    /// Waits until a CRD is Established and its kind is discoverable in every served version.
    func waitForCRD(_ crd: JSON, timeout: TimeInterval) async throws {
        guard let name = crd.at("metadata", "name")?.stringValue,
              let group = crd.at("spec", "group")?.stringValue,
              let kind = crd.at("spec", "names", "kind")?.stringValue else { return }
        let apiVersion = crd["apiVersion"]?.stringValue ?? CRDConversion.v1
        let crdResource = try await resource(kind: "CustomResourceDefinition", apiVersion: apiVersion)
        let started = Date()
        try await wait(crdResource, name: name, for: .condition(type: "Established", status: "True"), timeout: timeout)
        var versions = (crd.at("spec", "versions")?.arrayValue ?? []).filter { $0["served"]?.boolValue ?? true }
            .compactMap { $0["name"]?.stringValue }
        if versions.isEmpty, let v = crd.at("spec", "version")?.stringValue { versions = [v] }
        for v in versions {
            let gv = "\(group)/\(v)"
            while true {
                await discovery.invalidate(groupVersion: gv)
                if let list = try await resources(groupVersion: gv), list.contains(where: { $0.kind == kind }) { break }
                if Date().timeIntervalSince(started) > timeout {
                    throw KubeError.timeout("CustomResourceDefinition \(name) is Established but \(kind) is not in discovery of \(gv)")
                }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        logger.debug("CRD \(name) established in \(Int(Date().timeIntervalSince(started) * 1000)) ms")
    }

    func applyConcurrently(_ items: [(Int, JSON, ObjectRef)], options: ApplyOptions, state: ApplyState) async -> ([ApplyResult], [ApplyFailure]) {
        guard !items.isEmpty else { return ([], []) }
        let known = await prefetch(items, options: options)
        var results: [ApplyResult] = []
        var failures: [ApplyFailure] = []
        await withTaskGroup(of: Result<ApplyResult, ApplyFailure>.self) { g in
            var next = 0
            let limit = max(1, options.concurrency)
            func launch() {
                guard next < items.count else { return }
                let (i, obj, ref) = items[next]
                next += 1
                g.addTask {
                    do {
                        let r = try await self.applyOne(obj, ref: ref, index: i, options: options, state: state, known: known)
                        options.progress?(r)
                        return .success(r)
                    } catch let e as KubeError {
                        return .failure(ApplyFailure(object: ref.description, error: e))
                    } catch {
                        return .failure(ApplyFailure(object: ref.description, error: .other("\(error)")))
                    }
                }
            }
            for _ in 0..<limit { launch() }
            for await r in g {
                switch r {
                case .success(let x): results.append(x)
                case .failure(let f): failures.append(f)
                }
                launch()
            }
        }
        return (results, failures)
    }

    /// For collections with several objects: one LIST gives every object's state before the
    /// apply (objects not listed are known absent), instead of one GET each.
    func prefetch(_ items: [(Int, JSON, ObjectRef)], options: ApplyOptions) async -> Prefetched {
        guard !options.clientSide, items.count >= 4 else { return Prefetched() }
        var groups: [String: (APIResource, String?, Int)] = [:]
        for (_, _, ref) in items {
            guard let r = try? await resource(kind: ref.kind, apiVersion: ref.apiVersion) else { continue }
            let ns = r.namespaced ? (ref.namespace ?? options.namespace ?? defaultNamespace) : nil
            let key = r.collectionPath(namespace: ns)
            groups[key, default: (r, ns, 0)].2 += 1
        }
        var known = Prefetched()
        await withTaskGroup(of: Prefetched.self) { g in
            for (path, (r, ns, count)) in groups where count >= 4 {
                g.addTask {
                    var out = Prefetched()
                    guard let list = try? await self.listWithVersion(r, namespace: ns, allNamespaces: ns == nil) else { return out }
                    for item in list.items {
                        if let n = item.at("metadata", "name")?.stringValue {
                            out.objects[r.objectPath(name: n, namespace: ns)] = item
                        }
                    }
                    out.collections.insert(path)
                    return out
                }
            }
            for await m in g {
                known.objects.merge(m.objects) { a, _ in a }
                known.collections.formUnion(m.collections)
            }
        }
        return known
    }

    func applyOne(_ manifest: JSON, ref: ObjectRef, index: Int, options: ApplyOptions, state: ApplyState,
                  known: Prefetched) async throws -> ApplyResult {
        let resource = try await resource(kind: ref.kind, apiVersion: ref.apiVersion)
        var obj = manifest
        var namespace: String?
        if resource.namespaced {
            namespace = ref.namespace ?? options.namespace ?? defaultNamespace
            obj = ApplyPlanner.setting(obj, namespace: namespace)
        } else if ref.namespace != nil {
            obj = ApplyPlanner.setting(obj, namespace: nil)
        }
        let path = resource.objectPath(name: ref.name, namespace: namespace)
        let useClientSide = await state.clientSide
        let (object, action) = useClientSide
            ? try await clientSideApply(obj, resource: resource, path: path, namespace: namespace, options: options)
            : try await serverSideApplyOrFallback(obj, resource: resource, path: path, namespace: namespace, options: options, state: state, known: known)
        return ApplyResult(kind: ref.kind, apiVersion: ref.apiVersion, name: ref.name, namespace: namespace, action: action,
                           object: object, resourceName: resource.nameOutput(ref.name), dryRun: options.dryRun, index: index)
    }

    func serverSideApplyOrFallback(_ obj: JSON, resource: APIResource, path: String, namespace: String?, options: ApplyOptions,
                                   state: ApplyState, known: Prefetched) async throws -> (JSON, ApplyAction) {
        let body = ApplyPlanner.applyBody(obj)
        // The state before: from the prefetched list, else a GET.
        var before: JSON?
        let collection = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        if let o = known.objects[path] {
            before = o
        } else if known.collections.contains(collection) {
            before = nil
        } else {
            do {
                before = try await sendJSON(.GET, path)
            } catch let e as KubeError where e.isNotFound {
                before = nil
            }
        }
        // Nothing to write: the live object already holds every applied value and our field
        // manager owns no field the manifest dropped. Skipping the PATCH spares the server.
        if let before, ApplyPlanner.isNoOp(body: body, live: before, fieldManager: options.fieldManager) {
            return (before, .unchanged)
        }
        var q: [(String, String)] = [("fieldManager", options.fieldManager)]
        if options.force { q.append(("force", "true")) }
        if options.dryRun { q.append(("dryRun", "All")) }
        let after: JSON
        do {
            after = try await sendJSON(.PATCH, path, query: q, body: body, contentType: "application/apply-patch+yaml")
        } catch let e as KubeError where e.httpStatus == 415 {
            await state.fallBack()
            logger.notice("server-side apply is not supported by the server: falling back to client-side apply")
            return try await clientSideApply(obj, resource: resource, path: path, namespace: namespace, options: options)
        }
        guard let before else { return (after, .created) }
        if ApplyPlanner.isSubset(ApplyPlanner.withoutTypeMeta(body), of: before),
           ApplyPlanner.ownedPathsPresent(ApplyPlanner.ownedFields(of: before, manager: options.fieldManager), in: body) {
            // Our fields already had these values (any other change is another writer's, e.g. a controller).
            return (after, .unchanged)
        }
        return (after, ApplyPlanner.action(before: before, after: after, dryRun: options.dryRun))
    }

    /// Client-side apply: create with the last-applied annotation, or a three-way merge patch
    /// (last-applied, manifest, live object).
    func clientSideApply(_ obj: JSON, resource: APIResource, path: String, namespace: String?,
                         options: ApplyOptions) async throws -> (JSON, ApplyAction) {
        let modified = ApplyPlanner.withLastApplied(obj)
        var q: [(String, String)] = [("fieldManager", options.fieldManager == "sgk" ? "sgk-client-side" : options.fieldManager)]
        if options.dryRun { q.append(("dryRun", "All")) }
        let live: JSON?
        do {
            live = try await sendJSON(.GET, path)
        } catch let e as KubeError where e.isNotFound {
            live = nil
        }
        guard let live else {
            let created = try await sendJSON(.POST, resource.collectionPath(namespace: namespace), query: q, body: modified)
            return (created, .created)
        }
        let original = live.at("metadata", "annotations", lastAppliedAnnotation)?.stringValue.flatMap { try? JSONCodec.parse($0) }
        guard let patch = ApplyPlanner.threeWayMergePatch(original: original, modified: modified, current: live) else {
            return (live, .unchanged)
        }
        let after = try await sendJSON(.PATCH, path, query: q, body: patch, contentType: "application/merge-patch+json")
        return (after, ApplyPlanner.action(before: live, after: after, dryRun: options.dryRun))
    }
}

/// Objects read before an apply: by object path, and the collections that were listed in full.
struct Prefetched: Sendable {
    var objects: [String: JSON] = [:]
    var collections: Set<String> = []
}

/// Shared state of one apply: whether to use client-side apply.
actor ApplyState {
    private(set) var clientSide: Bool
    private(set) var fellBack = false
    init(clientSide: Bool) { self.clientSide = clientSide }
    func fallBack() { clientSide = true; fellBack = true }
}

/// The pure parts of apply: ordering, namespace defaults, merge patches.
public enum ApplyPlanner {
    /// Namespaces and CRDs go first.
    public static func isFoundation(_ ref: ObjectRef) -> Bool {
        (ref.kind == "Namespace" && ref.apiVersion == "v1")
            || (ref.kind == "CustomResourceDefinition" && ref.apiVersion.hasPrefix("apiextensions.k8s.io/"))
    }

    /// The phase of an object, given whether its resource is namespaced.
    public static func phase(_ ref: ObjectRef, namespaced: Bool) -> ApplyPhase {
        if isFoundation(ref) { return .foundation }
        return namespaced ? .namespaced : .clusterScoped
    }

    /// Sorts objects into phases (stable within a phase); `namespaced` tells a kind's scope.
    public static func order(_ objects: [JSON], namespaced: (ObjectRef) -> Bool) throws -> [[JSON]] {
        var phases: [[JSON]] = [[], [], []]
        for o in objects {
            let ref = try ObjectRef(o)
            phases[phase(ref, namespaced: namespaced(ref)).rawValue].append(o)
        }
        return phases
    }

    /// The body sent with server-side apply: list-map key defaults filled in, a null
    /// `metadata.creationTimestamp` dropped, and `status` removed
    /// for built-in kinds and CRDs (the server ignores it there, and 1.20 reports conflicts with the
    /// `kube-apiserver` manager for status fields such as a CRD's `status.conditions`).
    public static func applyBody(_ obj: JSON) -> JSON {
        var body = ListMapDefaults.fill(obj)
        // `creationTimestamp: null` (as controller-gen writes) would make every re-apply a write.
        if case .object(var o) = body, case .object(var meta)? = o["metadata"], meta["creationTimestamp"] == .null {
            meta["creationTimestamp"] = nil
            o["metadata"] = .object(meta)
            body = .object(o)
        }
        let group = splitAPIVersion(obj["apiVersion"]?.stringValue ?? "").group
        let builtIn = !group.contains(".") || group.hasSuffix(".k8s.io")
        if builtIn, case .object(var o) = body, o["status"] != nil {
            o["status"] = nil
            body = .object(o)
        }
        return body
    }

    /// Sets (or removes, with nil) `metadata.namespace`.
    public static func setting(_ obj: JSON, namespace: String?) -> JSON {
        guard case .object(var o) = obj else { return obj }
        var meta = o["metadata"]?.objectValue ?? [:]
        if let namespace {
            if meta["namespace"]?.stringValue == namespace { return obj }
            if meta["namespace"] == nil {
                // Keep `name` first, namespace right after it.
                var m = OrderedDictionary<String, JSON>()
                for (k, v) in meta {
                    m[k] = v
                    if k == "name" { m["namespace"] = .string(namespace) }
                }
                if m["namespace"] == nil { m["namespace"] = .string(namespace) }
                meta = m
            } else {
                meta["namespace"] = .string(namespace)
            }
        } else {
            meta["namespace"] = nil
        }
        o["metadata"] = .object(meta)
        return .object(o)
    }

    /// The manifest with the `last-applied-configuration` annotation set to itself (without the annotation).
    public static func withLastApplied(_ obj: JSON) -> JSON {
        guard case .object(var o) = obj else { return obj }
        var meta = o["metadata"]?.objectValue ?? [:]
        var ann = meta["annotations"]?.objectValue ?? [:]
        ann[lastAppliedAnnotation] = nil
        var bare = o
        var bareMeta = meta
        bareMeta["annotations"] = ann.isEmpty ? nil : .object(ann)
        bare["metadata"] = .object(bareMeta)
        ann[lastAppliedAnnotation] = .string(JSONCodec.serialize(.object(bare), pretty: false))
        meta["annotations"] = .object(ann)
        o["metadata"] = .object(meta)
        return .object(o)
    }

    /// A JSON merge patch (RFC 7386) taking `current` to `modified`, deleting fields that were in
    /// `original` (last applied) but are no longer in `modified`. nil when nothing changes.
    public static func threeWayMergePatch(original: JSON?, modified: JSON, current: JSON) -> JSON? {
        guard case .object(let m) = modified else { return modified == current ? nil : modified }
        let c = current.objectValue ?? [:]
        let o = original?.objectValue ?? [:]
        var patch = OrderedDictionary<String, JSON>()
        for (k, mv) in m {
            let cv = c[k]
            if case .object = mv, case .object? = cv {
                if let sub = threeWayMergePatch(original: o[k], modified: mv, current: cv ?? .null) { patch[k] = sub }
            } else if cv != mv {
                patch[k] = mv
            }
        }
        for (k, _) in o where m[k] == nil && c[k] != nil {
            patch[k] = .null
        }
        return patch.isEmpty ? nil : .object(patch)
    }

    /// `unchanged` when the write kept the object's resourceVersion, or (when a controller changed
    /// the object meanwhile, e.g. its status, or in a dry run) when nothing but status and
    /// bookkeeping differs; else `configured`.
    public static func action(before: JSON, after: JSON, dryRun: Bool) -> ApplyAction {
        let rvBefore = before.at("metadata", "resourceVersion")
        if !dryRun, rvBefore != nil, rvBefore == after.at("metadata", "resourceVersion") { return .unchanged }
        return sameContent(before, after) ? .unchanged : .configured
    }

    /// Whether a server-side apply of `body` would change nothing: `live` has an `Apply` entry of
    /// `fieldManager`, every value of `body` is in `live` (lists: same length, element by element),
    /// and every object field that entry owns (down to the first list) is still in `body`.
    public static func isNoOp(body: JSON, live: JSON, fieldManager: String) -> Bool {
        guard let entries = live.at("metadata", "managedFields")?.arrayValue,
              let mine = entries.first(where: { $0["manager"]?.stringValue == fieldManager && $0["operation"]?.stringValue == "Apply" }),
              let fields = mine["fieldsV1"] else { return false }
        // The apply entry must be for the version we apply (fields of another version differ).
        if let v = mine["apiVersion"]?.stringValue, let bv = body["apiVersion"]?.stringValue, v != bv { return false }
        guard isSubset(withoutTypeMeta(body), of: live) else { return false }
        return ownedPathsPresent(fields, in: body)
    }

    /// The object without `apiVersion` and `kind` (which lists omit from their items).
    static func withoutTypeMeta(_ body: JSON) -> JSON {
        guard case .object(var o) = body else { return body }
        o["apiVersion"] = nil
        o["kind"] = nil
        return .object(o)
    }

    /// The fieldsV1 set of a manager's `Apply` entry (empty when it has none).
    static func ownedFields(of live: JSON, manager: String) -> JSON {
        let entries = live.at("metadata", "managedFields")?.arrayValue ?? []
        return entries.first(where: { $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == "Apply" })?["fieldsV1"]
            ?? .object([:])
    }

    /// `a` ⊆ `b`: objects by key, lists by position with equal length, scalars equal
    /// (an int equal to a double counts as equal).
    static func isSubset(_ a: JSON, of b: JSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            for (k, v) in x {
                guard let w = y[k] else {
                    // The server omits empty values of `omitempty` fields (an env var's `value: ""`).
                    switch v {
                    case .null: continue
                    case .string(let s) where s.isEmpty: continue
                    case .array(let a) where a.isEmpty: continue
                    case .object(let m) where m.isEmpty: continue
                    default: return false
                    }
                }
                if !isSubset(v, of: w) { return false }
            }
            return true
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            return zip(x, y).allSatisfy { isSubset($0, of: $1) }
        case (.int(let i), .double(let d)), (.double(let d), .int(let i)):
            return Double(i) == d
        default:
            return a == b
        }
    }

    /// Every `f:` path of a fieldsV1 set (followed through objects only) exists in `body`.
    static func ownedPathsPresent(_ fields: JSON, in body: JSON) -> Bool {
        guard case .object(let set) = fields else { return true }
        for (k, sub) in set {
            guard k.hasPrefix("f:") else { continue }  // list members (k:, v:, i:) and "." are checked by isSubset
            let key = String(k.dropFirst(2))
            guard let child = body[key] else { return false }
            if case .object = child, !ownedPathsPresent(sub, in: child) { return false }
        }
        return true
    }

    /// Whether two objects are the same once status and server bookkeeping are ignored (kind and
    /// apiVersion, which lists omit; resourceVersion; managedFields, which the server may rewrite
    /// without any change of content).
    public static func sameContent(_ a: JSON?, _ b: JSON?) -> Bool {
        func strip(_ j: JSON?) -> JSON? {
            guard case .object(var o)? = j else { return j }
            o["status"] = nil
            o["kind"] = nil
            o["apiVersion"] = nil
            if case .object(var meta)? = o["metadata"] {
                meta["resourceVersion"] = nil
                meta["selfLink"] = nil
                meta["managedFields"] = nil
                o["metadata"] = .object(meta)
            }
            return o.isEmpty ? nil : canonical(.object(o))
        }
        return strip(a) == strip(b)
    }
}

/// The value with object keys sorted recursively, for order-insensitive comparison.
public func canonical(_ value: JSON) -> JSON {
    switch value {
    case .object(let o):
        var out = OrderedDictionary<String, JSON>()
        for k in o.keys.sorted() { out[k] = o[k].map(canonical) }
        return .object(out)
    case .array(let a):
        return .array(a.map(canonical))
    default:
        return value
    }
}
