import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SGKData
import Synchronization
import Testing
@testable import SGKKubernetes

/// A scripted HTTP server on loopback (python3), to test retries and error mapping without a cluster.
final class ScriptedServer: @unchecked Sendable {
    let process = Process()
    let port: Int
    let dir: TempDir

    static let script = #"""
    import http.server, json, os, sys, threading
    threading.Timer(60, lambda: os._exit(0)).start()
    counts = {}
    lock = threading.Lock()
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a): pass
        def send(self, code, body, headers={}):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items(): self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        def do_GET(self):
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
                n = counts[self.path]
            auth = self.headers.get("Authorization", "")
            if self.path.startswith("/throttled"):
                if n == 1:
                    return self.send(429, {"kind": "Status", "status": "Failure", "reason": "TooManyRequests", "code": 429}, {"Retry-After": "1"})
                return self.send(200, {"kind": "Thing", "attempts": n})
            if self.path.startswith("/unavailable"):
                return self.send(503, {"kind": "Status", "status": "Failure", "message": "etcd down", "reason": "ServiceUnavailable", "code": 503}, {"Retry-After": "0"})
            if self.path.startswith("/forbidden"):
                return self.send(403, {"kind": "Status", "status": "Failure", "message": "pods is forbidden: User \"x\" cannot list resource \"pods\"", "reason": "Forbidden", "code": 403})
            if self.path.startswith("/echo-token"):
                # A server (or webhook) that quotes the credential it refused.
                token = auth.split(" ", 1)[1] if " " in auth else auth
                return self.send(403, {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403,
                                       "message": "user with token " + token + " cannot list resource pods"})
            if self.path.startswith("/echo-plain"):
                self.send_response(401)
                data = ("Unauthorized: " + auth).encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            if self.path.startswith("/auth"):
                return self.send(200, {"kind": "Echo", "scheme": auth.split(" ")[0] if auth else ""})
            if self.path.startswith("/count"):
                return self.send(200, {"kind": "Counts", "counts": counts})
            return self.send(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404, "message": "nope"})
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

    init() throws {
        dir = try TempDir()
        let path = try dir.write("server.py", Self.script)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(10) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line.append(d)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw KubeError.other("scripted server did not start")
        }
        port = p
    }

    /// Stops the server (the script also exits by itself after a minute).
    func stop() { process.terminate() }

    func client(token: String? = "secret-token-123456", maxRetryAfter: Double = 10) throws -> KubeClient {
        let target = KubeTarget(contextName: "scripted", cluster: ClusterConfig(name: "s", server: "http://127.0.0.1:\(port)"),
                                user: UserConfig(name: "u", token: token), namespace: "default")
        var options = KubeClientOptions(environment: KubeEnvironment(variables: [:], homeDirectory: NSTemporaryDirectory()))
        options.maxRetryAfterSeconds = maxRetryAfter
        return try KubeClient(target: target, options: options)
    }
}

