import Foundation
import Logging
import SGKData

/// What `kubectl wait --for=…` waits for.
public enum WaitCondition: Sendable, Hashable, CustomStringConvertible {
    /// `condition=Ready` (status `True`) or `condition=Ready=False`.
    case condition(type: String, status: String)
    /// `delete`: until the object is gone.
    case deleted
    /// `create`: until the object exists (kubectl 1.31's `--for=create`).
    case created
    /// `jsonpath={.status.phase}=Running`; a nil value waits until the path exists.
    case jsonPath(path: String, value: String?)

    /// Parses kubectl's `--for` syntax: `condition=X`, `condition=X=false`, `delete`, `jsonpath={…}=V`.
    public static func parse(_ text: String) throws -> WaitCondition {
        if text == "delete" { return .deleted }
        if text == "create" { return .created }
        if text.lowercased().hasPrefix("condition=") {
            let rest = text.dropFirst("condition=".count)
            let parts = rest.split(separator: "=", maxSplits: 1).map(String.init)
            guard let type = parts.first, !type.isEmpty else { throw KubeError.other("--for condition=… needs a condition name") }
            let status = parts.count > 1 ? (parts[1].lowercased() == "true" ? "True" : parts[1].lowercased() == "false" ? "False" : parts[1]) : "True"
            return .condition(type: type, status: status)
        }
        if text.lowercased().hasPrefix("jsonpath=") {
            let rest = String(text.dropFirst("jsonpath=".count))
            if rest.hasPrefix("{"), let close = rest.firstIndex(of: "}") {
                let path = String(rest[...close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix("=") { return .jsonPath(path: path, value: String(after.dropFirst())) }
                if after.isEmpty { return .jsonPath(path: path, value: nil) }
            }
            throw KubeError.other("--for jsonpath must look like jsonpath={.status.phase}=Running")
        }
        throw KubeError.other("unrecognized condition \"\(text)\" (use condition=X, delete, create or jsonpath={…}=V)")
    }

    public var description: String {
        switch self {
        case .condition(let t, let s): return s == "True" ? "condition=\(t)" : "condition=\(t)=\(s)"
        case .deleted: return "delete"
        case .created: return "create"
        case .jsonPath(let p, let v): return v.map { "jsonpath=\(p)=\($0)" } ?? "jsonpath=\(p)"
        }
    }

    /// Whether an object (nil when absent) satisfies the condition, and a description of its state.
    public func check(_ object: JSON?) -> (met: Bool, state: String) {
        switch self {
        case .deleted:
            guard let object else { return (true, "deleted") }
            // Being deleted but held: say by what, since that is what to act on.
            if object.at("metadata", "deletionTimestamp") != nil {
                let f = (object.at("metadata", "finalizers")?.arrayValue ?? []).compactMap(\.stringValue)
                return (false, f.isEmpty ? "being deleted" : "being deleted, held by finalizers \(f.joined(separator: ", "))")
            }
            return (false, "exists")
        case .created:
            return object == nil ? (false, "not found") : (true, "exists")
        case .condition(let type, let status):
            guard let object else { return (false, "not found") }
            let conds = object.at("status", "conditions")?.arrayValue ?? []
            guard let c = conds.first(where: { $0["type"]?.stringValue?.lowercased() == type.lowercased() }) else {
                return (false, "condition \(type) not reported")
            }
            let s = c["status"]?.stringValue ?? ""
            return (s.lowercased() == status.lowercased(), "condition \(type)=\(s)")
        case .jsonPath(let path, let value):
            guard let object else { return (false, "not found") }
            let found = (try? JSONPath.evaluate(path, on: object)) ?? []
            guard let first = found.first else { return (false, "\(path) absent") }
            let text = found.map(JSONPath.text).joined(separator: " ")
            _ = first
            // A Secret's values are compared, never shown (progress lines, the timeout's last state).
            let shown = object["kind"]?.stringValue == "Secret" ? "\(path) (a Secret's value, not shown)" : "\(path)=\(text)"
            guard let value else { return (true, shown) }
            return (text == value, shown)
        }
    }
}

/// A small JSONPath evaluator for kubectl-style templates: `{.a.b[0].c}`, `{.items[*].metadata.name}`,
/// `{.status.conditions[?(@.type=="Ready")].status}`, `{.metadata.labels['app\.kubernetes\.io/name']}`.
public enum JSONPath {
    enum Step: Equatable { case key(String), index(Int), all, filter(key: [String], op: String, value: String) }

    /// Evaluates a path (with or without braces) and returns the matches.
    public static func evaluate(_ template: String, on root: JSON) throws -> [JSON] {
        var p = template.trimmingCharacters(in: .whitespaces)
        if p.hasPrefix("{") && p.hasSuffix("}") { p = String(p.dropFirst().dropLast()) }
        let steps = try parse(p)
        var current: [JSON] = [root]
        for s in steps {
            var next: [JSON] = []
            for v in current {
                switch s {
                case .key(let k): if let x = v[k] { next.append(x) }
                case .index(let i):
                    if let a = v.arrayValue {
                        let idx = i < 0 ? a.count + i : i
                        if a.indices.contains(idx) { next.append(a[idx]) }
                    }
                case .all:
                    if let a = v.arrayValue { next += a } else if let o = v.objectValue { next += Array(o.values) }
                case .filter(let key, let op, let value):
                    for e in v.arrayValue ?? [] {
                        var x: JSON? = e
                        for k in key { x = x?[k] }
                        let t = x.map(text)
                        switch op {
                        case "==": if t == value { next.append(e) }
                        case "!=": if let t, t != value { next.append(e) }
                        default: if x != nil { next.append(e) }
                        }
                    }
                }
            }
            current = next
        }
        return current
    }

    /// kubectl's `-o jsonpath=` template: text, `{path}` actions (several matches joined by a
    /// space), quoted literals (`{"\n"}`), and `{range path}…{end}` (paths inside start at each item).
    public static func render(_ template: String, on root: JSON) throws -> String {
        enum Node { case text(String), path(String), range(String, [Node]) }
        let chars = Array(template)
        var i = 0
        func bad(_ why: String) -> KubeError { KubeError.other("jsonpath \(template): \(why)") }
        // Parses nodes up to `{end}` (when inside a range) or the end.
        func parseNodes(inRange: Bool) throws -> [Node] {
            var nodes: [Node] = []
            var text = ""
            while i < chars.count {
                let c = chars[i]
                if c != "{" { text.append(c); i += 1; continue }
                if !text.isEmpty { nodes.append(.text(text)); text = "" }
                // An action: up to the matching `}` (quotes may hold braces).
                var j = i + 1
                var quote: Character?
                while j < chars.count {
                    let d = chars[j]
                    if let q = quote { if d == "\\" { j += 2; continue }; if d == q { quote = nil } }
                    else if d == "\"" || d == "'" { quote = d }
                    else if d == "}" { break }
                    j += 1
                }
                guard j < chars.count else { throw bad("unclosed action (a '{' without its '}')") }
                let action = String(chars[(i + 1)..<j]).trimmingCharacters(in: .whitespaces)
                i = j + 1
                if action == "end" {
                    guard inRange else { throw bad("{end} without {range}") }
                    return nodes
                }
                if action.hasPrefix("range ") {
                    let path = String(action.dropFirst(6)).trimmingCharacters(in: .whitespaces)
                    nodes.append(.range(path, try parseNodes(inRange: true)))
                    continue
                }
                if action.count >= 2, let f = action.first, f == "\"" || f == "'", action.last == f {
                    var lit = ""
                    var k = action.index(after: action.startIndex)
                    let end = action.index(before: action.endIndex)
                    while k < end {
                        let ch = action[k]
                        if ch == "\\", action.index(after: k) < end {
                            k = action.index(after: k)
                            switch action[k] { case "n": lit.append("\n"); case "t": lit.append("\t"); case "r": lit.append("\r"); default: lit.append(action[k]) }
                        } else { lit.append(ch) }
                        k = action.index(after: k)
                    }
                    nodes.append(.text(lit))
                    continue
                }
                guard !action.isEmpty else { throw bad("an empty action {}") }
                nodes.append(.path(action))
            }
            if inRange { throw bad("{range} without {end}") }
            if !text.isEmpty { nodes.append(.text(text)) }
            return nodes
        }
        let nodes = try parseNodes(inRange: false)
        func run(_ nodes: [Node], _ current: JSON) throws -> String {
            var out = ""
            for n in nodes {
                switch n {
                case .text(let t): out += t
                case .path(let p):
                    let base = p.hasPrefix("$") ? root : current
                    out += try evaluate(p, on: base).map(text).joined(separator: " ")
                case .range(let p, let body):
                    let base = p.hasPrefix("$") ? root : current
                    for item in try evaluate(p, on: base) { out += try run(body, item) }
                }
            }
            return out
        }
        return try run(nodes, root)
    }

    /// A value as kubectl's jsonpath prints it (strings bare, others as JSON).
    public static func text(_ v: JSON) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .null: return ""
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        default: return JSONCodec.serialize(v, pretty: false)
        }
    }

