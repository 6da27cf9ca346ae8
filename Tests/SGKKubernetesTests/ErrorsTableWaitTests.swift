import Foundation
import NIOHTTP1
import SGKData
import Testing
@testable import SGKKubernetes

@Suite struct ErrorTests {
    @Test func parsesStatusAndHints() throws {
        let json = try JSONCodec.parse(#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Service \"x\" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535","reason":"Invalid","details":{"name":"x","kind":"Service","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: 0: must be between 1 and 65535","field":"spec.ports[0].port"}]},"code":422}"#)
        let st = try #require(KubeStatus(json))
        #expect(st.reason == "Invalid" && st.code == 422 && st.causes.count == 1 && st.detailsKind == "Service")
        let e = KubeError.api(httpStatus: 422, status: st, request: KubeRequestInfo(verb: "PATCH", path: "/api/v1/namespaces/a/services/x"), context: "peer", body: nil)
        #expect(e.description.contains("PATCH /api/v1/namespaces/a/services/x: HTTP 422 Invalid"))
        #expect(e.description.contains("spec.ports[0].port: Invalid value: 0"))
        #expect(e.reason == "Invalid")
        #expect(KubeStatus(try JSONCodec.parse(#"{"kind":"Pod"}"#)) == nil)
    }

    @Test func hintsForCommonStatuses() {
        let req = KubeRequestInfo(verb: "GET", path: "/api/v1/pods")
        let e401 = KubeError.api(httpStatus: 401, status: nil, request: req, context: "prod", body: "Unauthorized")
        #expect(e401.description.contains("the token or client certificate was rejected: check the kubeconfig user (context prod)"))
        #expect(KubeError.api(httpStatus: 403, status: nil, request: req, context: "c", body: nil).hint?.contains("RBAC") == true)
        #expect(KubeError.api(httpStatus: 404, status: nil, request: req, context: "c", body: nil).isNotFound)
        #expect(KubeError.api(httpStatus: 409, status: nil, request: req, context: "c", body: nil).hint?.contains("conflict") == true)
    }

    @Test func bearerTokensAreRedacted() {
        let secret = "abcdef0123456789-secret"
        for text in ["Authorization: Bearer \(secret)", "{\"token\":\"\(secret)\"}", "token: \(secret)",
                     "k8s-aws-v1.\(secret)", "Basic YWRtaW46c2VjcmV0"] {
            let r = Redaction.redact(text)
            #expect(!r.contains(secret), "\(r)")
            #expect(!r.contains("YWRtaW46c2VjcmV0"))
        }
        #expect(Redaction.redact("nothing secret here") == "nothing secret here")
        let e = KubeError.transport(request: KubeRequestInfo(verb: "GET", path: "/x"), message: "failed with header Bearer \(secret)")
        #expect(!e.description.contains(secret))
        #expect(!"\(KubeError.other("token=\(secret)"))".contains(secret))
    }
}

@Suite struct TableTests {
    static let podTable = #"""
    {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"1"},
     "columnDefinitions":[
      {"name":"Name","type":"string","format":"name","description":"","priority":0},
      {"name":"Ready","type":"string","format":"","description":"","priority":0},
      {"name":"Status","type":"string","format":"","description":"","priority":0},
      {"name":"Restarts","type":"integer","format":"","description":"","priority":0},
      {"name":"Age","type":"string","format":"","description":"","priority":0},
      {"name":"IP","type":"string","format":"","description":"","priority":1},
      {"name":"Node","type":"string","format":"","description":"","priority":1}],
     "rows":[
      {"cells":["web-1","0/1","Pending",0,"5s","<none>",null],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"web-1","namespace":"team-a"}}},
      {"cells":["operator-controller","2/2","Running",12,"3d4h","10.0.0.7","node-1"],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"operator-controller","namespace":"sys"}}}]}
    """#

    @Test func rendersLikeKubectl() throws {
        let t = try KubeTable(try JSONCodec.parse(Self.podTable))
        #expect(t.render() == """
        NAME                  READY   STATUS    RESTARTS   AGE
        web-1                 0/1     Pending   0          5s
        operator-controller   2/2     Running   12         3d4h

        """)
        #expect(t.render(wide: true, namespaceColumn: true, headers: false) == """
        team-a   web-1                 0/1   Pending   0    5s     <none>     <none>
        sys      operator-controller   2/2   Running   12   3d4h   10.0.0.7   node-1

        """)
        let rows = t.rows()
        #expect(Array(rows[0].keys) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
        #expect(rows[1]["RESTARTS"] == "12")
        #expect(throws: KubeError.self) { try KubeTable(try JSONCodec.parse(#"{"kind":"PodList"}"#)) }
    }
}

@Suite struct WaitTests {
    @Test func parsesForConditions() throws {
        #expect(try WaitCondition.parse("condition=Ready") == .condition(type: "Ready", status: "True"))
        #expect(try WaitCondition.parse("condition=Available=false") == .condition(type: "Available", status: "False"))
        #expect(try WaitCondition.parse("delete") == .deleted)
        #expect(try WaitCondition.parse("jsonpath={.status.phase}=Running") == .jsonPath(path: "{.status.phase}", value: "Running"))
        #expect(throws: KubeError.self) { try WaitCondition.parse("ready") }
        #expect(throws: KubeError.self) { try WaitCondition.parse("jsonpath=.status") }
    }

    @Test func checksObjects() throws {
        let pod = try obj("""
        status:
          phase: Running
          conditions: [{type: Ready, status: "True"}, {type: PodScheduled, status: "False"}]
        """)
        #expect(WaitCondition.condition(type: "Ready", status: "True").check(pod).met)
        #expect(WaitCondition.condition(type: "ready", status: "true").check(pod).met)
        #expect(!WaitCondition.condition(type: "PodScheduled", status: "True").check(pod).met)
        #expect(WaitCondition.jsonPath(path: "{.status.phase}", value: "Running").check(pod).met)
        #expect(!WaitCondition.jsonPath(path: "{.status.phase}", value: "Pending").check(pod).met)
        #expect(WaitCondition.deleted.check(nil).met)
        #expect(!WaitCondition.deleted.check(pod).met)
        #expect(!WaitCondition.condition(type: "Ready", status: "True").check(nil).met)
    }

    @Test func jsonPathSubset() throws {
        let o = try obj("""
        metadata: {name: a, labels: {app.kubernetes.io/name: web}}
        items: [{num: 1}, {num: 2}]
        status: {conditions: [{type: Ready, status: "True"}, {type: Other, status: "False"}]}
        """)
        #expect(try JSONPath.evaluate("{.metadata.name}", on: o) == [.string("a")])
        #expect(try JSONPath.evaluate("{.items[*].num}", on: o) == [.int(1), .int(2)])
        #expect(try JSONPath.evaluate("{.items[-1].num}", on: o) == [.int(2)])
        #expect(try JSONPath.evaluate(#"{.status.conditions[?(@.type=="Ready")].status}"#, on: o) == [.string("True")])
        #expect(try JSONPath.evaluate(#"{.metadata.labels['app.kubernetes.io/name']}"#, on: o) == [.string("web")])
        #expect(try JSONPath.evaluate(#"{.metadata.labels.app\.kubernetes\.io/name}"#, on: o) == [.string("web")])
        #expect(try JSONPath.evaluate("{.nope.x}", on: o).isEmpty)
    }

    @Test func deploymentRolloutMessages() throws {
        func d(_ s: String) throws -> (Bool, String) { try KubeClient.deploymentRolloutState(try obj(s)) }
        #expect(try d("metadata: {name: op, generation: 2}\nstatus: {observedGeneration: 1}").1 == "Waiting for deployment spec update to be observed...")
        #expect(try d("metadata: {name: op, generation: 1}\nspec: {replicas: 1}\nstatus: {observedGeneration: 1, replicas: 1, updatedReplicas: 1}").1
                == "Waiting for deployment \"op\" rollout to finish: 0 of 1 updated replicas are available...")
        #expect(try d("metadata: {name: op, generation: 1}\nspec: {replicas: 2}\nstatus: {observedGeneration: 1, replicas: 2, updatedReplicas: 1}").1
                == "Waiting for deployment \"op\" rollout to finish: 1 out of 2 new replicas have been updated...")
        #expect(try d("metadata: {name: op, generation: 1}\nspec: {replicas: 1}\nstatus: {observedGeneration: 1, replicas: 2, updatedReplicas: 1}").1
                == "Waiting for deployment \"op\" rollout to finish: 1 old replicas are pending termination...")
        let done = try d("metadata: {name: op, generation: 1}\nspec: {replicas: 1}\nstatus: {observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1}")
        #expect(done.0 && done.1 == "deployment \"op\" successfully rolled out")
        #expect(throws: KubeError.self) {
            try d("metadata: {name: op, generation: 1}\nstatus: {observedGeneration: 1, conditions: [{type: Progressing, reason: ProgressDeadlineExceeded}]}")
        }
    }
}

@Suite struct JSONPathTemplateTests {
    let list: JSON = .object(["kind": .string("List"), "items": .array([
        .object(["metadata": .object(["name": .string("a")]), "data": .object(["mode": .string("x")])]),
        .object(["metadata": .object(["name": .string("b")]), "data": .object(["mode": .string("y")])]),
    ])])

    @Test func kubectlTemplates() throws {
        #expect(try JSONPath.render("{.items[0].metadata.name}{\"\\n\"}", on: list) == "a\n")
        #expect(try JSONPath.render("{range .items[*]}{.metadata.name}={.data.mode}{\",\"}{end}", on: list) == "a=x,b=y,")
        #expect(try JSONPath.render("names: {.items[*].metadata.name}", on: list) == "names: a b")
        #expect(try JSONPath.render("{range .items[*]}{$.kind}{end}", on: list) == "ListList")
        #expect(try JSONPath.render("plain", on: list) == "plain")
        #expect(try JSONPath.render("{'}'}", on: list) == "}")
    }

    @Test func malformedTemplatesAreErrors() {
        for t in ["{.items", "{range .items[*]}{.x}", "{end}", "{}"] {
            #expect(throws: KubeError.self, "\(t)") { try JSONPath.render(t, on: list) }
        }
    }
}
