import Foundation
import Logging
import NIOHTTP1
import Testing
@testable import SGKAWS
import SGKData

@Suite struct ErrorParsingTests {
    @Test func iamXMLError() {
        let body = """
        <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
          <Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>Policy arn:aws:iam::aws:policy/X does not exist or is not attachable.</Message></Error>
          <RequestId>4f5a-req</RequestId>
        </ErrorResponse>
        """
        let e = AWSError.parse(service: "iam", operation: "AttachRolePolicy", status: 404, headers: [:], body: Array(body.utf8), secrets: [])
        #expect(e.code == "NoSuchEntity")
        #expect(e.message.hasPrefix("Policy arn:aws:iam::aws:policy/X"))
        #expect(e.requestID == "4f5a-req")
        #expect(e.statusCode == 404)
        #expect(e.hint?.contains("arn:aws-cn") == true)
        #expect(e.isNotFound)
        #expect(!e.isRetryable)
        #expect(e.description.contains("hint:"))
    }

    @Test func stsXMLErrorsAndHints() {
        for (code, needle) in [("SignatureDoesNotMatch", "clock"), ("InvalidClientTokenId", "credentials"), ("ExpiredToken", "expired"),
                               ("AccessDenied", "not allowed")] {
            let body = "<ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>m &amp; n</Message></Error><RequestId>r</RequestId></ErrorResponse>"
            let e = AWSError.parse(service: "sts", operation: "GetCallerIdentity", status: 403, headers: [:], body: Array(body.utf8), secrets: [])
            #expect(e.code == code)
            #expect(e.message == "m & n")
            #expect(e.hint?.contains(needle) == true, "\(code)")
        }
    }

    /// The Pod Identity and add-on errors of the EKS model, as EKS (and tools/e2e/eks-api-stub.py)
    /// sends them: the code in `x-amzn-ErrorType`, the shape's members in the body; each with its hint.
    @Test func eksPodIdentityErrorsHaveHints() {
        func parse(_ code: String, _ status: Int, _ operation: String, _ message: String) -> AWSError {
            var h = HTTPHeaders()
            h.add(name: "x-amzn-ErrorType", value: code)
            let body = #"{"message":"\#(message)","clusterName":"demo"}"#
            return AWSError.parse(service: "eks", operation: operation, status: status, headers: h, body: Array(body.utf8), secrets: [])
        }
        let inUse = parse("ResourceInUseException", 409, "CreatePodIdentityAssociation", "Association already exists: a-1")
        #expect(inUse.code == "ResourceInUseException" && inUse.isAlreadyExists && inUse.statusCode == 409)
        #expect(inUse.hint?.contains("UpdatePodIdentityAssociation") == true)
        let gone = parse("ResourceNotFoundException", 404, "DeletePodIdentityAssociation", "No Pod Identity Association found with id: a-1")
        #expect(gone.isNotFound && gone.hint?.contains("aws eks list-pod-identity-associations") == true)
        let addon = parse("ResourceNotFoundException", 404, "DescribeAddon", "No addon: eks-pod-identity-agent found in cluster: demo")
        #expect(addon.hint?.contains("aws eks create-addon") == true)
        let bad = parse("InvalidParameterException", 400, "CreatePodIdentityAssociation", "roleArn is not valid")
        #expect(bad.hint?.contains("arn:PARTITION:iam::ACCOUNT:role/NAME") == true && !bad.isRetryable)
        let state = parse("InvalidRequestException", 400, "CreatePodIdentityAssociation", "cluster is not ACTIVE")
        #expect(state.hint?.contains("1.24") == true)
        let limit = parse("ResourceLimitExceededException", 400, "CreatePodIdentityAssociation", "limit")
        #expect(limit.hint?.contains("quota") == true)
        let server = parse("ServerException", 500, "ListPodIdentityAssociations", "boom")
        #expect(server.isRetryable && server.hint?.contains("try again later") == true)
    }

