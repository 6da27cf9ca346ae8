import SGKHTTP
import Foundation
import Logging
import NIOCore
import NIOHTTP1
@testable import SGKAWS

/// Integration tests talk to a moto server at `SGK_TEST_AWS_ENDPOINT` (e.g. `http://127.0.0.1:5055`).
enum Moto {
    static var endpoint: String? { ProcessInfo.processInfo.environment["SGK_TEST_AWS_ENDPOINT"] }
    static var enabled: Bool { endpoint != nil }
    static let account = "123456789012"

    static func environment(endpoint: String, accessKey: String = "testing", secret: String = "testing") -> [String: String] {
        [
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }

    static func client(endpoint: String? = Moto.endpoint, accessKey: String = "testing", secret: String = "testing",
                       retry: RetryPolicy = .standard, logger: Logger = Logger(label: "moto-test")) -> AWSClient {
        let env = environment(endpoint: endpoint ?? "http://127.0.0.1:1", accessKey: accessKey, secret: secret)
        let cfg = AWSConfiguration.load(environment: env, homeDirectory: "/nonexistent")
        return AWSClient(configuration: cfg, retryPolicy: retry, logger: logger)
    }

    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// POSTs to a moto control endpoint.
    static func control(_ base: String, _ path: String, body: String = "") async throws {
        let transport = HTTPTransport(configuration: .init(proxy: .none))
        defer { Task { await transport.shutdown() } }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain")
        let resp = try await transport.execute(HTTPRequest(method: .POST, url: base + path, headers: headers, body: Array(body.utf8)),
                                               timeout: .seconds(10))
        _ = try await resp.body.collect(upTo: 1 << 20)
    }

    static var dedicatedAuthEndpoint: String? { ProcessInfo.processInfo.environment["SGK_TEST_AWS_AUTH_ENDPOINT"] }

    static func trustPolicy(_ service: String = "ec2.amazonaws.com") -> String {
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"\#(service)"},"Action":"sts:AssumeRole"}]}"#
    }

    /// Runs a command and returns (status, stdout, stderr).
    static func run(_ args: [String], environment: [String: String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.environment = environment
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        let err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    static func commandExists(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}
