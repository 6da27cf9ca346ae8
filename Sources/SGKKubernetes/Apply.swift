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
    /// Fields the manifest sets that the server dropped when this apply wrote the object
    /// (`spec.ipFamilyPolicy` on a server without dual-stack): empty when nothing was written.
    public var droppedFields: [String] = []

    /// `the server drops fields spec.ipFamilyPolicy, spec.ipFamilies`, when the write dropped some.
    public var note: String? { ApplyPlanner.droppedNote(droppedFields) }

    /// kubectl's line: `deployment.apps/x created` (with ` (server dry run)` for dry runs), and what
    /// the server dropped: `service/x configured (the server drops fields spec.ipFamilyPolicy)`.
    public var line: String {
        "\(resourceName) \(action.rawValue)\(note.map { " (\($0))" } ?? "")\(dryRun ? " (server dry run)" : "")"
    }
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
    /// Requests in flight at once (one HTTP/2 connection carries them all).
    public var concurrency: Int = 64
    /// Bound of the wait for each CRD to be Established and discoverable.
    public var crdEstablishedTimeout: TimeInterval = 60
    /// Namespace for namespaced objects that name none (default: the context's).
    public var namespace: String?
    /// Wait until applied CRDs are Established and discoverable even when no object of their kinds
    /// follows in the same apply (by default the wait happens only for such objects).
    public var waitForCRDs: Bool = false
    /// Convert v1beta1 CRDs to v1 when the server does not serve v1beta1.
    public var convertCRDs: Bool = true
    /// Told of each write just before its request and of its answer (never in a dry run).
    public var observer: (any ApplyObserver)?

    public init(fieldManager: String = "sgk", force: Bool = false, dryRun: Bool = false, clientSide: Bool = false,
                concurrency: Int = 64, namespace: String? = nil) {
        self.fieldManager = fieldManager; self.force = force; self.dryRun = dryRun; self.clientSide = clientSide
        self.concurrency = concurrency; self.namespace = namespace
    }
}

/// One write of an apply, about to be made.
public struct ApplyWrite: Sendable {
    public var kind: String
    public var apiVersion: String
    public var name: String
    public var namespace: String?
    /// The live object (nil: the write creates it).
    public var before: JSON?
    /// What is sent: the applied manifest (client-side apply: with its last-applied annotation).
    public var body: JSON
}

/// Told of every write an apply makes, as it makes it, from the apply's concurrent tasks: so a
/// caller can journal each write before its request is sent and its outcome when the answer comes.
public protocol ApplyObserver: Sendable {
    /// Just before the request; returns a token for `didWrite`.
    func willWrite(_ write: ApplyWrite) -> Int
    /// The answer: the object as written and what the write did (`created` or `configured`: a
    /// write is never `unchanged`), or the error (nothing was written).
    func didWrite(_ token: Int, _ outcome: Result<(object: JSON, action: ApplyAction), any Error>)
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
    /// concurrently, each object as soon as what it needs is there: objects in a Namespace of the
    /// same apply are written once that namespace is applied (their state is read meanwhile);
    /// objects whose kind one of the applied CRDs defines wait until the CRDs are Established and
    /// discoverable (bounded); Namespaces and CRDs are written first, every other object once they
    /// are (its state is read meanwhile). CRDs are waited for (Established) only when custom
    /// resources of them follow (or with `options.waitForCRDs`).
    /// Objects already holding every applied value are not written (`unchanged`); every object
    /// written is `created` or `configured`, with the fields the server dropped, if any.
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
        // `-n ml` names where the objects go: one that names another namespace is refused, as kubectl does.
        if let ns = options.namespace {
            for (i, _, ref) in prepared where ref.namespace != nil && ref.namespace != ns {
                failures.append(ApplyFailure(object: "document \(i + 1) (\(ref.kind) \(ref.name))", error: .invalidObject(
                    "its namespace \"\(ref.namespace!)\" does not match the namespace \"\(ns)\" given; pass -n \(ref.namespace!), or remove one of them")))
            }
        }
        if !failures.isEmpty { throw KubeError.applyFailed(failures: failures, results: []) }