    @Test func eksJSONErrors() {
        var h = HTTPHeaders()
        h.add(name: "X-Amzn-ErrorType", value: "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.eks/")
        h.add(name: "x-amzn-RequestId", value: "eks-req")
        let body = #"{"message":"No cluster found for name: nope.","clusterName":"nope"}"#
        let e = AWSError.parse(service: "eks", operation: "DescribeCluster", status: 404, headers: h, body: Array(body.utf8), secrets: [])
        #expect(e.code == "ResourceNotFoundException")
        #expect(e.message == "No cluster found for name: nope.")
        #expect(e.requestID == "eks-req")
        #expect(e.isNotFound)

        let typed = #"{"__type":"com.amazonaws.eks#ThrottlingException","Message":"slow down"}"#
        let t = AWSError.parse(service: "eks", operation: "ListClusters", status: 400, headers: [:], body: Array(typed.utf8), secrets: [])
        #expect(t.code == "ThrottlingException")
        #expect(t.message == "slow down")
        #expect(t.isRetryable)

        let html = AWSError.parse(service: "eks", operation: "ListClusters", status: 502, headers: [:], body: Array("<html>bad gateway".utf8), secrets: [])
        #expect(html.code == "HTTP502")
        #expect(html.isRetryable)
    }

    @Test func retryPolicyBackoff() {
        let p = RetryPolicy.standard
        #expect(p.maxAttempts == 3)
        for attempt in 1...10 {
            let d = p.delay(afterAttempt: attempt)
            #expect(d >= 0 && d <= min(20, 0.1 * pow(2, Double(attempt - 1))))
        }
    }

    @Test func xmlReader() throws {
        let x = try XMLReader.parse("<?xml version=\"1.0\"?>\n<!-- c --><a:Root xmlns:a=\"x\"><B attr='1'>t&lt;1&#65;&#x42;</B><C/><D><![CDATA[<raw&>]]></D></a:Root>")
        #expect(x.name == "Root")
        #expect(x.string("B") == "t<1AB")
        #expect(x.child("C") != nil)
        #expect(x.string("D") == "<raw&>")
        #expect(throws: XMLParseError.self) { try XMLReader.parse("<a><b></a>") }
        #expect(throws: XMLParseError.self) { try XMLReader.parse("") }
    }

    @Test func policyDocumentDecoding() {
        #expect(IAM.decodeDocument("%7B%22Version%22%3A%222012-10-17%22%7D") == #"{"Version":"2012-10-17"}"#)
        #expect(IAM.decodeDocument(#"{"a":"50%"}"#) == #"{"a":"50%"}"#)
    }
}

/// Captures log lines.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return lines.joined(separator: "\n") }

    func logger() -> Logger {
        var l = Logger(label: "capture") { _ in CaptureHandler(capture: self) }
        l.logLevel = .trace
        return l
    }
}

struct CaptureHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        capture.append("\(event.level) \(event.message)")
    }
}

@Suite struct RedactionTests {
    static let secret = "SuperSecretKeyValue/ABC+123"
    static let token = "SessionTokenValueXYZ/+=="

    @Test func redactorPatterns() {
        let s = Redactor.redact("Authorization: AWS4-HMAC-SHA256 Credential=A/x, SignedHeaders=host, Signature=abcdef0123 X-Amz-Security-Token=tok&b=1 <SecretAccessKey>k</SecretAccessKey>")
        #expect(!s.contains("abcdef0123"))
        #expect(!s.contains("tok&"))
        #expect(!s.contains(">k<"))
        #expect(Redactor.redact("x \(Self.secret) y", secrets: [Self.secret]) == "x <redacted> y")
    }

