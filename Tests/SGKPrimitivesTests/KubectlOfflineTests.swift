import Foundation
import SGKData
import SGKKubernetes
import SGKLanguage
import Testing
@testable import SGKPrimitives

/// kubectl primitives that need no API server: the command table, config commands on a temporary
/// kubeconfig, manifests, error presentation.
@Suite struct KubectlOfflineTests {
    static let kubeconfig = """
    apiVersion: v1
    kind: Config
    # a comment that use-context keeps
    clusters:
    - name: one
      cluster:
        server: https://127.0.0.1:1
    - name: two
      cluster:
        server: https://127.0.0.1:2
    users:
    - name: admin
      user:
        token: sgk-secret-token-value
    contexts:
    - name: alpha
      context:
        cluster: one
        user: admin
        namespace: ns-a
    - name: beta
      context:
        cluster: two
        user: admin
    current-context: alpha
    """

    @Test func contractLinesAndFlagsCompile() throws {
        let sgk = try SGKRun(kubeconfig: nil)
        let lines = [
            "kubectl apply $manifest",
            "kubectl apply -f installer.yaml",
            "kubectl apply installer.yaml --server-side --force-conflicts --dry-run=server -o name",
            "$manifest | kubectl apply",
            #"kubectl get crd | where { $it.metadata.name =~ "sagemaker" } | count"#,
            "kubectl -n $namespace get pods -o wide",
            "kubectl get pods -A -l app=web --field-selector status.phase=Running -o yaml",
            "kubectl --context prod get trainingjobs.sagemaker.aws.amazon.com",
            "kubectl get deploy/web namespace: $namespace context: prod kubeconfig: /tmp/k",
            "kubectl delete configmap a b -n x --wait=false --timeout=30s --ignore-not-found",
            "kubectl delete -f installer.yaml",
            "kubectl wait deployment/web --for=condition=Available --timeout=60s -n x",
            #"kubectl wait pods -l app=web --for "jsonpath={.status.phase}=Running""#,
            "kubectl rollout status deployment/web -n x --timeout=2m",
            "kubectl api-resources -o wide --namespaced=false",
            "kubectl version --client",
            "kubectl config current-context",
            "kubectl config get-contexts -o table",
            "kubectl config use-context prod",
        ]
        for l in lines {
            let file = SourceFile(name: "t.sgk", text: "let manifest = []\nlet namespace = \"x\"\n" + l)
            let diags = sgk.session.check(file)
            #expect(diags.isEmpty, "\(l): \(diags.map { $0.render(color: false) })")
        }
        let bad = sgk.session.check(SourceFile(name: "t.sgk", text: "kubectl get pods --namespce x"))
        #expect(bad.first?.render(color: false).contains("unknown flag '--namespce'") == true)
        let missing = sgk.session.check(SourceFile(name: "t.sgk", text: "kubectl wait deployment/web"))
        #expect(missing.first?.render(color: false).contains("missing 'for:'") == true)
    }