@Suite(.serialized) struct HTTPBehaviourTests {
    @Test func retriesHonourRetryAfterAndMapStatuses() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let c = try server.client()
        do {
            let started = Date()
            let r = try await c.sendJSON(.GET, "/throttled")
            #expect(r["attempts"]?.intValue == 2)
            #expect(Date().timeIntervalSince(started) >= 0.9)

            do {
                _ = try await c.sendJSON(.GET, "/unavailable")
                Issue.record("expected 503")
            } catch let e as KubeError {
                #expect(e.httpStatus == 503 && e.reason == "ServiceUnavailable")
                #expect(e.description.contains("GET /unavailable: HTTP 503 ServiceUnavailable: etcd down"))
            }
            let counts = try await c.sendJSON(.GET, "/count")
            #expect(counts.at("counts", "/unavailable")?.intValue == c.options.maxRetries + 1)

            do {
                _ = try await c.sendJSON(.GET, "/forbidden", query: [("labelSelector", "app=a b")])
                Issue.record("expected 403")
            } catch let e as KubeError {
                #expect(e.httpStatus == 403)
                #expect(e.description.contains("/forbidden?labelSelector=app%3Da%20b"))
                #expect(e.hint?.contains("RBAC") == true)
                #expect(!e.description.contains("secret-token-123456"))
            }
            #expect(try await c.sendJSON(.GET, "/auth")["scheme"]?.stringValue == "Bearer")
            await c.shutdown()
        } catch {
            await c.shutdown()
            throw error
        }
    }

    @Test func anEchoedCredentialIsNeverShown() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let dir = try TempDir()
        let tokenPath = try dir.write("token", "token-from-a-file-0123456789\n")
        let users = [UserConfig(name: "t", token: "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluTmhMV3RsZVNKOQ"),
                     UserConfig(name: "b", username: "admin", password: "correct-horse-battery"),
                     UserConfig(name: "f", tokenFile: tokenPath)]
        for user in users {
            let target = KubeTarget(contextName: "s", cluster: ClusterConfig(name: "s", server: "http://127.0.0.1:\(server.port)"),
                                    user: user, namespace: "default")
            let c = try KubeClient(target: target, options: KubeClientOptions(environment: KubeEnvironment(variables: [:], homeDirectory: dir.path)))
            for path in ["/echo-token", "/echo-plain"] {
                do {
                    _ = try await c.sendJSON(.GET, path)
                    Issue.record("expected an error")
                } catch let e as KubeError {
                    let text = e.description + (e.hint ?? "")
                    for secret in [user.token, user.password, "token-from-a-file-0123456789", "YWRtaW46Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5"].compactMap({ $0 }) {
                        #expect(!text.contains(secret), "\(user.name) \(path): \(text)")
                    }
                    #expect(text.contains("<redacted>"))
                }
            }
            await c.shutdown()
        }
    }

    @Test func basicAuthAndTokenFile() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let dir = try TempDir()
        let tokenPath = try dir.write("token", "from-file\n")
        for user in [UserConfig(name: "b", username: "admin", password: "pw"), UserConfig(name: "f", tokenFile: tokenPath)] {
            let target = KubeTarget(contextName: "s", cluster: ClusterConfig(name: "s", server: "http://127.0.0.1:\(server.port)"),
                                    user: user, namespace: "default")
            let c = try KubeClient(target: target, options: KubeClientOptions(environment: KubeEnvironment(variables: [:], homeDirectory: dir.path)))
            let scheme = try? await c.sendJSON(.GET, "/auth")["scheme"]?.stringValue
            await c.shutdown()
            #expect(scheme == (user.username != nil ? "Basic" : "Bearer"))
        }
    }

    @Test func badTLSMaterialIsAConfigError() throws {
        var target = KubeTarget(contextName: "s", cluster: ClusterConfig(name: "s", server: "https://127.0.0.1:1"),
                                user: UserConfig(name: "u", clientCertificateData: Array("nope".utf8), clientKeyData: Array("nope".utf8)),
                                namespace: "default")
        #expect(throws: KubeError.self) { _ = try KubeClient(target: target) }
        target.user = UserConfig(name: "u")
        target.cluster.proxyURL = "ftp://proxy:1"
        #expect(throws: KubeError.self) { _ = try KubeClient(target: target) }
    }
}

@Suite struct ServerWarningTests {
    @Test func warningHeaderTextIsParsedAndToldOnce() {
        #expect(ServerWarnings.text(of: #"299 - "apiextensions.k8s.io/v1beta1 CustomResourceDefinition is deprecated in v1.16+, unavailable in v1.22+""#)
                == "apiextensions.k8s.io/v1beta1 CustomResourceDefinition is deprecated in v1.16+, unavailable in v1.22+")
        #expect(ServerWarnings.text(of: #"299 kube-apiserver "a \"quoted\" word""#) == #"a "quoted" word"#)
        #expect(ServerWarnings.text(of: #"199 - "not a 299""#) == nil)
        #expect(ServerWarnings.text(of: "299 - unquoted") == nil)
        let told = Mutex<[String]>([])
        let w = ServerWarnings()
        w.setHandler { t in told.withLock { $0.append(t) } }
        w.report([#"299 - "one""#, #"299 - "two""#, #"299 - "one""#], logger: Logger(label: "test"))
        w.report([#"299 - "two""#], logger: Logger(label: "test"))
        #expect(told.withLock { $0 } == ["one", "two"])
    }
}
