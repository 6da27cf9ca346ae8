import Foundation
import SGKData

/// The identity of a request, as carried by errors: verb and path (never headers or credentials).
public struct KubeRequestInfo: Sendable, Hashable, CustomStringConvertible {
    /// HTTP verb, e.g. `GET`, `PATCH`.
    public var verb: String
    /// Path and query, e.g. `/api/v1/namespaces/default/pods?labelSelector=app%3Dx`.
    public var path: String
    public init(verb: String, path: String) { self.verb = verb; self.path = path }
    public var description: String { "\(verb) \(path)" }
}

/// One cause of a 422 `Invalid` status (`details.causes[]`).
public struct KubeStatusCause: Sendable, Hashable {
    public var reason: String?
    public var message: String?
    public var field: String?
}

/// The parts of a Kubernetes `Status` object that errors carry.
public struct KubeStatus: Sendable, Hashable {
    public var status: String?
    public var reason: String?
    public var message: String?
    public var code: Int?
    public var causes: [KubeStatusCause]
    public var detailsName: String?
    public var detailsKind: String?
    public var retryAfterSeconds: Int?

    /// Parses a `Status` object; returns nil when `json` is not one.
    public init?(_ json: JSON) {
        guard json["kind"]?.stringValue == "Status" else { return nil }
        status = json["status"]?.stringValue
        reason = json["reason"]?.stringValue
        message = json["message"]?.stringValue
        code = json["code"]?.intValue
        detailsName = json.at("details", "name")?.stringValue
        detailsKind = json.at("details", "kind")?.stringValue
        retryAfterSeconds = json.at("details", "retryAfterSeconds")?.intValue
        causes = (json.at("details", "causes")?.arrayValue ?? []).map {
            KubeStatusCause(reason: $0["reason"]?.stringValue, message: $0["message"]?.stringValue,
                            field: $0["field"]?.stringValue)
        }
    }
}

/// Every error the Kubernetes client throws. Descriptions never contain credentials.
public enum KubeError: Error, Sendable, CustomStringConvertible {
    /// The API server answered with an error status.
    case api(httpStatus: Int, status: KubeStatus?, request: KubeRequestInfo, context: String?, body: String?)
    /// The request did not reach the server or the connection failed.
    case transport(request: KubeRequestInfo, message: String)
    /// The kubeconfig (or in-cluster config) is missing, unreadable or inconsistent.
    case config(String)
    /// An exec credential plugin failed.
    case execPlugin(command: String, message: String)
    /// A resource name or kind could not be resolved through discovery.
    case unknownResource(String)
    /// A manifest document is malformed (no kind, no name, …).
    case invalidObject(String)
    /// A bounded wait ran out of time.
    case timeout(String)
    /// Some objects of an apply failed; `results` holds those that succeeded.
    case applyFailed(failures: [ApplyFailure], results: [ApplyResult])
    /// Anything else, with a message.
    case other(String)

    /// HTTP status of an `.api` error.
    public var httpStatus: Int? {
        if case .api(let s, _, _, _, _) = self { return s }
        return nil
    }

    /// The `Status.reason` of an `.api` error (e.g. `NotFound`, `AlreadyExists`, `Conflict`).
    public var reason: String? {
        if case .api(_, let st, _, _, _) = self { return st?.reason }
        return nil
    }

    /// True for a 404.
    public var isNotFound: Bool { httpStatus == 404 }

    /// The API server's NotFound for an object (`pods "web" not found`), for an absence found by a
    /// list; `message` when it names more than this one.
    public static func notFound(_ resource: APIResource, name: String, namespace: String?, context: String?, message: String? = nil) -> KubeError {
        let text = message ?? "\(resource.qualifiedName) \"\(name)\" not found"
        let status = KubeStatus(.object(["kind": .string("Status"), "status": .string("Failure"), "reason": .string("NotFound"),
                                         "message": .string(text), "code": .int(404)]))
        return .api(httpStatus: 404, status: status, request: KubeRequestInfo(verb: "GET", path: resource.objectPath(name: name, namespace: namespace)),
                    context: context, body: nil)
    }

