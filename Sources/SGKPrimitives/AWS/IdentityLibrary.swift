import Foundation
import SGKAWS
import SGKData
import SGKLanguage

/// A workload's AWS identity, read and tried: a role's inline policies, a web-identity token's
/// claims, and AssumeRoleWithWebIdentity with it (what `irsa doctor` needs beyond `role get`).
public enum IdentityLibrary: CommandLibrary {
    typealias Sig = CommandSignature

    public static var commands: [NativeCommand] { [roleGetPolicy, rolePutPolicy, roleDeletePolicy, assumeWebIdentity].map(AWSLibrary.withQuery) + [jwtClaims] }

    static let policyName = Sig.Keyword("policy-name", required: true, flags: ["--policy-name"], "the inline policy's name")

    static func inline(_ role: String, _ name: String, _ text: String) -> Value {
        .ordered([("RoleName", .string(role)), ("PolicyName", .string(name)), ("PolicyDocument", AWSValues.document(text) ?? .string(text))])
    }

    static let roleGetPolicy = NativeCommand(Sig("role get-policy", positionals: [.init("name", "the role's name")],
                                                 keywords: [AWSLibrary.region, policyName,
                                                            .init("missing-ok", isSwitch: true, flags: ["--missing-ok"], "return null when the role has no inline policy of that name")],
                                                 summary: "A role's inline policy, its document as a map (aws iam get-role-policy).",
                                                 example: "role get-policy ack-sagemaker-controller-demo policy-name: SagemakerStudioAccess")) { inv in
        let role = try inv.args.string(0, "the role name")
        let name = try inv.args.requiredString(keyword: "policy-name")
        let c = AWSClients.of(inv.context).client(region: try AWSLibrary.regionArg(inv))
        guard let text = try inv.context.wait({ try await c.iam.getRolePolicy(roleName: role, policyName: name) }) else {
            if try inv.args.bool(keyword: "missing-ok") { return .null }
            throw CommandError("the role \(role) has no inline policy \(name)", code: "NoSuchEntity",
                               hint: "`role policies \(role)` lists its inline policies; pass missing-ok: true to get null", argument: .keyword("policy-name"))
        }
        return inline(role, name, text)
    }

    static let rolePutPolicy = NativeCommand(Sig("role put-policy", positionals: [.init("name", "the role's name")],
                                                 keywords: [AWSLibrary.region, policyName, .init("document", required: true, flags: ["--policy-document"], "the policy document (a map or JSON text)")],
                                                 summary: "Put an inline policy on a role (aws iam put-role-policy): the same document → unchanged, another → replaced.",
                                                 example: "role put-policy $role policy-name: SagemakerStudioAccess document: $doc", isWrite: true)) { inv in
        let role = try inv.args.string(0, "the role name")
        let name = try inv.args.requiredString(keyword: "policy-name")
        if let problem = IAMValidation.policyNameProblem(name) {
            throw CommandError("policy-name: \(problem)", code: "ValidationError", argument: .keyword("policy-name"))
        }
        guard let docArg = inv.args.keyword("document") else { throw CommandError("missing 'document:'", argument: .keyword("document")) }
        let (docText, doc) = try AWSValues.policyDocument(docArg, "document:", .keyword("document"), trust: false)
        let c = AWSClients.of(inv.context).client(region: try AWSLibrary.regionArg(inv))
        let explain = ["aws iam put-role-policy\(AWSLibrary.iamRegion(c)) --role-name \(shellQuote(role)) --policy-name \(shellQuote(name)) --policy-document \(shellQuote(docText))"]
        let effects = Effects.of(inv.context)
        var current: String?
        do {
            current = try inv.context.wait { try await c.iam.getRolePolicy(roleName: role, policyName: name) }
        } catch let e as AWSError where e.code == "NoSuchEntity" && effects.isDryRun {
            current = nil   // the role is only planned
        }
        let result = inline(role, name, docText)
        if let current {
            let before = AWSValues.document(current) ?? .null
            if AWSValues.samePolicy(before, doc) {
                effects.unchanged(kind: "role-inline-policy", name: role, detail: name, explain: explain)
                return inline(role, name, current)
            }
            return try effects.write(Change(.update, kind: "role-inline-policy", name: role, detail: name, before: before, after: doc, explain: explain), planned: result) {
                try inv.context.wait { try await c.iam.putRolePolicy(roleName: role, policyName: name, policyDocument: docText) }
                return result
            }
        }
        let intent = IAMWriteIntent(operation: "PutRolePolicy", creates: true, done: "the inline policy is there as intended", notDone: "the inline policy is not there")
        return try effects.write(Change(.create, kind: "role-inline-policy", name: role, detail: name, after: doc, explain: explain), planned: result) {
            try AWSLibrary.settle(inv, intent, readBack: {
                guard let t = try inv.context.wait({ try await c.iam.getRolePolicy(roleName: role, policyName: name) }),
                      AWSValues.samePolicy(AWSValues.document(t) ?? .null, doc) else { return nil }
                return result
            }) {
                try inv.context.wait { try await c.iam.putRolePolicy(roleName: role, policyName: name, policyDocument: docText) }
                return result
            }
        }
    }