    static func parse(_ p: String) throws -> [Step] {
        var steps: [Step] = []
        let chars = Array(p)
        var i = 0
        func bad() -> KubeError { KubeError.other("unsupported JSONPath \(p)") }
        while i < chars.count {
            let c = chars[i]
            if c == "." {
                i += 1
                var key = ""
                while i < chars.count, chars[i] != ".", chars[i] != "[" {
                    if chars[i] == "\\", i + 1 < chars.count { key.append(chars[i + 1]); i += 2; continue }
                    key.append(chars[i]); i += 1
                }
                if !key.isEmpty { steps.append(key == "*" ? .all : .key(key)) }
            } else if c == "[" {
                guard let close = chars[i...].firstIndex(of: "]") else { throw bad() }
                let inner = String(chars[(i + 1)..<close]).trimmingCharacters(in: .whitespaces)
                i = close + 1
                if inner == "*" {
                    steps.append(.all)
                } else if let n = Int(inner) {
                    steps.append(.index(n))
                } else if (inner.hasPrefix("'") && inner.hasSuffix("'")) || (inner.hasPrefix("\"") && inner.hasSuffix("\"")), inner.count >= 2 {
                    steps.append(.key(String(inner.dropFirst().dropLast()).replacingAll("\\.", with: ".")))
                } else if inner.hasPrefix("?(") && inner.hasSuffix(")") {
                    let expr = String(inner.dropFirst(2).dropLast())
                    var op = "exists"
                    var lhs = expr
                    var rhs = ""
                    for o in ["==", "!="] {
                        if let r = expr.firstRange(of: o) {
                            op = o
                            lhs = String(expr[..<r.lowerBound]).trimmingCharacters(in: .whitespaces)
                            rhs = String(expr[r.upperBound...]).trimmingCharacters(in: .whitespaces)
                            break
                        }
                    }
                    guard lhs.hasPrefix("@.") else { throw bad() }
                    if rhs.count >= 2, (rhs.hasPrefix("\"") && rhs.hasSuffix("\"")) || (rhs.hasPrefix("'") && rhs.hasSuffix("'")) {
                        rhs = String(rhs.dropFirst().dropLast())
                    }
                    steps.append(.filter(key: lhs.dropFirst(2).split(separator: ".").map(String.init), op: op, value: rhs))
                } else {
                    throw bad()
                }
            } else if c == "$" || c == "@" {
                i += 1
            } else {
                // A bare leading key (`status.phase`).
                var key = ""
                while i < chars.count, chars[i] != ".", chars[i] != "[" { key.append(chars[i]); i += 1 }
                steps.append(.key(key))
            }
        }
        return steps
    }
}

