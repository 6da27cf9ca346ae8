import Foundation
import OrderedCollections
import SGKData
import SGKKubernetes
import SGKLanguage

/// Options every `kubectl` command reads.
struct KubectlOptions {
    var namespace: String?
    var context: String?
    var kubeconfig: String?
    var output: String?

    init(_ args: Arguments) throws {
        namespace = try args.string(keyword: "namespace").flatMap { $0.isEmpty ? nil : $0 }
        context = try args.string(keyword: "context").flatMap { $0.isEmpty ? nil : $0 }
        kubeconfig = try args.string(keyword: "kubeconfig").flatMap { $0.isEmpty ? nil : $0 }
        output = try args.string(keyword: "output").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Fails on an `-o` this command does not print, before the command does anything.
    func requireOutput(_ formats: [String]) throws {
        if let output, !formats.contains(output) {
            throw KubectlCommands.unknownFormat(output, formats.joined(separator: ", "))
        }
    }

    func client(_ inv: Invocation) throws -> KubeClient {
        try KubectlClients.of(inv.context).client(inv.context, kubeconfig: kubeconfig, contextName: context)
    }

    /// `--context X --kubeconfig Y -n Z` for explain lines.
    func explainFlags(namespace includeNamespace: Bool = true) -> String {
        var s = ""
        if let context { s += " --context \(KubeText.quote(context))" }
        if let kubeconfig { s += " --kubeconfig \(KubeText.quote(kubeconfig))" }
        if includeNamespace, let namespace { s += " -n \(KubeText.quote(namespace))" }
        return s
    }
}

/// One object an apply or delete reported.
struct ObjectRow {
    var index: Int
    var kind: String
    var apiVersion: String
    var name: String
    var namespace: String?
    var action: String
    var resourceName: String
    var object: JSON?
    var dryRun: Bool
    /// Fields of the manifest the server dropped when the apply wrote the object.
    var droppedFields: [String] = []

    var id: String { namespace.map { "\($0)/\(name)" } ?? name }

    /// `the server drops fields spec.ipFamilyPolicy, spec.ipFamilies`, when it dropped some.
    var note: String? { ApplyPlanner.droppedNote(droppedFields) }

    var value: Value {
        let row = kmap(["kind": .string(kind), "apiVersion": .string(apiVersion), "name": .string(name),
                        "namespace": namespace.map(Value.string) ?? .null, "action": .string(action)])
        guard let note, case .map(var fields) = row else { return row }
        fields["note"] = .string(note)
        return .map(fields)
    }

    /// kubectl's line: `deployment.apps/x created`, with what the server dropped:
    /// `service/x configured (the server drops fields spec.ipFamilyPolicy, spec.ipFamilies)`.
    var line: String { "\(resourceName) \(action)\(note.map { " (\($0))" } ?? "")\(dryRun ? " (server dry run)" : "")" }
}

enum KubectlCommands {
    /// The field manager of `kubectl patch` (kubectl's is `kubectl-patch`): not `sgk`, so that a later
    /// apply meets the patched fields as another manager's (a conflict it names, `force-conflicts:` takes).
    static let patchFieldManager = "sgk-patch"

    // MARK: shared

    /// The cluster's identity for journal entries (`KubeClient.clusterID()`): nil when it cannot be read.
    static func clusterID(_ inv: Invocation, _ client: KubeClient) -> String? {
        (try? run(inv) { await client.clusterID() }) ?? nil
    }

    static func run<T: Sendable>(_ inv: Invocation, _ op: @escaping @Sendable () async throws -> T) throws -> T {
        try inv.context.wait(op)
    }

    /// Runs `body` as a dry run when the call has `--dry-run` (server or client), leaving the run's mode otherwise.
    static func withCallDryRun<T>(_ inv: Invocation, _ body: () throws -> T) throws -> T {
        guard let v = inv.args.keyword("dry-run") else { return try body() }
        let mode: String
        switch v {
        case .bool(let b): mode = b ? "client" : "none"
        default: mode = v.text
        }
        guard ["none", "server", "client"].contains(mode) else {
            throw CommandError("--dry-run must be server, client or none, not \(mode)", argument: .keyword("dry-run"))
        }
        if mode == "none" || inv.context.options.dryRun { return try body() }
        _ = Effects.of(inv.context)  // made (with its journal) before the mode changes
        return try inv.context.withDryRun(body)
    }

    /// A line on stderr, flushed at once (the CLI flushes stderr only when a run fails).
    static func note(_ inv: Invocation, _ line: String) {
        inv.context.errors.write(line + "\n")
        inv.context.errors.flush()
    }

    static func progressSink(_ inv: Invocation) -> (@Sendable (String) -> Void)? {
        guard (inv.context.errors as? FileSink)?.isTerminal == true else { return nil }
        let errors = inv.context.errors
        return { msg in errors.write(msg + "\n"); errors.flush() }
    }

    static func stripManaged(_ j: JSON) -> JSON {
        guard case .object(var o) = j, case .object(var meta)? = o["metadata"], meta["managedFields"] != nil else { return j }
        meta["managedFields"] = nil
        o["metadata"] = .object(meta)
        return .object(o)
    }

    /// An object as the journal keeps it: without managedFields, and a Secret's values replaced
    /// by `<redacted>` (the journal is a file on disk; secrets are never written there).
    static func forJournal(_ j: JSON) -> JSON {
        // A List's items (apply flattens it) are each what the journal may show.
        if j["kind"]?.stringValue?.hasSuffix("List") == true, case .array(let items)? = j["items"], case .object(var o) = j {
            o["items"] = .array(items.map(forJournal))
            return .object(o)
        }
        let stripped = stripManaged(j)
        guard stripped["kind"]?.stringValue == "Secret", stripped["apiVersion"]?.stringValue == "v1",
              case .object(var o) = stripped else { return stripped }
        redactSecretValues(&o)
        if case .object(var meta)? = o["metadata"], case .object(var ann)? = meta["annotations"],
           ann["kubectl.kubernetes.io/last-applied-configuration"] != nil {
            ann["kubectl.kubernetes.io/last-applied-configuration"] = .string("<redacted>")
            meta["annotations"] = .object(ann)
            o["metadata"] = .object(meta)
        }
        return .object(o)
    }

