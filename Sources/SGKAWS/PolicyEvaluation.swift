import Foundation
import OrderedCollections
import SGKData

// IAM policy evaluation, as the IAM User Guide describes it ("Policy evaluation logic", "IAM JSON
// policy elements", "Condition operators", "Single-valued vs. multivalued context keys"), for one
// request against one or more policy documents — a role's trust policy, or identity policies.
// It sees only the documents it is given: no SCPs, permissions boundaries, session policies or
// resource policies. Pure: no AWS call, no language types.

/// One request to evaluate: who (for a trust policy), which action, on which resource, with which
/// context keys (e.g. `oidc.eks.us-west-2.amazonaws.com/id/X:sub`).
public struct PolicyRequest: Sendable, Equatable {
    public enum PrincipalType: String, Sendable, CaseIterable {
        case federated = "Federated", service = "Service", aws = "AWS"
    }

    public struct Principal: Sendable, Equatable {
        public var type: PrincipalType
        public var id: String
        public init(_ type: PrincipalType, _ id: String) { self.type = type; self.id = id }
    }

    public var action: String
    /// The resource's ARN; nil asks whether the action is allowed on some resource (see `PolicyEvaluator`).
    public var resource: String?
    public var principal: Principal?
    /// Context keys (matched case-insensitively) to their values: one value, or several for a
    /// multivalued key. A key with no values is absent.
    public var context: [String: [String]]

    public init(action: String, resource: String? = nil, principal: Principal? = nil, context: [String: [String]] = [:]) {
        self.action = action; self.resource = resource; self.principal = principal; self.context = context
    }
}

public enum PolicyDecision: String, Sendable {
    case allow = "Allow", explicitDeny = "ExplicitDeny", implicitDeny = "ImplicitDeny"
}

/// Which statement: the document's index among those evaluated, the statement's index in its
/// document's `Statement` (0 for a lone statement map), its `Sid` and `Effect`.
public struct PolicyStatementRef: Sendable, Equatable {
    public var policy: Int
    public var index: Int
    public var sid: String?
    public var effect: String

    /// `Statement[1] (Sid "X", Deny)`, with `policy 2 ` before it when there are several documents.
    func describe(documents: Int) -> String {
        (documents > 1 ? "policy \(policy) " : "") + "Statement[\(index)] (" + (sid.map { "Sid \"\($0)\", " } ?? "") + effect + ")"
    }
}

/// A statement that did not apply, and the first reason why.
public struct PolicyMiss: Sendable, Equatable {
    public var statement: PolicyStatementRef
    public var reason: String
}

/// Something in a document that is likely a mistake, whatever the request (e.g. a wildcard under `StringEquals`).
public struct PolicyFinding: Sendable, Equatable {
    public var statement: PolicyStatementRef
    public var key: String
    public var message: String
}

public struct PolicyEvaluation: Sendable, Equatable {
    public var decision: PolicyDecision
    /// The statements that applied to the request, Allow and Deny.
    public var matched: [PolicyStatementRef]
    /// The statements that did not apply (or could not be evaluated), each with its first reason.
    public var reasons: [PolicyMiss]
    public var findings: [PolicyFinding]
    /// What the evaluator could not decide and left out of the decision (a statement that uses an
    /// unsupported operator, an unresolved policy variable, a malformed element), one line each.
    public var unsupported: [String]
    public var allowed: Bool { decision == .allow }
}

public enum PolicyEvaluator {
    /// IAM's default quota for a role's trust policy, in characters (without white space).
    public static let trustPolicyLimit = 2048

    /// What makes `doc` unusable as a policy document at all (not an object, no `Statement`), or nil.
    public static func documentProblem(_ doc: JSON) -> String? {
        guard case .object(let top) = doc else { return "a policy document must be a JSON object with a Statement" }
        switch top["Statement"] {
        case nil: return "the policy document has no Statement"
        case .object?: return nil
        case .array(let a)?: return a.isEmpty ? "the policy document's Statement is an empty list" : nil
        default: return "the policy document's Statement must be an object or a list of objects"
        }
    }