final class Locked<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
}

extension KubeClient {
    /// `kubectl wait --for=CONDITION RESOURCE/NAME --timeout=T`: watch-based (re-lists and re-watches when
    /// the watch expires). Returns the object when the condition holds (nil for `.deleted`).
    /// As kubectl's, a condition or jsonpath wait on an object that does not exist is a NotFound
    /// error at once (`.created` waits for it). `progress` receives state changes as one-line messages.
    @discardableResult
    public func wait(_ resource: APIResource, name: String, namespace: String? = nil, for condition: WaitCondition,
                     timeout: TimeInterval, progress: (@Sendable (String) -> Void)? = nil) async throws -> JSON? {
        let mustExist: Bool
        switch condition {
        case .condition, .jsonPath: mustExist = true
        case .deleted, .created: mustExist = false
        }
        return try await waitUntil(resource, name: name, namespace: namespace, timeout: timeout, mustExist: mustExist, progress: progress) { obj in
            let (met, state) = condition.check(obj)
            return (met, "\(resource.kind) \(name): \(state)")
        }
    }

    /// `kubectl wait -l SELECTOR --for=…`: waits for every object matching the selector (concurrently,
    /// within one overall timeout). Throws when nothing matches, except for `.deleted`.
    @discardableResult
    public func wait(_ resource: APIResource, labelSelector: String, namespace: String? = nil, for condition: WaitCondition,
                     timeout: TimeInterval, progress: (@Sendable (String) -> Void)? = nil) async throws -> [JSON] {
        let items = try await list(resource, namespace: namespace, labelSelector: labelSelector)
        if items.isEmpty {
            if condition == .deleted { return [] }
            throw KubeError.other("no matching resources found for \(resource.qualifiedName) -l \(labelSelector)")
        }
        let names = items.compactMap { $0.at("metadata", "name")?.stringValue }
        let ns = effectiveNamespace(resource, namespace)
        return try await withThrowingTaskGroup(of: JSON?.self) { g in
            for n in names {
                g.addTask {
                    try await self.wait(resource, name: n, namespace: ns, for: condition, timeout: timeout, progress: progress)
                }
            }
            var out: [JSON] = []
            for try await r in g { if let r { out.append(r) } }
            return out
        }
    }

