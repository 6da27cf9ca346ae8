import Foundation
import Testing
@testable import SGKAWS

/// Signature checking against moto with auth on. Auth mode is global to a moto server, so these
/// tests never use the shared `SGK_TEST_AWS_ENDPOINT` server: they use `SGK_TEST_AWS_AUTH_ENDPOINT`
/// when set (a moto server reserved for them), else they start their own moto on a free loopback
/// port (`python3 -m moto.server`, or `SGK_TEST_PYTHON`) and stop it afterwards.
@Suite(.serialized, .enabled(if: Moto.enabled || Moto.dedicatedAuthEndpoint != nil, "needs moto"))
struct MotoAuthTests {

    /// A moto server of our own: (base URL, the process we started or nil).
    static func startMoto() async throws -> (String, Process?) {
        if let e = Moto.dedicatedAuthEndpoint { return (e, nil) }
        let probe = try FakeHTTPServer { _ in (200, "") }
        let port = probe.port
        probe.stop()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [ProcessInfo.processInfo.environment["SGK_TEST_PYTHON"] ?? "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        var env = ProcessInfo.processInfo.environment
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "false"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<100 {
            if FakeHTTPServer.canConnect(port: port) {
                try await Task.sleep(nanoseconds: 200_000_000)
                return (base, p)
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        kill(p.processIdentifier, SIGKILL)
        throw CredentialsError(message: "moto did not start on \(base)")
    }

    @Test func signatureMismatchIsDetectedOnIAMAndSTS() async throws {
        let (base, process) = try await Self.startMoto()
        defer {
            // SIGKILL: the moto child does not always honour SIGTERM.
            if let process { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        try await Moto.control(base, "/moto-api/reset-auth", body: "inf")
        try await Moto.control(base, "/moto-api/reset")
        // With auth still off: an IAM user with an access key and an allow-all policy (as moto's docs describe).
        let admin = Moto.client(endpoint: base)
        let user = Moto.unique("authuser")
        _ = try await admin.queryAction(.iam, action: "CreateUser", version: IAM.apiVersion, parameters: [QueryParameter("UserName", user)])
        _ = try await admin.queryAction(.iam, action: "PutUserPolicy", version: IAM.apiVersion, parameters: [
            QueryParameter("UserName", user), QueryParameter("PolicyName", "all"),
            QueryParameter("PolicyDocument", #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#),
        ])
        let key = try await admin.queryAction(.iam, action: "CreateAccessKey", version: IAM.apiVersion, parameters: [QueryParameter("UserName", user)])
        let keyID = try #require(key.find("AccessKeyId")?.text)
        let secret = try #require(key.find("SecretAccessKey")?.text)
        try await admin.shutdown()

        try await Moto.control(base, "/moto-api/reset-auth", body: "0")
        do {
            let good = Moto.client(endpoint: base, accessKey: keyID, secret: secret, retry: .none)
            let id = try await good.sts.getCallerIdentity()
            #expect(id.arn.hasSuffix("user/\(user)"))
            _ = try await good.iam.listOpenIDConnectProviders()
            let roleName = Moto.unique("authrole")
            _ = try await good.iam.createRole(name: roleName, assumeRolePolicyDocument: Moto.trustPolicy())
            #expect(try await good.iam.getRole(name: roleName).name == roleName)
            try await good.shutdown()

            let bad = Moto.client(endpoint: base, accessKey: keyID, secret: secret + "x", retry: .none)
            for call in ["sts", "iam"] {
                do {
                    if call == "sts" { _ = try await bad.sts.getCallerIdentity() } else { _ = try await bad.iam.getRole(name: roleName) }
                    Issue.record("\(call): expected SignatureDoesNotMatch")
                } catch let e as AWSError {
                    #expect(e.code == "SignatureDoesNotMatch", "\(call): \(e)")
                    #expect(e.hint != nil)
                    #expect(!e.description.contains(secret))
                }
            }
            try await bad.shutdown()

            let unknown = Moto.client(endpoint: base, accessKey: "AKIAUNKNOWNUNKNOWN00", secret: secret, retry: .none)
            do {
                _ = try await unknown.iam.getRole(name: roleName)
                Issue.record("expected InvalidClientTokenId")
            } catch let e as AWSError {
                #expect(e.code == "InvalidClientTokenId")
            }
            try await unknown.shutdown()
        } catch {
            try? await Moto.control(base, "/moto-api/reset-auth", body: "inf")
            throw error
        }
        try await Moto.control(base, "/moto-api/reset-auth", body: "inf")
        try await Moto.control(base, "/moto-api/reset")
    }
}
