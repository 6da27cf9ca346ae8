import Testing
import SGKData
@testable import SGKAWS

/// The IAM policy evaluator, on the examples of the IAM User Guide (policy evaluation logic,
/// the Condition operators, single-valued vs. multivalued context keys, policy variables) and of
/// the EKS User Guide (IRSA and Pod Identity trust policies).
@Suite struct PolicyEvaluationTests {
    static let provider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    static let host = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    static let provider2 = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE2222222222222222222222222"
    static let host2 = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE2222222222222222222222222"

    static func doc(_ text: String) throws -> JSON { try JSONCodec.parse(text) }

    static func eval(_ text: String, action: String, resource: String? = nil, principal: PolicyRequest.Principal? = nil,
                     context: [String: [String]] = [:]) throws -> PolicyEvaluation {
        PolicyEvaluator.evaluate([try doc(text)], PolicyRequest(action: action, resource: resource, principal: principal, context: context))
    }

    /// A web-identity request from NS/SA of the first cluster, as STS sees it.
    static func webIdentity(_ ns: String, _ sa: String, provider: String = provider, host: String = host, aud: String = "sts.amazonaws.com",
                            action: String = "sts:AssumeRoleWithWebIdentity") -> PolicyRequest {
        PolicyRequest(action: action, principal: .init(.federated, provider),
                      context: ["\(host):sub": ["system:serviceaccount:\(ns):\(sa)"], "\(host):aud": [aud]])
    }

    // MARK: EKS trust policies

    /// The trust policy of the EKS User Guide ("Assign IAM roles to Kubernetes service accounts").
    static var documentedTrust: String {
        """
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Effect": "Allow",
              "Principal": {"Federated": "\(provider)"},
              "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {
                "StringEquals": {
                  "\(host):aud": "sts.amazonaws.com",
                  "\(host):sub": "system:serviceaccount:default:my-service-account"
                }
              }
            }
          ]
        }
        """
    }