    /// Replaces the values under a Secret's (or a patch of one's) `data` and `stringData` by `<redacted>`.
    static func redactSecretValues(_ o: inout OrderedDictionary<String, JSON>) {
        for key in ["data", "stringData"] {
            if case .object(let values)? = o[key] { o[key] = .object(values.mapValues { _ in .string("<redacted>") }) }
        }
    }

    /// Whether `--explain`'s here-document leaves out a Secret's values (a Secret, or a List holding one).
    static func hidesSecretValues(_ doc: JSON) -> Bool {
        let kind = doc["kind"]?.stringValue ?? ""
        return (kind == "Secret" || kind.hasSuffix("List")) && forJournal(doc) != doc
    }

    static func unknownFormat(_ f: String, _ formats: String) -> CommandError {
        CommandError("unknown output format '\(f)'", hint: "formats: \(formats)", argument: .keyword("output"))
    }

    /// The formats of `printRows`.
    static let rowFormats = ["name", "yaml", "json", "table", "wide", "compact"]

    static func printRows(_ inv: Invocation, _ rows: [ObjectRow], format: String?) throws {
        guard let format else { return }
        let out = inv.context.output
        switch format {
        case "name": for r in rows { out.write(r.line + "\n") }
        case "yaml", "json", "table", "wide", "compact": out.write(try Formatter.format(.list(rows.map(\.value)), as: format == "wide" ? "table" : format))
        default: throw unknownFormat(format, "name, yaml, json, table")
        }
    }

    // MARK: apply

    static func apply(_ inv: Invocation) throws -> Value {
        try withCallDryRun(inv) { try applyNow(inv) }
    }

    static func applyNow(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(rowFormats)
        try Effects.of(inv.context).requireJournal()
        guard case let (docs, source, kustomizeDir)? = try Manifests.documentsOrKustomize(inv.args.positional(0) ?? inv.args.input,
                                                                                  kustomize: try inv.args.string(keyword: "kustomize"), context: inv.context) else {
            throw CommandError("no manifest given", hint: "kubectl apply -f FILE, kubectl apply -k DIR, kubectl apply $manifest, or $docs | kubectl apply", argument: .input)
        }
        let client = try o.client(inv)
        let effects = Effects.of(inv.context)
        let force = try inv.args.bool(keyword: "force-conflicts")
        let fieldManager = try inv.args.string(keyword: "field-manager") ?? "sgk"
        var options = ApplyOptions(fieldManager: fieldManager, force: force, dryRun: effects.isDryRun, namespace: o.namespace)
        options.convertCRDs = true
        // Each object's write is journaled as the apply makes it, not when the whole apply returns.
        if !effects.isDryRun {
            options.observer = ApplyJournal(effects: effects, cluster: client.target.cluster.server, clusterID: clusterID(inv, client))
        }
        // Tuning knob (benchmarks): requests in flight per apply.
        if let n = inv.context.environment["SGK_KUBE_CONCURRENCY"].flatMap({ Int($0) }), n > 0 { options.concurrency = n }
        let applyOptions = options
        var explain = "kubectl apply --server-side --field-manager=\(KubeText.quote(fieldManager))"
        if force { explain += " --force-conflicts" }
        explain += o.explainFlags()

        var rows: [ObjectRow] = []
        var failure: KubeError?
        var notices: [String] = []
        do {
            let report = try run(inv) { try await client.apply(docs, options: applyOptions) }
            notices = report.notices
            rows = report.results.map(row)
        } catch let e as KubeError {
            guard case .applyFailed(let failures, let results) = e else { throw e }
            rows = results.map(row)
            // Conversion notices are lost with the error: say what happened.
            if try run(inv, { try await !client.serves(CRDConversion.v1beta1) }) {
                for d in docs where CRDConversion.isV1beta1CRD(d) {
                    notices.append(CRDConversion.notice(name: d.at("metadata", "name")?.stringValue ?? "?"))
                }
            }
            var remaining = failures
            if !force {
                let migrated = try takeOverClientSideApplyFields(inv, failures: remaining, docs: docs, options: applyOptions, client: client)
                rows += migrated.rows
                notices += migrated.notices
                remaining = migrated.remaining
                rows.sort { $0.index < $1.index }
            }
            if effects.isDryRun {
                let planned = plannedCreations(docs: docs, failures: remaining, rows: rows, options: o, client: client)
                rows += planned.rows
                remaining = planned.remaining
                rows.sort { $0.index < $1.index }
            }
            if !remaining.isEmpty { failure = .applyFailed(failures: remaining, results: results) }
        }
        for n in notices { note(inv, n.hasPrefix("Warning: ") ? n : "notice: \(n)") }

        var explainPending = true
        // What sgk did that the kubectl line alone would not: said under it, so that the lines stay honest.
        let converted = docs.filter { CRDConversion.isV1beta1CRD($0) }.count
        let convertedCRDs = notices.contains { $0.contains("v1beta1") } && converted > 0
        // Documents given as a value follow the line as a here-document, as sgk sends them (list-map
        // keys defaulted, no status, v1beta1 CRDs converted when the server needs it), without Secret values.
        if let kustomizeDir {
            explain += " -k " + KubeText.quote(kustomizeDir)
        } else {
            explain += Manifests.explainArguments(docs, source: source, inline: effects.isExplaining) { doc in
                var sent = ApplyPlanner.applyBody(doc)
                if convertedCRDs, CRDConversion.isV1beta1CRD(sent), let v1 = try? CRDConversion.convert(sent) { sent = v1 }
                return forJournal(sent)
            }
        }
        let inline = explain.contains("\n")
        var notes: [String] = []
        if convertedCRDs {
            notes.append(inline
                ? "# the \(converted) apiextensions.k8s.io/v1beta1 CRD(s) above are converted to v1: this server no longer serves v1beta1"
                : "# sgk first converted the \(converted) apiextensions.k8s.io/v1beta1 CRD(s) to v1: this server no longer serves v1beta1, so kubectl needs a converted file")
        }
        if inline, docs.contains(where: hidesSecretValues) {
            notes.append("# sgk does not show a Secret's values: put them in place of <redacted> before running this")
        }
        func explainOnce() -> [String] {
            defer { explainPending = false }
            return explainPending ? [explain] + notes : []
        }
        for r in rows {
            if r.action == "unchanged" {
                effects.unchanged(kind: r.kind, name: r.id, explain: explainOnce())
            } else if effects.isDryRun {
                let change = Change(r.action == "created" ? .create : .update, kind: r.kind, name: r.id, detail: r.note,
                                    after: r.object.map { Value(json: forJournal($0)) }, explain: explainOnce())
                let v = r.value
                _ = try effects.write(change, planned: v) { v }
            } else {
                effects.printExplain(explainOnce())  // journaled as it was made (ApplyJournal)
            }
        }
        if rows.isEmpty, failure == nil { effects.unchanged(kind: "manifest", name: source, detail: "no objects", explain: explainOnce()) }
        // As kubectl: each object that applied is printed, then the failures (the error) fail the run.
        try printRows(inv, rows, format: o.output)
        if let failure { throw failure }
        return .list(rows.map(\.value))
    }

