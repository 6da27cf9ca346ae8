// libFuzzer target: any bytes, as a script, through the lexer, the parser and the resolver (what
// `sgk check` does), and every diagnostic rendered. A trap, a crash or a hang is a finding; a
// diagnostic is the expected answer to a broken script.
import Foundation
import SGKLanguage

nonisolated(unsafe) let session: Session = {
    var registry = CommandRegistry()
    registry.register(CoreCommands.self)
    return Session(registry: registry, context: CallContext(output: StringSink(), errors: StringSink(), environment: [:]),
                   loader: ModuleLoader(environment: [:]))
}()

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzCheck(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let file = SourceFile(name: "fuzz.sgk", bytes: bytes)
    // As sgk check runs it: on a large stack, so that deep nesting meets the parser's own limit.
    let rendered = Session.onLargeStack { session.check(file).map { $0.render(color: false) } }
    precondition(rendered.allSatisfy { !$0.isEmpty }, "an empty diagnostic")
    return 0
}

// libFuzzer's driver, with this target's test function (what its own main would call).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzCheck))
