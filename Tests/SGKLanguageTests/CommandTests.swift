import Foundation
import Testing
@testable import SGKLanguage

/// The result of running a snippet: what it printed, and its error if it failed.
struct RunResult: Sendable {
    var output: String
    var error: String?
    var errorMessage: String?
    var elapsed: Double
}

/// Runs sgk code in a fresh session on its own thread (commands block while
/// they wait for async work, so they must not run on the cooperative pool).
func runSGK(_ code: String, environment: [String: String] = ProcessInfo.processInfo.environment,
            cancelAfter: Double? = nil) async -> RunResult {
    await withCheckedContinuation { (cont: CheckedContinuation<RunResult, Never>) in
        let thread = Thread {
            var registry = CommandRegistry()
            registry.register(CoreCommands.self)
            let out = StringSink()
            let context = CallContext(output: out, errors: StringSink(), environment: environment)
            let session = Session(registry: registry, context: context, loader: ModuleLoader(environment: [:]))
            if let cancelAfter {
                DispatchQueue.global().asyncAfter(deadline: .now() + cancelAfter) { context.cancellation.cancel() }
            }
            let start = Date()
            var result = RunResult(output: "", error: nil, errorMessage: nil, elapsed: 0)
            do {
                try session.run(SourceFile(name: "test.sgk", text: code))
            } catch let e as RuntimeError {
                result.error = e.description
                result.errorMessage = e.message
            } catch {
                result.error = "\(error)"
                result.errorMessage = "\(error)"
            }
            result.elapsed = Date().timeIntervalSince(start)
            result.output = out.text
            cont.resume(returning: result)
        }
        thread.stackSize = 1 << 26
        thread.start()
    }
}

/// `../shared/fixtures/…` beside the checkout.
func fixture(_ relative: String) -> String {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/SGKLanguageTests/CommandTests.swift → repo root
    return url.deletingLastPathComponent().appendingPathComponent("shared/fixtures").appendingPathComponent(relative).path
}

func makeTempDir() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sgk-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A quoted sgk string literal.
func lit(_ s: String) -> String { Value.quote(s) }

@Suite("annotate on the SageMaker installer")
struct AnnotateInstallerTests {
    let installer = fixture("sagemaker-operator/installer.yaml")
    let arn = "arn:aws:iam::111122223333:role/sagemaker-k8s-operator-demo"

    @Test func setsTheRoleArnOnTheOperatorServiceAccountOnly() async throws {
        let code = """
        let before = read \(lit(installer)) | yaml parse
        let after = $before | annotate kind: ServiceAccount name: sagemaker-k8s-operator-default "eks.amazonaws.com/role-arn" \(lit(arn))
        print ($after | count)
        let sa = $after | where { $it.kind == "ServiceAccount" } | first
        print ($sa | get 'metadata.annotations."eks.amazonaws.com/role-arn"')
        print $sa.metadata.namespace
        let changed = 0..(($after | count) - 1) | where { $after[$it] != $before[$it] }
        print ($changed | to-string)
        print ($after | where { $it.kind == "Deployment" } | first | get metadata.name)
        """
        let r = await runSGK(code)
        #expect(r.error == nil, "\(r.error ?? "")")
        let lines = r.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 5)
        #expect(lines.first == "18")
        #expect(lines.dropFirst().first == arn)
        #expect(lines.dropFirst(2).first == "sagemaker-k8s-operator-system")
        #expect(lines.dropFirst(3).first == "[9]")   // only the ServiceAccount (document 10) changed
    }

    @Test func emitsTheAnnotatedManifestAsDocuments() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/installer.yaml"
        let code = """
        fetch "file://\(installer)" | yaml parse
          | annotate kind: ServiceAccount name: sagemaker-k8s-operator-default "eks.amazonaws.com/role-arn" \(lit(arn))
          | write \(lit(out))
        print (read \(lit(out)) | yaml parse | count)
        """
        let r = await runSGK(code)
        #expect(r.error == nil, "\(r.error ?? "")")
        #expect(r.output == "18\n")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("eks.amazonaws.com/role-arn: \(arn)"))
        #expect(!text.contains("DELETE_ME"))
        #expect(text.components(separatedBy: "\n---\n").count == 18)
    }

    @Test func noMatchingDocumentListsTheServiceAccounts() async throws {
        let r = await runSGK("""
        read \(lit(installer)) | yaml parse | annotate kind: ServiceAccount name: wrong "k" "v"
        """)
        #expect(r.errorMessage == "annotate: no document matches kind: ServiceAccount name: wrong")
        #expect(r.error?.contains("ServiceAccount documents: sagemaker-k8s-operator-default (namespace sagemaker-k8s-operator-system)") == true)
    }

    @Test func chinaInstallerToo() async throws {
        let r = await runSGK("""
        let m = read \(lit(fixture("sagemaker-operator/installer-china.yaml"))) | yaml parse
          | annotate kind: ServiceAccount "eks.amazonaws.com/role-arn" "arn:aws-cn:iam::1:role/x"
        print ($m | where { $it.kind == "ServiceAccount" } | each { $it.metadata.annotations["eks.amazonaws.com/role-arn"] } | join ",")
        """)
        #expect(r.error == nil, "\(r.error ?? "")")
        #expect(r.output == "arn:aws-cn:iam::1:role/x\n")
    }
}

