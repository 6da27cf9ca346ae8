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
            if self.path.startswith("/many-throttled"):
                # Five 429s in a row, each asking for a retry at once, then the answer.
                if n <= 5:
                    return self.send(429, {"kind": "Status", "status": "Failure", "reason": "TooManyRequests", "code": 429}, {"Retry-After": "0"})
                return self.send(200, {"kind": "Thing", "attempts": n})
            if self.path.startswith("/api/v1/namespaces/default/things"):
                return self.things(n)
            return self.send(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404, "message": "nope"})
        def things(self, n):
            if "watch=1" not in self.path:
                return self.send(200, {"kind": "ThingList", "apiVersion": "v1", "metadata": {"resourceVersion": "5"},
                                       "items": [{"metadata": {"name": "t1", "resourceVersion": "5"}, "status": {"phase": "Pending"}}]})
            with lock:
                counts["watch"] = counts.get("watch", 0) + 1
                w = counts["watch"]
            if w == 1:
                # The watch fails at once: a 5xx.
                return self.send(500, {"kind": "Status", "status": "Failure", "reason": "InternalError", "code": 500, "message": "etcd is restarting"})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            def chunk(b):
                self.wfile.write(("%x\r\n" % len(b)).encode() + b + b"\r\n")
                self.wfile.flush()
            if w == 2:
                # The stream is cut in the middle of an event.
                chunk(b'{"type":"MODIFIED","object":{"metadata":')
                self.close_connection = True
                import socket
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            chunk((json.dumps({"type": "MODIFIED", "object": {"metadata": {"name": "t1", "resourceVersion": "7"}, "status": {"phase": "Ready"}}}) + "\n").encode())
            self.wfile.write(b"0\r\n\r\n")
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0") or "0")
            if length: self.rfile.read(length)
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
                n = counts[self.path]
            if self.path.startswith("/crash"):
                # What the API server answers when an admission plugin panics (WithPanicRecovery).
                data = b"This request caused apiserver to panic. Look in the logs for details.\n"
                self.send_response(500)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            if self.path.startswith("/busy"):
                # A 503 that asks for a retry: any request may be sent again.
                if n == 1:
                    return self.send(503, {"kind": "Status", "status": "Failure", "reason": "ServiceUnavailable", "code": 503}, {"Retry-After": "0"})
                return self.send(201, {"kind": "Thing", "attempts": n})
            return self.send(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404, "message": "nope"})
        def do_DELETE(self):
            length = int(self.headers.get("Content-Length", "0") or "0")
            if length: self.rfile.read(length)
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
                n = counts[self.path]
            if n <= 5:
                return self.send(429, {"kind": "Status", "status": "Failure", "reason": "TooManyRequests", "code": 429}, {"Retry-After": "0"})
            return self.send(200, {"kind": "Status", "status": "Success", "attempts": n})
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

    /// Issue 21 defect 11: a 500 of a crashed admission path is the server's answer, at once.
    @Test func aCreateThatMetA500IsTheServersAnswerNotRepeated() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let c = try server.client()
        do {
            _ = try await c.sendJSON(.POST, "/crash", body: .object(["kind": .string("Thing")]))
            Issue.record("expected a 500")
        } catch let e as KubeError {
            #expect(e.httpStatus == 500)
            #expect(e.description.contains("POST /crash: HTTP 500: This request caused apiserver to panic"), "\(e.description)")
            #expect(e.hint?.contains("up and reachable") != true, "\(e.hint ?? "")")
            #expect(e.hint?.contains("the API server's answer") == true, "\(e.hint ?? "")")
        }
        // Not repeated: a create is not idempotent, and the server did not ask for a retry …
        #expect(try await c.sendJSON(.GET, "/count").at("counts", "/crash")?.intValue == 1)
        // … but when it does (Retry-After), it is.
        #expect(try await c.sendJSON(.POST, "/busy", body: .object([:]))["attempts"]?.intValue == 2)
        await c.shutdown()
    }

    /// Issue 21 defect 13: 429 is retried longer than a 5xx (five in a row no longer use up the retries).
    @Test func fiveThrottledAnswersInARowAreRetried() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let c = try server.client()
        #expect(try await c.sendJSON(.GET, "/many-throttled")["attempts"]?.intValue == 6)
        _ = try await c.send(.DELETE, "/api/v1/namespaces/default/configmaps/x")
        #expect(try await c.sendJSON(.GET, "/count").at("counts", "/api/v1/namespaces/default/configmaps/x")?.intValue == 6)
        await c.shutdown()
    }

    /// Issue 21 defect 13: a watch that fails (a 5xx, a stream cut mid-event) is watched again; the wait goes on.
    @Test func aFailedWatchIsWatchedAgain() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let c = try server.client()
        let things = APIResource(name: "things", singularName: "thing", namespaced: true, kind: "Thing", group: "", version: "v1")
        do {
            let obj = try await c.wait(things, name: "t1", namespace: "default", for: .jsonPath(path: "{.status.phase}", value: "Ready"), timeout: 20)
            #expect(obj?.at("status", "phase")?.stringValue == "Ready")
            #expect(try await c.sendJSON(.GET, "/count").at("counts", "watch")?.intValue == 3)
        } catch {
            await c.shutdown()
            throw error
        }
        await c.shutdown()
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
