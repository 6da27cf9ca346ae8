import Foundation
import SGKData
import Testing
@testable import SGKPrimitives

/// The writes sgk made on the peer, read from its audit log (`tools/kube-peer.sh` writes one JSON
/// line per answered write): the state folder is `SGK_TEST_KUBE_STATE`.
enum KubeAudit {
    static let path: String? = ProcessInfo.processInfo.environment["SGK_TEST_KUBE_STATE"].flatMap {
        $0.isEmpty ? nil : ($0 as NSString).appendingPathComponent("audit.log")
    }
    static var enabled: Bool { KubectlPeer.enabled && path != nil }

    /// The number of lines the log has now (a mark to count from).
    static func mark() -> Int { lines().count }

    /// sgk's writes (create, patch, update, delete…) since `mark` whose request URI contains `uri`,
    /// as `VERB URI` lines. The log is written once each request is answered: the count is read
    /// until it has stayed the same for a second.
    static func writes(since mark: Int, uri: String) async throws -> [String] {
        var last: [String] = []
        var stable = 0
        while stable < 5 {
            try await Task.sleep(nanoseconds: 200_000_000)
            let now = lines().dropFirst(mark).compactMap { line -> String? in
                guard let e = try? JSONCodec.parse(line), e["userAgent"]?.stringValue?.hasPrefix("sgk") == true,
                      let verb = e["verb"]?.stringValue, !["get", "list", "watch"].contains(verb),
                      let u = e["requestURI"]?.stringValue, u.contains(uri) else { return nil }
                return "\(verb) \(u)"
            }
            if now == last { stable += 1 } else { stable = 0; last = now }
        }
        return last
    }

    static func lines() -> [String] {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }
}

