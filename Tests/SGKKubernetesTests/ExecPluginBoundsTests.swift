import Foundation
import Logging
import SGKData
import Testing
@testable import SGKKubernetes

/// The exec plugin is bounded: both pipes read at once, a time-out, a cap on output, and errors
/// that name the plugin, its user and its kubeconfig.
@Suite(.timeLimit(.minutes(1))) struct ExecPluginBoundsTests {
    static let credential = #"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-1"}}"#

    func config(_ dir: TempDir, _ script: String) throws -> ExecConfig {
        let path = try dir.write("plugin.sh", "#!/bin/sh\n\(script)\n", executable: true)
        return ExecConfig(apiVersion: "client.authentication.k8s.io/v1", command: path, interactiveMode: "Never",
                          user: "dev", file: "/home/me/.kube/config")
    }

    func run(_ script: String, env: [String: String] = [:]) async throws -> ExecCredential {
        let dir = try TempDir()
        var variables = ["PATH": "/usr/bin:/bin"]
        variables.merge(env) { _, n in n }
        return try await ExecPluginRunner.run(config(dir, script), environment: KubeEnvironment(variables: variables, homeDirectory: dir.path),
                                              logger: Logger(label: "t"))
    }

    func failure(_ script: String, env: [String: String] = [:]) async -> String {
        do {
            _ = try await run(script, env: env)
            Issue.record("expected an error")
        } catch {
            return "\(error)"
        }
        return ""
    }

    @Test func moreThanAPipeOfStderrFirstDoesNotDeadlock() async throws {
        let c = try await run("head -c 200000 /dev/zero | tr '\\0' x >&2\necho '\(Self.credential)'")
        #expect(c.token == "tok-1")
    }

    @Test func aHangingPluginTimesOutInsteadOfExitingWith137() async throws {
        let start = Date()
        let m = await failure("sleep 30", env: ["SGK_HELPER_TIMEOUT": "1"])
        #expect(Date().timeIntervalSince(start) < 20)
        #expect(m.hasSuffix("(user dev in /home/me/.kube/config): timed out after 1 s and was stopped (set SGK_HELPER_TIMEOUT to allow longer)"), "\(m)")
        // (not `contains("137")`: the plugin's temporary path is a UUID, which may hold those digits)
        #expect(!m.contains("status 137") && !m.contains("exited with"))
    }

    @Test func unboundedOutputIsStoppedAtOneMiB() async throws {
        let m = await failure("yes")
        #expect(m.contains("(user dev in /home/me/.kube/config): wrote more than 1 MiB to its standard output, so it was stopped"), "\(m)")
        let m2 = await failure("yes >&2")
        #expect(m2.contains("wrote more than 1 MiB to its standard error"), "\(m2)")
    }

    @Test func aFailingPluginsStderrIsMasked() async throws {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
        let m = await failure("echo 'cannot refresh: password=hunter2 \(token)' >&2\nexit 2")
        #expect(m.contains("exited with status 2: cannot refresh"), "\(m)")
        #expect(!m.contains("hunter2") && !m.contains(token), "\(m)")
    }

    @Test func anInvalidTimeoutSettingIsAnError() async throws {
        let m = await failure("echo '\(Self.credential)'", env: ["SGK_HELPER_TIMEOUT": "-3"])
        #expect(m.contains("SGK_HELPER_TIMEOUT must be a number of seconds greater than 0, not '-3'"), "\(m)")
    }
}

extension ExecPluginBoundsTests {
    @Test func aPluginKilledBySignalSaysSo() async throws {
        let m = await failure("kill -9 $$")
        #expect(m.hasSuffix("(user dev in /home/me/.kube/config): was killed by signal 9 (SIGKILL)"), "\(m)")
    }
}
