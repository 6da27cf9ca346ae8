import Foundation
import SGKLanguage
import Testing
@testable import SGKPrimitives

/// `journal entries|created|path` read what the Effects seam journaled.
@Suite struct JournalTests {
    @Test func createdFollowsTheLastCreateOrDelete() async throws {
        let h = Harness()
        let path = try #require(h.session.context.options.journalPath)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = [
            #"{"time":"t1","action":"create","kind":"role","name":"r","arn":"arn:aws:iam::1:role/r","before":null,"after":null}"#,
            #"{"time":"t2","action":"create","kind":"role-policy-attachment","name":"r","detail":"arn:aws:iam::aws:policy/P","before":null,"after":null}"#,
            #"{"time":"t3","action":"update","kind":"role","name":"r","detail":"trust policy","before":null,"after":null}"#,
            #"{"time":"t4","action":"create","kind":"oidc-provider","name":"arn:p","before":null,"after":null}"#,
            #"{"time":"t5","action":"delete","kind":"oidc-provider","name":"arn:p","before":null,"after":null}"#,
            "not json (a torn line is skipped)",
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await h.run("journal created role r") == .bool(true))
        #expect(try await h.run("journal created role r arn: arn:aws:iam::1:role/r") == .bool(true))
        #expect(try await h.run("journal created role r arn: arn:aws:iam::2:role/r") == .bool(false))
        #expect(try await h.run("journal created role other") == .bool(false))
        #expect(try await h.run("journal created role-policy-attachment r detail: arn:aws:iam::aws:policy/P") == .bool(true))
        #expect(try await h.run("journal created role-policy-attachment r detail: arn:aws:iam::aws:policy/Q") == .bool(false))
        #expect(try await h.run("journal created oidc-provider arn:p") == .bool(false))
        #expect(try await h.run("journal entries kind: role | count") == .int(2))
        #expect(try await h.run("journal entries action: delete | first | get name") == .string("arn:p"))
        #expect(try await h.run("journal path") == .string(path))
        let bad = await h.failure("journal entries action: remove")
        #expect(bad.contains("action: must be create, update or delete"), "\(bad)")
        await h.close()
    }

    @Test func aWriteWithoutItsEndReadsAsInterrupted() async throws {
        let h = Harness()
        let path = try #require(h.session.context.options.journalPath)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = [
            // Done: start and end, the end adds the ARN.
            #"{"time":"t1","id":"9-1-1","status":"started","action":"create","kind":"oidc-provider","name":"arn:p","before":null,"after":{"Url":"u"}}"#,
            #"{"time":"t2","id":"9-1-1","status":"done","action":"create","kind":"oidc-provider","name":"arn:p","arn":"arn:p"}"#,
            // Failed: left out.
            #"{"time":"t3","id":"9-1-2","status":"started","action":"create","kind":"role","name":"x","before":null,"after":null}"#,
            #"{"time":"t4","id":"9-1-2","status":"failed","action":"create","kind":"role","name":"x"}"#,
            // Killed between the write and its answer: interrupted, and it counts as created.
            #"{"time":"t5","id":"9-1-3","status":"started","action":"create","kind":"role","name":"r","before":null,"after":null}"#,
            // An interrupted delete does not undo the create before it.
            #"{"time":"t6","id":"9-2-1","status":"started","action":"delete","kind":"oidc-provider","name":"arn:p","before":null,"after":null}"#,
            // A write that changed nothing after all: left out.
            #"{"time":"t7","id":"9-3-1","status":"started","action":"update","kind":"ConfigMap","name":"ns/a","before":{},"after":{}}"#,
            #"{"time":"t8","id":"9-3-1","status":"unchanged","action":"update","kind":"ConfigMap","name":"ns/a"}"#,
            // A create that met an object made meanwhile: the end says it was an update.
            #"{"time":"t9","id":"9-3-2","status":"started","action":"create","kind":"Namespace","name":"ns","before":null,"after":{}}"#,
            #"{"time":"t10","id":"9-3-2","status":"done","action":"update","kind":"Namespace","name":"ns"}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await h.run("journal entries | count") == .int(4))
        #expect(try await h.run("journal entries | each { $it.status } | join ' '") == .string("done interrupted interrupted done"))
        #expect(try await h.run("journal created Namespace ns") == .bool(false))
        #expect(try await h.run("journal entries kind: oidc-provider action: create | first | get after.Url") == .string("u"))
        #expect(try await h.run("journal entries kind: oidc-provider action: create | first | get time") == .string("t2"))
        #expect(try await h.run("journal created role r") == .bool(true))
        #expect(try await h.run("journal created role x") == .bool(false))
        #expect(try await h.run("journal created oidc-provider arn:p") == .bool(true))
        await h.close()
    }

    @Test func aKubernetesObjectCountsOnlyInTheClusterItWasCreatedIn() async throws {
        let dir = NSTemporaryDirectory() + "sgk-journal-cluster-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let kubeconfig = dir + "/config"
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: a
          cluster: {server: "https://127.0.0.1:6443"}
        users:
        - name: u
          user: {token: "t"}
        contexts:
        - name: a
          context: {cluster: a, user: u}
        current-context: a
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let h = Harness(environment: ["KUBECONFIG": kubeconfig])
        let path = try #require(h.session.context.options.journalPath)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = [
            // Created in cluster A (the current context's) and in another cluster B.
            #"{"time":"t1","id":"9-1-1","status":"started","action":"create","kind":"Namespace","name":"ops","cluster":"https://127.0.0.1:6443","before":null,"after":{}}"#,
            #"{"time":"t2","id":"9-1-1","status":"done","action":"create","kind":"Namespace","name":"ops","cluster":"https://127.0.0.1:6443"}"#,
            #"{"time":"t3","id":"9-1-2","status":"started","action":"create","kind":"Namespace","name":"ml","cluster":"https://b.example:443","before":null,"after":{}}"#,
            #"{"time":"t4","id":"9-1-2","status":"done","action":"create","kind":"Namespace","name":"ml","cluster":"https://b.example:443"}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try await h.run("journal created Namespace ops") == .bool(true))
        #expect(try await h.run("journal created Namespace ml") == .bool(false))
        #expect(try await h.run("journal created Namespace ml cluster: https://b.example:443") == .bool(true))
        #expect(try await h.run("journal created Namespace ops cluster: https://b.example:443") == .bool(false))
        #expect(try await h.run("journal created Namespace ops context: a") == .bool(true))
        #expect(try await h.run("journal created Namespace ops context: null") == .bool(true))
        let missing = await h.failure("journal created Namespace ops context: nowhere")
        #expect(missing.contains("nowhere"), "\(missing)")
        // Even with no entry to compare: a context asked for must exist.
        let typo = await h.failure("journal created Namespace other context: nowhere")
        #expect(typo.contains("nowhere"), "\(typo)")
        #expect(try await h.run("journal entries kind: Namespace | each { $it.cluster } | join ' '") == .string("https://127.0.0.1:6443 https://b.example:443"))
        await h.close()
    }

    @Test func onlyTheLinesThatNameAResourceAreRead() {
        let data = Data("\"a\" first\n{\"name\":\"a\",\"x\":\"a\"}\n\n{\"name\":\"ab\"}\n{\"name\":\"b\"}\nlast \"a\"".utf8)
        #expect(JournalLibrary.lines(data, containing: "\"a\"") == ["\"a\" first", "{\"name\":\"a\",\"x\":\"a\"}", "last \"a\""])
        #expect(JournalLibrary.lines(data, containing: "\"c\"").isEmpty)
        #expect(JournalLibrary.lines(data, containing: "b").count == 2)
        #expect(JournalLibrary.lines(data, containing: nil).count == 5)
        #expect(JournalLibrary.lines(Data(), containing: "\"a\"").isEmpty)
    }

    @Test func anAbsentJournalIsEmpty() async throws {
        let h = Harness()
        #expect(try await h.run("journal entries | count") == .int(0))
        #expect(try await h.run("journal created role r") == .bool(false))
        await h.close()
    }
}