    /// Journals each write of a `kubectl apply` as the apply makes it: a run killed in the middle of
    /// an apply leaves the objects it was writing journaled (`interrupted`), not forgotten.
    final class ApplyJournal: ApplyObserver, @unchecked Sendable {
        let effects: Effects
        /// The API server the apply writes to, and the cluster's identity.
        let cluster: String
        let clusterID: String?
        let lock = NSLock()
        /// Each write begun, with the manifest it sends.
        var pending: [Int: (write: Effects.PendingWrite, body: JSON)] = [:]
        var next = 0

        init(effects: Effects, cluster: String, clusterID: String?) { self.effects = effects; self.cluster = cluster; self.clusterID = clusterID }

        static func id(_ namespace: String?, _ name: String) -> String { namespace.map { "\($0)/\(name)" } ?? name }

        func willWrite(_ w: ApplyWrite) -> Int {
            let change = Change(w.before == nil ? .create : .update, kind: w.kind, name: Self.id(w.namespace, w.name),
                                before: w.before.map { Value(json: forJournal($0)) }, after: Value(json: forJournal(w.body)), cluster: cluster, clusterID: clusterID)
            let p = effects.begin(change)
            lock.lock(); defer { lock.unlock() }
            next += 1
            pending[next] = (p, w.body)
            return next
        }

        func didWrite(_ token: Int, _ outcome: Result<(object: JSON, action: ApplyAction), any Error>) {
            lock.lock()
            let p = pending.removeValue(forKey: token)
            lock.unlock()
            guard let (p, body) = p else { return }
            switch outcome {
            case .success(let r):
                // A write is journaled as what it did, never as unchanged, with the fields the server dropped.
                var change = p.change
                change.action = r.action == .created ? .create : .update
                change.detail = ApplyPlanner.droppedNote(ApplyPlanner.droppedFields(body, in: r.object))
                effects.done(p, change: change)
            case .failure(let error):
                if (error as? OutcomeUnknownError)?.outcomeUnknown != true { effects.failed(p) }
            }
        }
    }

    /// Field managers of client-side apply (`kubectl apply -f`, sgk's own fallback).
    static let clientSideManagers: Set<String> = ["kubectl-client-side-apply", "kubectl-last-applied", "sgk-client-side"]

    /// Objects last applied client-side (`kubectl apply -f`) conflict with a server-side apply
    /// that changes a field. kubectl (1.26+) migrates such fields to its server-side manager
    /// before applying; sgk does the same by re-applying exactly those objects with force when
    /// every conflicting manager is a client-side-apply one. Other conflicts stay errors.
    static func takeOverClientSideApplyFields(_ inv: Invocation, failures: [ApplyFailure], docs: [JSON], options: ApplyOptions,
                                              client: KubeClient) throws -> (rows: [ObjectRow], notices: [String], remaining: [ApplyFailure]) {
        var refs: [String: (Int, JSON)] = [:]
        for (i, d) in docs.enumerated() { if let ref = try? ObjectRef(d) { refs[ref.description] = (i, d) } }
        var retry: [(Int, JSON, ApplyFailure)] = []
        var remaining: [ApplyFailure] = []
        for f in failures {
            guard case .api(409, let st, _, _, _) = f.error, let message = st?.message, let (i, d) = refs[f.object] else {
                remaining.append(f); continue
            }
            let managers = conflictingManagers(message)
            if !managers.isEmpty, managers.isSubset(of: clientSideManagers) { retry.append((i, d, f)) } else { remaining.append(f) }
        }
        guard !retry.isEmpty else { return ([], [], failures) }
        var forced = options
        forced.force = true
        let pending = retry
        let forcedOptions = forced
        let outcomes = try run(inv) { () async -> [(Int, Result<ApplyReport, KubeError>)] in
            var out: [(Int, Result<ApplyReport, KubeError>)] = []
            for (i, d, _) in pending {
                do { out.append((i, .success(try await client.apply([d], options: forcedOptions)))) } catch let e as KubeError {
                    out.append((i, .failure(e)))
                } catch {
                    out.append((i, .failure(.other("\(error)"))))
                }
            }
            return out
        }
        var rows: [ObjectRow] = []
        var notices: [String] = []
        for ((i, report), (_, _, original)) in zip(outcomes, retry) {
            switch report {
            case .success(let r):
                for var x in r.results.map(row) {
                    x.index = i
                    rows.append(x)
                    notices.append("\(x.kind) \(x.id) was last applied client-side (kubectl apply): its fields were taken over by field manager \(options.fieldManager)")
                }
            case .failure(let e):
                if case .applyFailed(let fs, _) = e { remaining += fs } else { remaining.append(original) }
            }
        }
        return (rows, notices, remaining)
    }

    /// The managers named in a server-side apply conflict message (`conflict with "kubectl-client-side-apply" using v1: …`).
    static func conflictingManagers(_ message: String) -> Set<String> {
        var out = Set<String>()
        var rest = Substring(message)
        while let r = rest.firstRange(of: "with \"") {
            let after = rest[r.upperBound...]
            guard let close = after.firstIndex(of: "\"") else { break }
            out.insert(String(after[..<close]))
            rest = after[after.index(after: close)...]
        }
        return out
    }

