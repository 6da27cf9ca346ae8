import Foundation
import Testing
import SGKLanguage
@testable import SGKPrimitives

/// The AWS primitives against a moto server (SGK_TEST_AWS_ENDPOINT), read back with the real `aws` CLI.
// Serialized: moto gives every cluster of a region the same OIDC issuer, so
// tests that create and delete the provider must not overlap.
@Suite(.serialized, .enabled(if: awsPeer, "needs SGK_TEST_AWS_ENDPOINT (tools/test.sh starts moto)"))
struct AWSPrimitivesTests {
    static func unique(_ p: String) -> String { "\(p)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Creates an EKS cluster in moto with the real aws CLI.
    static func makeCluster() throws -> String {
        let name = unique("c")
        let (_, code) = try runProcess(["aws", "eks", "create-cluster", "--name", name, "--role-arn", "arn:aws:iam::123456789012:role/eks",
                                        "--resources-vpc-config", "subnetIds=subnet-1", "--region", "us-west-2"])
        #expect(code == 0)
        return name
    }

    @Test func whoami() async throws {
        let h = Harness()
        defer { Task { await h.close() } }
        let v = try await h.run("aws whoami")
        #expect(v?["Account"] == .string("123456789012"))
        #expect(v?["Arn"]?.stringValue?.hasPrefix("arn:aws:") == true)
    }

    @Test func oidcAssociateIsIdempotentAndReadBack() async throws {
        let cluster = try Self.makeCluster()
        let h = Harness()
        defer { Task { await h.close() } }
        let p1 = try await h.run("oidc associate cluster: \(cluster) region: us-west-2")
        let p2 = try await h.run("oidc associate cluster: \(cluster) region: us-west-2")
        #expect(p1 == p2)
        let arn = try #require(p1?["Arn"]?.stringValue)
        #expect(arn.hasPrefix("arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/"))
        let (listed, _) = try runProcess(["aws", "iam", "list-open-id-connect-providers"])
        #expect(listed.contains(arn))
        let (got, _) = try runProcess(["aws", "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn])
        #expect(got.contains("sts.amazonaws.com"))
        #expect(try await h.run("oidc provider cluster: \(cluster) region: us-west-2") == p1)
        _ = try await h.run("oidc delete \"\(arn)\"")
        #expect(try await h.run("oidc provider cluster: \(cluster) region: us-west-2") == .null)
    }

    @Test func roleCreateConvergesAndComparesTrust() async throws {
        let cluster = try Self.makeCluster()
        let role = Self.unique("sgk-role")
        let h = Harness()
        defer { Task { await h.close() } }
        try await h.run("""
            use irsa
            let p = oidc associate cluster: \(cluster) region: us-west-2
            let t = irsa trust provider: $p namespace: ns1 service-account: sa1
            let r1 = role create \(role) trust: $t
            let r2 = role create \(role) trust: $t
            """)
        #expect(try await h.run("$r1.Arn") == .string("arn:aws:iam::123456789012:role/\(role)"))
        #expect(try await h.run("$r1 == $r2") == .bool(true))
        // The real aws CLI reads back the same trust policy.
        let (json, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role, "--output", "json"])
        #expect(code == 0)
        let back = try SGKDataBridge.parseJSON(json)
        #expect(back["Role"]?["AssumeRolePolicyDocument"] == (try await h.run("$t")))
        // A different trust is an error that shows the difference …
        let e = await h.failure("role create \(role) trust: (irsa trust provider: $p namespace: other service-account: sa1)")
        #expect(e.contains("TrustPolicyMismatch"))
        #expect(e.contains("system:serviceaccount:other:sa1"))
        // … unless update: true.
        let r3 = try await h.run("role create \(role) trust: (irsa trust provider: $p namespace: other service-account: sa1) update: true")
        #expect(r3?["AssumeRolePolicyDocument"] == (try await h.run("irsa trust provider: $p namespace: other service-account: sa1")))
        _ = try await h.run("role delete \(role)")
        #expect(try await h.run("role get \(role) missing-ok: true") == .null)
    }

    @Test func roleCreateBringsDescriptionAndTagsInLine() async throws {
        let role = Self.unique("sgk-meta")
        let t = #"{Version: "2012-10-17", Statement: [{Effect: "Allow", Principal: {Service: "ec2.amazonaws.com"}, Action: "sts:AssumeRole"}]}"#
        let h = Harness()
        defer { Task { await h.close() } }
        try await h.run("let r1 = role create \(role) trust: \(t) description: \"one\" tags: {team: \"a,b\"}")
        // The same again: nothing to do.
        try await h.run("let r2 = role create \(role) trust: \(t) description: \"one\" tags: {team: \"a,b\"}")
        #expect(try await h.run("$r1 == $r2") == .bool(true))
        // A new description and tag value, and one more tag: updated, tags it does not name are kept.
        let r3 = try await h.run("role create \(role) trust: \(t) description: \"two\" tags: {env: \"prod\"}")
        #expect(r3?["Description"] == .string("two"))
        let (json, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role, "--output", "json"])
        #expect(code == 0)
        let back = try SGKDataBridge.parseJSON(json)
        #expect(back["Role"]?["Description"] == .string("two"))
        let tags = back["Role"]?["Tags"]?.listValue ?? []
        #expect(tags.contains(.map(["Key": .string("team"), "Value": .string("a,b")])))
        #expect(tags.contains(.map(["Key": .string("env"), "Value": .string("prod")])))
        // A tag value that is not a scalar is an error, not a silent "{d: 1}".
        let e = await h.failure("role create \(role) trust: \(t) tags: {c: {d: 1}}")
        #expect(e.contains("tag values are strings"))
        _ = try await h.run("role delete \(role)")
    }

    @Test func attachPolicyIsIdempotentAndDeleteDetachesFirst() async throws {
        let role = Self.unique("sgk-attach")
        let h = Harness()
        defer { Task { await h.close() } }
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        try await h.run("role create \(role) trust: '\(trust)'")
        try await h.run("role attach-policy \(role) policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        try await h.run("role attach-policy \(role) policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        let (listed, _) = try runProcess(["aws", "iam", "list-attached-role-policies", "--role-name", role])
        #expect(listed.components(separatedBy: "AmazonSageMakerFullAccess").count - 1 == 2)   // name and ARN, once
        let pol = try await h.run("role policies \(role)")
        #expect(pol?["managed"]?.listValue?.count == 1)
        try await h.run("role delete \(role)")
        let (_, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role])
        #expect(code != 0)
    }

    @Test func dryRunPlansAndWritesNothing() async throws {
        let cluster = try Self.makeCluster()
        let role = Self.unique("sgk-dry")
        let cleanup = Harness()
        try await cleanup.run("let old = oidc provider cluster: \(cluster) region: us-west-2\nif $old { oidc delete $old.Arn }")
        await cleanup.close()
        let h = Harness(dryRun: true)
        defer { Task { await h.close() } }
        try await h.run("""
            use irsa
            let p = oidc associate cluster: \(cluster) region: us-west-2
            let r = role create \(role) trust: (irsa trust provider: $p namespace: ns service-account: sa)
            role attach-policy \(role) policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
            """)
        #expect(h.out.text.contains("+ create oidc-provider arn:aws:iam::123456789012:oidc-provider/"))
        #expect(h.out.text.contains("+ create role \(role)"))
        #expect(h.out.text.contains("+ create role-policy-attachment \(role)"))
        #expect(try await h.run("$r.Arn") == .string("arn:aws:iam::123456789012:role/\(role)"))
        let (_, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role])
        #expect(code != 0, "a dry run must not create the role")
        let (providers, _) = try runProcess(["aws", "iam", "list-open-id-connect-providers"])
        #expect(!providers.contains(try #require(await h.run("$p.Arn")?.stringValue)))
    }

