import Foundation
@testable import SGKAWS

/// Paths and helpers shared by the tests.
enum Fixtures {
    /// `<repo>/../shared/fixtures` (CI keeps `shared/` beside the checkout).
    static var sharedFixtures: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // SGKAWSTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // repo root
            .deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures")
    }
    static var sigv4Suite: URL { sharedFixtures.appendingPathComponent("sigv4-test-suite") }

    static func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    /// A fresh temporary directory.
    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("sgk-aws-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    static let exampleCredentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
}

/// A raw HTTP request from a test-suite file.
struct RawRequest {
    var method: String
    var path: String
    var query: String
    var headers: [(name: String, value: String)]
    var body: String

    static func parse(_ text: String) -> RawRequest? {
        var lines = text.components(separatedBy: "\n")
        guard !lines.isEmpty else { return nil }
        let first = lines.removeFirst().replacingOccurrences(of: "\r", with: "")
        guard let sp = first.firstIndex(of: " "), let httpR = first.range(of: " HTTP/", options: .backwards) else { return nil }
        let method = String(first[..<sp])
        let target = String(first[first.index(after: sp)..<httpR.lowerBound])
        var path = target, query = ""
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q]); query = String(target[target.index(after: q)...])
        }
        var headers: [(name: String, value: String)] = []
        var bodyLines: [String] = []
        var inBody = false
        for l in lines {
            if inBody { bodyLines.append(l); continue }
            if l.isEmpty { inBody = true; continue }
            if l.first == " " || l.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + l
                continue
            }
            guard let c = l.firstIndex(of: ":") else { continue }
            headers.append((String(l[..<c]), String(l[l.index(after: c)...])))
        }
        return RawRequest(method: method, path: path, query: query, headers: headers, body: bodyLines.joined(separator: "\n"))
    }
}