/// `kubectl apply` says what it did: a write is never `unchanged`, fields the server drops are said
/// once and then make no write, and a partial apply prints what it applied before failing.
@Suite(.enabled(if: KubeAudit.enabled), .serialized) struct KubectlApplyHonestyTests {
    var kubeconfig: String { KubectlPeer.kubeconfig ?? "" }

    /// The journal's entries about one object, as (status, action, detail).
    static func journal(_ sgk: SGKRun, name: String) throws -> [(String, String, String?)] {
        try sgk.journal.split(separator: "\n").map { try JSONCodec.parse(String($0)) }
            .filter { $0["name"]?.stringValue == name }
            .map { ($0["status"]?.stringValue ?? "", $0["action"]?.stringValue ?? "", $0["detail"]?.stringValue) }
    }

    /// ingress-nginx's controller Service sets `ipFamilyPolicy` and `ipFamilies`, which a 1.20
    /// server drops: the first apply writes and says so, the second writes nothing.
    @Test func fieldsTheServerDropsAreSaidOnceAndTheReApplyMakesNoWrite() async throws {
        let ns = KubectlPeer.uniqueName("sgk-drop")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let path = try sgk.temp.write("svc.yaml", """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(ns)
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: ingress-nginx-controller
          namespace: \(ns)
          labels: {app.kubernetes.io/name: ingress-nginx}
        spec:
          type: ClusterIP
          ipFamilyPolicy: SingleStack
          ipFamilies:
            - IPv4
          ports:
            - name: http
              port: 80
              protocol: TCP
              targetPort: http
          selector:
            app.kubernetes.io/name: ingress-nginx
        """)
        try await sgk.inNewNamespace(ns) {
            let uri = "/namespaces/\(ns)/services/ingress-nginx-controller"
            let note = "(the server drops fields spec.ipFamilyPolicy, spec.ipFamilies)"
            var mark = KubeAudit.mark()
            var out = sgk.out.text.count
            let first = try await sgk.run("kubectl apply -f \(path) -o name")
            #expect(String(sgk.out.text.dropFirst(out)).contains("service/ingress-nginx-controller created \(note)\n"), "\(sgk.out.text)")
            let row = try #require(first.listValue?.first { $0["kind"]?.stringValue == "Service" })
            #expect(row["action"]?.stringValue == "created")
            #expect(row["note"]?.stringValue == "the server drops fields spec.ipFamilyPolicy, spec.ipFamilies")
            #expect(try await KubeAudit.writes(since: mark, uri: uri).count == 1)

            // The re-apply: the only difference is what the server drops, so no write, `unchanged`.
            mark = KubeAudit.mark()
            out = sgk.out.text.count
            let second = try await sgk.run("kubectl apply -f \(path) -o name")
            #expect(String(sgk.out.text.dropFirst(out)) == "namespace/\(ns) unchanged\nservice/ingress-nginx-controller unchanged\n")
            #expect((second.listValue ?? []).allSatisfy { $0["action"]?.stringValue == "unchanged" && $0["note"] == nil }, "\(second)")
            let writes = try await KubeAudit.writes(since: mark, uri: uri)
            #expect(writes.isEmpty, "\(writes)")

            // A change of another field writes again (configured), saying again what was dropped.
            let changed = try sgk.temp.write("svc2.yaml", try String(contentsOfFile: path, encoding: .utf8)
                .replacingOccurrences(of: "labels: {app.kubernetes.io/name: ingress-nginx}", with: "labels: {app.kubernetes.io/name: ingress-nginx, tier: edge}"))
            mark = KubeAudit.mark()
            out = sgk.out.text.count
            _ = try await sgk.run("kubectl apply -f \(changed) -o name")
            #expect(String(sgk.out.text.dropFirst(out)).contains("service/ingress-nginx-controller configured \(note)\n"), "\(sgk.out.text)")
            #expect(try await KubeAudit.writes(since: mark, uri: uri).count == 1)

            // The journal: each write done (create, then update) with the dropped fields; never `unchanged`.
            let entries = try Self.journal(sgk, name: "\(ns)/ingress-nginx-controller")
            #expect(entries.map(\.0) == ["started", "done", "started", "done"], "\(entries)")
            #expect(entries.filter { $0.0 == "done" }.map(\.1) == ["create", "update"])
            #expect(entries.filter { $0.0 == "done" }.allSatisfy { $0.2 == "the server drops fields spec.ipFamilyPolicy, spec.ipFamilies" })
        }
    }

    /// Taking the fields a client-side `kubectl apply` wrote into sgk's field manager is a write:
    /// `configured` and journaled so; the apply after it writes nothing and is `unchanged`.
    @Test func takingOverClientSideAppliedFieldsIsConfigured() async throws {
        let ns = KubectlPeer.uniqueName("sgk-take")
        let temp = try KubectlTempDir()
        let same = try temp.write("same.yaml", """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: \(ns)
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: same
          namespace: \(ns)
        data: {a: "1"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: other
          namespace: \(ns)
        data: {a: "1"}
        """)
        let (st, kout, kerr) = try KubectlPeer.kubectl(kubeconfig, ["apply", "-f", same])
        #expect(st == 0, "\(kout)\(kerr)")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        do {
            // `same`: the values kubectl applied (shared ownership, no conflict); `other`: a changed
            // value (a conflict with kubectl's client-side manager, taken over with force).
            let manifest = try sgk.temp.write("sgk.yaml", """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: same
              namespace: \(ns)
            data: {a: "1"}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: other
              namespace: \(ns)
            data: {a: "2"}
            """)
            var mark = KubeAudit.mark()
            var out = sgk.out.text.count
            _ = try await sgk.run("kubectl apply -f \(manifest) -o name")
            #expect(String(sgk.out.text.dropFirst(out)) == "configmap/same configured\nconfigmap/other configured\n", "\(sgk.out.text)")
            #expect(try await KubeAudit.writes(since: mark, uri: "/namespaces/\(ns)/configmaps/same").count == 1)
            for name in ["same", "other"] {
                let done = try Self.journal(sgk, name: "\(ns)/\(name)").filter { $0.0 != "started" && $0.0 != "failed" }
                #expect(done.map(\.0) == ["done"], "\(name): \(done)")
                #expect(done.map(\.1) == ["update"], "\(name): \(done)")
            }

            mark = KubeAudit.mark()
            out = sgk.out.text.count
            _ = try await sgk.run("kubectl apply -f \(manifest) -o name")
            #expect(String(sgk.out.text.dropFirst(out)) == "configmap/same unchanged\nconfigmap/other unchanged\n", "\(sgk.out.text)")
            let writes = try await KubeAudit.writes(since: mark, uri: "/namespaces/\(ns)/configmaps/")
            #expect(writes.isEmpty, "\(writes)")
            #expect(!sgk.journal.contains("\"status\":\"unchanged\""), "\(sgk.journal)")
        } catch {
            _ = try? KubectlPeer.kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"])
            await sgk.close()
            throw error
        }
        _ = try? KubectlPeer.kubectl(kubeconfig, ["delete", "namespace", ns, "--wait=false"])
        await sgk.close()
    }

    /// When one object of an apply fails, the others are printed (each format), then the run fails.
    @Test func aPartialApplyPrintsWhatItAppliedThenFails() async throws {
        let ns = KubectlPeer.uniqueName("sgk-part")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        func manifest(_ tag: String) throws -> String {
            try sgk.temp.write("\(tag).yaml", """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: good-one-\(tag), namespace: \(ns)}
            data: {a: "1"}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: Bad_Name, namespace: \(ns)}
            data: {a: "1"}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: good-two-\(tag), namespace: \(ns)}
            data: {a: "1"}
            """)
        }
        try await sgk.inNewNamespace(ns) {
            var out = sgk.out.text.count
            let error = await sgk.failure("kubectl apply -f \(try manifest("n")) -o name")
            #expect(String(sgk.out.text.dropFirst(out)) == "configmap/good-one-n created\nconfigmap/good-two-n created\n", "\(sgk.out.text)")
            let message = try #require(error)
            #expect(message.contains("Bad_Name"), "\(message)")
            #expect(message.contains("1 object(s) failed (2 applied)"), "\(message)")

            // The table: the applied objects' rows, then the failure.
            out = sgk.out.text.count
            let tableError = await sgk.failure("kubectl apply -f \(try manifest("t")) -o table")
            let table = String(sgk.out.text.dropFirst(out)).split(separator: "\n").map(String.init)
            #expect(table.count == 3, "\(table)")
            #expect(table.first?.hasPrefix("KIND") == true, "\(table)")
            #expect(table.dropFirst().map { $0.contains("good-one-t") || $0.contains("good-two-t") } == [true, true], "\(table)")
            #expect(table.dropFirst().allSatisfy { $0.contains("created") })
            #expect(tableError?.contains("Bad_Name") == true)

            // The objects that applied are there; a re-run applies them unchanged and fails again.
            let (st, got, _) = try KubectlPeer.kubectl(kubeconfig, ["get", "cm", "-n", ns, "-o", "name"])
            #expect(st == 0)
            #expect(got.contains("configmap/good-one-n\n") && got.contains("configmap/good-two-n\n"), "\(got)")
            out = sgk.out.text.count
            #expect(await sgk.failure("kubectl apply -f \(try manifest("n")) -o name") != nil)
            #expect(String(sgk.out.text.dropFirst(out)) == "configmap/good-one-n unchanged\nconfigmap/good-two-n unchanged\n", "\(sgk.out.text)")
        }
    }
}