    /// Evaluates `request` against every statement of `documents` as IAM does: an explicit Deny
    /// wins; else an Allow allows; else the request is implicitly denied.
    ///
    /// Without `request.resource`, the question is whether the action is allowed on some resource:
    /// the `Resource`/`NotResource` of an Allow statement is taken to match, and a Deny applies only
    /// when its `Resource` holds `*`.
    public static func evaluate(_ documents: [JSON], _ request: PolicyRequest) -> PolicyEvaluation {
        var context: [String: [String]] = [:]
        for (k, v) in request.context where !v.isEmpty { context[k.lowercased(), default: []] += v }
        var matched: [PolicyStatementRef] = []
        var reasons: [PolicyMiss] = []
        var unsupported: [String] = []
        var allow = false
        var deny = false
        for (p, doc) in documents.enumerated() {
            if let problem = documentProblem(doc) {
                unsupported.append((documents.count > 1 ? "policy \(p): " : "") + problem + "; it was not evaluated")
                continue
            }
            let variables = doc["Version"]?.stringValue == "2012-10-17"
            for (i, st) in statements(doc).enumerated() {
                let ref = PolicyStatementRef(policy: p, index: i, sid: st["Sid"]?.stringValue, effect: st["Effect"]?.stringValue ?? "(no Effect)")
                let s = StatementEvaluation(statement: st, request: request, context: context, variables: variables)
                switch s.outcome() {
                case .match:
                    matched.append(ref)
                    if ref.effect == "Deny" { deny = true } else { allow = true }
                case .miss(let why):
                    reasons.append(PolicyMiss(statement: ref, reason: why))
                case .unknown(let why):
                    reasons.append(PolicyMiss(statement: ref, reason: "not evaluated: " + why))
                    unsupported.append("\(ref.describe(documents: documents.count)): \(why); the decision leaves it out")
                }
            }
        }
        let decision: PolicyDecision = deny ? .explicitDeny : allow ? .allow : .implicitDeny
        return PolicyEvaluation(decision: decision, matched: matched, reasons: reasons, findings: findings(documents), unsupported: unsupported)
    }

    /// Mistakes in the documents whatever the request: `*` or `?` under a `StringEquals`-type
    /// operator (they are wildcards only under `StringLike`: this matches the literal text), and
    /// condition operators IAM does not know.
    public static func findings(_ documents: [JSON]) -> [PolicyFinding] {
        var out: [PolicyFinding] = []
        for (p, doc) in documents.enumerated() where documentProblem(doc) == nil {
            for (i, st) in statements(doc).enumerated() {
                guard case .object(let conditions)? = st["Condition"] else { continue }
                let ref = PolicyStatementRef(policy: p, index: i, sid: st["Sid"]?.stringValue, effect: st["Effect"]?.stringValue ?? "(no Effect)")
                for (opName, body) in conditions {
                    let op = ConditionOperator(opName)
                    guard op.kind != .unknown else {
                        out.append(PolicyFinding(statement: ref, key: opName,
                                                 message: "\(opName) is not an IAM condition operator: IAM rejects the policy (did you mean \(ConditionOperator.suggestion(opName))?)"))
                        continue
                    }
                    guard op.kind == .stringEquals, case .object(let keys) = body else { continue }
                    for (key, values) in keys {
                        let literal = listOfValues(values).compactMap(\.conditionText).first { v in
                            let plain = v.replacingOccurrences(of: "${*}", with: "").replacingOccurrences(of: "${?}", with: "")
                            return plain.contains("*") || plain.contains("?")
                        }
                        guard let literal else { continue }
                        let like = opName.replacingOccurrences(of: "StringEqualsIgnoreCase", with: "StringLike", options: .caseInsensitive)
                            .replacingOccurrences(of: "StringNotEqualsIgnoreCase", with: "StringNotLike", options: .caseInsensitive)
                            .replacingOccurrences(of: "StringNotEquals", with: "StringNotLike", options: .caseInsensitive)
                            .replacingOccurrences(of: "StringEquals", with: "StringLike", options: .caseInsensitive)
                        out.append(PolicyFinding(statement: ref, key: key,
                                                 message: "\(opName) compares \(key) with the literal text \"\(literal)\": * and ? are wildcards only under StringLike, so this matches only that exact text; use \(like)"))
                    }
                }
            }
        }
        return out
    }

