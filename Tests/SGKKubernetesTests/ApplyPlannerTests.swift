import Foundation
import SGKData
import Testing
@testable import SGKKubernetes

@Suite struct ApplyPlannerTests {
    @Test func ordersNamespacesAndCRDsFirstThenClusterScopedThenNamespaced() throws {
        let docs = try Fixtures.documents("installer.yaml")
        #expect(docs.count == 18)
        let clusterKinds: Set<String> = ["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"]
        let phases = try ApplyPlanner.order(docs) { !clusterKinds.contains($0.kind) }
        #expect(phases[0].count == 9)
        #expect(phases[0].first?["kind"]?.stringValue == "Namespace")
        #expect(phases[0].dropFirst().allSatisfy { $0["kind"]?.stringValue == "CustomResourceDefinition" })
        #expect(phases[1].map { $0["kind"]?.stringValue ?? "" } == ["ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding"])
        #expect(phases[2].map { $0["kind"]?.stringValue ?? "" } == ["ServiceAccount", "Role", "RoleBinding", "Service", "Deployment"])
    }

    @Test func fillsProtocolOnServicePortsAndContainerPorts() throws {
        let docs = try Fixtures.documents("installer.yaml")
        let svc = try #require(docs.first { $0["kind"]?.stringValue == "Service" })
        let filled = ListMapDefaults.fill(svc)
        #expect(filled.at("spec", "ports")?[0]?["protocol"]?.stringValue == "TCP")
        #expect(filled.at("spec", "ports")?[0]?["port"]?.intValue == 8443)
        let dep = try #require(docs.first { $0["kind"]?.stringValue == "Deployment" })
        let fd = ListMapDefaults.fill(dep)
        let c0 = fd.at("spec", "template", "spec", "containers")?[0]
        #expect(c0?["ports"]?[0]?["protocol"]?.stringValue == "TCP")
        // Containers without ports are untouched; other fields keep their order.
        #expect(fd.at("spec", "template", "spec", "containers")?[1] == dep.at("spec", "template", "spec", "containers")?[1])
        let udp = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: d}\nspec: {ports: [{port: 53, protocol: UDP}]}")
        #expect(ListMapDefaults.fill(udp) == udp)
        let cron = try obj("""
        apiVersion: batch/v1beta1
        kind: CronJob
        metadata: {name: c}
        spec:
          jobTemplate:
            spec:
              template:
                spec:
                  initContainers: [{name: i, ports: [{containerPort: 1}]}]
                  containers: [{name: a, ports: [{containerPort: 80}]}]
        """)
        let fc = ListMapDefaults.fill(cron)
        #expect(fc.at("spec", "jobTemplate", "spec", "template", "spec", "containers")?[0]?["ports"]?[0]?["protocol"]?.stringValue == "TCP")
        #expect(fc.at("spec", "jobTemplate", "spec", "template", "spec", "initContainers")?[0]?["ports"]?[0]?["protocol"]?.stringValue == "TCP")
        let pod = try obj("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, ports: [{containerPort: 80}]}]}")
        #expect(ListMapDefaults.fill(pod).at("spec", "containers")?[0]?["ports"]?[0]?["protocol"]?.stringValue == "TCP")
        // Custom resources are left alone.
        let cr = try obj("apiVersion: x.io/v1\nkind: Service\nmetadata: {name: p}\nspec: {ports: [{port: 1}]}")
        #expect(ListMapDefaults.fill(cr) == cr)
    }

    @Test func applyBodyDropsStatusOfBuiltInKinds() throws {
        let crd = try #require(try Fixtures.documents("installer.yaml").first { $0["kind"]?.stringValue == "CustomResourceDefinition" })
        #expect(crd["status"] != nil)
        #expect(ApplyPlanner.applyBody(crd)["status"] == nil)
        #expect(crd.at("metadata", "creationTimestamp") == .null)
        #expect(ApplyPlanner.applyBody(crd).at("metadata", "creationTimestamp") == nil)
        let cr = try obj("apiVersion: x.io/v1\nkind: W\nmetadata: {name: a}\nstatus: {phase: x}")
        #expect(ApplyPlanner.applyBody(cr)["status"] != nil)
    }

    @Test func detectsNoOpApplies() throws {
        let live = try obj("""
        apiVersion: v1
        kind: Service
        metadata:
          name: s
          namespace: n
          resourceVersion: "7"
          labels: {a: b}
          managedFields:
          - manager: sgk
            operation: Apply
            apiVersion: v1
            fieldsType: FieldsV1
            fieldsV1:
              f:metadata: {f:labels: {f:a: {}}}
              f:spec:
                f:ports: {'k:{"port":80,"protocol":"TCP"}': {.: {}, f:port: {}, f:protocol: {}}}
        spec:
          clusterIP: 10.0.0.1
          ports: [{port: 80, protocol: TCP, targetPort: 80}]
        """)
        let body = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n, labels: {a: b}}\nspec: {ports: [{port: 80, protocol: TCP}]}")
        #expect(ApplyPlanner.isNoOp(body: body, live: live, fieldManager: "sgk"))
        #expect(!ApplyPlanner.isNoOp(body: body, live: live, fieldManager: "other"))
        // A changed value, a dropped owned field, an extra list element: not a no-op.
        let changed = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n, labels: {a: c}}\nspec: {ports: [{port: 80, protocol: TCP}]}")
        #expect(!ApplyPlanner.isNoOp(body: changed, live: live, fieldManager: "sgk"))
        let dropped = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n}\nspec: {ports: [{port: 80, protocol: TCP}]}")
        #expect(!ApplyPlanner.isNoOp(body: dropped, live: live, fieldManager: "sgk"))
        let more = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n, labels: {a: b}}\nspec: {ports: [{port: 80, protocol: TCP}, {port: 81, protocol: TCP}]}")
        #expect(!ApplyPlanner.isNoOp(body: more, live: live, fieldManager: "sgk"))
        // Empty values of built-in kinds the server does not store (`omitempty`, as the installer's
        // `env: [{name: X, value: ""}]`) still make a no-op; for custom resources they do not.
        let emptyValue = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n, labels: {a: b}, annotations: {}}\nspec: {ports: [{port: 80, protocol: TCP, name: \"\"}]}")
        #expect(ApplyPlanner.isNoOp(body: emptyValue, live: live, fieldManager: "sgk"))
        #expect(ApplyPlanner.isSubset(try obj("{a: {b: \"\", c: 0, d: false, e: []}}"), of: try obj("{a: {}}"), omitEmpty: true))
        #expect(!ApplyPlanner.isSubset(try obj("{a: {b: \"\"}}"), of: try obj("{a: {}}")))
        #expect(!ApplyPlanner.isSubset(try obj("{a: {b: \"x\"}}"), of: try obj("{a: {}}"), omitEmpty: true))
        // A manifest with nothing but a name leaves no Apply entry: re-applying it is a no-op.
        let bareNS = try obj("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}")
        #expect(ApplyPlanner.isNoOp(body: bareNS, live: try obj("metadata: {name: x, resourceVersion: '1'}\nspec: {finalizers: [kubernetes]}"), fieldManager: "sgk"))
        #expect(!ApplyPlanner.isNoOp(body: body, live: try obj("metadata: {name: s, namespace: n}"), fieldManager: "sgk"))
        #expect(!ApplyPlanner.isBuiltIn(try obj("apiVersion: sagemaker.aws.amazon.com/v1\nkind: TrainingJob")))
        #expect(ApplyPlanner.isBuiltIn(try obj("apiVersion: apps/v1\nkind: Deployment")))
        // Empty values the server omits (omitempty: an env var's value: "") are no change.
        let empty = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n, labels: {a: b}, annotations: {}}\nspec: {ports: [{port: 80, protocol: TCP, name: \"\"}], externalIPs: []}")
        #expect(ApplyPlanner.isNoOp(body: empty, live: live, fieldManager: "sgk"))
        // Server bookkeeping and status are ignored when comparing content.
        var after = live
        if case .object(var o) = after, case .object(var m)? = o["metadata"] {
            m["resourceVersion"] = .string("8"); m["managedFields"] = .array([]); o["metadata"] = .object(m)
            o["status"] = .object(["loadBalancer": .object([:])]); after = .object(o)
        }
        #expect(ApplyPlanner.sameContent(live, after))
        // A field the server drops (a 1.20 server's `ipFamilyPolicy`) that our Apply entry owns
        // is no change; one it does not own (never applied) is.
        let dualStack = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n, labels: {a: b}}\nspec: {ipFamilyPolicy: SingleStack, ipFamilies: [IPv4], ports: [{port: 80, protocol: TCP}]}")
        #expect(ApplyPlanner.droppedFields(dualStack, in: live) == ["spec.ipFamilyPolicy", "spec.ipFamilies"])
        #expect(ApplyPlanner.droppedNote(["spec.ipFamilyPolicy", "spec.ipFamilies"]) == "the server drops fields spec.ipFamilyPolicy, spec.ipFamilies")
        #expect(!ApplyPlanner.isNoOp(body: dualStack, live: live, fieldManager: "sgk"))
        let owning = try JSONCodec.parse(JSONCodec.serialize(live, pretty: false)
            .replacingOccurrences(of: #""f:spec":{"#, with: #""f:spec":{"f:ipFamilyPolicy":{},"f:ipFamilies":{},"#))
        #expect(ApplyPlanner.isNoOp(body: dualStack, live: owning, fieldManager: "sgk"))
        #expect(ApplyPlanner.droppedFields(body, in: live).isEmpty)
        // A field absent from the object that the entry does not own: a change.
        let retyped = try obj("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n, labels: {a: b}}\nspec: {ipFamilyPolicy: SingleStack, ipFamilies: [IPv4], type: NodePort, ports: [{port: 80, protocol: TCP}]}")
        #expect(!ApplyPlanner.isNoOp(body: retyped, live: owning, fieldManager: "sgk"))
    }

    @Test func setsNamespaceAfterName() throws {
        let o = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: y}\n")
        let s = ApplyPlanner.setting(o, namespace: "ns")
        #expect(Array(s["metadata"]?.objectValue?.keys ?? []) == ["name", "namespace", "labels"])
        #expect(ApplyPlanner.setting(s, namespace: nil).at("metadata", "namespace") == nil)
    }

    @Test func threeWayMergePatch() throws {
        let original = try obj("{data: {a: '1', b: '2'}, metadata: {name: x}}")
        let modified = try obj("{data: {a: '1', c: '3'}, metadata: {name: x}}")
        let current = try obj("{data: {a: '1', b: '2', z: 'server'}, metadata: {name: x, uid: u}}")
        let patch = try #require(ApplyPlanner.threeWayMergePatch(original: original, modified: modified, current: current))
        #expect(patch == (try obj("{data: {c: '3', b: null}}")))
        #expect(ApplyPlanner.threeWayMergePatch(original: modified, modified: modified,
                                                current: try obj("{data: {a: '1', c: '3'}, metadata: {name: x, uid: u}}")) == nil)
    }

    @Test func lastAppliedAnnotationHoldsTheManifest() throws {
        let o = try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}")
        let w = ApplyPlanner.withLastApplied(o)
        let ann = try #require(w.at("metadata", "annotations", lastAppliedAnnotation)?.stringValue)
        #expect(try JSONCodec.parse(ann) == o)
        // Idempotent.
        #expect(ApplyPlanner.withLastApplied(w) == w)
    }

    @Test func objectRefNeedsKindVersionAndName() throws {
        #expect(throws: KubeError.self) { try ObjectRef(try obj("kind: ConfigMap\nmetadata: {name: a}")) }
        #expect(throws: KubeError.self) { try ObjectRef(try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a}")) }
        let r = try ObjectRef(try obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns1}"))
        #expect(r.description == "ConfigMap ns1/a")
    }
}

