import SGKData

/// IAM's documented constraints on names and policy documents, checked before a write so that
/// a mistake is reported with its cause — and caught by a dry run, which sends no write — rather
/// than left to the service (or accepted by a local emulator that does not check them).
public enum IAMValidation {
    /// A role name: 1–64 characters of letters, digits and `+=,.@_-` (IAM's `[\w+=,.@-]+`).
    public static func roleNameProblem(_ name: String) -> String? {
        nameProblem(name, what: "a role name", max: 64)
    }

    /// A managed or inline policy name: 1–128 characters of letters, digits and `+=,.@_-`.
    public static func policyNameProblem(_ name: String) -> String? {
        nameProblem(name, what: "a policy name", max: 128)
    }

    static func nameProblem(_ name: String, what: String, max: Int) -> String? {
        if name.isEmpty { return "\(what) cannot be empty" }
        if name.unicodeScalars.count > max { return "\(what) has at most \(max) characters; \"\(name)\" has \(name.unicodeScalars.count)" }
        if let bad = name.unicodeScalars.first(where: { !allowed($0) }) {
            return "\(what) may hold only letters, digits and + = , . @ _ -; \"\(name)\" holds \(describe(bad))"
        }
        return nil
    }

    static func allowed(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "+", "=", ",", ".", "@", "_", "-": return true
        default: return false
        }
    }

    static func describe(_ c: Unicode.Scalar) -> String {
        switch c {
        case " ": return "a space"
        case "\t": return "a tab"
        case "/": return "\"/\" (a path goes in path:, not in the name)"
        default: return "\"\(c)\""
        }
    }

    /// What is wrong with a policy document's structure, as IAM's MalformedPolicyDocument would
    /// say it, or nil: a `Statement` (one or a list) whose every statement has an `Effect` of
    /// Allow or Deny and an `Action`/`NotAction`; a trust policy's statements name a
    /// `Principal`/`NotPrincipal`, a permissions policy's a `Resource`/`NotResource` and no
    /// principal. `Version`, when given, is 2012-10-17 or 2008-10-17.
    public static func policyDocumentProblem(_ doc: JSON, trust: Bool) -> String? {
        guard case .object(let top) = doc else { return "the document must be a JSON object with a Statement" }
        if let v = top["Version"] {
            guard case .string(let s) = v, s == "2012-10-17" || s == "2008-10-17" else {
                return "Version must be \"2012-10-17\" (or the older \"2008-10-17\")"
            }
        }
        let statements: [JSON]
        switch top["Statement"] {
        case nil: return "the document has no Statement"
        case .object?: statements = [top["Statement"]!]
        case .array(let a)?:
            if a.isEmpty { return "Statement is an empty list" }
            statements = a
        default: return "Statement must be an object or a list of objects"
        }
        for (i, st) in statements.enumerated() {
            let which = statements.count == 1 ? "the statement" : "statement \(i + 1)"
            guard case .object(let s) = st else { return "\(which) is not an object" }
            guard case .string(let effect)? = s["Effect"] else { return "\(which) has no Effect (Allow or Deny)" }
            if effect != "Allow" && effect != "Deny" { return "\(which) has Effect \"\(effect)\", not Allow or Deny" }
            if s["Action"] == nil && s["NotAction"] == nil { return "\(which) has no Action" }
            let principal = s["Principal"] != nil || s["NotPrincipal"] != nil
            if trust {
                if !principal { return "\(which) of the trust policy names no Principal" }
            } else {
                if principal { return "\(which) names a Principal, which a permissions policy cannot" }
                if s["Resource"] == nil && s["NotResource"] == nil { return "\(which) has no Resource" }
            }
        }
        return nil
    }
}
