import Foundation
import Logging
import Testing
@testable import SGKAWS

/// Config and credentials files that cannot be read, and endpoints that are not URLs, are
/// immediate errors that name the file or the setting.
@Suite(.timeLimit(.minutes(1))) struct ConfigFileErrorTests {
    func load(config: String? = nil, credentials: String? = nil, extra: [String: String] = [:]) -> AWSConfiguration {
        var env = ["AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1"]
        if let config { env["AWS_CONFIG_FILE"] = config }
        if let credentials { env["AWS_SHARED_CREDENTIALS_FILE"] = credentials }
        env.merge(extra) { _, n in n }
        return AWSConfiguration.load(environment: env, homeDirectory: "/nonexistent-\(UUID().uuidString)")
    }

    func problem(_ c: AWSConfiguration) -> String {
        do {
            _ = try c.endpoint(for: .iam)
            return ""
        } catch {
            return error.description
        }
    }

    @Test func aCredentialsFileThatIsAFolderIsAnError() throws {
        let dir = try Fixtures.tempDir()
        let c = load(credentials: dir.path)
        #expect(problem(c) == "cannot read the AWS config: \(dir.path) is a folder, not a file")
    }

    @Test func aBinaryCredentialsFileIsAnError() throws {
        let dir = try Fixtures.tempDir()
        let f = dir.appendingPathComponent("credentials")
        try Data([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0xff, 0xfe]).write(to: f)
        #expect(problem(load(credentials: f.path)) == "cannot read the AWS config: \(f.path) is not a text file (it holds NUL bytes)")
    }

    @Test func aConfigFileThatIsNotUTF8IsAnErrorNamingTheLine() throws {
        let dir = try Fixtures.tempDir()
        let f = dir.appendingPathComponent("config")
        try Data("[default]\nregion = us-east-1\nname = caf".utf8 + [0xe9] + Data("\n".utf8)).write(to: f)
        #expect(problem(load(config: f.path)) == "cannot read the AWS config: \(f.path) is not UTF-8 text (line 3)")
    }

    @Test func aMissingFileIsStillEmptyAndDevNullIsEmpty() throws {
        #expect(problem(load(config: "/nonexistent/config", credentials: "/dev/null")) == "")
    }

    @Test func theCredentialChainRefusesAnUnreadableFileToo() async throws {
        let dir = try Fixtures.tempDir()
        let c = load(credentials: dir.path, extra: ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"])
        let client = AWSClient(configuration: c, retryPolicy: .none)
        let chain = AWSCredentialChain(configuration: c, transport: client.transport, logger: Logger(label: "t"))
        do {
            _ = try await chain.credentials()
            Issue.record("expected an error")
        } catch let e as CredentialsError {
            #expect(e.message == "cannot read the AWS config: \(dir.path) is a folder, not a file")
        }
        try await client.shutdown()
    }

    @Test func anInvalidEndpointURLIsAnImmediateError() async throws {
        let cases: [(String, String)] = [
            ("htp://127.0.0.1:5000", "it does not start with http:// or https://"),
            ("127.0.0.1:5000", "it does not start with http:// or https://"),
            ("http://", "it has no host name"),
            ("http://local host:5000", "it holds a space or a control character"),
            ("http://127.0.0.1:99999", "its port 99999 is not between 1 and 65535"),
        ]
        for (url, why) in cases {
            let c = load(extra: ["AWS_ENDPOINT_URL": url])
            #expect(problem(c) == "AWS_ENDPOINT_URL '\(url)' is not an endpoint URL: \(why)")
        }
        let specific = load(extra: ["AWS_ENDPOINT_URL_IAM": "ftp://x"])
        #expect(problem(specific) == "AWS_ENDPOINT_URL_IAM 'ftp://x' is not an endpoint URL: it does not start with http:// or https://")
        // A password in the URL stays out of the message.
        let secret = load(extra: ["AWS_ENDPOINT_URL": "http://me:hunter2@/x"])
        #expect(!problem(secret).contains("hunter2"))

        // Through a client: one attempt, at once, with the standard retry policy.
        let c = load(extra: ["AWS_ENDPOINT_URL": "htp://127.0.0.1:1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x"])
        let client = AWSClient(configuration: c)
        let start = Date()
        await #expect(throws: AWSConfigurationError.invalidEndpoint(source: "AWS_ENDPOINT_URL", url: "htp://127.0.0.1:1",
                                                                    problem: "it does not start with http:// or https://")) {
            _ = try await client.sts.getCallerIdentity()
        }
        #expect(Date().timeIntervalSince(start) < 1)
        try await client.shutdown()
    }
}
