import Foundation
import Logging
import NIOHTTP1
import SGKData
import Testing
@testable import SGKKubernetes

/// Integration tests against the local kube-apiserver peer (`tools/kube-peer.sh`).
/// `SGK_TEST_KUBECONFIG`: the token-user kubeconfig of a default peer (with `kubeconfig-cert`,
/// `token` beside it); `SGK_TEST_KUBECONFIG_NO_V1BETA1`: one started with `--no-v1beta1`.
enum Peer {
    static let kubeconfig = ProcessInfo.processInfo.environment["SGK_TEST_KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    static let kubeconfigNoV1beta1 = ProcessInfo.processInfo.environment["SGK_TEST_KUBECONFIG_NO_V1BETA1"].flatMap { $0.isEmpty ? nil : $0 }
    static var enabled: Bool { kubeconfig != nil }
    static var noV1beta1Enabled: Bool { kubeconfigNoV1beta1 != nil }

    static func environment(_ extra: [String: String] = [:]) -> KubeEnvironment {
        var v = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        for (k, x) in extra { v[k] = x }
        return KubeEnvironment(variables: v, homeDirectory: NSTemporaryDirectory())
    }

    static func client(_ path: String, logger: Logger = Logger(label: "sgk.kube.test"),
                       provider: ExecTokenProvider? = nil, env: [String: String] = [:]) throws -> KubeClient {
        try KubeClient.fromEnvironment(environment(env), kubeconfig: path, execTokenProvider: provider, logger: logger)
    }

    static func with<T>(_ path: String, _ body: (KubeClient) async throws -> T) async throws -> T {
        let c = try client(path)
        do {
            let r = try await body(c)
            await c.shutdown()
            return r
        } catch {
            await c.shutdown()
            throw error
        }
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().prefix(8))"
    }

