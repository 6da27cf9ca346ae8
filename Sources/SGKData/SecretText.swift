import Foundation

/// Whether text looks like it holds a credential: what the REPL keeps out of its history and
/// what error messages and listings show only as "hidden".
public enum SecretText {
    static let secretPatterns: [String] = [
        // An AWS secret access key: 40 base64-ish characters after its name or "secret".
        #"(?i)(aws_secret_access_key|secret_?access_?key|secret[_-]?key|secret)["']?\s*[:=]?\s*["']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"#,
        // A bearer token.
        #"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"#,
        // An EKS token (what `aws eks get-token` returns).
        #"k8s-aws-v1\.[A-Za-z0-9_=-]*"#,
        // A JWT (service-account tokens, OIDC id tokens).
        #"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}"#,
        // A session token, by name or by the prefixes STS gives them.
        #"(?i)(aws_session_token|session[_-]?token|security[_-]?token|x-amz-security-token)["']?\s*[:=]?\s*["']?[A-Za-z0-9/+=]{16,}"#,
        #"(IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]*"#,
        // Passwords given inline, or in a URL's user info.
        #"(?i)(password|passwd)["']?\s*[:=]\s*\S+"#,
        #"://[^/\s:@"']+:[^/\s@"']+@"#,
        // A bare AWS secret access key: 40 base64 characters of both cases.
        #"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"#,
        // A Secret manifest with its values.
        #"kind"?\s*:\s*"?Secret\b.*\b(data|stringData)"?\s*:|\b(data|stringData)"?\s*:.*kind"?\s*:\s*"?Secret\b"#,
    ]

    /// Anything that long and base64-ish is a token — but a certificate (base64 of a PEM
    /// `-----BEGIN CERTIFICATE-----`, such as a cluster's CA data) is public.
    static let longToken = #"[A-Za-z0-9/+=_-]{100,}"#
    static let certificatePrefix = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"

    /// True when the text holds something that looks like a credential.
    public static func looksSecret(_ text: String) -> Bool {
        for p in secretPatterns where matches(p, text) { return true }
        if let re = try? NSRegularExpression(pattern: longToken) {
            for m in re.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let r = Range(m.range, in: text), !text[r].hasPrefix(certificatePrefix) { return true }
            }
        }
        // An access key id is recorded only when nothing secret-like is near it.
        if matches(#"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"#, text),
           matches(#"(?i)secret|session|token|(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"#, text) {
            return true
        }
        return false
    }

    /// Text from elsewhere (a credential helper's stderr, a command line) for an error message:
    /// anything shaped like a key or token — a run of 32 or more token characters with digits and
    /// letters of both cases (random keys, base64 tokens, JWTs), or of 64 or more — and the value
    /// after a name that says password, secret, token or key are replaced by `<redacted>`. Names,
    /// paths, ARNs and image references (one case) stay readable.
    public static func mask(_ text: String) -> String {
        var t = text
        if let re = try? NSRegularExpression(pattern: #"[A-Za-z0-9_\-\.+/=]{32,}"#) {
            for m in re.matches(in: t, range: NSRange(t.startIndex..., in: t)).reversed() {
                guard let r = Range(m.range, in: t) else { continue }
                let run = t[r]
                let random = run.contains(where: \.isNumber) && run.contains(where: \.isUppercase) && run.contains(where: \.isLowercase)
                if random || run.count >= 64 { t.replaceSubrange(r, with: "<redacted>") }
            }
        }
        t = t.replacingOccurrences(of: #"(?i)((?:passw(?:or)?d|secret|token|key)[A-Za-z_-]*["']?\s*[:=]\s*["']?)[^\s"',;&]+"#,
                                   with: "$1<redacted>", options: .regularExpression)
        return t
    }

    /// A URL for messages: its user info and its query (passwords, presigned tokens) replaced by
    /// `<redacted>`; `keepQuery` leaves the query (a request's own parameters, already free of
    /// secrets) for a debug log. Read by hand, without Foundation's URL parser (which loads ICU's tables).
    public static func redactedURL(_ url: String, keepQuery: Bool = false) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        var out = String(url[..<schemeEnd.upperBound])
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            out += "<redacted>@" + authority[authority.index(after: at)...]
        } else {
            out += authority
        }
        var tail = rest[authorityEnd...]
        if !keepQuery, let q = tail.firstIndex(of: "?") {
            let fragment = tail[q...].firstIndex(of: "#").map { String(tail[$0...]) } ?? ""
            out += tail[..<q] + "?<redacted>" + fragment
            tail = ""
        }
        return out + tail
    }

    static func matches(_ pattern: String, _ text: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return false }
        return re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Whether a value may be quoted on its own in a message or listing: not when it looks secret,
    /// nor when it has the shape of an AWS secret access key (40 characters of base64, both cases).
    /// `name`, when given, is what the value is called (a variable, a map key): one that says
    /// secret, password or token hides the value too.
    public static func mayShow(_ value: String, name: String? = nil) -> Bool {
        if let name, namesSecret(name) { return false }
        if looksSecret(value) { return false }
        if value.count == 40, value.utf8.allSatisfy({ isBase64($0) }),
           value.contains(where: \.isUppercase), value.contains(where: \.isLowercase) { return false }
        return true
    }

    /// Whether a name (a variable, a map key, a keyword argument, a flag) says that what it holds
    /// is secret: it contains secret, passw, token, credential or private key. The REPL's `:vars`
    /// hides such values, and its history keeps no statement that gives one a value.
    public static func namesSecret(_ name: String) -> Bool {
        matches(#"(?i)secret|passw|token|credential|private[_-]?key"#, name)
    }

    /// The names a statement gives values to: `let NAME =`, `NAME = …`, `NAME: …` (a keyword
    /// argument, a map key) and `--NAME …` (a flag).
    public static func boundNames(_ text: String) -> [String] {
        let patterns = [#"\b(?:let|var)\s+([A-Za-z_][A-Za-z0-9_-]*)"#, #"([A-Za-z_][A-Za-z0-9_-]*)["']?\s*(?:=(?!=)|:(?!:))"#,
                        #"(?<![A-Za-z0-9_-])--?([A-Za-z][A-Za-z0-9_-]*)"#]
        var names: [String] = []
        for p in patterns {
            guard let re = try? NSRegularExpression(pattern: p) else { continue }
            for m in re.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let r = Range(m.range(at: 1), in: text) { names.append(String(text[r])) }
            }
        }
        return names
    }

    /// Whether a statement gives a value to a name that says secret (`namesSecret`).
    public static func bindsSecretName(_ text: String) -> Bool {
        boundNames(text).contains(where: namesSecret)
    }

    static func isBase64(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 43 || c == 47 || c == 61
    }
}
