import Foundation
import Logging
import SGKData
import Testing
@testable import SGKAWS

/// `credential_process` is bounded: both pipes read at once, a time-out, a cap on output, and
/// errors that name the profile. Each helper is a small shell script in a temporary directory.
@Suite(.timeLimit(.minutes(1))) struct CredentialProcessBoundsTests {
    static let goodJSON = #"{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "procsecret"}"#

    /// The credentials of profile `proc`, whose credential_process runs `script`.
    /// With `command`, that is the credential_process line itself.
    func resolve(_ script: String, env: [String: String] = [:], command: String? = nil) async throws -> AWSCredentials {
        let home = try Fixtures.tempDir()
        let path = home.appendingPathComponent("helper.sh")
        try "#!/bin/sh\n\(script)\n".write(to: path, atomically: true, encoding: .utf8)
        let cfg = home.appendingPathComponent("config")
        try "[profile proc]\ncredential_process = \(command ?? "sh \"\(path.path)\"")\n".write(to: cfg, atomically: true, encoding: .utf8)
        var e = ["AWS_CONFIG_FILE": cfg.path, "AWS_PROFILE": "proc", "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"]
        e.merge(env) { _, n in n }
        let config = AWSConfiguration.load(environment: e, homeDirectory: home.path)
        let client = AWSClient(configuration: config, retryPolicy: .none)
        defer { Task { try? await client.shutdown() } }
        let chain = AWSCredentialChain(configuration: config, transport: client.transport, logger: Logger(label: "t"))
        return try await chain.credentials()
    }

    func failure(_ script: String, env: [String: String] = [:], command: String? = nil) async -> CredentialsError? {
        do {
            _ = try await resolve(script, env: env, command: command)
            Issue.record("expected an error")
            return nil
        } catch let e as CredentialsError {
            return e
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func moreThanAPipeOfStderrBeforeTheJSONDoesNotDeadlock() async throws {
        // 200 KB on stderr first: read stdout to the end first and the helper blocks on a full pipe.
        let c = try await resolve("head -c 200000 /dev/zero | tr '\\0' x >&2\necho '\(Self.goodJSON)'")
        #expect(c.accessKeyID == "AKIDPROC")
    }

    @Test func aHangingHelperTimesOutNamingTheProfile() async throws {
        let start = Date()
        let e = await failure("sleep 30", env: ["SGK_HELPER_TIMEOUT": "1"])
        #expect(Date().timeIntervalSince(start) < 20)
        #expect(e?.message == "credential_process of profile proc timed out after 1 s and was stopped (set SGK_HELPER_TIMEOUT to allow longer)")
        #expect(e?.message.contains("137") == false)
    }

    @Test func unboundedOutputIsStoppedAtOneMiB() async throws {
        let e = await failure("yes")
        #expect(e?.message == "credential_process of profile proc wrote more than 1 MiB to its standard output, so it was stopped")
        let e2 = await failure("yes >&2")
        #expect(e2?.message.contains("more than 1 MiB to its standard error") == true)
    }

    @Test func aBackgroundChildHoldingThePipesDoesNotHoldSgk() async throws {
        let start = Date()
        let c = try await resolve("sleep 30 &\necho '\(Self.goodJSON)'", env: ["SGK_HELPER_TIMEOUT": "20"])
        #expect(c.accessKeyID == "AKIDPROC")
        #expect(Date().timeIntervalSince(start) < 15)
    }

    @Test func outputThatIsNotJSONNamesTheProfile() async throws {
        let e = await failure("echo 'hello wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12'")
        #expect(e?.message == "credential_process of profile proc: its output is not JSON (at line 1, column 1)")
        let empty = await failure("true")
        #expect(empty?.message == "credential_process of profile proc printed nothing on its standard output")
    }

    @Test func aFailingHelpersStderrIsMaskedAndNamesTheProfile() async throws {
        let key = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12"
        let e = await failure("echo 'login failed, token=abc123secret key \(key)' >&2\nexit 4")
        let m = e?.message ?? ""
        #expect(m.hasPrefix("credential_process of profile proc exited with status 4: login failed"), "\(m)")
        #expect(!m.contains(key) && !m.contains("abc123secret"), "\(m)")
    }

    @Test func aHelperKilledBySignalSaysSo() async throws {
        // `/bin/sh -c 'kill -9 $$'`: the helper itself is killed (not a shell that reports status 137).
        let e = await failure("", command: "kill -9 $$")
        #expect(e?.message == "credential_process of profile proc was killed by signal 9 (SIGKILL)")
    }

    @Test func anInvalidTimeoutSettingIsAnError() async throws {
        let e = await failure("echo '\(Self.goodJSON)'", env: ["SGK_HELPER_TIMEOUT": "soon"])
        #expect(e?.message == "SGK_HELPER_TIMEOUT must be a number of seconds greater than 0, not 'soon'")
    }
}
