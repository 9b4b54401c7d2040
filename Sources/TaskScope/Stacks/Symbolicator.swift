import Foundation
import ScopeProtocol
import Synchronization

@_silgen_name("swift_demangle")
private func swiftDemangle(
    _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
    _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?

/// Names code addresses of this process: demangled Swift names from each module's symbol table,
/// with `file:line` where the module has DWARF line tables, else the module and offset.
///
/// Only asked when someone looks (a `stacks` request, a snapshot with stacks): nothing is loaded
/// before. Cost: a module's symbol table (16 bytes a function) and line table (about 12 bytes a
/// row) are built the first time one of its addresses is named and kept; each address named is
/// cached, at most ``cacheLimit`` of them (the cache starts over when full).
final class Symbolicator: Sendable {
    /// The addresses cached at most, unless a test asks for fewer (docs/SECURITY.md states it).
    static let defaultCacheLimit = 65_536

    private struct Loaded {
        var image = ProcessImage()
        var symbols: [String: SymbolTable?] = [:]
        var lines: [String: LineTable?] = [:]
        var cache: [UInt: StackFrame] = [:]
    }

    private let state = Mutex(Loaded())
    /// Whether to read DWARF line tables (tests of the slow path turn it off).
    let readsLineTables: Bool
    /// The addresses cached at most: when the cache holds this many, it starts over.
    let cacheLimit: Int

    init(readsLineTables: Bool = true, cacheLimit: Int = Symbolicator.defaultCacheLimit) {
        self.readsLineTables = readsLineTables
        self.cacheLimit = max(1, cacheLimit)
    }

    /// How many addresses are cached now.
    var cachedCount: Int { state.withLock { $0.cache.count } }

    /// The process's code ranges, read on first use and again when an address is in none of them
    /// (a library loaded since).
    func image(covering address: UInt) -> ProcessImage {
        state.withLock { state in
            if state.image.code.isEmpty || !state.image.isCode(address) { state.image = ProcessImage.current() }
            return state.image
        }
    }

    /// The frames for `addresses`; an address that is a return address (`isReturn`) is named by
    /// the instruction before it, the call.
    func frames(_ addresses: [UInt], returnAddresses: Bool = false) -> [StackFrame] {
        addresses.map { frame($0, isReturn: returnAddresses) }
    }

    /// The frame for one address; `withLines: false` names it without reading line tables (and
    /// without caching).
    func frame(_ address: UInt, isReturn: Bool = false, withLines: Bool = true) -> StackFrame {
        let key = isReturn ? address &- 1 : address
        let withLines = withLines && readsLineTables
        if withLines, let cached = state.withLock({ $0.cache[key] }) { return cached }
        let image = image(covering: key)
        guard let (moduleIndex, fileOffset) = image.fileOffset(of: key) else {
            return StackFrame(function: nil, module: "?", offset: UInt64(key))
        }
        let module = image.modules[moduleIndex]
        let moduleName = module.path.split(separator: "/").last.map(String.init) ?? module.path
        let symbols = symbolTable(for: module.path)
        let linkAddress = symbols?.linkAddress(fileOffset: UInt64(fileOffset)) ?? UInt64(fileOffset)
        var frame = StackFrame(function: nil, module: moduleName, offset: linkAddress)
        if let symbol = symbols?.symbol(at: linkAddress) {
            frame.function = Self.readable(Self.demangle(symbol.name))
        }
        if withLines, let location = lineTable(for: module.path)?.location(of: linkAddress) {
            frame.file = location.file
            frame.line = location.line
        }
        guard withLines else { return frame }
        state.withLock { state in
            if state.cache.count >= cacheLimit { state.cache.removeAll(keepingCapacity: true) }
            state.cache[key] = frame
        }
        return frame
    }

    // Tables are built outside the lock (milliseconds to a second); two callers may each build
    // the same one, and the second is kept.
    private func symbolTable(for path: String) -> SymbolTable? {
        if let known = state.withLock({ $0.symbols[path] }) { return known }
        let table = SymbolTable(path: path)
        state.withLock { $0.symbols[path] = table }
        return table
    }

    private func lineTable(for path: String) -> LineTable? {
        if let known = state.withLock({ $0.lines[path] }) { return known }
        let table = LineTable(elfPath: path)
        state.withLock { $0.lines[path] = table }
        return table
    }

    /// A Swift symbol demangled; any other returned as it is.
    static func demangle(_ name: String) -> String {
        guard name.hasPrefix("$s") || name.hasPrefix("_$s") || name.hasPrefix("$S") || name.hasPrefix("_T0") else {
            return name
        }
        return name.withCString { pointer in
            guard let demangled = swiftDemangle(pointer, strlen(pointer), nil, nil, 0) else { return name }
            defer { free(demangled) }
            return String(cString: demangled)
        }
    }

    /// A demangled async function's name without what says which part of it resumes:
    /// `(1) await resume partial function for Shop.charge(order:) async -> ()` is
    /// `Shop.charge(order:) async -> ()`.
    static func readable(_ demangled: String) -> String {
        var name = Substring(demangled)
        if name.hasPrefix("("), let close = name.firstIndex(of: ")") {
            let rest = name[name.index(after: close)...].drop { $0 == " " }
            for prefix in ["await resume partial function for ", "suspend resume partial function for "]
            where rest.hasPrefix(prefix) {
                name = rest.dropFirst(prefix.count)
            }
        }
        let specialization = "function signature specialization <"
        if name.hasPrefix(specialization) {
            var depth = 0
            var index = name.index(name.startIndex, offsetBy: specialization.count - 1)
            while index < name.endIndex {
                if name[index] == "<" { depth += 1 }
                if name[index] == ">" {
                    depth -= 1
                    if depth == 0 { break }
                }
                index = name.index(after: index)
            }
            let rest = index < name.endIndex ? name[name.index(after: index)...] : ""
            if rest.hasPrefix(" of ") { name = rest.dropFirst(4) }
        }
        return withoutSwiftPrefix(withoutDiscriminators(withoutExtensionModules(String(name))))
    }

    /// Extensions' members without the module the extension is declared in, wherever in the name:
    /// `(extension in Swift):Swift.Sequence.map` is `Swift.Sequence.map` (then `Sequence.map`),
    /// `(extension in NIOCore):NIOCore.EventLoop.submit` is `NIOCore.EventLoop.submit`. taskscope's
    /// own extensions keep theirs (`(extension in TaskScope):Synchronization.Mutex…`): by it
    /// ``isMachinery(_:)`` tells taskscope's frames from the program's.
    static func withoutExtensionModules(_ name: String) -> String {
        let marker = "(extension in "
        guard name.contains(marker) else { return name }
        var result = ""
        var rest = Substring(name)
        while let found = rest.range(of: marker) {
            result += rest[..<found.lowerBound]
            let after = rest[found.upperBound...]
            if let close = after.range(of: "):"), case let module = after[..<close.lowerBound], !module.isEmpty,
                module.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), module != "TaskScope"
            {
                rest = after[close.upperBound...]
            } else {
                result += marker
                rest = after
            }
        }
        return result + rest
    }

    /// The standard library's types without their module: `(Swift.Int) -> Swift.String` is
    /// `(Int) -> String`.
    static func withoutSwiftPrefix(_ name: String) -> String {
        guard name.contains("Swift.") else { return name }
        var result = ""
        var rest = Substring(name)
        while let found = rest.range(of: "Swift.") {
            let before = result.last ?? rest[..<found.lowerBound].last
            let previous = rest[..<found.lowerBound].last ?? before
            result += rest[..<found.lowerBound]
            if let previous, previous.isLetter || previous.isNumber || previous == "_" || previous == "." {
                result += "Swift."
            }
            rest = rest[found.upperBound...]
        }
        return result + rest
    }

    /// Whether a frame is the machinery between the frames a reader wrote: the concurrency
    /// runtime's own functions, thunks and forwarders, and taskscope's wrappers.
    static func isMachinery(_ frame: StackFrame) -> Bool {
        guard let function = frame.function else {
            return frame.module.hasPrefix("libswift") || frame.module.hasPrefix("libdispatch")
        }
        for prefix in [
            "partial apply forwarder", "reabstraction thunk", "thunk for ", "static TaskScope.TaskScope.",
            "static (extension in TaskScope)", "swift_task_", "swift::",
        ] where function.hasPrefix(prefix) {
            return true
        }
        // taskscope's own frames (its primitives' and wrappers' insides) are not the caller's.
        let bare = function.hasPrefix("static ") ? function.dropFirst("static ".count) : Substring(function)
        if bare.hasPrefix("TaskScope.") || bare.hasPrefix("(extension in TaskScope)") { return true }
        return function.contains(" in static TaskScope.") || function.contains(" in TaskScope.")
            || function.contains(" in conformance TaskScope.")
            || function.contains(" in static (extension in TaskScope)")
            || function.contains(" in (extension in TaskScope)")
    }

    /// The concurrency library's waiting functions, compiled into the program when inlined: the
    /// innermost frame says what a task waits in, deeper they are machinery.
    static func isRuntimeWait(_ frame: StackFrame) -> Bool {
        guard let function = frame.function else { return false }
        return frame.module.hasPrefix("libswift")
            || [
                "withUnsafeContinuation", "withUnsafeThrowingContinuation", "withCheckedContinuation",
                "withCheckedThrowingContinuation", "withTaskCancellationHandler", "TaskLocal.",
            ].contains { function.hasPrefix($0) }
    }

    /// A private declaration's name without the file discriminator Swift mangles into it:
    /// `Shop.(charge in _B1FC0D6F367C3231)(order:)` is `Shop.charge(order:)`.
    static func withoutDiscriminators(_ name: String) -> String {
        guard name.contains(" in _") else { return name }
        var result = ""
        var rest = Substring(name)
        while let open = rest.firstIndex(of: "(") {
            result += rest[..<open]
            let inner = rest[rest.index(after: open)...]
            if let close = inner.firstIndex(of: ")"), let marker = inner[..<close].range(of: " in _"),
                inner[marker.upperBound..<close].allSatisfy(\.isHexDigit),
                !inner[..<marker.lowerBound].contains(where: { $0 == "(" || $0 == " " })
            {
                result += inner[..<marker.lowerBound]
                rest = inner[inner.index(after: close)...]
            } else {
                result += "("
                rest = inner
            }
        }
        return result + rest
    }
}
