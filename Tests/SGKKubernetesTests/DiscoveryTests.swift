import Foundation
import SGKData
import Testing
@testable import SGKKubernetes

/// Discovery documents recorded in the shape kube-apiserver 1.20 serves them (abridged).
enum RecordedDiscovery {
    static let api = #"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]}"#
    static let apis = #"""
    {"kind":"APIGroupList","apiVersion":"v1","groups":[
     {"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},
     {"name":"events.k8s.io","versions":[{"groupVersion":"events.k8s.io/v1","version":"v1"},{"groupVersion":"events.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"events.k8s.io/v1","version":"v1"}},
     {"name":"apiextensions.k8s.io","versions":[{"groupVersion":"apiextensions.k8s.io/v1","version":"v1"},{"groupVersion":"apiextensions.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"apiextensions.k8s.io/v1","version":"v1"}},
     {"name":"rbac.authorization.k8s.io","versions":[{"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}],"preferredVersion":{"groupVersion":"rbac.authorization.k8s.io/v1","version":"v1"}},
     {"name":"sagemaker.aws.amazon.com","versions":[{"groupVersion":"sagemaker.aws.amazon.com/v1","version":"v1"}],"preferredVersion":{"groupVersion":"sagemaker.aws.amazon.com/v1","version":"v1"}}
    ]}
    """#
    static let lists: [String: String] = [
        "v1": #"""
        {"kind":"APIResourceList","groupVersion":"v1","resources":[
         {"name":"namespaces","singularName":"","namespaced":false,"kind":"Namespace","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ns"]},
         {"name":"namespaces/status","singularName":"","namespaced":false,"kind":"Namespace","verbs":["get","patch","update"]},
         {"name":"pods","singularName":"","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"]},
         {"name":"pods/status","singularName":"","namespaced":true,"kind":"Pod","verbs":["get","patch","update"]},
         {"name":"services","singularName":"","namespaced":true,"kind":"Service","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["svc"],"categories":["all"]},
         {"name":"serviceaccounts","singularName":"","namespaced":true,"kind":"ServiceAccount","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["sa"]},
         {"name":"events","singularName":"","namespaced":true,"kind":"Event","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["ev"]},
         {"name":"configmaps","singularName":"","namespaced":true,"kind":"ConfigMap","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["cm"]}
        ]}
        """#,
        "apps/v1": #"""
        {"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[
         {"name":"deployments","singularName":"","namespaced":true,"kind":"Deployment","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["deploy"],"categories":["all"]},
         {"name":"deployments/scale","singularName":"","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale","verbs":["get","patch","update"]},
         {"name":"deployments/status","singularName":"","namespaced":true,"kind":"Deployment","verbs":["get","patch","update"]}
        ]}
        """#,
        "events.k8s.io/v1": #"{"kind":"APIResourceList","groupVersion":"events.k8s.io/v1","resources":[{"name":"events","singularName":"","namespaced":true,"kind":"Event","verbs":["get","list"],"shortNames":["ev"]}]}"#,
        "events.k8s.io/v1beta1": #"{"kind":"APIResourceList","groupVersion":"events.k8s.io/v1beta1","resources":[{"name":"events","singularName":"","namespaced":true,"kind":"Event","verbs":["get","list"],"shortNames":["ev"]}]}"#,
        "apiextensions.k8s.io/v1": #"{"kind":"APIResourceList","groupVersion":"apiextensions.k8s.io/v1","resources":[{"name":"customresourcedefinitions","singularName":"","namespaced":false,"kind":"CustomResourceDefinition","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["crd","crds"]},{"name":"customresourcedefinitions/status","singularName":"","namespaced":false,"kind":"CustomResourceDefinition","verbs":["get","patch","update"]}]}"#,
        "apiextensions.k8s.io/v1beta1": #"{"kind":"APIResourceList","groupVersion":"apiextensions.k8s.io/v1beta1","resources":[{"name":"customresourcedefinitions","singularName":"","namespaced":false,"kind":"CustomResourceDefinition","verbs":["create","delete","get","list","patch","update","watch"],"shortNames":["crd","crds"]}]}"#,
        "rbac.authorization.k8s.io/v1": #"{"kind":"APIResourceList","groupVersion":"rbac.authorization.k8s.io/v1","resources":[{"name":"clusterroles","singularName":"","namespaced":false,"kind":"ClusterRole","verbs":["get"]},{"name":"roles","singularName":"","namespaced":true,"kind":"Role","verbs":["get"]}]}"#,
        "sagemaker.aws.amazon.com/v1": #"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"sagemaker.aws.amazon.com/v1","resources":[{"name":"trainingjobs","singularName":"trainingjob","namespaced":true,"kind":"TrainingJob","verbs":["delete","deletecollection","get","list","patch","create","update","watch"]},{"name":"trainingjobs/status","singularName":"","namespaced":true,"kind":"TrainingJob","verbs":["get","patch","update"]}]}"#,
    ]

    static func snapshot() throws -> DiscoverySnapshot {
        var parsed: [String: JSON] = [:]
        for (k, v) in lists { parsed[k] = try JSONCodec.parse(v) }
        return DiscoverySnapshot.build(api: try JSONCodec.parse(api), apis: try JSONCodec.parse(apis), resourceLists: parsed)
    }
}

@Suite struct DiscoveryTests {
    @Test(arguments: [
        ("crd", "customresourcedefinitions", "apiextensions.k8s.io/v1"),
        ("crds", "customresourcedefinitions", "apiextensions.k8s.io/v1"),
        ("CustomResourceDefinition", "customresourcedefinitions", "apiextensions.k8s.io/v1"),
        ("customresourcedefinitions.apiextensions.k8s.io", "customresourcedefinitions", "apiextensions.k8s.io/v1"),
        ("customresourcedefinition.v1beta1.apiextensions.k8s.io", "customresourcedefinitions", "apiextensions.k8s.io/v1beta1"),
        ("deploy", "deployments", "apps/v1"),
        ("Deployment", "deployments", "apps/v1"),
        ("deployments.apps", "deployments", "apps/v1"),
        ("deployment.v1.apps", "deployments", "apps/v1"),
        ("sa", "serviceaccounts", "v1"),
        ("po", "pods", "v1"),
        ("POD", "pods", "v1"),
        ("svc", "services", "v1"),
        ("ns", "namespaces", "v1"),
        ("namespace", "namespaces", "v1"),
        ("ev", "events", "v1"),
        ("events.events.k8s.io", "events", "events.k8s.io/v1"),
        ("trainingjobs", "trainingjobs", "sagemaker.aws.amazon.com/v1"),
        ("TrainingJob", "trainingjobs", "sagemaker.aws.amazon.com/v1"),
        ("trainingjobs.sagemaker.aws.amazon.com", "trainingjobs", "sagemaker.aws.amazon.com/v1"),
        ("trainingjob.sagemaker.aws.amazon.com", "trainingjobs", "sagemaker.aws.amazon.com/v1"),
    ])
    func resolvesNamesAsKubectl(input: String, plural: String, apiVersion: String) throws {
        let r = try RecordedDiscovery.snapshot().resolve(input)
        #expect(r.name == plural)
        #expect(r.apiVersion == apiVersion)
    }

    @Test func unknownNamesAreClearErrors() throws {
        let s = try RecordedDiscovery.snapshot()
        #expect(throws: KubeError.self) { try s.resolve("widgets") }
        #expect(throws: KubeError.self) { try s.resolve("pods.apps") }
        do { _ = try s.resolve("widgets") } catch { #expect("\(error)".contains("doesn't have a resource type \"widgets\"")) }
    }

    @Test func kindAndAPIVersionToResource() throws {
        let s = try RecordedDiscovery.snapshot()
        let d = try #require(s.resource(kind: "Deployment", apiVersion: "apps/v1"))
        #expect(d.namespaced && d.verbs.contains("patch") && d.name == "deployments")
        #expect(d.objectPath(name: "x", namespace: "ns") == "/apis/apps/v1/namespaces/ns/deployments/x")
        let ns = try #require(s.resource(kind: "Namespace", apiVersion: "v1"))
        #expect(!ns.namespaced)
        #expect(ns.objectPath(name: "a", namespace: "ignored") == "/api/v1/namespaces/a")
        #expect(ns.nameOutput("a") == "namespace/a")
        #expect(d.nameOutput("x") == "deployment.apps/x")
        #expect(s.resource(kind: "Scale", apiVersion: "apps/v1") == nil)
        #expect(s.serves("apiextensions.k8s.io/v1beta1"))
        #expect(!s.serves("apiextensions.k8s.io/v2"))
        let tj = try #require(s.resource(kind: "TrainingJob", apiVersion: "sagemaker.aws.amazon.com/v1"))
        #expect(tj.nameOutput("x") == "trainingjob.sagemaker.aws.amazon.com/x")
    }

    @Test func apiResourcesListsPreferredVersionsWithoutSubresources() throws {
        let rs = try RecordedDiscovery.snapshot().preferredResources
        #expect(!rs.contains { $0.isSubresource })
        #expect(!rs.contains { $0.apiVersion == "events.k8s.io/v1beta1" })
        let text = renderAPIResources(rs.filter { $0.name == "pods" || $0.name == "deployments" })
        #expect(text == """
        NAME          SHORTNAMES   APIVERSION   NAMESPACED   KIND
        pods          po           v1           true         Pod
        deployments   deploy       apps/v1      true         Deployment

        """)
    }
}
