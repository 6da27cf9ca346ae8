import Foundation
import Logging
import Testing
@testable import SGKAWS
import SGKData

/// Chain sources that talk HTTP, against loopback fakes.
@Suite struct RemoteCredentialTests {
    static func credsJSON(_ id: String, expiresIn: TimeInterval = 3600) -> String {
        let exp = SigV4Time.iso8601(Date().addingTimeInterval(expiresIn))
        return #"{"Code":"Success","AccessKeyId":"\#(id)","SecretAccessKey":"sec-\#(id)","Token":"tok-\#(id)","Expiration":"\#(exp)"}"#
    }

    static func stsXML(_ action: String, id: String, expiresIn: TimeInterval = 3600) -> String {
        let exp = SigV4Time.iso8601(Date().addingTimeInterval(expiresIn))
        return """
        <\(action)Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><\(action)Result>
        <Credentials><AccessKeyId>\(id)</AccessKeyId><SecretAccessKey>sec-\(id)</SecretAccessKey><SessionToken>tok-\(id)</SessionToken><Expiration>\(exp)</Expiration></Credentials>
        <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
        </\(action)Result><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></\(action)Response>
        """
    }

    func makeChain(_ env: [String: String], home: String = "/nonexistent") -> (AWSClient, AWSCredentialChain) {
        let cfg = AWSConfiguration.load(environment: env, homeDirectory: home)
        let client = AWSClient(configuration: cfg, retryPolicy: .none)
        let chain = AWSCredentialChain(configuration: cfg, transport: client.transport, logger: Logger(label: "t"))
        return (client, chain)
    }