    @Test func queryShapesTheResultAsAwsQueryDoes() async throws {
        let cluster = try Self.makeCluster()
        let h = Harness()
        defer { Task { await h.close() } }
        // The aws CLI's answer wraps the cluster in {cluster: …}; sgk's value is the cluster.
        let (text, code) = try runProcess(["aws", "eks", "describe-cluster", "--name", cluster, "--region", "us-west-2",
                                           "--query", "cluster.identity.oidc.issuer", "--output", "text"])
        #expect(code == 0)
        let issuer = text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(issuer.hasPrefix("https://"))
        #expect(try await h.run("eks describe-cluster \(cluster) region: us-west-2 --query identity.oidc.issuer") == .string(issuer))
        #expect(try await h.run("eks describe-cluster \(cluster) --region us-west-2 query: '{n: name, s: status}'")?["n"] == .string(cluster))
        #expect(try await h.run("eks clusters region: us-west-2 --query \"contains(@, '\(cluster)')\"") == .bool(true))
        // A query that does not parse stops the command before its request: no role is made.
        let role = Self.unique("sgk-query")
        let trust = #"{Version: "2012-10-17", Statement: [{Effect: "Allow", Principal: {Service: "ec2.amazonaws.com"}, Action: "sts:AssumeRole"}]}"#
        let e = await h.failure("role create \(role) trust: \(trust) --query 'Arn.'")
        #expect(e.contains("JMESPath syntax error at column 5"), "\(e)")
        let (_, got) = try runProcess(["aws", "iam", "get-role", "--role-name", role])
        #expect(got != 0, "a bad query must stop the write")
        #expect(try await h.run("role create \(role) trust: \(trust) --query RoleName") == .string(role))
        #expect(try await h.run("role get \(role) --query 'length(AssumeRolePolicyDocument.Statement)'") == .int(1))
        let unknown = await h.failure("role get \(role) --query 'lenght(RoleName)'")
        #expect(unknown.contains("no function named 'lenght' (did you mean 'length'?)"), "\(unknown)")
        _ = try await h.run("role delete \(role)")
    }