    /// The length IAM counts against its quotas for a policy document given as JSON text: its
    /// characters without the white space between JSON tokens ("IAM does not count white space").
    /// White space inside a string value counts.
    public static func size(text: String) -> Int {
        var n = 0
        var inString = false
        var escaped = false
        for c in text.unicodeScalars {
            if inString {
                n += 1
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else {
                switch c {
                case " ", "\t", "\n", "\r": continue
                case "\"": inString = true; n += 1
                default: n += 1
                }
            }
        }
        return n
    }

    /// The length IAM counts for a document given as a tree: that of its compact JSON.
    public static func size(_ doc: JSON) -> Int { size(text: JSONCodec.serialize(doc, pretty: false)) }

    static func statements(_ doc: JSON) -> [JSON] {
        switch doc["Statement"] {
        case .array(let a)?: return a
        case let s?: return [s]
        case nil: return []
        }
    }

    /// A string-or-list element as its items.
    static func listOfValues(_ v: JSON) -> [JSON] {
        if case .array(let a) = v { return a }
        return [v]
    }
}

extension JSON {
    /// A scalar as text (condition values may be written as numbers or bools), else nil.
    var conditionText: String? {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        default: return nil
        }
    }
}

// MARK: one statement

enum Outcome: Equatable {
    case match
    case miss(String)
    case unknown(String)
}

struct StatementEvaluation {
    let statement: JSON
    let request: PolicyRequest
    /// Lower-cased keys.
    let context: [String: [String]]
    /// Policy variables are read (Version 2012-10-17); otherwise `${…}` is literal text.
    let variables: Bool

    func outcome() -> Outcome {
        guard case .object(let s) = statement else { return .unknown("the statement is not a JSON object") }
        guard let effect = s["Effect"]?.stringValue else { return .unknown("the statement has no Effect") }
        guard effect == "Allow" || effect == "Deny" else { return .unknown("Effect \"\(effect)\" is neither Allow nor Deny") }
        for step in [principal, action, resource, condition] {
            let o = step(s, effect)
            if o != .match { return o }
        }
        return .match
    }

    // MARK: Principal

    func principal(_ s: OrderedDictionary<String, JSON>, _ effect: String) -> Outcome {
        let element: String
        let value: JSON
        if let v = s["Principal"] { element = "Principal"; value = v } else if let v = s["NotPrincipal"] { element = "NotPrincipal"; value = v } else {
            return .match   // an identity policy: the principal is the identity it is attached to
        }
        guard let p = request.principal else { return .miss("\(element): the request names no principal") }
        let found: Outcome
        switch value {
        case .string("*"):
            found = .match
        case .object(let types):
            guard let entry = types.first(where: { $0.key == p.type.rawValue }) else {
                let named = types.map { "\($0.key): " + PolicyEvaluator.listOfValues($0.value).compactMap(\.conditionText).joined(separator: ", ") }.joined(separator: "; ")
                found = .miss("\(element) names no \(p.type.rawValue) principal (it names \(named.isEmpty ? "none" : named))")
                break
            }
            let ids = PolicyEvaluator.listOfValues(entry.value)
            var texts: [String] = []
            for id in ids {
                guard let t = id.stringValue else { return .unknown("\(element) \(p.type.rawValue) holds \(JSONCodec.serialize(id)), not a string") }
                texts.append(t)
            }
            found = texts.contains { principalMatches(pattern: $0, p) } ? .match
                : .miss("\(element) \(p.type.rawValue) \(p.id) is not \(Self.oneOf(texts))")
        default:
            return .unknown("\(element) must be \"*\" or a map of principal types")
        }
        if element == "Principal" { return found }
        switch found {
        case .match: return .miss("NotPrincipal excludes \(p.type.rawValue) \(p.id)")
        case .miss: return .match
        case .unknown: return found
        }
    }

    func principalMatches(pattern: String, _ p: PolicyRequest.Principal) -> Bool {
        if pattern == "*" { return true }
        switch p.type {
        case .service: return pattern.lowercased() == p.id.lowercased()
        case .federated: return pattern == p.id
        case .aws:
            if pattern == p.id { return true }
            // An account (its id, or its root ARN) stands for every principal of that account.
            let account: String?
            if pattern.count == 12, pattern.allSatisfy(\.isNumber) {
                account = pattern
            } else {
                let parts = pattern.split(separator: ":", omittingEmptySubsequences: false)
                account = parts.count == 6 && parts[2] == "iam" && parts[5] == "root" ? String(parts[4]) : nil
            }
            guard let account else { return false }
            let theirs = p.id.count == 12 && p.id.allSatisfy(\.isNumber) ? p.id : p.id.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first.map(String.init)
            return theirs == account
        }
    }

