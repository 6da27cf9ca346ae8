import Foundation
import Logging
import SGKData
import Testing
@testable import SGKKubernetes

@Suite struct KubeConfigTests {
    let caPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    func file(_ dir: TempDir, _ name: String, cluster: String, user: String, context: String, current: String?, ns: String? = nil, server: String = "https://127.0.0.1:6443") throws -> String {
        var t = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: \(cluster)
          cluster:
            server: \(server)
            certificate-authority: certs/ca.crt
        users:
        - name: \(user)
          user:
            token: tok-\(name)
        contexts:
        - name: \(context)
          context:
            cluster: \(cluster)
            user: \(user)

        """
        if let ns { t += "    namespace: \(ns)\n" }
        if let current { t += "current-context: \(current)\n" }
        try dir.write("\(name)/certs/ca.crt", caPEM)
        return try dir.write("\(name)/config", t)
    }

    @Test func mergesKUBECONFIGListWithFirstWins() throws {
        let dir = try TempDir()
        let a = try file(dir, "a", cluster: "shared", user: "u", context: "ctx-a", current: nil, ns: "team-a", server: "https://127.0.0.1:1111")
        let b = try file(dir, "b", cluster: "shared", user: "u", context: "ctx-b", current: "ctx-b", server: "https://127.0.0.1:2222")
        let c = try file(dir, "c", cluster: "other", user: "u2", context: "ctx-c", current: "ctx-c")
        let env = KubeEnvironment(variables: ["KUBECONFIG": "\(a):\(dir.path)/missing:\(b):\(c)"], homeDirectory: dir.path)
        let config = try KubeConfig.load(environment: env)
        #expect(config.currentContext == "ctx-b")   // first file that sets it
        #expect(config.clusters["shared"]?.server == "https://127.0.0.1:1111")  // first file wins
        #expect(config.users["u"]?.token == "tok-a")
        #expect(config.contexts.keys.sorted() == ["ctx-a", "ctx-b", "ctx-c"])
        #expect(config.files == [a, b, c])
        #expect(config.destinationFile == a)
        let t = try config.resolve()
        #expect(t.contextName == "ctx-b")
        #expect(t.namespace == "default")
        #expect(t.cluster.server == "https://127.0.0.1:1111")
        let ta = try config.resolve(context: "ctx-a")
        #expect(ta.namespace == "team-a")
        #expect(try config.resolve(context: "ctx-a", namespace: "x").namespace == "x")
        #expect(throws: KubeError.self) { try config.resolve(context: "nope") }
    }

    @Test func relativePathsResolveAgainstTheFilesDirectory() throws {
        let dir = try TempDir()
        let a = try file(dir, "a", cluster: "c", user: "u", context: "x", current: "x")
        let certPEM = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n"
        let keyPEM = "-----BEGIN EC PRIVATE KEY-----\nS0VZ\n-----END EC PRIVATE KEY-----\n"
        try dir.write("a/keys/client.crt", certPEM)
        try dir.write("a/keys/client.key", keyPEM)
        try dir.write("a/tok", "file-token\n")
        var text = try String(contentsOfFile: a, encoding: .utf8)
        text = text.replacingOccurrences(of: "    token: tok-a", with: "    client-certificate: keys/client.crt\n    client-key: ./keys/client.key\n    tokenFile: tok")
        try text.write(toFile: a, atomically: true, encoding: .utf8)
        let config = try KubeConfig.load(environment: KubeEnvironment(variables: [:], homeDirectory: dir.path), explicitPath: a)
        let t = try config.resolve()
        #expect(t.cluster.certificateAuthorityPath == "\(dir.path)/a/certs/ca.crt")
        #expect(t.cluster.certificateAuthorityData == Array(caPEM.utf8))
        #expect(t.user.clientCertificateData == Array(certPEM.utf8))
        #expect(t.user.clientKeyData == Array(keyPEM.utf8))
        #expect(t.user.tokenFile == "\(dir.path)/a/tok")
    }

    @Test func defaultsToHomeKubeConfig() throws {
        let dir = try TempDir()
        let text = try String(contentsOfFile: try file(dir, "x", cluster: "c", user: "u", context: "home", current: "home"), encoding: .utf8)
        try dir.write(".kube/config", text)
        try dir.write(".kube/certs/ca.crt", caPEM)
        let config = try KubeConfig.load(environment: KubeEnvironment(variables: [:], homeDirectory: dir.path))
        #expect(config.currentContext == "home")
        #expect(config.destinationFile == "\(dir.path)/.kube/config")
    }

    @Test func dataFieldsAndClusterOptions() throws {
        let dir = try TempDir()
        let ca = Data(caPEM.utf8).base64EncodedString()
        let p = try dir.write("config", """
        clusters:
        - name: c
          cluster:
            server: https://10.0.0.1:443/
            certificate-authority-data: \(ca)
            insecure-skip-tls-verify: true
            tls-server-name: kubernetes.default
            proxy-url: http://127.0.0.1:3128
        users:
        - name: basic
          user: {username: admin, password: secret}
        contexts:
        - {name: ctx, context: {cluster: c, user: basic, namespace: ns1}}
        current-context: ctx
        """)
        let t = try KubeConfig.parseFile(p).resolve()
        #expect(t.cluster.server == "https://10.0.0.1:443")
        #expect(t.cluster.certificateAuthorityData == Array(caPEM.utf8))
        #expect(t.cluster.insecureSkipTLSVerify)
        #expect(t.cluster.tlsServerName == "kubernetes.default")
        #expect(t.cluster.proxyURL == "http://127.0.0.1:3128")
        #expect(t.user.username == "admin" && t.user.password == "secret")
        #expect(t.namespace == "ns1")
    }

    @Test func badBase64IsAClearError() throws {
        let dir = try TempDir()
        let p = try dir.write("config", "clusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority-data: '@@@'\n")
        #expect(throws: KubeError.self) { try KubeConfig.parseFile(p) }
    }

    @Test func devNullIsAnEmptyConfigAndAMissingFileSaysSo() throws {
        // KUBECONFIG=/dev/null: read as empty (a character device, not a regular file), as kubectl does.
        #expect(try KubeConfig.parseFile("/dev/null").contexts.isEmpty)
        do {
            _ = try KubeConfig.parseFile("/nonexistent/sgk-kubeconfig")
            Issue.record("a missing file must be an error")
        } catch let e as KubeError {
            #expect("\(e)".contains("no such file"), "\(e)")
        }
    }

    @Test func noKubeconfigNamesWhereItLooked() throws {
        let dir = try TempDir()
        func message(_ variables: [String: String]) -> String {
            do {
                _ = try KubeConfig.load(environment: KubeEnvironment(variables: variables, homeDirectory: dir.path)).resolve()
                return "no error"
            } catch { return "\(error)" }
        }
        let one = message(["KUBECONFIG": "/nonexistent/a"])
        #expect(one.contains("KUBECONFIG names /nonexistent/a, which does not exist"), "\(one)")
        let two = message(["KUBECONFIG": "/nonexistent/a:/nonexistent/b"])
        #expect(two.contains("KUBECONFIG names /nonexistent/a, /nonexistent/b, none of which exists"), "\(two)")
        let home = message([:])
        #expect(home.contains("\(dir.path)/.kube/config does not exist"), "\(home)")
    }

    @Test func useContextRewritesOnlyTheCurrentContextLine() throws {
        let dir = try TempDir()
        let a = try file(dir, "a", cluster: "c", user: "u", context: "one", current: "one")
        let b = try file(dir, "b", cluster: "c2", user: "u2", context: "two", current: nil)
        var text = try String(contentsOfFile: a, encoding: .utf8)
        text = "# my comment\n" + text + "preferences: {}\n"
        try text.write(toFile: a, atomically: true, encoding: .utf8)
        let env = KubeEnvironment(variables: ["KUBECONFIG": "\(a):\(b)"], homeDirectory: dir.path)
        let config = try KubeConfig.load(environment: env)
        chmod(a, 0o600)
        let written = try config.useContext("two")
        #expect(written == a)
        // The file holds credentials: its mode is kept, not widened by the rewrite.
        #expect((try FileManager.default.attributesOfItem(atPath: a)[.posixPermissions] as? Int) == 0o600)
        let after = try String(contentsOfFile: a, encoding: .utf8)
        #expect(after.contains("# my comment"))
        #expect(after.contains("current-context: two"))
        #expect(!after.contains("current-context: one"))
        #expect(after.contains("preferences: {}"))
        #expect(try KubeConfig.load(environment: env).currentContext == "two")
        #expect(throws: KubeError.self) { try config.useContext("missing") }
        // Added when absent.
        #expect(KubeConfig.settingCurrentContext(in: "clusters: []\n", to: "a b") == "clusters: []\ncurrent-context: \"a b\"\n")
    }

    @Test func getContextsRendersLikeKubectl() throws {
        let dir = try TempDir()
        let a = try file(dir, "a", cluster: "c", user: "u", context: "one", current: "one", ns: "team")
        let out = try KubeConfig.parseFile(a).renderContexts()
        #expect(out == "CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE\n*         one    c         u          team\n")
    }

    @Test func inClusterConfigWithOverriddenPaths() throws {
        let dir = try TempDir()
        try dir.write("sa/token", "sa-token\n")
        try dir.write("sa/ca.crt", caPEM)
        try dir.write("sa/namespace", "operators\n")
        let env = KubeEnvironment(variables: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
                                  homeDirectory: dir.path, serviceAccountDirectory: "\(dir.path)/sa")
        let t = try KubeConfig.inCluster(environment: env)
        #expect(t.cluster.server == "https://10.96.0.1:443")
        #expect(t.cluster.certificateAuthorityData == Array(caPEM.utf8))
        #expect(t.user.tokenFile == "\(dir.path)/sa/token")
        #expect(t.namespace == "operators")
        var v6 = env
        v6.variables["KUBERNETES_SERVICE_HOST"] = "fd00::1"
        #expect(try KubeConfig.inCluster(environment: v6).cluster.server == "https://[fd00::1]:443")
        #expect(throws: KubeError.self) { try KubeConfig.inCluster(environment: KubeEnvironment(variables: [:], homeDirectory: dir.path)) }
    }

    @Test func execConfigIsParsedWithRelativeCommand() throws {
        let dir = try TempDir()
        let p = try dir.write("config", """
        clusters:
        - {name: c, cluster: {server: "https://127.0.0.1:1"}}
        users:
        - name: eks
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: ./bin/plugin
              args: ["eks", "get-token", "--cluster-name", "prod"]
              env: [{name: AWS_PROFILE, value: dev}]
              provideClusterInfo: true
              interactiveMode: Never
        contexts:
        - {name: ctx, context: {cluster: c, user: eks}}
        current-context: ctx
        """)
        let t = try KubeConfig.parseFile(p).resolve()
        let e = try #require(t.user.exec)
        #expect(e.command == "\(dir.path)/bin/plugin")
        #expect(e.argument(after: "--cluster-name") == "prod")
        #expect(e.envValue("AWS_PROFILE") == "dev")
        #expect(e.provideClusterInfo && e.interactiveMode == "Never")
        #expect(e.cluster?.server == "https://127.0.0.1:1")
    }
}

@Suite struct ExecPluginTests {
    func plugin(_ dir: TempDir, expiry: String?) throws -> ExecConfig {
        let counter = "\(dir.path)/count"
        let exp = expiry.map { ",\"expirationTimestamp\":\"\($0)\"" } ?? ""
        let script = try dir.write("plugin.sh", """
        #!/bin/sh
        n=$(cat "\(counter)" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\(counter)"
        printf '%s' "$KUBERNETES_EXEC_INFO" > "\(dir.path)/info.json"
        printf '%s' "$MY_VAR" > "\(dir.path)/var"
        echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-'$n'"\(exp)}}'
        """, executable: true)
        var cluster = ClusterConfig(name: "c", server: "https://127.0.0.1:6443", certificateAuthorityData: Array("PEM".utf8))
        cluster.raw = .object([:])
        return ExecConfig(apiVersion: "client.authentication.k8s.io/v1", command: script, args: ["a"],
                          env: [ExecEnvVar(name: "MY_VAR", value: "hello")], provideClusterInfo: true,
                          interactiveMode: "Never", cluster: cluster)
    }

    @Test func credentialsAreCachedUntilExpiry() async throws {
        let dir = try TempDir()
        let future = formatRFC3339(Date().addingTimeInterval(3600))
        let config = try plugin(dir, expiry: future)
        let cache = ExecCredentialCache(provider: nil, environment: KubeEnvironment(variables: ["PATH": "/usr/bin:/bin"], homeDirectory: dir.path), logger: Logger(label: "t"))
        let c1 = try await cache.credential(for: config)
        let c2 = try await cache.credential(for: config)
        #expect(c1.token == "tok-1")
        #expect(c2.token == "tok-1")
        // Past expiry (as seen from the future) the plugin runs again.
        let c3 = try await cache.credential(for: config, now: Date().addingTimeInterval(7200))
        #expect(c3.token == "tok-2")
        await cache.invalidate(config)
        #expect(try await cache.credential(for: config).token == "tok-3")
        let info = try JSONCodec.parse(String(contentsOfFile: "\(dir.path)/info.json", encoding: .utf8))
        #expect(info.at("spec", "cluster", "server")?.stringValue == "https://127.0.0.1:6443")
        #expect(info.at("spec", "cluster", "certificate-authority-data")?.stringValue == Data("PEM".utf8).base64EncodedString())
        #expect(info.at("spec", "interactive")?.boolValue == false)
        #expect(try String(contentsOfFile: "\(dir.path)/var", encoding: .utf8) == "hello")
    }

    @Test func expiredCredentialIsRefreshedAndNoExpiryIsCachedForever() async throws {
        let dir = try TempDir()
        let config = try plugin(dir, expiry: nil)
        let cache = ExecCredentialCache(provider: nil, environment: KubeEnvironment(variables: [:], homeDirectory: dir.path), logger: Logger(label: "t"))
        #expect(try await cache.credential(for: config).token == "tok-1")
        #expect(try await cache.credential(for: config, now: Date().addingTimeInterval(86400)).token == "tok-1")
    }

    @Test func inProcessProviderIsConsultedFirst() async throws {
        let dir = try TempDir()
        let config = try plugin(dir, expiry: nil)
        let cache = ExecCredentialCache(provider: { cfg in
            cfg.args.first == "a" ? ExecCredential(token: "native") : nil
        }, environment: KubeEnvironment(variables: [:], homeDirectory: dir.path), logger: Logger(label: "t"))
        #expect(try await cache.credential(for: config).token == "native")
        #expect(!FileManager.default.fileExists(atPath: "\(dir.path)/count"))
    }

    @Test func failingPluginIsAClearError() async throws {
        let dir = try TempDir()
        let script = try dir.write("bad.sh", "#!/bin/sh\necho 'no credentials configured' >&2\nexit 3\n", executable: true)
        let cfg = ExecConfig(apiVersion: "client.authentication.k8s.io/v1beta1", command: script, interactiveMode: "Never")
        do {
            _ = try await ExecPluginRunner.run(cfg, environment: KubeEnvironment(variables: [:], homeDirectory: dir.path), logger: Logger(label: "t"))
            Issue.record("expected an error")
        } catch let e as KubeError {
            #expect(e.description.contains("exited with status 3"))
            #expect(e.description.contains("no credentials configured"))
        }
        let missing = ExecConfig(apiVersion: "client.authentication.k8s.io/v1", command: "no-such-plugin-xyz", installHint: "install it")
        await #expect(throws: KubeError.self) {
            _ = try await ExecPluginRunner.run(missing, environment: KubeEnvironment(variables: ["PATH": dir.path], homeDirectory: dir.path), logger: Logger(label: "t"))
        }
    }

    @Test func parsesExecCredentialDocuments() throws {
        let c = try ExecCredential.parse(#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"k8s-aws-v1.abc","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#,
                                         expectedAPIVersion: "client.authentication.k8s.io/v1beta1")
        #expect(c.token == "k8s-aws-v1.abc")
        #expect(c.expirationTimestamp == parseRFC3339("2030-01-02T03:04:05Z"))
        #expect(throws: KubeError.self) { try ExecCredential.parse("{\"kind\":\"Other\"}", expectedAPIVersion: "x") }
        let doc = c.document()
        #expect(doc.at("status", "token")?.stringValue == "k8s-aws-v1.abc")
        #expect(doc.at("status", "expirationTimestamp")?.stringValue == "2030-01-02T03:04:05Z")
    }
}
