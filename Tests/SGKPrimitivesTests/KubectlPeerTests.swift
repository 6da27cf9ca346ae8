import Foundation
import SGKData
import SGKKubernetes
import SGKLanguage
import Testing
@testable import SGKPrimitives

/// The real SageMaker installer through `kubectl apply` on a peer: apply, re-apply (unchanged),
/// the contract CRD count, the kubectl cross-check, `-o wide` pods, rollout status, clean-up.
enum KubectlInstallerScenario {
    static func run(kubeconfig: String, expectConversion: Bool) async throws {
        let suffix = String(UUID().uuidString.lowercased().prefix(8))
        let (text, ns) = try KubectlFixtures.isolatedInstaller(suffix: suffix)
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let path = try sgk.temp.write("installer.yaml", text)
        do {
            let started = Date()
            let first = try await sgk.run("kubectl apply -f \(path)")
            let sgkSeconds = Date().timeIntervalSince(started)
            let rows = first.listValue ?? []
            #expect(rows.count == 18)
            // CRDs are shared by the peer's tests: created or (already there) unchanged/configured.
            for r in rows where r["kind"]?.stringValue != "CustomResourceDefinition" {
                #expect(r["action"]?.stringValue == "created", "\(r)")
            }
            let crdRows = rows.filter { $0["kind"]?.stringValue == "CustomResourceDefinition" }
            #expect(crdRows.count == 8)
            let crdVersion = expectConversion ? "apiextensions.k8s.io/v1" : "apiextensions.k8s.io/v1beta1"
            #expect(crdRows.allSatisfy { $0["apiVersion"]?.stringValue == crdVersion }, "\(crdRows)")
            let conversions = sgk.err.text.components(separatedBy: "\n").filter { $0.contains("converted CustomResourceDefinition") }
            #expect(conversions.count == (expectConversion ? 8 : 0), "\(sgk.err.text)")
            let sa = try #require(rows.first { $0["kind"]?.stringValue == "ServiceAccount" })
            #expect(sa["namespace"]?.stringValue == ns)
            #expect(sa["apiVersion"]?.stringValue == "v1")

            // The converted CRDs keep v1beta1's meaning: a TrainingJob's fields outside the schema
            // (in its spec, and in a status an operator writes) are kept, not pruned.
            if expectConversion {
                // The fixture's sample job (its required fields), with fields its schema lacks.
                let sample = try String(contentsOfFile: (KubectlFixtures.directory as NSString).appendingPathComponent("sample-trainingjob.yaml"), encoding: .utf8)
                let job = try sgk.temp.write("job.yaml", sample
                    .replacingOccurrences(of: "  name: xgboost-mnist\n", with: "  name: kept-fields\n  namespace: \(ns)\n")
                    .replacingOccurrences(of: "\nspec:\n", with: "\nspec:\n  notInTheSchema: kept\n")
                    .replacingOccurrences(of: "  algorithmSpecification:\n", with: "  algorithmSpecification:\n    extraSetting: kept-too\n"))
                let (st, out, err) = try KubectlPeer.kubectl(kubeconfig, ["apply", "-f", job])
                #expect(st == 0, "\(out)\(err)")
                let (_, spec, _) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "get", "trainingjob", "kept-fields",
                    "-o", "jsonpath={.spec.notInTheSchema}/{.spec.algorithmSpecification.extraSetting}"])
                #expect(spec == "kept/kept-too")
                let (sst, sout, serr) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "patch", "trainingjob", "kept-fields", "--subresource=status",
                    "--type=merge", "-p", #"{"status":{"trainingJobStatus":"InProgress","operatorNote":"kept"}}"#])
                #expect(sst == 0, "\(sout)\(serr)")
                let (_, status, _) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "get", "trainingjob", "kept-fields", "-o", "jsonpath={.status.operatorNote}"])
                #expect(status == "kept")
                _ = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "delete", "trainingjob", "kept-fields", "--wait=false"])
            }

            // The same installer with the real kubectl, for the report.
            let suffix2 = String(UUID().uuidString.lowercased().prefix(8))
            let (text2, otherNS) = try KubectlFixtures.isolatedInstaller(suffix: suffix2)
            let path2 = try sgk.temp.write("installer-kubectl.yaml", text2)
            var kubectlSeconds = -1.0
            if !expectConversion {
                let t0 = Date()
                let (st, out, err) = try KubectlPeer.kubectl(kubeconfig, ["apply", "-f", path2])
                kubectlSeconds = Date().timeIntervalSince(t0)
                #expect(st == 0, "\(out)\(err)")
            }
            print("kubectl apply of the installer (18 objects) on \(expectConversion ? "no-v1beta1" : "default") peer: sgk \(Int(sgkSeconds * 1000)) ms"
                  + (kubectlSeconds >= 0 ? ", kubectl \(Int(kubectlSeconds * 1000)) ms" : ""))

            // Second apply: all unchanged; -o name prints kubectl's lines.
            let second = try await sgk.run("kubectl apply \(path) -o name")
            #expect((second.listValue ?? []).allSatisfy { $0["action"]?.stringValue == "unchanged" }, "\(second)")
            #expect(sgk.out.text.contains("deployment.apps/sagemaker-k8s-operator-controller-manager unchanged\n"), "\(sgk.out.text)")
            #expect(sgk.out.text.contains("customresourcedefinition.apiextensions.k8s.io/trainingjobs.sagemaker.aws.amazon.com unchanged\n"))
            #expect(sgk.out.text.contains("namespace/\(ns) unchanged\n"))

            // The contract line.
            let count = try await sgk.run(#"kubectl get crd | where { $it.metadata.name =~ "sagemaker" } | count"#)
            #expect(count.intValue == 8)

            // A custom resource type by its full name (none exist yet).
            let jobs = try await sgk.run("kubectl get trainingjobs.sagemaker.aws.amazon.com -n \(ns) -o wide")
            #expect(jobs.listValue?.isEmpty == true)
            #expect(sgk.err.text.hasSuffix("No resources found in \(ns) namespace.\n"), "\(sgk.err.text)")

            // What sgk applied is what the real kubectl reads back.
            let dep = try await sgk.run("kubectl get deployment sagemaker-k8s-operator-controller-manager -n \(ns)")
            let svc = try await sgk.run("kubectl -n \(ns) get svc/sagemaker-k8s-operator-controller-manager-metrics-service")
            let crd = try await sgk.run("kubectl get crd trainingjobs.sagemaker.aws.amazon.com")
            let (st, out, err) = try KubectlPeer.kubectl(kubeconfig, [
                "get", "-o", "json", "-n", ns, "deployment/sagemaker-k8s-operator-controller-manager",
                "service/sagemaker-k8s-operator-controller-manager-metrics-service", "crd/trainingjobs.sagemaker.aws.amazon.com"])
            #expect(st == 0, "\(err)")
            let items = (try JSONCodec.parse(out))["items"]?.arrayValue ?? []
            #expect(items.count == 3)
            for (ours, theirs) in zip([dep, svc, crd], items) {
                #expect(sortedKeys(ours["spec"]?.json) == sortedKeys(theirs["spec"]), "\(ours["metadata", "name"] ?? .null)")
                #expect(ours["metadata", "resourceVersion"]?.json == theirs.at("metadata", "resourceVersion"))
            }
            #expect(svc["spec", "ports"]?.listValue?.first?["protocol"]?.stringValue == "TCP")
            #expect(dep["metadata", "namespace"]?.stringValue == ns)

            // Operator pod Ready by hand, then rollout status; -o wide pods like kubectl's table.
            var readied = 0
            for _ in 0..<100 where readied == 0 {
                readied = try KubectlPeer.readyPods(kubeconfig, namespace: ns, selector: "control-plane=controller-manager")
                if readied == 0 { try await Task.sleep(nanoseconds: 200_000_000) }
            }
            #expect(readied == 1)
            let msg = try await sgk.run("kubectl rollout status deployment/sagemaker-k8s-operator-controller-manager -n \(ns) --timeout=60s")
            #expect(msg.stringValue == "deployment \"sagemaker-k8s-operator-controller-manager\" successfully rolled out")

            let before = sgk.out.text.count
            let pods = try await sgk.run("kubectl -n \(ns) get pods -o wide")
            let table = String(sgk.out.text.dropFirst(before))
            #expect(pods.listValue?.count == 1)
            #expect(pods.listValue?.first?["kind"]?.stringValue == "Pod")
            let lines = table.split(separator: "\n").map(String.init)
            #expect(lines.count == 2, "\(table)")
            let (kst, kout, _) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "get", "pods", "-o", "wide"])
            #expect(kst == 0)
            let header = lines.first ?? ""
            #expect(header == kout.split(separator: "\n").first.map(String.init), "sgk: \(header)\nkubectl: \(kout)")
            for col in ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"] {
                #expect(header.contains(col))
            }
            #expect(lines.last?.contains("Running") == true)

            // Several types at once, as kubectl prints them (tables with type/name, a blank line between).
            let mark = sgk.out.text.count
            let several = try await sgk.run("kubectl get deploy,svc,sa -n \(ns) -o table")
            #expect(several.listValue?.count == 4)
            let multi = String(sgk.out.text.dropFirst(mark))
            let (mst, mout, _) = try KubectlPeer.kubectl(kubeconfig, ["get", "deploy,svc,sa", "-n", ns])
            #expect(mst == 0)
            func shape(_ t: String) -> [String] { t.split(separator: "\n", omittingEmptySubsequences: false).map { $0.split(separator: " ").first.map(String.init) ?? "" } }
            #expect(shape(multi) == shape(mout), "sgk:\n\(multi)\nkubectl:\n\(mout)")
            #expect(multi.contains("deployment.apps/sagemaker-k8s-operator-controller-manager "))

            // Clean up what this test made (the CRDs stay: other tests of the peer share them).
            _ = try await sgk.run("""
            let mine = kubectl get clusterrole | where { $it.metadata.name =~ "\(suffix)" }
            let bindings = kubectl get clusterrolebinding | where { $it.metadata.name =~ "\(suffix)" }
            kubectl delete -f ($mine + $bindings) --wait=false
            kubectl delete namespace \(ns) \(otherNS) --wait=false --ignore-not-found
            """)
            if !expectConversion {
                for n in ["sagemaker-k8s-operator-manager-role-\(suffix2)", "sagemaker-k8s-operator-proxy-role-\(suffix2)"] {
                    _ = try KubectlPeer.kubectl(kubeconfig, ["delete", "clusterrole", n, "--wait=false"])
                }
                for n in ["sagemaker-k8s-operator-manager-rolebinding-\(suffix2)", "sagemaker-k8s-operator-proxy-rolebinding-\(suffix2)"] {
                    _ = try KubectlPeer.kubectl(kubeconfig, ["delete", "clusterrolebinding", n, "--wait=false"])
                }
            }
            let (gone, _, _) = try KubectlPeer.kubectl(kubeconfig, ["get", "clusterrole", "sagemaker-k8s-operator-manager-role-\(suffix)"])
            #expect(gone != 0)
        } catch {
            _ = try? KubectlPeer.kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"])
            await sgk.close()
            throw error
        }
        await sgk.close()
    }
}