    // MARK: Action

    func action(_ s: OrderedDictionary<String, JSON>, _ effect: String) -> Outcome {
        let element: String
        let value: JSON
        if let v = s["Action"] { element = "Action"; value = v } else if let v = s["NotAction"] { element = "NotAction"; value = v } else {
            return .unknown("the statement has no Action or NotAction")
        }
        var patterns: [String] = []
        for a in PolicyEvaluator.listOfValues(value) {
            guard let t = a.stringValue else { return .unknown("\(element) holds \(JSONCodec.serialize(a)), not a string") }
            patterns.append(t)
        }
        let hit = patterns.first { Wildcard.matches(Wildcard.tokens($0, glob: true), request.action, ignoreCase: true) }
        if element == "Action" {
            return hit != nil ? .match : .miss("Action \(request.action) does not match \(Self.oneOf(patterns))")
        }
        return hit.map { .miss("NotAction excludes \(request.action) (it matches \($0))") } ?? .match
    }

    // MARK: Resource

    func resource(_ s: OrderedDictionary<String, JSON>, _ effect: String) -> Outcome {
        let element: String
        let value: JSON
        if let v = s["Resource"] { element = "Resource"; value = v } else if let v = s["NotResource"] { element = "NotResource"; value = v } else {
            return .match
        }
        var raw: [String] = []
        for r in PolicyEvaluator.listOfValues(value) {
            guard let t = r.stringValue else { return .unknown("\(element) holds \(JSONCodec.serialize(r)), not a string") }
            raw.append(t)
        }
        guard let arn = request.resource else {
            // Is the action allowed on some resource? An Allow covers some; a Deny only when it covers all.
            if effect == "Allow" { return .match }
            return element == "Resource" && raw.contains("*") ? .match
                : .miss("\(element) \(Self.oneOf(raw)): the request names no resource, and this Deny does not cover every resource")
        }
        var unknown: String?
        var hit: String?
        for r in raw {
            switch resolve(r, glob: true) {
            case .success(let tokens):
                if Wildcard.matches(tokens, arn, ignoreCase: false, arn: true) { hit = r }
            case .failure(let why):
                unknown = unknown ?? why.text
            }
            if hit != nil { break }
        }
        if element == "Resource" {
            if hit != nil { return .match }
            if let unknown { return .unknown(unknown) }
            return .miss("Resource \(arn) does not match \(Self.oneOf(raw))")
        }
        if let hit { return .miss("NotResource excludes \(arn) (it matches \(hit))") }
        if let unknown { return .unknown(unknown) }
        return .match
    }

    // MARK: Condition

    func condition(_ s: OrderedDictionary<String, JSON>, _ effect: String) -> Outcome {
        guard let c = s["Condition"] else { return .match }
        guard case .object(let ops) = c else { return .unknown("Condition must be a map of operators") }
        var unknown: String?
        for (opName, body) in ops {
            let op = ConditionOperator(opName)
            guard case .object(let keys) = body else {
                unknown = unknown ?? "Condition \(opName) must be a map of condition keys"
                continue
            }
            switch op.kind {
            case .unknown:
                unknown = unknown ?? "unknown condition operator \(opName)"
                continue
            case .unsupported:
                unknown = unknown ?? "sgk does not evaluate the condition operator \(opName)"
                continue
            default: break
            }
            for (key, values) in keys {
                switch evaluate(op, opName, key, values) {
                case .match: continue
                case .miss(let why): return .miss(why)   // a false condition decides, whatever the others are
                case .unknown(let why): unknown = unknown ?? why
                }
            }
        }
        return unknown.map(Outcome.unknown) ?? .match
    }