@Suite struct CRDConversionTests {
    static let fixtures = ["installer.yaml", "namespaced-crd.yaml", "installer-china.yaml"]

    @Test(arguments: fixtures)
    func convertsEveryCRDOfTheFixture(file: String) throws {
        let crds = try Fixtures.documents(file).filter { $0["kind"]?.stringValue == "CustomResourceDefinition" }
        #expect(crds.count == 8)
        for crd in crds {
            #expect(CRDConversion.isV1beta1CRD(crd))
            let v1 = try CRDConversion.convert(crd)
            let name = crd.at("metadata", "name")?.stringValue ?? ""
            #expect(v1["apiVersion"]?.stringValue == "apiextensions.k8s.io/v1")
            #expect(v1["status"] == nil)
            let spec = try #require(v1["spec"])
            for gone in ["version", "validation", "subresources", "additionalPrinterColumns", "preserveUnknownFields"] {
                #expect(spec[gone] == nil, "\(name): spec.\(gone) should be gone")
            }
            #expect(spec["group"] == crd.at("spec", "group"))
            #expect(spec["names"] == crd.at("spec", "names"))
            #expect(spec["scope"] == crd.at("spec", "scope"))
            let versions = try #require(spec["versions"]?.arrayValue)
            #expect(versions.count == 1)
            let v = try #require(versions.first)
            #expect(v["name"]?.stringValue == crd.at("spec", "version")?.stringValue)
            #expect(v["served"]?.boolValue == true && v["storage"]?.boolValue == true)
            #expect(v["subresources"] == crd.at("spec", "subresources"))
            let cols = try #require(v["additionalPrinterColumns"]?.arrayValue)
            let oldCols = crd.at("spec", "additionalPrinterColumns")?.arrayValue ?? []
            #expect(cols.count == oldCols.count)
            for (c, o) in zip(cols, oldCols) {
                #expect(c["JSONPath"] == nil)
                #expect(c["jsonPath"] == o["JSONPath"])
                #expect(c["name"] == o["name"])
            }
            let schema = try #require(v.at("schema", "openAPIV3Schema"))
            #expect(schema["type"]?.stringValue == "object")
            // Structural: every node typed (or preserving unknown fields); no rejected keywords.
            try checkStructural(schema, path: name)
            // Properties unchanged in number.
            #expect(schema.at("properties", "spec", "properties")?.objectValue?.count
                    == crd.at("spec", "validation", "openAPIV3Schema", "properties", "spec", "properties")?.objectValue?.count)
        }
    }

    func checkStructural(_ node: JSON, path: String) throws {
        guard case .object(let o) = node else { return }
        let typed = o["type"] != nil || o["x-kubernetes-preserve-unknown-fields"]?.boolValue == true
            || o["x-kubernetes-int-or-string"]?.boolValue == true
        #expect(typed, "untyped node at \(path)")
        for k in CRDConversion.rejected { #expect(o[k] == nil, "\(k) at \(path)") }
        for (k, v) in o["properties"]?.objectValue ?? [:] { try checkStructural(v, path: path + "." + k) }
        if let items = o["items"] { try checkStructural(items, path: path + "[]") }
        if let ap = o["additionalProperties"], case .object = ap { try checkStructural(ap, path: path + "{}") }
    }

    @Test func handlesMissingSchemaMultipleVersionsAndWebhooks() throws {
        let crd = try obj("""
        apiVersion: apiextensions.k8s.io/v1beta1
        kind: CustomResourceDefinition
        metadata: {name: widgets.x.io}
        spec:
          group: x.io
          names: {kind: Widget, plural: widgets}
          scope: Cluster
          preserveUnknownFields: true
          versions:
          - {name: v1, served: true, storage: true}
          - name: v2
            served: false
            storage: false
            additionalPrinterColumns: [{name: Age2, type: date, JSONPath: .metadata.creationTimestamp}]
          additionalPrinterColumns: [{name: Size, type: integer, JSONPath: .spec.size, priority: 1}]
          conversion:
            strategy: Webhook
            webhookClientConfig: {url: "https://127.0.0.1:9443/convert"}
        """)
        let v1 = try CRDConversion.convert(crd)
        let versions = try #require(v1.at("spec", "versions")?.arrayValue)
        #expect(versions.count == 2)
        #expect(versions[0].at("schema", "openAPIV3Schema", "x-kubernetes-preserve-unknown-fields")?.boolValue == true)
        #expect(versions[0]["additionalPrinterColumns"]?[0]?["jsonPath"]?.stringValue == ".spec.size")
        #expect(versions[0]["additionalPrinterColumns"]?[0]?["priority"]?.intValue == 1)
        #expect(versions[1]["additionalPrinterColumns"]?[0]?["jsonPath"]?.stringValue == ".metadata.creationTimestamp")
        #expect(versions[1]["served"]?.boolValue == false)
        #expect(v1.at("spec", "conversion", "webhook", "clientConfig", "url")?.stringValue == "https://127.0.0.1:9443/convert")
        #expect(v1.at("spec", "conversion", "webhook", "conversionReviewVersions")?[0]?.stringValue == "v1beta1")
        #expect(v1.at("spec", "preserveUnknownFields") == nil)
        #expect(CRDConversion.notice(name: "widgets.x.io") == "converted CustomResourceDefinition widgets.x.io from apiextensions.k8s.io/v1beta1 to v1 (server does not serve v1beta1)")
    }

    /// v1beta1's default `preserveUnknownFields: true` kept its meaning in v1: nothing of a custom
    /// resource outside its schema is pruned (the server's own conversion keeps it too).
    @Test func keepsUnknownFieldsWhereV1beta1Kept() throws {
        let crd = try obj("""
        apiVersion: apiextensions.k8s.io/v1beta1
        kind: CustomResourceDefinition
        metadata: {name: trainingjobs.sagemaker.aws.amazon.com}
        spec:
          group: sagemaker.aws.amazon.com
          names: {kind: TrainingJob, plural: trainingjobs}
          scope: Namespaced
          version: v1
          validation:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  properties:
                    region: {type: string}
                    hyperParameters: {type: array, items: {type: object, properties: {name: {type: string}}}}
                status: {type: object, properties: {trainingJobStatus: {type: string}}}
        """)
        let schema = try #require(try CRDConversion.convert(crd).at("spec", "versions")?[0]?.at("schema", "openAPIV3Schema"))
        #expect(schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true)
        #expect(schema.at("properties", "spec", "x-kubernetes-preserve-unknown-fields")?.boolValue == true)
        #expect(schema.at("properties", "spec", "properties", "hyperParameters", "items", "x-kubernetes-preserve-unknown-fields")?.boolValue == true)
        #expect(schema.at("properties", "status", "x-kubernetes-preserve-unknown-fields")?.boolValue == true)
        #expect(schema.at("properties", "spec", "properties", "region", "x-kubernetes-preserve-unknown-fields") == nil)

        // `preserveUnknownFields: false` asked for pruning: the schema stays as it is.
        var pruning = crd
        if case .object(var top) = pruning, case .object(var spec)? = top["spec"] {
            spec["preserveUnknownFields"] = .bool(false)
            top["spec"] = .object(spec)
            pruning = .object(top)
        }
        let pruned = try #require(try CRDConversion.convert(pruning).at("spec", "versions")?[0]?.at("schema", "openAPIV3Schema"))
        #expect(pruned["x-kubernetes-preserve-unknown-fields"] == nil)
        #expect(pruned.at("properties", "spec", "x-kubernetes-preserve-unknown-fields") == nil)
    }

    /// CEL rules (x-kubernetes-validations, Kubernetes 1.25+) are left out for an older server
    /// only, and nothing else of the CRD changes.
    @Test func lowersValidationRulesForOlderServersOnly() throws {
        let crd = try obj("""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: pools.metallb.io}
        spec:
          group: metallb.io
          names: {kind: Pool, plural: pools}
          scope: Namespaced
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    x-kubernetes-validations: [{rule: "self.a <= self.b", message: "a must be <= b"}]
                    properties:
                      a: {type: integer}
                      b: {type: integer, x-kubernetes-validations: [{rule: "self >= 0"}]}
        """)
        #expect(CRDConversion.validationRuleCount(crd) == 2)
        let lowered = CRDConversion.lowerValidationRules(crd)
        #expect(CRDConversion.validationRuleCount(lowered) == 0)
        let spec = try #require(lowered.at("spec", "versions")?[0]?.at("schema", "openAPIV3Schema", "properties", "spec"))
        #expect(spec.at("properties", "b", "type")?.stringValue == "integer")
        #expect(spec["type"]?.stringValue == "object")
        #expect(lowered.at("metadata", "name") == crd.at("metadata", "name"))
        // Only for a server before 1.25, and never when its version cannot be read.
        #expect(CRDConversion.lowersValidationRules(forServer: try obj("{major: '1', minor: '20', gitVersion: v1.20.2}")))
        #expect(CRDConversion.lowersValidationRules(forServer: try obj("{major: '1', minor: '24+'}")))
        #expect(!CRDConversion.lowersValidationRules(forServer: try obj("{major: '1', minor: '25'}")))
        #expect(!CRDConversion.lowersValidationRules(forServer: try obj("{major: '1', minor: '31+', gitVersion: v1.31.4-eks-2d5f260}")))
        #expect(!CRDConversion.lowersValidationRules(forServer: try obj("{gitVersion: unknown}")))
        #expect(CRDConversion.loweringWarning(name: "pools.metallb.io", rules: 2, serverVersion: "v1.20.2")
                == "Warning: CustomResourceDefinition pools.metallb.io: its 2 x-kubernetes-validations rule(s) are left out: the server (v1.20.2) does not know the field (Kubernetes 1.25+), so they are not checked on this cluster")
    }

    @Test func makesSchemasStructural() throws {
        let schema = try obj("""
        type: object
        properties:
          metadata: {type: object, properties: {name: {type: string, maxLength: 10}, labels: {type: object}}}
          spec:
            type: object
            properties:
              anything: {description: no type}
              free: {type: object}
              list: {type: array, items: {type: string}, uniqueItems: true}
              both: {type: object, properties: {a: {type: string}}, additionalProperties: {type: string}}
        """)
        let s = CRDConversion.structural(schema, path: [])
        #expect(s.at("properties", "spec", "properties", "anything", "x-kubernetes-preserve-unknown-fields")?.boolValue == true)
        #expect(s.at("properties", "spec", "properties", "free", "x-kubernetes-preserve-unknown-fields")?.boolValue == true)
        #expect(s.at("properties", "spec", "properties", "list", "uniqueItems") == nil)
        #expect(s.at("properties", "spec", "properties", "both", "additionalProperties") == nil)
        #expect(s.at("properties", "metadata", "properties", "labels") == nil)
        #expect(s.at("properties", "metadata", "properties", "name", "maxLength")?.intValue == 10)
        #expect(s.at("properties", "metadata", "x-kubernetes-preserve-unknown-fields") == nil)
    }
}