@Suite(.enabled(if: KubectlPeer.enabled), .serialized) struct KubectlInstallerTests {
    @Test func installerOnDefaultPeer() async throws {
        try await KubectlInstallerScenario.run(kubeconfig: try #require(KubectlPeer.kubeconfig), expectConversion: false)
    }
}

@Suite(.enabled(if: KubectlPeer.noV1beta1Enabled), .serialized) struct KubectlInstallerNoV1beta1Tests {
    @Test func installerOnPeerWithoutV1beta1() async throws {
        try await KubectlInstallerScenario.run(kubeconfig: try #require(KubectlPeer.kubeconfigNoV1beta1), expectConversion: true)
    }
}

@Suite(.enabled(if: KubectlPeer.enabled), .serialized) struct KubectlPeerTests {
    var kubeconfig: String { KubectlPeer.kubeconfig ?? "" }

    /// A CRD with CEL rules (Kubernetes 1.25+) on the 1.20 peer: the rules are left out, said in
    /// one Warning line; the re-apply is unchanged.
    @Test func celRulesAreLeftOutForAnOlderServer() async throws {
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let name = "gadgets\(UUID().uuidString.lowercased().prefix(6)).sgk.test"
        let group = String(name.split(separator: ".", maxSplits: 1)[1])
        let plural = String(name.split(separator: ".")[0])
        let crd = """
        {apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: {name: "\(name)"},
         spec: {group: "\(group)", scope: "Namespaced", names: {kind: "Gadget", plural: "\(plural)"},
                versions: [{name: "v1", served: true, storage: true, schema: {openAPIV3Schema: {type: "object",
                  properties: {spec: {type: "object", "x-kubernetes-validations": [{rule: "self.a <= self.b"}],
                                      properties: {a: {type: "integer"}, b: {type: "integer"}}}}}}}]}}
        """
        let first = try await sgk.run("\(crd) | kubectl apply")
        #expect(first.listValue?.first?["action"]?.stringValue == "created")
        #expect(sgk.err.text.contains("Warning: CustomResourceDefinition \(name): its 1 x-kubernetes-validations rule(s) are left out: the server (v1.20"), "\(sgk.err.text)")
        let again = try await sgk.run("\(crd) | kubectl apply")
        #expect(again.listValue?.first?["action"]?.stringValue == "unchanged")
        _ = try KubectlPeer.kubectl(kubeconfig, ["delete", "crd", name, "--wait=false"])
        await sgk.close()
    }

    @Test func dryRunAppliesNothing() async throws {
        let suffix = String(UUID().uuidString.lowercased().prefix(8))
        let (text, ns) = try KubectlFixtures.isolatedInstaller(suffix: suffix)
        // The run's --dry-run.
        let sgk = try SGKRun(kubeconfig: kubeconfig, dryRun: true)
        let path = try sgk.temp.write("installer.yaml", text)
        let plan = try await sgk.run("kubectl apply -f \(path)")
        await sgk.close()
        let rows = plan.listValue ?? []
        #expect(rows.count == 18)
        #expect(rows.filter { $0["kind"]?.stringValue != "CustomResourceDefinition" }.allSatisfy { $0["action"]?.stringValue == "created" })
        #expect(sgk.out.text.contains("+ create Namespace \(ns)\n"), "\(sgk.out.text)")
        #expect(sgk.out.text.contains("+ create Deployment \(ns)/sagemaker-k8s-operator-controller-manager\n"))
        #expect(sgk.out.text.contains("+ create ClusterRole sagemaker-k8s-operator-manager-role-\(suffix)\n"))
        #expect(sgk.journal.isEmpty)

        // A call's --dry-run=server, in a run that writes.
        let sgk2 = try SGKRun(kubeconfig: kubeconfig)
        let path2 = try sgk2.temp.write("installer.yaml", text)
        _ = try await sgk2.run("kubectl apply -f \(path2) --dry-run=server -o name")
        await sgk2.close()
        #expect(sgk2.out.text.contains("namespace/\(ns) created (server dry run)\n"), "\(sgk2.out.text)")
        #expect(sgk2.out.text.contains("+ create ServiceAccount \(ns)/sagemaker-k8s-operator-default\n"))

        for args in [["get", "namespace", ns], ["get", "clusterrole", "sagemaker-k8s-operator-manager-role-\(suffix)"],
                     ["get", "clusterrolebinding", "sagemaker-k8s-operator-proxy-rolebinding-\(suffix)"]] {
            let (st, _, err) = try KubectlPeer.kubectl(kubeconfig, args)
            #expect(st != 0)
            #expect(err.contains("NotFound"), "\(err)")
        }
    }

    /// A Secret's values stay out of explain lines (a patch, a List that wraps it) and out of the
    /// server's Invalid message, which quotes the merged object with the stored values.
    @Test func secretValuesStayOutOfExplainAndErrors() async throws {
        let ns = KubectlPeer.uniqueName("sgk-secret")
        let sgk = try SGKRun(kubeconfig: kubeconfig, explain: true)
        _ = try await sgk.run("kubectl apply {apiVersion: \"v1\", kind: \"Namespace\", metadata: {name: \"\(ns)\"}}")
        _ = try await sgk.run("""
            kubectl apply {apiVersion: "v1", kind: "List", items: [{apiVersion: "v1", kind: "Secret", metadata: {name: "db", namespace: "\(ns)"}, stringData: {pw: "LISTstoredVALUE-1"}}]}
            """)
        _ = try await sgk.run("kubectl patch secret db -n \(ns) --type merge -p {stringData: {extra: \"PATCHvalue-2\"}}")
        let failure = await sgk.failure("kubectl patch secret db -n \(ns) --type merge -p {data: {other: \"x!\"}}") ?? ""
        #expect(failure.contains("Invalid"), "\(failure)")
        let stored = Data("LISTstoredVALUE-1".utf8).base64EncodedString()
        for text in [sgk.out.text, sgk.err.text, failure] {
            #expect(!text.contains("LISTstoredVALUE-1") && !text.contains("PATCHvalue-2") && !text.contains(stored), "\(text)")
        }
        #expect(sgk.out.text.contains("# sgk does not show a Secret's values"), "\(sgk.out.text)")
        _ = try await sgk.run("kubectl delete namespace \(ns) --wait=false")
        await sgk.close()
    }

    @Test func explainPrintsTheKubectlLineOncePerApply() async throws {
        let ns = KubectlPeer.uniqueName("sgk-explain")
        let sgk = try SGKRun(kubeconfig: kubeconfig, explain: true)
        let manifest = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(ns)
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          namespace: \(ns)
        data:
          a: "1"
        """
        let path = try sgk.temp.write("m.yaml", manifest)
        _ = try await sgk.run("kubectl apply -f \(path)")
        let line = "kubectl apply --server-side --field-manager=sgk -f \(path)\n"
        #expect(sgk.out.text == line, "\(sgk.out.text)")
        // A value: `-f -` and the documents as a here-document; and the journal has both writes.
        _ = try await sgk.run("kubectl apply {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"other\"}} -n \(ns)")
        #expect(sgk.out.text.hasSuffix("""
            kubectl apply --server-side --field-manager=sgk -n \(ns) -f - <<'EOF'
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: other
            EOF

            """), "\(sgk.out.text)")
        let journal = sgk.journal
        #expect(journal.components(separatedBy: "\n").filter { $0.contains("\"status\":\"done\"") && $0.contains("\"action\":\"create\"") }.count == 3, "\(journal)")
        _ = try await sgk.run("kubectl delete namespace \(ns) --wait=false")
        #expect(sgk.out.text.hasSuffix("kubectl delete namespaces \(ns)\n"), "\(sgk.out.text)")
        await sgk.close()
        #expect(!sgk.out.text.contains(try KubectlPeer.token(besides: kubeconfig)))
    }

    @Test func configMapGetWaitDelete() async throws {
        let ns = KubectlPeer.uniqueName("sgk-cm")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        try await sgk.inNewNamespace(ns) {
            let applied = try await sgk.run("""
            let cm = {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "settings", labels: {app: "demo"}}, data: {mode: "fast"}}
            [$cm] | kubectl apply -n \(ns)
            """)
            #expect(applied.listValue?.first?["action"]?.stringValue == "created")
            #expect(applied.listValue?.first?["namespace"]?.stringValue == ns)

            let got = try await sgk.run("kubectl get configmap settings -n \(ns)")
            #expect(got["data", "mode"]?.stringValue == "fast")
            #expect(got["metadata", "managedFields"] == nil)
            let listed = try await sgk.run("kubectl -n \(ns) get cm -l app=demo")
            #expect(listed.listValue?.count == 1)
            let none = try await sgk.run("kubectl -n \(ns) get cm -l app=other")
            #expect(none.listValue?.count == 0)
            let byField = try await sgk.run("kubectl get configmaps -n \(ns) --field-selector metadata.name=settings")
            #expect(byField.listValue?.count == 1)
            let everywhere = try await sgk.run("kubectl get cm -A -l app=demo")
            #expect(everywhere.listValue?.contains { $0["metadata", "namespace"]?.stringValue == ns } == true)

            let mark = sgk.out.text.count
            _ = try await sgk.run("kubectl get cm settings -n \(ns) -o name")
            _ = try await sgk.run("kubectl get cm settings -n \(ns) -o \"jsonpath={.data.mode}\"")
            #expect(String(sgk.out.text.dropFirst(mark)) == "configmap/settings\nfast\n")

            // wait: met, then a timeout naming what was last seen.
            let w = try await sgk.run(#"kubectl wait configmap/settings -n \#(ns) --for "jsonpath={.data.mode}=fast" --timeout=10s"#)
            #expect(w["data", "mode"]?.stringValue == "fast")
            // A list of names: every one waited for at once, a list returned.
            _ = try await sgk.run(#"[{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "other"}, data: {mode: "fast"}}] | kubectl apply -n \#(ns)"#)
            let both = try await sgk.run(#"kubectl wait cm ["settings", "other"] -n \#(ns) --for "jsonpath={.data.mode}=fast" --timeout=10s"#)
            #expect(both.listValue?.compactMap { $0["metadata", "name"]?.stringValue } == ["other", "settings"])
            let started = Date()
            let timeoutError = await sgk.failure(#"kubectl wait cm settings -n \#(ns) --for "jsonpath={.data.mode}=slow" --timeout=2s"#)
            #expect(Date().timeIntervalSince(started) < 10)
            let te = try #require(timeoutError)
            #expect(te.contains("kubectl wait: Timeout:"), "\(te)")
            #expect(te.contains("{.data.mode}=fast"), "\(te)")

            // The wait sees a change made while it waits.
            async let waited = sgk.run(#"kubectl wait cm -l app=demo -n \#(ns) --for "jsonpath={.data.mode}=slow" --timeout=20s"#)
            try await Task.sleep(nanoseconds: 500_000_000)
            let (pst, _, perr) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "patch", "cm", "settings", "--type=merge", "-p", #"{"data":{"mode":"slow"}}"#])
            #expect(pst == 0, "\(perr)")
            let seen = try await waited
            #expect(seen.listValue?.first?["data", "mode"]?.stringValue == "slow")

            // A dry-run delete plans and keeps the object.
            let planned = try await sgk.run("kubectl delete cm/settings -n \(ns) --dry-run=server")
            #expect(planned.listValue?.first?["action"]?.stringValue == "deleted")
            #expect(sgk.out.text.hasSuffix("- delete ConfigMap \(ns)/settings\n"), "\(sgk.out.text)")
            let kept = try await sgk.run("kubectl get cm settings -n \(ns)")
            #expect(kept["data", "mode"]?.stringValue == "slow")

            // delete (waits until gone), then get with --ignore-not-found, then NotFound errors.
            let deleted = try await sgk.run("kubectl delete configmap settings -n \(ns) --timeout=30s -o name")
            #expect(deleted.listValue?.first?["action"]?.stringValue == "deleted")
            #expect(sgk.out.text.hasSuffix("configmap/settings deleted\n"))
            let gone = try await sgk.run("kubectl get cm settings -n \(ns) --ignore-not-found")
            #expect(gone.isNull)
            let notFound = try #require(await sgk.failure("kubectl get cm settings -n \(ns)"))
            #expect(notFound.contains("kubectl get: NotFound: configmaps \"settings\" not found"), "\(notFound)")
            let deleteMissing = try #require(await sgk.failure("kubectl delete cm settings -n \(ns)"))
            #expect(deleteMissing.contains("NotFound"), "\(deleteMissing)")
            let ignored = try await sgk.run("kubectl delete cm settings -n \(ns) --ignore-not-found")
            #expect(ignored.listValue?.isEmpty == true)
            // A file with a type the server does not serve (policy/v1 on 1.20, a CRD that is gone):
            // the rest is deleted, and each unmappable document is reported (as kubectl does).
            let mixed = #"[{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "doomed"}}, {apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: {name: "pdb"}}, {apiVersion: "example.com/v1", kind: "Widget", metadata: {name: "w"}}]"#
            _ = try await sgk.run(#"\#(mixed) | first | kubectl apply -n \#(ns)"#)
            let unmapped = try #require(await sgk.failure(#"kubectl delete -f \#(mixed) -n \#(ns) --timeout=30s"#))
            #expect(unmapped.contains("2 documents could not be mapped") && unmapped.contains(#"name: "pdb""#) && unmapped.contains(#"name: "w""#), "\(unmapped)")
            #expect(unmapped.contains("the other 1 object(s) were deleted"), "\(unmapped)")
            let afterMixed = try await sgk.run("kubectl get cm doomed -n \(ns) --ignore-not-found")
            #expect(afterMixed.isNull)
            _ = try await sgk.run(#"\#(mixed) | first | kubectl apply -n \#(ns)"#)
            let tolerant = try await sgk.run(#"kubectl delete -f \#(mixed) -n \#(ns) --ignore-not-found --timeout=30s"#)
            #expect(tolerant.listValue?.count == 1)
            let forDelete = try await sgk.run("kubectl wait cm/settings -n \(ns) --for=delete --timeout=5s")
            #expect(forDelete.isNull)
            // As kubectl's: a condition on an object that does not exist fails at once, naming it
            // (one of several names is enough); --for=create waits until it exists.
            let waitStarted = Date()
            let waitMissing = try #require(await sgk.failure(#"kubectl wait cm ["other", "settings"] -n \#(ns) --for "jsonpath={.data.mode}=fast" --timeout=20s"#))
            #expect(Date().timeIntervalSince(waitStarted) < 10)
            #expect(waitMissing.contains("kubectl wait: NotFound: configmaps \"settings\" not found") && waitMissing.contains("--for=create"), "\(waitMissing)")
            async let created = sgk.run("kubectl wait cm/settings -n \(ns) --for=create --timeout=20s")
            try await Task.sleep(nanoseconds: 500_000_000)
            let (cst, _, cerr) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "create", "configmap", "settings", "--from-literal=mode=new"])
            #expect(cst == 0, "\(cerr)")
            #expect(try await created["data", "mode"]?.stringValue == "new")
            let unknown = try #require(await sgk.failure("kubectl get nosuchthings"))
            #expect(unknown.contains("UnknownResource"), "\(unknown)")
        }
    }

    @Test func wrongTokenIsAClear401WithoutTheToken() async throws {
        let wrong = "sgk-wrong-token-\(UUID().uuidString)"
        let real = try KubectlPeer.token(besides: kubeconfig)
        let temp = try KubectlTempDir()
        let text = try String(contentsOfFile: kubeconfig, encoding: .utf8).replacingOccurrences(of: real, with: wrong)
        #expect(text.contains(wrong))
        let path = try temp.write("kubeconfig", text)
        let sgk = try SGKRun(kubeconfig: path)
        let message = try #require(await sgk.failure("kubectl get pods -n default"))
        await sgk.close()
        #expect(message.contains("kubectl get: Unauthorized:"), "\(message)")
        #expect(message.contains("401"))
        #expect(message.contains("hint:"), "\(message)")
        #expect(!message.contains(wrong))
        #expect(!message.contains(real))
        #expect(!sgk.err.text.contains(wrong) && !sgk.out.text.contains(wrong))
        // `catch` sees the code.
        let sgk2 = try SGKRun(kubeconfig: path)
        let code = try await sgk2.run("""
        let code = "none"
        try { kubectl version } catch err { code = $err.code }
        $code
        """)
        await sgk2.close()
        #expect(code.stringValue == "Unauthorized")
    }

    @Test func execUserThroughTheInProcessTokenHook() async throws {
        let real = try KubectlPeer.token(besides: kubeconfig)
        let doc = try YAMLCodec.parse(String(contentsOfFile: kubeconfig, encoding: .utf8))
        let cluster = try #require(doc["clusters"]?[0]?["cluster"])
        let server = try #require(cluster["server"]?.stringValue)
        let ca = try #require(cluster["certificate-authority-data"]?.stringValue)
        let temp = try KubectlTempDir()
        let path = try temp.write("kubeconfig", """
        apiVersion: v1
        kind: Config
        clusters:
        - name: peer
          cluster:
            server: \(server)
            certificate-authority-data: \(ca)
        users:
        - name: eks
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: /nonexistent/aws
              args: [eks, get-token, --cluster-name, demo]
        contexts:
        - name: eks
          context: {cluster: peer, user: eks}
        current-context: eks
        """)
        // Without the hook the plugin runs, and its absence is a clear error.
        let without = try SGKRun(kubeconfig: path)
        let failure = try #require(await without.failure("kubectl version"))
        await without.close()
        #expect(failure.contains("kubectl version: ExecPluginError:"), "\(failure)")
        // With it, the token is minted in-process.
        KubectlLibrary.execTokenProvider = { config in
            config.argument(after: "--cluster-name") == "demo" ? ExecCredential(token: real) : nil
        }
        defer { KubectlLibrary.execTokenProvider = nil }
        let sgk = try SGKRun(kubeconfig: path)
        let v = try await sgk.run("kubectl version")
        #expect(v["serverVersion", "gitVersion"]?.stringValue == "v1.20.2")
        let nss = try await sgk.run("kubectl get namespaces -o name")
        #expect(nss.listValue?.contains { $0["metadata", "name"]?.stringValue == "default" } == true)
        await sgk.close()
        #expect(!sgk.out.text.contains(real) && !sgk.err.text.contains(real))
    }

    @Test func configUseContextOnAKubeconfigCopySwitchesTheClient() async throws {
        let temp = try KubectlTempDir()
        var text = try String(contentsOfFile: kubeconfig, encoding: .utf8)
        let doc = try YAMLCodec.parse(text)
        let cluster = try #require(doc["contexts"]?[0]?["context"]?["cluster"]?.stringValue)
        let user = try #require(doc["contexts"]?[0]?["context"]?["user"]?.stringValue)
        let current = try #require(doc["current-context"]?.stringValue)
        text = text.replacingOccurrences(of: "contexts:\n", with: """
        contexts:
        - name: system
          context:
            cluster: \(cluster)
            user: \(user)
            namespace: kube-system

        """)
        let path = try temp.write("kubeconfig", text)
        let sgk = try SGKRun(kubeconfig: path)
        #expect(try await sgk.run("kubectl config current-context").stringValue == current)
        let before = try await sgk.run("kubectl get serviceaccount default")
        #expect(before["metadata", "namespace"]?.stringValue == "default")
        let names = try await sgk.run("kubectl config get-contexts")
        #expect(names.listValue?.compactMap { $0["name"]?.stringValue }.sorted() == [current, "system"].sorted())
        _ = try await sgk.run("kubectl config use-context system")
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("current-context: system"))
        // The run's client follows the new current context (its namespace is kube-system).
        let after = try await sgk.run("kubectl get serviceaccount default")
        #expect(after["metadata", "namespace"]?.stringValue == "kube-system")
        let explicit = try await sgk.run("kubectl get sa default --context \(current)")
        #expect(explicit["metadata", "namespace"]?.stringValue == "default")
        await sgk.close()
        // The real kubectl reads the file the same way.
        let (st, out, _) = try KubectlPeer.kubectl(path, ["config", "current-context"])
        #expect(st == 0 && out == "system\n")
    }

    @Test func objectsLastAppliedWithKubectlApplyAreTakenOver() async throws {
        let ns = KubectlPeer.uniqueName("sgk-csa")
        let temp = try KubectlTempDir()
        let v1 = try temp.write("v1.yaml", """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(ns)
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: runner
          namespace: \(ns)
          annotations:
            eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/old
        """)
        let (st, out, err) = try KubectlPeer.kubectl(kubeconfig, ["apply", "-f", v1])
        #expect(st == 0, "\(out)\(err)")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let changed = try await sgk.run("""
        let sa = {apiVersion: "v1", kind: "ServiceAccount", metadata: {name: "runner", namespace: "\(ns)",
                  annotations: {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/new"}}}
        kubectl apply $sa
        """)
        #expect(changed.listValue?.first?["action"]?.stringValue == "configured", "\(changed)")
        #expect(sgk.err.text.contains("was last applied client-side (kubectl apply)"), "\(sgk.err.text)")
        let sa = try await sgk.run("kubectl get sa runner -n \(ns)")
        #expect(sa["metadata", "annotations", "eks.amazonaws.com/role-arn"]?.stringValue == "arn:aws:iam::111122223333:role/new")
        _ = try await sgk.run("kubectl delete namespace \(ns) --wait=false")
        await sgk.close()
    }

    @Test func versionAndAPIResources() async throws {
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let v = try await sgk.run("kubectl version")
        #expect(v["serverVersion", "gitVersion"]?.stringValue == "v1.20.2")
        let rows = try await sgk.run("kubectl api-resources")
        let list = rows.listValue ?? []
        #expect(list.contains { $0["name"]?.stringValue == "deployments" && $0["apiVersion"]?.stringValue == "apps/v1" })
        #expect(list.contains { $0["name"]?.stringValue == "customresourcedefinitions" && $0["shortNames"]?.listValue?.first?.stringValue == "crd" })
        let mark = sgk.out.text.count
        _ = try await sgk.run("kubectl api-resources -o table --api-group apps")
        let ours = String(sgk.out.text.dropFirst(mark))
        let (st, theirs, _) = try KubectlPeer.kubectl(kubeconfig, ["api-resources", "--api-group", "apps"])
        #expect(st == 0)
        #expect(ours == theirs, "sgk:\n\(ours)\nkubectl:\n\(theirs)")
        let clusterScoped = try await sgk.run("kubectl api-resources --namespaced=false")
        #expect((clusterScoped.listValue ?? []).allSatisfy { $0["namespaced"]?.boolValue == false })
        // Flags before the sub-command, as kubectl allows.
        let pods = try await sgk.run("kubectl -n kube-system get pods")
        #expect(pods.listValue != nil)
        await sgk.close()
    }
}