    func evaluate(_ op: ConditionOperator, _ opName: String, _ key: String, _ values: JSON) -> Outcome {
        let head = "Condition \(opName) \(key)"
        var policyValues: [String] = []
        for v in PolicyEvaluator.listOfValues(values) {
            guard let t = v.conditionText else { return .unknown("\(head): \(JSONCodec.serialize(v)) is not a string, number or bool") }
            policyValues.append(t)
        }
        let present = context[key.lowercased()]
        if op.kind == .null {
            var wantAbsent: [Bool] = []
            for v in policyValues {
                switch v.lowercased() {
                case "true": wantAbsent.append(true)
                case "false": wantAbsent.append(false)
                default: return .unknown("\(head): Null takes true or false, not \(v)")
                }
            }
            if wantAbsent.contains(present == nil) { return .match }
            return .miss(present == nil ? "\(head): the request has no \(key), and false asks for it"
                                        : "\(head): the request has \(key), and true asks that it be absent")
        }
        guard let requestValues = present else {
            if op.ifExists { return .match }
            switch op.set {
            case .forAll: return .match
            case .forAny: return .miss("\(head): the request has no \(key) (ForAnyValue is false for a missing key)")
            case .none: return op.negated ? .match : .miss("\(head): the request has no \(key)")
            }
        }
        // The policy's values, resolved once: a value whose variable cannot be read leaves the condition unknown.
        var compiled: [(text: String, tokens: [Wildcard.Token])] = []
        var unresolved: String?
        for v in policyValues {
            switch resolve(v, glob: op.kind == .stringLike || op.kind == .arn, variables: op.kind == .stringEquals || op.kind == .stringLike || op.kind == .arn) {
            case .success(let t): compiled.append((v, t))
            case .failure(let why): unresolved = unresolved ?? why.text
            }
        }
        // Does one request value match one of the (positive) operator's values?
        var bad: String?
        func hits(_ r: String) -> String? {
            for (text, tokens) in compiled {
                switch op.kind {
                case .stringEquals:
                    if Wildcard.literal(tokens).map({ op.ignoreCase ? $0.lowercased() == r.lowercased() : $0 == r }) == true { return text }
                case .stringLike:
                    if Wildcard.matches(tokens, r, ignoreCase: false) { return text }
                case .arn:
                    if Wildcard.matches(tokens, r, ignoreCase: false, arn: true) { return text }
                case .bool:
                    if text.lowercased() == r.lowercased() { return text }
                case .numeric(let cmp):
                    guard let a = Double(r), let b = Double(text) else {
                        if Double(text) == nil { bad = bad ?? "\(head): \(text) is not a number" }
                        continue
                    }
                    if cmp.holds(a, b) { return text }
                default: break
                }
            }
            return nil
        }
        // A value satisfies the condition: matches one of the values, or (negated) none of them.
        func satisfies(_ r: String) -> Bool { (hits(r) != nil) != op.negated }
        let ok: Bool
        switch op.set {
        case .forAll: ok = requestValues.allSatisfy(satisfies)
        case .forAny: ok = requestValues.contains(where: satisfies)
        case .none: ok = op.negated ? requestValues.allSatisfy(satisfies) : requestValues.contains(where: satisfies)
        }
        if let bad { return .unknown(bad) }
        if ok { return .match }
        if let unresolved { return .unknown(unresolved) }
        // The first reason, in words.
        let shown = requestValues.count == 1 ? requestValues[0] : "[" + requestValues.joined(separator: ", ") + "]"
        if op.negated {
            let culprit = requestValues.first { !satisfies($0) } ?? requestValues[0]
            let which = hits(culprit) ?? ""
            let verb = op.kind == .stringLike || op.kind == .arn ? "matches" : "is"
            return .miss("\(head): \(culprit) \(verb) \(which), which it excludes")
        }
        let verb: String
        switch op.kind {
        case .stringLike, .arn: verb = "does not match"
        case .numeric(let cmp): verb = "is not \(cmp.words)"
        default: verb = "is not"
        }
        let target = Self.oneOf(policyValues)
        switch op.set {
        case .forAll:
            let culprit = requestValues.first { !satisfies($0) } ?? shown
            return .miss("\(head): \(culprit) (a value of the request's \(shown)) \(verb) \(target)")
        case .forAny, .none:
            return .miss("\(head): \(shown) \(verb) \(target)")
        }
    }

    // MARK: policy variables

    struct Unresolved: Error { let text: String }

