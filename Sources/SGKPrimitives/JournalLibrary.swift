import Foundation
import SGKData
import SGKKubernetes
import SGKLanguage

/// `journal …`: reads the journal of performed writes that the Effects seam keeps,
/// so that an uninstall removes exactly what an install created.
public enum JournalLibrary: CommandLibrary {
    typealias Sig = CommandSignature

    public static var commands: [NativeCommand] { [entries, created, path, status, dryRun] }

    static let filters: [Sig.Keyword] = [
        .init("kind", flags: ["--kind"], "only entries of this kind (role, oidc-provider, policy, role-policy-attachment, a Kubernetes kind)"),
        .init("name", flags: ["--name"], "only entries with this name (a role name, an ARN, NAMESPACE/NAME)"),
        .init("detail", flags: ["--detail"], "only entries with this detail (for role-policy-attachment: the policy ARN)"),
        .init("action", flags: ["--action"], "only create, update or delete entries"),
    ]

    /// Every entry of the journal file, oldest first (unreadable lines are skipped); with `name`,
    /// at least those of that name (only lines that contain it are parsed: a journal that has grown
    /// large over many runs is not parsed whole to answer a question about one resource).
    static func read(_ context: CallContext, name: String? = nil) throws -> [Value] {
        let file = Journal.path(context)
        guard FileManager.default.fileExists(atPath: file) else { return [] }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandError("cannot read the journal at \(file)", code: "JournalUnreadable", hint: "check the file's permissions")
        }
        var out: [Value?] = []
        var started: [String: Int] = [:]
        for line in lines(data, containing: name.map { JSONCodec.serialize(.string($0)) }) {
            guard let j = try? JSONCodec.parse(line), case .map(var e) = Value(json: j) else { continue }
            // A write is journaled when it starts and when it ends: one entry per write, in the
            // order they started; `interrupted` when its run ended before it did.
            guard case .string(let id)? = e["id"], case .string(let status)? = e["status"] else {
                out.append(.map(e))  // an entry written before entries had ids: a finished write
                continue
            }
            switch status {
            case "started":
                e["status"] = .string("interrupted")
                started[id] = out.count
                out.append(.map(e))
            case "done":
                guard let i = started[id], case .map(var first)? = out[i] else { out.append(.map(e)); continue }
                first["status"] = .string("done")
                first["time"] = e["time"]
                if let action = e["action"] { first["action"] = action }  // a create that met an object made meanwhile: update
                if let arn = e["arn"] { first["arn"] = arn }
                if let uid = e["uid"] { first["uid"] = uid }
                out[i] = .map(first)
            case "failed", "unchanged":
                if let i = started[id] { out[i] = nil }
            default:
                out.append(.map(e))
            }
        }
        return out.compactMap { $0 }
    }

    /// The lines of `data`; with a needle, only the lines that contain it.
    static func lines(_ data: Data, containing needle: String?) -> [String] {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [String] in
            let bytes = raw.bindMemory(to: UInt8.self)
            func line(around i: Int) -> (text: String, end: Int) {
                var start = i
                while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
                let end = ByteSearch.firstIndex(of: "\n", in: bytes, from: i) ?? bytes.count
                return (String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self), end)
            }
            var out: [String] = []
            var i = 0
            while i < bytes.count {
                let at: Int
                if let needle, !needle.isEmpty {
                    guard let hit = ByteSearch.firstIndex(of: needle, in: bytes, from: i) else { break }
                    at = hit
                } else {
                    at = i
                }
                let l = line(around: at)
                if !l.text.isEmpty { out.append(l.text) }
                i = l.end + 1
            }
            return out
        }
    }

    static func filtered(_ inv: Invocation, kind: String?, name: String?) throws -> [Value] {
        let detail = try inv.args.string(keyword: "detail")
        let action = try inv.args.string(keyword: "action")
        if let action, !["create", "update", "delete"].contains(action) {
            throw CommandError("action: must be create, update or delete, not \(action)", argument: .keyword("action"))
        }
        return try read(inv.context, name: name).filter { e in
            (kind == nil || e["kind"]?.stringValue == kind) && (name == nil || e["name"]?.stringValue == name)
                && (detail == nil || e["detail"]?.stringValue == detail) && (action == nil || e["action"]?.stringValue == action)
        }
    }

    static let entries = NativeCommand(Sig("journal entries", keywords: filters,
                                           summary: "The journal's entries (writes, in the order they started): [{time, id, status, action, kind, name, detail, cluster, arn, before, after}]; status done, or interrupted when the run ended before the write's answer; cluster: a Kubernetes object's API server URL as the run spelled it; clusterID: the cluster as its server identifies it (its kube-system namespace's UID), which ownership is decided by.",
                                           example: "journal entries kind: role name: sagemaker-k8s-operator-demo")) { inv in
        .list(try filtered(inv, kind: try inv.args.string(keyword: "kind"), name: try inv.args.string(keyword: "name")))
    }

    static let created = NativeCommand(Sig("journal created", positionals: [.init("kind", "the resource kind: role, oidc-provider, policy, role-policy-attachment, …"),
                                                                            .init("name", "its name as journaled: a role name, an ARN, NAMESPACE/NAME")],
                                           keywords: [.init("detail", flags: ["--detail"], "for role-policy-attachment: the policy ARN"),
                                                      .init("arn", flags: ["--arn"], "the resource's ARN now: an entry that recorded another ARN (another account) does not count"),
                                                      .init("id", flags: ["--id"], "the resource's unique id now (a role's RoleId): an entry that recorded another id (a role deleted and made again by hand) does not count"),
                                                      .init("cluster", flags: ["--cluster"], "for a Kubernetes object: the cluster's id (its kube-system namespace's UID) or, for entries that have none, the API server URL (default: the context's); an entry made in another cluster does not count"),
                                                      .init("context", flags: ["--context"], "the kubeconfig context whose API server that is (default: the current one)"),
                                                      .init("kubeconfig", flags: ["--kubeconfig"], "the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")],
                                           summary: "Whether sgk created this resource (or started to, in a run that was interrupted) and has not deleted it since, according to the journal (true or false).",
                                           example: "if (journal created role $role_name) { role delete $role_name }")) { inv in
        let kind = try inv.args.string(0, "the kind")
        let name = try inv.args.string(1, "the name")
        let arn = try inv.args.string(keyword: "arn")
        // A Kubernetes object's entries name its cluster: only those of this cluster count. A
        // cluster is known by what its server says it is (the kube-system namespace's UID), which does
        // not depend on how the server's URL is spelled; entries without it (older journals) compare
        // by URL. A context asked for must exist; the current one is looked up only when an entry
        // names a cluster (no kubeconfig: no cluster is this one).
        let o = try KubectlOptions(inv.args)
        let given = try inv.args.string(keyword: "cluster")
        // This cluster's client (nil: no kubeconfig), its server and (read only when an entry has
        // one to compare with) its id.
        var here: KubeClient??
        var hereID: String??
        if given == nil, o.context != nil || o.kubeconfig != nil { here = .some(try o.client(inv)) }
        func trimmed(_ s: String?) -> String? { s.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } }  // https://x and https://x/ are one server
        func inThisCluster(_ entry: Value) -> Bool {
            let id = entry["clusterID"]?.stringValue, server = trimmed(entry["cluster"]?.stringValue)
            if let given { return given == id || trimmed(given) == server }
            if here == nil { here = .some(try? o.client(inv)) }
            guard let client = here ?? nil else { return false }
            if let id {
                if hereID == nil { hereID = .some(KubectlCommands.clusterID(inv, client)) }
                if let mine = hereID ?? nil { return id == mine }
            }
            return server != nil && trimmed(client.target.cluster.server) == server
        }
        let entries = try filtered(inv, kind: kind, name: name).filter {
            guard $0["cluster"] != nil || $0["clusterID"] != nil else { return true }
            return inThisCluster($0)
        }
        // An interrupted delete may not have happened: the create before it still counts.
        let last = entries.last {
            let action = $0["action"]?.stringValue
            return action != "update" && !(action == "delete" && $0["status"]?.stringValue == "interrupted")
        }
        guard let last, last["action"]?.stringValue == "create" else { return .bool(false) }
        if let arn, let recorded = last["arn"]?.stringValue, recorded != arn { return .bool(false) }
        if let id = try inv.args.string(keyword: "id"), let recorded = last["uid"]?.stringValue, recorded != id { return .bool(false) }
        return .bool(true)
    }

    static let path = NativeCommand(Sig("journal path", summary: "The journal file's path (--journal FILE, else $SGK_JOURNAL, else $XDG_STATE_HOME/sgk/journal/journal.jsonl).",
                                        example: "journal path")) { inv in
        .string(Journal.path(inv.context))
    }

    static let status = NativeCommand(Sig("journal status", summary: "The journal file: {path, exists, entries, unreadable} (entries: lines read; unreadable: lines that are not journal entries).",
                                          example: "let j = journal status; if not $j.exists { print \"warning: no journal at ${j.path}\" }")) { inv in
        let file = Journal.path(inv.context)
        guard FileManager.default.fileExists(atPath: file) else {
            return .ordered([("path", .string(file)), ("exists", .bool(false)), ("entries", .int(0)), ("unreadable", .int(0))])
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandError("cannot read the journal at \(file)", code: "JournalUnreadable", hint: "check the file's permissions")
        }
        var good = 0, bad = 0
        for line in lines(data, containing: nil) {
            if let j = try? JSONCodec.parse(line), j["kind"] != nil, j["action"] != nil { good += 1 } else { bad += 1 }
        }
        return .ordered([("path", .string(file)), ("exists", .bool(true)), ("entries", .int(good)), ("unreadable", .int(bad))])
    }

    static let dryRun = NativeCommand(Sig("effects dry-run", summary: "Whether this run only plans its writes (--dry-run, or :dry-run on in the REPL).",
                                          example: "print ((effects dry-run) and \"would remove\" or \"removed\")")) { inv in
        .bool(Effects.of(inv.context).isDryRun)
    }
}
