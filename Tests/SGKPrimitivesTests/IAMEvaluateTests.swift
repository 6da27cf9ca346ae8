import Foundation
import Testing
import SGKLanguage
@testable import SGKPrimitives

/// `iam evaluate` and `iam policy-size` from sgk code: pure, no AWS peer needed.
@Suite struct IAMEvaluateTests {
    static let setup = """
        use irsa
        let provider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
        let host = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
        let trust = irsa trust provider: $provider namespace: ml service-account: runner
        fn token(ns, sa) { return {"${host}:sub": "system:serviceaccount:${ns}:${sa}", "${host}:aud": "sts.amazonaws.com"} }
        """

    @Test func evaluatesTheTrustThatIrsaTrustMakes() async throws {
        let h = Harness()
        defer { Task { await h.close() } }
        try await h.run(Self.setup)
        let ok = try await h.run("iam evaluate $trust action: sts:AssumeRoleWithWebIdentity principal: {Federated: $provider} context: (token ml runner)")
        #expect(ok?["decision"] == .string("Allow"))
        #expect(ok?["allowed"] == .bool(true))
        #expect(ok?["matched"] == .list([.map(["sid": .null, "index": .int(0), "effect": .string("Allow")])]))
        #expect(ok?["reasons"] == .list([]) && ok?["findings"] == .list([]) && ok?["unsupported"] == .list([]))

        let other = try await h.run("iam evaluate $trust action: sts:AssumeRoleWithWebIdentity principal: {Federated: $provider} context: (token ml other)")
        #expect(other?["decision"] == .string("ImplicitDeny"))
        #expect(other?["allowed"] == .bool(false))
        let reason = try #require(other?["reasons"]?.listValue?.first)
        #expect(reason["index"] == .int(0) && reason["effect"] == .string("Allow") && reason["sid"] == .null)
        #expect(reason["reason"]?.stringValue?.hasSuffix(":sub: system:serviceaccount:ml:other is not system:serviceaccount:ml:runner") == true)

        // JSON text, a Deny that wins, Sids, the classic StringEquals wildcard finding, a list of documents.
        let deny = #"{"Version":"2012-10-17","Statement":[{"Sid":"NoOther","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"X:sub":"system:serviceaccount:ml:*"}}}]}"#
        try await h.run("let deny = '\(deny)'")
        let both = try await h.run("iam evaluate [$trust, $deny] action: sts:AssumeRoleWithWebIdentity principal: {Federated: $provider} context: (token ml runner | merge {\"x:SUB\": \"system:serviceaccount:ml:*\"})")
        #expect(both?["decision"] == .string("ExplicitDeny"))
        #expect(both?["matched"] == .list([.map(["policy": .int(0), "sid": .null, "index": .int(0), "effect": .string("Allow")]),
                                            .map(["policy": .int(1), "sid": .string("NoOther"), "index": .int(0), "effect": .string("Deny")])]))
        let finding = try #require(both?["findings"]?.listValue?.first)
        #expect(finding["sid"] == .string("NoOther") && finding["key"] == .string("X:sub") && finding["policy"] == .int(1))
        #expect(finding["message"]?.stringValue?.contains("use StringLike") == true)

        // Pod Identity, with the --action flag spelling and a multi-valued context key.
        let pod = try await h.run("""
            let pod = {Version: "2012-10-17", Statement: [{Effect: "Allow", Principal: {Service: "pods.eks.amazonaws.com"}, Action: ["sts:AssumeRole", "sts:TagSession"]}]}
            iam evaluate $pod --action sts:TagSession principal: {Service: \"pods.eks.amazonaws.com\"} context: {"aws:TagKeys": ["eks-cluster-name", "kubernetes-namespace"]}
            """)
        #expect(pod?["allowed"] == .bool(true))
        #expect(try await h.run("iam policy-size $trust") == .int(JSONCodecSize.of(try await h.run("json emit $trust compact: true"))))
        #expect(try await h.run("iam policy-size '{ \"Statement\" : [ ] }'") == .int(16))
    }

    @Test func userErrorsAreClear() async throws {
        let h = Harness()
        defer { Task { await h.close() } }
        try await h.run(Self.setup)
        #expect(await h.failure("iam evaluate $trust").contains("action:"))
        #expect(await h.failure("iam evaluate 'not json' action: s3:GetObject").contains("POLICY is not valid JSON"))
        #expect(await h.failure("iam evaluate {Version: \"2012-10-17\"} action: s3:GetObject").contains("MalformedPolicyDocument"))
        #expect(await h.failure("iam evaluate [] action: s3:GetObject").contains("empty list"))
        #expect(await h.failure("iam evaluate $trust action: x principal: {Federal: $provider}").contains("'Federal' is not a principal type"))
        #expect(await h.failure("iam evaluate $trust action: x principal: \"arn:aws:iam::1:root\"").contains("principal: must be a map"))
        #expect(await h.failure("iam evaluate $trust action: x context: {k: {a: 1}}").contains("context: 'k' holds a map"))
        #expect(await h.failure("iam policy-size 42").contains("not an int"))
    }
}

/// The compact JSON length of `json emit`'s text (it has no white space outside strings).
enum JSONCodecSize {
    static func of(_ v: Value?) -> Int { v?.stringValue?.unicodeScalars.count ?? -1 }
}