/// A loopback HTTP server in Python for fetch tests: /ok, /redirect → /ok,
/// /loop → /loop, /slow (sleeps 5s), /installer.yaml, anything else 404.
final class LocalHTTPServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    let root: String

    static let script = """
    import http.server, sys, time, os
    root = sys.argv[2]
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def send(self, code, body, headers=()):
            self.send_response(code)
            for k, v in headers: self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def do_GET(self):
            p = self.path
            if p == "/ok": return self.send(200, b"hello from loopback\\n")
            if p == "/redirect": return self.send(302, b"", [("Location", "/ok")])
            if p == "/loop": return self.send(302, b"", [("Location", "/loop")])
            if p == "/slow":
                time.sleep(5)
                return self.send(200, b"late")
            if p == "/error": return self.send(503, b"down")
            f = os.path.join(root, p.lstrip("/"))
            if p.endswith(".yaml") and os.path.isfile(f):
                return self.send(200, open(f, "rb").read())
            self.send(404, b"not found")
    http.server.ThreadingHTTPServer.daemon_threads = True
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """

    init(root: String) throws {
        self.root = root
        var chosen = 0
        for _ in 0..<20 {
            let port = Int.random(in: 20000...60000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", LocalHTTPServer.script, String(port), root]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait until it listens (or exits because the port is taken).
            var ready = false
            for _ in 0..<100 {
                if !p.isRunning { break }
                if LocalHTTPServer.canConnect(port) { ready = true; break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            if ready { chosen = port; processBox = p; break }
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        guard chosen != 0 else { throw CocoaError(.featureUnsupported) }
        port = chosen
    }
    private var processBox: Process?

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return r == 0
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func stop() {
        // SIGKILL: children of the test runner may inherit an ignored SIGTERM.
        if let p = processBox, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
    }
}

@Suite("fetch against a loopback server", .serialized)
final class FetchTests {
    let server: LocalHTTPServer
    let dir: String

    init() throws {
        dir = try makeTempDir()
        try FileManager.default.copyItem(atPath: fixture("sagemaker-operator/installer.yaml"), toPath: dir + "/installer.yaml")
        server = try LocalHTTPServer(root: dir)
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func returnsTheBody() async {
        let r = await runSGK("print (fetch \(lit(server.base + "/ok")))")
        #expect(r.error == nil, "\(r.error ?? "")")
        #expect(r.output == "hello from loopback\n\n")
    }

    @Test func followsRedirects() async {
        let r = await runSGK("print (fetch \(lit(server.base + "/redirect")) | lines | first)")
        #expect(r.error == nil, "\(r.error ?? "")")
        #expect(r.output == "hello from loopback\n")
    }

    @Test func redirectLoopIsAnError() async {
        let r = await runSGK("fetch \(lit(server.base + "/loop"))")
        #expect(r.errorMessage?.contains("too many redirects") == true, "\(r.error ?? "")")
    }

    @Test func notFoundGivesTheStatusAndAHint() async {
        let r = await runSGK("fetch \(lit(server.base + "/missing.yaml"))")
        #expect(r.errorMessage == "fetch: HTTPError: HTTP 404 Not Found from \(server.base)/missing.yaml", "\(r.error ?? "")")
        #expect(r.error?.contains("check the URL") == true)
        let caught = await runSGK("""
        try { fetch \(lit(server.base + "/error")) } catch err { print $err.status }
        """)
        #expect(caught.output == "503\n", "\(caught.error ?? "")")
    }

    @Test func timeoutIsAnError() async {
        let r = await runSGK("fetch \(lit(server.base + "/slow")) timeout: 300ms")
        #expect(r.errorMessage?.contains("timed out after 300ms") == true, "\(r.error ?? "")")
        #expect(r.elapsed < 3)
        let caught = await runSGK("try { fetch \(lit(server.base + "/slow")) timeout: 300ms } catch err { print $err.code }")
        #expect(caught.output == "Timeout\n", "\(caught.error ?? "")")
    }

    @Test func ctrlCInterruptsAFetch() async {
        let r = await runSGK("fetch \(lit(server.base + "/slow"))", cancelAfter: 0.3)
        #expect(r.errorMessage?.contains("interrupted") == true, "\(r.error ?? "")")
        #expect(r.elapsed < 3)
    }

    @Test func theContractPipeline() async {
        let r = await runSGK("""
        let installer = \(lit(server.base + "/installer.yaml"))
        let manifest = fetch $installer | yaml parse
            | annotate kind: ServiceAccount name: sagemaker-k8s-operator-default "eks.amazonaws.com/role-arn" "arn:aws:iam::1:role/r"
        print ($manifest | count)
        print ($manifest | where { $it.kind == "ServiceAccount" } | first | get 'metadata.annotations."eks.amazonaws.com/role-arn"')
        """)
        #expect(r.error == nil, "\(r.error ?? "")")
        #expect(r.output == "18\narn:aws:iam::1:role/r\n")
    }

    @Test func severalFetchesShareOneClient() async {
        let r = await runSGK("""
        let a = fetch \(lit(server.base + "/ok"))
        let b = fetch \(lit(server.base + "/ok"))
        print ($a == $b)
        """)
        #expect(r.output == "true\n", "\(r.error ?? "")")
    }
}

@Suite("fetch without a server")
struct FetchOfflineTests {
    // Loopback only: a port nothing listens on (a host name would ask a DNS server).
    @Test func unreachableServerNamesTheHostAndSuggestsALocalFile() async {
        let r = await runSGK("fetch \"http://127.0.0.1:1/installer.yaml\" timeout: 10s")
        #expect(r.error != nil)
        #expect(r.errorMessage?.contains("127.0.0.1") == true, "\(r.error ?? "")")
        #expect(r.error?.contains("local path") == true, "\(r.error ?? "")")
        let caught = await runSGK("try { fetch \"http://127.0.0.1:1/x\" } catch err { print $err.code }")
        #expect(caught.output == "ConnectionError\n", "\(caught.error ?? "")")
    }
}

@Suite("sh")
struct ShTests {
    @Test func capturesStdoutStderrAndCode() async {
        let r = await runSGK("""
        let r = sh sh "-c" "echo out; echo err >&2; exit 3"
        print ($r | to-string)
        """)
        #expect(r.output == "{\"stdout\":\"out\\n\",\"stderr\":\"err\\n\",\"code\":3}\n", "\(r.error ?? "")")
    }

    @Test func checkPutsStderrInTheMessage() async {
        let r = await runSGK("sh sh \"-c\" \"echo bad thing >&2; exit 2\" check: true")
        #expect(r.errorMessage == "sh: CommandFailed: 'sh -c echo bad thing >&2; exit 2' exited with code 2: bad thing", "\(r.error ?? "")")
        let caught = await runSGK("""
        try { sh sh "-c" "echo partial; exit 4" check: true } catch err { print $err.exit_code $err.stdout }
        """)
        #expect(caught.output == "4 partial\n\n", "\(caught.error ?? "")")
    }

    @Test func pipedInputGoesToStdin() async {
        let r = await runSGK("print ({a: 1} | json emit compact: true | sh cat | get stdout)")
        #expect(r.output == "{\"a\":1}\n")
    }

    @Test func largeOutputDoesNotDeadlock() async {
        let r = await runSGK("""
        let big = (sh sh "-c" "head -c 1000000 /dev/zero | tr '\\\\0' x").stdout
        print ($big | count)
        """)
        #expect(r.output == "1000000\n", "\(r.error ?? "")")
    }

    @Test func cwdAndEnv() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = await runSGK("""
        print (sh pwd cwd: \(lit(dir))).stdout
        print (sh sh "-c" "echo $SGK_X" env: {SGK_X: "42"}).stdout
        """)
        let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: dir)) ?? dir
        #expect(r.output.hasPrefix(real) || r.output.hasPrefix(dir), "\(r.output) \(r.error ?? "")")
        #expect(r.output.hasSuffix("42\n\n"))
    }

    @Test func usesThePATHOfTheRun() async {
        let r = await runSGK("sh ls", environment: ["PATH": "/nonexistent"])
        #expect(r.errorMessage == "sh: program 'ls' not found on PATH", "\(r.error ?? "")")
    }

    @Test func ctrlCStopsTheProgram() async {
        let r = await runSGK("sh sleep 10", cancelAfter: 0.3)
        #expect(r.errorMessage?.contains("interrupted") == true, "\(r.error ?? "")")
        #expect(r.elapsed < 5)
    }

    @Test func aProgramThatIgnoresStdinDoesNotKillUs() async {
        let r = await runSGK("""
        let big = 1..200000 | each { "line" } | join "\\n"
        print (sh true input: $big).code
        """)
        #expect(r.output == "0\n", "\(r.error ?? "")")
    }
}

@Suite("sleep")
struct SleepTests {
    @Test func sleepsAndCanBeInterrupted() async {
        let short = await runSGK("sleep 50ms")
        #expect(short.error == nil && short.elapsed >= 0.05)
        let r = await runSGK("sleep 10s", cancelAfter: 0.2)
        #expect(r.errorMessage?.contains("interrupted") == true, "\(r.error ?? "")")
        #expect(r.elapsed < 3)
    }
}

@Suite("files")
struct FileTests {
    @Test func writeCreatesAndReplaces() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = dir + "/a.txt"
        let r = await runSGK("""
        write \(lit(p)) "one"
        write \(lit(p)) "two"
        "three" | write \(lit(p)) append: true
        print (read \(lit(p)))
        """)
        #expect(r.output == "twothree\n", "\(r.error ?? "")")
    }

    @Test func tildeIsHome() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "hi".write(toFile: dir + "/f.txt", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = dir
        let r = await runSGK("print (read \"~/f.txt\")", environment: env)
        #expect(r.output == "hi\n", "\(r.error ?? "")")
    }

    @Test(.enabled(if: getuid() != 0, "root may read and write anything"))
    func permissionDenied() async throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = dir + "/secret.txt"
        try "x".write(toFile: p, atomically: true, encoding: .utf8)
        chmod(p, 0)
        let r = await runSGK("read \(lit(p))")
        #expect(r.errorMessage == "read: permission denied reading '\(p)'")
        let w = await runSGK("write \(lit(p)) \"y\"")
        #expect(w.errorMessage == "write: permission denied writing '\(p)'")
    }

    @Test func errorsPointAtTheArgument() async {
        let r = await runSGK("let x = 1\nread \"/nonexistent-sgk/x.yaml\"")
        #expect(r.error?.hasPrefix("test.sgk:2:6: error: read: no such file '/nonexistent-sgk/x.yaml'") == true, "\(r.error ?? "")")
    }
}

