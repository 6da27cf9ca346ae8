import Foundation
import OrderedCollections
import SGKData
import SGKLanguage
import Testing
@testable import SGKPrimitives

/// The local kube-apiserver peers the project's test runner starts (`tools/kube-peer.sh`).
enum KubectlPeer {
    static let kubeconfig = ProcessInfo.processInfo.environment["SGK_TEST_KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    static let kubeconfigNoV1beta1 = ProcessInfo.processInfo.environment["SGK_TEST_KUBECONFIG_NO_V1BETA1"].flatMap { $0.isEmpty ? nil : $0 }
    static var enabled: Bool { kubeconfig != nil }
    static var noV1beta1Enabled: Bool { kubeconfigNoV1beta1 != nil }

    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.lowercased().prefix(8))" }

    static func token(besides kubeconfig: String) throws -> String {
        let p = ((kubeconfig as NSString).deletingLastPathComponent as NSString).appendingPathComponent("token")
        return try String(contentsOfFile: p, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs the real kubectl (a cross-check): exit status and stdout (stderr separately).
    static func kubectl(_ kubeconfig: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        p.arguments = ["--kubeconfig", kubeconfig] + args
        var env = ProcessInfo.processInfo.environment
        env["KUBECONFIG"] = nil
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Marks the pods of a selector Running and Ready (the peer has no kubelet). Returns how many.
    static func readyPods(_ kubeconfig: String, namespace: String, selector: String) throws -> Int {
        let (st, out, _) = try kubectl(kubeconfig, ["-n", namespace, "get", "pods", "-l", selector, "-o", "name"])
        guard st == 0 else { return 0 }
        let pods = out.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        let now = ISO8601DateFormatter().string(from: Date())
        let patch = """
        {"status":{"phase":"Running","podIP":"127.0.0.1","hostIP":"127.0.0.1","startTime":"\(now)",\
        "conditions":[{"type":"Ready","status":"True","lastTransitionTime":"\(now)"},\
        {"type":"ContainersReady","status":"True","lastTransitionTime":"\(now)"},\
        {"type":"Initialized","status":"True","lastTransitionTime":"\(now)"},\
        {"type":"PodScheduled","status":"True","lastTransitionTime":"\(now)"}]}}
        """
        for p in pods {
            _ = try kubectl(kubeconfig, ["-n", namespace, "patch", p, "--subresource=status", "--type=merge", "-p", patch])
        }
        return pods.count
    }
}

/// Fixtures in `shared/fixtures/sagemaker-operator`, beside the checkout.
enum KubectlFixtures {
    static let directory: String = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures/sagemaker-operator").path
    }()

    static var installerPath: String { (directory as NSString).appendingPathComponent("installer.yaml") }

    static func documents(_ path: String) throws -> [JSON] {
        try YAMLCodec.parseDocuments(String(contentsOfFile: path, encoding: .utf8)).filter {
            if case .null = $0 { return false }; return true
        }
    }

    /// The real installer with its namespace and cluster-wide RBAC names made unique to one test
    /// (CRDs are left as they are: they are shared by every test of the peer and identical).
    static func isolatedInstaller(suffix: String) throws -> (text: String, namespace: String) {
        let namespace = "sgk-kprim-\(suffix)"
        var text = try String(contentsOfFile: installerPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "sagemaker-k8s-operator-system", with: namespace)
        for role in ["sagemaker-k8s-operator-manager-role", "sagemaker-k8s-operator-proxy-role"] {
            text = text.replacingOccurrences(of: "name: \(role)\n", with: "name: \(role)-\(suffix)\n")
        }
        for binding in ["sagemaker-k8s-operator-manager-rolebinding", "sagemaker-k8s-operator-proxy-rolebinding"] {
            text = text.replacingOccurrences(of: "name: \(binding)\n", with: "name: \(binding)-\(suffix)\n")
        }
        return (text, namespace)
    }
}

/// A temporary directory removed at deinit.
final class KubectlTempDir: @unchecked Sendable {
    let path: String
    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("sgk-kprim-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let p = (path as NSString).appendingPathComponent(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
}

/// Test-only `where` and `count`, for registries whose core library lacks them.
enum KubectlTestDataCommands: CommandLibrary {
    static var commands: [NativeCommand] {
        [
            NativeCommand(CommandSignature("where", positionals: [.init("predicate", "a block")], input: .none, summary: "filter")) { inv in
                guard let list = inv.args.input?.listValue, let block = inv.args.positional(0) else { throw CommandError("where needs a list and a block") }
                return .list(try list.filter { try inv.call(block, [$0]).isTruthy })
            },
            NativeCommand(CommandSignature("count", input: .none, summary: "count")) { inv in
                .int(inv.args.input?.listValue?.count ?? 0)
            },
        ]
    }
}

/// A value that crosses from the session's thread back to the test.
final class Outcome: @unchecked Sendable {
    var value: Value?
    var error: (any Error)?
}

/// An sgk session with the kubectl library, its output and errors captured.
final class SGKRun: @unchecked Sendable {
    let out = StringSink()
    let err = StringSink()
    let session: Session
    let temp: KubectlTempDir

    init(kubeconfig: String?, dryRun: Bool = false, explain: Bool = false, environment extra: [String: String] = [:]) throws {
        temp = try KubectlTempDir()
        var registry = CommandRegistry()
        registry.register(CoreCommands.self)
        Primitives.register(into: &registry)
        if registry.command("where") == nil || registry.command("count") == nil { registry.register(KubectlTestDataCommands.self) }
        var options = RunOptions()
        options.dryRun = dryRun
        options.explain = explain
        options.journalPath = (temp.path as NSString).appendingPathComponent("journal.jsonl")
        var env = ["HOME": temp.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        if let kubeconfig { env["KUBECONFIG"] = kubeconfig }
        for (k, v) in extra { env[k] = v }
        let context = CallContext(output: out, errors: err, environment: env, options: options)
        session = Session(registry: registry, context: context, loader: ModuleLoader(searchPaths: [], environment: [:]))
    }

    /// Evaluates code on a large-stack thread of its own (never blocking the test's executor).
    func run(_ code: String) async throws -> Value {
        let outcome = Outcome()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let t = Thread {
                Session.onLargeStack {
                    do { outcome.value = try self.session.evaluate(SourceFile(name: "test.sgk", text: code)) ?? .null } catch { outcome.error = error }
                }
                c.resume()
            }
            t.start()
        }
        if let e = outcome.error { throw e }
        return outcome.value ?? .null
    }

    /// The error text a failing snippet reports (as the CLI prints it).
    func failure(_ code: String) async -> String? {
        do {
            _ = try await run(code)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Runs `body` in a new namespace; deletes the namespace and closes the run afterwards,
    /// also when `body` throws.
    func inNewNamespace(_ ns: String, _ body: () async throws -> Void) async throws {
        _ = try await run("kubectl apply {apiVersion: \"v1\", kind: \"Namespace\", metadata: {name: \"\(ns)\"}}")
        do {
            try await body()
        } catch {
            _ = try? await run("kubectl delete namespace \(ns) --wait=false")
            await close()
            throw error
        }
        _ = try await run("kubectl delete namespace \(ns) --wait=false")
        await close()
    }

    func close() async {
        let context = session.context
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let t = Thread { context.shutdown(); c.resume() }
            t.start()
        }
    }

    var journal: String { (try? String(contentsOfFile: (temp.path as NSString).appendingPathComponent("journal.jsonl"), encoding: .utf8)) ?? "" }
}

extension Value {
    subscript(path: String...) -> Value? {
        var v: Value? = self
        for p in path { v = v?[p] }
        return v
    }
}

/// The same tree with every object's keys sorted (kubectl prints keys sorted; sgk keeps the server's order).
func sortedKeys(_ j: JSON?) -> JSON? {
    guard let j else { return nil }
    switch j {
    case .object(let o):
        var out = OrderedDictionary<String, JSON>()
        for k in o.keys.sorted() { out[k] = sortedKeys(o[k]) }
        return .object(out)
    case .array(let a): return .array(a.compactMap { sortedKeys($0) })
    default: return j
    }
}
