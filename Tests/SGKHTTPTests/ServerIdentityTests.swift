import Foundation
import NIOCore
import NIOSSL
import Testing
@testable import SGKHTTP

/// The host-name rules, case by case, against Go's crypto/x509 (`VerifyHostname` and the
/// texts of `HostnameError`), which kubectl applies.
@Suite struct ServerIdentityRuleTests {
    let loopback: [UInt8] = [127, 0, 0, 1]

    func mismatch(_ names: ServerIdentity.Names, _ host: String) -> String? {
        do { try ServerIdentity.verify(names, host: host); return nil } catch { return error.x509Text }
    }

    @Test func ipOnlySANsReachedByNameAreRefused() {
        let names = ServerIdentity.Names(ipAddresses: [loopback], hasSANExtension: true, commonName: "kube-apiserver")
        #expect(mismatch(names, "localhost") == "x509: certificate is not valid for any names, but wanted to match localhost")
        #expect(mismatch(names, "127.0.0.1") == nil)
    }

    @Test func anotherNameIsRefused() {
        let names = ServerIdentity.Names(dnsNames: ["api.other.example"], hasSANExtension: true)
        #expect(mismatch(names, "localhost") == "x509: certificate is valid for api.other.example, not localhost")
    }

    @Test func commonNameIsNeverUsed() {
        let names = ServerIdentity.Names(hasSANExtension: false, commonName: "localhost")
        #expect(mismatch(names, "localhost") == "x509: certificate relies on legacy Common Name field, use SANs instead")
        let other = ServerIdentity.Names(hasSANExtension: false, commonName: "elsewhere")
        #expect(mismatch(other, "localhost") == "x509: certificate is not valid for any names, but wanted to match localhost")
    }

    @Test func ipLiteralsMatchIPSANsOnly() {
        let dnsOnly = ServerIdentity.Names(dnsNames: ["127.0.0.1", "localhost"], hasSANExtension: true)
        #expect(mismatch(dnsOnly, "127.0.0.1") == "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs")
        let two = ServerIdentity.Names(ipAddresses: [[10, 0, 0, 1], [10, 0, 0, 2]], hasSANExtension: true)
        #expect(mismatch(two, "10.0.0.3") == "x509: certificate is valid for 10.0.0.1, 10.0.0.2, not 10.0.0.3")
        #expect(mismatch(two, "10.0.0.2") == nil)
    }

    @Test func ipv6InBracketsAndMappedForms() {
        let v6: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let names = ServerIdentity.Names(ipAddresses: [v6, loopback], hasSANExtension: true)
        #expect(mismatch(names, "[::1]") == nil)
        #expect(mismatch(names, "::1") == nil)
        #expect(mismatch(names, "::ffff:127.0.0.1") == nil)
        #expect(mismatch(names, "::2") == "x509: certificate is valid for ::1, 127.0.0.1, not ::2")
    }

    @Test func wildcardsCoverOneWholeLeftmostLabel() {
        let names = ServerIdentity.Names(dnsNames: ["*.eks.amazonaws.com"], hasSANExtension: true)
        #expect(mismatch(names, "abc.eks.amazonaws.com") == nil)
        #expect(mismatch(names, "ABC.EKS.amazonaws.com.") == nil)
        #expect(mismatch(names, "a.b.eks.amazonaws.com") != nil)
        #expect(mismatch(names, "eks.amazonaws.com") != nil)
        let partial = ServerIdentity.Names(dnsNames: ["a*.example.com"], hasSANExtension: true)
        #expect(mismatch(partial, "ab.example.com") != nil)
        let bare = ServerIdentity.Names(dnsNames: ["*"], hasSANExtension: true)
        #expect(mismatch(bare, "localhost") != nil)
    }

    @Test func namesGoGetsExactOnly() {
        // Not a valid host name: compared exactly, no wildcard or trailing-dot processing.
        let names = ServerIdentity.Names(dnsNames: ["my_host"], hasSANExtension: true)
        #expect(mismatch(names, "MY_HOST") == nil)
        let odd = ServerIdentity.Names(dnsNames: ["*.x"], hasSANExtension: true)
        #expect(mismatch(odd, "a b.x") != nil)
    }
}

