import Foundation

/// Finds module sources: `--lib-path` folders and `$SGK_PATH`, then the
/// stdlib embedded in the binary; `use "./x.sgk"` is relative to the script.
public final class ModuleLoader: @unchecked Sendable {
    public struct Source {
        public var displayName: String
        public var text: String
    }

    public var searchPaths: [String]
    /// Embedded sources by path, e.g. "stdlib/irsa.sgk".
    public var embedded: [String: String]

    public init(searchPaths: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment, embedded: [String: String] = [:]) {
        var paths = searchPaths
        if let p = environment["SGK_PATH"] { paths += p.split(separator: ":").map(String.init).filter { !$0.isEmpty } }
        self.searchPaths = paths
        self.embedded = embedded
    }

    public var embeddedModuleNames: [String] {
        embedded.keys.filter { $0.hasPrefix("stdlib/") }.map { NSStringLike($0).lastComponentWithoutExtension }.sorted()
    }

    static func displayName(_ key: String) -> String { key.hasPrefix("embedded:") ? String(key.dropFirst(9)) : key }

    /// Returns a cache key and the source, or nil when not found.
    public func resolve(_ name: String, isPath: Bool, relativeTo importer: String) throws -> (String, Source)? {
        if isPath {
            if importer.hasPrefix("<sgk>/") {
                // Relative to an embedded file.
                let base = (String(importer.dropFirst(6)) as NSString).deletingLastPathComponent
                let key = ((base as NSString).appendingPathComponent(name) as NSString).standardizingPath
                if let text = embedded[key] { return ("embedded:" + key, Source(displayName: "<sgk>/" + key, text: text)) }
                return nil
            }
            let base = (importer as NSString).deletingLastPathComponent
            let path = name.hasPrefix("/") ? name : ((base.isEmpty ? "." : base) as NSString).appendingPathComponent(name)
            let std = (path as NSString).standardizingPath
            guard let data = FileManager.default.contents(atPath: std) else { return nil }
            return (std, Source(displayName: std, text: String(decoding: data, as: UTF8.self)))
        }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else { return nil }
        for dir in searchPaths {
            let path = (dir as NSString).appendingPathComponent(name + ".sgk")
            if let data = FileManager.default.contents(atPath: path) {
                return ((path as NSString).standardizingPath, Source(displayName: path, text: String(decoding: data, as: UTF8.self)))
            }
        }
        let key = "stdlib/\(name).sgk"
        if let text = embedded[key] { return ("embedded:" + key, Source(displayName: "<sgk>/" + key, text: text)) }
        return nil
    }

    /// A bundled script by name (`install-sagemaker-operator`), from the embedded scripts.
    public func bundledScript(_ name: String) -> Source? {
        let base = name.hasSuffix(".sgk") ? String(name.dropLast(4)) : name
        let key = "scripts/\(base).sgk"
        return embedded[key].map { Source(displayName: "<sgk>/" + key, text: $0) }
    }

    public var bundledScriptNames: [String] {
        embedded.keys.filter { $0.hasPrefix("scripts/") }.map { NSStringLike($0).lastComponentWithoutExtension }.sorted()
    }
}