        // Discovery of every group-version named (and of v1beta1 CRDs when some are applied) in
        // one round trip, not one per group; the group-versions the applied CRDs define come later.
        var gvs = Set(prepared.map { $0.2.apiVersion }).subtracting(ApplyPlanner.crdGroupVersions(prepared.map { $0.1 }))
        if options.convertCRDs, prepared.contains(where: { CRDConversion.isV1beta1CRD($0.1) }) { gvs.insert(CRDConversion.v1beta1) }
        await withTaskGroup(of: Void.self) { g in
            for gv in gvs { g.addTask { _ = try? await self.resources(groupVersion: gv) } }
        }

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

        // Schema rules newer than the server: left out of CRDs for a server before 1.25, said once
        // each; never against a server that knows them (nor when its version cannot be read).
        let withRules = prepared.indices.filter { CRDConversion.validationRuleCount(prepared[$0].1) > 0 }
        if options.convertCRDs, !withRules.isEmpty, let version = try? await serverVersion(),
           CRDConversion.lowersValidationRules(forServer: version) {
            for k in withRules {
                let rules = CRDConversion.validationRuleCount(prepared[k].1)
                prepared[k].1 = CRDConversion.lowerValidationRules(prepared[k].1)
                let w = CRDConversion.loweringWarning(name: prepared[k].2.name, rules: rules,
                                                      serverVersion: version["gitVersion"]?.stringValue ?? "before 1.25")
                notices.append(w)
                logger.notice("\(w)")
            }
        }