    @Test func malformedNamesAndDocumentsFailBeforeAnyWriteEvenInADryRun() async throws {
        // moto accepts both; IAM rejects them: the dry run must not plan what would fail.
        let h = Harness(dryRun: true)
        defer { Task { await h.close() } }
        let trust = #"{Statement: {Effect: "Allow", Principal: {Service: "ec2.amazonaws.com"}, Action: "sts:AssumeRole"}}"#
        let name = await h.failure("role create 'bad name' trust: \(trust)")
        #expect(name.contains("ValidationError") && name.contains("a space"), "\(name)")
        let empty = await h.failure("role create sgk-valid-name trust: {}")
        #expect(empty.contains("MalformedPolicyDocument") && empty.contains("no Statement"), "\(empty)")
        let perms = await h.failure(#"policy create sgk-valid-name document: {Statement: {Effect: "Allow", Action: "s3:*"}}"#)
        #expect(perms.contains("MalformedPolicyDocument") && perms.contains("no Resource"), "\(perms)")
        #expect(!h.out.text.contains("+ create"), "nothing planned")
    }

    @Test func explainPrintsTheEquivalentCommands() async throws {
        let cluster = try Self.makeCluster()
        let role = Self.unique("sgk-explain")
        let h = Harness(explain: true)
        defer { Task { await h.close() } }
        try await h.run("""
            use irsa
            let p = oidc associate cluster: \(cluster) region: us-west-2
            role create \(role) trust: (irsa trust provider: $p namespace: ns service-account: sa)
            role attach-policy \(role) policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess
            """)
        let out = h.out.text
        #expect(out.contains("eksctl utils associate-iam-oidc-provider --cluster \(cluster) --region us-west-2 --approve"))
        #expect(out.contains("aws iam create-role --role-name \(role) --assume-role-policy-document '{\"Version\":\"2012-10-17\""))
        #expect(out.contains("aws iam attach-role-policy --role-name \(role) --policy-arn arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"))
        #expect(!out.contains("testing"), "no secret in --explain")
        try await h.run("role delete \(role)")
    }

    @Test func irsaTrustIsTheDocumentedTrustJSON() async throws {
        let cluster = try Self.makeCluster()
        let h = Harness()
        defer { Task { await h.close() } }
        try await h.run("use irsa\nlet c = eks describe-cluster \(cluster) region: us-west-2")
        let issuer = try #require(await h.run("$c.identity.oidc.issuer")?.stringValue)
        let host = String(issuer.dropFirst("https://".count))
        let want = try SGKDataBridge.parseJSON("""
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
              "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/\(host)"},
              "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {"StringEquals": {"\(host):aud": "sts.amazonaws.com",
                "\(host):sub": "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default"}}}]}
            """)
        for provider in ["$c", "\"\(issuer)\"", "(oidc associate cluster: \(cluster) region: us-west-2)"] {
            let t = try await h.run("irsa trust provider: \(provider) namespace: sagemaker-k8s-operator-system service-account: sagemaker-k8s-operator-default")
            #expect(t == want, "provider: \(provider)")
        }
    }

    @Test func policyCreateGetDelete() async throws {
        let name = Self.unique("sgk-policy")
        let h = Harness()
        defer { Task { await h.close() } }
        let doc = "{Version: \"2012-10-17\", Statement: [{Effect: \"Allow\", Action: \"sagemaker:Describe*\", Resource: \"*\"}]}"
        let p1 = try await h.run("policy create \(name) document: \(doc)")
        let p2 = try await h.run("policy create \(name) document: \(doc)")
        #expect(p1?["Arn"] == p2?["Arn"])
        #expect(try await h.run("(policy get \(name)).Document.Statement[0].Action") == .string("sagemaker:Describe*"))
        try await h.run("policy delete \(name)")
        #expect(await h.failure("policy get \(name)").contains("NoSuchEntity"))
    }

    @Test func errorsCarryTheAWSCodeAndAHint() async throws {
        let h = Harness()
        defer { Task { await h.close() } }
        let e = await h.failure("role attach-policy no-such-role-\(UUID().uuidString.prefix(6)) policy: arn:aws:iam::aws:policy/AmazonSageMakerFullAccess")
        #expect(e.contains("test.sgk:1:1: error: role attach-policy: NoSuchEntity"))
        #expect(!e.contains("testing"), "no secret in errors")
        let cluster = try Self.makeCluster()
        let missing = "nope-\(UUID().uuidString.prefix(6))"
        let e2 = await h.failure("eks describe-cluster \(missing) region: us-west-2")
        #expect(e2.contains("ResourceNotFoundException"))
        // Where it looked, and what is there.
        #expect(e2.contains("hint: no cluster \(missing) in us-west-2; the clusters there: "), "\(e2)")
        #expect(e2.contains(cluster), "\(e2)")
        #expect(e2.contains("give the cluster's region (region: R, --region R)"), "\(e2)")
    }

    @Test func eksKubeconfigUsesSgkAsExecPlugin() async throws {
        let cluster = try Self.makeCluster()
        let h = Harness()
        defer { Task { await h.close() } }
        let k = try await h.run("eks kubeconfig \(cluster) region: us-west-2")
        #expect(k?["users"]?.listValue?.first?["user"]?["exec"]?["command"] == .string("sgk"))
        #expect(k?["users"]?.listValue?.first?["user"]?["exec"]?["args"] == .list(["eks", "token", cluster, "region:", "us-west-2"].map(Value.string)))
        let tok = try await h.run("eks token \(cluster) region: us-west-2")
        #expect(tok?["status"]?["token"]?.stringValue?.hasPrefix("k8s-aws-v1.") == true)
    }
}

/// Policy documents compared as IAM reads them (offline).
@Suite struct PolicyComparisonTests {
    func parse(_ s: String) throws -> Value { try SGKDataBridge.parseJSON(s) }

