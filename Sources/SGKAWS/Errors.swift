import Foundation
import NIOHTTP1
import SGKData

/// An error returned by an AWS service.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    /// `iam`, `sts`, `eks`, …
    public var service: String
    /// The API operation (`GetRole`, `DescribeCluster`).
    public var operation: String
    /// The AWS error code (`NoSuchEntity`, `ResourceNotFoundException`).
    public var code: String
    /// The service's message (secrets redacted).
    public var message: String
    /// The request id, when the service returned one.
    public var requestID: String?
    /// HTTP status code.
    public var statusCode: Int
    /// A suggestion for known causes, or nil.
    public var hint: String?

    public init(service: String, operation: String, code: String, message: String, requestID: String?, statusCode: Int, hint: String? = nil) {
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.requestID = requestID
        self.statusCode = statusCode
        self.hint = hint ?? AWSError.hint(code: code, service: service, operation: operation)
    }

    public var description: String {
        var s = "\(service) \(operation) failed: \(code) (HTTP \(statusCode))"
        if !message.isEmpty { s += ": \(message)" }
        if let requestID, !requestID.isEmpty { s += " [request id \(requestID)]" }
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }

    /// True for `NoSuchEntity` / `ResourceNotFoundException` / 404 — "it is not there".
    public var isNotFound: Bool {
        ["NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "NotFoundException"].contains(code)
    }
    /// True for `EntityAlreadyExists` / `ResourceInUseException`.
    public var isAlreadyExists: Bool {
        ["EntityAlreadyExists", "EntityAlreadyExistsException", "ResourceInUseException", "AlreadyExistsException"].contains(code)
    }

    /// Error codes the standard retry mode treats as throttling.
    public static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    /// Transient error codes the standard retry mode retries.
    public static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError", "ServiceUnavailable",
        "IDPCommunicationError",
    ]

    /// Whether the service throttled the request (a throttling code, or HTTP 429): retried longer
    /// than other failures (see `RetryPolicy.throttledMaxAttempts`).
    public var isThrottling: Bool { AWSError.throttlingCodes.contains(code) || statusCode == 429 }

    /// Whether the standard retry mode retries this error.
    public var isRetryable: Bool {
        AWSError.throttlingCodes.contains(code) || AWSError.transientCodes.contains(code) || statusCode >= 500 || statusCode == 429
    }

    static func hint(code: String, service: String, operation: String) -> String? {
        switch code {
        case "NoSuchEntity":
            if operation == "AttachRolePolicy" || operation == "DetachRolePolicy" {
                return "does the role exist, and is the policy ARN in the right partition (arn:aws vs arn:aws-cn vs arn:aws-us-gov)?"
            }
            return "the IAM entity does not exist (check the name, the account and the partition of the ARN)"
        case "SignatureDoesNotMatch", "IncompleteSignature":
            return "the secret access key does not match the access key id, or the system clock is wrong: check the credentials (profile, environment) and the clock"
        case "InvalidClientTokenId", "UnrecognizedClientException":
            return "the access key id is not known to AWS: check the credentials in use (`aws whoami`), the partition, and the clock"
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
            return "the session credentials have expired: refresh them (re-assume the role, log in again) or check the clock"
        case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError":
            return "the caller is not allowed to call \(service):\(operation): check the IAM policies of the identity in use"
        case "EntityAlreadyExists":
            return "it already exists: get or update it instead of creating it"
        case "ResourceNotFoundException" where service == "eks":
            switch operation {
            case "DescribeAddon":
                return "the add-on is not installed on the cluster (or no such cluster in this region: the message says which): `aws eks create-addon --cluster-name CLUSTER --addon-name NAME` installs it"
            case "DescribePodIdentityAssociation", "UpdatePodIdentityAssociation", "DeletePodIdentityAssociation":
                return "no such Pod Identity association in the cluster (deleted meanwhile?), or no such cluster in this region: `aws eks list-pod-identity-associations --cluster-name CLUSTER` lists them"
            default:
                return "check the cluster name and the region"
            }
        case "ResourceInUseException" where service == "eks":
            if operation == "CreatePodIdentityAssociation" {
                return "the namespace and service account already have a Pod Identity association in this cluster: change its role (UpdatePodIdentityAssociation) or delete it first"
            }
            return "the resource is in use or already exists: the message says which"
        case "InvalidParameterException" where service == "eks":
            if operation.hasSuffix("PodIdentityAssociation") || operation == "ListPodIdentityAssociations" {
                return "EKS rejected a parameter (the message names it): the role ARN must be an IAM role (arn:PARTITION:iam::ACCOUNT:role/NAME) of the cluster's partition, the namespace and service account valid Kubernetes names"
            }
            return "EKS rejected a parameter: the message names it"
        case "InvalidRequestException" where service == "eks":
            return "EKS refused the request in the cluster's present state (the message says why): Pod Identity needs an ACTIVE cluster on Kubernetes 1.24 or later"
        case "ResourceLimitExceededException" where service == "eks":
            return "an EKS quota is reached (Pod Identity: 5,000 associations per cluster): delete unused ones or ask for a higher quota"
        case "ClientException" where service == "eks":
            return "EKS refused the request (the message says why): often the caller's permissions or the cluster's state"
        case "ServerException", "ServiceUnavailableException":
            return "the AWS endpoint failed (\(code)) even after retries: try again later; if it lasts, check the endpoint (AWS_ENDPOINT_URL, proxy)"
        case "InvalidIdentityToken":
            return "the web identity token was rejected: is the OIDC provider registered in IAM for this issuer?"
        case "DeleteConflict":
            return operation == "DeletePolicy"
                ? "the policy is still attached (or has versions): detach it from every role, user and group first"
                : "it is still in use: detach its policies, remove it from instance profiles, then delete it"
        case "LimitExceeded":
            return "an IAM quota is reached (roles, policies per role, providers, policy versions…): delete unused ones or ask for a higher quota"
        case "MalformedPolicyDocument":
            return "IAM rejected the policy document: check its Version, Statement, Effect, Action, Resource/Principal and any Condition keys"
        case "ValidationError", "ValidationException", "InvalidInput":
            return "a parameter was rejected: the message names it"
        case "NotFound" where service == "eks", "BadRequest" where service == "eks":
            return "check the cluster name and the region"
        default:
            if throttlingCodes.contains(code) { return "AWS throttled the request even after retries: slow down or retry later" }
            if code.hasPrefix("HTTP5") || transientCodes.contains(code) {
                return "the AWS endpoint failed (\(code)) even after retries: try again later; if it lasts, check the endpoint (AWS_ENDPOINT_URL, proxy)"
            }
            return nil
        }
    }

    /// Parses an error response (XML for query services, JSON for rest-json services).
    static func parse(service: String, operation: String, status: Int, headers: HTTPHeaders, body: [UInt8], secrets: [String]) -> AWSError {
        let requestID = headers.first(name: "x-amzn-RequestId") ?? headers.first(name: "x-amz-request-id")
        let text = String(decoding: body, as: UTF8.self)
        var code: String?
        var message: String?
        var rid = requestID
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("<"), let root = try? XMLReader.parse(trimmed) {
            code = root.find("Code")?.text
            message = root.find("Message")?.text ?? root.find("message")?.text
            rid = root.find("RequestId")?.text ?? root.find("RequestID")?.text ?? rid
        } else if trimmed.hasPrefix("{"), let json = try? JSONCodec.parse(trimmed) {
            code = json["__type"]?.stringValue ?? json["code"]?.stringValue ?? json["Code"]?.stringValue
            message = json["message"]?.stringValue ?? json["Message"]?.stringValue
        }
        if let t = headers.first(name: "X-Amzn-ErrorType"), !t.isEmpty { code = t }
        if var c = code {
            if let colon = c.firstIndex(of: ":") { c = String(c[..<colon]) }
            if let hash = c.lastIndex(of: "#") { c = String(c[c.index(after: hash)...]) }
            code = c.trimmingCharacters(in: .whitespaces)
        }
        let fallbackCode: String
        switch status {
        case 400: fallbackCode = "BadRequest"
        case 403: fallbackCode = "Forbidden"
        case 404: fallbackCode = "NotFound"
        case 429: fallbackCode = "TooManyRequestsException"
        default: fallbackCode = "HTTP\(status)"
        }
        // A body that is no AWS error (an HTML page of a proxy or load balancer) is described, not pasted.
        let looksHTML = trimmed.lowercased().hasPrefix("<!doctype") || trimmed.lowercased().hasPrefix("<html")
        let msg = message ?? (code != nil ? "" : looksHTML ? "an HTML page instead of an AWS answer (HTTP \(status)): is the endpoint an AWS API?"
                                                          : trimmed.isEmpty ? "HTTP \(status) with no body" : String(trimmed.prefix(300)))
        return AWSError(
            service: service, operation: operation, code: (code?.isEmpty == false ? code : nil) ?? fallbackCode,
            message: Redactor.redact(msg, secrets: secrets), requestID: rid, statusCode: status)
    }
}