/// The transport against a real TLS server with a certificate made for each case: a name the
/// certificate does not cover is refused before a single request is sent.
@Suite struct TLSConnectionTests {
    static let loopback: [UInt8] = [127, 0, 0, 1]

    /// Serves `leaf` and requests `path` from `host`: the transport's error, and how many
    /// requests reached the server.
    func attempt(pki: TestPKI, leaf: Leaf, host: String,
                 tls: TLSOptions? = nil) async throws -> (error: Error?, requests: Int) {
        let server = try await TLSTestServer(certificate: leaf.certificate, key: leaf.key)
        let transport = HTTPTransport(configuration: .init(tls: tls ?? TLSOptions(trustRootsPEM: pki.caPEM), proxy: .none,
                                                           connectTimeout: .seconds(5)))
        var failure: Error?
        do {
            let response = try await transport.execute(HTTPRequest(url: "https://\(host):\(server.port)/version"), timeout: .seconds(10))
            #expect(response.status == 200)
            #expect(try await response.body.collect(upTo: 100) == Array("ok".utf8))
        } catch {
            failure = error
        }
        await transport.shutdown()
        let n = server.requests.count
        await server.stop()
        return (failure, n)
    }

    @Test func matchingNamesConnect() async throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(commonName: "kube-apiserver", dns: ["localhost"], ips: [Self.loopback])
        for host in ["localhost", "127.0.0.1"] {
            let r = try await attempt(pki: pki, leaf: leaf, host: host)
            #expect(r.error == nil, "\(host): \(String(describing: r.error))")
            #expect(r.requests == 1)
        }
    }

    @Test func ipOnlyCertificateReachedByNameIsRefused() async throws {
        let pki = try TestPKI()
        let r = try await attempt(pki: pki, leaf: try pki.leaf(commonName: "localhost", ips: [Self.loopback]), host: "localhost")
        let mismatch = try #require(r.error as? ServerIdentity.Mismatch)
        #expect(mismatch.x509Text == "x509: certificate is not valid for any names, but wanted to match localhost")
        #expect(r.requests == 0)
    }

    @Test func anotherNameIsRefused() async throws {
        let pki = try TestPKI()
        let r = try await attempt(pki: pki, leaf: try pki.leaf(commonName: "x", dns: ["api.elsewhere.example"]), host: "localhost")
        let mismatch = try #require(r.error as? ServerIdentity.Mismatch)
        #expect(mismatch.x509Text == "x509: certificate is valid for api.elsewhere.example, not localhost")
        #expect(r.requests == 0)
    }

    @Test func commonNameOnlyIsRefused() async throws {
        let pki = try TestPKI()
        let r = try await attempt(pki: pki, leaf: try pki.leaf(commonName: "localhost", sanExtension: false), host: "localhost")
        let mismatch = try #require(r.error as? ServerIdentity.Mismatch)
        #expect(mismatch.x509Text == "x509: certificate relies on legacy Common Name field, use SANs instead")
        #expect(r.requests == 0)
    }

    @Test func tlsServerNameIsWhatTheCertificateMustName() async throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(commonName: "x", dns: ["kubernetes.default.svc"])
        let ok = try await attempt(pki: pki, leaf: leaf, host: "127.0.0.1",
                                   tls: TLSOptions(trustRootsPEM: pki.caPEM, serverName: "kubernetes.default.svc"))
        #expect(ok.error == nil)
        #expect(ok.requests == 1)
        let wrong = try await attempt(pki: pki, leaf: leaf, host: "127.0.0.1",
                                      tls: TLSOptions(trustRootsPEM: pki.caPEM, serverName: "kubernetes"))
        #expect((wrong.error as? ServerIdentity.Mismatch)?.x509Text == "x509: certificate is valid for kubernetes.default.svc, not kubernetes")
        #expect(wrong.requests == 0)
    }

    @Test func anotherCAIsRefused() async throws {
        let pki = try TestPKI()
        let other = try TestPKI(name: "another CA")
        let r = try await attempt(pki: pki, leaf: try pki.leaf(commonName: "x", dns: ["localhost"]), host: "localhost",
                                  tls: TLSOptions(trustRootsPEM: other.caPEM))
        #expect(String(describing: try #require(r.error)).contains("CERTIFICATE_VERIFY_FAILED"))
        #expect(r.requests == 0)
    }

    @Test func expiredCertificateIsRefused() async throws {
        let pki = try TestPKI()
        let r = try await attempt(pki: pki, leaf: try pki.leaf(commonName: "x", dns: ["localhost"], expired: true), host: "localhost")
        #expect(String(describing: try #require(r.error)).contains("CERTIFICATE_VERIFY_FAILED"))
        #expect(r.requests == 0)
    }

    @Test func insecureSkipVerifyIsTheOneWayOut() async throws {
        let pki = try TestPKI()
        let r = try await attempt(pki: pki, leaf: try pki.leaf(commonName: "localhost", ips: [Self.loopback]), host: "localhost",
                                  tls: TLSOptions(insecureSkipVerify: true))
        #expect(r.error == nil)
        #expect(r.requests == 1)
    }

    @Test func connectionsAreKeptAlive() async throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(commonName: "x", dns: ["localhost"])
        let server = try await TLSTestServer(certificate: leaf.certificate, key: leaf.key)
        let transport = HTTPTransport(configuration: .init(tls: TLSOptions(trustRootsPEM: pki.caPEM), proxy: .none))
        for _ in 0..<5 {
            let response = try await transport.execute(HTTPRequest(url: "https://localhost:\(server.port)/"), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 100)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let response = try await transport.execute(HTTPRequest(url: "https://localhost:\(server.port)/"), timeout: .seconds(10))
                    #expect(try await response.body.collect(upTo: 100) == Array("ok".utf8))
                }
            }
            try await group.waitForAll()
        }
        #expect(server.requests.count == 25)
        await transport.shutdown()
        await server.stop()
    }
}