    @Test func imdsV2() async throws {
        let server = try FakeHTTPServer { req in
            switch (req.method, req.path) {
            case ("PUT", "/latest/api/token"):
                return req.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600" ? (200, "TOKEN123") : (400, "")
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                return req.headers["x-aws-ec2-metadata-token"] == "TOKEN123" ? (200, "my-role\n") : (401, "")
            case ("GET", "/latest/meta-data/iam/security-credentials/my-role"):
                return req.headers["x-aws-ec2-metadata-token"] == "TOKEN123" ? (200, Self.credsJSON("AKIDIMDS")) : (401, "")
            default: return (404, "")
            }
        }
        defer { server.stop() }
        let (client, chain) = makeChain(["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url])
        let c = try await chain.credentials()
        #expect(c.accessKeyID == "AKIDIMDS")
        #expect(c.sessionToken == "tok-AKIDIMDS")
        #expect(c.source == "iam-role")
        // cached: no new requests
        let n = server.requests.count
        _ = try await chain.credentials()
        #expect(server.requests.count == n)
        try await client.shutdown()
    }

    @Test func imdsUnreachableFailsFastAndIsListed() async throws {
        // A port nobody listens on: connection refused, one attempt.
        let server = try FakeHTTPServer { _ in (200, "") }
        let port = server.port
        server.stop()
        let (client, chain) = makeChain(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)"])
        let start = Date()
        do {
            _ = try await chain.credentials()
            Issue.record("expected failure")
        } catch let e as CredentialsError {
            #expect(e.description.contains("EC2 instance metadata"))
        }
        // Bounded, not timed: an unreachable IMDS must not hang the chain (1 s timeouts, 1 attempt).
        #expect(Date().timeIntervalSince(start) < 30)
        try await client.shutdown()
    }

    @Test func containerCredentialsWithTokenFile() async throws {
        let dir = try Fixtures.tempDir()
        let tokenFile = dir.appendingPathComponent("token")
        try "Bearer abc\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let server = try FakeHTTPServer { req in
            req.headers["authorization"] == "Bearer abc" ? (200, Self.credsJSON("AKIDECS")) : (403, "")
        }
        defer { server.stop() }
        let (client, chain) = makeChain([
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.url + "/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile.path,
        ])
        let c = try await chain.credentials()
        #expect(c.accessKeyID == "AKIDECS")
        #expect(c.source == "container-role")
        #expect(server.requests.first?.path == "/creds")
        try await client.shutdown()
    }

    @Test func containerFullURIMustBeLocal() async throws {
        let (client, chain) = makeChain([
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds",
        ])
        await #expect(throws: CredentialsError.self) { try await chain.credentials() }
        try await client.shutdown()
    }

    @Test func webIdentityFromEnvironmentIsUnsigned() async throws {
        let dir = try Fixtures.tempDir()
        let tokenFile = dir.appendingPathComponent("jwt")
        try "eyJhbGciOiJSUzI1NiJ9.payload.sig".write(to: tokenFile, atomically: true, encoding: .utf8)
        let server = try FakeHTTPServer { req in
            let p = URIEncoding.parseQuery(req.body)
            guard p.contains(QueryParameter("Action", "AssumeRoleWithWebIdentity")),
                  p.contains(QueryParameter("WebIdentityToken", "eyJhbGciOiJSUzI1NiJ9.payload.sig")),
                  p.contains(QueryParameter("RoleSessionName", "sess")),
                  req.headers["authorization"] == nil else { return (400, "") }
            return (200, Self.stsXML("AssumeRoleWithWebIdentity", id: "ASIAWEB"))
        }
        defer { server.stop() }
        let (client, chain) = makeChain([
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL_STS": server.url,
            "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile.path, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
            "AWS_ROLE_SESSION_NAME": "sess",
        ])
        let c = try await chain.credentials()
        #expect(c.accessKeyID == "ASIAWEB")
        #expect(c.source == "assume-role-with-web-identity")
        try await client.shutdown()
    }

    @Test func assumeRoleProfileWithSourceProfileAndRefresh() async throws {
        let dir = try Fixtures.tempDir()
        let counter = Counter()
        let server = try FakeHTTPServer { req in
            let p = URIEncoding.parseQuery(req.body)
            guard p.contains(QueryParameter("Action", "AssumeRole")),
                  p.contains(QueryParameter("RoleArn", "arn:aws:iam::123456789012:role/target")),
                  p.contains(QueryParameter("ExternalId", "ext-1")),
                  p.contains(QueryParameter("DurationSeconds", "900")),
                  p.contains(QueryParameter("RoleSessionName", "my-session")),
                  req.headers["authorization"]?.contains("Credential=AKIDBASE/") == true else { return (403, "") }
            let n = counter.next()
            // First answer expires within the refresh margin, so the next call refreshes.
            return (200, Self.stsXML("AssumeRole", id: "ASIAROLE\(n)", expiresIn: n == 1 ? 60 : 3600))
        }
        defer { server.stop() }
        let cfg = dir.appendingPathComponent("config")
        try """
        [profile base]
        aws_access_key_id = AKIDBASE
        aws_secret_access_key = basesecret
        [profile target]
        role_arn = arn:aws:iam::123456789012:role/target
        source_profile = base
        external_id = ext-1
        duration_seconds = 900
        role_session_name = my-session
        region = us-east-1
        """.write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = makeChain([
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "target", "AWS_ENDPOINT_URL_STS": server.url,
        ], home: dir.path)
        let first = try await chain.credentials()
        #expect(first.accessKeyID == "ASIAROLE1")
        #expect(first.source == "assume-role")
        let second = try await chain.credentials()
        #expect(second.accessKeyID == "ASIAROLE2")  // refreshed: the first expired within 5 minutes
        let third = try await chain.credentials()
        #expect(third.accessKeyID == "ASIAROLE2")  // cached
        // Concurrent callers share the cache.
        try await withThrowingTaskGroup(of: String.self) { g in
            for _ in 0..<20 { g.addTask { try await chain.credentials().accessKeyID } }
            for try await id in g { #expect(id == "ASIAROLE2") }
        }
        #expect(counter.value == 2)
        try await client.shutdown()
    }

    @Test func webIdentityFromProfile() async throws {
        let dir = try Fixtures.tempDir()
        let tokenFile = dir.appendingPathComponent("jwt")
        try "profile.jwt.token\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let server = try FakeHTTPServer { req in
            let p = URIEncoding.parseQuery(req.body)
            guard p.contains(QueryParameter("WebIdentityToken", "profile.jwt.token")),
                  p.contains(QueryParameter("RoleArn", "arn:aws:iam::123456789012:role/wi")) else { return (400, "") }
            return (200, Self.stsXML("AssumeRoleWithWebIdentity", id: "ASIAPROFILEWI"))
        }
        defer { server.stop() }
        let cfg = dir.appendingPathComponent("config")
        try "[profile wi]\nrole_arn = arn:aws:iam::123456789012:role/wi\nweb_identity_token_file = \(tokenFile.path)\nregion = eu-west-1\n"
            .write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = makeChain([
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "wi", "AWS_ENDPOINT_URL_STS": server.url,
        ], home: dir.path)
        let c = try await chain.credentials()
        #expect(c.accessKeyID == "ASIAPROFILEWI")
        #expect(c.source == "assume-role-with-web-identity")
        try await client.shutdown()
    }

    @Test func credentialSourceEcsContainer() async throws {
        let dir = try Fixtures.tempDir()
        let sts = try FakeHTTPServer { req in
            req.headers["authorization"]?.contains("Credential=AKIDECSSRC/") == true
                && req.headers["x-amz-security-token"] == "tok-AKIDECSSRC"
                ? (200, Self.stsXML("AssumeRole", id: "ASIAFROMECS")) : (403, "")
        }
        defer { sts.stop() }
        let ecs = try FakeHTTPServer { _ in (200, Self.credsJSON("AKIDECSSRC")) }
        defer { ecs.stop() }
        let cfg = dir.appendingPathComponent("config")
        try "[profile r]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = EcsContainer\nregion = us-west-2\n"
            .write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = makeChain([
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "r", "AWS_ENDPOINT_URL_STS": sts.url,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.url + "/v2/credentials",
        ], home: dir.path)
        #expect(try await chain.credentials().accessKeyID == "ASIAFROMECS")
        try await client.shutdown()
    }

    @Test func credentialSourceEnvironment() async throws {
        let dir = try Fixtures.tempDir()
        let server = try FakeHTTPServer { req in
            req.headers["authorization"]?.contains("Credential=AKIDENVSRC/") == true
                ? (200, Self.stsXML("AssumeRole", id: "ASIAFROMENV")) : (403, "")
        }
        defer { server.stop() }
        let cfg = dir.appendingPathComponent("config")
        try "[profile r]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Environment\n".write(to: cfg, atomically: true, encoding: .utf8)
        let (client, chain) = makeChain([
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": cfg.path, "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": server.url,
            "AWS_ACCESS_KEY_ID": "AKIDENVSRC", "AWS_SECRET_ACCESS_KEY": "x",
        ], home: dir.path)
        // AWS_PROFILE is not set here, so pass the profile explicitly (environment keys are then only the role's source).
        let cfg2 = AWSConfiguration(environment: chain.configuration.environment, homeDirectory: dir.path, profile: "r", region: nil,
                                    shared: chain.configuration.shared)
        let chain2 = AWSCredentialChain(configuration: cfg2, transport: client.transport, logger: Logger(label: "t"))
        #expect(try await chain2.credentials().accessKeyID == "ASIAFROMENV")
        try await client.shutdown()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