    static func row(_ r: ApplyResult) -> ObjectRow {
        ObjectRow(index: r.index, kind: r.kind, apiVersion: r.apiVersion, name: r.name, namespace: r.namespace,
                  action: r.action.rawValue, resourceName: r.resourceName, object: r.object, dryRun: r.dryRun,
                  droppedFields: r.droppedFields)
    }

    /// In a dry run, objects in a namespace the same apply would create, or of a kind whose CRD it
    /// would create, cannot be dry-run by the server: they are planned as created.
    static func plannedCreations(docs: [JSON], failures: [ApplyFailure], rows: [ObjectRow], options o: KubectlOptions,
                                 client: KubeClient) -> (rows: [ObjectRow], remaining: [ApplyFailure]) {
        let newNamespaces = Set(rows.filter { $0.kind == "Namespace" && $0.action == "created" }.map(\.name))
        var newGroups = Set<String>()
        for r in rows where r.kind == "CustomResourceDefinition" && r.action == "created" {
            if let g = r.object?.at("spec", "group")?.stringValue { newGroups.insert(g) }
        }
        // The scope of each kind a CRD of this apply defines (`Cluster` or `Namespaced`).
        var scopes: [String: String] = [:]
        for d in docs where d["kind"]?.stringValue == "CustomResourceDefinition" {
            if let g = d.at("spec", "group")?.stringValue, let k = d.at("spec", "names", "kind")?.stringValue {
                scopes["\(g)/\(k)"] = d.at("spec", "scope")?.stringValue ?? "Namespaced"
            }
        }
        var refs: [String: (Int, ObjectRef)] = [:]
        for (i, d) in docs.enumerated() { if let ref = try? ObjectRef(d) { refs[ref.description] = (i, ref) } }
        var planned: [ObjectRow] = []
        var remaining: [ApplyFailure] = []
        for f in failures {
            guard let (i, ref) = refs[f.object] else { remaining.append(f); continue }
            let ns = ref.namespace ?? o.namespace ?? client.defaultNamespace
            let group = splitAPIVersion(ref.apiVersion).group
            var ok = false
            switch f.error {
            case .api(404, let st, _, _, _) where st?.detailsKind == "namespaces" && newNamespaces.contains(st?.detailsName ?? ""):
                ok = true
            case .api(404, _, _, _, _) where newNamespaces.contains(ns):
                ok = true
            case .unknownResource where newGroups.contains(group):
                ok = true
            default: break
            }
            guard ok else { remaining.append(f); continue }
            let isNamespaced = !(ref.kind == "Namespace" && ref.apiVersion == "v1") && scopes["\(group)/\(ref.kind)"] != "Cluster"
            let groupPart = group.isEmpty ? "" : ".\(group)"
            planned.append(ObjectRow(index: i, kind: ref.kind, apiVersion: ref.apiVersion, name: ref.name,
                                     namespace: isNamespaced ? ns : nil, action: "created",
                                     resourceName: "\(ref.kind.lowercased())\(groupPart)/\(ref.name)", object: nil, dryRun: true))
        }
        return (planned, remaining)
    }

    // MARK: get

    static func splitTarget(_ inv: Invocation, _ what: String) throws -> (resource: String, name: String?) {
        try splitTarget(inv.args, what)
    }

    static func splitTarget(_ args: Arguments, _ what: String) throws -> (resource: String, name: String?) {
        let first = try args.string(0, what)
        let second = try args.optionalString(1, "the name")
        if let slash = first.firstIndex(of: "/") {
            let r = String(first[..<slash]), n = String(first[first.index(after: slash)...])
            guard !r.isEmpty, !n.isEmpty else { throw CommandError("expected TYPE/NAME, got \(first)", argument: .positional(0)) }
            if second != nil { throw CommandError("there is no need to give a name when using TYPE/NAME (\(first))", argument: .positional(1)) }
            return (r, n)
        }
        return (first, second)
    }

