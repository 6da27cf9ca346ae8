import Foundation
import Logging
import SGKData
@testable import SGKKubernetes

/// Fixtures live in `shared/fixtures/sagemaker-operator` beside the checkout.
enum Fixtures {
    static let directory: String = {
        let file = URL(fileURLWithPath: #filePath)
        let repo = file.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures/sagemaker-operator").path
    }()

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8)
    }

    static func documents(_ name: String) throws -> [JSON] {
        try YAMLCodec.parseDocuments(text(name)).filter { if case .null = $0 { return false }; return true }
    }
}

/// A temporary directory removed at deinit.
final class TempDir: @unchecked Sendable {
    let path: String
    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("sgk-kube-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
        let p = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: p) }
        return p
    }
}

/// Collects log lines, to check that secrets never reach logs.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }
    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    init(store: Store) { self.store = store }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        store.append("\(level) \(message) \(metadata ?? [:])")
    }
}

func obj(_ yaml: String) throws -> JSON { try YAMLCodec.parse(yaml) }
