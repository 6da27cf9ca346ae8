import Foundation
import SGKData
import Testing
@testable import SGKKubernetes

/// The installer's variants on a peer: the namespaced install (`namespaced-crd.yaml` +
/// `namespaced-operator.yaml` with `PLACEHOLDER-NAMESPACE` replaced) and the China installer.
/// Each is applied (CRDs converted on a server without v1beta1), re-applied with no change,
/// read back with the real kubectl, and removed. Runs after `InstallerScenario` on the same
/// peer (the CRDs are cluster-scoped and shared), so it first waits for the CRDs to be gone.
enum VariantScenario {
    static let crdNames = [
        "batchtransformjobs", "endpointconfigs", "hostingautoscalingpolicies", "hostingdeployments",
        "hyperparametertuningjobs", "models", "processingjobs", "trainingjobs",
    ].map { "\($0).sagemaker.aws.amazon.com" }

    static func run(kubeconfig: String, expectConversion: Bool) async throws {
        try await Peer.with(kubeconfig) { c in
            try await removeCRDs(c)

            // The namespaced install, in a namespace of its own.
            let ns = Peer.uniqueName("sgk-nsop")
            let crds = try Fixtures.documents("namespaced-crd.yaml")
            let operatorText = try Fixtures.text("namespaced-operator.yaml")
                .replacingOccurrences(of: "PLACEHOLDER-NAMESPACE", with: ns)
            let op = try YAMLCodec.parseDocuments(operatorText).filter { if case .null = $0 { return false }; return true }
            #expect(crds.count == 8 && op.count == 10)
            let namespaced = try await applyTwice(c, crds + op, expectConversion: expectConversion)
            #expect(namespaced.allSatisfy { $0.kind == "CustomResourceDefinition" || $0.kind == "Namespace" || $0.namespace == ns })
            let (status, out) = try Peer.kubectl(["--kubeconfig", kubeconfig, "get", "-o", "json", "-n", ns,
                                                  "serviceaccount/sagemaker-k8s-operator-default",
                                                  "role/sagemaker-k8s-operator-manager-role",
                                                  "deployment/sagemaker-k8s-operator-controller-manager"])
            #expect(status == 0, "\(out)")
            if status == 0 {
                let items = try JSONCodec.parse(out)["items"]?.arrayValue ?? []
                #expect(items.count == 3)
                for item in items {
                    let name = item.at("metadata", "name")?.stringValue
                    let kind = item["kind"]?.stringValue
                    let ours = try #require(namespaced.first { $0.name == name && $0.kind == kind })
                    #expect(item.at("metadata", "resourceVersion") == ours.object.at("metadata", "resourceVersion"), "\(ours.line)")
                }
            }
            try await remove(c, namespaced)

            // The China installer: same CRDs, the operator image from ECR in cn-northwest-1.
            let china = try Fixtures.documents("installer-china.yaml")
            let chinaResults = try await applyTwice(c, china, expectConversion: expectConversion)
            let (s2, out2) = try Peer.kubectl(["--kubeconfig", kubeconfig, "get", "-o", "jsonpath={.spec.template.spec.containers[*].image}",
                                               "-n", "sagemaker-k8s-operator-system",
                                               "deployment/sagemaker-k8s-operator-controller-manager"])
            #expect(s2 == 0)
            #expect(out2.contains("dkr.ecr.cn-northwest-1.amazonaws.com.cn/amazon-sagemaker-operator-for-k8s:v1"), "\(out2)")
            try await remove(c, chinaResults)
        }
    }

    /// Applies `docs` (waiting for the CRDs), then again: the second apply changes nothing.
    static func applyTwice(_ c: KubeClient, _ docs: [JSON], expectConversion: Bool) async throws -> [ApplyResult] {
        var opts = ApplyOptions()
        opts.waitForCRDs = true
        let first = try await c.apply(docs, options: opts)
        #expect(first.results.count == docs.count)
        #expect(first.results.allSatisfy { $0.action == .created }, "\(first.results.map(\.line))")
        #expect(first.notices.filter { $0.hasPrefix("converted CustomResourceDefinition") }.count == (expectConversion ? 8 : 0))
        let crdVersion = expectConversion ? "apiextensions.k8s.io/v1" : "apiextensions.k8s.io/v1beta1"
        #expect(first.results.filter { $0.kind == "CustomResourceDefinition" }.allSatisfy { $0.apiVersion == crdVersion })
        try await Task.sleep(nanoseconds: 1_000_000_000)  // let controllers settle (CRD status, SA token)
        let second = try await c.apply(docs)
        #expect(second.results.allSatisfy { $0.action == .unchanged }, "\(second.results.map(\.line))")
        return second.results
    }

    /// Deletes what an apply made, in reverse order, waiting for Namespaces and CRDs to be gone.
    static func remove(_ c: KubeClient, _ results: [ApplyResult]) async throws {
        for r in results.reversed() {
            let res = try await c.resource(kind: r.kind, apiVersion: r.apiVersion)
            let waits = r.kind == "Namespace" || r.kind == "CustomResourceDefinition"
            _ = try await c.delete(res, name: r.name, namespace: r.namespace, waitTimeout: waits ? 90 : nil)
        }
    }

    /// What an earlier installer apply left terminating: its namespace and the CRDs.
    static func removeCRDs(_ c: KubeClient) async throws {
        let nsRes = try await c.resolveResource("namespace")
        _ = try await c.delete(nsRes, name: "sagemaker-k8s-operator-system", waitTimeout: 90)
        let crd = try await c.resolveResource("crd")
        for name in crdNames { _ = try await c.delete(crd, name: name, waitTimeout: 90) }
    }
}