    /// A policy string as pattern tokens: `*` and `?` are wildcards when `glob`; `${key}` and
    /// `${key, 'default'}` are read from the request's context (Version 2012-10-17 only), `${*}`,
    /// `${?}` and `${$}` are those characters, literally.
    func resolve(_ s: String, glob: Bool, variables: Bool = true) -> Result<[Wildcard.Token], Unresolved> {
        guard self.variables && variables, s.contains("${") else { return .success(Wildcard.tokens(s, glob: glob)) }
        var out: [Wildcard.Token] = []
        var rest = Substring(s)
        while let open = rest.range(of: "${") {
            out += Wildcard.tokens(String(rest[..<open.lowerBound]), glob: glob)
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                out += Wildcard.tokens(String(rest[open.lowerBound...]), glob: glob)
                return .success(out)
            }
            let inner = rest[open.upperBound..<close].trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: close)...]
            if inner == "*" || inner == "?" || inner == "$" {
                out += inner.unicodeScalars.map(Wildcard.Token.char)
                continue
            }
            var name = inner
            var fallback: String?
            if let comma = inner.firstIndex(of: ",") {
                name = inner[..<comma].trimmingCharacters(in: .whitespaces)
                let d = inner[inner.index(after: comma)...].trimmingCharacters(in: .whitespaces)
                if d.count >= 2, d.hasPrefix("'"), d.hasSuffix("'") { fallback = String(d.dropFirst().dropLast()) }
            }
            let values = context[name.lowercased()]
            if let values, values.count == 1 {
                out += values[0].unicodeScalars.map(Wildcard.Token.char)
            } else if values == nil, let fallback {
                out += fallback.unicodeScalars.map(Wildcard.Token.char)
            } else if let values {
                return .failure(Unresolved(text: "the policy variable ${\(name)} has \(values.count) values in the request; a variable takes one"))
            } else {
                return .failure(Unresolved(text: "the policy variable ${\(name)} is not in the request's context (pass it in context:)"))
            }
        }
        out += Wildcard.tokens(String(rest), glob: glob)
        return .success(out)
    }

    /// `x`, or `any of x, y`.
    static func oneOf(_ values: [String]) -> String {
        values.count == 1 ? values[0] : "any of " + values.joined(separator: ", ")
    }
}


// MARK: condition operators

struct ConditionOperator {
    enum SetQualifier { case none, forAll, forAny }

    enum Comparison: Equatable {
        case eq, lt, le, gt, ge
        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .eq: return a == b
            case .lt: return a < b
            case .le: return a <= b
            case .gt: return a > b
            case .ge: return a >= b
            }
        }
        var words: String {
            switch self {
            case .eq: return "equal to"
            case .lt: return "less than"
            case .le: return "at most"
            case .gt: return "greater than"
            case .ge: return "at least"
            }
        }
    }

    enum Kind: Equatable {
        case stringEquals, stringLike, arn, bool, null, numeric(Comparison)
        /// An IAM operator sgk does not evaluate (dates, IP addresses, binary).
        case unsupported
        /// Not an IAM operator.
        case unknown
    }

    var set = SetQualifier.none
    var kind = Kind.unknown
    var negated = false
    var ignoreCase = false
    var ifExists = false

    /// The operators IAM documents, by their lower-cased names (without ForAllValues:/ForAnyValue: and IfExists).
    static let known: [String: (Kind, negated: Bool, ignoreCase: Bool)] = {
        var m: [String: (Kind, negated: Bool, ignoreCase: Bool)] = [
            "stringequals": (.stringEquals, false, false), "stringnotequals": (.stringEquals, true, false),
            "stringequalsignorecase": (.stringEquals, false, true), "stringnotequalsignorecase": (.stringEquals, true, true),
            "stringlike": (.stringLike, false, false), "stringnotlike": (.stringLike, true, false),
            "arnequals": (.arn, false, false), "arnlike": (.arn, false, false), "arnnotequals": (.arn, true, false), "arnnotlike": (.arn, true, false),
            "bool": (.bool, false, false), "null": (.null, false, false),
            "numericequals": (.numeric(.eq), false, false), "numericnotequals": (.numeric(.eq), true, false),
            "numericlessthan": (.numeric(.lt), false, false), "numericlessthanequals": (.numeric(.le), false, false),
            "numericgreaterthan": (.numeric(.gt), false, false), "numericgreaterthanequals": (.numeric(.ge), false, false),
        ]
        for u in ["dateequals", "datenotequals", "datelessthan", "datelessthanequals", "dategreaterthan", "dategreaterthanequals",
                  "ipaddress", "notipaddress", "binaryequals"] {
            m[u] = (.unsupported, false, false)
        }
        return m
    }()

    static let names = ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
                        "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Bool", "Null", "NumericEquals", "NumericNotEquals",
                        "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
                        "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
                        "IpAddress", "NotIpAddress", "BinaryEquals"]

    init(_ name: String) {
        var n = Substring(name.lowercased())
        if n.hasPrefix("forallvalues:") { set = .forAll; n = n.dropFirst("forallvalues:".count) } else if n.hasPrefix("foranyvalue:") {
            set = .forAny; n = n.dropFirst("foranyvalue:".count)
        }
        if n.hasSuffix("ifexists") { ifExists = true; n = n.dropLast("ifexists".count) }
        guard let k = Self.known[String(n)], !(ifExists && k.0 == .null) else { kind = .unknown; return }
        kind = k.0; negated = k.negated; ignoreCase = k.ignoreCase
    }

    /// The documented operator nearest to a misspelt one (with its qualifier and suffix kept).
    static func suggestion(_ name: String) -> String {
        var prefix = ""
        var base = Substring(name)
        for q in ["ForAllValues:", "ForAnyValue:"] where base.lowercased().hasPrefix(q.lowercased()) {
            prefix = q; base = base.dropFirst(q.count)
        }
        var suffix = ""
        if base.lowercased().hasSuffix("ifexists") { suffix = "IfExists"; base = base.dropLast(8) }
        let best = names.min { editDistance($0.lowercased(), base.lowercased()) < editDistance($1.lowercased(), base.lowercased()) } ?? "StringEquals"
        return prefix + best + (best == "Null" ? "" : suffix)
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var prev = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}

