import Foundation
import SGKLanguage
@testable import SGKPrimitives

/// Runs sgk code with every command library, capturing output, as the CLI does.
final class Harness: @unchecked Sendable {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    let out = StringSink()
    let err = StringSink()
    let session: Session

    init(environment extra: [String: String] = [:], dryRun: Bool = false, explain: Bool = false) {
        var registry = CommandRegistry()
        registry.register(CoreCommands.self)
        Primitives.register(into: &registry)
        var env = ProcessInfo.processInfo.environment
        if let e = env["SGK_TEST_AWS_ENDPOINT"] { env["AWS_ENDPOINT_URL"] = e }
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        for (k, v) in extra { env[k] = v }
        var options = RunOptions()
        options.dryRun = dryRun
        options.explain = explain
        options.journalPath = NSTemporaryDirectory() + "sgk-test-journal-\(UUID().uuidString).jsonl"
        let context = CallContext(output: out, errors: err, environment: env, options: options)
        let loader = ModuleLoader(searchPaths: [Harness.repoRoot.appendingPathComponent("stdlib").path], environment: [:])
        session = Session(registry: registry, context: context, loader: loader)
    }

    /// Evaluates code; returns its value or throws the sgk error.
    @discardableResult
    func run(_ code: String) async throws -> Value? {
        let s = SessionBox(session)
        let r: Result<Value?, any Error> = await Session.onLargeStackAsync {
            do { return .success(try s.session.evaluate(SourceFile(name: "test.sgk", text: code))) } catch { return .failure(error) }
        }
        return try r.get()
    }

    /// Evaluates code that must fail; returns the rendered error.
    func failure(_ code: String) async -> String {
        do {
            _ = try await run(code)
            return ""
        } catch let e as RuntimeError {
            return e.render(color: false)
        } catch let d as DiagnosticList {
            return d.description
        } catch {
            return "\(error)"
        }
    }

    func close() async {
        let c = SessionBox(session)
        await Session.onLargeStackAsync { c.session.context.shutdown() }
        if let journal = session.context.options.journalPath { try? FileManager.default.removeItem(atPath: journal) }
    }
}

/// Runs a program and returns its stdout (for cross-checks with the real `aws` and `kubectl`).
func runProcess(_ args: [String], environment: [String: String]? = nil) throws -> (String, Int32) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    var env = environment ?? ProcessInfo.processInfo.environment
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    if let e = env["SGK_TEST_AWS_ENDPOINT"] { env["AWS_ENDPOINT_URL"] = e }
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), p.terminationStatus)
}

final class SessionBox: @unchecked Sendable {
    let session: Session
    init(_ s: Session) { session = s }
}

let awsPeer = ProcessInfo.processInfo.environment["SGK_TEST_AWS_ENDPOINT"] != nil