@Suite("help")
struct HelpTests {
    @Test func overviewGroupsByFirstWord() async {
        let r = await runSGK("help")
        #expect(r.error == nil)
        #expect(r.output.hasPrefix("Commands (help COMMAND shows its usage):\n"))
        #expect(r.output.contains("\nyaml:\n  yaml emit "))
        #expect(r.output.contains("\njson:\n  json emit "))
        for name in ["get", "set", "where", "each", "count", "first", "last", "sort", "keys", "values", "split", "join",
                     "replace", "lines", "contains", "read", "write", "fetch", "sh", "annotate", "sleep", "assert", "help", "print", "env"] {
            #expect(r.output.contains("\n  \(name) "), "\(name) missing from help")
        }
    }

    @Test func everyCoreCommandIsDocumented() {
        for c in CoreCommands.commands {
            let s = c.signature
            #expect(!s.summary.isEmpty, "\(s.name) has no summary")
            #expect(s.example != nil, "\(s.name) has no example")
            for p in s.positionals { #expect(!p.summary.isEmpty, "\(s.name) \(p.name) has no summary") }
            for k in s.keywords { #expect(!k.summary.isEmpty, "\(s.name) \(k.name): has no summary") }
        }
    }

    @Test func commandNamesAreUnique() {
        let names = CoreCommands.commands.map(\.signature.name)
        #expect(Set(names).count == names.count)
    }
}

@Suite("paths")
struct PathTests {
    @Test func parsesTextPaths() throws {
        let p = try ValuePath.parse(#"metadata.annotations."eks.amazonaws.com/role-arn""#, argument: .input)
        #expect(p.segments == [.key("metadata"), .key("annotations"), .key("eks.amazonaws.com/role-arn")])
        let q = try ValuePath.parse("spec.containers[-1].ports[0]", argument: .input)
        #expect(q.segments == [.key("spec"), .key("containers"), .index(-1), .key("ports"), .index(0)])
        #expect(try ValuePath.parse(".a", argument: .input).segments == [.key("a")])
        #expect(q.description == "spec.containers[-1].ports[0]")
        #expect(p.description == #"metadata.annotations."eks.amazonaws.com/role-arn""#)
    }

    @Test func rejectsBadPaths() {
        for bad in ["a..b", "a.", "a[x]", "a[1", #"a."b"#, #"a["b]"#, "a[0]b"] {
            #expect(throws: CommandError.self, "\(bad)") { try ValuePath.parse(bad, argument: .input) }
        }
    }
}

@Suite("data commands at scale")
struct ScaleTests {
    @Test func largeListsStayFast() async {
        let r = await runSGK("""
        let l = 1..200000 | each { {n: 200000 - $it, s: "x${$it}"} }
        let sorted = $l | sort by: n
        print ($sorted | first | get n)
        print ($l | where { $it.n % 2 == 0 } | count)
        print ($l | each { $it.s } | unique | count)
        let m = $l | first 1000 | each { $it | set meta.k 1 } | count
        print $m
        """)
        #expect(r.output == "0\n100000\n200000\n1000\n", "\(r.error ?? "")")
        #expect(r.elapsed < 30)
    }
}

/// `sgk <command> [arguments ...]`: each shell argument is one value, never code.
@Suite struct ShellWordsTests {
    @Test func argumentsNeverBecomeCode() async throws {
        let dir = try makeTempDir()
        let marker = dir + "/pwned"
        let hostile = [
            "-o=json; sh touch \(marker)", "y: 1; sh touch \(marker); print z:", "$(touch \(marker))",
            "a\nsh touch \(marker)", "${sh touch \(marker)}", "x\" ; sh touch \(marker) ; \"",
        ]
        for h in hostile {
            let source = ShellWords.source(["print", "x", h])
            _ = await runSGK(source)
            #expect(!FileManager.default.fileExists(atPath: marker), "ran code from \(h.debugDescription): \(source)")
        }
    }

    @Test func plainWordsFlagsAndKeywordsPassAsWritten() async {
        #expect(ShellWords.source(["eks", "token", "demo", "region:", "us-west-2"]) == "eks token demo region: us-west-2")
        #expect(ShellWords.source(["kubectl", "get", "pods", "-n", "kube-system", "--output=json"]) == "kubectl get pods -n kube-system --output=json")
        #expect(ShellWords.source(["print", "-5", "a b", "$HOME"]) == "print -5 \"a b\" \"\\$HOME\"")
        #expect(ShellWords.source(["print", "--x=a b"]) == "print --x \"a b\"")
        let r = await runSGK(ShellWords.source(["print", "a b", "$HOME", "it's \"quoted\""]))
        #expect(r.output == "a b $HOME it's \"quoted\"\n")
    }
}
