import Foundation
import Testing
@testable import SGKLanguage

/// Runs every `.sgk` file under `behaviour/` as a script and checks it against
/// its `# expect: …` lines (stdout, in order) and `# expect error: …` line
/// (the run fails with that text on that line). `# param: name=value` lines
/// pass script parameters (a name given on several lines is a repeated flag).
struct BehaviourCase: CustomTestStringConvertible, Sendable {
    let path: String
    let relative: String
    var testDescription: String { relative }
}

enum Behaviour {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("behaviour")
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var cases: [BehaviourCase] {
        guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var out: [BehaviourCase] = []
        for case let url as URL in e where url.pathExtension == "sgk" && !url.path.contains("/lib/") {
            out.append(BehaviourCase(path: url.path, relative: String(url.path.dropFirst(root.path.count + 1))))
        }
        return out.sorted { $0.relative < $1.relative }
    }

    struct Expectations {
        var output: [String] = []
        var error: (text: String, line: Int?)?
        var params: [String: [String]] = [:]
        var env: [String: String] = [:]
    }

    static func expectations(_ text: String) -> Expectations {
        var x = Expectations()
        // Lines as the language reads them: "\r\n" is one Character, so split on the bytes.
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0.last == 13 ? $0.dropLast() : $0, as: UTF8.self) }
        for (i, raw) in lines.enumerated() {
            let line = String(raw)
            guard let hash = line.range(of: "# expect") ?? line.range(of: "# param:") ?? line.range(of: "# env:") else { continue }
            let comment = String(line[hash.lowerBound...])
            let codeBefore = !line[..<hash.lowerBound].trimmingCharacters(in: .whitespaces).isEmpty
            if comment.hasPrefix("# expect: ") {
                x.output.append(String(comment.dropFirst("# expect: ".count)))
            } else if comment == "# expect:" {
                x.output.append("")
            } else if comment.hasPrefix("# expect error: ") {
                x.error = (String(comment.dropFirst("# expect error: ".count)), codeBefore ? i + 1 : nil)
            } else if comment.hasPrefix("# param: ") {
                let kv = comment.dropFirst("# param: ".count)
                if let eq = kv.firstIndex(of: "=") { x.params[String(kv[..<eq]), default: []].append(String(kv[kv.index(after: eq)...])) }
            } else if comment.hasPrefix("# env: ") {
                let kv = comment.dropFirst("# env: ".count)
                if let eq = kv.firstIndex(of: "=") { x.env[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]) }
            }
        }
        return x
    }

    /// Runs a script file; returns (stdout, error text or nil, error line or nil).
    static func run(path: String, params: [String: [String]], env: [String: String]) async -> (String, String?, Int?) {
        var registry = CommandRegistry()
        registry.register(CoreCommands.self)
        let out = StringSink(), err = StringSink()
        var environment = ["HOME": NSTemporaryDirectory(), "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        for (k, v) in env { environment[k] = v }
        let context = CallContext(output: out, errors: err, environment: environment)
        let dir = (path as NSString).deletingLastPathComponent
        let loader = ModuleLoader(searchPaths: [dir + "/lib", repoRoot.appendingPathComponent("stdlib").path], environment: [:])
        let session = Session(registry: registry, context: context, loader: loader)
        guard let data = FileManager.default.contents(atPath: path) else { return ("", "cannot read \(path)", nil) }
        let file = SourceFile(name: path, bytes: Array(data))
        let box = SessionRef(session)
        return await Session.onLargeStackAsync {
            let session = box.session
            defer { session.context.shutdown() }
            do {
                try session.run(file, repeatedArguments: params)
                return (out.text, nil, nil)
            } catch let d as DiagnosticList {
                let first = d.diagnostics.first
                return (out.text, d.description, first?.location?.line)
            } catch let d as Diagnostic {
                return (out.text, d.description, d.location?.line)
            } catch let r as RuntimeError {
                return (out.text, r.description, r.file.map { $0.location(of: r.range.start).line })
            } catch {
                return (out.text, "\(error)", nil)
            }
        }
    }
}

@Suite struct BehaviourTests {
    @Test("behaviour", arguments: Behaviour.cases)
    func behaviour(_ c: BehaviourCase) async throws {
        let text = try String(contentsOfFile: c.path, encoding: .utf8)
        let x = Behaviour.expectations(text)
        let (out, error, line) = await Behaviour.run(path: c.path, params: x.params, env: x.env)
        var lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        #expect(lines == x.output, "stdout of \(c.relative)")
        if let (want, wantLine) = x.error {
            guard let error else {
                Issue.record("\(c.relative): expected an error containing '\(want)', but the run succeeded")
                return
            }
            let firstLine = error.split(separator: "\n").first.map(String.init) ?? error
            #expect(firstLine.contains(want), "\(c.relative): error was:\n\(error)")
            if let wantLine { #expect(line == wantLine, "\(c.relative): error on line \(line ?? -1), expected \(wantLine):\n\(error)") }
        } else if let error {
            Issue.record("\(c.relative): unexpected error:\n\(error)")
        }
    }

    @Test func thereAreEnoughCases() {
        #expect(Behaviour.cases.count >= 150)
    }
}

final class SessionRef: @unchecked Sendable {
    let session: Session
    init(_ s: Session) { session = s }
}
