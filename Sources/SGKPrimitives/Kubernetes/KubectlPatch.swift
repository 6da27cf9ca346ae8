import Foundation
import OrderedCollections
import SGKData
import SGKKubernetes
import SGKLanguage

extension KubectlCommands {
    // MARK: patch

    static let patchTypes: [String: String] = [
        "merge": "application/merge-patch+json",
        "strategic": "application/strategic-merge-patch+json",
        "json": "application/json-patch+json",
    ]

    /// The object without the fields a no-op patch may still change.
    static func comparable(_ j: JSON) -> JSON {
        guard case .object(var o) = j, case .object(var meta)? = o["metadata"] else { return j }
        for k in ["managedFields", "resourceVersion", "generation"] { meta[k] = nil }
        o["metadata"] = .object(meta)
        return .object(o)
    }

    /// `kubectl patch TYPE NAME -p PATCH [--type merge|strategic|json]`: the patch is first made as
    /// a server dry run; when it would change nothing the object is reported unchanged and no write
    /// is made (so re-running converges), otherwise it goes through Effects as an update.
    /// A patch of a Secret as `--explain` shows it: the values under `data` and `stringData` (and
    /// those a JSON patch writes there) replaced by `<redacted>`.
    static func redactedSecretPatch(_ patch: JSON) -> JSON {
        switch patch {
        case .object(var o):
            redactSecretValues(&o)
            return .object(o)
        case .array(let ops):
            return .array(ops.map { op in
                guard case .object(var o) = op, let path = o["path"]?.stringValue,
                      path.hasPrefix("/data") || path.hasPrefix("/stringData"), o["value"] != nil else { return op }
                if case .object(let values)? = o["value"] {
                    o["value"] = .object(values.mapValues { _ in .string("<redacted>") })
                } else {
                    o["value"] = .string("<redacted>")
                }
                return .object(o)
            })
        default:
            return patch
        }
    }

    static func patch(_ inv: Invocation) throws -> Value {
        try withCallDryRun(inv) { try patchNow(inv) }
    }

    static func patchNow(_ inv: Invocation) throws -> Value {
        let o = try KubectlOptions(inv.args)
        try o.requireOutput(["name", "yaml", "json"])
        let (resName, nameOpt) = try splitTarget(inv, "the resource type")
        guard let name = nameOpt else { throw CommandError("give the name of the object to patch (TYPE NAME or TYPE/NAME)", argument: .positional(0)) }
        let typeName = try inv.args.string(keyword: "type") ?? "strategic"
        guard let contentType = patchTypes[typeName] else {
            throw CommandError("--type must be merge, strategic or json, not \(typeName)", argument: .keyword("type"))
        }
        guard let patchArg = inv.args.keyword("patch") ?? inv.args.input else {
            throw CommandError("no patch given", hint: "kubectl patch TYPE NAME -p '{\"metadata\":{\"finalizers\":null}}' --type merge, or patch: {metadata: {finalizers: null}}",
                               argument: .keyword("patch"))
        }
        let patchJSON: JSON
        switch patchArg {
        case .string(let text):
            do { patchJSON = try JSONCodec.parse(text) } catch {
                do { patchJSON = try YAMLCodec.parse(text) } catch {
                    throw CommandError("the patch is neither JSON nor YAML: \(error)", code: "ParseError", argument: .keyword("patch"))
                }
            }
        case .map, .list: patchJSON = patchArg.json
        default: throw CommandError("the patch must be a map, a list (json patch) or JSON text, not \(patchArg.aTypeName)", argument: .keyword("patch"))
        }
        if typeName == "json", case .array = patchJSON {} else if typeName == "json" {
            throw CommandError("a json patch is a list of operations, e.g. [{op: \"remove\", path: \"/metadata/finalizers\"}]", argument: .keyword("patch"))
        }
        let client = try o.client(inv)
        let namespace = o.namespace
        let (r, before) = try run(inv) { () async throws -> (APIResource, JSON) in
            let r = try await client.resolveResource(resName)
            let ns = r.namespaced ? (namespace ?? client.defaultNamespace) : nil
            return (r, try await client.get(r, name: name, namespace: ns))
        }
        let ns = r.namespaced ? (namespace ?? client.defaultNamespace) : nil
        let id = ns.map { "\($0)/\(name)" } ?? name
        // A Secret's values are not shown (the journal does not keep them either).
        let patchText = JSONCodec.serialize(r.kind == "Secret" ? redactedSecretPatch(patchJSON) : patchJSON, pretty: false)
        let explain = ["kubectl patch \(r.qualifiedName) \(KubeText.quote(name))\(o.explainFlags(namespace: false))\(ns.map { " -n \(KubeText.quote($0))" } ?? "") --type \(typeName) -p \(KubeText.quote(patchText))"]
        let preview = try run(inv) {
            try await client.patch(r, name: name, namespace: ns, patch: patchJSON, contentType: contentType, query: [("dryRun", "All"), ("fieldManager", KubectlCommands.patchFieldManager)])
        }
        let effects = Effects.of(inv.context)
        let resourceName = r.nameOutput(name)
        if comparable(preview) == comparable(before) {
            effects.unchanged(kind: r.kind, name: id, detail: "patch", explain: explain)
            if o.output == "name" { inv.context.output.write("\(resourceName) patched (no change)\n") }
            return Value(json: stripManaged(before))
        }
        let change = Change(.update, kind: r.kind, name: id, detail: "patch", before: Value(json: KubectlCommands.forJournal(before)),
                            after: Value(json: KubectlCommands.forJournal(preview)), explain: explain, cluster: client.target.cluster.server,
                            clusterID: effects.isDryRun ? nil : KubectlCommands.clusterID(inv, client))
        let result = try effects.write(change, planned: Value(json: stripManaged(preview))) {
            Value(json: stripManaged(try run(inv) {
                try await client.patch(r, name: name, namespace: ns, patch: patchJSON, contentType: contentType, query: [("fieldManager", KubectlCommands.patchFieldManager)])
            }))
        }
        switch o.output {
        case nil: break
        case "name": inv.context.output.write("\(resourceName) patched\(effects.isDryRun ? " (server dry run)" : "")\n")
        case "yaml": inv.context.output.write(YAMLCodec.emit(result.json))
        case "json": inv.context.output.write(JSONCodec.serialize(result.json, pretty: true) + "\n")
        case let f?: throw unknownFormat(f, "name, yaml, json")
        }
        return result
    }
}