    @Test func configCommandsOnATemporaryKubeconfig() async throws {
        let temp = try KubectlTempDir()
        let path = try temp.write("config", Self.kubeconfig)
        let sgk = try SGKRun(kubeconfig: path)
        #expect(try await sgk.run("kubectl config current-context").stringValue == "alpha")
        let contexts = try await sgk.run("kubectl config get-contexts")
        #expect(contexts.listValue?.map { $0["name"]?.stringValue ?? "" } == ["alpha", "beta"])
        #expect(contexts.listValue?.first?["current"]?.boolValue == true)
        #expect(contexts.listValue?.first?["namespace"]?.stringValue == "ns-a")
        _ = try await sgk.run("kubectl config get-contexts -o table")
        #expect(sgk.out.text == """
        CURRENT   NAME    CLUSTER   AUTHINFO   NAMESPACE
        *         alpha   one       admin      ns-a
                  beta    two       admin      \n
        """)

        // use-context is a write: dry run and explain first.
        let plan = try SGKRun(kubeconfig: path, dryRun: true, explain: true)
        #expect(try await plan.run("kubectl config use-context beta").stringValue == "beta")
        #expect(plan.out.text == "kubectl config use-context beta\n~ update kubeconfig \(path) (current-context beta)\n", "\(plan.out.text)")
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("current-context: alpha"))
        await plan.close()

        _ = try await sgk.run("kubectl config use-context beta")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("current-context: beta"))
        #expect(text.contains("# a comment that use-context keeps"))
        #expect(try await sgk.run("kubectl config current-context").stringValue == "beta")
        #expect(sgk.journal.contains("\"current-context beta\""), "\(sgk.journal)")

        // Again: unchanged; an unknown context is an error naming the known ones.
        let again = try SGKRun(kubeconfig: path, dryRun: true)
        _ = try await again.run("kubectl config use-context beta")
        #expect(again.out.text.hasPrefix("= unchanged kubeconfig"))
        let err = try #require(await sgk.failure("kubectl config use-context gamma"))
        #expect(err.contains("NotFound: no context exists with the name: \"gamma\""), "\(err)")
        #expect(err.contains("alpha, beta"))
        // --kubeconfig wins over KUBECONFIG.
        let other = try temp.write("other", Self.kubeconfig.replacingOccurrences(of: "current-context: alpha", with: "current-context: beta"))
        let viaFlag = try SGKRun(kubeconfig: "/nonexistent")
        #expect(try await viaFlag.run("kubectl config current-context --kubeconfig \(other)").stringValue == "beta")
        await viaFlag.close()
        await again.close()
        await sgk.close()
        #expect(!sgk.out.text.contains("sgk-secret-token-value"))
    }

    @Test func journalNeverHoldsSecretValues() throws {
        let secret = try YAMLCodec.parse("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: s
          managedFields: [{manager: sgk}]
          annotations: {kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"cGFzcw=="}}', other: kept}
        data: {password: cGFzcw==}
        stringData: {token: abc}
        """)
        let j = JSONCodec.serialize(KubectlCommands.forJournal(secret), pretty: false)
        #expect(!j.contains("cGFzcw==") && !j.contains("abc") && !j.contains("managedFields"), "\(j)")
        #expect(j.contains("\"password\":\"<redacted>\"") && j.contains("\"other\":\"kept\""), "\(j)")
        let cm = try YAMLCodec.parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}")
        #expect(KubectlCommands.forJournal(cm) == cm)
    }

    @Test func kubeErrorsPresentThemselves() {
        let info = KubeRequestInfo(verb: "GET", path: "/api/v1/namespaces/default/pods")
        let unauthorized = KubeError.api(httpStatus: 401, status: nil, request: info, context: "sgk-test", body: "Unauthorized")
        #expect(unauthorized.errorCode == "Unauthorized")
        #expect(unauthorized.errorMessage.contains("rejected the credentials of context sgk-test"))
        #expect(unauthorized.errorHint?.contains("token") == true)
        let forbidden = KubeError.api(httpStatus: 403, status: KubeStatus(try! JSONCodec.parse(
            #"{"kind":"Status","status":"Failure","reason":"Forbidden","message":"pods is forbidden: User \"x\" cannot list","code":403}"#)),
            request: info, context: "c", body: nil)
        #expect(forbidden.errorCode == "Forbidden")
        #expect(forbidden.errorMessage == "pods is forbidden: User \"x\" cannot list")
        #expect(KubeError.timeout("waited").errorCode == "Timeout")
        let leaky = KubeError.other("header was Bearer abc.def-123")
        #expect(!leaky.errorMessage.contains("abc.def-123"))
    }

    @Test func manifestsFromFilesValuesAndErrors() async throws {
        let temp = try KubectlTempDir()
        let path = try temp.write("config", Self.kubeconfig)
        let sgk = try SGKRun(kubeconfig: path)
        let missing = try #require(await sgk.failure("kubectl apply -f /nonexistent/installer.yaml"))
        #expect(missing.contains("kubectl apply: NotFound: the path \"/nonexistent/installer.yaml\" does not exist"), "\(missing)")
        let notManifest = try #require(await sgk.failure("kubectl apply 42"))
        #expect(notManifest.contains("must be a file name, URL, map or list of maps"), "\(notManifest)")
        let broken = try temp.write("broken.yaml", "a: [1, 2\n")
        let parse = try #require(await sgk.failure("kubectl apply \(broken)"))
        #expect(parse.contains("ParseError"), "\(parse)")
        let docs = try Manifests.documents(.string(KubectlFixtures.installerPath), context: sgk.session.context)
        #expect(docs.docs.count == 18)
        #expect(docs.source == KubectlFixtures.installerPath)
        let value = try Manifests.documents(.list([.map(["kind": .string("ConfigMap")]), .string(KubectlFixtures.installerPath)]), context: sgk.session.context)
        #expect(value.docs.count == 19)
        await sgk.close()
    }
}