    @Test func documentedTrustAllowsItsServiceAccountOnly() throws {
        let d = try Self.doc(Self.documentedTrust)
        let ok = PolicyEvaluator.evaluate([d], Self.webIdentity("default", "my-service-account"))
        #expect(ok.decision == .allow && ok.allowed)
        #expect(ok.matched == [PolicyStatementRef(policy: 0, index: 0, sid: nil, effect: "Allow")])
        #expect(ok.reasons.isEmpty && ok.findings.isEmpty && ok.unsupported.isEmpty)

        let other = PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "runner"))
        #expect(other.decision == .implicitDeny && !other.allowed)
        #expect(other.matched.isEmpty)
        #expect(other.reasons.map(\.reason) == ["Condition StringEquals \(Self.host):sub: system:serviceaccount:ml:runner is not system:serviceaccount:default:my-service-account"])

        let audience = PolicyEvaluator.evaluate([d], Self.webIdentity("default", "my-service-account", aud: "sigstore"))
        #expect(audience.reasons.map(\.reason) == ["Condition StringEquals \(Self.host):aud: sigstore is not sts.amazonaws.com"])

        let wrongProvider = PolicyEvaluator.evaluate([d], Self.webIdentity("default", "my-service-account", provider: Self.provider2, host: Self.host2))
        #expect(wrongProvider.reasons.map(\.reason) == ["Principal Federated \(Self.provider2) is not \(Self.provider)"])

        let wrongAction = PolicyEvaluator.evaluate([d], Self.webIdentity("default", "my-service-account", action: "sts:AssumeRole"))
        #expect(wrongAction.reasons.map(\.reason) == ["Action sts:AssumeRole does not match sts:AssumeRoleWithWebIdentity"])

        // A token without the sub claim: the condition is false (the key is not in the request).
        let noSub = PolicyEvaluator.evaluate([d], PolicyRequest(action: "sts:AssumeRoleWithWebIdentity", principal: .init(.federated, Self.provider),
                                                                context: ["\(Self.host):aud": ["sts.amazonaws.com"]]))
        #expect(noSub.reasons.map(\.reason) == ["Condition StringEquals \(Self.host):sub: the request has no \(Self.host):sub"])

        // A trust policy needs the request's principal.
        let noPrincipal = PolicyEvaluator.evaluate([d], PolicyRequest(action: "sts:AssumeRoleWithWebIdentity"))
        #expect(noPrincipal.reasons.map(\.reason) == ["Principal: the request names no principal"])
    }

    @Test func stringLikeWildcardForEveryServiceAccountOfANamespace() throws {
        let trust = """
            {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Federated": "\(Self.provider)"},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringLike": {"\(Self.host):sub": "system:serviceaccount:ml:*", "\(Self.host):aud": "sts.amazonaws.com"}}}}
            """
        let d = try Self.doc(trust)
        #expect(PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "runner")).decision == .allow)
        #expect(PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "trainer")).decision == .allow)
        let other = PolicyEvaluator.evaluate([d], Self.webIdentity("mlops", "runner"))
        #expect(other.decision == .implicitDeny)
        #expect(other.reasons.first?.reason == "Condition StringLike \(Self.host):sub: system:serviceaccount:mlops:runner does not match system:serviceaccount:ml:*")
        #expect(PolicyEvaluator.findings([d]).isEmpty)   // correct use: no finding
        // `?` is one character.
        let one = try Self.doc(trust.replacingOccurrences(of: "ml:*", with: "ml:runner-?"))
        #expect(PolicyEvaluator.evaluate([one], Self.webIdentity("ml", "runner-1")).decision == .allow)
        #expect(PolicyEvaluator.evaluate([one], Self.webIdentity("ml", "runner-10")).decision == .implicitDeny)
        // StringLike is case-sensitive.
        #expect(PolicyEvaluator.evaluate([d], Self.webIdentity("ML", "runner")).decision == .implicitDeny)
    }

    /// The classic mistake: a wildcard under StringEquals matches only the literal text.
    @Test func wildcardUnderStringEqualsIsAFinding() throws {
        let trust = """
            {"Version": "2012-10-17", "Statement": [{"Sid": "Irsa", "Effect": "Allow", "Principal": {"Federated": "\(Self.provider)"},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {"\(Self.host):sub": "system:serviceaccount:ml:*", "\(Self.host):aud": "sts.amazonaws.com"}}}]}
            """
        let r = PolicyEvaluator.evaluate([try Self.doc(trust)], Self.webIdentity("ml", "runner"))
        #expect(r.decision == .implicitDeny)
        #expect(r.reasons.first?.reason == "Condition StringEquals \(Self.host):sub: system:serviceaccount:ml:runner is not system:serviceaccount:ml:*")
        #expect(r.findings.count == 1)
        let f = try #require(r.findings.first)
        #expect(f.statement == PolicyStatementRef(policy: 0, index: 0, sid: "Irsa", effect: "Allow"))
        #expect(f.key == "\(Self.host):sub")
        #expect(f.message.contains("literal text \"system:serviceaccount:ml:*\"") && f.message.hasSuffix("use StringLike"))
        // It matches only that literal text.
        #expect(PolicyEvaluator.evaluate([try Self.doc(trust)], Self.webIdentity("ml", "*")).decision == .allow)
        // The set and negated forms are named too, with their StringLike counterpart.
        let neg = try Self.doc(#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "*", "Condition": {"ForAnyValue:StringNotEquals": {"k": ["a?"]}}}}"#)
        #expect(PolicyEvaluator.findings([neg]).first?.message.hasSuffix("use ForAnyValue:StringNotLike") == true)
        // ${*} is the escaped literal *, not a mistake.
        let escaped = try Self.doc(#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": {"StringEquals": {"k": "a${*}"}}}}"#)
        #expect(PolicyEvaluator.findings([escaped]).isEmpty)
        #expect(PolicyEvaluator.evaluate([escaped], PolicyRequest(action: "x", principal: .init(.aws, "1"), context: ["k": ["a*"]])).decision == .allow)
    }

    /// ACK's controllers: one role trusted by several service accounts, `sub` as a list (values are OR).
    @Test func listValuedSubMatchesAnyOfItsValues() throws {
        let trust = """
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "\(Self.provider)"},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {"\(Self.host):aud": "sts.amazonaws.com",
               "\(Self.host):sub": ["system:serviceaccount:ack-system:ack-s3-controller", "system:serviceaccount:ack-system:ack-iam-controller"]}}}]}
            """
        let d = try Self.doc(trust)
        #expect(PolicyEvaluator.evaluate([d], Self.webIdentity("ack-system", "ack-s3-controller")).decision == .allow)
        #expect(PolicyEvaluator.evaluate([d], Self.webIdentity("ack-system", "ack-iam-controller")).decision == .allow)
        let other = PolicyEvaluator.evaluate([d], Self.webIdentity("ack-system", "ack-ec2-controller"))
        #expect(other.reasons.first?.reason == "Condition StringEquals \(Self.host):sub: system:serviceaccount:ack-system:ack-ec2-controller is not any of system:serviceaccount:ack-system:ack-s3-controller, system:serviceaccount:ack-system:ack-iam-controller")
    }

    /// One role used from two clusters: one statement per cluster's OIDC provider.
    @Test func twoClustersProvidersInOneTrust() throws {
        let trust = """
            {"Version": "2012-10-17", "Statement": [
              {"Sid": "ClusterA", "Effect": "Allow", "Principal": {"Federated": "\(Self.provider)"}, "Action": "sts:AssumeRoleWithWebIdentity",
               "Condition": {"StringEquals": {"\(Self.host):sub": "system:serviceaccount:ml:runner", "\(Self.host):aud": "sts.amazonaws.com"}}},
              {"Sid": "ClusterB", "Effect": "Allow", "Principal": {"Federated": "\(Self.provider2)"}, "Action": "sts:AssumeRoleWithWebIdentity",
               "Condition": {"StringEquals": {"\(Self.host2):sub": "system:serviceaccount:ml:runner", "\(Self.host2):aud": "sts.amazonaws.com"}}}]}
            """
        let d = try Self.doc(trust)
        let a = PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "runner"))
        #expect(a.decision == .allow && a.matched.map(\.sid) == ["ClusterA"])
        #expect(a.reasons.map(\.statement.index) == [1])
        #expect(a.reasons.first?.reason == "Principal Federated \(Self.provider) is not \(Self.provider2)")
        let b = PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "runner", provider: Self.provider2, host: Self.host2))
        #expect(b.decision == .allow && b.matched.map(\.sid) == ["ClusterB"] && b.matched.map(\.index) == [1])
        #expect(b.reasons.map(\.statement.sid) == ["ClusterA"])
        // A third cluster: neither.
        let c = PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "runner", provider: "arn:aws:iam::111122223333:oidc-provider/x", host: "x"))
        #expect(c.decision == .implicitDeny && c.reasons.count == 2)
    }

    /// EKS Pod Identity: the service principal pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession.
    @Test func podIdentityTrust() throws {
        let trust = """
            {"Version": "2012-10-17", "Statement": [{"Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow",
              "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
            """
        let d = try Self.doc(trust)
        for action in ["sts:AssumeRole", "sts:TagSession", "STS:tagsession"] {
            #expect(PolicyEvaluator.evaluate([d], PolicyRequest(action: action, principal: .init(.service, "pods.eks.amazonaws.com"))).decision == .allow)
        }
        let irsa = PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "runner"))
        #expect(irsa.reasons.first?.reason == "Principal names no Federated principal (it names Service: pods.eks.amazonaws.com)")
        let web = PolicyEvaluator.evaluate([d], PolicyRequest(action: "sts:AssumeRoleWithWebIdentity", principal: .init(.service, "pods.eks.amazonaws.com")))
        #expect(web.reasons.first?.reason == "Action sts:AssumeRoleWithWebIdentity does not match any of sts:AssumeRole, sts:TagSession")
        let ec2 = PolicyEvaluator.evaluate([d], PolicyRequest(action: "sts:AssumeRole", principal: .init(.service, "ec2.amazonaws.com")))
        #expect(ec2.reasons.first?.reason == "Principal Service ec2.amazonaws.com is not pods.eks.amazonaws.com")
    }

    // MARK: policy evaluation logic

    /// "An explicit deny in any of these policies overrides the allow."
    @Test func explicitDenyWinsOverAllow() throws {
        let trust = """
            {"Version": "2012-10-17", "Statement": [
              {"Sid": "All", "Effect": "Allow", "Principal": {"Federated": "\(Self.provider)"}, "Action": "sts:AssumeRoleWithWebIdentity",
               "Condition": {"StringLike": {"\(Self.host):sub": "system:serviceaccount:ml:*"}}},
              {"Sid": "NotDefault", "Effect": "Deny", "Principal": "*", "Action": "sts:*",
               "Condition": {"StringEquals": {"\(Self.host):sub": "system:serviceaccount:ml:default"}}}]}
            """
        let d = try Self.doc(trust)
        let denied = PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "default"))
        #expect(denied.decision == .explicitDeny && !denied.allowed)
        #expect(denied.matched.map(\.sid) == ["All", "NotDefault"] && denied.matched.map(\.effect) == ["Allow", "Deny"])
        let allowed = PolicyEvaluator.evaluate([d], Self.webIdentity("ml", "runner"))
        #expect(allowed.decision == .allow)
        #expect(allowed.reasons.first?.statement.sid == "NotDefault")
        // Across documents too: a Deny in one identity policy overrides an Allow in another.
        let allow = try Self.doc(#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#)
        let deny = try Self.doc(#"{"Version": "2012-10-17", "Statement": [{"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]}"#)
        let r = PolicyEvaluator.evaluate([allow, deny], PolicyRequest(action: "s3:DeleteObject", resource: "arn:aws:s3:::b/k"))
        #expect(r.decision == .explicitDeny)
        #expect(r.matched == [PolicyStatementRef(policy: 0, index: 0, sid: nil, effect: "Allow"), PolicyStatementRef(policy: 1, index: 0, sid: "NoDelete", effect: "Deny")])
        #expect(PolicyEvaluator.evaluate([allow, deny], PolicyRequest(action: "s3:GetObject", resource: "arn:aws:s3:::b/k")).decision == .allow)
    }

    /// "By default, all requests are implicitly denied": no statement, no match → ImplicitDeny.
    @Test func noMatchingAllowIsAnImplicitDeny() throws {
        let r = try Self.eval(#"{"Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket"}}"#,
                              action: "s3:GetObject", resource: "arn:aws:s3:::amzn-s3-demo-bucket/key")
        #expect(r.decision == .implicitDeny && r.matched.isEmpty)
        #expect(r.reasons.first?.reason == "Action s3:GetObject does not match s3:ListBucket")
        // A Deny that does not apply does not allow either.
        let d = try Self.eval(#"{"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}"#, action: "ec2:RunInstances", resource: "*")
        #expect(d.decision == .implicitDeny)
    }

    @Test func actionsAreCaseInsensitiveWithWildcards() throws {
        func allowed(_ actions: String, _ action: String) throws -> Bool {
            try Self.eval(#"{"Statement": {"Effect": "Allow", "Action": \#(actions), "Resource": "*"}}"#, action: action, resource: "*").allowed
        }
        #expect(try allowed(#""s3:GetObject""#, "S3:getobject"))
        #expect(try allowed(#""s3:get*""#, "s3:GetObjectAcl"))
        #expect(try allowed(#""iam:*AccessKey*""#, "iam:CreateAccessKey"))
        #expect(try allowed(#""iam:*AccessKey*""#, "iam:ListAccessKeys"))
        #expect(try !allowed(#""iam:*AccessKey*""#, "iam:CreateUser"))
        #expect(try allowed(#""s3:?etObject""#, "s3:GetObject"))
        #expect(try !allowed(#""s3:?etObject""#, "s3:GGetObject"))
        #expect(try allowed(#""*""#, "sagemaker:CreateTrainingJob"))
        #expect(try allowed(#"["ec2:*", "sagemaker:Create*"]"#, "sagemaker:CreateTrainingJob"))
        #expect(try !allowed(#"["ec2:*", "sagemaker:Create*"]"#, "sagemaker:DeleteEndpoint"))
        // NotAction: every action but those.
        let notAction = try Self.eval(#"{"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}"#, action: "iam:CreateRole", resource: "*")
        #expect(notAction.reasons.first?.reason == "NotAction excludes iam:CreateRole (it matches iam:*)")
        #expect(try Self.eval(#"{"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}"#, action: "s3:GetObject", resource: "*").allowed)
    }

    @Test func resourcesMatchCaseSensitivelyWithWildcards() throws {
        let policy = #"{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/*", "arn:aws:s3:::logs-??"]}}"#
        #expect(try Self.eval(policy, action: "s3:GetObject", resource: "arn:aws:s3:::amzn-s3-demo-bucket/a/b.txt").allowed)
        #expect(try Self.eval(policy, action: "s3:GetObject", resource: "arn:aws:s3:::logs-01").allowed)
        let upper = try Self.eval(policy, action: "s3:GetObject", resource: "arn:aws:s3:::AMZN-S3-DEMO-BUCKET/a")
        #expect(upper.reasons.first?.reason == "Resource arn:aws:s3:::AMZN-S3-DEMO-BUCKET/a does not match any of arn:aws:s3:::amzn-s3-demo-bucket/*, arn:aws:s3:::logs-??")
        // A wildcard that ends an ARN segment may span colons; one inside a segment does not.
        let logs = #"{"Statement": {"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:us-east-1:*"}}"#
        #expect(try Self.eval(logs, action: "logs:PutLogEvents", resource: "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s").allowed)
        let inside = #"{"Statement": {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "arn:aws:sagemaker:us-*-1:123456789012:training-job/*"}}"#
        #expect(try Self.eval(inside, action: "sagemaker:DescribeTrainingJob", resource: "arn:aws:sagemaker:us-west-1:123456789012:training-job/x").allowed)
        #expect(try !Self.eval(inside, action: "sagemaker:DescribeTrainingJob", resource: "arn:aws:sagemaker:us-a:b-1:123456789012:training-job/x").allowed)
        // NotResource.
        let notResource = #"{"Statement": {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::mine", "arn:aws:s3:::mine/*"]}}"#
        #expect(try Self.eval(notResource, action: "s3:GetObject", resource: "arn:aws:s3:::theirs/k").decision == .explicitDeny)
        #expect(try Self.eval(notResource, action: "s3:GetObject", resource: "arn:aws:s3:::mine/k").reasons.first?.reason
                == "NotResource excludes arn:aws:s3:::mine/k (it matches arn:aws:s3:::mine/*)")
    }

    /// Without resource:, whether the action is allowed on some resource.
    @Test func withoutAResourceAnAllowCoversSomeAndADenyMustCoverAll() throws {
        let doc = try Self.doc("""
            {"Statement": [{"Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": "arn:aws:sagemaker:*:*:training-job/team-*"},
                           {"Effect": "Deny", "Action": "sagemaker:*", "Resource": "arn:aws:sagemaker:*:*:training-job/prod-*"}]}
            """)
        let r = PolicyEvaluator.evaluate([doc], PolicyRequest(action: "sagemaker:CreateTrainingJob"))
        #expect(r.decision == .allow)
        #expect(r.reasons.first?.reason.contains("does not cover every resource") == true)
        let all = try Self.doc(#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "sagemaker:*", "Resource": "*"}]}"#)
        #expect(PolicyEvaluator.evaluate([all], PolicyRequest(action: "sagemaker:CreateTrainingJob")).decision == .explicitDeny)
    }

    @Test func principalsAndNotPrincipal() throws {
        let trust = #"{"Statement": {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::444455556666:role/ci"]}, "Action": "sts:AssumeRole"}}"#
        // An account's root ARN (or its id) stands for every principal of the account.
        #expect(try Self.eval(trust, action: "sts:AssumeRole", principal: .init(.aws, "arn:aws:iam::123456789012:user/ops")).allowed)
        #expect(try Self.eval(trust, action: "sts:AssumeRole", principal: .init(.aws, "arn:aws:iam::444455556666:role/ci")).allowed)
        let other = try Self.eval(trust, action: "sts:AssumeRole", principal: .init(.aws, "arn:aws:iam::444455556666:role/dev"))
        #expect(other.reasons.first?.reason == "Principal AWS arn:aws:iam::444455556666:role/dev is not any of arn:aws:iam::123456789012:root, arn:aws:iam::444455556666:role/ci")
        let account = #"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}}"#
        #expect(try Self.eval(account, action: "sts:AssumeRole", principal: .init(.aws, "arn:aws:iam::123456789012:role/x")).allowed)
        // "*" is everyone, as a string or as {"AWS": "*"}.
        #expect(try Self.eval(#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}}"#, action: "sts:AssumeRole",
                              principal: .init(.service, "ec2.amazonaws.com")).allowed)
        #expect(try Self.eval(#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}}"#, action: "sts:AssumeRole",
                              principal: .init(.aws, "arn:aws:iam::1:role/x")).allowed)
        // NotPrincipal with Deny: everyone but the principal named is denied.
        let notPrincipal = #"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/admin"}, "Action": "sts:AssumeRole"}]}"#
        #expect(try Self.eval(notPrincipal, action: "sts:AssumeRole", principal: .init(.aws, "arn:aws:iam::123456789012:role/admin")).decision == .allow)
        #expect(try Self.eval(notPrincipal, action: "sts:AssumeRole", principal: .init(.aws, "arn:aws:iam::123456789012:role/dev")).decision == .explicitDeny)
    }

    // MARK: condition operators

    /// The string operators' example: aws:PrincipalTag/job-category = iamuser-admin; condition keys
    /// are case-insensitive, values are not (except the IgnoreCase operators).
    @Test func stringOperators() throws {
        let equals = #"{"Statement": {"Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}}}"#
        #expect(try Self.eval(equals, action: "iam:CreateAccessKey", resource: "*", context: ["AWS:PrincipalTag/Job-Category": ["iamuser-admin"]]).allowed)
        #expect(try !Self.eval(equals, action: "iam:CreateAccessKey", resource: "*", context: ["aws:PrincipalTag/job-category": ["IAMUSER-ADMIN"]]).allowed)
        let ignoreCase = equals.replacingOccurrences(of: "StringEquals", with: "StringEqualsIgnoreCase")
        #expect(try Self.eval(ignoreCase, action: "iam:CreateAccessKey", resource: "*", context: ["aws:PrincipalTag/job-category": ["IAMUSER-ADMIN"]]).allowed)
        // StringNotEquals: true when the value is none of them, and when the key is missing.
        let not = #"{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}}}"#
        #expect(try Self.eval(not, action: "ec2:RunInstances", resource: "*", context: ["aws:RequestedRegion": ["eu-west-1"]]).decision == .explicitDeny)
        let inRegion = try Self.eval(not, action: "ec2:RunInstances", resource: "*", context: ["aws:RequestedRegion": ["us-west-2"]])
        #expect(inRegion.decision == .implicitDeny)
        #expect(inRegion.reasons.first?.reason == "Condition StringNotEquals aws:RequestedRegion: us-west-2 is us-west-2, which it excludes")
        #expect(try Self.eval(not, action: "ec2:RunInstances", resource: "*").decision == .explicitDeny)
        let notIgnoreCase = not.replacingOccurrences(of: "StringNotEquals", with: "StringNotEqualsIgnoreCase")
        #expect(try Self.eval(notIgnoreCase, action: "ec2:RunInstances", resource: "*", context: ["aws:RequestedRegion": ["US-WEST-2"]]).decision == .implicitDeny)
        // StringNotLike.
        let notLike = #"{"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotLike": {"s3:prefix": ["home/*", ""]}}}}"#
        #expect(try Self.eval(notLike, action: "s3:ListBucket", resource: "*", context: ["s3:prefix": ["tmp/x"]]).decision == .explicitDeny)
        #expect(try Self.eval(notLike, action: "s3:ListBucket", resource: "*", context: ["s3:prefix": ["home/x"]]).decision == .implicitDeny)
        #expect(try Self.eval(notLike, action: "s3:ListBucket", resource: "*", context: ["s3:prefix": [""]]).decision == .implicitDeny)
    }

    /// Several keys are AND, several operators are AND, several values of a key are OR.
    @Test func conditionLogic() throws {
        let policy = """
            {"Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {
              "StringEquals": {"aws:PrincipalTag/team": ["a", "b"], "ec2:Region": "us-east-1"},
              "Bool": {"aws:MultiFactorAuthPresent": "true"}}}}
            """
        let all: [String: [String]] = ["aws:PrincipalTag/team": ["b"], "ec2:Region": ["us-east-1"], "aws:MultiFactorAuthPresent": ["true"]]
        #expect(try Self.eval(policy, action: "ec2:StartInstances", resource: "*", context: all).allowed)
        var noMFA = all
        noMFA["aws:MultiFactorAuthPresent"] = ["false"]
        #expect(try Self.eval(policy, action: "ec2:StartInstances", resource: "*", context: noMFA).reasons.first?.reason
                == "Condition Bool aws:MultiFactorAuthPresent: false is not true")
        var region = all
        region["ec2:Region"] = ["eu-west-1"]
        #expect(try Self.eval(policy, action: "ec2:StartInstances", resource: "*", context: region).reasons.first?.reason
                == "Condition StringEquals ec2:Region: eu-west-1 is not us-east-1")
        var team = all
        team["aws:PrincipalTag/team"] = ["c"]
        #expect(try Self.eval(policy, action: "ec2:StartInstances", resource: "*", context: team).reasons.first?.reason
                == "Condition StringEquals aws:PrincipalTag/team: c is not any of a, b")
    }

    /// Bool, with the documented aws:SecureTransport deny (a JSON bool value works too).
    @Test func boolOperator() throws {
        let deny = #"{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": false}}}]}"#
        #expect(try Self.eval(deny, action: "s3:GetObject", resource: "*", context: ["aws:SecureTransport": ["false"]]).decision == .explicitDeny)
        #expect(try Self.eval(deny, action: "s3:GetObject", resource: "*", context: ["aws:SecureTransport": ["true"]]).decision == .allow)
        // Missing key: Bool is false, so the Deny does not apply; BoolIfExists is true.
        #expect(try Self.eval(deny, action: "s3:GetObject", resource: "*").decision == .allow)
        let ifExists = deny.replacingOccurrences(of: "\"Bool\"", with: "\"BoolIfExists\"")
        #expect(try Self.eval(ifExists, action: "s3:GetObject", resource: "*").decision == .explicitDeny)
    }

    /// Null: true asks that the key be absent (the documented aws:TokenIssueTime example), false that it be present.
    @Test func nullOperator() throws {
        let policy = #"{"Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"Null": {"aws:TokenIssueTime": "true"}}}}"#
        #expect(try Self.eval(policy, action: "ec2:DescribeInstances", resource: "*").allowed)
        let temp = try Self.eval(policy, action: "ec2:DescribeInstances", resource: "*", context: ["aws:TokenIssueTime": ["2024-01-01T00:00:00Z"]])
        #expect(temp.reasons.first?.reason == "Condition Null aws:TokenIssueTime: the request has aws:TokenIssueTime, and true asks that it be absent")
        let present = policy.replacingOccurrences(of: "\"true\"", with: "\"false\"")
        #expect(try !Self.eval(present, action: "ec2:DescribeInstances", resource: "*").allowed)
        #expect(try Self.eval(present, action: "ec2:DescribeInstances", resource: "*", context: ["aws:TokenIssueTime": ["x"]]).allowed)
    }

    /// …IfExists: "If the policy key is present in the context of the request, process the key as
    /// specified in the policy. If the key is not present, evaluate the condition element as true."
    @Test func ifExists() throws {
        let policy = #"{"Statement": {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*", "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}}}"#
        #expect(try Self.eval(policy, action: "ec2:RunInstances", resource: "*").allowed)
        #expect(try Self.eval(policy, action: "ec2:RunInstances", resource: "*", context: ["ec2:InstanceType": ["t2.micro"]]).allowed)
        let big = try Self.eval(policy, action: "ec2:RunInstances", resource: "*", context: ["ec2:InstanceType": ["p4d.24xlarge"]])
        #expect(big.reasons.first?.reason == "Condition StringLikeIfExists ec2:InstanceType: p4d.24xlarge does not match any of t1.*, t2.*, m3.*")
        // Without IfExists, a missing key makes the (non-negated) condition false.
        let strict = policy.replacingOccurrences(of: "StringLikeIfExists", with: "StringLike")
        #expect(try Self.eval(strict, action: "ec2:RunInstances", resource: "*").reasons.first?.reason == "Condition StringLike ec2:InstanceType: the request has no ec2:InstanceType")
    }

    @Test func arnOperators() throws {
        let policy = #"{"Statement": {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*", "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-2:123456789012:topic-*"}}}}"#
        let sns = PolicyRequest.Principal(.service, "sns.amazonaws.com")
        #expect(try Self.eval(policy, action: "sqs:SendMessage", resource: "*", principal: sns, context: ["aws:SourceArn": ["arn:aws:sns:us-east-2:123456789012:topic-a"]]).allowed)
        let other = try Self.eval(policy, action: "sqs:SendMessage", resource: "*", principal: sns, context: ["aws:SourceArn": ["arn:aws:sns:us-east-2:444455556666:topic-a"]])
        #expect(other.reasons.first?.reason == "Condition ArnEquals aws:SourceArn: arn:aws:sns:us-east-2:444455556666:topic-a does not match arn:aws:sns:us-east-2:123456789012:topic-*")
        let like = policy.replacingOccurrences(of: "ArnEquals", with: "ArnLike").replacingOccurrences(of: "us-east-2:123456789012", with: "*:123456789012")
        #expect(try Self.eval(like, action: "sqs:SendMessage", resource: "*", principal: sns, context: ["aws:SourceArn": ["arn:aws:sns:eu-west-1:123456789012:topic-b"]]).allowed)
        let notLike = #"{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}}}}"#
        #expect(try Self.eval(notLike, action: "s3:GetObject", resource: "*", context: ["aws:PrincipalArn": ["arn:aws:iam::1:role/dev"]]).decision == .explicitDeny)
        #expect(try Self.eval(notLike, action: "s3:GetObject", resource: "*", context: ["aws:PrincipalArn": ["arn:aws:iam::1:role/admin-x"]]).decision == .implicitDeny)
    }

    @Test func numericOperators() throws {
        let policy = #"{"Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"NumericLessThanEquals": {"s3:max-keys": "10"}}}}"#
        #expect(try Self.eval(policy, action: "s3:ListBucket", resource: "*", context: ["s3:max-keys": ["10"]]).allowed)
        let many = try Self.eval(policy, action: "s3:ListBucket", resource: "*", context: ["s3:max-keys": ["11"]])
        #expect(many.reasons.first?.reason == "Condition NumericLessThanEquals s3:max-keys: 11 is not at most 10")
        let gt = #"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NumericGreaterThan": {"n": 5}, "NumericNotEquals": {"n": [7, 8]}}}}"#
        #expect(try Self.eval(gt, action: "x:y", resource: "*", context: ["n": ["6"]]).allowed)
        #expect(try !Self.eval(gt, action: "x:y", resource: "*", context: ["n": ["7"]]).allowed)
        #expect(try !Self.eval(gt, action: "x:y", resource: "*", context: ["n": ["5"]]).allowed)
        #expect(try !Self.eval(gt, action: "x:y", resource: "*", context: ["n": ["many"]]).allowed)
    }

    // MARK: set operators (multivalued keys)

    /// ForAllValues: true when every value of the request matches one of the policy's — and when
    /// the key is missing or empty. ForAnyValue: at least one matches; false when missing.
    @Test func forAllValuesAndForAnyValue() throws {
        let all = #"{"Statement": {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}}}"#
        #expect(try Self.eval(all, action: "ec2:CreateTags", resource: "*", context: ["aws:TagKeys": ["environment"]]).allowed)
        #expect(try Self.eval(all, action: "ec2:CreateTags", resource: "*", context: ["aws:TagKeys": ["environment", "cost-center"]]).allowed)
        let extra = try Self.eval(all, action: "ec2:CreateTags", resource: "*", context: ["aws:TagKeys": ["environment", "owner"]])
        #expect(extra.reasons.first?.reason == "Condition ForAllValues:StringEquals aws:TagKeys: owner (a value of the request's [environment, owner]) is not any of environment, cost-center")
        #expect(try Self.eval(all, action: "ec2:CreateTags", resource: "*").allowed)   // missing: true
        #expect(try Self.eval(all, action: "ec2:CreateTags", resource: "*", context: ["aws:TagKeys": []]).allowed)

        let any = all.replacingOccurrences(of: "ForAllValues", with: "ForAnyValue")
        #expect(try Self.eval(any, action: "ec2:CreateTags", resource: "*", context: ["aws:TagKeys": ["owner", "cost-center"]]).allowed)
        #expect(try !Self.eval(any, action: "ec2:CreateTags", resource: "*", context: ["aws:TagKeys": ["owner"]]).allowed)
        let missing = try Self.eval(any, action: "ec2:CreateTags", resource: "*")
        #expect(missing.reasons.first?.reason == "Condition ForAnyValue:StringEquals aws:TagKeys: the request has no aws:TagKeys (ForAnyValue is false for a missing key)")

        // With StringLike, and negated: ForAllValues:StringNotLike — no value may match.
        let like = #"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"ForAnyValue:StringLike": {"\#(Self.host):sub": "system:serviceaccount:ml:*"}}}}"#
        #expect(try Self.eval(like, action: "x:y", resource: "*", context: ["\(Self.host):sub": ["system:serviceaccount:ml:a"]]).allowed)
        let notLike = #"{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "aws:*"}}}}"#
        #expect(try Self.eval(notLike, action: "x:y", resource: "*", context: ["aws:TagKeys": ["a", "b"]]).decision == .explicitDeny)
        #expect(try Self.eval(notLike, action: "x:y", resource: "*", context: ["aws:TagKeys": ["a", "aws:b"]]).decision == .implicitDeny)
        // ForAnyValue with IfExists: a missing key is true.
        let anyIfExists = any.replacingOccurrences(of: "StringEquals", with: "StringEqualsIfExists")
        #expect(try Self.eval(anyIfExists, action: "ec2:CreateTags", resource: "*").allowed)
    }

    // MARK: policy variables, unsupported and unknown operators

    @Test func policyVariablesAreReadFromTheContext() throws {
        let policy = #"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket", "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}}}"#
        let mine = try Self.eval(policy, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket",
                                 context: ["aws:username": ["alice"], "s3:prefix": ["home/alice/docs"]])
        #expect(mine.allowed && mine.unsupported.isEmpty)
        #expect(try !Self.eval(policy, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket",
                               context: ["aws:username": ["bob"], "s3:prefix": ["home/alice/docs"]]).allowed)
        // The variable's value is literal: a * in it is no wildcard.
        #expect(try !Self.eval(policy, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket",
                               context: ["aws:username": ["*"], "s3:prefix": ["home/alice/docs"]]).allowed)
        // Unknown to the request: the statement is not evaluated, and said so — never silently matched.
        let unknown = try Self.eval(policy, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket", context: ["s3:prefix": ["home/alice/x"]])
        #expect(unknown.decision == .implicitDeny)
        #expect(unknown.reasons.first?.reason == "not evaluated: the policy variable ${aws:username} is not in the request's context (pass it in context:)")
        #expect(unknown.unsupported == ["Statement[0] (Allow): the policy variable ${aws:username} is not in the request's context (pass it in context:); the decision leaves it out"])
        // …unless another value already matched.
        #expect(try Self.eval(policy, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket", context: ["s3:prefix": ["home/"]]).allowed)
        // A default value, and variables in Resource.
        let resource = #"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'shared'}/*"}}"#
        #expect(try Self.eval(resource, action: "s3:GetObject", resource: "arn:aws:s3:::bucket/shared/x").allowed)
        #expect(try Self.eval(resource, action: "s3:GetObject", resource: "arn:aws:s3:::bucket/ml/x", context: ["aws:principaltag/team": ["ml"]]).allowed)
        // Before Version 2012-10-17, ${…} is literal text.
        let old = policy.replacingOccurrences(of: #""Version": "2012-10-17", "#, with: "")
        let literal = try Self.eval(old, action: "s3:ListBucket", resource: "arn:aws:s3:::amzn-s3-demo-bucket", context: ["s3:prefix": ["home/${aws:username}/x"]])
        #expect(literal.allowed && literal.unsupported.isEmpty)
    }

    @Test func unsupportedAndUnknownOperatorsAreReportedNotIgnored() throws {
        let dated = #"{"Statement": [{"Sid": "Until", "Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]}"#
        let r = try Self.eval(dated, action: "s3:GetObject", resource: "*", context: ["aws:CurrentTime": ["2024-01-01T00:00:00Z"]])
        #expect(r.decision == .implicitDeny)
        #expect(r.reasons.first?.reason == "not evaluated: sgk does not evaluate the condition operator DateLessThan")
        #expect(r.unsupported == ["Statement[0] (Sid \"Until\", Allow): sgk does not evaluate the condition operator DateLessThan; the decision leaves it out"])
        // A statement that does not apply for another reason is not "unsupported".
        let elsewhere = try Self.eval(dated, action: "ec2:RunInstances", resource: "*")
        #expect(elsewhere.unsupported.isEmpty && elsewhere.reasons.first?.reason.hasPrefix("Action") == true)
        // A false condition decides even beside an unsupported one.
        let both = #"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}, "StringEquals": {"k": "v"}}}}"#
        let decided = try Self.eval(both, action: "x:y", resource: "*", context: ["k": ["w"]])
        #expect(decided.unsupported.isEmpty && decided.reasons.first?.reason == "Condition StringEquals k: w is not v")

        let typo = #"{"Statement": {"Sid": "T", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqual": {"k": "v"}}}}"#
        let t = try Self.eval(typo, action: "x:y", resource: "*", context: ["k": ["v"]])
        #expect(!t.allowed)
        #expect(t.reasons.first?.reason == "not evaluated: unknown condition operator StringEqual")
        #expect(t.unsupported.count == 1)
        #expect(t.findings.first?.key == "StringEqual")
        #expect(t.findings.first?.message.contains("did you mean StringEquals?") == true)
        #expect(ConditionOperator.suggestion("ForAnyValue:StringLkeIfExists") == "ForAnyValue:StringLikeIfExists")
        #expect(ConditionOperator("NullIfExists").kind == .unknown)
    }

    @Test func malformedInputNeverTraps() throws {
        #expect(PolicyEvaluator.documentProblem(try Self.doc("[]")) != nil)
        #expect(PolicyEvaluator.documentProblem(try Self.doc("{}")) == "the policy document has no Statement")
        let r = PolicyEvaluator.evaluate([try Self.doc("{}"), try Self.doc(#"{"Statement": [1, {"Effect": "Permit", "Action": "*"}, {"Effect": "Allow"}, {"Effect": "Allow", "Action": 3}, {"Effect": "Allow", "Action": "*", "Condition": {"StringLike": "x"}}]}"#)],
                                         PolicyRequest(action: "x:y"))
        #expect(r.decision == .implicitDeny)
        #expect(r.unsupported.count == 6)
        #expect(r.unsupported.first == "policy 0: the policy document has no Statement; it was not evaluated")
        #expect(r.reasons.map(\.reason) == ["not evaluated: the statement is not a JSON object", "not evaluated: Effect \"Permit\" is neither Allow nor Deny",
                                            "not evaluated: the statement has no Action or NotAction", "not evaluated: Action holds 3, not a string",
                                            "not evaluated: Condition StringLike must be a map of condition keys"])
        #expect(r.reasons.allSatisfy { $0.statement.policy == 1 })
    }

    // MARK: size

    /// "IAM doesn't count white space when calculating the size of a policy against these quotas."
    @Test func policySizeWithoutWhiteSpace() throws {
        let pretty = Self.documentedTrust
        let d = try Self.doc(pretty)
        let compact = JSONCodec.serialize(d, pretty: false)
        #expect(PolicyEvaluator.size(text: pretty) == compact.count)
        #expect(PolicyEvaluator.size(d) == compact.count)
        #expect(PolicyEvaluator.size(text: #"{ "a" : "b c" }"#) == 11)   // {"a":"b c"}: the space in the value counts
        #expect(PolicyEvaluator.size(text: #"{"a":"q\" x"}"#) == 13)
        #expect(PolicyEvaluator.trustPolicyLimit == 2048)
        // Each service account added to a list-valued sub grows the trust; about 40 reach the limit.
        var subs: [String] = []
        var n = 0
        while PolicyEvaluator.size(try Self.doc(Self.documentedTrust.replacingOccurrences(
            of: "\"system:serviceaccount:default:my-service-account\"", with: "[" + subs.map { "\"\($0)\"" }.joined(separator: ",") + "]"))) <= 2048 {
            n += 1
            subs.append("system:serviceaccount:team-\(n):runner")
        }
        #expect(n > 30 && n < 60)
    }
}