/// The request never got an AWS answer (connection refused, timeout, TLS, bad URL).
public struct AWSTransportError: Error, Sendable, CustomStringConvertible {
    public var service: String
    public var operation: String
    public var url: String
    /// The underlying error, described (secrets redacted).
    public var reason: String
    public var attempts: Int
    /// The connection failed before the request could be sent (refused, DNS, TLS, connect timeout).
    public var neverSent: Bool = true
    /// The operation changes something (not a Get, List or Describe).
    public var isWrite: Bool = false
    /// A write whose last attempt failed after the request may have reached the server (the
    /// connection broke or timed out while waiting for the answer): it may have been made.
    public var maybeReceived: Bool { isWrite && !neverSent }
    public var description: String {
        let url = SecretText.redactedURL(self.url)
        if neverSent { return "\(service) \(operation): could not reach \(url) after \(attempts) attempt(s): \(reason)" }
        return "\(service) \(operation): no answer from \(url) after \(attempts) attempt(s): \(reason)"
            + (isWrite ? "; the request may have been carried out" : "")
    }
}

extension AWSTransportError: OutcomeUnknownError {
    public var outcomeUnknown: Bool { maybeReceived }
}

/// A successful response whose body could not be read.
public struct AWSResponseError: Error, Sendable, CustomStringConvertible {
    public var service: String
    public var operation: String
    public var message: String
    public var description: String { "\(service) \(operation): unexpected response: \(message)" }
}

