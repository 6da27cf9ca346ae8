import Foundation
import Testing
@testable import SGKAWS
import SGKData

/// Issue 21 defects 11 and 13: which requests are retried, and for how long.
@Suite struct RetryTests {
    static let identity = "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/u</Arn><UserId>AID</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
    static let throttling = "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"

    static func client(_ url: String, _ policy: RetryPolicy) -> AWSClient {
        let cfg = AWSConfiguration(environment: ["AWS_ENDPOINT_URL": url], homeDirectory: "/nonexistent", profile: nil,
                                   region: "us-east-1", shared: SharedConfig())
        return AWSClient(configuration: cfg, credentialProvider: StaticCredentialProvider(Fixtures.exampleCredentials), retryPolicy: policy)
    }

    @Test func throttlingIsRetriedLongerThanAFailure() async throws {
        let counter = Counter()
        let server = try FakeHTTPServer { _ in counter.next() <= 5 ? (400, Self.throttling) : (200, Self.identity) }
        defer { server.stop() }
        let client = Self.client(server.url, RetryPolicy(maxAttempts: 3, base: 0.01, cap: 0.05))
        #expect(try await client.sts.getCallerIdentity().account == "123456789012")
        #expect(counter.value == 6)
        try await client.shutdown()

        // A failure (a 500) keeps the standard 3 attempts.
        let failures = Counter()
        let broken = try FakeHTTPServer { _ in _ = failures.next(); return (500, "<ErrorResponse><Error><Code>InternalError</Code><Message>x</Message></Error></ErrorResponse>") }
        defer { broken.stop() }
        let c2 = Self.client(broken.url, RetryPolicy(maxAttempts: 3, base: 0.01, cap: 0.05))
        await #expect(throws: AWSError.self) { try await c2.sts.getCallerIdentity() }
        #expect(failures.value == 3)
        try await c2.shutdown()
    }

    @Test func retryAfterIsHonouredWithinTheBudget() async throws {
        let counter = Counter()
        let server = try FakeHTTPServer(headers: { _ in ["Retry-After": "1"] }) { _ in
            counter.next() == 1 ? (429, Self.throttling) : (200, Self.identity)
        }
        defer { server.stop() }
        let client = Self.client(server.url, RetryPolicy(maxAttempts: 3, base: 0.01, cap: 20))
        let started = Date()
        _ = try await client.sts.getCallerIdentity()
        #expect(Date().timeIntervalSince(started) >= 0.9)
        #expect(counter.value == 2)
        try await client.shutdown()

        // A wait past the budget is not made: the throttling is the answer.
        let always = Counter()
        let busy = try FakeHTTPServer(headers: { _ in ["Retry-After": "5"] }) { _ in _ = always.next(); return (429, Self.throttling) }
        defer { busy.stop() }
        let c2 = Self.client(busy.url, RetryPolicy(maxAttempts: 3, base: 0.01, cap: 20, throttledBudget: 2))
        do {
            _ = try await c2.sts.getCallerIdentity()
            Issue.record("no error")
        } catch let e as AWSError {
            #expect(e.code == "Throttling")
            #expect(e.hint?.contains("throttled") == true)
        }
        #expect(always.value == 1)
        try await c2.shutdown()
    }

    @Test func aDetachWhoseAnswerNeverCameIsNotRepeatedBlindly() async throws {
        let server = try FakeHTTPServer { _ in (0, "") }
        defer { server.stop() }
        let client = Self.client(server.url, RetryPolicy(maxAttempts: 3, base: 0.01, cap: 0.02))
        do {
            try await client.iam.detachRolePolicy(roleName: "r", policyARN: "arn:aws:iam::aws:policy/P")
            Issue.record("no error")
        } catch let e as AWSTransportError {
            #expect(e.outcomeUnknown)
        }
        // Sent once: a second would say NoSuchEntity. The primitive reads back instead.
        #expect(server.requests.count == 1)
        // An attach is safe to repeat: tried 3 times.
        await #expect(throws: AWSTransportError.self) { try await client.iam.attachRolePolicy(roleName: "r", policyARN: "arn:aws:iam::aws:policy/P") }
        #expect(server.requests.count == 4)
        try await client.shutdown()
    }
}