        let state = ApplyState(clientSide: options.clientSide)
        let plan = await schedule(prepared, options: options)
        let outcome = await run(plan, options: options, state: state)
        var results = outcome.results
        failures += outcome.failures
        results.sort { $0.index < $1.index }
        if await state.fellBack { notices.append("the server does not support server-side apply: used client-side apply") }
        if !failures.isEmpty { throw KubeError.applyFailed(failures: failures, results: results) }
        return ApplyReport(results: results, notices: notices)
    }

    /// What `run` needs: each object with what it waits for.
    struct ApplyPlan: Sendable {
        struct Item: Sendable {
            var index: Int
            var manifest: JSON
            var ref: ObjectRef
            /// The namespace (of this apply's Namespaces) to wait for.
            var waitsForNamespace: String?
            /// A custom resource of a CRD this apply creates.
            var dependsOnCRDs: Bool
            /// In a collection listed up front (its state comes from the list).
            var prefetched: Bool
        }
        var items: [Item]
        /// Collections listed before applying (several objects each).
        var prefetch: [(APIResource, String?)]
        /// Group-versions the applied CRDs define (forgotten by discovery once they are applied).
        var crdGroupVersions: Set<String>
    }

    /// Decides, from discovery (fetched for every named group-version at once), what each object
    /// waits for: objects in a Namespace of this apply wait for that namespace; objects of a kind an
    /// applied CRD defines wait for the CRDs (and for Established, see `run`); everything else
    /// starts at once.
    func schedule(_ prepared: [(Int, JSON, ObjectRef)], options: ApplyOptions) async -> ApplyPlan {
        var newKinds = Set<String>()
        for (_, o, ref) in prepared where ref.kind == "CustomResourceDefinition" && ApplyPlanner.isFoundation(ref) {
            if let g = o.at("spec", "group")?.stringValue, let k = o.at("spec", "names", "kind")?.stringValue { newKinds.insert("\(g)/\(k)") }
        }
        let crdGroupVersions = ApplyPlanner.crdGroupVersions(prepared.map { $0.1 })
        func isNew(_ ref: ObjectRef) -> Bool { newKinds.contains("\(splitAPIVersion(ref.apiVersion).group)/\(ref.kind)") }
        let namespaces = Set(prepared.filter { $0.2.kind == "Namespace" && $0.2.apiVersion == "v1" }.map { $0.2.name })
        var items: [ApplyPlan.Item] = []
        var collections: [String: (APIResource, String?, Int)] = [:]
        for (i, o, ref) in prepared {
            var item = ApplyPlan.Item(index: i, manifest: o, ref: ref, waitsForNamespace: nil, dependsOnCRDs: isNew(ref), prefetched: false)
            if !item.dependsOnCRDs, let r = try? await resource(kind: ref.kind, apiVersion: ref.apiVersion) {
                let ns = r.namespaced ? (ref.namespace ?? options.namespace ?? defaultNamespace) : nil
                if let ns, namespaces.contains(ns) { item.waitsForNamespace = ns }
                collections[r.collectionPath(namespace: ns), default: (r, ns, 0)].2 += 1
            } else if item.dependsOnCRDs {
                let ns = ref.namespace ?? options.namespace ?? defaultNamespace
                if namespaces.contains(ns) { item.waitsForNamespace = ns }
            }
            items.append(item)
        }
        // For collections with several objects: one LIST gives every object's state before the
        // apply (objects not listed are known absent), instead of one GET each.
        var prefetch: [(APIResource, String?)] = []
        if !options.clientSide {
            for (_, (r, ns, count)) in collections where count >= 4 { prefetch.append((r, ns)) }
            let listed = Set(prefetch.map { $0.0.collectionPath(namespace: $0.1) })
            for k in items.indices where !items[k].dependsOnCRDs {
                if let r = try? await resource(kind: items[k].ref.kind, apiVersion: items[k].ref.apiVersion) {
                    let ns = r.namespaced ? (items[k].ref.namespace ?? options.namespace ?? defaultNamespace) : nil
                    items[k].prefetched = listed.contains(r.collectionPath(namespace: ns))
                }
            }
        }
        return ApplyPlan(items: items, prefetch: prefetch, crdGroupVersions: crdGroupVersions)
    }

    /// Applies a plan: every object starts as soon as what it waits for is done (at most
    /// `options.concurrency` requests at a time). Namespaces and CRDs start at once; every other
    /// object reads its state at once and writes once every Namespace and CRD is written (and,
    /// in a namespace of this apply, once that namespace is applied); custom resources of the
    /// CRDs wait until they are Established and discoverable. Failures do not stop independent
    /// objects; objects whose namespace or CRDs failed are reported as not applied.
    func run(_ plan: ApplyPlan, options: ApplyOptions, state: ApplyState) async -> (results: [ApplyResult], failures: [ApplyFailure]) {
        let limiter = AsyncLimiter(max(1, options.concurrency))
        let prefetch: Task<Prefetched, Never> = Task {
            var known = Prefetched()
            await withTaskGroup(of: Prefetched.self) { g in
                for (r, ns) in plan.prefetch {
                    g.addTask {
                        var out = Prefetched()
                        await limiter.acquire()
                        let listed = try? await self.listWithVersion(r, namespace: ns, allNamespaces: ns == nil)
                        await limiter.release()
                        guard let list = listed else { return out }
                        for item in list.items {
                            if let n = item.at("metadata", "name")?.stringValue {
                                out.objects[r.objectPath(name: n, namespace: ns)] = item
                            }
                        }
                        out.collections.insert(r.collectionPath(namespace: ns))
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
        /// Applies one object; `gate` runs between reading the object and writing it (without
        /// holding a request slot) and returns why the write must not happen, if it must not.
        @Sendable func applyItem(_ item: ApplyPlan.Item,
                                 gate: @escaping @Sendable () async -> KubeError? = { nil }) async -> Result<ApplyResult, ApplyFailure> {
            let known = item.prefetched ? await prefetch.value : Prefetched()
            await limiter.acquire()
            let r: Result<ApplyResult, ApplyFailure>
            do {
                let x = try await self.applyOne(item.manifest, ref: item.ref, index: item.index, options: options, state: state,
                                                known: known) {
                    await limiter.release()
                    let stop = await gate()
                    await limiter.acquire()
                    if let stop { throw stop }
                }
                r = .success(x)
            } catch let e as KubeError {
                r = .failure(ApplyFailure(object: item.ref.description, error: e))
            } catch {
                r = .failure(ApplyFailure(object: item.ref.description, error: .other("\(error)")))
            }
            await limiter.release()
            return r
        }
        // Namespaces and CRDs (they gate the others), as unstructured tasks the others await.
        var namespaceTasks: [String: Task<Result<ApplyResult, ApplyFailure>, Never>] = [:]
        var crdTasks: [Task<Result<ApplyResult, ApplyFailure>, Never>] = []
        var others: [ApplyPlan.Item] = []
        for item in plan.items {
            if item.ref.kind == "Namespace", item.ref.apiVersion == "v1", namespaceTasks[item.ref.name] == nil {
                namespaceTasks[item.ref.name] = Task { await applyItem(item) }
            } else if item.ref.kind == "CustomResourceDefinition", ApplyPlanner.isFoundation(item.ref) {
                crdTasks.append(Task { await applyItem(item) })
            } else {
                others.append(item)
            }
        }
        let nsTasks = namespaceTasks
        let crdsApplied = crdTasks
        let waitsForCRDs = others.contains { $0.dependsOnCRDs }
        // Namespaces and CRDs first: the other objects read their state meanwhile and write once
        // every Namespace and CRD of the manifest is written (or found unchanged, or failed).
        let foundationWritten: Task<Void, Never> = Task {
            for t in Array(nsTasks.values) + crdsApplied { _ = await t.value }
        }
        // After the CRDs: forget their group-versions in discovery, and wait for them when needed.
        let crdGate: Task<KubeError?, Never> = Task {
            var crds: [ApplyResult] = []
            for t in crdsApplied {
                switch await t.value {
                case .success(let r): crds.append(r)
                case .failure(let f): return .other("\(f.object) could not be applied")
                }
            }
            guard !crdsApplied.isEmpty else { return nil }
            for gv in plan.crdGroupVersions { await self.discovery.invalidate(groupVersion: gv) }
            guard !options.dryRun, options.waitForCRDs || waitsForCRDs else { return nil }
            do {
                try await withThrowingTaskGroup(of: Void.self) { g in
                    for crd in crds {
                        g.addTask { try await self.waitForCRD(crd.object, timeout: options.crdEstablishedTimeout) }
                    }
                    try await g.waitForAll()
                }
                return nil
            } catch let e as KubeError {
                return e
            } catch {
                return .other("\(error)")
            }
        }
        @Sendable func namespaceGate(_ ns: String?) async -> KubeError? {
            guard let ns, let t = nsTasks[ns] else { return nil }
            if case .failure = await t.value { return .other("not applied: its namespace \(ns) could not be applied") }
            return nil
        }
        var results: [ApplyResult] = []
        var failures: [ApplyFailure] = []
        await withTaskGroup(of: Result<ApplyResult, ApplyFailure>.self) { g in
            for item in others {
                g.addTask {
                    if item.dependsOnCRDs {
                        // Its kind is unknown to the server until the CRDs are in: wait first.
                        if let stop = await crdGate.value {
                            return .failure(ApplyFailure(object: item.ref.description, error: .other("not applied: \(stop)")))
                        }
                        if let stop = await namespaceGate(item.waitsForNamespace) {
                            return .failure(ApplyFailure(object: item.ref.description, error: stop))
                        }
                        return await applyItem(item)
                    }
                    let ns = item.waitsForNamespace
                    return await applyItem(item) {
                        await foundationWritten.value
                        return await namespaceGate(ns)
                    }
                }
            }
            for await r in g {
                switch r {
                case .success(let x): results.append(x)
                case .failure(let f): failures.append(f)
                }
            }
        }
        var foundationFailures: [ApplyFailure] = []
        for t in nsTasks.values.map({ $0 }) + crdsApplied {
            switch await t.value {
            case .success(let x): results.append(x)
            case .failure(let f): foundationFailures.append(f)
            }
        }
        if let e = await crdGate.value, foundationFailures.isEmpty {
            foundationFailures.append(ApplyFailure(object: "CustomResourceDefinitions", error: e))
        }
        _ = await prefetch.value
        // The cause first: failed namespaces and CRDs, then the other objects.
        return (results, foundationFailures + failures)
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

    /// Applies one object: reads its state, then (`beforeWrite` first) writes it when needed.
    func applyOne(_ manifest: JSON, ref: ObjectRef, index: Int, options: ApplyOptions, state: ApplyState,
                  known: Prefetched, beforeWrite: @Sendable () async throws -> Void = {}) async throws -> ApplyResult {
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
        let object: JSON, action: ApplyAction
        if await state.clientSide {
            try await beforeWrite()
            (object, action) = try await clientSideApply(obj, resource: resource, path: path, namespace: namespace, options: options)
        } else {
            (object, action) = try await serverSideApplyOrFallback(obj, resource: resource, path: path, namespace: namespace, options: options,
                                                                   state: state, known: known, beforeWrite: beforeWrite)
        }
        // What the server dropped of a write (said once: the re-apply finds it unchanged, see `isNoOp`).
        let dropped = action == .unchanged ? [] : ApplyPlanner.droppedFields(ApplyPlanner.applyBody(obj), in: object)
        return ApplyResult(kind: ref.kind, apiVersion: ref.apiVersion, name: ref.name, namespace: namespace, action: action,
                           object: object, resourceName: resource.nameOutput(ref.name), dryRun: options.dryRun, index: index,
                           droppedFields: dropped)
    }

    func serverSideApplyOrFallback(_ obj: JSON, resource: APIResource, path: String, namespace: String?, options: ApplyOptions,
                                   state: ApplyState, known: Prefetched,
                                   beforeWrite: @Sendable () async throws -> Void = {}) async throws -> (JSON, ApplyAction) {
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
        // Nothing to write: the live object already holds every applied value (but fields the
        // server drops) and our field manager owns no field the manifest dropped. Skipping the
        // PATCH spares the server.
        if let before, ApplyPlanner.isNoOp(body: body, live: before, fieldManager: options.fieldManager) {
            return (before, .unchanged)
        }
        try await beforeWrite()
        var q: [(String, String)] = [("fieldManager", options.fieldManager)]
        if options.force { q.append(("force", "true")) }
        if options.dryRun { q.append(("dryRun", "All")) }
        do {
            // A write is `configured` even when the server kept the object as it was: it was made
            // (and journaled), so it is never said to be `unchanged`. It `created` the object only when
            // the server says so (201): an object another run made after it was read (absent) was not
            // created by this one — unless this request was sent again after its connection broke (its
            // first attempt may have made the object, and the 200 answers the retry).
            return try await observed(options, path: path, namespace: namespace, before: before, body: body) {
                let bytes = Array(JSONCodec.serialize(body, pretty: false).utf8)
                let r = try await self.send(.PATCH, path, query: q, body: bytes, contentType: "application/apply-patch+yaml")
                let created = before == nil && (r.status == 201 || r.resent)
                return (try r.json(), created ? .created : .configured)
            }
        } catch let e as KubeError where e.httpStatus == 415 {
            await state.fallBack()
            logger.notice("server-side apply is not supported by the server: falling back to client-side apply")
            return try await clientSideApply(obj, resource: resource, path: path, namespace: namespace, options: options)
        }
    }

    /// Makes one write of an apply, telling `options.observer` before and after.
    func observed(_ options: ApplyOptions, path: String, namespace: String?, before: JSON?, body: JSON,
                  _ write: () async throws -> (JSON, ApplyAction)) async throws -> (JSON, ApplyAction) {
        guard let observer = options.observer, !options.dryRun else { return try await write() }
        let w = ApplyWrite(kind: body["kind"]?.stringValue ?? "", apiVersion: body["apiVersion"]?.stringValue ?? "",
                           name: body.at("metadata", "name")?.stringValue ?? "",
                           namespace: namespace, before: before, body: body)
        let token = observer.willWrite(w)
        do {
            let (object, action) = try await write()
            observer.didWrite(token, .success((object: object, action: action)))
            return (object, action)
        } catch {
            observer.didWrite(token, .failure(error))
            throw error
        }
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
            return try await observed(options, path: path, namespace: namespace, before: nil, body: modified) {
                (try await self.sendJSON(.POST, resource.collectionPath(namespace: namespace), query: q, body: modified), .created)
            }
        }
        let original = live.at("metadata", "annotations", lastAppliedAnnotation)?.stringValue.flatMap { try? JSONCodec.parse($0) }
        guard let patch = ApplyPlanner.threeWayMergePatch(original: original, modified: modified, current: live) else {
            return (live, .unchanged)
        }
        return try await observed(options, path: path, namespace: namespace, before: live, body: modified) {
            (try await self.sendJSON(.PATCH, path, query: q, body: patch, contentType: "application/merge-patch+json"), .configured)
        }
    }
}

/// Objects read before an apply: by object path, and the collections that were listed in full.
struct Prefetched: Sendable {
    var objects: [String: JSON] = [:]
    var collections: Set<String> = []
}

/// At most `limit` holders at a time; waiters are served in order.
actor AsyncLimiter {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    init(_ limit: Int) { available = limit }
    func acquire() async {
        if available > 0 { available -= 1; return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func release() {
        if waiters.isEmpty { available += 1 } else { waiters.removeFirst().resume() }
    }
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

    /// The group-versions (`sagemaker.aws.amazon.com/v1`) the CRDs among `objects` define.
    public static func crdGroupVersions(_ objects: [JSON]) -> Set<String> {
        var out = Set<String>()
        for o in objects where o["kind"]?.stringValue == "CustomResourceDefinition"
            && o["apiVersion"]?.stringValue?.hasPrefix("apiextensions.k8s.io/") == true {
            guard let g = o.at("spec", "group")?.stringValue else { continue }
            for v in o.at("spec", "versions")?.arrayValue ?? [] {
                if let n = v["name"]?.stringValue { out.insert("\(g)/\(n)") }
            }
            if let v = o.at("spec", "version")?.stringValue { out.insert("\(g)/\(v)") }
        }
        return out
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

    /// Whether a server-side apply of `body` would change nothing: `live` has an `Apply` entry of
    /// `fieldManager`, every value of `body` is in `live` (lists: same length, element by element)
    /// but fields the server drops, and every object field that entry owns (down to the first list)
    /// is still in `body`. A field of `body` absent from `live` that the entry owns is one the
    /// server drops (ingress-nginx's `spec.ipFamilyPolicy` on a 1.20 server): the last apply sent
    /// it, and the server kept the ownership but not the value; sending it again changes nothing.
    public static func isNoOp(body: JSON, live: JSON, fieldManager: String) -> Bool {
        let entries = live.at("metadata", "managedFields")?.arrayValue ?? []
        guard let mine = entries.first(where: { $0["manager"]?.stringValue == fieldManager && $0["operation"]?.stringValue == "Apply" }),
              let fields = mine["fieldsV1"] else {
            // A manifest that sets nothing but the name (`kind: Namespace` with a name): the server
            // keeps no Apply entry for it, and applying it again changes nothing.
            return setsNothing(body)
        }
        // The apply entry must be for the version we apply (fields of another version differ).
        if let v = mine["apiVersion"]?.stringValue, let bv = body["apiVersion"]?.stringValue, v != bv { return false }
        let stored = withoutTypeMeta(asStored(body))
        let omitEmpty = isBuiltIn(body)
        let dropped = droppedPaths(stored, in: live, omitEmpty: omitEmpty)
        guard dropped.allSatisfy({ owns(fields, $0) }) else { return false }
        guard isSubset(removing(dropped, from: stored), of: live, omitEmpty: omitEmpty) else { return false }
        return ownedPathsPresent(fields, in: body)
    }

    /// The fields (`spec.ipFamilyPolicy`) of an applied manifest that the object the server
    /// answered lacks: fields the server drops (a disabled feature's, an older server's).
    public static func droppedFields(_ body: JSON, in object: JSON) -> [String] {
        droppedPaths(withoutTypeMeta(asStored(body)), in: object, omitEmpty: isBuiltIn(body)).map { $0.joined(separator: ".") }
    }

    /// `the server drops fields a, b`; nil when none.
    public static func droppedNote(_ fields: [String]) -> String? {
        fields.isEmpty ? nil : "the server drops field\(fields.count == 1 ? "" : "s") \(fields.joined(separator: ", "))"
    }

    /// The paths of the keys of `a` (followed through objects, not lists) that `b` lacks; null
    /// values, and with `omitEmpty` empty ones, are not fields the server would keep.
    static func droppedPaths(_ a: JSON, in b: JSON, omitEmpty: Bool, prefix: [String] = []) -> [[String]] {
        guard case .object(let x) = a, case .object(let y) = b else { return [] }
        var out: [[String]] = []
        for (k, v) in x {
            if let w = y[k] {
                out += droppedPaths(v, in: w, omitEmpty: omitEmpty, prefix: prefix + [k])
            } else if v != .null, !(omitEmpty && isEmptyValue(v)) {
                out.append(prefix + [k])
            }
        }
        return out
    }

    /// Whether a fieldsV1 set holds the field at `path` (object keys only).
    static func owns(_ fields: JSON, _ path: [String]) -> Bool {
        var node = fields
        for k in path {
            guard let next = node["f:" + k] else { return false }
            node = next
        }
        return true
    }

    /// `value` without the fields at `paths` (object keys only).
    static func removing(_ paths: [[String]], from value: JSON) -> JSON {
        var out = value
        for p in paths { out = removing(p[...], from: out) }
        return out
    }

    private static func removing(_ path: ArraySlice<String>, from value: JSON) -> JSON {
        guard let k = path.first, case .object(var o) = value else { return value }
        if path.count == 1 {
            o[k] = nil
        } else if let child = o[k] {
            o[k] = removing(path.dropFirst(), from: child)
        }
        return .object(o)
    }

    /// Whether a manifest holds nothing beyond its type, name and namespace.
    static func setsNothing(_ body: JSON) -> Bool {
        guard case .object(let o) = withoutTypeMeta(body) else { return false }
        for (k, v) in o {
            guard k == "metadata", case .object(let meta) = v else { return false }
            if meta.keys.contains(where: { $0 != "name" && $0 != "namespace" }) { return false }
        }
        return true
    }

    /// Built-in kinds (core and `*.k8s.io` groups, CRDs included): typed objects, whose empty
    /// `omitempty` fields (`value: ""`, `hostPort: 0`, `[]`) the server does not store.
    static func isBuiltIn(_ obj: JSON) -> Bool {
        let group = splitAPIVersion(obj["apiVersion"]?.stringValue ?? "").group
        return !group.contains(".") || group.hasSuffix(".k8s.io")
    }

    /// A value Go's `omitempty` leaves out.
    static func isEmptyValue(_ v: JSON) -> Bool {
        switch v {
        case .null: return true
        case .string(let s): return s.isEmpty
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .double(let d): return d == 0
        case .array(let a): return a.isEmpty
        case .object(let o): return o.isEmpty
        }
    }

    /// The object without `apiVersion` and `kind` (which lists omit from their items).
    static func withoutTypeMeta(_ body: JSON) -> JSON {
        guard case .object(var o) = body else { return body }
        o["apiVersion"] = nil
        o["kind"] = nil
        return .object(o)
    }

    /// `a` ⊆ `b`: objects by key, lists by position with equal length, scalars equal
    /// (an int equal to a double counts as equal).
    /// With `omitEmpty` (typed objects), a key absent from `b` matches an empty value in `a`.
    /// `key` is the name `a` has in its parent map; `parent` that of the parent map.
    static func isSubset(_ a: JSON, of b: JSON, omitEmpty: Bool = false, key: String = "", parent: String = "") -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            for (k, v) in x {
                guard let w = y[k] else {
                    if case .null = v { continue }
                    if omitEmpty, isEmptyValue(v) { continue }
                    return false
                }
                if !isSubset(v, of: w, omitEmpty: omitEmpty, key: k, parent: key) { return false }
            }
            return true
        case (.array(let x), .array(let y)):
            guard x.count == y.count else { return false }
            return zip(x, y).allSatisfy { isSubset($0, of: $1, omitEmpty: omitEmpty) }
        case (.int(let i), .double(let d)), (.double(let d), .int(let i)):
            return Double(i) == d
        default:
            if a == b { return true }
            // Quantities the server stores in its canonical form (`1024Mi` → `1Gi`, `1000m` → `1`).
            if quantityParents.contains(parent), let x = Quantity.value(a), let y = Quantity.value(b) { return x == y }
            return false
        }
    }

    /// Maps whose values are resource quantities (`resources.limits`, a quota's `hard`, …).
    static let quantityParents: Set<String> = ["limits", "requests", "hard", "capacity", "allocatable", "overhead", "used"]

    /// A manifest as the server stores it, for comparing: a Secret's `stringData` is `data` (base64).
    static func asStored(_ body: JSON) -> JSON {
        guard body["kind"]?.stringValue == "Secret", body["apiVersion"]?.stringValue == "v1",
              case .object(let sd)? = body["stringData"], case .object(var o) = body else { return body }
        var data: OrderedDictionary<String, JSON> = [:]
        if case .object(let d)? = o["data"] { data = d }
        for (k, v) in sd { if let s = v.stringValue { data[k] = .string(Data(s.utf8).base64EncodedString()) } }
        o["data"] = .object(data)
        o["stringData"] = nil
        return .object(o)
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