@Suite struct ProxySettingTests {
    @Test func environmentProxiesAndTheirExceptions() throws {
        let env = ["HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": ".internal.example,10.0.0.0/8,exact.example:8443"]
        func proxied(_ url: String) throws -> Bool { try ProxySetting.environment(env).proxy(for: RequestTarget(url: url)) != nil }
        #expect(try proxied("https://iam.amazonaws.com/"))
        #expect(try !proxied("http://iam.amazonaws.com/"))   // no HTTP_PROXY
        #expect(try !proxied("https://127.0.0.1:6443/"))
        #expect(try !proxied("https://localhost:6443/"))
        #expect(try !proxied("https://[::1]:6443/"))
        // Instance metadata and container credentials never go through a proxy.
        let both = ["HTTPS_PROXY": "http://proxy.corp:3128", "HTTP_PROXY": "http://proxy.corp:3128"]
        #expect(try ProxySetting.environment(both).proxy(for: RequestTarget(url: "http://169.254.169.254/latest/api/token")) == nil)
        #expect(try ProxySetting.environment(both).proxy(for: RequestTarget(url: "http://169.254.170.2/v2/credentials")) == nil)
        #expect(try ProxySetting.environment(both).proxy(for: RequestTarget(url: "http://[fe80::a9fe:a9fe]/")) == nil)
        #expect(try ProxySetting.environment(both).proxy(for: RequestTarget(url: "http://iam.amazonaws.com/")) != nil)
        #expect(try !proxied("https://api.internal.example/"))
        #expect(try !proxied("https://10.1.2.3/"))
        #expect(try !proxied("https://exact.example:8443/"))
        #expect(try proxied("https://exact.example:443/"))
        let p = try #require(try ProxySetting.parse("http://user:p%40ss@proxy:3128"))
        #expect(p.kind == .http && p.host == "proxy" && p.port == 3128)
        #expect(p.authorization == "Basic " + Data("user:p@ss".utf8).base64EncodedString())
        #expect(try ProxySetting.parse("socks5://s:1080").kind == .socks5)
        #expect(throws: HTTPTransportError.self) { try ProxySetting.parse("ftp://x") }
    }
}