/// `kubectl patch` on the peer: a write through Effects, unchanged (no write) when it changes nothing.
@Suite(.enabled(if: KubectlPeer.enabled), .serialized) struct KubectlPatchTests {
    let kubeconfig = KubectlPeer.kubeconfig ?? ""

    @Test func patchRemovesFinalizersAndConverges() async throws {
        let ns = KubectlPeer.uniqueName("sgk-patch")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        try await sgk.inNewNamespace(ns) {
            _ = try await sgk.run(#"kubectl apply {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "held", finalizers: ["example.com/hold"]}, data: {a: "1"}} -n \#(ns)"#)
            _ = try await sgk.run("kubectl delete configmap held -n \(ns) --wait=false")
            let journalBefore = sgk.journal.components(separatedBy: "\n").count
            // A dry run plans the update and keeps the finalizer.
            let dry = try await sgk.run(#"kubectl patch configmap held -n \#(ns) --type merge -p '{"metadata":{"finalizers":null}}' --dry-run=server"#)
            #expect(dry["metadata", "finalizers"] == nil || dry["metadata", "finalizers"]?.isNull == true, "\(dry)")
            #expect(sgk.out.text.contains("~ update ConfigMap \(ns)/held (patch)"), "\(sgk.out.text)")
            let (_, held, _) = try KubectlPeer.kubectl(kubeconfig, ["-n", ns, "get", "cm", "held", "-o", "jsonpath={.metadata.finalizers}"])
            #expect(held.contains("example.com/hold"))
            // The patch, as a map; the object then goes away.
            _ = try await sgk.run("kubectl patch cm/held -n \(ns) --type merge patch: {metadata: {finalizers: null}}")
            _ = try await sgk.run("kubectl wait cm/held -n \(ns) --for=delete --timeout=20s")
            #expect(sgk.journal.components(separatedBy: "\n").count == journalBefore + 2, "\(sgk.journal)")  // its start and its end
            // A patch that changes nothing makes no write.
            _ = try await sgk.run(#"kubectl apply {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "plain"}, data: {a: "1"}} -n \#(ns)"#)
            let mark = sgk.journal.components(separatedBy: "\n").count
            _ = try await sgk.run(#"kubectl patch configmap plain -n \#(ns) -p '{"data":{"a":"1"}}'"#)
            #expect(sgk.journal.components(separatedBy: "\n").count == mark)
            let changed = try await sgk.run(#"kubectl patch configmap plain -n \#(ns) --type json -p '[{"op":"replace","path":"/data/a","value":"2"}]' -o name"#)
            #expect(changed["data", "a"]?.stringValue == "2")
            #expect(sgk.out.text.hasSuffix("configmap/plain patched\n"), "\(sgk.out.text)")
            // Errors: no patch, a bad type, an absent object.
            let noPatch = try #require(await sgk.failure("kubectl patch configmap plain -n \(ns)"))
            #expect(noPatch.contains("no patch given"), "\(noPatch)")
            let badType = try #require(await sgk.failure("kubectl patch configmap plain -n \(ns) --type apply -p '{}'"))
            #expect(badType.contains("--type must be merge, strategic or json"), "\(badType)")
            let missing = try #require(await sgk.failure("kubectl patch configmap nope -n \(ns) -p '{}'"))
            #expect(missing.contains("NotFound"), "\(missing)")
        }
    }
}

/// Ownership does not depend on how the server is spelled: an entry names the cluster by its
/// kube-system namespace's UID (issue 21, defect 14).
@Suite(.enabled(if: KubectlPeer.enabled), .serialized) struct JournalClusterIdentityTests {
    let kubeconfig = KubectlPeer.kubeconfig ?? ""

    /// The peer's kubeconfig with its server spelled `https://localhost:PORT` (its certificate names localhost too).
    func byName(_ dir: String) throws -> String {
        let text = try String(contentsOfFile: kubeconfig, encoding: .utf8)
        let path = (dir as NSString).appendingPathComponent("by-name.kubeconfig")
        try text.replacingOccurrences(of: "https://127.0.0.1:", with: "https://localhost:").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func createdThroughOneSpellingIsSgksThroughTheOther() async throws {
        let ns = KubectlPeer.uniqueName("sgk-spelled")
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let other = try byName(sgk.temp.path)
        #expect(try String(contentsOfFile: kubeconfig, encoding: .utf8).contains("https://127.0.0.1:"))
        let (_, uid, _) = try KubectlPeer.kubectl(kubeconfig, ["get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"])
        #expect(!uid.isEmpty)
        _ = try await sgk.run("kubectl apply {apiVersion: \"v1\", kind: \"Namespace\", metadata: {name: \"\(ns)\"}}")
        let entry = try await sgk.run("journal entries kind: Namespace name: \(ns) | first")
        #expect(entry["clusterID"]?.stringValue == uid, "\(sgk.journal)")
        #expect(entry["cluster"]?.stringValue?.hasPrefix("https://127.0.0.1:") == true)
        #expect(try await sgk.run("journal created Namespace \(ns)") == .bool(true))
        #expect(try await sgk.run("journal created Namespace \(ns) kubeconfig: \"\(other)\"") == .bool(true))
        #expect(try await sgk.run("journal created Namespace \(ns) cluster: \"\(uid)\"") == .bool(true))
        #expect(try await sgk.run("journal created Namespace \(ns) cluster: \"00000000-0000-0000-0000-000000000000\"") == .bool(false))
        // Deleted through the other spelling: no longer sgk's through either.
        _ = try await sgk.run("kubectl delete namespace \(ns) --wait=false --kubeconfig \"\(other)\"")
        #expect(try await sgk.run("journal created Namespace \(ns)") == .bool(false))
        #expect(try await sgk.run("journal created Namespace \(ns) kubeconfig: \"\(other)\"") == .bool(false))
        await sgk.close()
    }

    @Test func anOlderEntryWithoutAClusterIDComparesByURL() async throws {
        let sgk = try SGKRun(kubeconfig: kubeconfig)
        let other = try byName(sgk.temp.path)
        let server = try #require(try String(contentsOfFile: kubeconfig, encoding: .utf8)
            .split(separator: "\n").first { $0.contains("server:") }?.split(separator: " ").last.map(String.init))
        let line = #"{"time":"t1","action":"create","kind":"Namespace","name":"old","cluster":"\#(server)"}"#
        try (line + "\n").write(toFile: (sgk.temp.path as NSString).appendingPathComponent("journal.jsonl"), atomically: true, encoding: .utf8)
        #expect(try await sgk.run("journal created Namespace old") == .bool(true))
        #expect(try await sgk.run("journal created Namespace old kubeconfig: \"\(other)\"") == .bool(false))
        await sgk.close()
    }
}

/// Two runs that share a journal write one after the other (issue 21, defect 15).
@Suite struct JournalLockTests {
    @Test func aSecondRunWaitsAndSaysForWhom() async throws {
        let dir = NSTemporaryDirectory() + "sgk-journal-lock-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = dir + "/journal.jsonl"
        let first = Harness(environment: ["SGK_JOURNAL": journal])
        first.session.context.options.journalPath = journal
        try Effects.of(first.session.context).lockJournal()
        let holder = try String(contentsOfFile: journal + ".lock", encoding: .utf8)
        #expect(holder.contains("\"pid\":\(getpid())"), "\(holder)")
        // The lock is per open file: a second run (another Effects, another open file) waits.
        let second = Harness()
        second.session.context.options.journalPath = journal
        let effects = Effects.of(second.session.context)
        let done = Locked(false)
        let t = Thread {
            try? effects.lockJournal()
            done.set(true)
        }
        t.start()
        try await Task.sleep(nanoseconds: 400_000_000)
        #expect(!done.get())
        #expect(second.err.text.contains("waiting for the install started at "), "\(second.err.text)")
        #expect(second.err.text.contains("(pid \(getpid())) …"), "\(second.err.text)")
        #expect(second.err.text.components(separatedBy: "waiting for").count == 2)  // said once
        await first.close()  // the end of the first run gives the lock back
        for _ in 0..<50 where !done.get() { try await Task.sleep(nanoseconds: 100_000_000) }
        #expect(done.get())
        await second.close()
    }
}

final class Locked<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
}
