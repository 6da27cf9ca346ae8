import Foundation
import SGKData
import Testing
@testable import SGKKubernetes

/// Timing against the real kubectl (run alone, `--filter PeerBenchmarkTests`, with `SGK_TEST_BENCH=1`
/// and a peer; it re-creates the installer objects, so not concurrently with PeerInstallerTests): the installer
/// (vs `kubectl apply -f`) and a 1,000-object manifest (vs `kubectl apply --server-side`).
@Suite(.enabled(if: Peer.enabled && ProcessInfo.processInfo.environment["SGK_TEST_BENCH"] != nil), .serialized)
struct PeerBenchmarkTests {
    static func manifest(namespace: String, count: Int) -> String {
        var s = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \(namespace)\n"
        for i in 0..<count {
            switch i % 4 {
            case 0:
                s += "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-\(i)\n  namespace: \(namespace)\n  labels: {bench: \"yes\"}\ndata:\n  key: value-\(i)\n"
            case 1:
                s += "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: secret-\(i)\n  namespace: \(namespace)\ntype: Opaque\ndata:\n  password: cGFzcw==\n"
            case 2:
                s += "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-\(i)\n  namespace: \(namespace)\n"
            default:
                s += "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: role-\(i)\n  namespace: \(namespace)\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]\n"
            }
        }
        return s
    }

    static func cpu() -> Double {
        var u = rusage()
        _ = getrusage(Int32(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    func time(_ f: () async throws -> Void) async rethrows -> Double {
        let t = Date()
        try await f()
        return Date().timeIntervalSince(t)
    }

    @Test func thousandObjectsVersusKubectlServerSide() async throws {
        let path = try #require(Peer.kubeconfig)
        let dir = try TempDir()
        let nsOurs = Peer.uniqueName("bench-sgk"), nsKubectl = Peer.uniqueName("bench-kubectl")
        let ours = try YAMLCodec.parseDocuments(Self.manifest(namespace: nsOurs, count: 1000))
        let kubectlFile = try dir.write("m.yaml", Self.manifest(namespace: nsKubectl, count: 1000))
        try await Peer.with(path) { c in
            var opts = ApplyOptions()
            opts.concurrency = Int(ProcessInfo.processInfo.environment["SGK_BENCH_CONCURRENCY"] ?? "") ?? 8
            let cpu0 = Self.cpu()
            let tOurs = try await time { _ = try await c.apply(ours, options: opts) }
            print("BENCH client CPU for 1000-object apply: \(Int((Self.cpu() - cpu0) * 1000)) ms")
            let tKubectl = try await time {
                let (rc, out) = try Peer.kubectl(["--kubeconfig", path, "apply", "--server-side", "-f", kubectlFile])
                #expect(rc == 0, "\(out.suffix(300))")
            }
            let tAgain = try await time {
                let r = try await c.apply(ours, options: opts)
                let changed = r.results.filter { $0.action != .unchanged }
                #expect(changed.isEmpty, "\(changed.prefix(3).map(\.line)) \(changed.first.map { JSONCodec.serialize($0.object) } ?? "")")
            }
            print("BENCH 1000 objects (concurrency \(opts.concurrency)): sgk \(Int(tOurs * 1000)) ms (re-apply \(Int(tAgain * 1000)) ms), kubectl --server-side \(Int(tKubectl * 1000)) ms, ratio \(String(format: "%.1f", tKubectl / tOurs))x")
            let ns = try await c.resolveResource("ns")
            _ = try? await c.delete(ns, name: nsOurs)
            _ = try? await c.delete(ns, name: nsKubectl)
        }
    }

    @Test func installerVersusKubectlApply() async throws {
        let path = try #require(Peer.kubeconfig)
        let docs = try Fixtures.documents("installer.yaml")
        try await Peer.with(path) { c in
            // Start clean.
            for d in docs.reversed() {
                let ref = try ObjectRef(d)
                if let r = try? await c.resource(kind: ref.kind, apiVersion: ref.apiVersion) {
                    _ = try? await c.delete(r, name: ref.name, namespace: ref.namespace ?? "sagemaker-k8s-operator-system")
                }
            }
            let nsRes = try await c.resolveResource("ns")
            _ = try? await c.wait(nsRes, name: "sagemaker-k8s-operator-system", for: .deleted, timeout: 60)
            let tOurs = try await time { _ = try await c.apply(docs) }
            for d in docs.reversed() {
                let ref = try ObjectRef(d)
                if let r = try? await c.resource(kind: ref.kind, apiVersion: ref.apiVersion) {
                    _ = try? await c.delete(r, name: ref.name, namespace: ref.namespace ?? "sagemaker-k8s-operator-system")
                }
            }
            _ = try? await c.wait(nsRes, name: "sagemaker-k8s-operator-system", for: .deleted, timeout: 60)
            let crd = try await c.resolveResource("crd")
            for d in docs where d["kind"]?.stringValue == "CustomResourceDefinition" {
                _ = try? await c.wait(crd, name: d.at("metadata", "name")?.stringValue ?? "", for: .deleted, timeout: 60)
            }
            let tKubectl = try await time {
                let (rc, out) = try Peer.kubectl(["--kubeconfig", path, "apply", "-f", Fixtures.directory + "/installer.yaml"])
                #expect(rc == 0, "\(out.suffix(300))")
            }
            print("BENCH installer: sgk \(Int(tOurs * 1000)) ms, kubectl apply \(Int(tKubectl * 1000)) ms, ratio \(String(format: "%.1f", tKubectl / tOurs))x")
            for d in docs.reversed() {
                let ref = try ObjectRef(d)
                if let r = try? await c.resource(kind: ref.kind, apiVersion: ref.apiVersion) {
                    _ = try? await c.delete(r, name: ref.name, namespace: ref.namespace ?? "sagemaker-k8s-operator-system")
                }
            }
        }
    }
}
