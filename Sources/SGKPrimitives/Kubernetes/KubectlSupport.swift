import Foundation
import Logging
import OrderedCollections
import SGKData
import SGKKubernetes
import SGKLanguage

// MARK: - Clients

/// The run's Kubernetes clients: one per (kubeconfig, context), made on first use from the
/// run's environment (so scripts and tests control `KUBECONFIG`), shut down at the end of the run.
final class KubectlClients: @unchecked Sendable {
    private let lock = NSLock()
    private var clients: [String: KubeClient] = [:]
    private var registeredShutdown = false
    /// Targets made in-process for this run (an EKS cluster reached from DescribeCluster, no
    /// kubeconfig): their names are used as contexts (`--context NAME`).
    private var inProcess: [String: KubeTarget] = [:]

    /// Makes `target` reachable as the context `target.contextName` for the rest of the run.
    func register(_ target: KubeTarget) {
        lock.lock(); defer { lock.unlock() }
        inProcess[target.contextName] = target
    }

    static func of(_ context: CallContext) -> KubectlClients {
        context.service(KubectlClients.self) { KubectlClients() }
    }

    static func environment(_ context: CallContext) -> KubeEnvironment {
        let vars = context.environment
        let home = vars["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return KubeEnvironment(variables: vars, homeDirectory: home)
    }

    /// The client's logger: its notices (CRD conversions) are printed by the commands, so it only
    /// speaks up for warnings unless the run is verbose.
    static func clientLogger(_ context: CallContext) -> Logger {
        var l = context.logger
        if !context.options.verbose, l.logLevel < .warning { l.logLevel = .warning }
        return l
    }

    func client(_ context: CallContext, kubeconfig: String?, contextName: String?) throws -> KubeClient {
        let key = (kubeconfig ?? "") + "\u{0}" + (contextName ?? "")
        lock.lock()
        defer { lock.unlock() }
        if let c = clients[key] { return c }
        let c: KubeClient
        if let name = contextName, let target = inProcess[name] {
            c = try KubeClient(target: target, options: KubeClientOptions(environment: KubectlClients.environment(context),
                                                                          execTokenProvider: KubectlLibrary.execTokenProvider),
                               logger: KubectlClients.clientLogger(context))
        } else {
            c = try KubeClient.fromEnvironment(KubectlClients.environment(context), kubeconfig: kubeconfig, context: contextName,
                                               execTokenProvider: KubectlLibrary.execTokenProvider,
                                               logger: KubectlClients.clientLogger(context))
        }
        // The server's warnings (deprecated APIs …), once each, as kubectl prints them.
        let errors = context.errors
        c.onWarning { text in errors.write("Warning: \(text)\n"); errors.flush() }
        clients[key] = c
        if !registeredShutdown {
            registeredShutdown = true
            context.onShutdown { [self] in await self.shutdownAll() }
        }
        return c
    }

    /// Forgets the clients that follow the current context of `kubeconfig` (after `use-context`).
    func forgetCurrentContextClients(_ context: CallContext, kubeconfig: String?) {
        let key = (kubeconfig ?? "") + "\u{0}"
        lock.lock()
        let c = clients.removeValue(forKey: key)
        lock.unlock()
        if let c { _ = try? context.wait { await c.shutdown() } }
    }

    func shutdownAll() async {
        for c in takeAll() { await c.shutdown() }
    }

    private func takeAll() -> [KubeClient] {
        lock.lock()
        defer { lock.unlock() }
        let all = Array(clients.values)
        clients = [:]
        return all
    }
}

/// A lock-protected box for the exec-token hook.
final class HookBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ExecTokenProvider?
    func get() -> ExecTokenProvider? { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: ExecTokenProvider?) { lock.lock(); value = v; lock.unlock() }
}

// MARK: - Errors

extension KubeError: UserFacingError {
    public var errorCode: String? {
        switch self {
        case .api(let code, let st, _, _, _):
            if let r = st?.reason, !r.isEmpty { return r }
            return KubeError.reasonForHTTP(code)
        case .transport: return "ConnectionError"
        case .config: return "ConfigError"
        case .execPlugin: return "ExecPluginError"
        case .unknownResource: return "UnknownResource"
        case .invalidObject: return "Invalid"
        case .timeout: return "Timeout"
        case .applyFailed(let failures, _): return failures.first?.error.errorCode ?? "ApplyFailed"
        case .other: return nil
        }
    }