    static let roleDeletePolicy = NativeCommand(Sig("role delete-policy", positionals: [.init("name", "the role's name")],
                                                    keywords: [AWSLibrary.region, policyName],
                                                    summary: "Delete an inline policy of a role (aws iam delete-role-policy); an absent one is left as it is.",
                                                    example: "role delete-policy ack-sagemaker-controller-demo policy-name: SagemakerStudioAccess", isWrite: true)) { inv in
        let role = try inv.args.string(0, "the role name")
        let name = try inv.args.requiredString(keyword: "policy-name")
        let c = AWSClients.of(inv.context).client(region: try AWSLibrary.regionArg(inv))
        let explain = ["aws iam delete-role-policy\(AWSLibrary.iamRegion(c)) --role-name \(shellQuote(role)) --policy-name \(shellQuote(name))"]
        guard let current = try inv.context.wait({ try await c.iam.getRolePolicy(roleName: role, policyName: name) }) else {
            return .null
        }
        let before = AWSValues.document(current) ?? .null
        return try Effects.of(inv.context).write(Change(.delete, kind: "role-inline-policy", name: role, detail: name, before: before, explain: explain), planned: .null) {
            try inv.context.wait { try await c.iam.deleteRolePolicy(roleName: role, policyName: name) }
            return .null
        }
    }

    static let assumeWebIdentity = NativeCommand(Sig("sts assume-role-with-web-identity",
                                                     keywords: [AWSLibrary.region,
                                                                .init("role-arn", required: true, flags: ["--role-arn"], "the role to assume"),
                                                                .init("token", required: true, flags: ["--web-identity-token"], "the web identity token (a service account token)"),
                                                                .init("session-name", flags: ["--role-session-name"], "the session name (default sgk-doctor)")],
                                                     summary: "Try a web identity token on a role (STS AssumeRoleWithWebIdentity, unsigned, as a pod's SDK does). Returns who it became; the credentials' secret parts are never returned.",
                                                     example: "sts assume-role-with-web-identity role-arn: $arn token: (kubectl create token runner -n ml --audience sts.amazonaws.com)")) { inv in
        let arn = try inv.args.requiredString(keyword: "role-arn")
        let token = try inv.args.requiredString(keyword: "token")
        let session = try inv.args.string(keyword: "session-name") ?? "sgk-doctor"
        let c = AWSClients.of(inv.context).client(region: try AWSLibrary.regionArg(inv))
        let r = try inv.context.wait { try await c.sts.assumeRoleWithWebIdentity(roleARN: arn, sessionName: session, webIdentityToken: token) }
        return .ordered([
            ("AssumedRoleUser", .ordered([("Arn", .string(r.assumedRoleARN)), ("AssumedRoleId", .string(r.assumedRoleID))])),
            ("AccessKeyId", .string(r.credentials.accessKeyID)),
            ("Expiration", r.credentials.expiration.map { .string(SigV4Time.iso8601($0)) } ?? .null),
        ])
    }

    /// The claims of a JWT (its payload, base64url JSON), not verified: what a token says it is.
    static let jwtClaims = NativeCommand(Sig("jwt claims", positionals: [.init("token", "a JSON Web Token (header.payload.signature)")],
                                             summary: "The claims of a JSON Web Token (iss, sub, aud, exp, …), decoded and not verified; the token itself is never printed.",
                                             example: "jwt claims (kubectl create token runner -n ml) | get sub")) { inv in
        let token = try inv.args.string(0, "the token").trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw CommandError("not a JSON Web Token: it has \(parts.count) dot-separated part(s), not 3", code: "InvalidToken", argument: .positional(0))
        }
        var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        b64 += String(repeating: "=", count: (4 - b64.count % 4) % 4)
        guard let data = Data(base64Encoded: b64) else {
            throw CommandError("not a JSON Web Token: its payload is not base64url", code: "InvalidToken", argument: .positional(0))
        }
        let json: JSON
        do { json = try JSONCodec.parse(String(decoding: data, as: UTF8.self)) } catch {
            throw CommandError("not a JSON Web Token: its payload is not JSON", code: "InvalidToken", argument: .positional(0))
        }
        return Value(json: json)
    }
}
