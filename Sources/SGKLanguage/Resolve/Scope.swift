/// Compile-time scopes: names resolve to slots before anything runs.
final class FnScope {
    let parent: FnScope?
    let name: String
    var slotCount = 0
    var blocks: [BlockScope] = [BlockScope()]
    var loopDepth = 0
    let isFunction: Bool
    /// The body of a `parallel for`: it runs in a frame of its own, on a thread of its own, and
    /// may not assign the variables of the scopes around it.
    var isParallelBody = false

    init(parent: FnScope?, name: String, isFunction: Bool) {
        self.parent = parent
        self.name = name
        self.isFunction = isFunction
    }

    func newSlot() -> Int { slotCount += 1; return slotCount - 1 }

    func declare(_ name: String) -> Int {
        if let s = blocks[blocks.count - 1].vars[name] { return s }
        let s = newSlot()
        blocks[blocks.count - 1].vars[name] = s
        return s
    }
}

final class BlockScope {
    var vars: [String: Int] = [:]
    var fns: [String: FnInfo] = [:]
    var modules: [String: CompiledModule] = [:]
    /// Modules whose `use` failed (already reported): calls into them are not reported again.
    var failedModules: Set<String> = []
}

/// A user function as the resolver sees it: where its value lives and its parameters.
struct FnInfo {
    var name: String
    var slot: Int
    var params: [Parameter]
    var decl: FunctionDecl?
}

enum Resolved {
    case variable(depth: Int, slot: Int)
}