    static func get(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        let (resName, name) = try splitTarget(inv, "the resource type")
        let allNS = try inv.args.bool(keyword: "all-namespaces")
        let selector = try inv.args.string(keyword: "selector")
        let fieldSelector = try inv.args.string(keyword: "field-selector")
        let ignoreNotFound = try inv.args.bool(keyword: "ignore-not-found")
        let showManaged = try inv.args.bool(keyword: "show-managed-fields")
        let strip: @Sendable (JSON) -> JSON = { showManaged ? $0 : stripManaged($0) }
        let format = o.output
        if let format, !["yaml", "json", "name", "wide", "table", "compact"].contains(format), !format.hasPrefix("jsonpath=") {
            throw unknownFormat(format, "yaml, json, name, wide, table, jsonpath={…}")
        }
        let wantsTable = format == "wide" || format == "table"
        let client = try o.client(inv)
        let namespace = o.namespace
        // `deploy,svc`: several types, as kubectl allows.
        let types = resName.split(separator: ",").map(String.init).filter { !$0.isEmpty }
        guard !types.isEmpty else { throw CommandError("give a resource type", argument: .positional(0)) }
        var results: [(APIResource, [JSON], KubeTable?)] = []
        for typed in types {
            do {
                results.append(try run(inv) {
                    let r = try await client.resolveResource(typed)
                    var table: KubeTable?
                    if wantsTable {
                        // One request, as kubectl makes it: the table's rows carry their objects (a server
                        // that leaves them out is asked for the objects too).
                        let t = try await client.table(r, name: name, namespace: namespace, allNamespaces: allNS,
                                                       labelSelector: selector, fieldSelector: fieldSelector, objects: true)
                        let objects = t.objects.compactMap { $0 }.filter { ($0["kind"]?.stringValue).map { $0 != "PartialObjectMetadata" } ?? false }
                        if objects.count == t.cells.count { return (r, objects.map(strip), t) }
                        table = t
                    }
                    let objects: [JSON]
                    if let name {
                        objects = [try await client.get(r, name: name, namespace: namespace)]
                    } else {
                        objects = try await client.list(r, namespace: namespace, allNamespaces: allNS, labelSelector: selector, fieldSelector: fieldSelector)
                    }
                    return (r, objects.map(strip), table)
                })
            } catch let e as KubeError where e.isNotFound && name != nil {
                if !ignoreNotFound { throw e }
            }
        }
        let objects = results.flatMap { $0.1 }
        let single = name != nil && types.count == 1
        let value: Value = single ? (objects.first.map { Value(json: $0) } ?? .null) : .list(objects.map(Value.init(json:)))
        guard let format else { return value }
        let out = inv.context.output
        let doc: JSON = single ? (objects.first ?? .null) : KubeText.list(objects)
        switch format {
        case "wide", "table":
            var texts: [String] = []
            for (resource, _, table) in results {
                guard var table else { continue }
                if types.count > 1, let nameColumn = table.columns.firstIndex(where: { $0.name.lowercased() == "name" }) {
                    // Several types: names carry their type, as kubectl prints them.
                    for i in table.cells.indices where nameColumn < table.cells[i].count {
                        table.cells[i][nameColumn] = .string(resource.nameOutput(KubeTable.text(table.cells[i][nameColumn])))
                    }
                }
                let text = table.render(wide: format == "wide", namespaceColumn: allNS && resource.namespaced)
                if !text.isEmpty { texts.append(text) }
            }
            if texts.isEmpty {
                if results.allSatisfy({ $0.0.namespaced }) && !allNS {
                    note(inv, "No resources found in \(namespace ?? client.defaultNamespace) namespace.")
                } else {
                    note(inv, "No resources found")
                }
            } else {
                out.write(texts.joined(separator: "\n"))
            }
        case "yaml": if !single || !objects.isEmpty { out.write(YAMLCodec.emit(doc)) }
        case "json": if !single || !objects.isEmpty { out.write(JSONCodec.serialize(doc, pretty: true) + "\n") }
        case "compact": out.write(JSONCodec.serialize(doc, pretty: false) + "\n")
        case "name":
            for (resource, objs, _) in results {
                for obj in objs { out.write(resource.nameOutput(obj.at("metadata", "name")?.stringValue ?? "") + "\n") }
            }
        default:
            let template = String(format.dropFirst("jsonpath=".count))
            let text: String
            do { text = try JSONPath.render(template, on: doc) } catch { throw CommandError("\(error)", argument: .keyword("output")) }
            // kubectl ends with no newline; a line of its own reads better, and an empty result prints nothing.
            if !text.isEmpty { out.write(text.hasSuffix("\n") ? text : text + "\n") }
        }
        return value
    }

    // MARK: kustomize

    /// `kubectl kustomize DIR`: the rendered objects (no cluster call); `-o yaml` prints them as kubectl does.
    static func kustomize(_ inv: Invocation) throws -> Value {
        let dir = try inv.args.optionalString(0, "the kustomization directory") ?? "."
        let format = try inv.args.string(keyword: "output")
        if let format, !["yaml", "json", "name", "compact"].contains(format) { throw unknownFormat(format, "yaml, json, name") }
        let docs = try Manifests.kustomize(dir, context: inv.context)
        let value = Value.list(docs.map(Value.init(json:)))
        if let format { inv.context.output.write(try Formatter.format(value, as: format)) }
        return value
    }

    // MARK: delete

    static func delete(_ inv: Invocation) throws -> Value {
        try withCallDryRun(inv) { try deleteNow(inv) }
    }

