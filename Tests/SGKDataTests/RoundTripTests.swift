import Foundation
import Testing
@testable import SGKData

@Suite("Round trips")
struct RoundTripTests {
    @Test func randomValuesRoundTripThroughYAML() throws {
        var rng = SeededGenerator(seed: 0x5EED)
        for _ in 0..<600 {
            let v = rng.value(depth: 0, finite: false)
            let text = YAMLCodec.emit(v)
            let back: JSON
            do {
                back = try YAMLCodec.parse(text)
            } catch {
                Issue.record("\(error)\n--- emitted:\n\(text)")
                continue
            }
            #expect(back == v, "emitted:\n\(text)")
        }
    }

    @Test func trickyStringsRoundTripAsKeysAndValues() throws {
        for s in trickyStrings {
            let v = obj([s: .string(s), "list": .array([.string(s), obj([s: .string(s)])])])
            let text = YAMLCodec.emit(v)
            #expect(try YAMLCodec.parse(text) == v, "\(s.debugDescription) emitted:\n\(text)")
            #expect(try JSONCodec.parse(JSONCodec.serialize(v)) == v)
        }
    }

    @Test func randomDocumentStreamsRoundTrip() throws {
        var rng = SeededGenerator(seed: 99)
        for _ in 0..<50 {
            let docs = (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                obj(["kind": .string(rng.string()), "spec": rng.value(depth: 1, finite: false)])
            }
            #expect(try YAMLCodec.parseDocuments(YAMLCodec.emitDocuments(docs)) == docs)
        }
    }

    @Test func installerHasEighteenDocuments() throws {
        let docs = try YAMLCodec.parseDocuments(try fixture("installer.yaml"))
        #expect(docs.count == 18)
        #expect(docs.first?["kind"] == .string("Namespace"))
        #expect(docs.last?["kind"] == .string("Deployment"))
        #expect(docs.first?.objectValue.map { Array($0.keys) } == ["apiVersion", "kind", "metadata"])
        let crds = docs.filter { $0["kind"] == .string("CustomResourceDefinition") }
        #expect(crds.count == 8)
        // Quoted empty strings stay strings.
        #expect(crds.first?.at("status", "acceptedNames", "kind") == .string(""))
    }

    @Test func sampleTrainingJobKeepsQuotedNumbersAsStrings() throws {
        let job = try YAMLCodec.parse(try fixture("sample-trainingjob.yaml"))
        #expect(job["kind"] == .string("TrainingJob"))
        let params = job.at("spec", "hyperParameters")?.arrayValue ?? []
        #expect(params.first == obj(["name": .string("max_depth"), "value": .string("5")]))
        #expect(job.at("spec", "resourceConfig", "instanceCount") == .int(1))
    }

    @Test(arguments: fixtureNames)
    func fixtureRoundTrips(name: String) throws {
        let docs = try YAMLCodec.parseDocuments(try fixture(name))
        #expect(!docs.isEmpty)
        for (index, doc) in docs.enumerated() {
            let yaml = YAMLCodec.emit(doc)
            #expect(try YAMLCodec.parse(yaml) == doc, "\(name) document \(index)")
            #expect(try JSONCodec.parse(JSONCodec.serialize(doc)) == doc, "\(name) document \(index)")
            #expect(try JSONCodec.parse(JSONCodec.serialize(doc, pretty: true)) == doc, "\(name) document \(index)")
        }
        #expect(try YAMLCodec.parseDocuments(YAMLCodec.emitDocuments(docs)) == docs)
    }
}