@Suite struct QuantityTests {
    @Test func theFormsTheServerRewritesAreEqual() {
        #expect(Quantity.value("1024Mi") == Quantity.value("1Gi"))
        #expect(Quantity.value("1000m") == Quantity.value("1"))
        #expect(Quantity.value(.int(2)) == Quantity.value("2000m"))
        #expect(Quantity.value("1.5") == Quantity.value("1500m"))
        #expect(Quantity.value("2e3") == Quantity.value("2k"))
        #expect(Quantity.value("1e-3") == Quantity.value("1m"))
        #expect(Quantity.value("1Gi") != Quantity.value("1G"))
        for bad in ["", "abc", "1.2.3", "1Xi", ".", "Gi"] { #expect(Quantity.value(bad) == nil, "\(bad)") }
    }

    @Test func onlyQuantityFieldsCompareByValueAndStringDataIsData() throws {
        #expect(ApplyPlanner.isSubset(.object(["limits": .object(["memory": .string("1024Mi")])]),
                                      of: .object(["limits": .object(["memory": .string("1Gi")])])))
        // A label is text: "1k" and "1000" differ.
        #expect(!ApplyPlanner.isSubset(.object(["labels": .object(["n": .string("1k")])]),
                                       of: .object(["labels": .object(["n": .string("1000")])])))
        let secret: JSON = .object(["apiVersion": .string("v1"), "kind": .string("Secret"), "stringData": .object(["pw": .string("hunter2")])])
        #expect(ApplyPlanner.asStored(secret)["data"]?["pw"] == .string("aHVudGVyMg=="))
        #expect(ApplyPlanner.asStored(secret)["stringData"] == nil)
    }
}