// MARK: wildcards

/// IAM's `*` (any run of characters) and `?` (any one character).
enum Wildcard {
    enum Token: Equatable {
        case char(Unicode.Scalar)
        case star
        case one
    }

    static func tokens(_ s: String, glob: Bool) -> [Token] {
        s.unicodeScalars.map { c in
            guard glob else { return .char(c) }
            switch c {
            case "*": return .star
            case "?": return .one
            default: return .char(c)
            }
        }
    }

    /// The text of tokens without wildcards.
    static func literal(_ tokens: [Token]) -> String? {
        var s = String.UnicodeScalarView()
        for t in tokens {
            guard case .char(let c) = t else { return nil }
            s.append(c)
        }
        return String(s)
    }

    /// Whether `text` matches the pattern. With `arn`, as IAM matches ARNs (Resource, Arn…
    /// operators): within the first five colon-separated segments, a wildcard does not match `:`
    /// unless it is a `*` that ends its segment (it "can expand to match beyond the colon
    /// boundaries"); in the resource segment it matches anything.
    static func matches(_ pattern: [Token], _ text: String, ignoreCase: Bool, arn: Bool = false) -> Bool {
        let p: [Token] = ignoreCase
            ? pattern.flatMap { t -> [Token] in
                if case .char(let c) = t { return String(c).lowercased().unicodeScalars.map(Token.char) }
                return [t]
            }
            : pattern
        let t = Array((ignoreCase ? text.lowercased() : text).unicodeScalars)
        if let lit = literal(p) { return Array(lit.unicodeScalars) == t }
        // Which wildcards may match a colon.
        var spans = [Bool](repeating: true, count: p.count)
        if arn {
            var colons = 0
            for (i, tok) in p.enumerated() {
                switch tok {
                case .char(":"): colons += 1
                case .star: spans[i] = colons >= 5 || i + 1 == p.count || p[i + 1] == .char(":")
                case .one: spans[i] = colons >= 5
                default: break
                }
            }
        }
        let n = t.count
        var prev = [Bool](repeating: false, count: n + 1)
        prev[0] = true
        for (i, tok) in p.enumerated() {
            var cur = [Bool](repeating: false, count: n + 1)
            switch tok {
            case .star:
                cur[0] = prev[0]
                for j in stride(from: 1, through: n, by: 1) { cur[j] = prev[j] || (cur[j - 1] && (spans[i] || t[j - 1] != ":")) }
            case .one:
                for j in stride(from: 1, through: n, by: 1) { cur[j] = prev[j - 1] && (spans[i] || t[j - 1] != ":") }
            case .char(let c):
                for j in stride(from: 1, through: n, by: 1) { cur[j] = prev[j - 1] && t[j - 1] == c }
            }
            prev = cur
        }
        return prev[n]
    }
}
