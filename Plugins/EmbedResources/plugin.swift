import Foundation
import PackagePlugin

/// Embeds every `stdlib/*.sgk` and `scripts/*.sgk` of the package into the
/// target as a generated Swift source (`EmbeddedSources.swift`).
@main
struct EmbedResources: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let folders = ["stdlib", "scripts"]
        var inputs: [URL] = []
        for folder in folders {
            let dir = root.appendingPathComponent(folder)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".sgk") {
                inputs.append(dir.appendingPathComponent(name))
            }
        }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedSources.swift")
        var arguments = [output.path]
        for url in inputs {
            arguments.append(url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent)
            arguments.append(url.path)
        }
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) sgk sources",
                executable: try context.tool(named: "SGKEmbed").url,
                arguments: arguments,
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}
