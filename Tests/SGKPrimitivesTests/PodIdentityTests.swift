import Foundation
import Testing
import SGKLanguage
@testable import SGKPrimitives

/// tools/e2e/eks-api-stub.py on loopback, for one test: the EKS operations moto does not answer
/// (Pod Identity, DescribeAddon), the clusters forwarded to moto (SGK_TEST_AWS_ENDPOINT).
struct StubError: Error, CustomStringConvertible { var description: String { "the EKS stub did not start" } }

final class EKSStub: @unchecked Sendable {
    let dir: String
    let url: String
    let process: Process

    init(pageCap: Int? = nil) throws {
        dir = NSTemporaryDirectory() + "sgk-eks-stub-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let moto = ProcessInfo.processInfo.environment["SGK_TEST_AWS_ENDPOINT"] ?? ""
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Harness.repoRoot.appendingPathComponent("tools/e2e/eks-api-stub.py").path, dir, moto, "--ttl", "600"]
            + (pageCap.map { ["--page-cap", String($0)] } ?? [])
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(20)
        var found: String?
        while Date() < deadline {
            if let text = try? String(contentsOfFile: dir + "/url", encoding: .utf8) { found = text.trimmingCharacters(in: .whitespacesAndNewlines); break }
            if !p.isRunning { break }
            usleep(50_000)
        }
        guard let found else {
            kill(p.processIdentifier, SIGKILL)
            throw StubError()
        }
        url = found
    }

    /// `METHOD PATH STATUS` of every request so far.
    var requests: [String] {
        ((try? String(contentsOfFile: dir + "/requests", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
    /// The EKS writes it received (not GETs, not its control requests).
    var writes: [String] { requests.filter { !$0.hasPrefix("GET ") && !$0.contains(" /stub/") } }

    /// Installs (or, with nil, removes) an add-on in the stub.
    func addon(_ cluster: String, _ name: String, status: String?, issue: String? = nil) throws {
        var u = "\(url)/stub/addons/\(cluster)/\(name)"
        if let status { u += "?status=\(status)" + (issue.map { "&issue=\($0)" } ?? "") }
        let (_, code) = try runProcess(["curl", "-fsS", "-o", "/dev/null", "-X", status == nil ? "DELETE" : "PUT", u])
        #expect(code == 0)
    }

    func stop() {
        // SIGKILL: a child of the test runner inherits its blocked signals (the stub unblocks
        // SIGTERM itself, but a kill cannot be blocked).
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs the real aws CLI against the stub.
    func aws(_ args: [String]) throws -> (Value, Int32) {
        let (out, code) = try runProcess(["aws", "eks"] + args + ["--endpoint-url", url, "--region", "us-west-2", "--output", "json"])
        return (code == 0 ? try SGKDataBridge.parseJSON(out) : .null, code)
    }
}

@Suite(.serialized, .enabled(if: awsPeer, "needs SGK_TEST_AWS_ENDPOINT (tools/test.sh starts moto)"))
struct PodIdentityTests {
    static let role1 = "arn:aws:iam::123456789012:role/pod-role-one"
    static let role2 = "arn:aws:iam::123456789012:role/pod-role-two"

    static func harness(_ stub: EKSStub, dryRun: Bool = false, explain: Bool = false) -> Harness {
        Harness(environment: ["AWS_ENDPOINT_URL_EKS": stub.url, "AWS_REGION": "us-west-2"], dryRun: dryRun, explain: explain)
    }

    static func plan(_ h: Harness) -> [String] { Effects.of(h.session.context).plan.map { "\($0.symbol) \($0.text)" } }

    @Test func createIsIdempotentUpdatesAnotherRoleAndDeletes() async throws {
        let stub = try EKSStub()
        defer { stub.stop() }
        let cluster = try AWSPrimitivesTests.makeCluster()
        let h = Self.harness(stub)
        defer { Task { await h.close() } }
        let create = "eks pod-identity create cluster: \(cluster) namespace: ml service-account: runner region: us-west-2 role-arn:"
        let a1 = try #require(try await h.run("let a1 = \(create) \(Self.role1)\n$a1"))
        #expect(a1["roleArn"] == .string(Self.role1))
        #expect(a1["namespace"] == .string("ml") && a1["serviceAccount"] == .string("runner") && a1["clusterName"] == .string(cluster))
        let id = try #require(a1["associationId"]?.stringValue)
        #expect(id.hasPrefix("a-"))
        #expect(a1["associationArn"] == .string("arn:aws:eks:us-west-2:123456789012:podidentityassociation/\(cluster)/\(id)"))
        #expect(stub.writes.count == 1)
        // The same again: unchanged, nothing written.
        let a2 = try await h.run("\(create) \(Self.role1)")
        #expect(a2?["associationId"] == .string(id))
        #expect(stub.writes.count == 1)
        #expect(Self.plan(h).contains("= unchanged pod-identity-association \(cluster)/ml/runner"))
        // Another role: the association is updated in place (same id), said as an update.
        let a3 = try await h.run("\(create) \(Self.role2)")
        #expect(a3?["associationId"] == .string(id) && a3?["roleArn"] == .string(Self.role2))
        #expect(stub.writes.count == 2 && stub.writes.last == "POST /clusters/\(cluster)/pod-identity-associations/\(id) 200")
        // The journal: created by sgk (the update does not change that), with its ARN and id.
        #expect(try await h.run("journal created pod-identity-association \"\(cluster)/ml/runner\" arn: $a1.associationArn id: $a1.associationId") == .bool(true))
        #expect(try await h.run("journal created pod-identity-association \"\(cluster)/ml/runner\" arn: \"arn:aws:eks:us-west-2:123456789012:podidentityassociation/\(cluster)/a-other\"") == .bool(false))
        let updates = try await h.run("journal entries kind: pod-identity-association action: update")
        #expect(updates?.listValue?.count == 1)
        // The real aws CLI (botocore checks the answers against the model) reads back what sgk wrote.
        let (described, code) = try stub.aws(["describe-pod-identity-association", "--cluster-name", cluster, "--association-id", id])
        #expect(code == 0)
        #expect(described["association"]?["roleArn"] == .string(Self.role2))
        let (listed, _) = try stub.aws(["list-pod-identity-associations", "--cluster-name", cluster, "--namespace", "ml"])
        #expect(listed["associations"]?.listValue?.compactMap { $0["associationId"]?.stringValue } == [id])
        // get = describe; delete; then get is null with missing-ok and an error without.
        let got = try await h.run("eks pod-identity get cluster: \(cluster) namespace: ml service-account: runner")
        #expect(got?["roleArn"] == .string(Self.role2) && got?["associationId"] == .string(id))
        #expect(try await h.run("eks pod-identity delete cluster: \(cluster) namespace: ml service-account: runner") == .null)
        #expect(stub.writes.last == "DELETE /clusters/\(cluster)/pod-identity-associations/\(id) 200")
        #expect(try await h.run("eks pod-identity get cluster: \(cluster) namespace: ml service-account: runner missing-ok: true") == .null)
        #expect(try await h.run("journal created pod-identity-association \"\(cluster)/ml/runner\"") == .bool(false))
        let (after, _) = try stub.aws(["list-pod-identity-associations", "--cluster-name", cluster])
        #expect(after["associations"]?.listValue?.isEmpty == true)
        // Deleting what is not there: an error with its hint, or nothing with missing-ok.
        let e = await h.failure("eks pod-identity delete cluster: \(cluster) namespace: ml service-account: runner")
        #expect(e.contains("ResourceNotFoundException") && e.contains("no Pod Identity association for ml/runner in cluster \(cluster) (us-west-2)"))
        #expect(e.contains("missing-ok: true"))
        #expect(try await h.run("eks pod-identity delete cluster: \(cluster) namespace: ml service-account: runner missing-ok: true") == .null)
        #expect(stub.writes.count == 3)
    }

    @Test func dryRunAndExplainWriteNothing() async throws {
        let stub = try EKSStub()
        defer { stub.stop() }
        let cluster = try AWSPrimitivesTests.makeCluster()
        let dry = Self.harness(stub, dryRun: true, explain: true)
        defer { Task { await dry.close() } }
        let create = "eks pod-identity create cluster: \(cluster) namespace: ml service-account: runner role-arn:"
        let planned = try await dry.run("\(create) \(Self.role1)")
        #expect(planned?["associationId"] == .string("(planned)") && planned?["roleArn"] == .string(Self.role1))
        #expect(stub.writes.isEmpty)
        #expect(dry.out.text.contains("+ create pod-identity-association \(cluster)/ml/runner (role \(Self.role1))"))
        #expect(dry.out.text.contains("aws eks create-pod-identity-association --cluster-name \(cluster) --namespace ml --service-account runner --role-arn \(Self.role1) --region us-west-2"))
        // With an association there: a planned update and a planned delete, still nothing written.
        let (made, code) = try stub.aws(["create-pod-identity-association", "--cluster-name", cluster, "--namespace", "ml",
                                         "--service-account", "runner", "--role-arn", Self.role1])
        #expect(code == 0)
        let id = try #require(made["association"]?["associationId"]?.stringValue)
        let writesBefore = stub.writes.count
        let update = try await dry.run("\(create) \(Self.role2)")
        #expect(update?["roleArn"] == .string(Self.role2) && update?["associationId"] == .string(id))
        #expect(dry.out.text.contains("~ update pod-identity-association \(cluster)/ml/runner (role \(Self.role2))"))
        #expect(dry.out.text.contains("aws eks update-pod-identity-association --cluster-name \(cluster) --association-id \(id) --role-arn \(Self.role2) --region us-west-2"))
        try await dry.run("eks pod-identity delete cluster: \(cluster) namespace: ml service-account: runner")
        #expect(dry.out.text.contains("- delete pod-identity-association \(cluster)/ml/runner"))
        #expect(dry.out.text.contains("aws eks delete-pod-identity-association --cluster-name \(cluster) --association-id \(id) --region us-west-2"))
        #expect(stub.writes.count == writesBefore)
        let (still, _) = try stub.aws(["describe-pod-identity-association", "--cluster-name", cluster, "--association-id", id])
        #expect(still["association"]?["roleArn"] == .string(Self.role1))
        // A dry run journals nothing.
        #expect(try await dry.run("journal entries kind: pod-identity-association")?.listValue?.isEmpty == true)
    }

    @Test func listFollowsEveryPageAndFilters() async throws {
        let stub = try EKSStub(pageCap: 2)
        defer { stub.stop() }
        let cluster = try AWSPrimitivesTests.makeCluster()
        let h = Self.harness(stub)
        defer { Task { await h.close() } }
        for (ns, sa) in [("a", "s1"), ("b", "s2"), ("a", "s3"), ("b", "s4"), ("a", "s5")] {
            try await h.run("eks pod-identity create cluster: \(cluster) namespace: \(ns) service-account: \(sa) role-arn: \(Self.role1)")
        }
        let before = stub.requests.count
        let all = try await h.run("eks pod-identity list cluster: \(cluster)")
        #expect(all?.listValue?.compactMap { $0["serviceAccount"]?.stringValue } == ["s1", "s2", "s3", "s4", "s5"])
        let pages = stub.requests.dropFirst(before).filter { $0.hasPrefix("GET /clusters/\(cluster)/pod-identity-associations") }
        #expect(pages.count == 3)
        #expect(pages.dropFirst().allSatisfy { $0.contains("nextToken=") })
        let inA = try await h.run("eks pod-identity list cluster: \(cluster) namespace: a")
        #expect(inA?.listValue?.compactMap { $0["serviceAccount"]?.stringValue } == ["s1", "s3", "s5"])
        let one = try await h.run("eks pod-identity list cluster: \(cluster) namespace: a service-account: s3")
        #expect(one?.listValue?.count == 1)
        // A summary, as the model has it: no role, ids and ARNs.
        #expect(one?.listValue?.first?["roleArn"] == nil && one?.listValue?.first?["associationArn"] != nil)
        // The real aws CLI's paginator reads the same five.
        let (listed, code) = try stub.aws(["list-pod-identity-associations", "--cluster-name", cluster])
        #expect(code == 0 && listed["associations"]?.listValue?.count == 5)
        // The get of one among many pages finds it.
        #expect(try await h.run("eks pod-identity get cluster: \(cluster) namespace: a service-account: s5")?["roleArn"] == .string(Self.role1))
    }

    @Test func notFoundErrorsSayWhatIsMissing() async throws {
        let stub = try EKSStub()
        defer { stub.stop() }
        let cluster = try AWSPrimitivesTests.makeCluster()
        let h = Self.harness(stub)
        defer { Task { await h.close() } }
        // No such cluster: where sgk looked and what is there.
        let e1 = await h.failure("eks pod-identity create cluster: no-such-\(cluster) namespace: ml service-account: runner role-arn: \(Self.role1)")
        #expect(e1.contains("ResourceNotFoundException") && e1.contains("no cluster no-such-\(cluster) in us-west-2"))
        let e2 = await h.failure("eks addon get cluster: no-such-\(cluster) name: eks-pod-identity-agent missing-ok: true")
        #expect(e2.contains("no cluster no-such-\(cluster) in us-west-2"))
        // No association: an error naming it, null with missing-ok.
        let e3 = await h.failure("eks pod-identity get cluster: \(cluster) namespace: ml service-account: runner")
        #expect(e3.contains("ResourceNotFoundException") && e3.contains("eks pod-identity list cluster: \(cluster)"))
        // The add-on: missing, then seeded ACTIVE, then DEGRADED with an issue.
        let e4 = await h.failure("eks addon get cluster: \(cluster) name: eks-pod-identity-agent")
        #expect(e4.contains("ResourceNotFoundException") && e4.contains("No addon: eks-pod-identity-agent found in cluster: \(cluster)"))
        #expect(e4.contains("aws eks create-addon --cluster-name \(cluster) --addon-name eks-pod-identity-agent --region us-west-2"))
        #expect(try await h.run("eks addon get cluster: \(cluster) name: eks-pod-identity-agent missing-ok: true") == .null)
        try stub.addon(cluster, "eks-pod-identity-agent", status: "ACTIVE")
        let active = try await h.run("eks addon get cluster: \(cluster) name: eks-pod-identity-agent")
        #expect(active?["status"] == .string("ACTIVE") && active?["addonName"] == .string("eks-pod-identity-agent"))
        #expect(active?["health"]?["issues"]?.listValue?.isEmpty == true)
        try stub.addon(cluster, "eks-pod-identity-agent", status: "DEGRADED", issue: "InsufficientNumberOfReplicas")
        let degraded = try await h.run("eks addon get cluster: \(cluster) name: eks-pod-identity-agent")
        #expect(degraded?["status"] == .string("DEGRADED"))
        #expect(degraded?["health"]?["issues"]?.listValue?.first?["code"] == .string("InsufficientNumberOfReplicas"))
        let (cli, code) = try stub.aws(["describe-addon", "--cluster-name", cluster, "--addon-name", "eks-pod-identity-agent"])
        #expect(code == 0 && cli["addon"]?["status"] == .string("DEGRADED"))
        #expect(stub.writes.isEmpty)
    }

    @Test func argumentsAreCheckedBeforeAnyRequest() async throws {
        let stub = try EKSStub()
        defer { stub.stop() }
        let cluster = try AWSPrimitivesTests.makeCluster()
        let h = Self.harness(stub)
        defer { Task { await h.close() } }
        let e1 = await h.failure("eks pod-identity create cluster: \(cluster) namespace: ml service-account: runner role-arn: arn:aws:iam::123456789012:user/bob")
        #expect(e1.contains("ValidationError") && e1.contains("is not an IAM role ARN"))
        let e2 = await h.failure("eks pod-identity create cluster: \(cluster) namespace: ML_team service-account: runner role-arn: \(Self.role1)")
        #expect(e2.contains("ValidationError") && e2.contains("not a valid Kubernetes namespace name"))
        let e3 = await h.failure("eks pod-identity create cluster: \(cluster) namespace: ml service-account: runner role-arn: arn:aws-cn:iam::123456789012:role/r")
        #expect(e3.contains("partition aws-cn"))
        let e4 = await h.failure("eks pod-identity create cluster: \(cluster) namespace: ml service-account: runner")
        #expect(e4.contains("role-arn"))
        #expect(stub.writes.isEmpty)
    }

    @Test func podIdentityTrustAndItsCheck() async throws {
        let role = AWSPrimitivesTests.unique("sgk-podid")
        let h = Harness()
        defer { Task { await h.close() } }
        let r = try await h.run("use podidentity\nlet r = role create \(role) trust: (podidentity trust)\n$r")
        let trust = r?["AssumeRolePolicyDocument"]
        #expect(trust?["Statement"]?.listValue?.first?["Principal"]?["Service"] == .string("pods.eks.amazonaws.com"))
        #expect(trust?["Statement"]?.listValue?.first?["Action"] == .list([.string("sts:AssumeRole"), .string("sts:TagSession")]))
        let (json, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role, "--output", "json"])
        #expect(code == 0)
        #expect(try SGKDataBridge.parseJSON(json)["Role"]?["AssumeRolePolicyDocument"] == trust)
        #expect(try await h.run("(podidentity check role: \(role)).ok") == .bool(true))
        // Only AssumeRole: TagSession is missing, and the fix says how to repair it.
        try await h.run(#"role update-trust \#(role) trust: {Version: "2012-10-17", Statement: [{Effect: "Allow", Principal: {Service: "pods.eks.amazonaws.com"}, Action: "sts:AssumeRole"}]}"#)
        let c1 = try await h.run("podidentity check role: \(role)")
        #expect(c1?["ok"] == .bool(false))
        #expect(c1?["problems"] == .list([.string("the trust of role \(role) does not allow sts:TagSession to pods.eks.amazonaws.com")]))
        #expect(c1?["fix"] == .string("role update-trust \(role) trust: (podidentity trust)"))
        // A wildcard covers both; a Deny wins (roles as maps: moto refuses wildcards in a trust).
        func doc(_ statements: String) -> String { #"{RoleName: "r", AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: [\#(statements)]}}"# }
        let both = #"{Effect: "Allow", Principal: {Service: ["ec2.amazonaws.com", "pods.eks.amazonaws.com"]}, Action: "sts:*"}"#
        #expect(try await h.run("(podidentity check role: \(doc(both))).ok") == .bool(true))
        let q = #"{Effect: "Allow", Principal: {Service: "pods.eks.amazonaws.com"}, Action: ["STS:assumerole", "sts:Tag?ession"]}"#
        #expect(try await h.run("(podidentity check role: \(doc(q))).ok") == .bool(true))
        let deny = #"{Effect: "Deny", Principal: {Service: "pods.eks.amazonaws.com"}, Action: "sts:TagSession"}"#
        let c3 = try await h.run("podidentity check role: \(doc(both + ", " + deny))")
        #expect(c3?["problems"] == .list([.string("the trust of role r denies sts:TagSession to pods.eks.amazonaws.com")]))
        // An IRSA trust names no pods.eks.amazonaws.com.
        try await h.run(#"role update-trust \#(role) trust: {Version: "2012-10-17", Statement: [{Effect: "Allow", Principal: {Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X"}, Action: "sts:AssumeRoleWithWebIdentity"}]}"#)
        let c2 = try await h.run("podidentity check role: (role get \(role))")
        #expect(c2?["problems"]?.listValue?.first?.stringValue?.contains("does not name the service principal pods.eks.amazonaws.com") == true)
        try await h.run("role delete \(role)")
    }
}