    static func deleteNow(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(rowFormats)
        let effects = Effects.of(inv.context)
        if inv.args.keyword("kustomize") != nil, (inv.args.keyword("filename") ?? inv.args.input) != nil {
            throw CommandError("only one of -f or -k can be specified", argument: .keyword("kustomize"))
        }
        let waitForGone = try inv.args.bool(keyword: "wait", default: true)
        let timeout = try inv.args.duration(keyword: "timeout") ?? 60
        let ignoreNotFound = try inv.args.bool(keyword: "ignore-not-found")
        let selector = try inv.args.string(keyword: "selector")
        let client = try o.client(inv)
        let namespace = o.namespace

        // What to delete: (resource, name, namespace), and the explain line(s).
        var targets: [(APIResource, String, String?)] = []
        var unmappedDocs: [String] = []
        var explainOnce: String?
        var fromManifest = false
        if case let (docs, source, kustomizeDir)? = try Manifests.documentsOrKustomize(inv.args.keyword("filename") ?? inv.args.input,
                                                                                kustomize: try inv.args.string(keyword: "kustomize"), context: inv.context) {
            fromManifest = true
            let refs = try docs.map { try ObjectRef($0) }
            let (resolved, unmapped) = try run(inv) {
                var out: [(APIResource, String, String?)] = []
                // A document whose type the server does not serve (a policy/v1 object on an older
                // server, a custom resource whose CRD is gone) cannot be deleted, but it stops
                // nothing: the others are deleted, and each of these is reported, as kubectl does.
                var unmapped: [(ref: ObjectRef, why: String)] = []
                for ref in refs {
                    // A v1beta1 CRD is the same object as its v1 form (v1beta1 may not be served).
                    do {
                        let r = try await client.resource(kind: ref.kind, apiVersion: ref.apiVersion == CRDConversion.v1beta1 ? CRDConversion.v1 : ref.apiVersion)
                        out.append((r, ref.name, r.namespaced ? (ref.namespace ?? namespace ?? client.defaultNamespace) : nil))
                    } catch let e as KubeError {
                        guard case .unknownResource(let why) = e else { throw e }
                        unmapped.append((ref, why))
                    }
                }
                return (out, unmapped)
            }
            unmappedDocs = unmapped.map { u in
                let ns = u.ref.namespace.map { " namespace: \"\($0)\"" } ?? ""
                return "resource mapping not found for name: \"\(u.ref.name)\"\(ns) (\(u.ref.kind) \(u.ref.apiVersion)): \(u.why)"
            }
            // Reverse order: namespaced objects before their Namespace, custom resources before their CRD.
            targets = resolved.reversed()
            explainOnce = "kubectl delete\(o.explainFlags())"
                + (kustomizeDir.map { " -k " + KubeText.quote($0) }
                    ?? Manifests.explainArguments(docs, source: source, inline: Effects.of(inv.context).isExplaining, shown: Manifests.identity))
        } else {
            let first = try inv.args.optionalString(0, "the resource type")
            guard let first else {
                throw CommandError("give a resource type and names, TYPE/NAME, -l SELECTOR, or -f FILE", hint: "kubectl delete configmap NAME -n NS")
            }
            var names = try (1..<max(1, inv.args.positional.count)).map { try inv.args.string($0, "a name") }
            var resName = first
            if let slash = first.firstIndex(of: "/") {
                resName = String(first[..<slash])
                names.insert(String(first[first.index(after: slash)...]), at: 0)
            }
            let typed = resName
            let givenNames = names
            targets = try run(inv) {
                let r = try await client.resolveResource(typed)
                let ns = r.namespaced ? (namespace ?? client.defaultNamespace) : nil
                var ns2 = givenNames
                if ns2.isEmpty, let selector {
                    ns2 = try await client.list(r, namespace: ns, labelSelector: selector).compactMap { $0.at("metadata", "name")?.stringValue }
                }
                return ns2.map { (r, $0, ns) }
            }
            if targets.isEmpty {
                if selector != nil { note(inv, "No resources found"); return .list([]) }
                throw CommandError("give the name of the \(typed) to delete, or -l SELECTOR", argument: .positional(0))
            }
        }

        var rows: [ObjectRow] = []
        var deleted: [(APIResource, String, String?)] = []
        // Absent objects are reported together at the end, as kubectl does; the others are deleted.
        var missing: [(APIResource, String, String?)] = []
        let clusterID = effects.isDryRun || targets.isEmpty ? nil : clusterID(inv, client)
        for (r, name, ns) in targets {
            let before = try run(inv) { try await client.getIfExists(r, name: name, namespace: ns) }
            let id = ns.map { "\($0)/\(name)" } ?? name
            guard let before else {
                if !ignoreNotFound { missing.append((r, name, ns)) }
                continue
            }
            var explain: [String] = []
            if !fromManifest {
                explain = ["kubectl delete \(r.qualifiedName) \(KubeText.quote(name))\(o.explainFlags(namespace: false))\(ns.map { " -n \(KubeText.quote($0))" } ?? "")"]
            } else if let line = explainOnce {
                explain = [line]; explainOnce = nil
            }
            let row = ObjectRow(index: rows.count, kind: r.kind, apiVersion: r.apiVersion, name: name, namespace: ns, action: "deleted",
                                resourceName: r.nameOutput(name), object: nil, dryRun: false)
            let v = row.value
            _ = try effects.write(Change(.delete, kind: r.kind, name: id, before: Value(json: forJournal(before)), explain: explain,
                                         cluster: client.target.cluster.server, clusterID: clusterID), planned: v) {
                _ = try run(inv) { try await client.delete(r, name: name, namespace: ns, propagationPolicy: .background) }
                deleted.append((r, name, ns))
                return v
            }
            rows.append(row)
        }
        if waitForGone, !deleted.isEmpty {
            let progress = progressSink(inv)
            let list = deleted
            try run(inv) {
                try await withThrowingTaskGroup(of: Void.self) { g in
                    for (r, name, ns) in list {
                        g.addTask { _ = try await client.wait(r, name: name, namespace: ns, for: .deleted, timeout: timeout, progress: progress) }
                    }
                    try await g.waitForAll()
                }
            }
        }
        try printRows(inv, rows, format: o.output)
        if !unmappedDocs.isEmpty {
            if ignoreNotFound {
                // A type the server does not serve holds no objects: nothing of these is left.
                for line in unmappedDocs { note(inv, "Warning: \(line) (nothing of that type can exist here)") }
            } else {
                throw CommandError(unmappedDocs.count == 1 ? unmappedDocs[0] : "\(unmappedDocs.count) documents could not be mapped to a type the server serves:\n  " + unmappedDocs.joined(separator: "\n  "),
                                   code: "UnknownResource",
                                   hint: (rows.isEmpty ? "" : "the other \(rows.count) object(s) were deleted; ") + "a type the server does not serve has no objects to delete (--ignore-not-found treats these as gone)")
            }
        }
        if let (r, name, ns) = missing.first {
            let what = missing.map { "\($0.0.qualifiedName) \"\($0.1)\"" }.joined(separator: ", ")
            throw KubeError.notFound(r, name: name, namespace: ns, context: client.target.contextName,
                                     message: "\(what) not found" + (rows.isEmpty ? "" : " (the others were deleted)"))
        }
        return .list(rows.map(\.value))
    }

    // MARK: wait

    static func wait(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(["name", "yaml", "json"])
        // `kubectl wait TYPE [a, b, …]`: several named objects at once, as `kubectl wait TYPE a b` does.
        var listed: [String]?
        if case .list(let items)? = inv.args.positional(1) {
            listed = try items.map {
                guard case .string(let s) = $0, !s.isEmpty else {
                    throw CommandError("the list of names holds \($0.typeName), not only names", argument: .positional(1))
                }
                return s
            }
        }
        var args = inv.args
        if listed != nil { args.positional.removeSubrange(1...) }
        let (resName, name) = try splitTarget(args, "the resource type")
        let forText = try inv.args.requiredString(keyword: "for")
        let condition: WaitCondition
        do { condition = try WaitCondition.parse(forText) } catch let e as KubeError {
            throw CommandError(e.errorMessage, argument: .keyword("for"))
        }
        let timeout = try inv.args.duration(keyword: "timeout") ?? 30
        let selector = try inv.args.string(keyword: "selector")
        let all = try inv.args.bool(keyword: "all")
        if name == nil && listed == nil && selector == nil && !all {
            throw CommandError("give TYPE/NAME, or select objects with -l SELECTOR or --all", argument: .positional(0))
        }
        if let listed, listed.isEmpty { return .list([]) }
        let given = listed
        let client = try o.client(inv)
        let namespace = o.namespace
        let progress = progressSink(inv)
        let (resource, results): (APIResource, [(String, JSON?)])
        do {
            (resource, results) = try waitFor(inv, client: client, resName: resName, name: name, given: given, namespace: namespace,
                                               selector: selector, condition: condition, timeout: timeout, progress: progress)
        } catch let e as KubeError where e.isNotFound {
            // As kubectl's: a named object that does not exist is an error at once, not a wait.
            throw CommandError(e.errorMessage, code: "NotFound", hint: "--for=create waits until it exists")
        }
        if let format = o.output {
            let verb = "condition met"
            switch format {
            case "name": for (n, _) in results { inv.context.output.write("\(resource.nameOutput(n)) \(verb)\n") }
            case "yaml", "json":
                let docs = results.compactMap { $0.1 }.map(stripManaged)
                let doc = name != nil ? (docs.first ?? .null) : KubeText.list(docs)
                inv.context.output.write(format == "yaml" ? YAMLCodec.emit(doc) : JSONCodec.serialize(doc, pretty: true) + "\n")
            default: throw unknownFormat(format, "name, yaml, json")
            }
        }
        let values = results.map { $0.1.map { Value(json: stripManaged($0)) } ?? .null }
        return name != nil ? (values.first ?? .null) : .list(values)
    }

