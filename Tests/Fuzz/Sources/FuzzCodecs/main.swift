// libFuzzer target: any bytes through the YAML and JSON codecs. Whatever parses must emit, and
// what is emitted must parse again to the same value (JSON) or at least parse (YAML). A trap, a
// crash, a hang or a round trip that fails is a finding; a parse error is the expected answer.
import Foundation
import SGKData

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzCodecs(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let value = try? JSONCodec.parse(bytes: bytes) {
        let text = JSONCodec.serialize(value)
        guard let again = try? JSONCodec.parse(text) else { fatalError("JSON emitted by the codec does not parse: \(text)") }
        precondition(again == value, "JSON round trip changed the value: \(text)")
        _ = JSONCodec.serialize(value, pretty: true)
        _ = YAMLCodec.emit(value)
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if let docs = try? YAMLCodec.parseDocuments(text) {
        let yaml = YAMLCodec.emitDocuments(docs)
        guard (try? YAMLCodec.parseDocuments(yaml)) != nil else { fatalError("YAML emitted by the codec does not parse: \(yaml)") }
        for d in docs { _ = JSONCodec.serialize(d) }
    }
    return 0
}

// libFuzzer's driver, with this target's test function (what its own main would call).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzCodecs))
