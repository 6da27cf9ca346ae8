import Foundation
import Logging
import SGKData
import Testing
@testable import SGKAWS

/// Every IAM/STS/EKS operation against moto (`SGK_TEST_AWS_ENDPOINT`). Names are unique per test, so
/// these run in parallel on one shared moto without stepping on each other.
@Suite(.enabled(if: Moto.enabled, "set SGK_TEST_AWS_ENDPOINT to a moto server"))
struct MotoIntegrationTests {
    @Test func callerIdentity() async throws {
        let c = Moto.client()
        let id = try await c.sts.getCallerIdentity()
        #expect(id.account == Moto.account)
        #expect(id.arn.hasPrefix("arn:aws:"))
        try await c.shutdown()
    }

    @Test func assumeRoleAndWebIdentity() async throws {
        let c = Moto.client()
        let name = Moto.unique("assume")
        let role = try await c.iam.createRole(name: name, assumeRolePolicyDocument: Moto.trustPolicy())
        let r = try await c.sts.assumeRole(roleARN: role.arn, sessionName: "s1", externalID: "e", durationSeconds: 900)
        #expect(r.credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(r.credentials.sessionToken != nil)
        #expect(r.credentials.expiration != nil)
        #expect(r.assumedRoleARN.contains(name))
        let w = try await c.sts.assumeRoleWithWebIdentity(roleARN: role.arn, sessionName: "s2", webIdentityToken: "a.b.c")
        #expect(w.credentials.sessionToken != nil)
        // The temporary credentials work for the next call.
        let cfg = AWSConfiguration.load(environment: Moto.environment(endpoint: Moto.endpoint ?? ""), homeDirectory: "/nonexistent")
        let c2 = AWSClient(configuration: cfg, credentialProvider: StaticCredentialProvider(r.credentials))
        _ = try await c2.sts.getCallerIdentity()
        try await c2.shutdown()
        try await c.iam.deleteRole(name: name)
        try await c.shutdown()
    }

