import Foundation
import SGKData
import SGKLanguage
import Testing
@testable import SGKPrimitives

/// `kubectl kustomize DIR`, `kubectl apply -k DIR`, `kubectl delete -k DIR`.
@Suite struct KubectlKustomizeOfflineTests {
    static func tree(_ temp: KubectlTempDir, ns: String) throws -> String {
        let dir = (temp.path as NSString).appendingPathComponent("k")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        namespace: \(ns)
        namePrefix: demo-
        resources: [app.yaml]
        configMapGenerator:
        - name: settings
          literals: [mode=fast]
        """.write(toFile: dir + "/kustomization.yaml", atomically: true, encoding: .utf8)
        try """
        apiVersion: v1
        kind: Namespace
        metadata: {name: \(ns)}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: runner}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: plain}
        stringData: {k: v}
        """.write(toFile: dir + "/app.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    @Test func kustomizeReturnsTheObjectsAndPrintsYAMLAsKubectl() async throws {
        let sgk = try SGKRun(kubeconfig: nil)
        let dir = try Self.tree(sgk.temp, ns: "kz")
        let v = try await sgk.run("kubectl kustomize \(dir) -o yaml")
        let names = (v.listValue ?? []).map { $0.json.at("metadata", "name")?.stringValue ?? "" }
        #expect(names == ["kz", "demo-runner", "demo-settings-t82mkhg8fd", "demo-plain"], "\(names)")
        #expect(sgk.out.text.hasPrefix("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kz\n---\n"), "\(sgk.out.text)")
        await sgk.close()
    }

    @Test func fileAndKustomizeTogetherIsAnError() async throws {
        let sgk = try SGKRun(kubeconfig: nil)
        let dir = try Self.tree(sgk.temp, ns: "kz")
        let m = await sgk.failure("kubectl apply -f \(dir)/app.yaml -k \(dir)")
        #expect(m?.contains("only one of -f or -k") == true, "\(m ?? "")")
        let d = await sgk.failure("kubectl delete -f \(dir)/app.yaml -k \(dir)")
        #expect(d?.contains("only one of -f or -k") == true, "\(d ?? "")")
        try sgk.temp.write("kustomization.yaml", "replicas: []\n")
        let e = await sgk.failure("kubectl kustomize \(sgk.temp.path)")
        #expect(e?.contains("'replicas'") == true && e?.contains("kustomization.yaml") == true, "\(e ?? "")")
        await sgk.close()
    }
}

@Suite(.enabled(if: KubeAudit.enabled), .serialized) struct KubectlKustomizePeerTests {
    var kubeconfig: String { KubectlPeer.kubeconfig ?? "" }

    /// apply -k creates, the re-apply writes nothing, delete -k removes every object it applied.
    @Test func applyReapplyAndDeleteAKustomization() async throws {
        let ns = KubectlPeer.uniqueName("sgk-kz")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let dir = try KubectlKustomizeOfflineTests.tree(sgk.temp, ns: ns)
        var out = sgk.out.text.count
        let first = try await sgk.run("kubectl apply -k \(dir) -o name")
        #expect((first.listValue ?? []).map { $0["action"]?.stringValue ?? "" } == ["created", "created", "created", "created"], "\(first)")
        #expect(String(sgk.out.text.dropFirst(out)).contains("configmap/demo-settings-t82mkhg8fd created"), "\(sgk.out.text)")
        let (st, cm, _) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "get", "configmap", "demo-settings-t82mkhg8fd", "-o", "jsonpath={.data.mode}"])
        #expect(st == 0 && cm == "fast")

        let mark = KubeAudit.mark()
        out = sgk.out.text.count
        let second = try await sgk.run("kubectl apply -k \(dir) -o name")
        #expect((second.listValue ?? []).allSatisfy { $0["action"]?.stringValue == "unchanged" }, "\(second)")
        #expect(try await KubeAudit.writes(since: mark, uri: "/namespaces/\(ns)").isEmpty)

        let deleted = try await sgk.run("kubectl delete -k \(dir) --timeout=60s")
        #expect((deleted.listValue ?? []).count == 4, "\(deleted)")
        let (st2, _, _) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "get", "serviceaccount", "demo-runner"])
        #expect(st2 != 0)
        await sgk.close()
    }
}
