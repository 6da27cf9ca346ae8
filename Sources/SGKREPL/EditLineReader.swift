import CEditLine
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Line editing with libedit: emacs keys, history (up-arrow, Ctrl-R), Tab
/// completion. Ctrl-C while typing returns `.interrupted` (the SIGINT handler
/// interrupts our `read`); Ctrl-D on an empty line returns `.eof`.
public final class EditLineReader: LineReader {
    let el: OpaquePointer
    let hist: OpaquePointer
    var prompt: UnsafeMutablePointer<CChar>
    var completer: ((String, Int) -> Completion)?
    /// Reads the history file: called once, on the first key typed.
    var loadHistory: (() -> [String])?

    /// nil when libedit cannot drive this terminal.
    public init?(history load: (() -> [String])? = nil) {
        guard let el = sgk_el_init("sgk"), let hist = sgk_history_init(1000) else { return nil }
        self.el = el
        self.hist = hist
        self.prompt = strdup("") ?? UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        self.loadHistory = load
        sgk_el_set_editor(el, "emacs")
        sgk_el_set_hist(el, hist)
        sgk_el_set_clientdata(el, Unmanaged.passUnretained(self).toOpaque())
        sgk_el_set_prompt(el, { el in
            guard let el, let raw = sgk_el_get_clientdata(el) else { return nil }
            return Unmanaged<EditLineReader>.fromOpaque(raw).takeUnretainedValue().prompt
        })
        sgk_el_set_getcfn(el, { el, out in
            guard let out else { return -1 }
            let r = EditLineReader.readChar(into: out)
            // The history file is read after the first prompt is up, before the first key is handled.
            if let el, let raw = sgk_el_get_clientdata(el) {
                Unmanaged<EditLineReader>.fromOpaque(raw).takeUnretainedValue().loadPendingHistory()
            }
            return r
        })
        sgk_el_addfn(el, "sgk-complete", "Complete the word before the cursor", { el, _ in
            guard let el, let raw = sgk_el_get_clientdata(el) else { return UInt8(CC_ERROR) }
            return Unmanaged<EditLineReader>.fromOpaque(raw).takeUnretainedValue().completeAtCursor()
        })
        sgk_el_bind(el, "^I", "sgk-complete")
        // Where the terminal delivers Ctrl-C as a character rather than SIGINT.
        sgk_el_addfn(el, "sgk-interrupt", "Clear the line", { _, _ in
            Interrupts.shared.pending.store(true, ordering: .releasing)
            return UInt8(CC_EOF)
        })
        sgk_el_bind(el, "^C", "sgk-interrupt")
        // Ctrl-R: incremental search back through the history.
        sgk_el_bind(el, "^R", "em-inc-search-prev")
        sgk_el_bind(el, "^S", "em-inc-search-next")
    }

    deinit {
        el_end(el)
        history_end(hist)
        free(prompt)
    }

    public func readLine(prompt p: String) -> ReadResult {
        free(prompt)
        prompt = strdup(p) ?? prompt
        _ = Interrupts.shared.consume()
        el_resize(el)  // the window may have changed while a command ran (no SIGWINCH handler)
        var count: Int32 = 0
        guard let cs = el_gets(el, &count) else {
            if Interrupts.shared.consume() {
                FileHandle.standardOutput.write(Data("^C\n".utf8))
                return .interrupted
            }
            FileHandle.standardOutput.write(Data("\n".utf8))
            return .eof
        }
        if count < 0 { return Interrupts.shared.consume() ? .interrupted : .eof }
        var line = String(cString: cs)
        if line.hasSuffix("\n") { line.removeLast() }
        return .line(line)
    }

    public func addHistory(_ entry: String) {
        loadPendingHistory()
        sgk_history_enter(hist, entry)
    }

    func loadPendingHistory() {
        guard let load = loadHistory else { return }
        loadHistory = nil
        for e in load() { sgk_history_enter(hist, e) }
    }

    public func setCompletion(_ complete: @escaping (String, Int) -> Completion) { completer = complete }

    /// Reads one character for libedit: UTF-8 from fd 0, decoded to a wide char.
    /// Returns 1, 0 at end of input, -1 after Ctrl-C (errno EINTR).
    static func readChar(into out: UnsafeMutablePointer<wchar_t>) -> Int32 {
        var bytes: [UInt8] = []
        var need = 1
        while bytes.count < need {
            var b: UInt8 = 0
            let n = read(0, &b, 1)
            if n == 1 {
                if bytes.isEmpty {
                    switch b {
                    case 0xC0...0xDF: need = 2
                    case 0xE0...0xEF: need = 3
                    case 0xF0...0xF7: need = 4
                    default: need = 1
                    }
                }
                bytes.append(b)
            } else if n == 0 {
                return 0
            } else if errno == EINTR {
                if Interrupts.shared.pending.load(ordering: .acquiring) { errno = EINTR; return -1 }
            } else {
                return -1
            }
        }
        let scalar = String(decoding: bytes, as: UTF8.self).unicodeScalars.first?.value ?? 0xFFFD
        out.pointee = wchar_t(bitPattern: scalar)
        return 1
    }

    /// Tab: inserts the common prefix, or lists the candidates.
    func completeAtCursor() -> UInt8 {
        guard let completer, let info = el_line(el) else { return UInt8(CC_ERROR) }
        guard let start = UnsafeRawPointer(info.pointee.buffer), let last = UnsafeRawPointer(info.pointee.lastchar),
              let cursor = UnsafeRawPointer(info.pointee.cursor) else { return UInt8(CC_ERROR) }
        let len = last - start
        let cur = cursor - start
        guard len >= 0, cur >= 0, cur <= len else { return UInt8(CC_ERROR) }
        let text = String(decoding: UnsafeRawBufferPointer(start: start, count: len), as: UTF8.self)
        let c = completer(text, cur)
        if !c.insertion.isEmpty {
            el_insertstr(el, c.insertion)
            return UInt8(CC_REFRESH)
        }
        if c.candidates.count > 1 {
            FileHandle.standardOutput.write(Data(("\n" + EditLineReader.columns(c.candidates) ).utf8))
            return UInt8(CC_REDISPLAY)
        }
        return UInt8(CC_REFRESH_BEEP)
    }

    static func columns(_ items: [String]) -> String {
        let width = Int(sgk_terminal_width(1))
        let cell = (items.map(\.count).max() ?? 0) + 2
        let perLine = max(1, width / max(1, cell))
        var out = ""
        for (i, item) in items.enumerated() {
            out += item.padding(toLength: cell, withPad: " ", startingAt: 0)
            if (i + 1) % perLine == 0 { out = out.trimmingCharacters(in: .whitespaces) + "\n" }
        }
        if !out.hasSuffix("\n") { out = out.trimmingCharacters(in: .whitespaces) + "\n" }
        return out
    }
}