    @Test func theFormsIAMRewritesAreTheSamePolicy() throws {
        let given = try parse(#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":["sts:TagSession","sts:AssumeRole"],"Condition":{"StringEquals":{"k":"v"}}}}"#)
        let returned = try parse(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"k":["v"]}}}]}"#)
        #expect(given != returned)
        #expect(AWSValues.samePolicy(given, returned))
    }

    @Test func aRealDifferenceIsStillOne() throws {
        let a = try parse(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"x:sub":"system:serviceaccount:a:b"}}}]}"#)
        let b = try parse(#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"x:sub":"system:serviceaccount:other:b"}}}]}"#)
        #expect(!AWSValues.samePolicy(a, b))
        let deny = try parse(#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"x:sub":"system:serviceaccount:a:b"}}}]}"#)
        #expect(!AWSValues.samePolicy(a, deny))
    }
}

/// tools/fault-proxy.py in front of moto (loopback only; it exits by itself after a minute).
final class FaultProxy: @unchecked Sendable {
    let process = Process()
    let url: String
    let log = Pipe()

    init(_ faults: [String]) throws {
        let upstream = try #require(ProcessInfo.processInfo.environment["SGK_TEST_AWS_ENDPOINT"])
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Harness.repoRoot.appendingPathComponent("tools/fault-proxy.py").path,
                             "--upstream", upstream, "--lifetime", "60"] + faults
        let out = Pipe()
        process.standardOutput = out
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(10) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line.append(d)
        }
        let port = try #require(Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        url = "http://127.0.0.1:\(port)"
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Issue 21 defects 12 and 13: a write whose answer is lost is settled by reading back. In the
/// serialized suite of the AWS primitives: the OIDC provider of every moto cluster is the same.
extension AWSPrimitivesTests {
    static let sageMaker = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"