    static func token(besides kubeconfig: String) throws -> String {
        let p = ((kubeconfig as NSString).deletingLastPathComponent as NSString).appendingPathComponent("token")
        return try String(contentsOfFile: p, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func kubectl(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Creates a namespace, runs body, deletes the namespace.
    static func inNamespace<T>(_ client: KubeClient, _ prefix: String, _ body: (String) async throws -> T) async throws -> T {
        let ns = uniqueName(prefix)
        let nsRes = try await client.resource(kind: "Namespace", apiVersion: "v1")
        _ = try await client.create(nsRes, .object(["apiVersion": .string("v1"), "kind": .string("Namespace"),
                                                    "metadata": .object(["name": .string(ns)])]))
        do {
            let r = try await body(ns)
            _ = try? await client.delete(nsRes, name: ns)
            return r
        } catch {
            _ = try? await client.delete(nsRes, name: ns)
            throw error
        }
    }

    /// Marks pods Ready through the status subresource (the peer has no kubelet).
    static func readyPods(_ client: KubeClient, namespace: String, selector: String) async throws -> Int {
        let pods = try await client.resolveResource("pods")
        let items = try await client.list(pods, namespace: namespace, labelSelector: selector)
        let now = formatRFC3339(Date())
        for p in items {
            guard let name = p.at("metadata", "name")?.stringValue else { continue }
            let cond: (String) -> JSON = { t in .object(["type": .string(t), "status": .string("True"), "lastTransitionTime": .string(now)]) }
            let patch: JSON = .object(["status": .object([
                "phase": .string("Running"),
                "conditions": .array([cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")]),
            ])])
            _ = try await client.patch(pods, name: name, namespace: namespace, patch: patch, subresource: "status")
        }
        return items.count
    }
}

@Suite(.enabled(if: Peer.enabled), .serialized) struct PeerAuthTests {
    @Test func tokenUserVersionDiscoveryAndAPIResources() async throws {
        let path = try #require(Peer.kubeconfig)
        try await Peer.with(path) { c in
            let v = try await c.serverVersion()
            #expect(v["gitVersion"]?.stringValue?.hasPrefix("v1.") == true)
            let crd = try await c.resolveResource("crd")
            #expect(crd.kind == "CustomResourceDefinition")
            #expect(try await c.resolveResource("deploy").qualifiedName == "deployments.apps")
            let all = try await c.apiResources()
            #expect(all.contains { $0.name == "pods" && $0.shortNames == ["po"] })
            let text = renderAPIResources(all)
            #expect(text.hasPrefix("NAME"))
            let nsList = try await c.list(c.resolveResource("ns"))
            #expect(nsList.contains { $0.at("metadata", "name")?.stringValue == "default" })
            #expect(nsList.first?["kind"]?.stringValue == "Namespace")
        }
    }

    @Test func clientCertificateUser() async throws {
        let path = try #require(Peer.kubeconfig)
        let certPath = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("kubeconfig-cert")
        try #require(FileManager.default.fileExists(atPath: certPath))
        try await Peer.with(certPath) { c in
            #expect(c.target.user.clientCertificateData != nil && c.target.user.token == nil)
            let ns = try await c.get("namespace", name: "default")
            #expect(ns.at("metadata", "name")?.stringValue == "default")
        }
    }

    @Test func execPluginUserAndInProcessProvider() async throws {
        let path = try #require(Peer.kubeconfig)
        let token = try Peer.token(besides: path)
        let base = try KubeConfig.parseFile(path)
        let target = try base.resolve()
        let dir = try TempDir()
        let calls = "\(dir.path)/calls"
        try dir.write("plugin.sh", """
        #!/bin/sh
        echo x >> "\(calls)"
        cat <<JSON
        {"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"\(token)","expirationTimestamp":"2099-01-01T00:00:00Z"}}
        JSON
        """, executable: true)
        let ca = Data(target.cluster.certificateAuthorityData ?? []).base64EncodedString()
        let kc = try dir.write("kubeconfig", """
        apiVersion: v1
        kind: Config
        clusters:
        - name: peer
          cluster: {server: "\(target.cluster.server)", certificate-authority-data: "\(ca)"}
        users:
        - name: exec-user
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: ./plugin.sh
              interactiveMode: Never
              provideClusterInfo: true
        contexts:
        - {name: exec, context: {cluster: peer, user: exec-user}}
        current-context: exec
        """)
        let c = try Peer.client(kc)
        do {
            for _ in 0..<3 { _ = try await c.get("ns", name: "default") }
            await c.shutdown()
        } catch { await c.shutdown(); throw error }
        let lines = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1, "the credential is cached until its expiry")

        // The in-process hook is consulted first: the plugin is not run.
        try FileManager.default.removeItem(atPath: calls)
        let c2 = try Peer.client(kc, provider: { cfg in
            cfg.command.hasSuffix("plugin.sh") ? ExecCredential(token: token, expirationTimestamp: Date().addingTimeInterval(840)) : nil
        })
        do {
            _ = try await c2.get("ns", name: "default")
            await c2.shutdown()
        } catch { await c2.shutdown(); throw error }
        #expect(!FileManager.default.fileExists(atPath: calls))
    }

    @Test func tlsServerNameAndInsecureSkipVerify() async throws {
        let path = try #require(Peer.kubeconfig)
        let base = try KubeConfig.parseFile(path).resolve()
        let env = KubeClientOptions(environment: Peer.environment())
        func tryVersion(_ t: KubeTarget) async -> Result<JSON, Error> {
            do {
                let c = try KubeClient(target: t, options: env)
                do {
                    let v = try await c.serverVersion()
                    await c.shutdown()
                    return .success(v)
                } catch { await c.shutdown(); return .failure(error) }
            } catch { return .failure(error) }
        }
        // The serving certificate names localhost: verify against it while connecting to 127.0.0.1.
        var named = base
        named.cluster.tlsServerName = "localhost"
        if case .failure(let e) = await tryVersion(named) { Issue.record("tls-server-name localhost: \(e)") }
        // (A wrong name cannot be shown to fail here: NIOSSL also accepts the certificate's IP SAN
        // when it matches the connected address, and the peer's certificate has IP:127.0.0.1.)
        // No CA: verification fails; with insecure-skip-tls-verify it succeeds.
        var noCA = base
        noCA.cluster.certificateAuthorityData = nil
        if case .success = await tryVersion(noCA) { Issue.record("the peer's CA is not a system root") }
        noCA.cluster.insecureSkipTLSVerify = true
        if case .failure(let e) = await tryVersion(noCA) { Issue.record("insecure-skip-tls-verify: \(e)") }
    }

    @Test func mergedKubeconfigList() async throws {
        let path = try #require(Peer.kubeconfig)
        let base = try KubeConfig.parseFile(path)
        let target = try base.resolve()
        let dir = try TempDir()
        let first = try dir.write("first", """
        contexts:
        - {name: merged, context: {cluster: "\(target.cluster.name)", user: "\(target.user.name)", namespace: kube-system}}
        current-context: merged
        """)
        let env = Peer.environment(["KUBECONFIG": "\(first):\(dir.path)/absent:\(path)"])
        let c = try KubeClient.fromEnvironment(env)
        do {
            #expect(c.target.contextName == "merged")
            #expect(c.defaultNamespace == "kube-system")
            let sa = try await c.resolveResource("sa")
            _ = try await c.list(sa)
            await c.shutdown()
        } catch { await c.shutdown(); throw error }
    }

    @Test func wrongTokenIsAClear401WithoutTheToken() async throws {
        let path = try #require(Peer.kubeconfig)
        var target = try KubeConfig.parseFile(path).resolve()
        let bad = "wrong-token-\(UUID().uuidString)"
        target.user.token = bad
        let store = CapturingLogHandler.Store()
        let logger = Logger(label: "capture") { _ in CapturingLogHandler(store: store) }
        let c = try KubeClient(target: target, options: KubeClientOptions(environment: Peer.environment()), logger: logger)
        do {
            _ = try await c.serverVersion()
            Issue.record("expected 401")
        } catch let e as KubeError {
            #expect(e.httpStatus == 401)
            let text = "\(e)"
            #expect(text.contains("HTTP 401"))
            #expect(text.contains("the token or client certificate was rejected: check the kubeconfig user (context \(target.contextName))"))
            #expect(!text.contains(bad))
        }
        await c.shutdown()
        #expect(!store.all.joined().contains(bad))
    }
}

/// Records what an apply tells its observer.
final class RecordingObserver: ApplyObserver, @unchecked Sendable {
    struct Event: Equatable { var name: String; var created: Bool; var outcome: String }
    let lock = NSLock()
    var started: [Int: ApplyWrite] = [:]
    var events: [Event] = []
    var next = 0

    func willWrite(_ write: ApplyWrite) -> Int {
        lock.lock(); defer { lock.unlock() }
        next += 1
        started[next] = write
        return next
    }

    func didWrite(_ token: Int, _ outcome: Result<(object: JSON, action: ApplyAction), any Error>) {
        lock.lock(); defer { lock.unlock() }
        guard let w = started.removeValue(forKey: token) else { return }
        let text: String
        switch outcome {
        case .success(let r): text = r.action.rawValue
        case .failure: text = "failed"
        }
        events.append(Event(name: w.name, created: w.before == nil, outcome: text))
    }

    func take() -> [Event] {
        lock.lock(); defer { lock.unlock() }
        defer { events = [] }
        return events.sorted { $0.name < $1.name }
    }
}

@Suite(.enabled(if: Peer.enabled)) struct PeerObjectTests {
    @Test func applyTellsItsObserverOfEachWriteBeforeAndAfter() async throws {
        let path = try #require(Peer.kubeconfig)
        try await Peer.with(path) { c in
            try await Peer.inNamespace(c, "sgk-observe") { ns in
                let seen = RecordingObserver()
                var opts = ApplyOptions()
                opts.namespace = ns
                opts.observer = seen
                let a = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: '1'}")
                let b = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: '1'}")
                _ = try await c.apply([a, b], options: opts)
                #expect(seen.take() == [.init(name: "a", created: true, outcome: "created"), .init(name: "b", created: true, outcome: "created")])
                // Nothing to write: not a write.
                _ = try await c.apply([a, b], options: opts)
                #expect(seen.take().isEmpty)
                // An update: the state before goes with it.
                let a2 = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: '2'}")
                _ = try await c.apply([a2], options: opts)
                #expect(seen.take() == [.init(name: "a", created: false, outcome: "configured")])
                // A write the server refuses is told as failed.
                let bad = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\ndata: {k: '1'}")
                await #expect(throws: KubeError.self) { _ = try await c.apply([bad], options: opts) }
                #expect(seen.take() == [.init(name: "Bad_Name", created: true, outcome: "failed")])
                // A dry run makes no write to tell of.
                var dry = opts
                dry.dryRun = true
                let d = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {k: '1'}")
                _ = try await c.apply([d], options: dry)
                #expect(seen.take().isEmpty)
                // Client-side apply is told the same way.
                var csa = opts
                csa.clientSide = true
                let e = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\ndata: {k: '1'}")
                _ = try await c.apply([e], options: csa)
                #expect(seen.take() == [.init(name: "e", created: true, outcome: "created")])
            }
        }
    }

    @Test func getListSelectorsTablesAndNames() async throws {
        let path = try #require(Peer.kubeconfig)
        try await Peer.with(path) { c in
            try await Peer.inNamespace(c, "sgk-get") { ns in
                var docs: [JSON] = []
                for (i, tier) in ["web", "web", "db"].enumerated() {
                    docs.append(try obj("""
                    apiVersion: v1
                    kind: ConfigMap
                    metadata: {name: cm-\(i), labels: {tier: \(tier)}}
                    data: {index: "\(i)"}
                    """))
                }
                var opts = ApplyOptions()
                opts.namespace = ns
                let report = try await c.apply(docs, options: opts)
                #expect(report.results.map(\.action) == [.created, .created, .created])
                #expect(report.results.allSatisfy { $0.namespace == ns })
                let cm = try await c.resolveResource("cm")
                let web = try await c.list(cm, namespace: ns, labelSelector: "tier=web")
                #expect(web.count == 2)
                let one = try await c.list(cm, namespace: ns, fieldSelector: "metadata.name=cm-2")
                #expect(one.count == 1 && one.first?.at("data", "index")?.stringValue == "2")
                let all = try await c.list(cm, allNamespaces: true, labelSelector: "tier=db")
                #expect(all.contains { $0.at("metadata", "namespace")?.stringValue == ns })
                let got = try await c.get(cm, name: "cm-0", namespace: ns)
                #expect(got["kind"]?.stringValue == "ConfigMap")
                #expect(try await c.nameOutput(web) == ["configmap/cm-0", "configmap/cm-1"])
                let table = try await c.table(cm, namespace: ns)
                #expect(table.columns.first?.name == "Name")
                let text = table.render()
                #expect(text.hasPrefix("NAME "))
                #expect(text.contains("\ncm-0 "))
                #expect(table.rows().contains { $0["NAME"] == "cm-2" && $0["DATA"] == "1" })
                let missing = try await c.getIfExists(cm, name: "nope", namespace: ns)
                #expect(missing == nil)
                do {
                    _ = try await c.get(cm, name: "nope", namespace: ns)
                    Issue.record("expected 404")
                } catch let e as KubeError {
                    #expect(e.isNotFound && e.reason == "NotFound")
                }
                // 409 AlreadyExists on create.
                do {
                    _ = try await c.create(cm, docs[0], namespace: ns)
                    Issue.record("expected 409")
                } catch let e as KubeError {
                    #expect(e.httpStatus == 409 && e.reason == "AlreadyExists")
                }
                // Delete with wait.
                let existed = try await c.delete(cm, name: "cm-1", namespace: ns, waitTimeout: 30)
                #expect(existed)
                #expect(try await c.getIfExists(cm, name: "cm-1", namespace: ns) == nil)
                #expect(try await c.delete(cm, name: "cm-1", namespace: ns) == false)
            }
        }
    }

    @Test func waitForConditionRolloutAndClientSideApply() async throws {
        let path = try #require(Peer.kubeconfig)
        try await Peer.with(path) { c in
            try await Peer.inNamespace(c, "sgk-wait") { ns in
                let dep = try obj("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: \(ns), labels: {app: web}}
                spec:
                  replicas: 1
                  selector: {matchLabels: {app: web}}
                  template:
                    metadata: {labels: {app: web}}
                    spec:
                      containers:
                      - name: web
                        image: nginx
                        ports: [{containerPort: 80, name: http}]
                """)
                let r = try await c.apply([dep])
                #expect(r.results.first?.action == .created)
                let deployRes = try await c.resolveResource("deployments.apps")
                let messages = Locked<[String]>([])
                // Pods stay Pending on the peer until marked Ready.
                let readier = Task {
                    for _ in 0..<100 {
                        if try await Peer.readyPods(c, namespace: ns, selector: "app=web") > 0 { return }
                        try await Task.sleep(nanoseconds: 200_000_000)
                    }
                }
                let final = try await c.rolloutStatus(deployment: "web", namespace: ns, timeout: 60) { m in
                    messages.set(messages.get() + [m])
                }
                try await readier.value
                #expect(final == "deployment \"web\" successfully rolled out")
                #expect(!messages.get().isEmpty)
                let available = try await c.wait(deployRes, name: "web", namespace: ns,
                                                 for: .condition(type: "Available", status: "True"), timeout: 30)
                #expect(available?.at("status", "availableReplicas")?.intValue == 1)
                let byLabel = try await c.wait(deployRes, labelSelector: "app=web", namespace: ns,
                                               for: .condition(type: "Available", status: "True"), timeout: 30)
                #expect(byLabel.count == 1)
                await #expect(throws: KubeError.self) {
                    try await c.wait(deployRes, labelSelector: "app=none", namespace: ns, for: .condition(type: "Available", status: "True"), timeout: 5)
                }
                let pods = try await c.resolveResource("po")
                let pod = try #require(try await c.list(pods, namespace: ns, labelSelector: "app=web").first)
                let podName = try #require(pod.at("metadata", "name")?.stringValue)
                _ = try await c.wait(pods, name: podName, namespace: ns, for: try .parse("jsonpath={.status.phase}=Running"), timeout: 10)
                // A condition that never holds times out, boundedly.
                let started = Date()
                await #expect(throws: KubeError.self) {
                    try await c.wait(deployRes, name: "web", namespace: ns, for: .condition(type: "Nope", status: "True"), timeout: 2)
                }
                #expect(Date().timeIntervalSince(started) < 10)

                // Client-side apply: create, unchanged, configured.
                var opts = ApplyOptions()
                opts.clientSide = true
                let cm = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa, namespace: \(ns)}\ndata: {a: '1', b: '2'}")
                #expect(try await c.apply([cm], options: opts).results.first?.action == .created)
                #expect(try await c.apply([cm], options: opts).results.first?.action == .unchanged)
                let cm2 = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: csa, namespace: \(ns)}\ndata: {a: '1', c: '3'}")
                let r2 = try await c.apply([cm2], options: opts)
                #expect(r2.results.first?.action == .configured)
                #expect(r2.results.first?.object["data"] == (try obj("{a: '1', c: '3'}")))

                // Dry run changes nothing.
                var dry = ApplyOptions()
                dry.dryRun = true
                let cm3 = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: \(ns)}\ndata: {a: '1'}")
                let rd = try await c.apply([cm3], options: dry)
                #expect(rd.results.first?.line == "configmap/dry created (server dry run)")
                #expect(try await c.getIfExists(c.resolveResource("cm"), name: "dry", namespace: ns) == nil)
            }
        }
    }
}

/// The real installer on a peer: apply, re-apply (unchanged), kubectl cross-check, a custom
/// resource of a just-applied CRD, printer columns, then removal.
enum InstallerScenario {
    static func run(kubeconfig: String, expectConversion: Bool) async throws {
        let docs = try Fixtures.documents("installer.yaml")
        #expect(docs.count == 18)
        try await Peer.with(kubeconfig) { c in
            let servesV1beta1 = try await c.serves("apiextensions.k8s.io/v1beta1")
            #expect(servesV1beta1 == !expectConversion)
            let started = Date()
            var waitOpts = ApplyOptions()
            waitOpts.waitForCRDs = true
            let first = try await c.apply(docs, options: waitOpts)
            let elapsed = Date().timeIntervalSince(started)
            #expect(first.results.count == 18)
            #expect(first.notices.filter { $0.hasPrefix("converted CustomResourceDefinition") }.count == (expectConversion ? 8 : 0))
            print("installer applied in \(Int(elapsed * 1000)) ms: \(first.results.map(\.line).joined(separator: ", "))")
            let crdResults = first.results.filter { $0.kind == "CustomResourceDefinition" }
            #expect(crdResults.count == 8)
            #expect(crdResults.allSatisfy { $0.apiVersion == (expectConversion ? "apiextensions.k8s.io/v1" : "apiextensions.k8s.io/v1beta1") })
            let svc = try #require(first.results.first { $0.kind == "Service" })
            #expect(svc.object.at("spec", "ports")?[0]?["protocol"]?.stringValue == "TCP")

            // Re-apply: everything unchanged, resourceVersions kept.
            try await Task.sleep(nanoseconds: 1_000_000_000)  // let controllers settle (CRD status, SA token)
            var before: [String?] = []
            for r in first.results {
                let res = try await c.resource(kind: r.kind, apiVersion: r.apiVersion)
                before.append(try await c.get(res, name: r.name, namespace: r.namespace).at("metadata", "resourceVersion")?.stringValue)
            }
            let second = try await c.apply(docs)
            #expect(second.results.map(\.action) == Array(repeating: ApplyAction.unchanged, count: 18))
            for (i, b) in second.results.enumerated() where b.kind != "Deployment" {
                #expect(before[i] == b.object.at("metadata", "resourceVersion")?.stringValue, "\(b.line)")
            }

            // CRDs established; cross-check with the real kubectl.
            let crdRes = try await c.resolveResource("crd")
            for r in crdResults {
                let crd = try await c.get(crdRes, name: r.name)
                #expect(WaitCondition.condition(type: "Established", status: "True").check(crd).met)
            }
            let (status, out) = try Peer.kubectl(["--kubeconfig", kubeconfig, "get", "-o", "json",
                                                  "customresourcedefinitions.\(expectConversion ? "v1" : "v1beta1").apiextensions.k8s.io/trainingjobs.sagemaker.aws.amazon.com",
                                                  "-n", "sagemaker-k8s-operator-system", "deployment/sagemaker-k8s-operator-controller-manager",
                                                  "service/sagemaker-k8s-operator-controller-manager-metrics-service"])
            #expect(status == 0, "\(out)")
            if status == 0 {
                let list = try JSONCodec.parse(out)
                let items = list["items"]?.arrayValue ?? []
                #expect(items.count == 3)
                for item in items {
                    let name = item.at("metadata", "name")?.stringValue
                    let ours = try #require(second.results.first { $0.name == name })
                    #expect(item.at("metadata", "resourceVersion") == ours.object.at("metadata", "resourceVersion"))
                    #expect(canonical(item["spec"] ?? .null) == canonical(ours.object["spec"] ?? .null), "\(ours.line)")
                }
            }

            // A custom resource of a just-applied CRD, in its own namespace.
            try await Peer.inNamespace(c, "sgk-cr") { ns in
                let tj = try Fixtures.documents("sample-trainingjob.yaml")
                var opts = ApplyOptions()
                opts.namespace = ns
                let r = try await c.apply(tj, options: opts)
                #expect(r.results.first?.line == "trainingjob.sagemaker.aws.amazon.com/xgboost-mnist created")
                let res = try await c.resolveResource("trainingjob.sagemaker.aws.amazon.com")
                #expect(res.kind == "TrainingJob" && res.namespaced)
                let got = try await c.get(res, name: "xgboost-mnist", namespace: ns)
                #expect(got.at("spec", "region")?.stringValue == "us-west-2")
                #expect(got.at("spec", "hyperParameters")?.arrayValue?.count == 8)
                let table = try await c.table(res, namespace: ns)
                let headers = table.columns.filter { $0.priority == 0 }.map { $0.name.uppercased() }
                #expect(headers.first == "NAME")
                #expect(headers.contains("STATUS"))
                #expect(try await c.apply(tj, options: opts).results.first?.action == .unchanged)
                // Status subresource + wait on a jsonpath.
                _ = try await c.patch(res, name: "xgboost-mnist", namespace: ns,
                                      patch: .object(["status": .object(["trainingJobStatus": .string("InProgress")])]),
                                      subresource: "status")
                let w = try await c.wait(res, name: "xgboost-mnist", namespace: ns,
                                         for: .jsonPath(path: "{.status.trainingJobStatus}", value: "InProgress"), timeout: 10)
                #expect(w != nil)
                #expect(try await c.delete(res, name: "xgboost-mnist", namespace: ns, waitTimeout: 30))
            }

            // Operator rollout (pods marked Ready by hand).
            let readier = Task {
                for _ in 0..<100 {
                    if try await Peer.readyPods(c, namespace: "sagemaker-k8s-operator-system", selector: "control-plane=controller-manager") > 0 { return }
                    try await Task.sleep(nanoseconds: 200_000_000)
                }
            }
            let msg = try await c.rolloutStatus(deployment: "sagemaker-k8s-operator-controller-manager",
                                                namespace: "sagemaker-k8s-operator-system", timeout: 60)
            try await readier.value
            #expect(msg.contains("successfully rolled out"))

            // Clean up: everything the installer made, in reverse order.
            for r in second.results.reversed() {
                let res = try await c.resource(kind: r.kind, apiVersion: r.apiVersion)
                _ = try? await c.delete(res, name: r.name, namespace: r.namespace)
            }
        }
    }
}

/// The installer, then its variants, one after the other: they share cluster-scoped CRDs.
@Suite(.enabled(if: Peer.enabled), .serialized) struct PeerInstallerTests {
    @Test func installerOnDefaultPeer() async throws {
        try await InstallerScenario.run(kubeconfig: try #require(Peer.kubeconfig), expectConversion: false)
    }

    @Test func variantsOnDefaultPeer() async throws {
        try await VariantScenario.run(kubeconfig: try #require(Peer.kubeconfig), expectConversion: false)
    }
}

@Suite(.enabled(if: Peer.noV1beta1Enabled), .serialized) struct PeerInstallerNoV1beta1Tests {
    @Test func installerOnPeerWithoutV1beta1ConvertsCRDs() async throws {
        try await InstallerScenario.run(kubeconfig: try #require(Peer.kubeconfigNoV1beta1), expectConversion: true)
    }

    @Test func variantsOnPeerWithoutV1beta1() async throws {
        try await VariantScenario.run(kubeconfig: try #require(Peer.kubeconfigNoV1beta1), expectConversion: true)
    }
}
