import Foundation
import Testing
@testable import SGKLanguage

/// A diagnostic shows the script's line; what the script holds must not reach the terminal raw.
@Suite struct DiagnosticRenderTests {
    /// C0 controls but tab and newline, DEL, C1 controls.
    static func hasRawControl(_ s: String) -> Bool {
        s.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || (0x7F...0x9F).contains($0.value) }
    }

    @Test func controlCharactersInTheEchoedLineAreEscapedAndTheCaretStaysAligned() {
        // An OSC sequence that sets the window title, a clear-screen, a lone CR, DEL, C1 CSI.
        let src = "let v = \"\u{1B}]0;pwned\u{7}\u{1B}[2J\u{7F}\u{9B}\" \r+ $nosuch\n"
        var r = CommandRegistry()
        r.register(CoreCommands.self)
        let s = Session(registry: r, context: CallContext(output: StringSink(), errors: StringSink(), environment: [:]),
                        loader: ModuleLoader(environment: [:]))
        let diags = s.check(SourceFile(name: "x.sgk", text: src))
        #expect(diags.count == 1)
        guard let d = diags.first else { return }
        for color in [false, true] {
            let text = d.render(color: color)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.count >= 3, "\(text)")
            guard lines.count >= 3 else { return }
            if !color { #expect(!Self.hasRawControl(text), "\(text.debugDescription)") }
            #expect(lines[1] == #"  let v = "\u{1B}]0;pwned\u{7}\u{1B}[2J\u{7F}\u{9B}" \r+ $nosuch"#, "\(lines[1].debugDescription)")
            // The caret is under `$nosuch`, as wide as it.
            let shown = Array(lines[1]), caretLine = Array(lines[2].replacingOccurrences(of: "\u{1B}[32m", with: "")
                .replacingOccurrences(of: "\u{1B}[0m", with: ""))
            let at = shown.firstIndex(of: "$")
            #expect(caretLine.firstIndex(of: "^") == at, "\(lines[2].debugDescription)")
            #expect(caretLine.filter { $0 == "^" || $0 == "~" }.count == "$nosuch".count)
        }
    }

    @Test func aRangeOverAControlCharacterSpansItsEscape() {
        let file = SourceFile(name: "t.sgk", text: "a\u{1B}[2Jb = 1\n")
        let text = Diagnostic("bad", file: file, range: SourceRange(1, 2)).render(color: false)
        #expect(text == "t.sgk:1:2: error: bad\n  a\\u{1B}[2Jb = 1\n   ^~~~~~", "\(text)")
    }

    @Test func tabsStayTabsAndMessagesAreEscapedToo() {
        let file = SourceFile(name: "t.sgk", text: "\tx\u{8} y\n")
        let text = Diagnostic("unknown command 'x\u{9B}2J'", file: file, range: SourceRange(4, 5),
                              hint: "line\none\u{7}").render(color: false)
        #expect(text == "t.sgk:1:5: error: unknown command 'x\\u{9B}2J'\n  \tx\\u{8} y\n  \t       ^\n  hint: line\none\\u{7}", "\(text)")
    }

    /// Found by tools/fuzz.sh check: an error at the end of a line over 120 characters (the
    /// caret just past the window's last character) trapped on an empty caret range.
    @Test func anErrorAtTheEndOfALongLineHasItsCaret() {
        let file = SourceFile(name: "t.sgk", text: String(repeating: "a", count: 130) + "\n")
        let text = Diagnostic("bad", file: file, range: SourceRange(130, 130)).render(color: false)
        #expect(text == "t.sgk:1:131: error: bad\n  …" + String(repeating: "a", count: 120) + "\n  " + String(repeating: " ", count: 121) + "^", "\(text)")
    }
}