    public var errorMessage: String {
        switch self {
        case .api(let code, let st, let req, let ctx, let body):
            var m: String
            if code == 401 {
                m = "the server rejected the credentials of context \(ctx ?? "?") (HTTP 401 on \(req.verb) \(req.path))"
            } else if let sm = st?.message, !sm.isEmpty {
                // About a Secret the server may quote the whole object, stored values included.
                m = req.path.contains("/secrets") ? Redaction.secretQuotes(sm) : sm
            } else if let b = body, !b.isEmpty {
                m = "HTTP \(code) on \(req.verb) \(req.path): \(b.prefix(300))"
            } else {
                m = "HTTP \(code) on \(req.verb) \(req.path)"
            }
            if let st, code == 422, !st.causes.isEmpty, !(st.message ?? "").contains(st.causes.first?.message ?? "\u{0}") {
                let causes = st.causes.map { "\($0.field ?? "?"): \($0.message ?? $0.reason ?? "")" }.joined(separator: "; ")
                m += " [" + (req.path.contains("/secrets") ? Redaction.secretQuotes(causes) : causes) + "]"
            }
            return Redaction.redact(m)
        case .applyFailed(let failures, let results):
            let each = failures.map { f -> String in
                let code = f.error.errorCode.map { "\($0): " } ?? ""
                return "\(f.object): \(code)\(f.error.errorMessage)"
            }
            return Redaction.redact("\(failures.count) object(s) failed (\(results.count) applied): " + each.joined(separator: "; "))
        case .timeout(let m): return m
        default:
            return description
        }
    }

    public var errorHint: String? {
        if case .applyFailed(let failures, _) = self { return failures.first?.error.hint }
        if case .unknownResource = self { return "kubectl api-resources lists the resource types the server knows" }
        return hint
    }

    public var errorData: [String: Value] {
        var d: [String: Value] = [:]
        if let s = httpStatus { d["status"] = .int(s) }
        return d
    }

    static func reasonForHTTP(_ code: Int) -> String {
        switch code {
        case 400: return "BadRequest"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 405: return "MethodNotAllowed"
        case 409: return "Conflict"
        case 410: return "Expired"
        case 415: return "UnsupportedMediaType"
        case 422: return "Invalid"
        case 429: return "TooManyRequests"
        case 500: return "InternalError"
        case 503: return "ServiceUnavailable"
        case 504: return "Timeout"
        default: return "HTTP\(code)"
        }
    }
}

// MARK: - Manifests

/// Manifests given as values, files, directories, URLs or YAML text.
enum Manifests {
    /// The documents of `value`, and the name kubectl's `-f` would show (`-` for a value).
    static func documents(_ value: Value, context: CallContext) throws -> (docs: [JSON], source: String) {
        switch value {
        case .string(let s):
            if s.contains("\n") { return (try parse(s, name: "-"), "-") }
            return (try read(s, context: context), s)
        case .map:
            return ([value.json], "-")
        case .list(let items):
            var docs: [JSON] = []
            var sources: [String] = []
            for item in items {
                let (d, src) = try documents(item, context: context)
                docs += d
                if !sources.contains(src) { sources.append(src) }
            }
            return (docs, sources.isEmpty ? "-" : sources.joined(separator: " -f "))
        case .null:
            throw CommandError("no manifest given", hint: "pass a file, a URL, a map or a list of maps: kubectl apply -f installer.yaml")
        default:
            throw CommandError("a manifest must be a file name, URL, map or list of maps, not \(value.typeName)")
        }
    }

    /// `-f` and what follows it in an `--explain` line: the files and URLs the documents came from,
    /// or, when any came from a value, `-f -` with every document after it as a shell here-document,
    /// so that the line runs as it is. `shown` gives each document as it is to be shown; without
    /// `inline` (nothing is explained) the documents are left out.
    static func explainArguments(_ docs: [JSON], source: String, inline: Bool, shown: (JSON) throws -> JSON) rethrows -> String {
        let sources = source.components(separatedBy: " -f ")
        guard sources.contains("-") else {
            return " -f " + sources.map { KubeText.quote($0) }.joined(separator: " -f ")
        }
        guard inline else { return " -f -" }
        let yaml = YAMLCodec.emitDocuments(try docs.map(shown))
        let lines = Set(yaml.split(separator: "\n").map(String.init))
        var tag = "EOF"
        var n = 1
        while lines.contains(tag) { n += 1; tag = "EOF\(n)" }
        return " -f - <<'\(tag)'\n" + yaml + tag
    }