@Suite struct TLSOptionsTests {
    @Test func anExpiredClientCertificateIsSaidBeforeConnecting() throws {
        let pki = try TestPKI()
        let leaf = try pki.leaf(commonName: "admin", dns: [], sanExtension: false, expired: true)
        let options = TLSOptions(trustRootsPEM: pki.caPEM, clientCertificatePEM: leaf.certificatePEM, clientKeyPEM: leaf.keyPEM)
        do {
            try options.validate()
            Issue.record("an expired client certificate was accepted")
        } catch {
            guard case .clientCertificateExpired = error else { Issue.record("\(error)"); return }
            #expect(error.description.hasPrefix("the client certificate expired on "))
        }
    }

    @Test func badPEMIsSaid() {
        #expect(throws: TLSOptions.Problem.self) { try TLSOptions(trustRootsPEM: Array("not pem".utf8)).validate() }
        #expect(throws: TLSOptions.Problem.self) { try TLSOptions(clientCertificatePEM: Array("x".utf8)).validate() }
    }
}

/// An http proxy (python3, on loopback) in front of the TLS server: an https request goes
/// through `CONNECT` with TLS end to end, checked as without a proxy.
@Suite struct ProxyTunnelTests {
    static let script = #"""
    import socket, sys, threading, os
    threading.Timer(60, lambda: os._exit(0)).start()
    log = open(sys.argv[1], "a", buffering=1)
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(16)
    print(srv.getsockname()[1], flush=True)
    def pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d: break
                b.sendall(d)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try: s.shutdown(socket.SHUT_RDWR)
                except OSError: pass
    def handle(c):
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d: return
            head += d
        line = head.split(b"\r\n")[0].decode()
        log.write(line + ("; auth" if b"Proxy-Authorization: Basic" in head else "") + "\n")
        method, target, _ = line.split(" ")
        if method != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n"); c.close(); return
        host, port = target.rsplit(":", 1)
        u = socket.create_connection((host, int(port)))
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(c, u), daemon=True).start()
        threading.Thread(target=pipe, args=(u, c), daemon=True).start()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    """#

    @Test func httpsThroughAConnectProxy() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sgk-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let scriptPath = dir.appendingPathComponent("proxy.py").path
        try Self.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let logPath = dir.appendingPathComponent("proxy.log").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptPath, logPath]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { process.terminate() }
        var line = Data()
        while !line.contains(10) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line.append(d)
        }
        let proxyPort = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))

        let pki = try TestPKI()
        let good = try pki.leaf(commonName: "x", dns: ["localhost"])
        let server = try await TLSTestServer(certificate: good.certificate, key: good.key)
        let transport = HTTPTransport(configuration: .init(tls: TLSOptions(trustRootsPEM: pki.caPEM),
                                                           proxy: .url("http://user:secret@127.0.0.1:\(proxyPort)")))
        let port = server.port
        let response = try await transport.execute(HTTPRequest(url: "https://localhost:\(port)/through"), timeout: .seconds(10))
        #expect(response.status == 200)
        #expect(try await response.body.collect(upTo: 100) == Array("ok".utf8))
        await transport.shutdown()
        await server.stop()
        let seen = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        #expect(seen.contains("CONNECT localhost:\(port) HTTP/1.1; auth"), "\(seen)")

        // The name is still checked end to end: a certificate for another name is refused.
        let other = try pki.leaf(commonName: "x", dns: ["elsewhere.example"])
        let server2 = try await TLSTestServer(certificate: other.certificate, key: other.key)
        let transport2 = HTTPTransport(configuration: .init(tls: TLSOptions(trustRootsPEM: pki.caPEM),
                                                            proxy: .url("http://127.0.0.1:\(proxyPort)")))
        await #expect(throws: ServerIdentity.Mismatch.self) {
            _ = try await transport2.execute(HTTPRequest(url: "https://localhost:\(server2.port)/"), timeout: .seconds(10))
        }
        #expect(server2.requests.count == 0)
        await transport2.shutdown()
        await server2.stop()
    }
}