    /// The waits of `kubectl wait`: each named (or selected) object, concurrently.
    static func waitFor(_ inv: Invocation, client: KubeClient, resName: String, name: String?, given: [String]?, namespace: String?,
                        selector: String?, condition: WaitCondition, timeout: TimeInterval,
                        progress: (@Sendable (String) -> Void)?) throws -> (APIResource, [(String, JSON?)]) {
        try run(inv) { () async throws -> (APIResource, [(String, JSON?)]) in
            let r = try await client.resolveResource(resName)
            let ns = r.namespaced ? (namespace ?? client.defaultNamespace) : nil
            var names: [String]
            if let name {
                names = [name]
            } else if let given {
                names = given
            } else {
                names = try await client.list(r, namespace: ns, labelSelector: selector).compactMap { $0.at("metadata", "name")?.stringValue }
                if names.isEmpty { throw KubeError.other("no matching resources found") }
            }
            let found = try await withThrowingTaskGroup(of: (String, JSON?).self) { g in
                for n in names {
                    g.addTask { (n, try await client.wait(r, name: n, namespace: ns, for: condition, timeout: timeout, progress: progress)) }
                }
                var out: [(String, JSON?)] = []
                for try await x in g { out.append(x) }
                return out.sorted { $0.0 < $1.0 }
            }
            return (r, found)
        }
    }

    // MARK: rollout status

    static func rolloutStatus(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        let (resName, n) = try splitTarget(inv, "deployment/NAME")
        guard let name = n else { throw CommandError("give deployment/NAME", argument: .positional(0)) }
        guard ["deployment", "deployments", "deploy", "deployment.apps", "deployments.apps"].contains(resName.lowercased()) else {
            throw CommandError("rollout status supports Deployments only, not \(resName)", argument: .positional(0))
        }
        let timeout = try inv.args.duration(keyword: "timeout") ?? 300
        let client = try o.client(inv)
        let namespace = o.namespace
        let progress = progressSink(inv)
        let message = try run(inv) {
            try await client.rolloutStatus(deployment: name, namespace: namespace, timeout: timeout, progress: progress)
        }
        if o.output != nil { inv.context.output.write(message + "\n") }
        return .string(message)
    }

    // MARK: logs

    static func logs(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(["text"])
        let (resName, n) = try splitTarget(inv, "POD or pod/NAME")
        let pod: String
        if let n {
            guard ["pod", "pods", "po"].contains(resName.lowercased()) else {
                throw CommandError("logs reads a pod's containers: give POD or pod/NAME, not \(resName)/\(n)", argument: .positional(0))
            }
            pod = n
        } else {
            pod = resName
        }
        let container = try inv.args.string(keyword: "container").flatMap { $0.isEmpty ? nil : $0 }
        let tail = try inv.args.int(keyword: "tail")
        if let tail, tail < -1 { throw CommandError("--tail must be -1 (all lines) or more, not \(tail)", argument: .keyword("tail")) }
        let previous = try inv.args.bool(keyword: "previous")
        let client = try o.client(inv)
        let namespace = o.namespace
        let text = try run(inv) {
            try await client.podLog(pod: pod, namespace: namespace, container: container,
                                    tailLines: tail.flatMap { $0 < 0 ? nil : $0 }, previous: previous)
        }
        if o.output != nil, !text.isEmpty { inv.context.output.write(text.hasSuffix("\n") ? text : text + "\n") }
        return .string(text)
    }

    // MARK: create token

    static func createToken(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        let account = try inv.args.string(0, "the service account")
        var audiences: [String] = []
        switch inv.args.keyword("audience") {
        case .list(let l)?: audiences = l.map(\.text)
        case let v?: audiences = [v.text]
        case nil: break
        }
        var seconds: Int?
        if let d = try inv.args.duration(keyword: "duration") {
            guard d >= 600 else { throw CommandError("--duration must be at least 10m (the API server's minimum), not \(Int(d))s", argument: .keyword("duration")) }
            seconds = Int(d)
        }
        let client = try o.client(inv)
        let namespace = o.namespace
        let (auds, secs) = (audiences, seconds)
        let r = try run(inv) {
            try await client.createToken(serviceAccount: account, namespace: namespace, audiences: auds, seconds: secs)
        }
        return .string(r.token)
    }

    // MARK: api-resources