    /// A failing call: its error, description and debug log never show the secret key or token.
    @Test func failingCallLeaksNoSecrets() async throws {
        let server = try FakeHTTPServer { req in
            // Echo the request back in the error message, as a hostile/buggy server might
            // (and, for signed requests, the secret and token as if it knew them).
            let signed = req.headers["authorization"] != nil
            let echoed = req.headers.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + " body=" + req.body
            let xml = "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>\(echoed.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")) \(signed ? "secret \(Self.secret) token \(Self.token)" : "")</Message></Error><RequestId>r1</RequestId></ErrorResponse>"
            return (403, xml)
        }
        defer { server.stop() }
        let capture = LogCapture()
        let creds = AWSCredentials(accessKeyID: "AKIDREDACT", secretAccessKey: Self.secret, sessionToken: Self.token)
        let cfg = AWSConfiguration(environment: ["AWS_ENDPOINT_URL": server.url], homeDirectory: "/nonexistent", profile: nil,
                                   region: "us-east-1", shared: SharedConfig())
        let client = AWSClient(configuration: cfg, credentialProvider: StaticCredentialProvider(creds), retryPolicy: .none, logger: capture.logger())
        do {
            _ = try await client.sts.getCallerIdentity()
            Issue.record("expected failure")
        } catch let e as AWSError {
            #expect(e.code == "SignatureDoesNotMatch")
            for text in [e.description, e.message, String(describing: e), String(reflecting: e)] {
                #expect(!text.contains(Self.secret))
                #expect(!text.contains(Self.token))
                #expect(!text.contains(URIEncoding.encode(Self.token)))
            }
        }
        // web identity token in a body is redacted too
        _ = try? await client.sts.assumeRoleWithWebIdentity(roleARN: "arn:aws:iam::1:role/r", sessionName: "s", webIdentityToken: "JWT-SECRET-VALUE")
        let log = capture.text
        #expect(log.contains("→ POST"))
        #expect(log.contains("GetCallerIdentity"))
        #expect(log.contains("Signature=<redacted>"))
        #expect(!log.contains(Self.secret))
        #expect(!log.contains(Self.token))
        #expect(!log.contains(URIEncoding.encode(Self.token)))
        #expect(!log.contains("JWT-SECRET-VALUE"))
        #expect(!creds.description.contains(Self.secret))
        #expect(!"\(creds)".contains(Self.token))
        try await client.shutdown()
    }

    @Test func theDebugLogShowsNoEndpointPassword() async throws {
        let server = try FakeHTTPServer { _ in
            (200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/u</Arn><UserId>AID</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>")
        }
        defer { server.stop() }
        let capture = LogCapture()
        let endpoint = server.url.replacingOccurrences(of: "http://", with: "http://ops:ENDPOINT-PASSWORD@")
        let cfg = AWSConfiguration(environment: ["AWS_ENDPOINT_URL": endpoint], homeDirectory: "/nonexistent", profile: nil,
                                   region: "us-east-1", shared: SharedConfig())
        let client = AWSClient(configuration: cfg, credentialProvider: StaticCredentialProvider(Fixtures.exampleCredentials),
                               retryPolicy: .none, logger: capture.logger())
        _ = try? await client.sts.getCallerIdentity()
        #expect(capture.text.contains("→ POST http://<redacted>@127.0.0.1"), "\(capture.text)")
        #expect(!capture.text.contains("ENDPOINT-PASSWORD"))
        try await client.shutdown()
    }

    @Test func retriesThrottlingThenSucceeds() async throws {
        let counter = Counter()
        let server = try FakeHTTPServer { _ in
            if counter.next() < 3 {
                return (400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>")
            }
            return (200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/u</Arn><UserId>AID</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>")
        }
        defer { server.stop() }
        let cfg = AWSConfiguration(environment: ["AWS_ENDPOINT_URL": server.url], homeDirectory: "/nonexistent", profile: nil,
                                   region: "us-east-1", shared: SharedConfig())
        let client = AWSClient(configuration: cfg, credentialProvider: StaticCredentialProvider(Fixtures.exampleCredentials),
                               retryPolicy: RetryPolicy(maxAttempts: 3, base: 0.01, cap: 0.05))
        let id = try await client.sts.getCallerIdentity()
        #expect(id.account == "123456789012")
        #expect(counter.value == 3)
        try await client.shutdown()
    }

    /// A client of a fake endpoint with fast retries.
    static func client(endpoint: String, attempts: Int) -> AWSClient {
        let cfg = AWSConfiguration(environment: ["AWS_ENDPOINT_URL": endpoint], homeDirectory: "/nonexistent", profile: nil,
                                   region: "us-east-1", shared: SharedConfig())
        return AWSClient(configuration: cfg, credentialProvider: StaticCredentialProvider(Fixtures.exampleCredentials),
                         retryPolicy: RetryPolicy(maxAttempts: attempts, base: 0.01, cap: 0.02))
    }

    @Test func aCreateWhoseAnswerNeverCameIsNotRepeated() async throws {
        let server = try FakeHTTPServer { _ in (0, "") }
        defer { server.stop() }
        let client = Self.client(endpoint: server.url, attempts: 3)
        do {
            _ = try await client.iam.createRole(name: "r", assumeRolePolicyDocument: "{}")
            Issue.record("no error")
        } catch let e as AWSTransportError {
            #expect(e.maybeReceived)
            #expect(e.outcomeUnknown)
            #expect(e.description.contains("may have been carried out"))
        }
        #expect(server.requests.count == 1)
        // A read is safe to repeat: tried 3 times.
        await #expect(throws: AWSTransportError.self) { try await client.iam.getRole(name: "r") }
        #expect(server.requests.count == 4)
        try await client.shutdown()
    }

    @Test func connectionRefusedIsATransportError() async throws {
        let server = try FakeHTTPServer { _ in (200, "") }
        let url = server.url
        server.stop()
        let client = Self.client(endpoint: url, attempts: 2)
        do {
            _ = try await client.iam.createRole(name: "x", assumeRolePolicyDocument: "{}")
            Issue.record("no error")
        } catch let e as AWSTransportError {
            #expect(!e.maybeReceived)   // refused: never sent, so retried and known not made
            #expect(e.attempts == 2)
        }
        try await client.shutdown()
    }
}

@Suite struct EKSTokenTests {
    /// Computed independently with botocore 1.43 (`generate_presigned_url('get_caller_identity', ExpiresIn=60)` with
    /// the `x-k8s-aws-id: my-cluster` header added before signing, time fixed at 2026-01-02T03:04:05Z).
    static let botocoreToken = "k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYwMTAyJTJGdXMtd2VzdC0yJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjAxMDJUMDMwNDA1WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj1TRVNTSU9OVE9LRU4lMkYlMkIlM0RleGFtcGxlJlgtQW16LVNpZ25hdHVyZT1jZmNjMTdjZGYxMjYxNDY2YzhmODUzOGQwMWZhNDkzMmU4ZDEwN2FjMzI2NjJkNjY0Yjc1ZTRmYzg4ZDc2YmY0"
    static let date = Date(timeIntervalSince1970: 1_767_323_045)  // 2026-01-02T03:04:05Z

    @Test func matchesBotocore() {
        #expect(SigV4Time.iso8601(Self.date) == "2026-01-02T03:04:05Z")
        let creds = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                   sessionToken: "SESSIONTOKEN/+=example")
        let t = EKSTokenGenerator.token(clusterName: "my-cluster", credentials: creds, region: "us-west-2", date: Self.date)
        #expect(t.token == Self.botocoreToken)
        #expect(!t.token.contains("="))
        #expect(t.presignedURL.contains("X-Amz-Expires=60"))
        #expect(t.presignedURL.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"))
        #expect(t.expiration == Self.date.addingTimeInterval(14 * 60))
        #expect(t.execCredential.at("status", "expirationTimestamp")?.stringValue == "2026-01-02T03:18:05Z")
        #expect(t.execCredential["kind"]?.stringValue == "ExecCredential")
    }

    @Test func chinaRegionUsesCNEndpoint() {
        let t = EKSTokenGenerator.token(clusterName: "c", credentials: Fixtures.exampleCredentials, region: "cn-north-1", date: Self.date)
        #expect(t.presignedURL.hasPrefix("https://sts.cn-north-1.amazonaws.com.cn/?Action=GetCallerIdentity&Version=2011-06-15&"))
        #expect(t.presignedURL.contains("%2Fcn-north-1%2Fsts%2Faws4_request"))
    }
}