    /// An object's identity only (`kubectl delete -f` needs no more).
    static func identity(_ doc: JSON) -> JSON {
        var meta = OrderedDictionary<String, JSON>()
        meta["name"] = doc.at("metadata", "name") ?? .null
        if let ns = doc.at("metadata", "namespace") { meta["namespace"] = ns }
        var o = OrderedDictionary<String, JSON>()
        o["apiVersion"] = doc["apiVersion"] ?? .null
        o["kind"] = doc["kind"] ?? .null
        o["metadata"] = .object(meta)
        return .object(o)
    }

    static func parse(_ text: String, name: String) throws -> [JSON] {
        let docs: [JSON]
        do {
            docs = try YAMLCodec.parseDocuments(text)
        } catch {
            // `file:line:col:` as compilers say it, so that editors jump there.
            throw CommandError("\(name):\(error.line):\(error.column): \(error.format) error: \(error.message)", code: "ParseError")
        }
        return docs.filter {
            switch $0 {
            case .null: return false
            case .object(let o): return !o.isEmpty
            default: return true
            }
        }
    }

    /// The objects of a kustomization directory (`-k DIR`), rendered natively as `kubectl kustomize DIR`.
    static func kustomize(_ location: String, context: CallContext) throws -> [JSON] {
        var path = location
        if path.hasPrefix("~/") { path = (context.environment["HOME"] ?? NSHomeDirectory()) + path.dropFirst(1) }
        let lower = location.lowercased()
        if RemoteKustomization.isRemote(location) {
            path = try RemoteKustomization.materialize(location, context: context)
        } else if lower.hasPrefix("git@") || lower.hasPrefix("github.com/") || lower.hasPrefix("ssh://") {
            throw CommandError("sgk does not run git: \(location)", hint: "give an https URL (https://github.com/OWNER/REPO//PATH?ref=TAG) or clone the tree and pass its directory")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CommandError("the path \"\(location)\" does not exist", code: "NotFound")
        }
        guard isDir.boolValue else {
            throw CommandError("\(location) is not a directory: -k (kubectl kustomize) takes a kustomization directory", hint: "use -f for a manifest file")
        }
        do {
            return try Kustomize.render(directory: path, environment: context.environment)
        } catch {
            throw CommandError(error.message, code: "KustomizeError",
                               hint: "sgk supports the kustomization fields \(Kustomize.supportedFields.joined(separator: ", "))")
        }
    }

    /// The documents of `-f` (the positional or input) or `-k`, and the `--explain` arguments' source;
    /// `kustomizeDir` is set for `-k`.
    static func documentsOrKustomize(_ manifest: Value?, kustomize: String?, context: CallContext) throws -> (docs: [JSON], source: String, kustomizeDir: String?)? {
        if let kustomize {
            if manifest != nil { throw CommandError("only one of -f or -k can be specified", argument: .keyword("kustomize")) }
            return (try Manifests.kustomize(kustomize, context: context), kustomize, kustomize)
        }
        guard let manifest else { return nil }
        let (d, s) = try documents(manifest, context: context)
        return (d, s, nil)
    }

    static func read(_ location: String, context: CallContext) throws -> [JSON] {
        let lower = location.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            return try parse(IOCommands.fetchText(location, timeout: 60, context: context), name: location)
        }
        var path = location
        if lower.hasPrefix("file://") { path = String(location.dropFirst("file://".count)) }
        if path.hasPrefix("~/") {
            path = (context.environment["HOME"] ?? NSHomeDirectory()) + path.dropFirst(1)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CommandError("the path \"\(location)\" does not exist", code: "NotFound")
        }
        if isDir.boolValue {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
            var docs: [JSON] = []
            for n in names { docs += try read((path as NSString).appendingPathComponent(n), context: context) }
            return docs
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandError("cannot read \(location)")
        }
        return try parse(String(decoding: data, as: UTF8.self), name: location)
    }
}

// MARK: - Helpers

/// A map value with keys in the order given.
func kmap(_ pairs: KeyValuePairs<String, Value>) -> Value { Value.map(pairs) }

enum KubeText {
    /// `-o name` text of a resource and object name.
    static func kindLower(_ kind: String) -> String { kind.lowercased() }

    /// kubectl's `List` wrapper for `-o yaml|json` of several objects.
    static func list(_ items: [JSON]) -> JSON {
        var o = OrderedDictionary<String, JSON>()
        o["apiVersion"] = .string("v1")
        o["items"] = .array(items)
        o["kind"] = .string("List")
        o["metadata"] = .object(["resourceVersion": .string("")])
        return .object(o)
    }

    static func quote(_ s: String) -> String {
        if !s.isEmpty, s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@,+%".contains($0) }) { return s }
        return "'" + s.replacingAll("'", with: "'\\''") + "'"
    }
}