/// Removes secrets from text meant for logs and errors.
public enum Redactor {
    static let marker = "<redacted>"
    private static let patterns: [(String, String)] = [
        ("Signature=", ","), ("X-Amz-Signature=", "&"), ("X-Amz-Security-Token=", "&"),
        ("<SecretAccessKey>", "</"), ("<SessionToken>", "</"), ("<WebIdentityToken>", "</"),
        ("WebIdentityToken=", "&"), ("\"SecretAccessKey\":\"", "\""), ("\"SecretAccessKey\": \"", "\""),
        ("\"Token\":\"", "\""), ("\"Token\": \"", "\""), ("\"SessionToken\":\"", "\""), ("\"SessionToken\": \"", "\""),
    ]

    /// Replaces every known secret value and every signature/token field with `<redacted>`.
    public static func redact(_ text: String, secrets: [String] = []) -> String {
        var s = text
        for secret in secrets where secret.count >= 4 {
            s = s.replacingAll(secret, with: marker)
            let enc = URIEncoding.encode(secret)
            if enc != secret { s = s.replacingAll(enc, with: marker) }
        }
        for (start, end) in patterns {
            var searchFrom = s.startIndex
            while let r = s.range(of: start, range: searchFrom..<s.endIndex) {
                let valueStart = r.upperBound
                let valueEnd = s.range(of: end, range: valueStart..<s.endIndex)?.lowerBound
                    ?? s[valueStart...].firstIndex(where: { $0 == "\n" || $0 == " " }) ?? s.endIndex
                if s[valueStart..<valueEnd] == marker[...] { searchFrom = valueEnd; continue }
                s.replaceSubrange(valueStart..<valueEnd, with: marker)
                searchFrom = s.index(valueStart, offsetBy: marker.count, limitedBy: s.endIndex) ?? s.endIndex
            }
        }
        return s
    }

    /// Header value safe to log.
    static func header(_ name: String, _ value: String, secrets: [String]) -> String {
        switch name.lowercased() {
        case "x-amz-security-token", "x-aws-ec2-metadata-token", "cookie", "x-amz-content-sha256-secret":
            return marker
        case "authorization":
            if let r = value.firstRange(of: "Signature=") { return String(value[..<r.upperBound]) + marker }
            return marker
        default:
            return redact(value, secrets: secrets)
        }
    }
}