    @Test func roleLifecycle() async throws {
        let c = Moto.client()
        let name = Moto.unique("role")
        let trust = Moto.trustPolicy()
        let created = try await c.iam.createRole(name: name, assumeRolePolicyDocument: trust, description: "sgk test role",
                                                 tags: [IAMTag("owner", "sgk"), IAMTag("env", "test")])
        #expect(created.name == name)
        #expect(created.arn == ARN.iamRole(name, account: Moto.account, partition: .aws))
        // Idempotence-relevant error
        do {
            _ = try await c.iam.createRole(name: name, assumeRolePolicyDocument: trust)
            Issue.record("expected EntityAlreadyExists")
        } catch let e as AWSError {
            #expect(e.code == "EntityAlreadyExists")
            #expect(e.isAlreadyExists)
            #expect(e.service == "iam" && e.operation == "CreateRole")
        }
        let got = try await c.iam.getRole(name: name)
        #expect(got.description == "sgk test role")
        #expect(got.assumeRolePolicy == (try? JSONCodec.parse(trust)))
        #expect(Set(got.tags) == [IAMTag("owner", "sgk"), IAMTag("env", "test")])

        let newTrust = Moto.trustPolicy("eks.amazonaws.com")
        try await c.iam.updateAssumeRolePolicy(roleName: name, policyDocument: newTrust)
        #expect(try await c.iam.getRole(name: name).assumeRolePolicy == (try? JSONCodec.parse(newTrust)))

        try await c.iam.tagRole(roleName: name, tags: [IAMTag("extra", "1")])
        #expect(try await c.iam.getRole(name: name).tags.contains(IAMTag("extra", "1")))

        // Managed policies, with pagination (page size 1).
        let arns = ["AmazonSageMakerFullAccess", "AmazonS3ReadOnlyAccess", "AmazonEC2ReadOnlyAccess"].map {
            ARN.awsManagedPolicy($0, partition: .aws)
        }
        for a in arns { try await c.iam.attachRolePolicy(roleName: name, policyARN: a) }
        let attached = try await c.iam.listAttachedRolePolicies(roleName: name, pageSize: 1)
        #expect(Set(attached.map(\.arn)) == Set(arns))
        #expect(attached.contains { $0.name == "AmazonSageMakerFullAccess" })

        // Inline policies.
        try await c.iam.putRolePolicy(roleName: name, policyName: "inline1",
                                      policyDocument: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        #expect(try await c.iam.listRolePolicies(roleName: name) == ["inline1"])

        // Delete refuses while attached; deleteRoleCompletely cleans up.
        await #expect(throws: AWSError.self) { try await c.iam.deleteRole(name: name) }
        try await c.iam.detachRolePolicy(roleName: name, policyARN: arns[0])
        #expect(try await c.iam.listAttachedRolePolicies(roleName: name).count == 2)
        try await c.iam.deleteRolePolicy(roleName: name, policyName: "inline1")
        #expect(try await c.iam.listRolePolicies(roleName: name).isEmpty)
        try await c.iam.deleteRoleCompletely(name: name)

        do {
            _ = try await c.iam.getRole(name: name)
            Issue.record("expected NoSuchEntity")
        } catch let e as AWSError {
            #expect(e.code == "NoSuchEntity")
            #expect(e.isNotFound)
            #expect(e.statusCode == 404)
        }
        #expect(try await c.iam.findRole(name: name) == nil)
        await #expect(throws: AWSError.self) { try await c.iam.deleteRole(name: name) }
        try await c.shutdown()
    }

    @Test func attachingAPolicyOfTheWrongPartitionHints() async throws {
        let c = Moto.client()
        let name = Moto.unique("partition")
        _ = try await c.iam.createRole(name: name, assumeRolePolicyDocument: Moto.trustPolicy())
        do {
            try await c.iam.attachRolePolicy(roleName: name, policyARN: "arn:aws-cn:iam::aws:policy/DoesNotExistHere")
            Issue.record("expected an error")
        } catch let e as AWSError {
            #expect(e.code == "NoSuchEntity")
            #expect(e.hint?.contains("partition") == true)
        }
        try await c.iam.deleteRole(name: name)
        try await c.shutdown()
    }

    @Test func oidcProviders() async throws {
        let c = Moto.client()
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/\(id)"
        let expectedARN = ARN.oidcProvider(issuer: issuer, account: Moto.account, partition: .aws)
        #expect(try await c.iam.findOpenIDConnectProvider(arn: expectedARN) == nil)
        let arn = try await c.iam.createOpenIDConnectProvider(url: issuer, clientIDs: ["sts.amazonaws.com"],
                                                              thumbprints: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
        #expect(arn == expectedARN)
        do {
            _ = try await c.iam.createOpenIDConnectProvider(url: issuer)
            Issue.record("expected EntityAlreadyExists")
        } catch let e as AWSError {
            #expect(e.isAlreadyExists)
        }
        let p = try await c.iam.getOpenIDConnectProvider(arn: arn)
        #expect(p.url == ARN.oidcProviderPath(issuer))
        #expect(p.clientIDs == ["sts.amazonaws.com"])
        #expect(p.thumbprints == ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
        #expect(try await c.iam.listOpenIDConnectProviders().contains(arn))
        try await c.iam.deleteOpenIDConnectProvider(arn: arn)
        #expect(try await c.iam.findOpenIDConnectProvider(arn: arn) == nil)
        #expect(try await !c.iam.listOpenIDConnectProviders().contains(arn))
        // Without a thumbprint (optional today).
        let arn2 = try await c.iam.createOpenIDConnectProvider(url: issuer + "x")
        try await c.iam.deleteOpenIDConnectProvider(arn: arn2)
        try await c.shutdown()
    }

    @Test func managedPolicyLifecycle() async throws {
        let c = Moto.client()
        let name = Moto.unique("policy")
        let doc = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"}]}"#
        let p = try await c.iam.createPolicy(name: name, document: doc, description: "sgk policy")
        #expect(p.arn == ARN.iamPolicy(name, account: Moto.account, partition: .aws))
        #expect(p.defaultVersionID == "v1")
        do {
            _ = try await c.iam.createPolicy(name: name, document: doc)
            Issue.record("expected EntityAlreadyExists")
        } catch let e as AWSError {
            #expect(e.code == "EntityAlreadyExists")
        }
        let (got, gotDoc) = try await c.iam.getPolicyWithDocument(arn: p.arn)
        #expect(got.name == name)
        #expect(gotDoc.flatMap { try? JSONCodec.parse($0) } == (try? JSONCodec.parse(doc)))
        #expect(try await c.iam.listPolicies(scope: .local, pageSize: 1).contains { $0.arn == p.arn })
        // A second, default version; deletePolicy removes the non-default v1 first.
        _ = try await c.queryAction(.iam, action: "CreatePolicyVersion", version: IAM.apiVersion, parameters: [
            QueryParameter("PolicyArn", p.arn), QueryParameter("PolicyDocument", doc), QueryParameter("SetAsDefault", "true"),
        ])
        let versions = try await c.iam.listPolicyVersions(arn: p.arn)
        #expect(versions.count == 2)
        #expect(versions.first { $0.isDefault }?.versionID == "v2")
        try await c.iam.deletePolicy(arn: p.arn)
        do {
            _ = try await c.iam.getPolicy(arn: p.arn)
            Issue.record("expected NoSuchEntity")
        } catch let e as AWSError {
            #expect(e.isNotFound)
        }
        try await c.shutdown()
    }

    @Test func eksClusters() async throws {
        let c = Moto.client()
        let names = (0..<3).map { _ in Moto.unique("cluster") }
        for n in names {
            _ = try await c.restJSON(.eks, operation: "CreateCluster", method: .POST, path: "/clusters", body: .object([
                "name": .string(n), "version": .string("1.29"),
                "roleArn": .string("arn:aws:iam::\(Moto.account):role/eks"),
                "resourcesVpcConfig": .object(["subnetIds": .array([.string("subnet-1")])]),
            ]))
        }
        let listed = try await c.eks.listClusters(pageSize: 1)
        for n in names { #expect(listed.contains(n)) }
        let d = try await c.eks.describeCluster(name: names[0])
        #expect(d.name == names[0])
        #expect(d.arn == "arn:aws:eks:us-east-1:\(Moto.account):cluster/\(names[0])")
        #expect(d.version == "1.29")
        #expect(d.status != nil)
        #expect(d.endpoint?.hasPrefix("https://") == true)
        #expect(d.certificateAuthorityData?.isEmpty == false)
        #expect(d.oidcIssuer?.hasPrefix("https://") == true)
        #expect(d.json["resourcesVpcConfig"] != nil)
        do {
            _ = try await c.eks.describeCluster(name: "does-not-exist-\(names[0])")
            Issue.record("expected ResourceNotFoundException")
        } catch let e as AWSError {
            #expect(e.code == "ResourceNotFoundException")
            #expect(e.statusCode == 404)
            #expect(e.service == "eks")
        }
        for n in names {
            _ = try await c.restJSON(.eks, operation: "DeleteCluster", method: .DELETE, path: "/clusters/\(n)")
        }
        try await c.shutdown()
    }

    /// The real AWS CLI reads back a role created by this client identically.
    @Test func awsCLICrossCheck() async throws {
        guard Moto.commandExists("aws"), let endpoint = Moto.endpoint else {
            Issue.record("aws CLI not found on PATH")
            return
        }
        let c = Moto.client()
        let name = Moto.unique("clicheck")
        let trust = Moto.trustPolicy("eks.amazonaws.com")
        let role = try await c.iam.createRole(name: name, assumeRolePolicyDocument: trust, description: "cross-check",
                                              tags: [IAMTag("k", "v")])
        var env = Moto.environment(endpoint: endpoint)
        env["AWS_DEFAULT_REGION"] = "us-east-1"  // awscli v1 ignores AWS_REGION
        env["AWS_CONFIG_FILE"] = "/dev/null"
        env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
        env["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        env["HOME"] = ProcessInfo.processInfo.environment["HOME"]
        let (status, out, err) = try Moto.run(["aws", "--endpoint-url", endpoint, "iam", "get-role", "--role-name", name, "--output", "json"],
                                             environment: env)
        #expect(status == 0, "\(err)")
        let json = try JSONCodec.parse(out)
        let cli = try #require(json["Role"])
        let ours = try await c.iam.getRole(name: name)
        #expect(cli["RoleName"]?.stringValue == ours.name)
        #expect(cli["Arn"]?.stringValue == ours.arn)
        #expect(cli["Arn"]?.stringValue == role.arn)
        #expect(cli["RoleId"]?.stringValue == ours.roleID)
        #expect(cli["Path"]?.stringValue == ours.path)
        #expect(cli["Description"]?.stringValue == ours.description)
        #expect(cli["AssumeRolePolicyDocument"] == ours.assumeRolePolicy)
        #expect(cli["MaxSessionDuration"]?.intValue == ours.maxSessionDuration)
        let cliTags = (cli["Tags"]?.arrayValue ?? []).map { IAMTag($0["Key"]?.stringValue ?? "", $0["Value"]?.stringValue ?? "") }
        #expect(cliTags == ours.tags)
        try await c.iam.deleteRole(name: name)
        try await c.shutdown()
    }

    /// 50 GetRole calls over one kept-alive connection (the benchmark's shape); reports the time.
    @Test func fiftyGetRoleCalls() async throws {
        var logger = Logger(label: "bench")
        if ProcessInfo.processInfo.environment["SGK_TEST_AWS_DEBUG"] != nil { logger.logLevel = .debug }
        let c = Moto.client(logger: logger)
        let name = Moto.unique("bench")
        _ = try await c.iam.createRole(name: name, assumeRolePolicyDocument: Moto.trustPolicy())
        let start = Date()
        for _ in 0..<50 { _ = try await c.iam.getRole(name: name) }
        let elapsed = Date().timeIntervalSince(start)
        print("50 GetRole calls: \(String(format: "%.3f", elapsed)) s")
        #expect(elapsed < 30)
        try await c.iam.deleteRole(name: name)
        try await c.shutdown()
    }
}