    /// A short hint for common HTTP failures.
    public var hint: String? {
        if case .transport(_, let message) = self {
            if message.contains("does not name") {
                return "the certificate must name the host of the server URL (kubectl checks this too): use a name it holds (https://NAME:PORT), or set tls-server-name: NAME on the cluster in the kubeconfig"
            }
            if message.contains("TLS") {
                return "the kubeconfig's certificate-authority(-data) for this cluster must be the CA that signed the server's certificate"
            }
            if !NetworkErrorText.neverSent(message) {
                // It was reached: the request went out and the connection broke before the answer.
                return "the server took the request and the connection broke before its answer (the server, a proxy or an admission webhook it called failed on it): read the object back before writing it again"
            }
            return "is the API server up and reachable from here? the server is the kubeconfig's, for the context in use (sgk kubectl config current-context names it)"
        }
        guard case .api(let code, let st, _, let ctx, _) = self else { return nil }
        switch code {
        case 401:
            return "the token or client certificate was rejected: check the kubeconfig user (context \(ctx ?? "?"))"
        case 403:
            if st?.message?.contains("because it is being terminated") == true {
                return "the namespace is being deleted: wait until it is gone (kubectl wait namespace/NAME --for=delete), then apply again"
            }
            return "forbidden by RBAC: the user of context \(ctx ?? "?") lacks permission for this verb and resource"
        case 404:
            return "not found: check the name, namespace and that the resource type is installed"
        case 409:
            if st?.reason == "AlreadyExists" { return "the object already exists" }
            if st?.message?.contains("\"sgk-patch\"") == true {
                return "these fields were last set by `kubectl patch`: apply with --force-conflicts to take them back"
            }
            return "conflict: the object changed or another field manager owns these fields (retry, or apply with --force-conflicts)"
        case 415:
            return "unsupported media type: the server does not support this patch type"
        case 422:
            let m = st?.message ?? ""
            if m.contains("field not declared in schema") { return "a field this kind does not have: remove it, or check apiVersion and kind" }
            if m.contains("expected string") { return "that field takes a string: quote the value (quantities such as cpu: \"0.5\" or memory: \"1Gi\" are strings)" }
            if m.contains("expected numeric") || m.contains("expected int") { return "that field takes a number: write it without quotes" }
            if m.contains("expected map") || m.contains("expected list") { return "that field has another shape in the schema (a map or a list)" }
            return "the object is invalid"
        case 429:
            return "the server is throttling requests (they were retried, honouring its Retry-After): try again later"
        case 500, 502, 503, 504:
            return "this is the API server's answer (it is reachable): its message says what failed on its side (an admission webhook or plugin, storage)"
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .api(let code, let st, let req, _, let body):
            var s = "\(req): HTTP \(code)"
            if let r = st?.reason, !r.isEmpty { s += " \(r)" }
            if let m = st?.message, !m.isEmpty {
                s += ": \("\(req)".contains("/secrets") ? Redaction.secretQuotes(m) : m)"
            } else if let b = body, !b.isEmpty {
                s += ": \(String(b.prefix(300)))"
            }
            if let st, st.causes.count > 0, code == 422 {
                let c = st.causes.map { "\($0.field ?? "?"): \($0.message ?? $0.reason ?? "")" }
                s += " [causes: " + c.joined(separator: "; ") + "]"
            }
            if let h = hint { s += " (\(h))" }
            return Redaction.redact(s)
        case .transport(let req, let m): return Redaction.redact("\(req): \(m)")
        case .config(let m): return Redaction.redact("kubeconfig: \(m)")
        case .execPlugin(let c, let m): return Redaction.redact("exec plugin \(c): \(m)")
        case .unknownResource(let m): return m
        case .invalidObject(let m): return "invalid object: \(m)"
        case .timeout(let m): return "timed out: \(m)"
        case .applyFailed(let f, let r):
            let lines = f.map { "  \($0.object): \($0.error)" }
            return "apply failed for \(f.count) object(s) (\(r.count) applied):\n" + lines.joined(separator: "\n")
        case .other(let m): return Redaction.redact(m)
        }
    }
}

/// Removes bearer tokens and similar secrets from text that may be shown or logged.
public enum Redaction {
    /// Replaces `Bearer xxx`, `token: xxx`, `"token":"xxx"`, `k8s-aws-v1.xxx` and `Basic xxx` with `<redacted>`.
    public static func redact(_ text: String) -> String {
        var s = text
        let patterns = [
            #"(?i)(bearer\s+)[A-Za-z0-9\-\._~\+/=]+"#,
            #"(?i)(basic\s+)[A-Za-z0-9\+/=]+"#,
            #"(k8s-aws-v1\.)[A-Za-z0-9\-_=]+"#,
            #"(?i)("token"\s*:\s*")[^"]*"#,
            #"(?i)(\btoken[:=]\s*)[^\s,"']+"#,
        ]
        for p in patterns {
            s = s.replacingOccurrences(of: p, with: "$1<redacted>", options: .regularExpression)
        }
        return s
    }

    /// A server message about a Secret without the object it may quote (an Invalid patch quotes
    /// the whole merged Secret, its stored values included): quoted values and the excerpts of
    /// JSON errors (`...|…|...`) are replaced by `<redacted>`.
    public static func secretQuotes(_ text: String) -> String {
        text.replacingOccurrences(of: #"Invalid value: "(?:[^"\\]|\\.)*""#, with: "Invalid value: <redacted>", options: .regularExpression)
            .replacingOccurrences(of: #"\.\.\.\|.*?\|\.\.\."#, with: "...<redacted>...", options: .regularExpression)
    }

    /// Replaces every occurrence of each of `secrets` (non-empty) in `text`.
    public static func redact(_ text: String, secrets: [String]) -> String {
        var s = redact(text)
        for secret in secrets where secret.count >= 4 {
            s = s.replacingAll(secret, with: "<redacted>")
        }
        return s
    }
}

extension KubeError: OutcomeUnknownError {
    /// A transport failure of a write (not a read) that may have come after the server got it.
    public var outcomeUnknown: Bool {
        guard case .transport(let request, let message) = self else { return false }
        return request.verb != "GET" && !NetworkErrorText.neverSent(message)
    }
}