    static func apiResources(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(["wide", "table", "name", "yaml", "json", "compact"])
        var namespacedFilter: Bool?
        if inv.args.has("namespaced") { namespacedFilter = try inv.args.bool(keyword: "namespaced") }
        let group = inv.args.keyword("api-group").map(\.text)
        let client = try o.client(inv)
        // kubectl's ServerPreferredResources: each resource of a group once, from the preferred version
        // if it serves it, else from the first version that does (batch/v1beta1 cronjobs on 1.20).
        // (SGKKubernetes' `apiResources()` keeps only the preferred version's resources.)
        let snapshot = try run(inv) { try await client.discoverySnapshot() }
        var list: [APIResource] = []
        for g in snapshot.groups {
            var seen = Set<String>()
            for v in [g.preferredVersion] + g.versions.filter({ $0 != g.preferredVersion }) {
                for r in snapshot.resources[g.name.isEmpty ? v : "\(g.name)/\(v)"] ?? [] where !r.isSubresource && !seen.contains(r.name) {
                    seen.insert(r.name)
                    list.append(r)
                }
            }
        }
        if let namespacedFilter { list = list.filter { $0.namespaced == namespacedFilter } }
        if let group { list = list.filter { $0.group == group } }
        // kubectl's order: by group, then by name.
        list = list.enumerated().sorted { a, b in
            a.element.group != b.element.group ? a.element.group < b.element.group
                : (a.element.name != b.element.name ? a.element.name < b.element.name : a.offset < b.offset)
        }.map(\.element)
        let rows: [Value] = list.map { r in
            kmap(["name": .string(r.name), "shortNames": .list(r.shortNames.map(Value.string)), "apiVersion": .string(r.apiVersion),
                  "namespaced": .bool(r.namespaced), "kind": .string(r.kind), "verbs": .list(r.verbs.map(Value.string)),
                  "categories": .list(r.categories.map(Value.string))])
        }
        if let format = o.output {
            let out = inv.context.output
            switch format {
            case "table": out.write(renderAPIResources(list))
            case "wide":
                let cells = list.map {
                    [$0.name, $0.shortNames.joined(separator: ","), $0.apiVersion, $0.namespaced ? "true" : "false", $0.kind,
                     "[" + $0.verbs.joined(separator: " ") + "]", $0.categories.joined(separator: ",")]
                }
                out.write(TableRenderer.render(headers: ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"], rows: cells))
            case "name": for r in list { out.write(r.qualifiedName + "\n") }
            case "yaml", "json", "compact": out.write(try Formatter.format(.list(rows), as: format))
            default: throw unknownFormat(format, "wide, table, name, yaml, json")
            }
        }
        return .list(rows)
    }

    // MARK: version

    static func version(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(["yaml", "json", "compact", "table", "wide", "text"])
        let clientOnly = try inv.args.bool(keyword: "client")
        #if os(Linux)
        let os = "linux"
        #else
        let os = "darwin"
        #endif
        #if arch(arm64)
        let arch = "arm64"
        #else
        let arch = "amd64"
        #endif
        let clientVersion: Value = kmap(["gitVersion": .string(KubectlLibrary.clientVersion), "platform": .string("\(os)/\(arch)")])
        var result: [(String, Value)] = [("clientVersion", clientVersion)]
        if !clientOnly {
            let client = try o.client(inv)
            let server = try run(inv) { try await client.serverVersion() }
            result.append(("serverVersion", Value(json: server)))
        }
        var m = OrderedDictionary<String, Value>()
        for (k, v) in result { m[k] = v }
        let value = Value.map(m)
        if let format = o.output {
            switch format {
            case "yaml", "json", "compact": inv.context.output.write(try Formatter.format(value, as: format))
            case "table", "wide", "text":
                var s = "Client Version: \(KubectlLibrary.clientVersion)\n"
                if let sv = m["serverVersion"]?["gitVersion"]?.stringValue { s += "Server Version: \(sv)\n" }
                inv.context.output.write(s)
            default: throw unknownFormat(format, "yaml, json, text")
            }
        }
        return value
    }

    // MARK: config

    static func loadConfig(_ inv: Invocation, _ o: KubectlOptions) throws -> KubeConfig {
        try KubeConfig.load(environment: KubectlClients.environment(inv.context), explicitPath: o.kubeconfig)
    }

    static func currentContext(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        let config = try loadConfig(inv, o)
        guard let c = config.currentContext, !c.isEmpty else {
            throw CommandError("current-context is not set", code: "ConfigError",
                               hint: "kubectl config use-context NAME sets it; kubectl config get-contexts lists them")
        }
        if o.output != nil { inv.context.output.write(c + "\n") }
        return .string(c)
    }

    static func getContexts(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(["table", "wide", "name", "yaml", "json", "compact"])
        let only = try inv.args.optionalString(0, "the context name")
        let config = try loadConfig(inv, o)
        var rows = config.contextRows()
        if let only {
            rows = rows.filter { $0.name == only }
            if rows.isEmpty { throw CommandError("context \(only) not found", code: "NotFound", argument: .positional(0)) }
        }
        let values: [Value] = rows.map {
            kmap(["current": .bool($0.current), "name": .string($0.name), "cluster": .string($0.cluster),
                  "authInfo": .string($0.user), "namespace": .string($0.namespace)])
        }
        if let format = o.output {
            let out = inv.context.output
            switch format {
            case "table", "wide":
                let cells = rows.map { [$0.current ? "*" : "", $0.name, $0.cluster, $0.user, $0.namespace] }
                out.write(TableRenderer.render(headers: ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"], rows: cells))
            case "name": for r in rows { out.write(r.name + "\n") }
            case "yaml", "json", "compact": out.write(try Formatter.format(.list(values), as: format))
            default: throw unknownFormat(format, "table, name, yaml, json")
            }
        }
        return .list(values)
    }

    static func useContext(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        let name = try inv.args.string(0, "the context name")
        let config = try loadConfig(inv, o)
        guard config.contexts[name] != nil else {
            throw CommandError("no context exists with the name: \"\(name)\"", code: "NotFound",
                               hint: "contexts: \(config.contexts.keys.sorted().joined(separator: ", "))", argument: .positional(0))
        }
        let file = config.destinationFile ?? "~/.kube/config"
        let explain = ["kubectl config use-context \(KubeText.quote(name))" + (o.kubeconfig.map { " --kubeconfig \(KubeText.quote($0))" } ?? "")]
        let effects = Effects.of(inv.context)
        if config.currentContext == name {
            effects.unchanged(kind: "kubeconfig", name: file, detail: "current-context \(name)", explain: explain)
        } else {
            let change = Change(.update, kind: "kubeconfig", name: file, detail: "current-context \(name)",
                                before: config.currentContext.map(Value.string) ?? .null, after: .string(name), explain: explain)
            _ = try effects.write(change, planned: .string(name)) {
                try config.useContext(name)
                KubectlClients.of(inv.context).forgetCurrentContextClients(inv.context, kubeconfig: o.kubeconfig)
                return .string(name)
            }
        }
        if o.output != nil { inv.context.output.write("Switched to context \"\(name)\".\n") }
        return .string(name)
    }
}