    @Test func lostAnswersAreSettledByReadingBack() async throws {
        let cluster = try Self.makeCluster()
        let role = Self.unique("sgk-lost")
        // moto gives every cluster of the region the same issuer: a provider left by another test goes first.
        let cleanup = Harness()
        try await cleanup.run("let old = oidc provider cluster: \(cluster) region: us-west-2\nif $old { oidc delete $old.Arn }")
        await cleanup.close()
        let proxy = try FaultProxy(["--drop-answer", "CreateOpenIDConnectProvider,CreateRole,DetachRolePolicy,DeleteRole,DeleteOpenIDConnectProvider"])
        defer { proxy.stop() }
        let h = Harness(environment: ["AWS_ENDPOINT_URL": proxy.url])
        defer { Task { await h.close() } }
        try await h.run("""
            use irsa
            let p = oidc associate cluster: \(cluster) region: us-west-2
            let r = role create \(role) trust: (irsa trust provider: $p namespace: ns service-account: sa)
            role attach-policy \(role) policy: \(Self.sageMaker)
            role detach-policy \(role) policy: \(Self.sageMaker)
            role delete \(role)
            oidc delete $p.Arn
            """)
        let err = h.err.text
        for line in ["note: the answer to CreateOpenIDConnectProvider was lost; the OIDC provider is there as intended",
                     "note: the answer to CreateRole was lost; the role is there as intended",
                     "note: the answer to DetachRolePolicy was lost; the policy is detached",
                     "note: the answer to DeleteRole was lost; the role is gone",
                     "note: the answer to DeleteOpenIDConnectProvider was lost; the OIDC provider is gone"] {
            #expect(err.contains(line), "\(err)")
        }
        #expect(try await h.run("$r.RoleName") == .string(role))
        let (_, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role])
        #expect(code != 0, "the role is deleted")
        #expect(try await h.run("oidc provider cluster: \(cluster) region: us-west-2") == .null)
    }

    @Test func aCreateThatNeverArrivedIsSentAgainOnce() async throws {
        let role = Self.unique("sgk-resend")
        let proxy = try FaultProxy(["--drop-request", "CreateRole"])
        defer { proxy.stop() }
        let h = Harness(environment: ["AWS_ENDPOINT_URL": proxy.url])
        defer { Task { await h.close() } }
        let t = #"{Version: "2012-10-17", Statement: [{Effect: "Allow", Principal: {Service: "ec2.amazonaws.com"}, Action: "sts:AssumeRole"}]}"#
        try await h.run("role create \(role) trust: \(t)")
        #expect(h.err.text.contains("note: the answer to CreateRole was lost and the role is not there; sending it again"), "\(h.err.text)")
        let (_, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role])
        #expect(code == 0)
        try await h.run("role delete \(role)")
    }

    @Test func noSuchEntityOnADetachMeansAlreadyDetached() async throws {
        let role = Self.unique("sgk-twice")
        // Each request carried out twice: the second answer is the one sgk reads (a retry of a request that was made).
        let proxy = try FaultProxy(["--twice", "DetachRolePolicy,CreateRole,DeleteRole"])
        defer { proxy.stop() }
        let h = Harness(environment: ["AWS_ENDPOINT_URL": proxy.url])
        defer { Task { await h.close() } }
        let t = #"{Version: "2012-10-17", Statement: [{Effect: "Allow", Principal: {Service: "ec2.amazonaws.com"}, Action: "sts:AssumeRole"}]}"#
        try await h.run("""
            role create \(role) trust: \(t)
            role attach-policy \(role) policy: \(Self.sageMaker)
            role detach-policy \(role) policy: \(Self.sageMaker)
            role delete \(role)
            """)
        #expect(h.err.text.contains("note: CreateRole said EntityAlreadyExists; the role is there as intended"), "\(h.err.text)")
        let plan = Effects.of(h.session.context).plan.map(\.text)
        #expect(plan.contains("unchanged role-policy-attachment \(role) (\(Self.sageMaker) already detached)"), "\(plan)")
        #expect(plan.contains("unchanged role \(role) (already gone)"), "\(plan)")
        let (_, code) = try runProcess(["aws", "iam", "get-role", "--role-name", role])
        #expect(code != 0)
    }
}