    /// Watches one object until `check` says done (it may throw to abort), bounded by `timeout`.
    /// `check` receives nil when the object does not exist; with `mustExist`, an object absent at the
    /// start is a NotFound error instead.
    public func waitUntil(_ resource: APIResource, name: String, namespace: String? = nil, timeout: TimeInterval,
                          mustExist: Bool = false, progress: (@Sendable (String) -> Void)? = nil,
                          check: @escaping @Sendable (JSON?) throws -> (done: Bool, message: String)) async throws -> JSON? {
        let ns = effectiveNamespace(resource, namespace)
        let deadline = Date().addingTimeInterval(timeout)
        let lastMessage = Locked<String>("")
        let result = Locked<JSON?>(nil)
        let done = Locked<Bool>(false)
        @Sendable func observe(_ obj: JSON?) throws -> Bool {
            let (ok, msg) = try check(obj)
            if msg != lastMessage.get() {
                lastMessage.set(msg)
                progress?(msg)
            }
            if ok { result.set(obj); done.set(true) }
            return ok
        }
        let selector = "metadata.name=\(name)"
        var first = true
        // A watch (or a re-list) that fails on the way — a connection reset mid-stream, a 5xx, a
        // 429 — does not end the wait: it is listed and watched again from the new resourceVersion
        // (a poll, at worst), with a growing pause, until the deadline.
        var failures = 0
        var lastFailure: KubeError?
        func pauseAfter(_ e: KubeError) async throws {
            failures += 1
            lastFailure = e
            let pause = min(0.25 * pow(2, Double(min(failures, 8) - 1)), 5, max(0, deadline.timeIntervalSinceNow))
            logger.debug("watch of \(resource.kind) \(name) failed (\(e)); listing and watching again in \(String(format: "%.2f", pause)) s")
            try await Task.sleep(nanoseconds: UInt64(pause * 1e9))
        }
        while true {
            let items: [JSON]
            let rv: String
            do {
                (items, rv) = try await listWithVersion(resource, namespace: ns, allNamespaces: ns == nil, fieldSelector: selector)
            } catch let e as KubeError where !first && KubeClient.isPassingWatchFailure(e) {
                try await pauseAfter(e)
                if deadline.timeIntervalSinceNow <= 0 { break }
                continue
            }
            if first, mustExist, items.isEmpty { throw KubeError.notFound(resource, name: name, namespace: ns, context: target.contextName) }
            first = false
            if try observe(items.first) { return result.get() }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { break }
            let watchSeconds = Int(min(remaining, 290).rounded(.up))
            var expired = false
            do {
                try await watch(resource.collectionPath(namespace: ns),
                                query: [("fieldSelector", selector), ("resourceVersion", rv),
                                        ("timeoutSeconds", String(max(1, watchSeconds))), ("allowWatchBookmarks", "true")],
                                timeout: .milliseconds(Int64(remaining * 1000) + 50)) { ev in
                    switch ev.type {
                    case "ADDED", "MODIFIED": return try !observe(ev.object)
                    case "DELETED": return try !observe(nil)
                    case "ERROR": return false
                    default: return true
                    }
                }
            } catch let e as KubeError where e.httpStatus == 410 {
                expired = true
            } catch let e as KubeError where KubeClient.isPassingWatchFailure(e) {
                try await pauseAfter(e)
            }
            _ = expired
            if done.get() { return result.get() }
            if deadline.timeIntervalSinceNow <= 0 { break }
        }
        let state = lastMessage.get()
        let failed = lastFailure.map { "; the watch failed \(failures) time(s), last: \($0)" } ?? ""
        throw KubeError.timeout("waited \(Int(timeout)) s for \(resource.kind) \(ns.map { "\($0)/" } ?? "")\(name)\(state.isEmpty ? "" : " (last state: \(state))")\(failed)")
    }

