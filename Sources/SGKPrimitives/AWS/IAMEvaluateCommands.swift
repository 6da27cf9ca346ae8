import Foundation
import OrderedCollections
import SGKAWS
import SGKData
import SGKLanguage

/// `iam evaluate` and `iam policy-size`: IAM policy evaluation and size, computed here (no AWS call).
extension AWSLibrary {
    static let iamEvaluate = NativeCommand(Sig(
        "iam evaluate",
        positionals: [.init("policy", "a policy document (a map or JSON text), or a list of them")],
        keywords: [.init("action", required: true, flags: ["--action"], "the action, e.g. sts:AssumeRoleWithWebIdentity"),
                   .init("resource", flags: ["--resource"], "the resource's ARN (without it: is the action allowed on some resource?)"),
                   .init("principal", "who asks (trust policies): {Federated: ARN}, {Service: NAME} or {AWS: ARN}"),
                   .init("context", "the request's condition keys: {key: value or [values]}")],
        summary: "Evaluate IAM policy documents for one request, as IAM would (no AWS call): {decision, allowed, matched, reasons, findings, unsupported}.",
        example: "iam evaluate $role.AssumeRolePolicyDocument action: sts:AssumeRoleWithWebIdentity principal: {Federated: $provider.Arn} context: {\"${host}:sub\": \"system:serviceaccount:ml:runner\", \"${host}:aud\": \"sts.amazonaws.com\"}")) { inv in
        guard let policyArg = inv.args.positional(0) else { throw CommandError("missing POLICY: a policy document (a map or JSON text) or a list of them", argument: .positional(0)) }
        let several: Bool
        let documents: [JSON]
        if case .list(let items) = policyArg {
            guard !items.isEmpty else { throw CommandError("POLICY is an empty list: give at least one policy document", argument: .positional(0)) }
            several = true
            documents = try items.enumerated().map { i, v in try policyJSON(v, "POLICY[\(i)]") }
        } else {
            several = false
            documents = [try policyJSON(policyArg, "POLICY")]
        }
        let request = PolicyRequest(action: try inv.args.requiredString(keyword: "action"), resource: try inv.args.string(keyword: "resource"),
                                    principal: try principalArg(inv), context: try contextArg(inv))
        let r = PolicyEvaluator.evaluate(documents, request)
        func ref(_ s: PolicyStatementRef) -> [(String, Value?)] {
            (several ? [("policy", Value.int(s.policy))] : []) + [("sid", s.sid.map(Value.string) ?? .null), ("index", .int(s.index))]
        }
        return .ordered([
            ("decision", .string(r.decision.rawValue)),
            ("allowed", .bool(r.allowed)),
            ("matched", .list(r.matched.map { .ordered(ref($0) + [("effect", .string($0.effect))]) })),
            ("reasons", .list(r.reasons.map { .ordered(ref($0.statement) + [("effect", .string($0.statement.effect)), ("reason", .string($0.reason))]) })),
            ("findings", .list(r.findings.map { .ordered(ref($0.statement) + [("key", .string($0.key)), ("message", .string($0.message))]) })),
            ("unsupported", .list(r.unsupported.map(Value.string))),
        ])
    }

    static let iamPolicySize = NativeCommand(Sig(
        "iam policy-size",
        positionals: [.init("policy", "a policy document (a map or JSON text)")],
        summary: "The length IAM counts for a policy document against its quotas: its characters without white space (a role's trust policy: 2,048 by default).",
        example: "let size = iam policy-size $role.AssumeRolePolicyDocument\nif $size > 1800 { print \"the trust policy nears IAM's 2,048-character limit\" }")) { inv in
        guard let v = inv.args.positional(0) else { throw CommandError("missing POLICY: a policy document (a map or JSON text)", argument: .positional(0)) }
        if case .string(let text) = v {
            _ = try policyJSON(v, "POLICY", checked: false)   // JSON text, as IAM takes it
            return .int(PolicyEvaluator.size(text: text))
        }
        return .int(PolicyEvaluator.size(try policyJSON(v, "POLICY", checked: false)))
    }

    /// A policy document argument (a map or JSON text) as JSON; `checked`: with a usable structure.
    static func policyJSON(_ v: Value, _ what: String, checked: Bool = true) throws -> JSON {
        let json: JSON
        switch v {
        case .map: json = v.json
        case .string(let s):
            do { json = try JSONCodec.parse(s) } catch {
                throw CommandError("\(what) is not valid JSON: \(error)", hint: "pass a policy document as a map, or as JSON text", argument: .positional(0))
            }
        default:
            throw CommandError("\(what) must be a policy document (a map or JSON text), not \(v.aTypeName)", argument: .positional(0))
        }
        if checked, let problem = PolicyEvaluator.documentProblem(json) {
            throw CommandError("\(what): \(problem)", code: "MalformedPolicyDocument",
                               hint: "a policy document is {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: …, …}]}", argument: .positional(0))
        }
        return json
    }

    static func principalArg(_ inv: Invocation) throws -> PolicyRequest.Principal? {
        guard let v = inv.args.keyword("principal") else { return nil }
        let hint = "e.g. principal: {Federated: $provider.Arn}, {Service: \"pods.eks.amazonaws.com\"} or {AWS: \"arn:aws:iam::123456789012:role/x\"}"
        guard case .map(let m) = v, m.count == 1, let (key, id) = m.elements.first else {
            throw CommandError("principal: must be a map with one of Federated, Service or AWS", hint: hint, argument: .keyword("principal"))
        }
        guard let type = PolicyRequest.PrincipalType.allCases.first(where: { $0.rawValue.lowercased() == key.lowercased() }) else {
            throw CommandError("principal: '\(key)' is not a principal type: Federated, Service or AWS", hint: hint, argument: .keyword("principal"))
        }
        guard case .string(let s) = id, !s.isEmpty else {
            throw CommandError("principal: \(type.rawValue) must be a string (an ARN or a service name), not \(id.aTypeName)", hint: hint, argument: .keyword("principal"))
        }
        return PolicyRequest.Principal(type, s)
    }

    static func contextArg(_ inv: Invocation) throws -> [String: [String]] {
        guard let v = inv.args.keyword("context") else { return [:] }
        guard case .map(let m) = v else {
            throw CommandError("context: must be a map of condition keys to values, not \(v.aTypeName)",
                               hint: "e.g. context: {\"aws:SourceIp\": \"203.0.113.7\", \"aws:TagKeys\": [\"team\", \"env\"]}", argument: .keyword("context"))
        }
        var out: [String: [String]] = [:]
        for (key, value) in m {
            func scalar(_ x: Value) throws -> String {
                switch x {
                case .string(let s): return s
                case .int, .double, .bool: return x.text
                default: throw CommandError("context: '\(key)' holds \(x.aTypeName): a value is a string, number or bool, or a list of them", argument: .keyword("context"))
                }
            }
            switch value {
            case .null: continue
            case .list(let items): out[key, default: []] += try items.map(scalar)
            default: out[key, default: []].append(try scalar(value))
            }
        }
        return out
    }
}