    /// A failure of a watch or re-list that a later one may not meet: the connection (reset,
    /// closed, refused while the server restarts), a 5xx or a 429.
    static func isPassingWatchFailure(_ e: KubeError) -> Bool {
        if case .transport = e { return true }
        guard let status = e.httpStatus else { return false }
        return status == 429 || status >= 500
    }

    /// `kubectl rollout status deployment/NAME`: waits until the Deployment's rollout is complete
    /// (observedGeneration, updatedReplicas, availableReplicas), reporting kubectl's messages to `progress`.
    /// Returns the final message (`deployment "x" successfully rolled out`).
    @discardableResult
    public func rolloutStatus(deployment name: String, namespace: String? = nil, timeout: TimeInterval,
                              progress: (@Sendable (String) -> Void)? = nil) async throws -> String {
        let r = try await resource(kind: "Deployment", apiVersion: "apps/v1")
        let obj = try await waitUntil(r, name: name, namespace: namespace, timeout: timeout, progress: progress) { obj in
            guard let obj else { throw KubeError.other("deployments.apps \"\(name)\" not found") }
            return try KubeClient.deploymentRolloutState(obj)
        }
        return (try obj.map(KubeClient.deploymentRolloutState)?.message) ?? "deployment \"\(name)\" successfully rolled out"
    }

    /// kubectl's DeploymentStatusViewer: (done, message); throws when the progress deadline was exceeded.
    public static func deploymentRolloutState(_ d: JSON) throws -> (done: Bool, message: String) {
        let name = d.at("metadata", "name")?.stringValue ?? ""
        let generation = d.at("metadata", "generation")?.intValue ?? 0
        let observed = d.at("status", "observedGeneration")?.intValue ?? 0
        guard generation <= observed else {
            return (false, "Waiting for deployment spec update to be observed...")
        }
        let conds = d.at("status", "conditions")?.arrayValue ?? []
        if let p = conds.first(where: { $0["type"]?.stringValue == "Progressing" }),
           p["reason"]?.stringValue == "ProgressDeadlineExceeded" {
            throw KubeError.other("deployment \"\(name)\" exceeded its progress deadline")
        }
        let specReplicas = d.at("spec", "replicas")?.intValue ?? 1
        let updated = d.at("status", "updatedReplicas")?.intValue ?? 0
        let replicas = d.at("status", "replicas")?.intValue ?? 0
        let available = d.at("status", "availableReplicas")?.intValue ?? 0
        if updated < specReplicas {
            return (false, "Waiting for deployment \"\(name)\" rollout to finish: \(updated) out of \(specReplicas) new replicas have been updated...")
        }
        if replicas > updated {
            return (false, "Waiting for deployment \"\(name)\" rollout to finish: \(replicas - updated) old replicas are pending termination...")
        }
        if available < updated {
            return (false, "Waiting for deployment \"\(name)\" rollout to finish: \(available) of \(updated) updated replicas are available...")
        }
        return (true, "deployment \"\(name)\" successfully rolled out")
    }
}
